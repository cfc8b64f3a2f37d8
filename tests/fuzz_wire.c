/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the frame decoder and the per-sender receive state.
 *
 * The input is a sequence of records fed to one struct haq_peers:
 *   byte 0     bits 0-1: sender index 0..3; bit 7: remove that sender
 *              instead (no length or frame follows)
 *   bytes 1-2  frame length, little-endian (cut to what is left)
 *   ...        the frame
 * Each frame is copied into a buffer of exactly its length so that the
 * sanitizers catch any read past its end.
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
	struct haq_rx rx;
	size_t pos = 0;

	while (pos < size) {
		uint8_t op = data[pos++];
		/* Nodeids and pids that sort differently from the index. */
		uint32_t nodeid = 4 - (op & 3u) / 2;
		uint32_t pid = 1000 + (op & 1u);
		size_t len;
		uint8_t *frame;
		int r;

		if (op & 0x80) {
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
		r = haq__peers_rx(&peers, nodeid, pid, frame, len, FUZZ_MAX_MSG,
				  &rx);
		check_rx(r, frame, len, &rx);
		free(rx.owned);
		free(frame);
		check_peers(&peers);
	}
	haq__peers_free(&peers);
	return 0;
}
