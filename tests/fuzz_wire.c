/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the frame decoder and the per-sender receive state.
 *
 * The input is a sequence of records fed to one struct haq_peers:
 *   byte 0     bits 0-1: sender index 0..3; bit 7: remove that sender
 *              instead, or with bit 6 too, a view change that drops every
 *              partial message (no length or frame follows)
 *   bytes 1-2  frame length, little-endian (cut to what is left)
 *   ...        the frame
 * Each frame is copied into a buffer of exactly its length so that the
 * sanitizers catch any read past its end.
 *
 * Besides memory safety and the invariants below, a reassembled message
 * is compared with a reference built here from the fragments the receiver
 * accepted (struct ref): the same bytes, at the offsets they were sent
 * for, covering the whole message exactly once.
 *
 * clang -g -O1 -fsanitize=fuzzer,address,undefined -I libhaq \
 *	tests/fuzz_wire.c libhaq/wire.c
 */
#include "wire.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_MSG (1024u * 1024u)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reading every delivered byte lets ASan check the whole range. */
static volatile uint8_t sink;

#define NSENDERS 4

/* The fragments of the message a sender has in progress, as accepted. */
struct ref {
	uint64_t incarnation;
	uint64_t seq; /* 0: none in progress */
	uint64_t total;
	uint8_t *buf;  /* total bytes */
	uint64_t have; /* contiguous bytes from offset 0 */
};

static void
ref_clear(struct ref *r)
{
	free(r->buf);
	r->buf = NULL;
	r->seq = 0;
	r->total = 0;
	r->have = 0;
}

/*
 * Follow one frame of a sender. Only what the receiver accepted counts:
 * a first fragment it absorbed (PENDING) starts a message, a continuation
 * it absorbed or completed with (PENDING, DELIVER) extends it when it is
 * the next piece. Anything that makes the receiver drop its partial
 * message (a malformed continuation, a data frame, a new incarnation, a
 * new first fragment) drops the reference too.
 */
static void
ref_follow(struct ref *r, const uint8_t *frame, size_t len, int result,
	   uint64_t skip_seq)
{
	struct haq_wire_hdr h;
	int hl = haq__wire_decode(frame, len, &h);
	size_t plen;

	if (hl < 0) {
		return; /* the receiver ignores it entirely */
	}
	plen = len - (size_t)hl;
	if (h.type == HAQ_WIRE_BUNDLE && result == -EBADMSG) {
		/*
		 * A bundle is checked whole before any state is touched, the
		 * sender's incarnation included: a malformed one leaves the
		 * message in progress open (tests/fuzz-corpus/wire/
		 * regress-crash-525f16ef7423, -fe879c4746ea).
		 */
		return;
	}
	if (h.incarnation != r->incarnation) {
		ref_clear(r);
		r->incarnation = h.incarnation;
	}
	if (h.type == HAQ_WIRE_CONTROL || result == -EALREADY) {
		return; /* no effect on a message in progress */
	}

	if (h.type == HAQ_WIRE_FRAG && skip_seq != 0 && h.seq == skip_seq) {
		return; /* the rest of a message being skipped: ignored */
	}
	if (h.type != HAQ_WIRE_FRAG) {
		ref_clear(r);
		return;
	}
	if (h.offset == 0) {
		ref_clear(r);
		if (result != HAQ_RX_PENDING || h.total > FUZZ_MAX_MSG) {
			return; /* whole in one piece, or refused */
		}
		r->buf = malloc((size_t)h.total);
		if (!r->buf) {
			return;
		}
		r->seq = h.seq;
		r->total = h.total;
		memcpy(r->buf, frame + hl, plen);
		r->have = plen;
		return;
	}
	if (result != HAQ_RX_PENDING && result != HAQ_RX_DELIVER) {
		ref_clear(r);
		return;
	}
	if (r->seq == h.seq && r->total == h.total && r->have == h.offset &&
	    plen <= r->total - r->have) {
		memcpy(r->buf + r->have, frame + hl, plen);
		r->have += plen;
	}
}

/*
 * The seq of the message the receiver is skipping for a sender (state
 * kept before the frame): the model takes that one decision from the
 * receiver rather than duplicating its rules for it.
 */
static uint64_t
skip_seq_of(const struct haq_peers *peers, const uint8_t *frame, size_t len,
	    uint32_t nodeid, uint32_t pid)
{
	struct haq_wire_hdr h;

	if (haq__wire_decode(frame, len, &h) < 0) {
		return 0;
	}
	for (size_t i = 0; i < peers->n; i++) {
		const struct haq_peer *p = &peers->v[i];

		if (p->nodeid == nodeid && p->pid == pid) {
			return p->incarnation == h.incarnation ? p->skip_seq
							       : 0;
		}
	}
	return 0;
}

/* A reassembled delivery must be exactly the reference. */
static void
ref_check(struct ref *r, const struct haq_rx *rx)
{
	if (!rx->owned) {
		return;
	}
	if (r->seq != rx->seq || r->total != rx->len || r->have != r->total ||
	    memcmp(r->buf, rx->data, rx->len) != 0) {
		__builtin_trap();
	}
	ref_clear(r);
}

static void
check_rx(int r, const uint8_t *frame, size_t len, const struct haq_rx *rx)
{
	const uint8_t *d = rx->data;
	uint8_t sum = 0;
	size_t i;

	switch (r) {
	case HAQ_RX_DELIVER:
	case HAQ_RX_CONTROL:
		if (!d || rx->len == 0 || rx->seq == 0) {
			__builtin_trap();
		}
		if (rx->owned) {
			if (rx->owned != rx->data || r != HAQ_RX_DELIVER) {
				__builtin_trap();
			}
		} else if (d < frame || rx->len > len ||
			   d + rx->len != frame + len) {
			/* In-place delivery is the tail of the frame. */
			__builtin_trap();
		}
		if (r == HAQ_RX_DELIVER && rx->len > FUZZ_MAX_MSG) {
			__builtin_trap();
		}
		for (i = 0; i < rx->len; i++) {
			sum ^= d[i];
		}
		sink = sum;
		break;
	case HAQ_RX_BUNDLE:
		/* Checked whole, delivered in place: the frame's payload. */
		if (!d || rx->owned || rx->count == 0 || rx->seq == 0 ||
		    d < frame || rx->len > len || d + rx->len != frame + len) {
			__builtin_trap();
		}
		break;
	case HAQ_RX_PENDING:
		if (rx->owned || rx->data) {
			__builtin_trap();
		}
		break;
	case -EBADMSG:
	case -EMSGSIZE:
	case -EALREADY:
	case -ENOMEM:
		if (rx->owned || rx->data) {
			__builtin_trap();
		}
		break;
	default:
		__builtin_trap();
	}
}

/* A header that decodes must encode back to the same bytes. */
static void
check_codec(const uint8_t *frame, size_t len)
{
	uint8_t buf[HAQ_WIRE_FRAG_HDR_LEN];
	struct haq_wire_hdr h;
	int hl = haq__wire_decode(frame, len, &h);

	if (hl < 0) {
		if (hl != -EBADMSG) {
			__builtin_trap();
		}
		return;
	}
	if ((size_t)hl >= len || haq__wire_encode(&h, buf) != (size_t)hl ||
	    memcmp(buf, frame, (size_t)hl) != 0) {
		__builtin_trap();
	}
}

static void
check_peers(const struct haq_peers *peers)
{
	size_t i;

	if (peers->n > peers->cap || peers->n > 4) {
		__builtin_trap();
	}
	for (i = 0; i < peers->n; i++) {
		const struct haq_peer *p = &peers->v[i];

		if (i > 0 && !(peers->v[i - 1].nodeid < p->nodeid ||
			       (peers->v[i - 1].nodeid == p->nodeid &&
				peers->v[i - 1].pid < p->pid))) {
			__builtin_trap();
		}
		if ((p->frag_seq != 0) != (p->buf != NULL) ||
		    p->have > p->total ||
		    (p->buf && (p->have == 0 || p->have == p->total))) {
			__builtin_trap();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct haq_peers peers = {0};
	struct ref refs[NSENDERS];
	struct haq_rx rx;
	size_t pos = 0;

	memset(refs, 0, sizeof(refs));

	while (pos < size) {
		uint8_t op = data[pos++];
		/* Nodeids and pids that sort differently from the index. */
		uint32_t nodeid = 4 - (op & 3u) / 2;
		uint32_t pid = 1000 + (op & 1u);
		size_t len;
		uint8_t *frame;
		uint64_t skip;
		int r;

		if ((op & 0xc0) == 0xc0) {
			size_t partials = 0;

			for (int i = 0; i < NSENDERS; i++) {
				partials += refs[i].seq != 0;
				ref_clear(&refs[i]);
			}
			/* The reference knows which partials were open. */
			if (haq__peers_drop_partials(&peers) != partials) {
				__builtin_trap();
			}
			check_peers(&peers);
			continue;
		}
		if (op & 0x80) {
			ref_clear(&refs[op & 3u]);
			refs[op & 3u].incarnation = 0;
			r = haq__peers_remove(&peers, nodeid, pid);
			if (r != 0 && r != 1) {
				__builtin_trap();
			}
			check_peers(&peers);
			continue;
		}
		if (size - pos < 2) {
			break;
		}
		len = (size_t)data[pos] | (size_t)data[pos + 1] << 8;
		pos += 2;
		if (len > size - pos) {
			len = size - pos;
		}
		/* malloc(0) may return NULL: keep one byte allocated. */
		frame = malloc(len ? len : 1);
		if (!frame) {
			break;
		}
		memcpy(frame, data + pos, len);
		pos += len;
		check_codec(frame, len);
		skip = skip_seq_of(&peers, frame, len, nodeid, pid);
		r = haq__peers_rx(&peers, nodeid, pid, frame, len, FUZZ_MAX_MSG,
				  &rx);
		check_rx(r, frame, len, &rx);
		ref_follow(&refs[op & 3u], frame, len, r, skip);
		if (r == HAQ_RX_DELIVER) {
			ref_check(&refs[op & 3u], &rx);
		}
		free(rx.owned);
		free(frame);
		check_peers(&peers);
	}
	haq__peers_free(&peers);
	for (int i = 0; i < NSENDERS; i++) {
		ref_clear(&refs[i]);
	}
	return 0;
}
