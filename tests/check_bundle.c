/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the bundle codec (libhaq/bundle.c) and of bundle frames
 * in the per-sender receive state (libhaq/wire.c).
 */
#include "bundle.h"
#include "wire.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define INC1 0x1122334455667788ull
#define MAX_MSG (1024u * 1024u)

static uint8_t
pattern(size_t msg, size_t i)
{
	return (uint8_t)(msg * 13 + i * 7);
}

/* Pack n messages of lens[i] pattern bytes into buf; returns the length. */
static size_t
pack(uint8_t *buf, const size_t *lens, size_t n)
{
	size_t off = 0;

	for (size_t m = 0; m < n; m++) {
		uint8_t *msg = malloc(lens[m]);

		ck_assert_ptr_nonnull(msg);
		for (size_t i = 0; i < lens[m]; i++) {
			msg[i] = pattern(m, i);
		}
		ck_assert_uint_eq(haq__bundle_put(buf + off, msg, lens[m]),
				  haq__bundle_record_len(lens[m]));
		off += haq__bundle_record_len(lens[m]);
		free(msg);
	}
	return off;
}

/* Walk buf and compare with what pack() wrote. */
static void
expect(const uint8_t *buf, size_t len, const size_t *lens, size_t n)
{
	struct haq_bundle_iter it;
	const uint8_t *msg;
	size_t mlen;
	size_t m = 0;

	ck_assert_int_eq(haq__bundle_check(buf, len), (long)n);
	haq__bundle_iter_init(&it, buf, len);
	while (haq__bundle_next(&it, &msg, &mlen)) {
		size_t bad = mlen;

		ck_assert_uint_lt(m, n);
		ck_assert_uint_eq(mlen, lens[m]);
		/* One assertion per message: Check reports every one it runs. */
		for (size_t i = 0; i < mlen && bad == mlen; i++) {
			if (msg[i] != pattern(m, i)) {
				bad = i;
			}
		}
		ck_assert_msg(bad == mlen, "message %zu differs at byte %zu", m,
			      bad);
		m++;
	}
	ck_assert_uint_eq(m, n);
}

START_TEST(test_roundtrip_varint_boundaries)
{
	/* Each length around a varint's size step. */
	const size_t lens[] = {1,     2,     127,     128,    129,
			       16383, 16384, 16385,   64,     1000,
			       (1u << 21) - 1, 1u << 21, 3};
	const size_t n = sizeof(lens) / sizeof(lens[0]);
	size_t total = 0;
	uint8_t *buf;

	for (size_t i = 0; i < n; i++) {
		total += haq__bundle_record_len(lens[i]);
	}
	ck_assert_uint_eq(haq__bundle_record_len(127), 128);
	ck_assert_uint_eq(haq__bundle_record_len(128), 130);
	ck_assert_uint_eq(haq__bundle_record_len(16384), 16387);
	ck_assert_uint_eq(haq__bundle_record_len(1u << 21), (1u << 21) + 4);
	buf = malloc(total);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(pack(buf, lens, n), total);
	expect(buf, total, lens, n);
	free(buf);
}
END_TEST

START_TEST(test_gathered_records_match_packed)
{
	/*
	 * A record written as its length and then the message (a gathered
	 * bundle) is the same bytes as one written whole.
	 */
	const size_t lens[] = {1, 127, 128, 16383, 16384, 40000,
			       (1u << 21) - 1, 1u << 21};
	uint8_t *msg = malloc((1u << 21) + 8);
	uint8_t *whole = malloc((1u << 21) + 8);
	uint8_t *parts = malloc((1u << 21) + 8);

	ck_assert_ptr_nonnull(msg);
	ck_assert_ptr_nonnull(whole);
	ck_assert_ptr_nonnull(parts);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t n, h;

		memset(msg, (int)(i + 1), lens[i]);
		n = haq__bundle_put(whole, msg, lens[i]);
		h = haq__bundle_put_len(parts, lens[i]);
		ck_assert_uint_le(h, HAQ_BUNDLE_VARINT_MAX);
		ck_assert_uint_eq(h + lens[i], haq__bundle_record_len(lens[i]));
		memcpy(parts + h, msg, lens[i]);
		ck_assert_uint_eq(n, h + lens[i]);
		ck_assert_int_eq(memcmp(whole, parts, n), 0);
	}
	free(msg);
	free(whole);
	free(parts);
}
END_TEST

START_TEST(test_one_message_is_a_bundle_too)
{
	const size_t lens[] = {5};
	uint8_t buf[8];

	ck_assert_uint_eq(pack(buf, lens, 1), 6);
	expect(buf, 6, lens, 1);
}
END_TEST

START_TEST(test_malformed_payloads_refused)
{
	const size_t lens[] = {3, 200, 4};
	uint8_t buf[256];
	size_t len = pack(buf, lens, 3);
	uint8_t bad[16];

	/* Empty. */
	ck_assert_int_eq(haq__bundle_check(buf, 0), -EBADMSG);
	/* Cut anywhere: the last record is not whole. */
	for (size_t cut = 1; cut < len; cut++) {
		long r = haq__bundle_check(buf, cut);

		/* Cutting exactly after a record leaves a valid prefix. */
		if (cut == 4 || cut == 4 + 202) {
			ck_assert_int_eq(r, cut == 4 ? 1 : 2);
		} else {
			ck_assert_int_eq(r, -EBADMSG);
		}
	}
	/* A trailing byte is a record of its own, cut. */
	buf[len] = 1;
	ck_assert_int_eq(haq__bundle_check(buf, len + 1), -EBADMSG);
	/* A zero length. */
	bad[0] = 0;
	ck_assert_int_eq(haq__bundle_check(bad, 1), -EBADMSG);
	bad[0] = 2;
	bad[1] = 'a';
	bad[2] = 'b';
	bad[3] = 0;
	ck_assert_int_eq(haq__bundle_check(bad, 4), -EBADMSG);
	/* Not canonical: 1 written in two bytes. */
	bad[0] = 0x81;
	bad[1] = 0x00;
	bad[2] = 'x';
	ck_assert_int_eq(haq__bundle_check(bad, 3), -EBADMSG);
	/* A varint of five bytes. */
	memset(bad, 0x80, 5);
	bad[4] = 0x01;
	ck_assert_int_eq(haq__bundle_check(bad, sizeof(bad)), -EBADMSG);
	/* A length that runs past the payload. */
	bad[0] = 0xff;
	bad[1] = 0xff;
	bad[2] = 0xff;
	bad[3] = 0x7f;
	ck_assert_int_eq(haq__bundle_check(bad, sizeof(bad)), -EBADMSG);
	bad[0] = 15;
	ck_assert_int_eq(haq__bundle_check(bad, 15), -EBADMSG);
	ck_assert_int_eq(haq__bundle_check(bad, 16), 1);
}
END_TEST

START_TEST(test_iter_never_reads_past_garbage)
{
	uint8_t bad[4] = {0x05, 'a', 'b', 'c'};
	struct haq_bundle_iter it;
	const uint8_t *msg;
	size_t mlen;

	haq__bundle_iter_init(&it, bad, sizeof(bad));
	ck_assert(!haq__bundle_next(&it, &msg, &mlen));
	haq__bundle_iter_init(&it, bad, 0);
	ck_assert(!haq__bundle_next(&it, &msg, &mlen));
}
END_TEST

/* A bundle frame of n messages of lens from seq on; returns its length. */
static size_t
mkbundle(uint8_t *buf, uint64_t seq, const size_t *lens, size_t n)
{
	struct haq_wire_hdr h = {
		.type = HAQ_WIRE_BUNDLE,
		.incarnation = INC1,
		.seq = seq,
	};
	size_t hl = haq__wire_encode(&h, buf);

	return hl + pack(buf + hl, lens, n);
}

static size_t
mkdata(uint8_t *buf, uint64_t seq, size_t plen)
{
	struct haq_wire_hdr h = {
		.type = HAQ_WIRE_DATA,
		.incarnation = INC1,
		.seq = seq,
	};
	size_t hl = haq__wire_encode(&h, buf);

	memset(buf + hl, 0x5a, plen);
	return hl + plen;
}

START_TEST(test_rx_bundle_consumes_its_seqs)
{
	struct haq_peers peers = {0};
	const size_t lens[] = {10, 20, 30};
	uint8_t f[512];
	struct haq_rx rx;
	size_t len;

	/* A data frame, then a bundle of 2..4, then data 5. */
	len = mkdata(f, 1, 8);
	ck_assert_int_eq(haq__peers_rx(&peers, 1, 100, f, len, MAX_MSG, &rx),
			 HAQ_RX_DELIVER);
	len = mkbundle(f, 2, lens, 3);
	ck_assert_int_eq(haq__peers_rx(&peers, 1, 100, f, len, MAX_MSG, &rx),
			 HAQ_RX_BUNDLE);
	ck_assert_uint_eq(rx.seq, 2);
	ck_assert_uint_eq(rx.count, 3);
	ck_assert_int_eq(rx.gap, 0);
	ck_assert_ptr_null(rx.owned);
	ck_assert_ptr_eq(rx.data, f + HAQ_WIRE_HDR_LEN);
	ck_assert_uint_eq(rx.len, len - HAQ_WIRE_HDR_LEN);
	expect(rx.data, rx.len, lens, 3);
	/* The same bundle again is a duplicate. */
	ck_assert_int_eq(haq__peers_rx(&peers, 1, 100, f, len, MAX_MSG, &rx),
			 -EALREADY);
	/* So is data 4, which was in it; data 5 is next, on the hot path. */
	len = mkdata(f, 4, 8);
	ck_assert_int_eq(haq__peers_rx(&peers, 1, 100, f, len, MAX_MSG, &rx),
			 -EALREADY);
	len = mkdata(f, 5, 8);
	ck_assert_int_eq(haq__peers_rx(&peers, 1, 100, f, len, MAX_MSG, &rx),
			 HAQ_RX_DELIVER);
	ck_assert_uint_eq(rx.seq, 5);
	ck_assert_int_eq(rx.gap, 0);
	/* A bundle that skips seq 6: a gap, reported once. */
	len = mkbundle(f, 7, lens, 2);
	ck_assert_int_eq(haq__peers_rx(&peers, 1, 100, f, len, MAX_MSG, &rx),
			 HAQ_RX_BUNDLE);
	ck_assert_int_eq(rx.gap, 1);
	ck_assert_uint_eq(rx.count, 2);
	len = mkdata(f, 9, 8);
	ck_assert_int_eq(haq__peers_rx(&peers, 1, 100, f, len, MAX_MSG, &rx),
			 HAQ_RX_DELIVER);
	ck_assert_int_eq(rx.gap, 0);
	haq__peers_free(&peers);
}
END_TEST

START_TEST(test_rx_malformed_bundle_leaves_state)
{
	struct haq_peers peers = {0};
	const size_t lens[] = {10, 20};
	uint8_t f[512];
	struct haq_rx rx;
	size_t len;

	len = mkdata(f, 1, 8);
	ck_assert_int_eq(haq__peers_rx(&peers, 1, 100, f, len, MAX_MSG, &rx),
			 HAQ_RX_DELIVER);
	len = mkbundle(f, 2, lens, 2);
	/* Cut by one byte: refused whole, nothing consumed. */
	ck_assert_int_eq(
		haq__peers_rx(&peers, 1, 100, f, len - 1, MAX_MSG, &rx),
		-EBADMSG);
	ck_assert_ptr_null(rx.data);
	/* Header only: no payload. */
	ck_assert_int_eq(haq__peers_rx(&peers, 1, 100, f, HAQ_WIRE_HDR_LEN,
				       MAX_MSG, &rx),
			 -EBADMSG);
	/* The sender's later messages are unaffected: seq 2 still next. */
	len = mkdata(f, 2, 8);
	ck_assert_int_eq(haq__peers_rx(&peers, 1, 100, f, len, MAX_MSG, &rx),
			 HAQ_RX_DELIVER);
	ck_assert_int_eq(rx.gap, 0);
	/* A new sender's malformed bundle makes no peer. */
	len = mkbundle(f, 1, lens, 2);
	f[len - 21] ^= 0x80; /* the second record's length byte */
	ck_assert_int_eq(haq__peers_rx(&peers, 2, 200, f, len, MAX_MSG, &rx),
			 -EBADMSG);
	ck_assert_uint_eq(peers.n, 1);
	haq__peers_free(&peers);
}
END_TEST

START_TEST(test_rx_bundle_seq_overflow_refused)
{
	struct haq_peers peers = {0};
	const size_t lens[] = {1, 1, 1};
	uint8_t f[128];
	struct haq_rx rx;
	size_t len;

	len = mkbundle(f, UINT64_MAX - 1, lens, 3);
	ck_assert_int_eq(haq__peers_rx(&peers, 1, 100, f, len, MAX_MSG, &rx),
			 -EBADMSG);
	len = mkbundle(f, UINT64_MAX - 2, lens, 3);
	ck_assert_int_eq(haq__peers_rx(&peers, 1, 100, f, len, MAX_MSG, &rx),
			 HAQ_RX_BUNDLE);
	haq__peers_free(&peers);
}
END_TEST

START_TEST(test_rx_bundle_drops_partial_fragment)
{
	struct haq_peers peers = {0};
	const size_t lens[] = {4, 4};
	struct haq_wire_hdr h = {
		.type = HAQ_WIRE_FRAG,
		.incarnation = INC1,
		.seq = 1,
		.total = 100,
		.offset = 0,
	};
	uint8_t f[256];
	struct haq_rx rx;
	size_t hl = haq__wire_encode(&h, f);
	size_t len;

	memset(f + hl, 1, 10);
	ck_assert_int_eq(
		haq__peers_rx(&peers, 1, 100, f, hl + 10, MAX_MSG, &rx),
		HAQ_RX_PENDING);
	ck_assert_uint_eq(haq__peers_partial(&peers, 1, 100), 1);
	/* The sender moved on: the partial can never complete. */
	len = mkbundle(f, 2, lens, 2);
	ck_assert_int_eq(haq__peers_rx(&peers, 1, 100, f, len, MAX_MSG, &rx),
			 HAQ_RX_BUNDLE);
	ck_assert_uint_eq(haq__peers_partial(&peers, 1, 100), 0);
	haq__peers_free(&peers);
}
END_TEST

START_TEST(test_caps_reset_by_new_incarnation)
{
	struct haq_peers peers = {0};
	struct haq_wire_hdr h = {
		.type = HAQ_WIRE_CONTROL,
		.incarnation = INC1,
		.seq = 1,
	};
	uint8_t f[64];
	struct haq_rx rx;
	size_t hl = haq__wire_encode(&h, f);
	struct haq_peer *p;

	f[hl] = HAQ_CONTROL_CAPS;
	memset(f + hl + 1, 0, 4);
	ck_assert_int_eq(
		haq__peers_rx(&peers, 1, 100, f, hl + 5, MAX_MSG, &rx),
		HAQ_RX_CONTROL);
	p = haq__peers_get(&peers, 1, 100);
	ck_assert_ptr_nonnull(p);
	p->caps = HAQ_CAP_BUNDLE;
	ck_assert_ptr_null(haq__peers_get(&peers, 1, 101));
	h.incarnation = INC1 + 1;
	hl = haq__wire_encode(&h, f);
	ck_assert_int_eq(
		haq__peers_rx(&peers, 1, 100, f, hl + 5, MAX_MSG, &rx),
		HAQ_RX_CONTROL);
	ck_assert_uint_eq(haq__peers_get(&peers, 1, 100)->caps, 0);
	haq__peers_free(&peers);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("bundle");
	TCase *tc = tcase_create("bundle");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_roundtrip_varint_boundaries);
	tcase_add_test(tc, test_gathered_records_match_packed);
	tcase_add_test(tc, test_one_message_is_a_bundle_too);
	tcase_add_test(tc, test_malformed_payloads_refused);
	tcase_add_test(tc, test_iter_never_reads_past_garbage);
	tcase_add_test(tc, test_rx_bundle_consumes_its_seqs);
	tcase_add_test(tc, test_rx_malformed_bundle_leaves_state);
	tcase_add_test(tc, test_rx_bundle_seq_overflow_refused);
	tcase_add_test(tc, test_rx_bundle_drops_partial_fragment);
	tcase_add_test(tc, test_caps_reset_by_new_incarnation);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
