/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * State transfer's glue (the rules are in xfer.c): the application's
 * callbacks, the provider's flow-controlled writer, the messages a
 * receiver keeps until its state is complete, offers and stall timers.
 */
#include "group.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "compress.h"

/*
 * CHUNK frames of a provider out at once (sent and not back): two, as for
 * a fragmented message (HAQ_FRAG_WINDOW). Measured with make bench-state
 * on 3 nodes: 2 frames gave 0.97-1.03 of libhaq's 4 MiB message rate, 4
 * gave 0.69 and 8 gave 0.63 (corosync queues about three frames; more
 * only waits in its queues).
 */
#define STATE_WINDOW 2u
/* Data bytes of one CHUNK: one frame, never fragmented. */
#define CHUNK_MAX HAQ_XFER_CHUNK_MAX
/* Kept messages delivered per turn after DONE: the loop breathes. */
#define DRAIN_BUDGET 256
#define DRAIN_BYTES (1u << 20)

/*
 * A provider offers this long after a member came to need the state, so
 * that processes joining together share one transfer.
 */
#define STATE_SETTLE_NS (100ull * 1000000ull)


/* A message kept by a receiver until its state is complete. */
struct haq_kept {
	struct haq_kept *next;
	uint32_t nodeid;
	uint32_t pid;
	size_t len;
	uint8_t data[];
};

static uint64_t
stall_ns(const struct haq_group *g)
{
	return g->st.stall_ms * 1000000ull;
}

static void
tell(struct haq_group *g, uint64_t id, int role, int status, int error)
{
	struct haq_state *st = &g->st;

	if (haq__group_alive(g) && st->status) {
		st->status(g, id, role, status, error, st->ud);
	}
}

static void
kept_clear(struct haq_state *st)
{
	while (st->kept) {
		struct haq_kept *k = st->kept;

		st->kept = k->next;
		free(k);
	}
	st->kept_tail = NULL;
	st->kept_bytes = 0;
	st->kept_count = 0;
}

static void
send_frame(struct haq_group *g, uint8_t type, const uint8_t *body,
	   size_t len, bool now)
{
	uint8_t buf[1 + HAQ_XFER_END_LEN];
	int rc;

	buf[0] = type;
	memcpy(buf + 1, body, len);
	rc = now ? haq__tx_control_now(g, buf, len + 1)
		 : haq__tx_queue_control(g, buf, len + 1);
	if (rc < 0) {
		haq__log(g->ctx, HAQ_LOG_ERR,
			 "group %s: cannot send a state transfer frame: %s",
			 g->name, haq_strerror(rc));
	}
}

/* ---------------------------------------------------------------- */
/* The provider's writer                                            */
/* ---------------------------------------------------------------- */

static void
writer_close(struct haq_state *st)
{
	st->wid = 0;
	st->wlen = 0;
	st->wblocked = false;
}

#define FRAME_BYTES (1 + HAQ_XFER_CHUNK_HDR + CHUNK_MAX)

/* A frame buffer: a kept one (pages already touched), or a new one. */
static uint8_t *
frame_take(struct haq_state *st)
{
	if (st->npool) {
		return st->pool[--st->npool];
	}
	return malloc(FRAME_BYTES);
}

/* The send queue is done with a frame (haq_release_fn). */
static void
frame_release(void *frame, void *ud)
{
	struct haq_state *st = ud;

	if (st->npool < STATE_POOL) {
		st->pool[st->npool++] = frame;
	} else {
		free(frame);
	}
}

/* Where a frame's data starts: after the control type and the header. */
#define FRAME_DATA (1 + HAQ_XFER_CHUNK_HDR)

/*
 * The frame to send for the data filled in st->wbuf: a compressed copy in
 * a second frame when the group compresses (haq_group_set_compress(),
 * every member announced lz4 for messages and for CHUNKs, at least its
 * threshold) and that saves 1/16 of it; else st->wbuf itself. Data that
 * does not compress costs a sample (haq__compress_worth()); the
 * compressed copy goes straight into the frame that is sent, and the
 * frame filled stays the next one's buffer: no copy either way.
 */
static uint8_t *
chunk_frame(struct haq_group *g, size_t *len, uint32_t *flags)
{
	struct haq_state *st = &g->st;
	uint8_t *z;
	size_t c = 0;

	*len = st->wlen;
	*flags = 0;
	if (st->wlen < g->xfer_compress_from) {
		return st->wbuf;
	}
	z = frame_take(st);
	if (!z) {
		return st->wbuf; /* no memory for a copy: as it is */
	}
	/* A sample first, with the frame as scratch (it is large enough). */
	if (haq__compress_worth(st->wbuf + FRAME_DATA, st->wlen, z)) {
		c = haq__compress(st->wbuf + FRAME_DATA, st->wlen,
				  z + FRAME_DATA, CHUNK_MAX);
	}
	if (!c) {
		frame_release(z, st);
		return st->wbuf;
	}
	if (__builtin_expect(st->test_cut, 0)) {
		st->test_cut = false;
		c--;
	}
	*len = c;
	*flags = HAQ_XFER_CHUNK_LZ4;
	return z;
}

/* Hand the frame being filled to the send queue (lent: no copy). */
static int
emit(struct haq_group *g)
{
	struct haq_state *st = &g->st;
	uint8_t *frame;
	size_t len;
	uint32_t flags;
	int rc;

	if (!st->wlen) {
		return 0;
	}
	frame = chunk_frame(g, &len, &flags);
	frame[0] = HAQ_CONTROL_XFER_CHUNK;
	haq__xfer_chunk_hdr_encode(st->wid, st->windex, flags, frame + 1);
	rc = haq__tx_queue_control_lent(g, frame, FRAME_DATA + len,
					frame_release, st);
	if (rc < 0) {
		if (frame != st->wbuf) {
			frame_release(frame, st);
		}
		return rc;
	}
	if (frame == st->wbuf) {
		st->wbuf = NULL;
	} else {
		g->counters[HAQ_COUNTER_COMPRESSED]++;
	}
	st->windex++;
	st->wbytes += st->wlen;
	st->wlen = 0;
	st->wout++;
	return 0;
}

/* A CHUNK of ours came back: room in the window. */
static void
writer_chunk_back(struct haq_group *g, uint64_t id)
{
	struct haq_state *st = &g->st;

	if (id != st->wout_id || !st->wout) {
		return;
	}
	st->wout--;
	if (!st->wid || st->wout >= STATE_WINDOW) {
		return;
	}
	/* Never wait to fill a frame while the window is idle. */
	if (st->wlen && (st->wout == 0 || st->wlen == CHUNK_MAX)) {
		(void)emit(g);
	}
	if (st->wblocked && st->wout < STATE_WINDOW) {
		uint64_t wid = st->wid;

		st->wblocked = false;
		if (haq__group_alive(g) && st->writable) {
			st->writable(g, wid, st->ud);
		}
	}
}

HAQ_EXPORT ssize_t
haq_group_state_write(haq_group_t *g, uint64_t transfer, const void *data,
		      size_t len)
{
	struct haq_state *st;
	const uint8_t *p = data;
	size_t taken = 0;
	int rc = haq__group_enter(g, 0);

	if (rc < 0) {
		return rc;
	}
	st = &g->st;
	if (!st->on || (!data && len)) {
		return -EINVAL;
	}
	if (!transfer || transfer != st->wid) {
		return transfer && transfer == st->wended ? -EALREADY
							  : -ESTALE;
	}
	if (st->wbytes + st->wlen + len > st->max_size) {
		(void)haq_group_state_end(g, transfer, -EFBIG);
		return -EFBIG;
	}
	while (taken < len) {
		size_t n = len - taken;

		if (!st->wbuf) {
			st->wbuf = frame_take(st);
			if (!st->wbuf) {
				return taken ? (ssize_t)taken : -ENOMEM;
			}
		}

		if (st->wlen == CHUNK_MAX) {
			if (st->wout >= STATE_WINDOW) {
				break;
			}
			rc = emit(g);
			if (rc < 0) {
				return taken ? (ssize_t)taken : rc;
			}
			continue; /* a fresh frame */
		}
		if (n > CHUNK_MAX - st->wlen) {
			n = CHUNK_MAX - st->wlen;
		}
		memcpy(st->wbuf + FRAME_DATA + st->wlen, p + taken, n);
		st->wlen += n;
		taken += n;
	}
	if (st->wlen && st->wout == 0) {
		(void)emit(g);
	}
	if (!taken) {
		st->wblocked = true;
		return -EAGAIN;
	}
	if (taken < len) {
		st->wblocked = true;
	}
	return (ssize_t)taken;
}

HAQ_EXPORT int
haq_group_state_end(haq_group_t *g, uint64_t transfer, int error)
{
	struct haq_state *st;
	struct haq_xfer_end e;
	uint8_t body[HAQ_XFER_END_LEN];
	int rc = haq__group_enter(g, 0);

	if (rc < 0) {
		return rc;
	}
	st = &g->st;
	if (!st->on || error > 0 || error <= -4096) {
		return -EINVAL;
	}
	if (!transfer || transfer != st->wid) {
		return transfer && transfer == st->wended ? -EALREADY
							  : -ESTALE;
	}
	if (!error) {
		rc = emit(g);
		if (rc < 0) {
			return rc;
		}
	}
	e = (struct haq_xfer_end){
		.id = transfer,
		.chunks = error ? 0 : st->windex,
		.bytes = error ? 0 : st->wbytes,
		.error = error,
	};
	haq__xfer_end_encode(&e, body);
	send_frame(g, HAQ_CONTROL_XFER_END, body, sizeof(body), false);
	st->wended = transfer;
	writer_close(st);
	return 0;
}

/* ---------------------------------------------------------------- */
/* What the stream decided                                          */
/* ---------------------------------------------------------------- */

static void
give_up(struct haq_group *g, int error)
{
	struct haq_state *st = &g->st;
	uint8_t body[HAQ_XFER_ABORT_LEN];
	uint64_t id = st->x.id;

	haq__log(g->ctx, HAQ_LOG_WARNING,
		 "group %s: giving up state transfer %llx: %s", g->name,
		 (unsigned long long)id, haq_strerror(error));
	st->receiving = false;
	st->gave_up = id;
	kept_clear(st);
	haq__xfer_abort_encode(id, error, body);
	send_frame(g, HAQ_CONTROL_XFER_GIVEUP, body, sizeof(body), true);
	tell(g, id, HAQ_STATE_RECEIVER, HAQ_STATE_FAILED, error);
}

/*
 * A compressed CHUNK for this receiver: decompressed into a frame of the
 * pool (CHUNK_MAX bytes at most, whatever the sender claims; xfer.c
 * checked the claimed length), given to the application, and the frame
 * kept for the next one. Every member counted the CHUNK from its header
 * alone, so one that does not decompress cannot be dropped like a CHUNK
 * that does not parse (the members that do not decompress it would go on
 * and this one would not): it is counted malformed and this receiver
 * gives the transfer up (GIVEUP, in the agreed order), as for a state
 * too large; it receives again at the next transfer.
 */
static void
deliver_compressed(struct haq_group *g, const struct haq_xfer_result *r,
		   uint64_t id)
{
	struct haq_state *st = &g->st;
	uint8_t *buf = frame_take(st);
	size_t n = 0;
	int rc;

	if (!buf) {
		give_up(g, -ENOMEM);
		return;
	}
	rc = haq__decompress_check(r->data, r->len, CHUNK_MAX, &n);
	if (rc == 0 && n != r->raw_len) {
		rc = -EBADMSG;
	}
	if (rc == 0) {
		rc = haq__decompress(r->data, r->len, buf, n);
	}
	if (rc < 0) {
		frame_release(buf, st);
		g->counters[HAQ_COUNTER_MALFORMED]++;
		haq__log(g->ctx, HAQ_LOG_WARNING,
			 "group %s: state transfer %llx: a compressed chunk "
			 "of %zu bytes from %u/%u does not decompress",
			 g->name, (unsigned long long)id, r->len,
			 st->x.prov_nodeid, st->x.prov_pid);
		give_up(g, -EBADMSG);
		return;
	}
	if (haq__group_alive(g)) {
		st->chunk(g, id, buf, n, st->ud);
	}
	/* A group left in the callback is freed later, its pool with it. */
	frame_release(buf, st);
}

static void
apply(struct haq_group *g, const struct haq_xfer_result *r, uint64_t id)
{
	struct haq_state *st = &g->st;

	if (r->bits & HAQ_XFER_STOPPED) {
		st->need_since = 0;
		st->abort_sent = false;
		if (r->was_receiver) {
			bool was = st->receiving;

			st->receiving = false;
			kept_clear(st);
			if (was) {
				tell(g, id, HAQ_STATE_RECEIVER,
				     HAQ_STATE_RESTARTED, r->error);
			}
		}
		if (!haq__group_alive(g)) {
			return;
		}
		if (r->was_provider || (st->wid && st->wid == id)) {
			writer_close(st);
			st->wended = id;
			tell(g, id, HAQ_STATE_PROVIDER, HAQ_STATE_FAILED,
			     r->error);
		}
	}
	if (r->bits & HAQ_XFER_EMPTY) {
		st->need_since = 0;
		if (r->was_receiver) {
			st->receiving = false;
			kept_clear(st);
			tell(g, id, HAQ_STATE_RECEIVER, HAQ_STATE_FAILED,
			     -ENODATA);
		}
	}
	if (!haq__group_alive(g)) {
		return;
	}
	if (r->bits & HAQ_XFER_STARTED) {
		st->need_since = 0;
		st->progress_at = haq__now();
		st->abort_sent = false;
		if (st->x.self_receives) {
			st->receiving = true;
			kept_clear(st);
			tell(g, id, HAQ_STATE_RECEIVER,
			     r->replace ? HAQ_STATE_REPLACE : HAQ_STATE_BEGIN,
			     0);
			if (!haq__group_alive(g)) {
				return;
			}
		}
		if (st->x.self_provides && haq__group_alive(g)) {
			st->wid = id;
			st->wout_id = id;
			st->windex = 0;
			st->wbytes = 0;
			st->wlen = 0;
			st->wout = 0;
			st->provide(g, id, st->ud);
		}
	}
	if (r->bits & HAQ_XFER_DELIVER) {
		st->progress_at = haq__now();
		if (st->receiving) {
			if (st->x.bytes > st->max_size) {
				give_up(g, -EFBIG);
			} else if (r->compressed) {
				deliver_compressed(g, r, id);
			} else if (haq__group_alive(g)) {
				st->chunk(g, id, r->data, r->len, st->ud);
			}
		}
	}
	if (r->bits & HAQ_XFER_DONE) {
		st->need_since = 0;
		if (r->was_receiver && st->receiving) {
			st->receiving = false;
			st->draining = st->kept != NULL;
			tell(g, id, HAQ_STATE_RECEIVER, HAQ_STATE_DONE, 0);
		}
		if (r->was_provider) {
			tell(g, id, HAQ_STATE_PROVIDER, HAQ_STATE_DONE, 0);
		}
	}
}

static uint64_t
new_id(struct haq_group *g)
{
	uint64_t id = g->ctx->incarnation ^
		      (++g->st.ids * 0x9e3779b97f4a7c15ull);

	return id ? id : 1;
}

/* Send an offer: a BEGIN naming the holders (none: EMPTY). */
static void
offer(struct haq_group *g, bool empty)
{
	struct haq_state *st = &g->st;
	uint32_t n = empty ? 0 : (uint32_t)st->x.ns;
	size_t len = 1 + haq__xfer_begin_len(n);
	uint8_t *buf = malloc(len);

	if (!buf) {
		haq__log(g->ctx, HAQ_LOG_ERR, "group %s: out of memory",
			 g->name);
		return;
	}
	buf[0] = HAQ_CONTROL_XFER_BEGIN;
	st->offered = new_id(g);
	haq__xfer_begin_encode(st->offered, st->x.view_id,
			       empty ? HAQ_XFER_FLAG_EMPTY : 0, st->x.S, n,
			       buf + 1);
	haq__log(g->ctx, HAQ_LOG_DEBUG,
		 "group %s: offering %s (transfer %llx)", g->name,
		 empty ? "an empty state" : "the state",
		 (unsigned long long)st->offered);
	if (haq__tx_queue_control(g, buf, len) < 0) {
		st->offered = 0;
	}
	free(buf);
}

/* After every event: offer, or set the time to. */
static void
reevaluate(struct haq_group *g, uint64_t now)
{
	struct haq_state *st = &g->st;
	const struct haq_view *v = &g->view;
	int rank;

	st->due = 0;
	if (!st->on || !g->joined || !g->have_view || !g->handle_valid ||
	    st->offered || st->gave_up || !haq__group_alive(g)) {
		return;
	}
	if (haq__xfer_lost(&st->x) && !haq__xfer_holds(&st->x)) {
		offer(g, true);
		return;
	}
	rank = haq__xfer_bid_rank(&st->x, v->members, v->nmembers,
				  g->election.nodeid, g->election.pid,
				  haq__election_pending(&g->election));
	if (rank < 0) {
		st->need_since = 0;
		return;
	}
	if (!st->need_since) {
		st->need_since = now;
	}
	st->due = st->need_since + STATE_SETTLE_NS +
		  (uint64_t)rank * stall_ns(g);
	if (st->due <= now) {
		st->due = 0;
		offer(g, false);
	}
}

/* Deliver kept messages, a budget at a time. */
static void
drain(struct haq_group *g)
{
	struct haq_state *st = &g->st;
	size_t bytes = 0;

	for (int i = 0; i < DRAIN_BUDGET && st->kept && bytes < DRAIN_BYTES;
	     i++) {
		struct haq_kept *k = st->kept;

		st->kept = k->next;
		if (!st->kept) {
			st->kept_tail = NULL;
		}
		st->kept_bytes -= k->len;
		st->kept_count--;
		bytes += k->len;
		g->counters[HAQ_COUNTER_DELIVERED]++;
		if (!haq__group_call(g, on_message, k->nodeid, k->pid,
				     k->data, k->len)) {
			free(k);
			return;
		}
		free(k);
	}
	st->draining = st->kept != NULL;
}

/* ---------------------------------------------------------------- */
/* Hooks of the group core                                          */
/* ---------------------------------------------------------------- */

void
haq__state_init(struct haq_group *g)
{
	struct haq_state *st = &g->st;

	haq__xfer_init(&st->x, g->ctx->local_nodeid,
		       (uint32_t)g->ctx->owner_pid);
	st->max_size = HAQ_STATE_MAX_SIZE_DEFAULT;
	st->buffer = HAQ_STATE_BUFFER_DEFAULT;
	st->stall_ms = HAQ_STATE_STALL_DEFAULT_MS;
	{
		/*
		 * A test switch: this process's first compressed CHUNK goes
		 * out one byte short, so that its receivers meet a CHUNK
		 * whose header holds and whose block does not decompress.
		 */
		const char *cut = getenv("HAQ_TEST_XFER_CUT");

		st->test_cut = cut && *cut && *cut != '0';
	}
}

void
haq__state_free(struct haq_group *g)
{
	kept_clear(&g->st);
	free(g->st.wbuf);
	g->st.wbuf = NULL;
	while (g->st.npool) {
		free(g->st.pool[--g->st.npool]);
	}
	haq__xfer_free(&g->st.x);
}

void
haq__state_view(struct haq_group *g, bool first)
{
	struct haq_state *st = &g->st;
	struct haq_xfer_result r;
	uint64_t id = st->x.id;
	const struct haq_view *v = &g->view;

	if (!st->on || !g->joined) {
		return;
	}
	if (first) {
		/* A fresh join: nothing of ours is in flight any more. */
		st->offered = 0;
		st->gave_up = 0;
	}
	/* The local nodeid is known once connected. */
	st->x.self_nodeid = g->ctx->local_nodeid;
	st->x.self_pid = (uint32_t)g->ctx->owner_pid;
	if (haq__xfer_view_left(&st->x, v->id, v->members, v->nmembers,
				v->joined, v->njoined, v->left, v->nleft, first,
				&r) < 0) {
		haq__log(g->ctx, HAQ_LOG_ERR, "group %s: out of memory",
			 g->name);
		return;
	}
	st->need_since = 0;
	apply(g, &r, id);
	reevaluate(g, haq__now());
	haq__timers_update(g->ctx);
}

/* The election moved on: a leader may now be the one to offer. */
void
haq__state_poke(struct haq_group *g)
{
	if (g->st.on) {
		reevaluate(g, haq__now());
		haq__timers_update(g->ctx);
	}
}

void
haq__state_control(struct haq_group *g, uint32_t nodeid, uint32_t pid,
		   const uint8_t *data, size_t len)
{
	struct haq_state *st = &g->st;
	struct haq_xfer_result r;
	const struct haq_view *v = &g->view;
	uint64_t id = st->x.id;
	bool self = haq__is_self(g, nodeid, pid);
	int rc;

	if (!st->on || !g->joined || !g->have_view) {
		return; /* not taking part (yet) */
	}
	switch (data[0]) {
	case HAQ_CONTROL_XFER_BEGIN:
		rc = haq__xfer_on_begin(&st->x, nodeid, pid, data + 1, len - 1,
					v->members, v->nmembers, &r);
		if (self && rc == 0 && len >= 9 &&
		    haq__get_le64(data + 1) == st->offered) {
			st->offered = 0;
		}
		/* An EMPTY starts no transfer: it is told under its own id. */
		id = rc == 0 && (r.bits & HAQ_XFER_EMPTY)
			     ? haq__get_le64(data + 1)
			     : st->x.id;
		break;
	case HAQ_CONTROL_XFER_CHUNK:
		if (__builtin_expect(g->caps_off, 0) &&
		    len > 1 + HAQ_XFER_CHUNK_HDR &&
		    haq__get_le64(data + 1 + 16) != 0) {
			/* As libhaq 0.3: no flags (a test switch). */
			rc = -EBADMSG;
			break;
		}
		rc = haq__xfer_on_chunk(&st->x, nodeid, pid, data + 1, len - 1,
					&r);
		if (self && rc == 0) {
			writer_chunk_back(g, haq__get_le64(data + 1));
		}
		break;
	case HAQ_CONTROL_XFER_END:
		rc = haq__xfer_on_end(&st->x, nodeid, pid, data + 1, len - 1,
				      &r);
		break;
	case HAQ_CONTROL_XFER_ABORT:
		rc = haq__xfer_on_abort(&st->x, nodeid, pid, data + 1, len - 1,
					&r);
		break;
	default:
		rc = haq__xfer_on_giveup(&st->x, nodeid, pid, data + 1,
					 len - 1, &r);
		if (self && rc == 0) {
			st->gave_up = 0; /* everyone knows now */
		}
		break;
	}
	if (rc == -ENOMEM) {
		haq__log(g->ctx, HAQ_LOG_ERR, "group %s: out of memory",
			 g->name);
		return;
	}
	if (rc < 0 || (r.bits & HAQ_XFER_IGNORED)) {
		/* Malformed, or a transfer this process does not follow. */
		if (rc == 0) {
			g->counters[HAQ_COUNTER_STATE_FOREIGN]++;
		} else {
			g->counters[HAQ_COUNTER_MALFORMED]++;
			haq__log(g->ctx, HAQ_LOG_DEBUG,
				 "group %s: dropped a malformed state "
				 "transfer frame of %zu bytes from %u/%u",
				 g->name, len, nodeid, pid);
		}
		if (self && data[0] == HAQ_CONTROL_XFER_BEGIN && rc < 0) {
			st->offered = 0;
		}
		reevaluate(g, haq__now());
		return;
	}
	apply(g, &r, id);
	if (haq__group_alive(g)) {
		reevaluate(g, haq__now());
		haq__timers_update(g->ctx);
	}
}

/*
 * A message for the application: false to deliver it now; true when it
 * is kept (a receiver's transfer runs, or kept ones wait) or covered by
 * the state this process waits for.
 */
bool
haq__state_message(struct haq_group *g, uint32_t nodeid, uint32_t pid,
		   const void *data, size_t len)
{
	struct haq_state *st = &g->st;
	struct haq_kept *k;

	if (!st->receiving && !st->draining) {
		if (haq__xfer_holds(&st->x) && !st->gave_up) {
			return false;
		}
		g->counters[HAQ_COUNTER_STATE_COVERED]++;
		return true;
	}
	if (st->receiving && st->kept_bytes + len > st->buffer) {
		g->counters[HAQ_COUNTER_STATE_COVERED]++;
		give_up(g, -ENOBUFS);
		return true;
	}
	k = malloc(sizeof(*k) + len);
	if (!k) {
		if (st->receiving) {
			give_up(g, -ENOMEM);
		}
		haq__log(g->ctx, HAQ_LOG_ERR,
			 "group %s: out of memory keeping a message", g->name);
		return true;
	}
	k->next = NULL;
	k->nodeid = nodeid;
	k->pid = pid;
	k->len = len;
	memcpy(k->data, data, len);
	if (st->kept_tail) {
		st->kept_tail->next = k;
	} else {
		st->kept = k;
	}
	st->kept_tail = k;
	st->kept_bytes += len;
	st->kept_count++;
	return true;
}

void
haq__state_lost(struct haq_group *g)
{
	struct haq_state *st = &g->st;
	struct haq_xfer_result r;
	uint64_t id = st->x.id;

	if (!st->on) {
		return;
	}
	haq__xfer_reset(&st->x, &r);
	st->offered = 0;
	st->gave_up = 0;
	st->need_since = 0;
	st->due = 0;
	if (st->wid) {
		r.was_provider = true;
		r.bits |= HAQ_XFER_STOPPED;
		r.error = -ENOTCONN;
	}
	if (st->draining) {
		/* Complete already: keep delivering what is kept. */
		r.was_receiver = false;
	}
	apply(g, &r, id ? id : st->wid);
}

void
haq__state_timers(struct haq_group *g, uint64_t now)
{
	struct haq_state *st = &g->st;

	if (!st->on) {
		return;
	}
	if (st->draining) {
		drain(g);
		if (!haq__group_alive(g)) {
			return;
		}
	}
	if (st->receiving && st->x.id && !st->abort_sent &&
	    now >= st->progress_at + stall_ns(g)) {
		uint8_t body[HAQ_XFER_ABORT_LEN];

		haq__log(g->ctx, HAQ_LOG_WARNING,
			 "group %s: state transfer %llx from %u/%u made no "
			 "progress for %llu ms: asking another provider",
			 g->name, (unsigned long long)st->x.id,
			 st->x.prov_nodeid, st->x.prov_pid,
			 (unsigned long long)st->stall_ms);
		st->abort_sent = true;
		haq__xfer_abort_encode(st->x.id, -ETIMEDOUT, body);
		send_frame(g, HAQ_CONTROL_XFER_ABORT, body, sizeof(body),
			   true);
	}
	if (st->due && st->due <= now) {
		reevaluate(g, now);
	}
}

uint64_t
haq__state_deadline(const struct haq_group *g)
{
	const struct haq_state *st = &g->st;
	uint64_t d = st->due;

	if (!st->on) {
		return 0;
	}
	if (st->draining) {
		return 1; /* at once */
	}
	if (st->receiving && st->x.id && !st->abort_sent) {
		uint64_t s = st->progress_at + stall_ns(g);

		if (!d || s < d) {
			d = s;
		}
	}
	return d;
}

/* ---------------------------------------------------------------- */
/* Settings                                                         */
/* ---------------------------------------------------------------- */

static bool
busy(const struct haq_group *g)
{
	return g->st.wid || g->st.receiving || g->st.draining;
}

HAQ_EXPORT int
haq_group_set_state_cbs(haq_group_t *g, haq_state_provide_fn provide,
			haq_state_writable_fn writable,
			haq_state_chunk_fn chunk, haq_state_status_fn status,
			void *userdata)
{
	struct haq_state *st;
	int rc = haq__group_enter(g, 0);

	if (rc < 0) {
		return rc;
	}
	st = &g->st;
	if (!provide || !writable || !chunk || !status) {
		return -EINVAL;
	}
	if (st->on) {
		return busy(g) ? -EBUSY : -EALREADY;
	}
	if (g->view_seq) {
		return -EISCONN;
	}
	st->provide = provide;
	st->writable = writable;
	st->chunk = chunk;
	st->status = status;
	st->ud = userdata;
	st->on = true;
	return 0;
}

HAQ_EXPORT int
haq_group_state_limit(haq_group_t *g, int which, uint64_t value)
{
	struct haq_state *st;
	int rc = haq__group_enter(g, 0);

	if (rc < 0) {
		return rc;
	}
	st = &g->st;
	switch (which) {
	case HAQ_STATE_MAX_SIZE:
		if (value < 1 || value > (1ull << 48)) {
			return -EINVAL;
		}
		break;
	case HAQ_STATE_BUFFER:
		if (value < (1ull << 20) || value > (1ull << 48)) {
			return -EINVAL;
		}
		break;
	case HAQ_STATE_STALL:
		if (value < 100 || value > 3600000) {
			return -EINVAL;
		}
		break;
	default:
		return -EINVAL;
	}
	if (busy(g)) {
		return -EBUSY;
	}
	switch (which) {
	case HAQ_STATE_MAX_SIZE:
		st->max_size = value;
		break;
	case HAQ_STATE_BUFFER:
		st->buffer = value;
		break;
	default:
		st->stall_ms = value;
		break;
	}
	return 0;
}

HAQ_EXPORT int
haq_group_state_held(const haq_group_t *g)
{
	int rc = haq__group_enter(g, 0);

	if (rc < 0) {
		return rc;
	}
	if (!g->st.on) {
		return -EINVAL;
	}
	return haq__xfer_holds(&g->st.x) && !g->st.gave_up ? 1 : 0;
}
