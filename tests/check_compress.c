/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the compression of large messages (libhaq/compress.c):
 * round trips, data that does not compress, and compressed payloads
 * another process could send: lengths it claims, corrupt blocks, unknown
 * codecs.
 */
#include "compress.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"

/* State-like text: JSON records with some variety. */
static size_t
json(char *b, size_t cap)
{
	size_t n = 0;
	unsigned int id = 0;

	while (n + 200 < cap) {
		n += (size_t)snprintf(b + n, cap - n,
				      "{\"id\":%u,\"node\":\"node%u\",\"state\":"
				      "\"%s\",\"score\":%u},",
				      id, id % 7, id % 3 ? "active" : "standby",
				      (id * 2654435761u) % 1000);
		id++;
	}
	memset(b + n, ' ', cap - n);
	return cap;
}

static void
random_fill(uint8_t *b, size_t n)
{
	uint64_t x = 88172645463325252ull;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b[i] = (uint8_t)x;
	}
}

START_TEST(test_roundtrip_json)
{
	const size_t len = 1u << 20;
	char *src = malloc(len);
	size_t bound = haq__compress_bound(len);
	uint8_t *c = malloc(bound);
	uint8_t *back = malloc(len);
	uint8_t scratch[HAQ_COMPRESS_SAMPLE + 1024];
	size_t clen;
	size_t n = 0;

	ck_assert(src && c && back);
	ck_assert_uint_gt(bound, len);
	json(src, len);
	ck_assert(haq__compress_worth(src, len, scratch));
	clen = haq__compress(src, len, c, bound);
	ck_assert_uint_gt(clen, HAQ_COMPRESS_HDR_LEN);
	ck_assert_uint_lt(clen, len / 2);
	ck_assert_uint_eq(c[0], HAQ_CODEC_LZ4);
	ck_assert_int_eq(haq__decompress_check(c, clen, len, &n), 0);
	ck_assert_uint_eq(n, len);
	ck_assert_int_eq(haq__decompress(c, clen, back, n), 0);
	ck_assert(memcmp(src, back, len) == 0);
	/* A receiver whose maximum is below the stated size refuses it. */
	ck_assert_int_eq(haq__decompress_check(c, clen, len - 1, &n),
			 -EMSGSIZE);
	/*
	 * A capacity below the bound (a state transfer frame compresses
	 * into one frame): the same payload when it fits, else nothing,
	 * and never a byte written past it.
	 */
	{
		uint8_t *d = malloc(clen + 64);

		ck_assert_ptr_nonnull(d);
		memset(d, 0xa5, clen + 64);
		ck_assert_uint_eq(haq__compress(src, len, d, clen), clen);
		ck_assert(memcmp(d, c, clen) == 0);
		for (size_t i = clen; i < clen + 64; i++) {
			ck_assert_uint_eq(d[i], 0xa5);
		}
		memset(d, 0xa5, clen + 64);
		ck_assert_uint_eq(haq__compress(src, len, d, clen - 1), 0);
		for (size_t i = clen - 1; i < clen + 64; i++) {
			ck_assert_uint_eq(d[i], 0xa5);
		}
		ck_assert_uint_eq(
			haq__compress(src, len, d, HAQ_COMPRESS_HDR_LEN), 0);
		free(d);
	}
	free(src);
	free(c);
	free(back);
}
END_TEST

START_TEST(test_incompressible_skipped)
{
	const size_t len = 256u * 1024u;
	uint8_t *src = malloc(len);
	size_t bound = haq__compress_bound(len);
	uint8_t *c = malloc(bound);
	uint8_t scratch[HAQ_COMPRESS_SAMPLE + 1024];

	ck_assert(src && c);
	random_fill(src, len);
	ck_assert(!haq__compress_worth(src, len, scratch));
	ck_assert_uint_eq(haq__compress(src, len, c, bound), 0);
	/* Too small a buffer: not compressed, nothing written past it. */
	json((char *)src, len);
	ck_assert_uint_eq(haq__compress(src, len, c, 100), 0);
	ck_assert_uint_eq(haq__compress_bound(0), 0);
	free(src);
	free(c);
}
END_TEST

START_TEST(test_bad_payloads_refused)
{
	const size_t len = 64u * 1024u;
	char *src = malloc(len);
	size_t bound = haq__compress_bound(len);
	uint8_t *c = malloc(bound);
	uint8_t *back = malloc(len);
	uint8_t small[32];
	size_t clen;
	size_t n;

	ck_assert(src && c && back);
	json(src, len);
	clen = haq__compress(src, len, c, bound);
	ck_assert_uint_gt(clen, 0);
	/* Too short, unknown codec, zero length. */
	ck_assert_int_eq(haq__decompress_check(c, HAQ_COMPRESS_HDR_LEN,
					       len, &n),
			 -EBADMSG);
	c[0] = 2;
	ck_assert_int_eq(haq__decompress_check(c, clen, len, &n), -EBADMSG);
	c[0] = HAQ_CODEC_LZ4;
	memset(small, 0, sizeof(small));
	small[0] = HAQ_CODEC_LZ4;
	ck_assert_int_eq(haq__decompress_check(small, sizeof(small), len, &n),
			 -EBADMSG);
	/* A huge claimed size: refused before any allocation. */
	haq__put_le64(small + 1, UINT64_MAX);
	ck_assert_int_eq(
		haq__decompress_check(small, sizeof(small), SIZE_MAX / 2, &n),
		-EMSGSIZE);
	/* A size far beyond what the block can expand to. */
	haq__put_le64(small + 1, 1u << 20);
	ck_assert_int_eq(
		haq__decompress_check(small, sizeof(small), 1u << 30, &n),
		-EBADMSG);
	/* A claimed size that the block does not make exactly. */
	haq__put_le64(c + 1, len - 1);
	ck_assert_int_eq(haq__decompress_check(c, clen, len, &n), 0);
	ck_assert_int_eq(haq__decompress(c, clen, back, n), -EBADMSG);
	haq__put_le64(c + 1, len);
	/* A corrupt block (cut short): refused, no overrun. */
	ck_assert_int_eq(haq__decompress_check(c, clen / 2, len, &n), 0);
	ck_assert_int_eq(haq__decompress(c, clen / 2, back, n), -EBADMSG);
	free(src);
	free(c);
	free(back);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("compress");
	TCase *tc = tcase_create("compress");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_roundtrip_json);
	tcase_add_test(tc, test_incompressible_skipped);
	tcase_add_test(tc, test_bad_payloads_refused);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
