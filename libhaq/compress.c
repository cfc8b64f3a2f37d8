/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Compression of large messages with liblz4's block format (layout in
 * compress.h). The decoder reads bytes another process sent: the length
 * it claims is checked against the receiver's own limit before anything
 * is allocated, and liblz4's safe decoder never writes past the buffer.
 */
#include "compress.h"

#include <errno.h>
#include <string.h>

#include <lz4.h>

#include "le.h"

size_t
haq__compress_bound(size_t len)
{
	if (len == 0 || len > (size_t)LZ4_MAX_INPUT_SIZE) {
		return 0;
	}
	return HAQ_COMPRESS_HDR_LEN + (size_t)LZ4_compressBound((int)len);
}

bool
haq__compress_worth(const void *src, size_t len, uint8_t *scratch)
{
	size_t n = len < HAQ_COMPRESS_SAMPLE ? len : HAQ_COMPRESS_SAMPLE;
	int c;

	if (n == 0 || len > (size_t)LZ4_MAX_INPUT_SIZE) {
		return false;
	}
	c = LZ4_compress_default(src, (char *)scratch, (int)n,
				 LZ4_compressBound((int)n));
	return c > 0 && (size_t)c <= n - n / 8;
}

size_t
haq__compress(const void *src, size_t len, uint8_t *dst, size_t cap)
{
	size_t bound = haq__compress_bound(len);
	int c;

	if (!bound || cap <= HAQ_COMPRESS_HDR_LEN) {
		return 0;
	}
	if (cap > bound) {
		cap = bound;
	}
	/* Below the bound lz4 stops (0) when the block does not fit. */
	c = LZ4_compress_default(src, (char *)dst + HAQ_COMPRESS_HDR_LEN,
				 (int)len, (int)(cap - HAQ_COMPRESS_HDR_LEN));
	if (c <= 0 || HAQ_COMPRESS_HDR_LEN + (size_t)c > len - len / 16) {
		return 0;
	}
	dst[0] = HAQ_CODEC_LZ4;
	haq__put_le64(dst + 1, len);
	return HAQ_COMPRESS_HDR_LEN + (size_t)c;
}

int
haq__decompress_check(const uint8_t *p, size_t len, size_t max,
		      size_t *out_len)
{
	uint64_t n;

	if (len <= HAQ_COMPRESS_HDR_LEN || p[0] != HAQ_CODEC_LZ4) {
		return -EBADMSG;
	}
	n = haq__get_le64(p + 1);
	if (n == 0) {
		return -EBADMSG;
	}
	if (n > max || n > (uint64_t)LZ4_MAX_INPUT_SIZE) {
		return -EMSGSIZE;
	}
	/*
	 * lz4 expands at most 255 times (one literal-length byte of 255
	 * per 255 bytes of a run): a block far too short for the length
	 * it claims is refused before the allocation.
	 */
	if ((len - HAQ_COMPRESS_HDR_LEN) > (size_t)INT32_MAX ||
	    n / 255 > len - HAQ_COMPRESS_HDR_LEN + 16) {
		return -EBADMSG;
	}
	*out_len = (size_t)n;
	return 0;
}

int
haq__decompress(const uint8_t *p, size_t len, uint8_t *dst, size_t out_len)
{
	int d = LZ4_decompress_safe((const char *)p + HAQ_COMPRESS_HDR_LEN,
				    (char *)dst,
				    (int)(len - HAQ_COMPRESS_HDR_LEN),
				    (int)out_len);

	return d >= 0 && (size_t)d == out_len ? 0 : -EBADMSG;
}
