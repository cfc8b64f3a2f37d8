/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A group's state and the interfaces between its files: group.c (the
 * lifecycle and settings, the service ops), group_rx.c (the receive path),
 * group_view.c (views), group_leader.c (the election glue) and group_tx.c
 * (the send path), group_state.c (state transfer), group_rr.c
 * (request/reply), group_lock.c (locks). Calls go one way only:
 * lifecycle -> rx -> view -> leader -> state -> rr -> lock -> tx; never
 * back.
 */
#ifndef HAQ_GROUP_H
#define HAQ_GROUP_H

#include "haq-int.h"

#include <corosync/cpg.h>

#include "election.h"
#include "holdq.h"
#include "lock.h"
#include "memb.h"
#include "rr.h"
#include "sendq.h"
#include "wire.h"
#include "xfer.h"

/*
 * Bytes of one fragmented message of ours that may be out with corosync
 * and not yet back: corosync queues about three frames (sendwin.h).
 */
#define HAQ_FRAG_WINDOW (2u * HAQ_FRAG_PAYLOAD_MAX)

/*
 * Frames of ours (whole messages or bundles) that may be out with
 * corosync and not yet back before a small message waits in the queue
 * to be bundled (a power of two: the ring in struct haq_group). At low
 * load fewer are out and every message goes at once, alone.
 */
#define HAQ_BUNDLE_WINDOW 4u
/*
 * Messages one bundle carries at most: a receiver delivers a bundle whole
 * from corosync's buffer, and its dispatch stops once it delivered
 * HAQ_DISPATCH_BUDGET messages, so one dispatch delivers fewer than twice
 * that many.
 */
#define HAQ_BUNDLE_MSGS_MAX ((unsigned int)HAQ_DISPATCH_BUDGET)

struct haq_view {
	uint32_t ring_nodeid;
	uint64_t ring_seq;
	uint64_t seq;
	uint64_t id; /* the same at every member (haq__election_view_id()) */
	int quorate;
	size_t nmembers;
	size_t njoined;
	size_t nleft;
	struct haq_memb *members;
	struct haq_memb *joined;
	struct haq_memb *left;
};

/* A messages-refused report waiting for the next dispatch. */
struct haq_send_failure {
	struct haq_send_failure *next;
	uint64_t first;
	uint64_t last;
	int error;
};

/*
 * This process's side of the leadership (group_leader.c): what it told
 * the application, its lease, and the timing read from corosync.
 */
struct haq_lead {
	bool eligible;  /* what this process wants to be (default true) */
	bool promoted;  /* told is_leader 1, and not told 0 since */
	uint64_t gave_up_epoch; /* a leadership it resigned or lost its lease of */
	uint64_t promote_at;    /* elected: told at this time (takeover) */
	uint64_t guard_until;   /* nobody elected here is told before */
	uint64_t lease_deadline;
	uint64_t renew_sent;    /* when the renewal in flight was made, or 0 */
	uint64_t renew_nonce;
	uint64_t next_renew;
	bool sent_quorate; /* the verdict of this process's last SYNC */
	bool v1_warned;    /* a member running the old election was logged */
	bool reported;     /* the first verdict since joining was told */
	/* What the application was told last. */
	int rep_self;
	uint32_t rep_nodeid;
	uint32_t rep_pid;
	uint64_t rep_epoch;
	uint32_t timing[HAQ_TIMING_MARGIN + 1]; /* enum haq_group_leader_timing */
	uint32_t ring_nodes; /* nodes in the latest totem ring */
};

struct haq_kept;

/* Frame buffers a provider keeps for reuse (its window of two, the frame
 * being filled and one more). */
#define STATE_POOL 4

/* This process's side of state transfer (group_state.c). */
struct haq_state {
	bool on; /* haq_group_set_state_cbs() was called */
	haq_state_provide_fn provide;
	haq_state_writable_fn writable;
	haq_state_chunk_fn chunk;
	haq_state_status_fn status;
	void *ud;
	uint64_t max_size;
	uint64_t buffer;
	uint64_t stall_ms;
	struct haq_xfer x; /* what the stream decided */
	/* Receiver: chunks go to the application; messages kept. */
	bool receiving;
	bool draining; /* complete: kept messages are being delivered */
	bool abort_sent;
	uint64_t gave_up; /* our GIVEUP of this transfer is not back yet */
	uint64_t progress_at; /* the transfer's last BEGIN or CHUNK */
	struct haq_kept *kept;
	struct haq_kept *kept_tail;
	size_t kept_bytes;
	size_t kept_count;
	/* Provider: the transfer being written (0 none), its frame. */
	uint64_t wid;
	uint64_t wended;  /* the last one ended or stopped */
	uint64_t wout_id; /* whose CHUNKs wout counts */
	uint8_t *wbuf; /* the frame being filled (NULL: take one) */
	uint8_t *pool[STATE_POOL]; /* frames given back by the queue */
	unsigned int npool;
	/* Test switch HAQ_TEST_XFER_CUT: the first compressed CHUNK goes a
	 * byte short (receivers see one that does not decompress). */
	bool test_cut;
	size_t wlen;
	uint64_t windex;
	uint64_t wbytes;
	unsigned int wout; /* CHUNKs queued or out, not back */
	bool wblocked;
	/* Offers. */
	uint64_t offered;    /* our BEGIN not back yet */
	uint64_t need_since; /* a member needs the state since */
	uint64_t due;        /* our turn to offer, or 0 */
	uint64_t ids;
};

/* A request of this process waiting for answers (group_rr.c). */
struct haq_rr_pending {
	struct haq_rr_pending *next;
	struct haq_rr_out o;
	uint64_t deadline; /* monotonic ns, 0 none */
	haq_reply_fn fn;
	void *ud;
};

/* This process's side of request/reply (group_rr.c). */
struct haq_rr {
	haq_request_fn on_request;
	haq_request_cancel_fn on_cancel;
	void *ud;
	struct haq_rr_pending *out; /* by id, oldest first */
	struct haq_rr_pending *out_tail;
	uint64_t next_id;
	struct haq_rr_table in;
};

/* An event of the lock table for this process (group_lock.c). */
struct haq_lock_ev {
	int what; /* enum haq_lock_what */
	uint64_t req;
	uint64_t token;
	size_t nlen;
	char name[HAQ_LOCK_NAME_MAX_ + 1];
};

struct haq_lock_mine;
struct haq_lock_kept;

/* This process's side of locks (group_lock.c). */
struct haq_locks {
	haq_lock_fn fn;
	void *ud;
	struct haq_lock_table t;
	bool valid;  /* t is the quorate partition's table */
	bool synced; /* this view's round settled */
	bool grant;  /* synced in a quorate view: the table grants */
	bool quorate; /* the view is quorate, as the stream says */
	uint16_t round; /* of this view: quorum coming under it adds one */
	bool need_restart; /* quorum was lost here under this view */
	bool *spoke; /* per view member: its LOCK_SYNC came in this round */
	uint64_t round_token; /* highest last token told in this round */
	struct haq_lock_kept *kept; /* operations while the round runs */
	struct haq_lock_kept *kept_tail;
	size_t nkept;
	struct haq_lock_ev *ev; /* the table's events for this process */
	size_t nev;
	size_t evcap;
	struct haq_lock_mine *mine; /* this process's requests */
	uint64_t next_req;
	size_t nheld;
	uint64_t guard_until; /* grants are told from then on */
	uint64_t alive_at; /* our latest lock frame back was sent then */
	uint64_t lease_deadline;
	uint64_t renew_sent;
	uint64_t renew_nonce;
};

#define HAQ_CALLBACK(type)                                                 \
	struct {                                                           \
		type fn;                                                   \
		void *ud;                                                  \
	}

struct haq_group {
	struct haq_service svc; /* first: the core's handle on the group */
	haq_ctx_t *ctx;
	char name[HAQ_GROUP_NAME_MAX + 1];
	struct cpg_name cpg_name;

	cpg_handle_t handle;
	bool handle_valid;
	bool joined;       /* our own join was confirmed by a view */
	bool join_pending; /* cpg_join said TRY_AGAIN: retried on the timer */
	uint64_t join_deadline; /* a join not confirmed by then is redone */
	uint64_t join_bound;    /* how long a join may take (ns) */
	bool resend_pending; /* a view change cut our message: send again */

	HAQ_CALLBACK(haq_message_fn) on_message;
	HAQ_CALLBACK(haq_view_fn) on_view;
	HAQ_CALLBACK(haq_writable_fn) on_writable;
	HAQ_CALLBACK(haq_leader_fn) on_leader;
	HAQ_CALLBACK(haq_uncertain_fn) on_uncertain;
	HAQ_CALLBACK(haq_send_failed_fn) on_send_failed;

	struct haq_peers peers;
	/* A data frame's header with seq 0: the fast path sets only seq. */
	uint8_t data_hdr[HAQ_WIRE_HDR_LEN];
	uint64_t next_seq;       /* seq of our next message */
	uint64_t self_delivered; /* highest own seq delivered back */
	uint64_t handed;         /* highest own seq handed to corosync */
	struct haq_sendq q;
	size_t rx_bytes; /* frame bytes received in this dispatch */
	size_t rx_units; /* events and bundled messages in this dispatch */
	size_t max_message;
	bool want_writable;
	uint64_t retry_at; /* monotonic ns, 0 = no retry scheduled */
	/* The IPC socket's buffer (haq__tx_ipc_room()): its size, and the
	 * requests since its fill was last asked. */
	size_t ipc_sndbuf;
	unsigned int ipc_unchecked;
	uint64_t retry_delay;
	struct haq_send_failure *failures; /* to report, oldest first */

	/*
	 * Bundling (group_bundle.c, group_tx.c): the bound set by the
	 * caller (0 off); the largest message bundled now (half the bound
	 * while every member decodes bundles, else 0: nothing is bundled
	 * or held back); the buffer a bundle is built in; the last seq of
	 * each of our last HAQ_BUNDLE_WINDOW frames (win_n of them handed).
	 */
	size_t bundle_max;
	size_t bundle_small;
	bool bundle_peers_ok; /* every member of the view announced bundles */
	bool caps_off; /* test switch HAQ_TEST_NO_CAPS: acts as libhaq 0.3 */
	bool leaving;  /* haq_group_leave(): nothing is held back any more */
	/*
	 * Compression (group_bundle.c, group_tx.c): messages of at least
	 * compress_min bytes (0 off) are compressed while every member
	 * decodes lz4: then compress_from is compress_min, else SIZE_MAX.
	 */
	size_t compress_min;
	size_t compress_from;
	/* min(max_message, compress_from - 1): haq_group_send()'s fast path. */
	size_t direct_max;
	bool lz4_peers_ok;
	/*
	 * State transfer frames of at least this many bytes are compressed
	 * (group_state.c): compress_from while every member also announced
	 * HAQ_CAP_XFER_LZ4, else SIZE_MAX.
	 */
	size_t xfer_compress_from;
	bool xfer_lz4_peers_ok;
	uint8_t *bundle_buf;
	uint64_t win[HAQ_BUNDLE_WINDOW];
	unsigned int win_n;

	/* The ring of the latest totem configuration change. */
	uint32_t ring_nodeid;
	uint64_t ring_seq;
	struct haq_view view;
	bool have_view;
	uint64_t view_seq;

	struct haq_holdq held;

	struct haq_election election;
	struct haq_lead lead;
	struct haq_state st;
	struct haq_rr rr;
	struct haq_locks lk;
	uint64_t counters[HAQ_NCOUNTERS];
};

/* Whether the group (and its context) is still there for the caller. */
static inline bool
haq__group_alive(const struct haq_group *g)
{
	return !g->svc.dead && !g->ctx->free_requested;
}

/*
 * The one way to run a group callback: the field on_X if set and the
 * group alive; evaluates to whether the group is still alive afterwards
 * (the callback may leave it or free the context).
 */
#define haq__group_call(g, cb, ...)                                        \
	(haq__group_alive(g) && (g)->cb.fn                                 \
		 ? ((g)->cb.fn((g), ##__VA_ARGS__, (g)->cb.ud),            \
		    haq__group_alive(g))                                   \
		 : haq__group_alive(g))

/*
 * The one entry guard of every public call on a group: -EINVAL (NULL or
 * left), -ECHILD (a forked child), else what haq__ctx_enter() says.
 */
static inline int
haq__group_enter(const struct haq_group *g, unsigned int need)
{
	if (!g || g->svc.dead) {
		return -EINVAL;
	}
	return haq__ctx_enter(g->ctx, need);
}

static inline bool
haq__is_self(const struct haq_group *g, uint32_t nodeid, uint32_t pid)
{
	return nodeid == g->ctx->local_nodeid &&
	       pid == (uint32_t)g->ctx->owner_pid;
}

/* The quorum verdict of ring ring_seq (holdq.h: its own ring's only). */
static inline int
haq__group_verdict(const struct haq_group *g, uint64_t ring_seq)
{
	return haq__verdicts_get(&g->ctx->verdicts, ring_seq);
}

/* group_rx.c: the receive path. */
void haq__rx_model(cpg_model_v1_data_t *model);
int haq__rx_dispatch(struct haq_service *s, uint32_t revents);
void haq__rx_release_held(struct haq_group *g, bool force);
void haq__rx_quorum_changed(struct haq_group *g);

/* group_view.c: views. */
void haq__view_apply(struct haq_group *g, struct haq_view *v);
void haq__view_totem(struct haq_group *g, uint32_t ring_nodes);
struct haq_view *haq__view_new(const struct cpg_address *members,
			       size_t nmembers,
			       const struct cpg_address *left, size_t nleft,
			       const struct cpg_address *joined,
			       size_t njoined);
void haq__view_clear(struct haq_view *v);
void haq__view_free(struct haq_view *v);

/* group_leader.c: the election glue. */
void haq__leader_init(struct haq_group *g);
void haq__leader_view(struct haq_group *g);
void haq__leader_totem(struct haq_group *g, uint32_t ring_nodes);
void haq__leader_quorum_changed(struct haq_group *g);
void haq__leader_control(struct haq_group *g, uint32_t nodeid, uint32_t pid,
			 const uint8_t *data, size_t len);
void haq__leader_lost(struct haq_group *g);
void haq__leader_leaving(struct haq_group *g);
void haq__leader_timers(struct haq_group *g, uint64_t now);
uint64_t haq__leader_deadline(const struct haq_group *g);

/* group_state.c: state transfer. */
void haq__state_init(struct haq_group *g);
void haq__state_free(struct haq_group *g);
void haq__state_view(struct haq_group *g, bool first);
void haq__state_poke(struct haq_group *g);
void haq__state_control(struct haq_group *g, uint32_t nodeid, uint32_t pid,
			const uint8_t *data, size_t len);
bool haq__state_message(struct haq_group *g, uint32_t nodeid, uint32_t pid,
			const void *data, size_t len);
void haq__state_lost(struct haq_group *g);
void haq__state_timers(struct haq_group *g, uint64_t now);
uint64_t haq__state_deadline(const struct haq_group *g);

/* group_bundle.c: the capabilities members announce (bundling, lz4). */
void haq__bundle_init(struct haq_group *g);
void haq__caps_update(struct haq_group *g);
void haq__bundle_view(struct haq_group *g);
void haq__bundle_caps(struct haq_group *g, uint32_t nodeid, uint32_t pid,
		      const uint8_t *data, size_t len);

/* group_rr.c: request/reply. */
void haq__rr_init(struct haq_group *g);
void haq__rr_free(struct haq_group *g);
void haq__rr_view(struct haq_group *g);
void haq__rr_control(struct haq_group *g, uint32_t nodeid, uint32_t pid,
		     const uint8_t *data, size_t len);
void haq__rr_lost(struct haq_group *g);
void haq__rr_timers(struct haq_group *g, uint64_t now);
uint64_t haq__rr_deadline(const struct haq_group *g);

/* group_lock.c: locks. */
void haq__lock_init(struct haq_group *g);
void haq__lock_free(struct haq_group *g);
void haq__lock_view(struct haq_group *g);
void haq__lock_totem(struct haq_group *g, bool ring_complete);
void haq__lock_caps(struct haq_group *g);
void haq__lock_quorum_changed(struct haq_group *g);
void haq__lock_control(struct haq_group *g, uint32_t nodeid, uint32_t pid,
		       const uint8_t *data, size_t len);
void haq__lock_lost(struct haq_group *g);
void haq__lock_timers(struct haq_group *g, uint64_t now);
uint64_t haq__lock_deadline(const struct haq_group *g);

/* group_tx.c: the send path. */
void haq__tx_flush(struct haq_group *g);
bool haq__tx_ipc_room(struct haq_group *g);
void haq__tx_after_dispatch(struct haq_group *g);
void haq__tx_frag_done(struct haq_group *g);
void haq__tx_own_refused(struct haq_group *g, uint64_t seq);
int haq__tx_queue_control(struct haq_group *g, const uint8_t *payload,
			  size_t len);
int haq__tx_queue_controlv(struct haq_group *g, const struct iovec *iov,
			   size_t iovcnt, size_t len);
int haq__tx_queue_control_lent(struct haq_group *g, const uint8_t *frame,
			       size_t len, haq_release_fn release,
			       void *userdata);
int haq__tx_control_now(struct haq_group *g, const uint8_t *payload,
			size_t len);
void haq__tx_retry(struct haq_group *g, bool backoff);
void haq__tx_lost(struct haq_group *g);
void haq__tx_report_failures(struct haq_group *g);

#endif /* HAQ_GROUP_H */
