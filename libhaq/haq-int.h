/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private structures shared by the library's files. Nothing here is ABI.
 */
#ifndef HAQ_INT_H
#define HAQ_INT_H

#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <sys/types.h>

#include <corosync/corotypes.h>
#include <corosync/cpg.h>
#include <corosync/votequorum.h>
#include <corosync/cmap.h>

#include <haq/haq.h>

#include "wire.h"
#include "election.h"

#define HAQ_EXPORT __attribute__((visibility("default")))

/* Events one dispatch call handles from one corosync connection. */
#define HAQ_DISPATCH_BUDGET 64
/* Frame bytes one dispatch call takes from one group before yielding. */
#define HAQ_DISPATCH_BYTES (2u * 1024u * 1024u)
/*
 * Bytes of one fragmented message of ours that may be out with corosync
 * and not yet back: corosync queues about three frames; a frame it refuses
 * (CS_ERR_TRY_AGAIN) has already been copied to it and must be copied
 * again, on the cores corosync needs.
 */
#define HAQ_FRAG_WINDOW (2u * HAQ_FRAG_PAYLOAD_MAX)
/* Frames one flush hands to corosync before yielding to the loop. */
#define HAQ_FLUSH_BUDGET 256
/* Bytes one flush hands to corosync before yielding (keeps the loop live). */
#define HAQ_FLUSH_BYTES (2u * 1024u * 1024u)
/*
 * Dispatches that may go straight to the one busy group before every
 * descriptor is looked at again (fairness for the others).
 */
#define HAQ_HOT_ROUNDS 64
/* Retry delay after CS_ERR_TRY_AGAIN, doubling up to the maximum. */
#define HAQ_RETRY_MIN_NS (1000000ull)
#define HAQ_RETRY_MAX_NS (50000000ull)
/* How long a view waits for the quorum state of its ring. */
#define HAQ_VIEW_HOLD_NS (5000000000ull)
/* Reconnect backoff after corosync went away. */
#define HAQ_RECONNECT_MIN_NS (100000000ull)
#define HAQ_RECONNECT_MAX_NS (5000000000ull)

enum haq_watch_kind {
	HAQ_WATCH_TIMER = 1,
	HAQ_WATCH_CPG,
	HAQ_WATCH_VOTEQUORUM,
	HAQ_WATCH_CMAP,
};

/* What epoll hands back: which connection became readable. */
struct haq_watch {
	int kind;
	void *obj;
};

struct haq_view {
	uint32_t ring_nodeid;
	uint64_t ring_seq;
	uint64_t seq;
	int quorate;
	size_t nmembers;
	size_t njoined;
	size_t nleft;
	struct haq_memb *members;
	struct haq_memb *joined;
	struct haq_memb *left;
};

struct haq_quorum_node {
	uint32_t nodeid;
	uint32_t votes;
};

struct haq_quorum {
	int valid;
	int quorate;
	uint32_t ring_nodeid;
	uint64_t ring_seq;
	uint32_t expected_votes;
	uint32_t total_votes;
	uint32_t quorum_votes;
	size_t nnodes;
	struct haq_quorum_node *nodes;
};

/* One message accepted by a send call and not yet fully sent. */
struct haq_sendq_entry {
	struct haq_sendq_entry *next;
	uint64_t seq;
	size_t len;  /* payload bytes */
	size_t cap;  /* payload bytes the block can hold (reused blocks) */
	size_t sent; /* payload bytes handed to corosync (fragments) */
	/* A borrowed payload (haq_group_send_zc()) instead of data[]. */
	const uint8_t *ext;
	haq_release_fn release;
	void *release_ud;
	uint8_t type;
	/* Fragmented, and this process could not take it back: see flush(). */
	bool refused;
	uint8_t data[];
};

/* The payload of a queue entry, copied or borrowed. */
static inline const uint8_t *
haq__sendq_data(const struct haq_sendq_entry *e)
{
	return e->ext ? e->ext : e->data;
}

struct haq_sendq {
	struct haq_sendq_entry *head;
	struct haq_sendq_entry *tail;
	size_t bytes; /* payload bytes queued */
	size_t count;
	/*
	 * Memory the queue holds: its blocks with their headers and malloc's
	 * bookkeeping (mem), and freed blocks kept for reuse (cache,
	 * cache_mem). mem + cache_mem stays within limit (0: keep no cache).
	 */
	size_t mem;
	size_t limit;
	struct haq_sendq_entry *cache;
	size_t cache_mem;
};

enum haq_held_kind {
	HAQ_HELD_FRAME = 1, /* a message frame, copied */
	HAQ_HELD_VIEW,      /* a CPG configuration change */
	HAQ_HELD_TOTEM,     /* a totem ring change (view.ring_* only) */
};

/* A CPG event held back until the quorum state of its ring is known. */
struct haq_held {
	struct haq_held *next;
	int kind;
	bool ring_change; /* HAQ_HELD_VIEW: part of a totem ring change */
	uint32_t nodeid;
	uint32_t pid;
	size_t len;
	struct haq_view view; /* HAQ_HELD_VIEW, HAQ_HELD_TOTEM */
	uint8_t data[];       /* HAQ_HELD_FRAME: the raw frame */
};

struct haq_group {
	haq_ctx_t *ctx;
	struct haq_group *next;
	char name[HAQ_GROUP_NAME_MAX + 1];
	struct cpg_name cpg_name;

	cpg_handle_t handle;
	bool handle_valid;
	int fd;
	struct haq_watch watch;
	bool joined; /* our own join was confirmed by a view */
	bool join_pending; /* cpg_join said TRY_AGAIN: retried on the timer */
	bool leader_reported; /* the first leader verdict since joining */
	bool election_self_joining; /* a deferred election includes our join */
	bool resend_pending; /* a view change cut our message: send again */
	bool dead;   /* left by the caller: released after dispatch */

	haq_message_fn message_fn;
	void *message_ud;
	haq_view_fn view_fn;
	void *view_ud;
	haq_writable_fn writable_fn;
	void *writable_ud;
	haq_leader_fn leader_fn;
	void *leader_ud;
	haq_uncertain_fn uncertain_fn;
	void *uncertain_ud;

	struct haq_peers peers;
	/* A data frame's header with seq 0: the fast path sets only seq. */
	uint8_t data_hdr[HAQ_WIRE_HDR_LEN];
	uint64_t next_seq;        /* seq of our next message */
	uint64_t self_delivered;  /* highest own seq delivered back */
	uint64_t handed;          /* highest own seq handed to corosync */
	struct haq_sendq q;
	size_t rx_bytes; /* frame bytes received in this dispatch */
	size_t queue_limit;
	size_t max_message;
	bool want_writable;
	uint64_t retry_at;   /* monotonic ns, 0 = no retry scheduled */
	uint64_t retry_delay;

	/* The ring of the latest totem configuration change. */
	uint32_t ring_nodeid;
	uint64_t ring_seq;
	struct haq_view view;
	bool have_view;
	uint64_t view_seq;

	struct haq_held *held_head;
	struct haq_held *held_tail;
	uint64_t held_since;

	struct haq_election election;
	uint64_t counters[HAQ_COUNTER_PARTIAL_DROPPED + 1];
};

struct haq_track {
	struct haq_track *next;
	uint64_t id;
	cmap_track_handle_t handle;
	haq_config_fn fn;
	void *userdata;
	char prefix[CMAP_KEYNAME_MAXLEN + 1];
};

struct haq_ctx {
	pid_t owner_pid;
	unsigned int flags;
	int netns_fd; /* the network namespace whose corosync we talk to */
	uint64_t incarnation;
	uint32_t local_nodeid;

	qb_loop_t *loop;
	int epfd;
	int timerfd;
	uint64_t timer_armed_at; /* deadline the timerfd is set to, 0 none */
	struct haq_watch timer_watch;

	bool connected;
	bool lost_pending; /* connection loss seen outside dispatch */
	uint64_t reconnect_at;
	uint64_t reconnect_delay;

	votequorum_handle_t vq;
	bool vq_valid;
	int vq_fd;
	struct haq_watch vq_watch;
	struct haq_quorum quorum;
	struct haq_quorum notified; /* last reported (nodes not kept) */
	uint64_t quorum_done_seq;   /* ring whose quorum verdict arrived */

	cmap_handle_t cmap;
	bool cmap_valid;
	int cmap_fd;
	struct haq_watch cmap_watch;
	struct haq_track *tracks;
	uint64_t next_track_id;

	struct haq_group *groups;
	/* The group that alone had events at the last full look, or NULL. */
	struct haq_group *hot;
	unsigned int hot_rounds;

	haq_log_fn log_fn;
	void *log_ud;
	haq_connection_fn conn_fn;
	void *conn_ud;
	haq_quorum_fn quorum_fn;
	void *quorum_ud;

	int depth;      /* > 0 while dispatching */
	bool free_requested;
	bool stop;
	bool running;
};

/* error.c */
int haq__cs_to_errno(cs_error_t err);
int haq__check_server(haq_ctx_t *ctx, int fd);

/* ctx.c */
void haq__log(haq_ctx_t *ctx, int priority, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
uint64_t haq__now(void);
pid_t haq__getpid(void);
int haq__watch_add(haq_ctx_t *ctx, int fd, struct haq_watch *w);
void haq__watch_del(haq_ctx_t *ctx, int fd);
void haq__timers_update(haq_ctx_t *ctx);
void haq__connection_lost(haq_ctx_t *ctx);
int haq__netns_enter(haq_ctx_t *ctx);
void haq__netns_leave(int saved);

/* group.c */
int haq__group_connect(struct haq_group *g);
void haq__group_disconnect(struct haq_group *g);
void haq__group_lost(struct haq_group *g);
int haq__group_dispatch(struct haq_group *g);
void haq__group_timers(struct haq_group *g, uint64_t now);
uint64_t haq__group_deadline(const struct haq_group *g);
void haq__group_quorum_changed(struct haq_group *g);
void haq__group_destroy(struct haq_group *g);
void haq__view_clear(struct haq_view *v);

/* sendq.c */
int haq__sendq_push(struct haq_sendq *q, uint8_t type, uint64_t seq,
		    const struct iovec *iov, size_t iovcnt, size_t len);
int haq__sendq_push_borrowed(struct haq_sendq *q, uint8_t type, uint64_t seq,
			     const void *data, size_t len,
			     haq_release_fn release, void *userdata);
void haq__sendq_pop(struct haq_sendq *q);
size_t haq__sendq_footprint(size_t len);
size_t haq__sendq_clear(struct haq_sendq *q);

/* quorum.c */
int haq__quorum_connect(haq_ctx_t *ctx);
void haq__quorum_disconnect(haq_ctx_t *ctx);
void haq__quorum_dispatch(haq_ctx_t *ctx);

/* config.c */
int haq__config_connect(haq_ctx_t *ctx);
void haq__config_disconnect(haq_ctx_t *ctx);
void haq__config_dispatch(haq_ctx_t *ctx);
void haq__config_free_tracks(haq_ctx_t *ctx);

#endif /* HAQ_INT_H */
