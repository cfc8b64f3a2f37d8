/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The send path of a group: the fast path straight from the caller's
 * memory, the queue behind it and its flush (with the windows and budgets
 * of sendwin.c), backoff after push-back, the writable callback, and the
 * reports of messages whose fate is unknown or that corosync refused.
 */
#include "group.h"

#include <errno.h>
#include <linux/sockios.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "bundle.h"
#include "compress.h"
#include "sendwin.h"

/*
 * Frames sent without copying take their iovec array from the stack; more
 * buffers than this go through the queue, which also keeps us far below
 * libcpg's fixed array of 64 iovecs.
 */
#define HAQ_DIRECT_IOV_MAX 16
/*
 * A bundle of at most this many messages, of at least HAQ_BUNDLE_GATHER_MIN
 * bytes each on average, goes gathered from the queue (two iovecs a
 * message, far below libcpg's 64) instead of packed into one buffer: for
 * such messages the packing copy costs more than the iovecs.
 */
#define HAQ_BUNDLE_GATHER_MAX 15
#define HAQ_BUNDLE_GATHER_MIN 1024u

/*
 * libqb's IPC client tells corosync of each request with one small write
 * on the connection's socket, and blocks in send() when that socket's
 * buffer is full: after a few hundred requests while corosync does not
 * read (SIGSTOP, a stalled VM). A blocked caller cannot step down when
 * its lease runs out, so libhaq never lets it come to that: every
 * HAQ_IPC_CHECK_EVERY requests it asks the kernel how much of the buffer
 * is taken (SIOCOUTQ) and treats a nearly full one as corosync pushing
 * back. Then the messages wait in the queue and the retry timer runs.
 * Only while many of its messages are out: a request whose message came
 * back was read, so the writes still in the buffer are at most the
 * messages handed over and not back yet (a fragmented message has at
 * most its window out). With fewer of those than half the buffer holds
 * at ~1 KiB a write, the buffer cannot be full, and nothing is asked.
 */
#define HAQ_IPC_CHECK_EVERY 32u
#define HAQ_IPC_RESERVE (64u * 1024u) /* 32 writes of ~770 B truesize, x 2 */
#define HAQ_IPC_WRITE_MAX 1024u       /* a write's truesize, rounded up */

bool
haq__tx_ipc_room(struct haq_group *g)
{
	int queued = 0;

	if (g->handed - g->self_delivered <
	    g->ipc_sndbuf / (2 * HAQ_IPC_WRITE_MAX)) {
		return true;
	}
	if (++g->ipc_unchecked < HAQ_IPC_CHECK_EVERY || g->ipc_sndbuf == 0) {
		return true;
	}
	if (ioctl(g->svc.fd, SIOCOUTQ, &queued) < 0 || queued < 0) {
		g->ipc_unchecked = 0;
		return true;
	}
	if ((size_t)queued + HAQ_IPC_RESERVE > g->ipc_sndbuf) {
		/* Ask again before the next request. */
		g->ipc_unchecked = HAQ_IPC_CHECK_EVERY;
		return false;
	}
	g->ipc_unchecked = 0;
	return true;
}

/*
 * Bytes of our fragmented message e seen back so far (of an earlier try
 * too, after a resend: then more than e->sent, and nothing waits).
 */
static size_t
frag_back(struct haq_group *g, const struct haq_sendq_entry *e)
{
	return haq__peers_partial_have(&g->peers, g->ctx->local_nodeid,
				       (uint32_t)g->ctx->owner_pid, e->seq);
}

/*
 * Whether frames of ours are on their way back: the dispatch that takes
 * one flushes the queue again (haq__tx_after_dispatch()).
 */
static bool
own_frames_out(struct haq_group *g)
{
	struct haq_sendq_entry *e = g->q.head;

	if (!g->joined || !g->handle_valid) {
		return false;
	}
	if (g->handed > g->self_delivered) {
		return true;
	}
	return e && e->type == HAQ_WIRE_FRAG && !e->refused && e->sent > 0 &&
	       e->sent > frag_back(g, e);
}

void
haq__tx_retry(struct haq_group *g, bool backoff)
{
	uint64_t now = haq__now();

	if (!backoff) {
		g->retry_at = now;
	} else {
		g->retry_at = now + haq__sendwin_retry(
					    &g->retry_delay, own_frames_out(g),
					    HAQ_RETRY_MIN_NS, HAQ_RETRY_MAX_NS);
	}
	haq__timers_update(g->ctx);
}

static void
maybe_writable(struct haq_group *g)
{
	if (!g->want_writable || !haq__sendwin_writable(g->q.mem, g->q.limit)) {
		return;
	}
	if (g->ctx->depth == 0) {
		/* Inside the caller's own call: tell it from the next round. */
		haq__tx_retry(g, false);
		return;
	}
	g->want_writable = false;
	(void)haq__group_call(g, on_writable);
}

/* Our fragmented message at the head of the queue is done with. */
void
haq__tx_frag_done(struct haq_group *g)
{
	g->self_delivered = g->q.head->seq;
	g->counters[HAQ_COUNTER_SENT]++;
	haq__sendq_pop(&g->q);
}

/*
 * Our own fragmented message came back, but this process could not take it
 * (above its own maximum size, lowered after the send, or out of memory
 * for reassembly): it went out to the others all the same. Stop waiting
 * for it, or the queue behind it would wait forever.
 */
void
haq__tx_own_refused(struct haq_group *g, uint64_t seq)
{
	struct haq_sendq_entry *e = g->q.head;

	if (!e || e->type != HAQ_WIRE_FRAG || e->seq != seq) {
		return;
	}
	e->refused = true;
	if (e->sent == e->len) {
		haq__tx_frag_done(g);
	}
}

/* Remember that corosync refused message seq for good (reported later). */
static void
refused(struct haq_group *g, uint64_t seq, int error)
{
	struct haq_send_failure **pp = &g->failures;
	struct haq_send_failure *f;

	while (*pp && (*pp)->next) {
		pp = &(*pp)->next;
	}
	f = *pp;
	if (f && f->error == error && f->last + 1 == seq) {
		f->last = seq;
	} else {
		f = calloc(1, sizeof(*f));
		if (!f) {
			return; /* logged already; nothing more to be done */
		}
		f->first = seq;
		f->last = seq;
		f->error = error;
		if (*pp) {
			(*pp)->next = f;
		} else {
			*pp = f;
		}
	}
	/* Told from dispatch, never inside the caller's send call. */
	haq__tx_retry(g, false);
}

void
haq__tx_report_failures(struct haq_group *g)
{
	while (g->failures && haq__group_alive(g)) {
		struct haq_send_failure *f = g->failures;

		g->failures = f->next;
		(void)haq__group_call(g, on_send_failed, f->first, f->last,
				      f->error);
		free(f);
	}
}

/* Remember the frame of ours that ends with message seq (the window). */
static inline void
window_push(struct haq_group *g, uint64_t seq)
{
	g->win[g->win_n++ & (HAQ_BUNDLE_WINDOW - 1)] = seq;
}

/*
 * Whether HAQ_BUNDLE_WINDOW frames of ours are out and not back: the
 * oldest of the last ones handed is not back yet. Our messages come back
 * in order, so the frame ending with seq s is back once s is.
 */
static inline bool
window_full(const struct haq_group *g)
{
	return g->win[g->win_n & (HAQ_BUNDLE_WINDOW - 1)] > g->self_delivered;
}

/*
 * How many queued messages from e on go in one bundle: whole messages
 * of at most bundle_small bytes, copied into the queue, with consecutive
 * seqs, within the bound. *bytes is the payload they make.
 */
static size_t
bundle_gather(const struct haq_group *g, const struct haq_sendq_entry *e,
	      size_t *bytes)
{
	size_t n = 0;
	size_t len = 0;

	for (; e && n < HAQ_BUNDLE_MSGS_MAX; e = e->next, n++) {
		size_t rec;

		if (e->type != HAQ_WIRE_DATA || e->ext || e->control ||
		    e->len > g->bundle_small || e->seq != g->q.head->seq + n) {
			break;
		}
		rec = haq__bundle_record_len(e->len);
		if (rec > g->bundle_max - len) {
			break;
		}
		len += rec;
	}
	*bytes = len;
	return n;
}

/* Pack n messages from the head of the queue (bytes in all) into buf. */
static void
bundle_pack(struct haq_group *g, size_t n, uint8_t *buf)
{
	const struct haq_sendq_entry *e = g->q.head;
	size_t off = 0;

	for (size_t i = 0; i < n; i++, e = e->next) {
		off += haq__bundle_put(buf + off, e->data, e->len);
	}
}

/*
 * Hand the first n messages of the queue (bytes of payload) to corosync
 * as one bundle. Returns corosync's answer; on CS_OK they left the queue.
 * A few large messages go gathered from their queue blocks, each behind
 * its length (libqb copies the pieces into its ring in any case); many
 * small ones are packed into one buffer first, cheaper than an iovec
 * each. The frame's bytes are the same either way.
 */
static cs_error_t
bundle_send(struct haq_group *g, size_t n, size_t bytes)
{
	uint8_t hdr[HAQ_WIRE_HDR_LEN];
	uint8_t lens[HAQ_BUNDLE_GATHER_MAX][HAQ_BUNDLE_VARINT_MAX];
	struct iovec iov[1 + 2 * HAQ_BUNDLE_GATHER_MAX];
	unsigned int iovcnt = 1;
	uint64_t first = g->q.head->seq;
	cs_error_t err;

	if (n <= HAQ_BUNDLE_GATHER_MAX && bytes >= n * HAQ_BUNDLE_GATHER_MIN) {
		const struct haq_sendq_entry *e = g->q.head;

		for (size_t i = 0; i < n; i++, e = e->next) {
			iov[iovcnt].iov_base = lens[i];
			iov[iovcnt++].iov_len =
				haq__bundle_put_len(lens[i], e->len);
			iov[iovcnt].iov_base = (void *)e->data;
			iov[iovcnt++].iov_len = e->len;
		}
	} else {
		if (!g->bundle_buf) {
			g->bundle_buf = malloc(g->bundle_max);
			if (!g->bundle_buf) {
				return CS_ERR_NO_MEMORY;
			}
		}
		bundle_pack(g, n, g->bundle_buf);
		iov[iovcnt].iov_base = g->bundle_buf;
		iov[iovcnt++].iov_len = bytes;
	}
	memcpy(hdr, g->data_hdr, HAQ_WIRE_HDR_LEN);
	hdr[5] = HAQ_WIRE_BUNDLE;
	haq__wire_set_seq(hdr, first);
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	err = cpg_mcast_joined(g->handle, CPG_TYPE_AGREED, iov, iovcnt);
	if (err != CS_OK) {
		return err;
	}
	g->retry_delay = 0;
	g->handed = first + n - 1;
	window_push(g, g->handed);
	g->counters[HAQ_COUNTER_SENT] += n;
	g->counters[HAQ_COUNTER_BUNDLED] += n;
	for (size_t i = 0; i < n; i++) {
		haq__sendq_pop(&g->q);
	}
	return CS_OK;
}

/*
 * Hand queued frames to corosync until it pushes back, a budget ends or
 * a fragmented message has its window out.
 */
void
haq__tx_flush(struct haq_group *g)
{
	size_t frames = 0;
	size_t bytes = 0;

	while (g->q.head && g->handle_valid && g->joined) {
		struct haq_sendq_entry *e = g->q.head;
		struct haq_wire_hdr h = {
			.type = e->type,
			.flags = e->wflags,
			.incarnation = g->ctx->incarnation,
			.seq = e->seq,
		};
		uint8_t hdr[HAQ_WIRE_FRAG_HDR_LEN];
		struct iovec iov[2];
		size_t chunk = e->len - e->sent;
		cs_error_t err;

		if (e->type == HAQ_WIRE_FRAG && e->sent == e->len) {
			if (e->refused) {
				/* It will never be back whole here. */
				haq__tx_frag_done(g);
				continue;
			}
			/*
			 * Every frame of it is out: wait until it is back
			 * whole before sending more, so that a view change
			 * cutting it can have it sent again in order.
			 */
			break;
		}
		if (e->type == HAQ_WIRE_FRAG && !e->refused &&
		    !haq__sendwin_frag_may_send(e->sent, frag_back(g, e),
						HAQ_FRAG_WINDOW)) {
			/* Its frames come back: the dispatch flushes again. */
			break;
		}
		if (haq__sendwin_flush_yield(frames, bytes)) {
			/* Let the loop breathe; continue on the next round. */
			haq__tx_retry(g, false);
			return;
		}
		if (e->type == HAQ_WIRE_DATA && e->len <= g->bundle_small) {
			size_t n, blen;

			if (window_full(g) && !g->leaving) {
				/*
				 * Our frames come back: the dispatch that
				 * takes them flushes again, and whatever
				 * waits by then goes in one bundle.
				 */
				break;
			}
			n = bundle_gather(g, e, &blen);
			if (n >= 2) {
				if (!haq__tx_ipc_room(g)) {
					g->counters[HAQ_COUNTER_RETRIES]++;
					haq__tx_retry(g, true);
					return;
				}
				err = bundle_send(g, n, blen);
				if (err == CS_OK) {
					frames++;
					bytes += blen;
					continue;
				}
				if (err == CS_ERR_TRY_AGAIN) {
					g->counters[HAQ_COUNTER_RETRIES]++;
					haq__tx_retry(g, true);
					return;
				}
				if (err == CS_ERR_LIBRARY) {
					haq__connection_lost(g->ctx);
					return;
				}
				/*
				 * Refused (or no memory for the buffer):
				 * each message goes alone below, and is
				 * told about alone if refused again.
				 */
			}
		}
		if (e->type == HAQ_WIRE_FRAG) {
			if (chunk > HAQ_FRAG_PAYLOAD_MAX) {
				chunk = HAQ_FRAG_PAYLOAD_MAX;
			}
			h.total = e->len;
			h.offset = e->sent;
		}
		iov[0].iov_base = hdr;
		iov[0].iov_len = haq__wire_encode(&h, hdr);
		iov[1].iov_base = (void *)(haq__sendq_data(e) + e->sent);
		iov[1].iov_len = chunk;
		if (!haq__tx_ipc_room(g)) {
			g->counters[HAQ_COUNTER_RETRIES]++;
			haq__tx_retry(g, true);
			return;
		}
		err = cpg_mcast_joined(g->handle, CPG_TYPE_AGREED, iov, 2);
		if (err == CS_ERR_TRY_AGAIN) {
			g->counters[HAQ_COUNTER_RETRIES]++;
			haq__tx_retry(g, true);
			return;
		}
		if (err == CS_ERR_LIBRARY) {
			haq__connection_lost(g->ctx);
			return;
		}
		frames++;
		bytes += chunk;
		if (err != CS_OK) {
			/* Not retryable: the sender is told, not left guessing. */
			int rc = haq__cs_to_errno(err);

			haq__log(g->ctx, HAQ_LOG_ERR,
				 "group %s: corosync refused message %llu: %s",
				 g->name, (unsigned long long)e->seq,
				 haq_strerror(rc));
			if (!e->control) {
				refused(g, e->seq, rc);
			}
			haq__sendq_pop(&g->q);
			continue;
		}
		g->retry_delay = 0;
		e->sent += chunk;
		if (e->sent == e->len) {
			if (e->type != HAQ_WIRE_CONTROL) {
				g->handed = e->seq;
			}
			if (e->type == HAQ_WIRE_DATA) {
				window_push(g, e->seq);
			}
			if (e->type != HAQ_WIRE_FRAG) {
				if (e->type == HAQ_WIRE_DATA) {
					g->counters[HAQ_COUNTER_SENT]++;
				}
				haq__sendq_pop(&g->q);
			}
		}
	}
	if (!g->q.head && !g->failures) {
		g->retry_at = 0;
	}
	maybe_writable(g);
}

/* After a dispatch: deliveries made room in corosync, try the queue. */
void
haq__tx_after_dispatch(struct haq_group *g)
{
	if (g->q.head && g->joined) {
		haq__tx_flush(g);
	} else {
		/*
		 * A fragmented message leaves the queue when it comes back
		 * whole (the receive path), not in a flush: a writer waiting
		 * for room must hear about it here, or it waits forever.
		 */
		maybe_writable(g);
	}
}

/*
 * Queue one of libhaq's own frames behind the application's messages. It
 * carries the next message's seq without consuming it: receivers apply no
 * sequence rules to control frames, and message ids stay dense.
 */
int
haq__tx_queue_control(struct haq_group *g, const uint8_t *payload,
		      size_t len)
{
	struct iovec iov = {.iov_base = (void *)payload, .iov_len = len};

	return haq__tx_queue_controlv(g, &iov, 1, len);
}

/* As haq__tx_queue_control(), gathered from iovcnt pieces (len bytes). */
int
haq__tx_queue_controlv(struct haq_group *g, const struct iovec *iov,
		       size_t iovcnt, size_t len)
{
	int rc;

	rc = haq__sendq_push(&g->q, HAQ_WIRE_CONTROL, true, g->next_seq, iov,
			     iovcnt, len);
	if (rc < 0) {
		return rc;
	}
	if (g->joined && g->handle_valid && g->q.head == g->q.tail) {
		haq__tx_flush(g);
	}
	return 0;
}

/*
 * As haq__tx_queue_control(), for a large frame in a buffer libhaq lends
 * (state transfer's CHUNKs): release gives it back once corosync took it.
 */
int
haq__tx_queue_control_lent(struct haq_group *g, const uint8_t *frame,
			   size_t len, haq_release_fn release, void *userdata)
{
	int rc;

	rc = haq__sendq_push_lent_control(&g->q, HAQ_WIRE_CONTROL, g->next_seq,
					  frame, len, release, userdata);
	if (rc < 0) {
		return rc;
	}
	if (g->joined && g->handle_valid && g->q.head == g->q.tail) {
		haq__tx_flush(g);
	}
	return 0;
}

/*
 * Hand one of libhaq's own frames to corosync now, ahead of the queue:
 * control frames stand outside the message sequence, so they may pass the
 * caller's messages (the election's frames must not wait behind megabytes
 * of data). When corosync pushes back it is queued instead. 0, or -ENOMEM.
 */
int
haq__tx_control_now(struct haq_group *g, const uint8_t *payload, size_t len)
{
	uint8_t hdr[HAQ_WIRE_HDR_LEN];
	struct iovec iov[2];
	cs_error_t err;

	if (!g->joined || !g->handle_valid) {
		return haq__tx_queue_control(g, payload, len);
	}
	memcpy(hdr, g->data_hdr, HAQ_WIRE_HDR_LEN);
	hdr[5] = HAQ_WIRE_CONTROL;
	haq__wire_set_seq(hdr, g->next_seq);
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)payload;
	iov[1].iov_len = len;
	err = haq__tx_ipc_room(g)
		      ? cpg_mcast_joined(g->handle, CPG_TYPE_AGREED, iov, 2)
		      : CS_ERR_TRY_AGAIN;
	if (err == CS_OK) {
		return 0;
	}
	if (err == CS_ERR_LIBRARY) {
		haq__connection_lost(g->ctx);
		return 0; /* the rejoin starts a new round */
	}
	if (err != CS_ERR_TRY_AGAIN) {
		return haq__tx_queue_control(g, payload, len);
	}
	/* Pushed back: first in the queue, not behind the caller's data. */
	g->counters[HAQ_COUNTER_RETRIES]++;
	if (haq__sendq_push_urgent(&g->q, HAQ_WIRE_CONTROL, g->next_seq,
				   &iov[1], 1, len) < 0) {
		return -ENOMEM;
	}
	haq__tx_retry(g, true);
	return 0;
}

/*
 * After a disconnect: messages handed to corosync and not delivered back
 * have an unknown fate. Say so; a partly sent large message starts over
 * after the rejoin (receivers dropped its fragments when we left).
 */
void
haq__tx_lost(struct haq_group *g)
{
	uint64_t first = g->self_delivered + 1;
	uint64_t last = g->handed;

	if (g->q.head && g->q.head->type == HAQ_WIRE_FRAG &&
	    g->q.head->sent == g->q.head->len) {
		/*
		 * All of it was handed over: some members may have it whole.
		 * It is reported below, not sent again (no duplicates).
		 */
		haq__sendq_pop(&g->q);
	} else if (g->q.head) {
		/* Partly out: receivers drop it as we leave; send it again. */
		g->q.head->sent = 0;
	}
	g->self_delivered = g->handed;
	if (last < first) {
		return;
	}
	haq__log(g->ctx, HAQ_LOG_WARNING,
		 "group %s: messages %llu..%llu may not have been delivered",
		 g->name, (unsigned long long)first, (unsigned long long)last);
	(void)haq__group_call(g, on_uncertain, first, last);
}

/* A caller's buffer lent to haq_group_send_zc(). */
struct lent {
	void *data;
	haq_release_fn release;
	void *userdata;
};

/* Queue a message: a copy of iov, or the lent buffer when there is one. */
static int
enqueue(struct haq_group *g, uint8_t type, const struct iovec *iov,
	size_t iovcnt, size_t len, const struct lent *lent)
{
	if (lent) {
		return haq__sendq_push_borrowed(&g->q, type, g->next_seq,
						lent->data, len, lent->release,
						lent->userdata);
	}
	return haq__sendq_push(&g->q, type, false, g->next_seq, iov, iovcnt,
			       len);
}

/*
 * The fast path: nothing queued ahead, joined, one whole frame, few
 * buffers: hand it to corosync straight from the caller's memory. Flow
 * control or a lost connection queue it instead.
 */
static int
send_direct(struct haq_group *g, const struct iovec *iov, size_t iovcnt,
	    size_t len, const struct lent *lent)
{
	struct iovec direct[HAQ_DIRECT_IOV_MAX + 1];
	uint8_t hdr[HAQ_WIRE_HDR_LEN];
	uint64_t seq = g->next_seq;
	cs_error_t err;
	int rc;

	if (__builtin_expect(len <= g->bundle_small && window_full(g), 0)) {
		/*
		 * Enough of our frames are on their way: this one waits for
		 * the next to come back and goes with whatever else waits
		 * by then, in one bundle.
		 */
		rc = enqueue(g, HAQ_WIRE_DATA, iov, iovcnt, len, lent);
		if (rc < 0) {
			return rc;
		}
		g->next_seq++;
		return 0;
	}
	memcpy(hdr, g->data_hdr, HAQ_WIRE_HDR_LEN);
	haq__wire_set_seq(hdr, seq);
	direct[0].iov_base = hdr;
	direct[0].iov_len = HAQ_WIRE_HDR_LEN;
	if (iovcnt == 1) {
		direct[1] = iov[0];
	} else {
		memcpy(&direct[1], iov, iovcnt * sizeof(*iov));
	}
	err = __builtin_expect(haq__tx_ipc_room(g), 1)
		      ? cpg_mcast_joined(g->handle, CPG_TYPE_AGREED, direct,
					 (unsigned int)iovcnt + 1)
		      : CS_ERR_TRY_AGAIN;
	if (err == CS_OK) {
		g->handed = seq;
		window_push(g, seq);
		g->next_seq++;
		g->counters[HAQ_COUNTER_SENT]++;
		if (lent && lent->release) {
			/* corosync has its own copy now. */
			lent->release(lent->data, lent->userdata);
		}
		return 0;
	}
	if (err != CS_ERR_TRY_AGAIN && err != CS_ERR_LIBRARY) {
		/* Refused at once: the caller hears it from this call. */
		return haq__cs_to_errno(err);
	}
	if (err == CS_ERR_TRY_AGAIN) {
		g->counters[HAQ_COUNTER_RETRIES]++;
	}
	rc = enqueue(g, HAQ_WIRE_DATA, iov, iovcnt, len, lent);
	if (rc < 0) {
		return rc;
	}
	g->next_seq++;
	if (err == CS_ERR_LIBRARY) {
		haq__connection_lost(g->ctx);
	} else {
		haq__tx_retry(g, true);
	}
	return 0;
}

static void
free_compressed(void *data, void *userdata)
{
	(void)userdata;
	free(data);
}

/*
 * Send a compressed copy of the message when it is worth it: queued like
 * a borrowed buffer that the queue frees. Returns 0 when it was queued,
 * -EAGAIN when the message goes as it is (it does not compress, or no
 * memory for a try), or another error of the queue.
 */
static int
send_compressed(struct haq_group *g, const struct iovec *iov, size_t iovcnt,
		size_t len, const struct lent *lent)
{
	uint8_t *flat = NULL;
	const uint8_t *src;
	uint8_t *out;
	size_t bound = haq__compress_bound(len);
	size_t clen;
	uint8_t type;
	int rc;

	if (!bound) {
		return -EAGAIN;
	}
	if (iovcnt == 1) {
		src = iov[0].iov_base;
	} else {
		size_t off = 0;

		flat = malloc(len);
		if (!flat) {
			return -EAGAIN;
		}
		for (size_t i = 0; i < iovcnt; i++) {
			if (iov[i].iov_len) {
				memcpy(flat + off, iov[i].iov_base,
				       iov[i].iov_len);
				off += iov[i].iov_len;
			}
		}
		src = flat;
	}
	out = malloc(bound);
	if (!out) {
		free(flat);
		return -EAGAIN;
	}
	/* A sample first: data that does not compress costs little. */
	clen = haq__compress_worth(src, len, out)
		       ? haq__compress(src, len, out, bound)
		       : 0;
	free(flat);
	if (clen == 0) {
		free(out);
		return -EAGAIN;
	}
	type = clen <= HAQ_DATA_PAYLOAD_MAX ? HAQ_WIRE_DATA : HAQ_WIRE_FRAG;
	rc = haq__sendq_push_borrowed(&g->q, type, g->next_seq, out, clen,
				      free_compressed, NULL);
	if (rc < 0) {
		free(out);
		return rc;
	}
	g->q.tail->wflags = HAQ_WIRE_F_COMPRESSED;
	g->counters[HAQ_COUNTER_COMPRESSED]++;
	if (lent && lent->release) {
		/* The compressed copy is what goes out. */
		lent->release(lent->data, lent->userdata);
	}
	g->next_seq++;
	if (g->joined && g->handle_valid && g->q.head == g->q.tail) {
		haq__tx_flush(g);
	}
	return 0;
}

/* The checks and the queueing every send call shares. */
static int
send_checked(struct haq_group *g, const struct iovec *iov, size_t iovcnt,
	     size_t len, const struct lent *lent)
{
	uint8_t type;
	int rc;

	if (len == 0) {
		return -EINVAL;
	}
	if (len > g->max_message) {
		return -EMSGSIZE;
	}
	if (!haq__sendwin_admit(g->q.count, g->q.mem,
				haq__sendq_footprint(len), g->q.limit)) {
		g->want_writable = true;
		return -ENOBUFS;
	}
	if (__builtin_expect(len >= g->compress_from, 0)) {
		int rc2 = send_compressed(g, iov, iovcnt, len, lent);

		if (rc2 != -EAGAIN) {
			return rc2;
		}
	}
	type = len <= HAQ_DATA_PAYLOAD_MAX ? HAQ_WIRE_DATA : HAQ_WIRE_FRAG;
	if (!g->q.head && g->joined && g->handle_valid &&
	    type == HAQ_WIRE_DATA && iovcnt <= HAQ_DIRECT_IOV_MAX) {
		return send_direct(g, iov, iovcnt, len, lent);
	}
	rc = enqueue(g, type, iov, iovcnt, len, lent);
	if (rc < 0) {
		return rc;
	}
	g->next_seq++;
	if (g->joined && g->handle_valid && g->q.head == g->q.tail) {
		/* First in the queue: start now (a large one in slices). */
		haq__tx_flush(g);
	}
	return 0;
}

HAQ_EXPORT int
haq_group_sendv(haq_group_t *g, const struct iovec *iov, size_t iovcnt)
{
	size_t len = 0;
	int rc = haq__group_enter(g, 0);

	if (rc < 0) {
		return rc;
	}
	if (!iov || iovcnt == 0) {
		return -EINVAL;
	}
	for (size_t i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len && !iov[i].iov_base) {
			return -EINVAL;
		}
		if (iov[i].iov_len > SIZE_MAX - len) {
			return -EMSGSIZE;
		}
		len += iov[i].iov_len;
	}
	return send_checked(g, iov, iovcnt, len, NULL);
}

HAQ_EXPORT int
haq_group_send(haq_group_t *g, const void *data, size_t len)
{
	struct iovec iov = {.iov_base = (void *)data, .iov_len = len};

	/* The common case, checked in a few instructions. */
	if (data && g && !g->svc.dead && len != 0 &&
	    len <= HAQ_DATA_PAYLOAD_MAX && len <= g->direct_max &&
	    !g->q.head && g->joined && g->handle_valid &&
	    !g->ctx->free_requested && g->ctx->owner_pid == haq__getpid()) {
		return send_direct(g, &iov, 1, len, NULL);
	}
	if (!data) {
		int rc = haq__group_enter(g, 0);

		return rc < 0 ? rc : -EINVAL;
	}
	return haq_group_sendv(g, &iov, 1);
}

HAQ_EXPORT int
haq_group_send_zc(haq_group_t *g, void *data, size_t len,
		  haq_release_fn release, void *userdata)
{
	struct iovec iov = {.iov_base = data, .iov_len = len};
	struct lent lent = {
		.data = data,
		.release = release,
		.userdata = userdata,
	};
	int rc = haq__group_enter(g, 0);

	if (rc < 0) {
		return rc;
	}
	if (!data) {
		return -EINVAL;
	}
	return send_checked(g, &iov, 1, len, &lent);
}

HAQ_EXPORT int
haq_group_queued(const haq_group_t *g, size_t *bytes, size_t *messages)
{
	int rc = haq__group_enter(g, 0);

	if (rc < 0) {
		return rc;
	}
	/* The caller's messages: libhaq's own frames are not counted. */
	if (bytes) {
		*bytes = g->q.user_bytes;
	}
	if (messages) {
		*messages = g->q.user_count;
	}
	return 0;
}
