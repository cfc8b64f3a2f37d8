/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the bundle decoder (libhaq/bundle.c) and bundle
 * frames in the per-sender receive state (libhaq/wire.c).
 *
 * Input: byte 0 picks the first seq of the frame (its low 2 bits: 1, 2,
 * 3 or UINT64_MAX - 2) and bit 2 whether the sender sent a data frame of
 * seq 1 first; the rest is the bundle payload. Each payload is copied
 * into a buffer of exactly its length so that the sanitizers catch any
 * read past its end.
 *
 * Checked besides memory safety: the decoder accepts exactly what the
 * walk covers (the count of haq__bundle_check() is the number of records
 * haq__bundle_next() yields, and they cover the payload); an accepted
 * payload encodes back to the same bytes; the receive state delivers a
 * bundle only when the decoder accepts it, with the same count, in place,
 * consuming its seqs (the next data frame after it is not a gap).
 *
 * clang -g -O1 -fsanitize=fuzzer,address,undefined -I libhaq \
 *	tests/hardening/fuzz_bundle.c libhaq/bundle.c libhaq/wire.c
 */
#include "bundle.h"
#include "wire.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_MSG (1024u * 1024u)
#define INC 0x0123456789abcdefull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;

/* Walk the payload; return the records seen, and the bytes they cover. */
static long
walk(const uint8_t *p, size_t len, size_t *covered, uint8_t *copy)
{
	struct haq_bundle_iter it;
	const uint8_t *msg;
	size_t mlen;
	long n = 0;
	size_t off = 0;

	haq__bundle_iter_init(&it, p, len);
	while (haq__bundle_next(&it, &msg, &mlen)) {
		uint8_t sum = 0;

		if (mlen == 0 || msg < p || msg + mlen > p + len) {
			__builtin_trap();
		}
		for (size_t i = 0; i < mlen; i++) {
			sum ^= msg[i];
		}
		sink = sum;
		if (copy) {
			off += haq__bundle_put(copy + off, msg, mlen);
		}
		n++;
	}
	*covered = len - it.left;
	if (copy && off != *covered) {
		__builtin_trap();
	}
	return n;
}

static size_t
frame_hdr(uint8_t *buf, uint8_t type, uint64_t seq)
{
	struct haq_wire_hdr h = {
		.type = type,
		.incarnation = INC,
		.seq = seq,
	};

	return haq__wire_encode(&h, buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t firsts[4] = {1, 2, 3, UINT64_MAX - 2};
	struct haq_peers peers = {0};
	struct haq_rx rx;
	uint8_t *payload;
	uint8_t *copy;
	uint8_t *frame;
	size_t plen;
	size_t covered;
	uint64_t first;
	long count;
	long walked;
	int r;

	if (size < 1) {
		return 0;
	}
	first = firsts[data[0] & 3u];
	plen = size - 1;
	payload = malloc(plen ? plen : 1);
	copy = malloc(plen ? plen : 1);
	/* Room for the data frames of one byte too. */
	frame = malloc(HAQ_WIRE_HDR_LEN + plen + 1);
	if (!payload || !copy || !frame) {
		free(payload);
		free(copy);
		free(frame);
		return 0;
	}
	memcpy(payload, data + 1, plen);

	/* The codec alone. */
	count = haq__bundle_check(payload, plen);
	if (count < 0) {
		if (count != -EBADMSG) {
			__builtin_trap();
		}
		walked = walk(payload, plen, &covered, NULL);
		/* A refused payload is one the walk cannot cover. */
		if (plen > 0 && covered == plen) {
			__builtin_trap();
		}
		(void)walked;
	} else {
		walked = walk(payload, plen, &covered, copy);
		if (walked != count || covered != plen || count < 1 ||
		    memcmp(copy, payload, plen) != 0) {
			__builtin_trap();
		}
	}

	/* In a frame, through the receive state. */
	if (data[0] & 4u) {
		size_t hl = frame_hdr(frame, HAQ_WIRE_DATA, 1);

		frame[hl] = 'x';
		if (haq__peers_rx(&peers, 1, 10, frame, hl + 1, FUZZ_MAX_MSG,
				  &rx) != HAQ_RX_DELIVER) {
			__builtin_trap();
		}
	}
	memcpy(frame + frame_hdr(frame, HAQ_WIRE_BUNDLE, first), payload,
	       plen);
	r = haq__peers_rx(&peers, 1, 10, frame, HAQ_WIRE_HDR_LEN + plen,
			  FUZZ_MAX_MSG, &rx);
	if (r == HAQ_RX_BUNDLE) {
		if (count < 1 || rx.count != (size_t)count ||
		    rx.seq != first || rx.owned ||
		    rx.data != frame + HAQ_WIRE_HDR_LEN || rx.len != plen ||
		    (uint64_t)count - 1 > UINT64_MAX - first) {
			__builtin_trap();
		}
		/* Its seqs are consumed: the next one is no gap. */
		if (first + (uint64_t)count != 0) {
			size_t hl = frame_hdr(frame, HAQ_WIRE_DATA,
					      first + (uint64_t)count);

			frame[hl] = 'y';
			r = haq__peers_rx(&peers, 1, 10, frame, hl + 1,
					  FUZZ_MAX_MSG, &rx);
			if (r != HAQ_RX_DELIVER || rx.gap) {
				__builtin_trap();
			}
		}
	} else if (r == -EBADMSG) {
		/* Refused: the decoder refused it, or its seqs overflow. */
		if (count >= 1 && (uint64_t)count - 1 <= UINT64_MAX - first) {
			__builtin_trap();
		}
	} else if (r == -EALREADY) {
		/* Seq 1 again after the data frame of seq 1. */
		if (!(data[0] & 4u) || first != 1 || count < 1) {
			__builtin_trap();
		}
	} else {
		__builtin_trap();
	}
	haq__peers_free(&peers);
	free(payload);
	free(copy);
	free(frame);
	return 0;
}
