/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the decoder of compressed messages
 * (libhaq/compress.c): the input is a compressed payload as another
 * process could send it (codec byte, stated length, lz4 block), checked
 * against a maximum message size of 1 MiB and decompressed into a buffer
 * of exactly the stated length, so that the sanitizers catch any write
 * past it. Then the input itself is compressed and must come back
 * unchanged (when it compresses at all), and compressing it into exactly
 * the room it takes gives the same payload, a byte less none.
 *
 * clang -g -O1 -fsanitize=fuzzer,address,undefined -I libhaq \
 *	tests/hardening/fuzz_compress.c libhaq/compress.c -llz4
 */
#include "compress.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_MSG (1024u * 1024u)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *in = malloc(size ? size : 1);
	size_t n = 0;
	int rc;

	if (!in) {
		return 0;
	}
	memcpy(in, data, size);
	rc = haq__decompress_check(in, size, FUZZ_MAX_MSG, &n);
	if (rc == 0) {
		uint8_t *out;

		if (n == 0 || n > FUZZ_MAX_MSG) {
			__builtin_trap();
		}
		out = malloc(n);
		if (out) {
			rc = haq__decompress(in, size, out, n);
			if (rc == 0) {
				uint8_t sum = 0;

				for (size_t i = 0; i < n; i++) {
					sum ^= out[i];
				}
				sink = sum;
			} else if (rc != -EBADMSG) {
				__builtin_trap();
			}
			free(out);
		}
	} else if (rc != -EBADMSG && rc != -EMSGSIZE) {
		__builtin_trap();
	}

	/* The input as a message: compressed, it must come back whole. */
	if (size > 0) {
		size_t bound = haq__compress_bound(size);
		uint8_t *c = malloc(bound);
		uint8_t *back = malloc(size);
		size_t clen = c ? haq__compress(in, size, c, bound) : 0;

		if (clen) {
			if (clen > size ||
			    haq__decompress_check(c, clen, size, &n) != 0 ||
			    n != size || !back ||
			    haq__decompress(c, clen, back, n) != 0 ||
			    memcmp(back, in, size) != 0) {
				__builtin_trap();
			}
			/*
			 * Into exactly as much room (a state transfer frame
			 * has no more than its data's size): the same bytes;
			 * a byte less: nothing, and nothing written past it
			 * (a buffer of exactly that size for the sanitizer).
			 */
			uint8_t *d = malloc(clen);

			if (d && (haq__compress(in, size, d, clen) != clen ||
				  memcmp(d, c, clen) != 0 ||
				  haq__compress(in, size, d, clen - 1) != 0)) {
				__builtin_trap();
			}
			free(d);
		}
		free(c);
		free(back);
	}
	free(in);
	return 0;
}
