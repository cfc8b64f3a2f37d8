/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The bundle codec (bundle.c): several small messages of one sender, with
 * consecutive seqs, in the payload of one frame of type HAQ_WIRE_BUNDLE
 * (wire.h). Pure logic: no corosync, unit-tested and fuzzed alone.
 *
 * Payload layout: one record per message, in seq order, and nothing else:
 *   varint  len     the message's length, 1..HAQ_BUNDLE_LEN_MAX
 *   len     bytes   the message
 * The varint is LEB128 (7 bits a byte, low bits first, high bit set on
 * every byte but the last), at most HAQ_BUNDLE_VARINT_MAX bytes, and
 * canonical (no useless trailing zero groups), so that every payload the
 * decoder accepts encodes back to the same bytes. The frame header's seq
 * is the first message's; the i-th record is message seq + i. A 64-byte
 * message costs one byte of framing instead of a frame header.
 *
 * The count is not written: the decoder counts the records, and a
 * payload is accepted only when its records cover it exactly.
 */
#ifndef HAQ_BUNDLE_H
#define HAQ_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest varint: 4 bytes carry 28 bits, more than a frame holds. */
#define HAQ_BUNDLE_VARINT_MAX 4
/* Largest message length a record may carry (2^28 - 1). */
#define HAQ_BUNDLE_LEN_MAX ((1u << 28) - 1u)

/* Bytes the record of a message of len bytes takes (len <= LEN_MAX). */
static inline size_t
haq__bundle_record_len(size_t len)
{
	return len + (len < (1u << 7)    ? 1
		      : len < (1u << 14) ? 2
		      : len < (1u << 21) ? 3
					 : 4);
}

/*
 * Write the record of msg (len 1..HAQ_BUNDLE_LEN_MAX bytes) at dst, which
 * has room for haq__bundle_record_len(len) bytes. Returns the bytes
 * written.
 */
size_t haq__bundle_put(uint8_t *dst, const void *msg, size_t len);

/*
 * Write only the length of a record for a message of len bytes (1..
 * HAQ_BUNDLE_LEN_MAX) at dst, which has room for HAQ_BUNDLE_VARINT_MAX
 * bytes; the message follows it (gathered from elsewhere). Returns the
 * bytes written: haq__bundle_record_len(len) - len.
 */
size_t haq__bundle_put_len(uint8_t *dst, size_t len);

/*
 * Check a bundle payload of len bytes that another process sent: every
 * record whole, every length 1..HAQ_BUNDLE_LEN_MAX and canonical, the
 * records covering the payload exactly, at least one record. Returns the
 * number of records (>= 1), or -EBADMSG.
 */
long haq__bundle_check(const uint8_t *p, size_t len);

/* Walking a checked payload, one message at a time. */
struct haq_bundle_iter {
	const uint8_t *p;
	size_t left;
};

static inline void
haq__bundle_iter_init(struct haq_bundle_iter *it, const uint8_t *p,
		      size_t len)
{
	it->p = p;
	it->left = len;
}

/*
 * The next message of the payload: true with *msg and *len set, false at
 * the end (or at anything haq__bundle_check() would refuse: the walk
 * never reads past the payload, whatever it holds).
 */
bool haq__bundle_next(struct haq_bundle_iter *it, const uint8_t **msg,
		      size_t *len);

#endif /* HAQ_BUNDLE_H */
