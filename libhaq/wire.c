/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Frame encoding and decoding, and the per-sender receive state: sequence
 * checks and fragment reassembly. Everything here parses bytes that another
 * process sent, so nothing it says about lengths is trusted before it has
 * been checked against what actually arrived.
 */
#include "wire.h"
#include "bundle.h"
#include "le.h"
#include "memb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>


size_t
haq__wire_encode(const struct haq_wire_hdr *h, uint8_t *buf)
{
	haq__put_le32(buf, HAQ_WIRE_MAGIC);
	buf[4] = HAQ_WIRE_VERSION;
	buf[5] = h->type;
	haq__put_le16(buf + 6, h->flags);
	haq__put_le64(buf + 8, h->incarnation);
	haq__put_le64(buf + 16, h->seq);
	if (h->type != HAQ_WIRE_FRAG) {
		return HAQ_WIRE_HDR_LEN;
	}
	haq__put_le64(buf + 24, h->total);
	haq__put_le64(buf + 32, h->offset);
	return HAQ_WIRE_FRAG_HDR_LEN;
}

int
haq__wire_decode(const void *frame, size_t len, struct haq_wire_hdr *h)
{
	const uint8_t *p = frame;
	size_t hdr_len;
	uint64_t payload;

	if (len < HAQ_WIRE_HDR_LEN) {
		return -EBADMSG;
	}
	if (haq__get_le32(p) != HAQ_WIRE_MAGIC || p[4] != HAQ_WIRE_VERSION) {
		return -EBADMSG;
	}
	h->type = p[5];
	h->flags = haq__get_le16(p + 6);
	h->incarnation = haq__get_le64(p + 8);
	h->seq = haq__get_le64(p + 16);
	h->total = 0;
	h->offset = 0;
	switch (h->type) {
	case HAQ_WIRE_DATA:
	case HAQ_WIRE_CONTROL:
	case HAQ_WIRE_BUNDLE:
		hdr_len = HAQ_WIRE_HDR_LEN;
		break;
	case HAQ_WIRE_FRAG:
		hdr_len = HAQ_WIRE_FRAG_HDR_LEN;
		break;
	default:
		return -EBADMSG;
	}
	/*
	 * Reserved flags must be 0 so that a later version can give them a
	 * meaning without being misread by this one.
	 */
	if ((h->flags & ~(h->type == HAQ_WIRE_DATA || h->type == HAQ_WIRE_FRAG
				  ? HAQ_WIRE_F_COMPRESSED
				  : 0u)) != 0 ||
	    h->incarnation == 0 || h->seq == 0) {
		return -EBADMSG;
	}
	/*
	 * An empty payload is never sent: a zero-length message is refused
	 * by the sender, so a frame with no payload is corrupt.
	 */
	if (len <= hdr_len) {
		return -EBADMSG;
	}
	if (h->type != HAQ_WIRE_FRAG) {
		return (int)hdr_len;
	}
	h->total = haq__get_le64(p + 24);
	h->offset = haq__get_le64(p + 32);
	if (h->total == 0 || h->offset >= h->total) {
		return -EBADMSG;
	}
	/*
	 * offset < total here, so total - offset cannot wrap; comparing
	 * against it avoids computing offset + payload, which could.
	 */
	payload = len - hdr_len;
	if (payload > h->total - h->offset) {
		return -EBADMSG;
	}
	return (int)hdr_len;
}

/* Bytes 0..7 of a data frame's header (magic, version, type, no flags). */
#define DATA_WORD0                                                          \
	((uint64_t)HAQ_WIRE_MAGIC | (uint64_t)HAQ_WIRE_VERSION << 32 |      \
	 (uint64_t)HAQ_WIRE_DATA << 40)

/* Where (nodeid, pid) is, or would be inserted: see haq__id_search(). */
static int
peers_find(const struct haq_peers *peers, uint32_t nodeid, uint32_t pid,
	   size_t *pos)
{
	return haq__id_search(peers->v, peers->n, sizeof(*peers->v), nodeid,
			      pid, pos);
}

/* Doubling keeps the cost of n insertions linear in total. */
static int
peers_grow(struct haq_peers *peers)
{
	struct haq_peer *v;
	size_t cap;

	if (peers->n < peers->cap) {
		return 0;
	}
	cap = peers->cap ? peers->cap : 8;
	if (peers->cap) {
		if (cap > SIZE_MAX / 2 / sizeof(*v)) {
			return -ENOMEM;
		}
		cap *= 2;
	}
	v = realloc(peers->v, cap * sizeof(*v));
	if (!v) {
		return -ENOMEM;
	}
	peers->v = v;
	peers->cap = cap;
	return 0;
}

static struct haq_peer *
peers_insert(struct haq_peers *peers, size_t pos, uint32_t nodeid, uint32_t pid)
{
	struct haq_peer *p;

	if (peers_grow(peers) < 0) {
		return NULL;
	}
	p = &peers->v[pos];
	memmove(p + 1, p, (peers->n - pos) * sizeof(*p));
	peers->n++;
	memset(p, 0, sizeof(*p));
	p->nodeid = nodeid;
	p->pid = pid;
	return p;
}

/* Drop the message being reassembled, if any. Returns 1 if there was one. */
static int
peer_discard_partial(struct haq_peer *p)
{
	int had = p->frag_seq != 0;

	free(p->buf);
	p->buf = NULL;
	p->frag_seq = 0;
	p->total = 0;
	p->have = 0;
	return had;
}

/*
 * A new incarnation is a new sending context (the process restarted or
 * reopened the group): its seq starts afresh, so nothing remembered about
 * the previous one applies.
 */
static void
peer_reset(struct haq_peer *p, uint64_t incarnation)
{
	peer_discard_partial(p);
	p->incarnation = incarnation;
	p->caps = 0; /* perhaps another build: it announces again */
	p->next_seq = 0;
	p->skip_seq = 0;
	p->resync = 1;
}

/*
 * Record that the message seq has been accepted (delivered, or refused as
 * oversize) and say whether messages before it were lost. next_seq 0 means
 * nothing has been seen since the last reset, so any seq is the expected
 * one. A seq of UINT64_MAX wraps next_seq to 0 and so accepts anything
 * after it; a sender never gets near that.
 */
static int
peer_consume(struct haq_peer *p, uint64_t seq)
{
	int gap = p->next_seq != 0 && seq > p->next_seq;

	p->next_seq = seq + 1;
	p->skip_seq = 0;
	return gap;
}

/*
 * Skip the rest of message seq: its further fragments are dropped silently
 * (HAQ_RX_PENDING), because the caller was already told once, with the
 * error this frame returns, that the message is lost. next_seq moves past
 * it so the message after it is not flagged as a gap: the loss has been
 * reported already.
 */
static int
peer_skip(struct haq_peer *p, uint64_t seq, int err)
{
	peer_consume(p, seq);
	p->skip_seq = seq;
	return err;
}

static int
rx_frag(struct haq_peer *p, const struct haq_wire_hdr *h,
	const uint8_t *payload, size_t plen, size_t max_msg,
	struct haq_rx *out)
{
	if (h->offset == 0) {
		/*
		 * A sender finishes one message before it starts the next,
		 * so a partial still open here can never complete.
		 */
		peer_discard_partial(p);
		p->resync = 0;
		if (h->total > max_msg) {
			return peer_skip(p, h->seq, -EMSGSIZE);
		}
		if (plen == h->total) {
			/*
			 * The whole message in one fragment: deliver it
			 * from the frame, as for a data frame.
			 */
			out->gap = peer_consume(p, h->seq);
			out->data = payload;
			out->len = plen;
			return HAQ_RX_DELIVER;
		}
		/* total <= max_msg (a size_t), so the cast is exact. */
		p->buf = malloc((size_t)h->total);
		if (!p->buf) {
			/*
			 * The rest of this message would only yield
			 * -EBADMSG: report the real cause once instead.
			 */
			return peer_skip(p, h->seq, -ENOMEM);
		}
		memcpy(p->buf, payload, plen);
		p->frag_seq = h->seq;
		p->total = (size_t)h->total;
		p->have = plen;
		return HAQ_RX_PENDING;
	}
	if (p->frag_seq == 0 && p->resync) {
		/*
		 * The rest of a message whose start this receiver did not
		 * take: begun before we saw the sender, or cut by a view
		 * change (the sender sends it again from the start, under the
		 * same seq, which is why nothing is consumed here). Not a
		 * fault, and nothing to deliver.
		 */
		return HAQ_RX_PENDING;
	}
	if (p->frag_seq == 0 || h->seq != p->frag_seq || h->total != p->total ||
	    h->offset != p->have) {
		peer_discard_partial(p);
		return -EBADMSG;
	}
	/* decode checked offset + plen <= total, and offset == have. */
	memcpy(p->buf + p->have, payload, plen);
	p->have += plen;
	if (p->have < p->total) {
		return HAQ_RX_PENDING;
	}
	out->gap = peer_consume(p, h->seq);
	out->owned = p->buf;
	out->data = p->buf;
	out->len = p->total;
	/* Ownership of the buffer moves to the caller. */
	p->buf = NULL;
	p->frag_seq = 0;
	p->total = 0;
	p->have = 0;
	return HAQ_RX_DELIVER;
}

int
haq__peers_rx(struct haq_peers *peers, uint32_t nodeid, uint32_t pid,
	      const void *frame, size_t len, size_t max_msg, struct haq_rx *out)
{
	struct haq_wire_hdr h;
	struct haq_peer *p;
	const uint8_t *payload;
	size_t plen;
	size_t pos;
	int hdr_len;

	out->data = NULL;
	out->len = 0;
	out->owned = NULL;
	out->seq = 0;
	out->count = 1;
	out->flags = 0;
	out->gap = 0;

	/*
	 * Hot path: the next message of the last sender, in one data frame.
	 * Exactly what the full path below would accept and deliver (header
	 * valid, same incarnation, the expected seq, nothing in progress).
	 */
	if (len > HAQ_WIRE_HDR_LEN && peers->last < peers->n) {
		const uint8_t *f = frame;

		p = &peers->v[peers->last];
		if (p->nodeid == nodeid && p->pid == pid && p->frag_seq == 0 &&
		    p->next_seq != 0 && haq__le64_load(f) == DATA_WORD0 &&
		    haq__le64_load(f + 8) == p->incarnation &&
		    haq__le64_load(f + 16) == p->next_seq &&
		    len - HAQ_WIRE_HDR_LEN <= max_msg) {
			out->data = f + HAQ_WIRE_HDR_LEN;
			out->len = len - HAQ_WIRE_HDR_LEN;
			out->seq = p->next_seq++;
			p->skip_seq = 0;
			p->resync = 0;
			return HAQ_RX_DELIVER;
		}
	}

	/*
	 * A malformed frame leaves every state untouched, the peer table
	 * included.
	 */
	hdr_len = haq__wire_decode(frame, len, &h);
	if (hdr_len < 0) {
		return hdr_len;
	}
	payload = (const uint8_t *)frame + hdr_len;
	plen = len - (size_t)hdr_len;
	if (h.type == HAQ_WIRE_BUNDLE) {
		/* Whole or not at all, before any state is touched. */
		long n = haq__bundle_check(payload, plen);

		if (n < 0 || (uint64_t)n - 1 > UINT64_MAX - h.seq) {
			return -EBADMSG;
		}
		out->count = (size_t)n;
	}

	/* Senders come in runs: try the last one before searching. */
	if (peers->last < peers->n &&
	    peers->v[peers->last].nodeid == nodeid &&
	    peers->v[peers->last].pid == pid) {
		p = &peers->v[peers->last];
		if (p->incarnation != h.incarnation) {
			peer_reset(p, h.incarnation);
		}
	} else if (peers_find(peers, nodeid, pid, &pos)) {
		peers->last = pos;
		p = &peers->v[pos];
		if (p->incarnation != h.incarnation) {
			peer_reset(p, h.incarnation);
		}
	} else {
		p = peers_insert(peers, pos, nodeid, pid);
		if (!p) {
			return -ENOMEM;
		}
		p->incarnation = h.incarnation;
		p->resync = 1;
	}
	out->seq = h.seq;
	out->flags = h.flags;

	/*
	 * Checked before the duplicate test: next_seq is already past a
	 * skipped message, yet its remaining fragments are not duplicates.
	 */
	if (h.type == HAQ_WIRE_FRAG && p->skip_seq != 0 &&
	    h.seq == p->skip_seq) {
		return HAQ_RX_PENDING;
	}
	if (h.type == HAQ_WIRE_CONTROL) {
		/*
		 * libhaq's own announcements: idempotent, sent between
		 * messages, outside the message sequence.
		 */
		out->data = payload;
		out->len = plen;
		return HAQ_RX_CONTROL;
	}
	if (p->next_seq != 0 && h.seq < p->next_seq) {
		out->count = 1;
		return -EALREADY;
	}
	if (h.type == HAQ_WIRE_FRAG) {
		return rx_frag(p, &h, payload, plen, max_msg, out);
	}

	/*
	 * Hot path: a whole message in one frame, delivered in place. A
	 * partial still open can never complete, since the sender has moved
	 * on to another message.
	 */
	if (p->frag_seq != 0) {
		peer_discard_partial(p);
	}
	p->resync = 0;
	if (h.type == HAQ_WIRE_BUNDLE) {
		out->gap = p->next_seq != 0 && h.seq > p->next_seq;
		peer_consume(p, h.seq + (out->count - 1));
		out->data = payload;
		out->len = plen;
		return HAQ_RX_BUNDLE;
	}
	/*
	 * max_msg is the application's limit; control frames are libhaq's
	 * own and small.
	 */
	if (h.type == HAQ_WIRE_DATA && plen > max_msg) {
		peer_consume(p, h.seq);
		return -EMSGSIZE;
	}
	out->gap = peer_consume(p, h.seq);
	out->data = payload;
	out->len = plen;
	return h.type == HAQ_WIRE_DATA ? HAQ_RX_DELIVER : HAQ_RX_CONTROL;
}

int
haq__peers_remove(struct haq_peers *peers, uint32_t nodeid, uint32_t pid)
{
	struct haq_peer *p;
	size_t pos;
	int had;

	if (!peers_find(peers, nodeid, pid, &pos)) {
		return 0;
	}
	p = &peers->v[pos];
	had = peer_discard_partial(p);
	memmove(p, p + 1, (peers->n - pos - 1) * sizeof(*p));
	peers->n--;
	return had;
}

struct haq_peer *
haq__peers_get(struct haq_peers *peers, uint32_t nodeid, uint32_t pid)
{
	size_t pos;

	if (peers->last < peers->n && peers->v[peers->last].nodeid == nodeid &&
	    peers->v[peers->last].pid == pid) {
		return &peers->v[peers->last];
	}
	return peers_find(peers, nodeid, pid, &pos) ? &peers->v[pos] : NULL;
}

uint64_t
haq__peers_partial(struct haq_peers *peers, uint32_t nodeid, uint32_t pid)
{
	size_t pos;

	if (!peers_find(peers, nodeid, pid, &pos)) {
		return 0;
	}
	return peers->v[pos].frag_seq;
}

size_t
haq__peers_partial_have(struct haq_peers *peers, uint32_t nodeid,
			uint32_t pid, uint64_t seq)
{
	size_t pos;

	if (!peers_find(peers, nodeid, pid, &pos) ||
	    peers->v[pos].frag_seq != seq) {
		return 0;
	}
	return peers->v[pos].have;
}

size_t
haq__peers_drop_partials(struct haq_peers *peers)
{
	size_t dropped = 0;

	for (size_t i = 0; i < peers->n; i++) {
		dropped += (size_t)peer_discard_partial(&peers->v[i]);
		peers->v[i].resync = 1;
	}
	return dropped;
}

void
haq__peers_free(struct haq_peers *peers)
{
	size_t i;

	for (i = 0; i < peers->n; i++) {
		free(peers->v[i].buf);
	}
	free(peers->v);
	peers->v = NULL;
	peers->n = 0;
	peers->cap = 0;
}
