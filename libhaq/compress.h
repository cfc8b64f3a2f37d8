/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Compression of large messages (compress.c): the payload of a message
 * sent with the HAQ_WIRE_F_COMPRESSED flag (wire.h). Pure logic around
 * liblz4's block format: no corosync, unit-tested and fuzzed alone.
 *
 * Payload layout (all integers little-endian):
 *   off  size  field
 *     0     1  codec     enum haq_codec (1: lz4 block)
 *     1     8  length    the message's length once decompressed
 *     9     -  the compressed block
 * A receiver believes nothing of it: the length must be within its own
 * maximum message size before anything is allocated, and the block must
 * decompress to exactly that length.
 */
#ifndef HAQ_COMPRESS_H
#define HAQ_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum haq_codec {
	HAQ_CODEC_LZ4 = 1,
};

#define HAQ_COMPRESS_HDR_LEN 9

/*
 * Bytes compressing len bytes may need (header included), or 0 when len
 * is beyond what the codec takes (then the message goes uncompressed).
 */
size_t haq__compress_bound(size_t len);

/*
 * Whether len bytes at src look worth compressing: a sample from their
 * start compresses to at most 7/8 of its size. scratch has room for
 * haq__compress_bound(HAQ_COMPRESS_SAMPLE) bytes.
 */
#define HAQ_COMPRESS_SAMPLE (64u * 1024u)
bool haq__compress_worth(const void *src, size_t len, uint8_t *scratch);

/*
 * Compress len bytes of src into dst (cap bytes; haq__compress_bound(len)
 * always suffices, less is allowed: a payload that does not fit is 0).
 * Returns the payload's length, or 0 when it would not save at least 1/16
 * of len or does not fit in cap (send the data as it is).
 */
size_t haq__compress(const void *src, size_t len, uint8_t *dst, size_t cap);

/*
 * Check the header of a compressed payload of len bytes that another
 * process sent: a known codec, a block, and a length 1..max. Returns 0
 * with *out_len set, -EBADMSG (malformed, unknown codec) or -EMSGSIZE
 * (longer than max once decompressed).
 */
int haq__decompress_check(const uint8_t *p, size_t len, size_t max,
			  size_t *out_len);

/*
 * Decompress a payload that haq__decompress_check() accepted into dst,
 * out_len bytes. 0, or -EBADMSG when the block is corrupt or does not
 * make exactly out_len bytes.
 */
int haq__decompress(const uint8_t *p, size_t len, uint8_t *dst,
		    size_t out_len);

#endif /* HAQ_COMPRESS_H */
