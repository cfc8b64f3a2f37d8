/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the frame format and the per-sender receive state
 * (libhaq/wire.c).
 */
#include "wire.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define INC1 0x1122334455667788ull
#define INC2 0x99aabbccddeeff01ull
#define MAX_MSG (1024u * 1024u)

/* Room for any frame the tests build. */
#define FRAME_MAX 4096

/* A deterministic payload byte, so reassembled content can be checked. */
static uint8_t
pattern(uint64_t seq, size_t i)
{
	return (uint8_t)(seq * 31 + i * 7 + (i >> 8));
}

/*
 * Build a frame with the given header and plen pattern bytes of payload
 * taken from position offset of message seq. Returns its length.
 */
static size_t
mkframe(uint8_t *buf, uint8_t type, uint64_t inc, uint64_t seq, uint64_t total,
	uint64_t offset, size_t plen)
{
	struct haq_wire_hdr h = {
		.type = type,
		.incarnation = inc,
		.seq = seq,
		.total = total,
		.offset = offset,
	};
	size_t hl;
	size_t i;

	ck_assert_uint_le(plen + HAQ_WIRE_FRAG_HDR_LEN, FRAME_MAX);
	hl = haq__wire_encode(&h, buf);
	for (i = 0; i < plen; i++) {
		buf[hl + i] = pattern(seq, (size_t)offset + i);
	}
	return hl + plen;
}

static size_t
mkdata(uint8_t *buf, uint64_t inc, uint64_t seq, size_t plen)
{
	return mkframe(buf, HAQ_WIRE_DATA, inc, seq, 0, 0, plen);
}

static size_t
mkfrag(uint8_t *buf, uint64_t inc, uint64_t seq, uint64_t total,
       uint64_t offset, size_t plen)
{
	return mkframe(buf, HAQ_WIRE_FRAG, inc, seq, total, offset, plen);
}

static void
check_pattern(const void *data, size_t len, uint64_t seq)
{
	const uint8_t *p = data;
	size_t i;

	for (i = 0; i < len; i++) {
		ck_assert_uint_eq(p[i], pattern(seq, i));
	}
}

/* Feed one data frame and expect it delivered in place. */
static void
rx_data_ok(struct haq_peers *peers, uint32_t nodeid, uint32_t pid, uint64_t inc,
	   uint64_t seq, int gap)
{
	uint8_t f[FRAME_MAX];
	struct haq_rx rx;
	size_t n = mkdata(f, inc, seq, 5);

	ck_assert_int_eq(haq__peers_rx(peers, nodeid, pid, f, n, MAX_MSG, &rx),
			 HAQ_RX_DELIVER);
	ck_assert_ptr_eq(rx.data, f + HAQ_WIRE_HDR_LEN);
	ck_assert_uint_eq(rx.len, 5);
	ck_assert_ptr_null(rx.owned);
	ck_assert_uint_eq(rx.seq, seq);
	ck_assert_int_eq(rx.gap, gap);
}

static int
rx_data(struct haq_peers *peers, uint32_t nodeid, uint32_t pid, uint64_t inc,
	uint64_t seq)
{
	uint8_t f[FRAME_MAX];
	struct haq_rx rx;
	size_t n = mkdata(f, inc, seq, 5);

	return haq__peers_rx(peers, nodeid, pid, f, n, MAX_MSG, &rx);
}

static int
rx_frag(struct haq_peers *peers, uint32_t nodeid, uint32_t pid, uint64_t inc,
	uint64_t seq, uint64_t total, uint64_t offset, size_t plen,
	size_t max_msg, struct haq_rx *rx)
{
	uint8_t f[FRAME_MAX];
	size_t n = mkfrag(f, inc, seq, total, offset, plen);

	return haq__peers_rx(peers, nodeid, pid, f, n, max_msg, rx);
}

static struct haq_peer *
find_peer(struct haq_peers *peers, uint32_t nodeid, uint32_t pid)
{
	size_t i;

	for (i = 0; i < peers->n; i++) {
		if (peers->v[i].nodeid == nodeid && peers->v[i].pid == pid) {
			return &peers->v[i];
		}
	}
	return NULL;
}

/* ---- encode / decode ---- */

START_TEST(test_encode_layout)
{
	/* clang-format off */
	static const uint8_t expect[HAQ_WIRE_FRAG_HDR_LEN] = {
		'H', 'A', 'Q', '1', 1, HAQ_WIRE_FRAG, 0, 0,
		0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
		0x02, 0x01, 0, 0, 0, 0, 0, 0,
		0x00, 0x10, 0, 0, 0, 0, 0, 0,
		0xff, 0x0f, 0, 0, 0, 0, 0, 0x80,
	};
	/* clang-format on */
	struct haq_wire_hdr h = {
		.type = HAQ_WIRE_FRAG,
		.incarnation = INC1,
		.seq = 0x102,
		.total = 0x1000,
		.offset = 0x8000000000000fffull,
	};
	uint8_t buf[HAQ_WIRE_FRAG_HDR_LEN];

	ck_assert_uint_eq(haq__wire_encode(&h, buf), HAQ_WIRE_FRAG_HDR_LEN);
	ck_assert_mem_eq(buf, expect, sizeof(expect));
}
END_TEST

START_TEST(test_roundtrip_data)
{
	uint8_t f[FRAME_MAX];
	struct haq_wire_hdr h;
	size_t n = mkdata(f, INC1, 0xfedcba9876543210ull, 3);

	ck_assert_uint_eq(n, HAQ_WIRE_HDR_LEN + 3);
	memset(&h, 0xa5, sizeof(h));
	ck_assert_int_eq(haq__wire_decode(f, n, &h), HAQ_WIRE_HDR_LEN);
	ck_assert_uint_eq(h.type, HAQ_WIRE_DATA);
	ck_assert_uint_eq(h.flags, 0);
	ck_assert_uint_eq(h.incarnation, INC1);
	ck_assert_uint_eq(h.seq, 0xfedcba9876543210ull);
	ck_assert_uint_eq(h.total, 0);
	ck_assert_uint_eq(h.offset, 0);
}
END_TEST

START_TEST(test_roundtrip_frag)
{
	uint8_t f[FRAME_MAX];
	struct haq_wire_hdr h;
	size_t n = mkfrag(f, INC2, 7, 5000, 1000, 100);

	ck_assert_uint_eq(n, HAQ_WIRE_FRAG_HDR_LEN + 100);
	ck_assert_int_eq(haq__wire_decode(f, n, &h), HAQ_WIRE_FRAG_HDR_LEN);
	ck_assert_uint_eq(h.type, HAQ_WIRE_FRAG);
	ck_assert_uint_eq(h.flags, 0);
	ck_assert_uint_eq(h.incarnation, INC2);
	ck_assert_uint_eq(h.seq, 7);
	ck_assert_uint_eq(h.total, 5000);
	ck_assert_uint_eq(h.offset, 1000);
}
END_TEST

START_TEST(test_roundtrip_control)
{
	uint8_t f[FRAME_MAX];
	struct haq_wire_hdr h;
	size_t n = mkframe(f, HAQ_WIRE_CONTROL, 1, 1, 0, 0, 13);

	ck_assert_uint_eq(n, HAQ_WIRE_HDR_LEN + 13);
	ck_assert_int_eq(haq__wire_decode(f, n, &h), HAQ_WIRE_HDR_LEN);
	ck_assert_uint_eq(h.type, HAQ_WIRE_CONTROL);
	ck_assert_uint_eq(h.incarnation, 1);
	ck_assert_uint_eq(h.seq, 1);
}
END_TEST

/* The largest values that are still valid decode. */
START_TEST(test_decode_edges_valid)
{
	uint8_t f[FRAME_MAX];
	struct haq_wire_hdr h;
	size_t n;

	/* Payload ends exactly at total. */
	n = mkfrag(f, UINT64_MAX, UINT64_MAX, 100, 90, 10);
	ck_assert_int_eq(haq__wire_decode(f, n, &h), HAQ_WIRE_FRAG_HDR_LEN);
	/* Last byte of the largest possible message. */
	n = mkfrag(f, 1, 1, UINT64_MAX, UINT64_MAX - 1, 1);
	ck_assert_int_eq(haq__wire_decode(f, n, &h), HAQ_WIRE_FRAG_HDR_LEN);
	ck_assert_uint_eq(h.total, UINT64_MAX);
	ck_assert_uint_eq(h.offset, UINT64_MAX - 1);
	/* One byte of payload is enough. */
	n = mkdata(f, 1, 1, 1);
	ck_assert_int_eq(haq__wire_decode(f, n, &h), HAQ_WIRE_HDR_LEN);
}
END_TEST

START_TEST(test_decode_short)
{
	uint8_t f[FRAME_MAX];
	struct haq_wire_hdr h;
	size_t n = mkdata(f, INC1, 1, 10);
	size_t i;

	for (i = 0; i < HAQ_WIRE_HDR_LEN; i++) {
		ck_assert_int_eq(haq__wire_decode(f, i, &h), -EBADMSG);
	}
	ck_assert_int_eq(haq__wire_decode(NULL, 0, &h), -EBADMSG);
	ck_assert_int_eq(haq__wire_decode(f, n, &h), HAQ_WIRE_HDR_LEN);
	/* A fragment cut inside its longer header. */
	n = mkfrag(f, INC1, 1, 100, 0, 10);
	for (i = HAQ_WIRE_HDR_LEN; i < HAQ_WIRE_FRAG_HDR_LEN; i++) {
		ck_assert_int_eq(haq__wire_decode(f, i, &h), -EBADMSG);
	}
}
END_TEST

START_TEST(test_decode_bad_magic)
{
	uint8_t f[FRAME_MAX];
	struct haq_wire_hdr h;
	size_t n = mkdata(f, INC1, 1, 10);
	size_t i;

	for (i = 0; i < 4; i++) {
		f[i] ^= 0x20;
		ck_assert_int_eq(haq__wire_decode(f, n, &h), -EBADMSG);
		f[i] ^= 0x20;
	}
	ck_assert_int_eq(haq__wire_decode(f, n, &h), HAQ_WIRE_HDR_LEN);
}
END_TEST

START_TEST(test_decode_bad_version)
{
	static const uint8_t bad[] = {0, 2, 0x81, 0xff};
	uint8_t f[FRAME_MAX];
	struct haq_wire_hdr h;
	size_t n = mkdata(f, INC1, 1, 10);
	size_t i;

	for (i = 0; i < sizeof(bad); i++) {
		f[4] = bad[i];
		ck_assert_int_eq(haq__wire_decode(f, n, &h), -EBADMSG);
	}
}
END_TEST

START_TEST(test_decode_bad_type)
{
	/* 4 is HAQ_WIRE_BUNDLE. */
	static const uint8_t bad[] = {0, 5, 6, 0x81, 0xff};
	uint8_t f[FRAME_MAX];
	struct haq_wire_hdr h;
	size_t n = mkfrag(f, INC1, 1, 100, 0, 10);
	size_t i;

	for (i = 0; i < sizeof(bad); i++) {
		f[5] = bad[i];
		ck_assert_int_eq(haq__wire_decode(f, n, &h), -EBADMSG);
	}
}
END_TEST

START_TEST(test_decode_flags)
{
	uint8_t f[FRAME_MAX];
	struct haq_wire_hdr h;
	size_t n = mkdata(f, INC1, 1, 10);

	/* Bit 0 (HAQ_WIRE_F_COMPRESSED) is known on data and fragments. */
	f[6] = 1;
	ck_assert_int_eq(haq__wire_decode(f, n, &h), HAQ_WIRE_HDR_LEN);
	ck_assert_uint_eq(h.flags, HAQ_WIRE_F_COMPRESSED);
	f[6] = 2;
	ck_assert_int_eq(haq__wire_decode(f, n, &h), -EBADMSG);
	f[6] = 0;
	f[7] = 0x80;
	ck_assert_int_eq(haq__wire_decode(f, n, &h), -EBADMSG);
	/* Not on control frames or bundles. */
	f[7] = 0;
	f[6] = 1;
	f[5] = HAQ_WIRE_CONTROL;
	ck_assert_int_eq(haq__wire_decode(f, n, &h), -EBADMSG);
	f[5] = HAQ_WIRE_BUNDLE;
	ck_assert_int_eq(haq__wire_decode(f, n, &h), -EBADMSG);
}
END_TEST

START_TEST(test_decode_zero_incarnation)
{
	uint8_t f[FRAME_MAX];
	struct haq_wire_hdr h;
	size_t n;

	n = mkdata(f, 0, 1, 10);
	ck_assert_int_eq(haq__wire_decode(f, n, &h), -EBADMSG);
	n = mkfrag(f, 0, 1, 100, 0, 10);
	ck_assert_int_eq(haq__wire_decode(f, n, &h), -EBADMSG);
}
END_TEST

START_TEST(test_decode_zero_seq)
{
	uint8_t f[FRAME_MAX];
	struct haq_wire_hdr h;
	size_t n;

	n = mkdata(f, INC1, 0, 10);
	ck_assert_int_eq(haq__wire_decode(f, n, &h), -EBADMSG);
	n = mkframe(f, HAQ_WIRE_CONTROL, INC1, 0, 0, 0, 10);
	ck_assert_int_eq(haq__wire_decode(f, n, &h), -EBADMSG);
	n = mkfrag(f, INC1, 0, 100, 0, 10);
	ck_assert_int_eq(haq__wire_decode(f, n, &h), -EBADMSG);
}
END_TEST

START_TEST(test_decode_empty_payload)
{
	uint8_t f[FRAME_MAX];
	struct haq_wire_hdr h;
	size_t n;

	n = mkdata(f, INC1, 1, 0);
	ck_assert_uint_eq(n, HAQ_WIRE_HDR_LEN);
	ck_assert_int_eq(haq__wire_decode(f, n, &h), -EBADMSG);
	n = mkframe(f, HAQ_WIRE_CONTROL, INC1, 1, 0, 0, 0);
	ck_assert_int_eq(haq__wire_decode(f, n, &h), -EBADMSG);
	n = mkfrag(f, INC1, 1, 100, 0, 0);
	ck_assert_uint_eq(n, HAQ_WIRE_FRAG_HDR_LEN);
	ck_assert_int_eq(haq__wire_decode(f, n, &h), -EBADMSG);
}
END_TEST

START_TEST(test_decode_frag_total_zero)
{
	uint8_t f[FRAME_MAX];
	struct haq_wire_hdr h;
	size_t n = mkfrag(f, INC1, 1, 0, 0, 10);

	ck_assert_int_eq(haq__wire_decode(f, n, &h), -EBADMSG);
}
END_TEST

START_TEST(test_decode_frag_offset_past)
{
	uint8_t f[FRAME_MAX];
	struct haq_wire_hdr h;
	size_t n;

	n = mkfrag(f, INC1, 1, 100, 100, 1);
	ck_assert_int_eq(haq__wire_decode(f, n, &h), -EBADMSG);
	n = mkfrag(f, INC1, 1, 100, 101, 1);
	ck_assert_int_eq(haq__wire_decode(f, n, &h), -EBADMSG);
	n = mkfrag(f, INC1, 1, 100, 99, 1);
	ck_assert_int_eq(haq__wire_decode(f, n, &h), HAQ_WIRE_FRAG_HDR_LEN);
}
END_TEST

START_TEST(test_decode_frag_payload_past)
{
	uint8_t f[FRAME_MAX];
	struct haq_wire_hdr h;
	size_t n;

	n = mkfrag(f, INC1, 1, 100, 0, 101);
	ck_assert_int_eq(haq__wire_decode(f, n, &h), -EBADMSG);
	n = mkfrag(f, INC1, 1, 100, 91, 10);
	ck_assert_int_eq(haq__wire_decode(f, n, &h), -EBADMSG);
	n = mkfrag(f, INC1, 1, 100, 90, 10);
	ck_assert_int_eq(haq__wire_decode(f, n, &h), HAQ_WIRE_FRAG_HDR_LEN);
}
END_TEST

/* Values chosen so that offset + payload wraps around to something small. */
START_TEST(test_decode_frag_overflow)
{
	uint8_t f[FRAME_MAX];
	struct haq_wire_hdr h;
	size_t n;

	n = mkfrag(f, INC1, 1, 100, UINT64_MAX, 10);
	ck_assert_int_eq(haq__wire_decode(f, n, &h), -EBADMSG);
	n = mkfrag(f, INC1, 1, UINT64_MAX, UINT64_MAX, 10);
	ck_assert_int_eq(haq__wire_decode(f, n, &h), -EBADMSG);
	n = mkfrag(f, INC1, 1, UINT64_MAX, UINT64_MAX - 1, 2);
	ck_assert_int_eq(haq__wire_decode(f, n, &h), -EBADMSG);
	n = mkfrag(f, INC1, 1, UINT64_MAX, UINT64_MAX - 5, 10);
	ck_assert_int_eq(haq__wire_decode(f, n, &h), -EBADMSG);
	n = mkfrag(f, INC1, 1, 10, UINT64_MAX - 4, 10);
	ck_assert_int_eq(haq__wire_decode(f, n, &h), -EBADMSG);
}
END_TEST

/* ---- receive state ---- */

START_TEST(test_rx_malformed_no_state)
{
	struct haq_peers peers = {0};
	uint8_t f[FRAME_MAX];
	struct haq_rx rx;
	size_t n = mkdata(f, INC1, 1, 10);

	f[0] = 0;
	ck_assert_int_eq(haq__peers_rx(&peers, 1, 1, f, n, MAX_MSG, &rx),
			 -EBADMSG);
	ck_assert_uint_eq(peers.n, 0);
	ck_assert_int_eq(haq__peers_rx(&peers, 1, 1, f, 3, MAX_MSG, &rx),
			 -EBADMSG);
	ck_assert_uint_eq(peers.n, 0);
	haq__peers_free(&peers);
}
END_TEST

START_TEST(test_rx_deliver)
{
	struct haq_peers peers = {0};
	uint8_t f[FRAME_MAX];
	struct haq_rx rx;
	size_t n = mkdata(f, INC1, 1, 300);
	uint64_t seq;

	ck_assert_int_eq(haq__peers_rx(&peers, 3, 42, f, n, MAX_MSG, &rx),
			 HAQ_RX_DELIVER);
	ck_assert_ptr_eq(rx.data, f + HAQ_WIRE_HDR_LEN);
	ck_assert_uint_eq(rx.len, 300);
	ck_assert_ptr_null(rx.owned);
	ck_assert_uint_eq(rx.seq, 1);
	ck_assert_int_eq(rx.gap, 0);
	check_pattern(rx.data, rx.len, 1);
	ck_assert_uint_eq(peers.n, 1);
	ck_assert_uint_eq(peers.v[0].nodeid, 3);
	ck_assert_uint_eq(peers.v[0].pid, 42);
	ck_assert_uint_eq(peers.v[0].next_seq, 2);
	for (seq = 2; seq < 100; seq++) {
		rx_data_ok(&peers, 3, 42, INC1, seq, 0);
	}
	ck_assert_uint_eq(peers.v[0].next_seq, 100);
	haq__peers_free(&peers);
	ck_assert_ptr_null(peers.v);
	ck_assert_uint_eq(peers.n, 0);
}
END_TEST

/* The first frame seen from a sender may carry any seq: it joined late. */
START_TEST(test_rx_first_any_seq)
{
	struct haq_peers peers = {0};

	rx_data_ok(&peers, 1, 1, INC1, 12345, 0);
	rx_data_ok(&peers, 1, 1, INC1, 12346, 0);
	haq__peers_free(&peers);
}
END_TEST

START_TEST(test_rx_duplicate)
{
	struct haq_peers peers = {0};
	struct haq_rx rx;

	rx_data_ok(&peers, 1, 1, INC1, 5, 0);
	rx_data_ok(&peers, 1, 1, INC1, 6, 0);
	ck_assert_int_eq(rx_data(&peers, 1, 1, INC1, 6), -EALREADY);
	ck_assert_int_eq(rx_data(&peers, 1, 1, INC1, 5), -EALREADY);
	ck_assert_int_eq(rx_data(&peers, 1, 1, INC1, 1), -EALREADY);
	/* A duplicate fragment changes nothing either. */
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 4, 100, 0, 10, MAX_MSG, &rx),
		-EALREADY);
	ck_assert_uint_eq(peers.v[0].next_seq, 7);
	ck_assert_uint_eq(peers.v[0].frag_seq, 0);
	ck_assert_ptr_null(peers.v[0].buf);
	rx_data_ok(&peers, 1, 1, INC1, 7, 0);
	haq__peers_free(&peers);
}
END_TEST

START_TEST(test_rx_gap)
{
	struct haq_peers peers = {0};

	rx_data_ok(&peers, 1, 1, INC1, 1, 0);
	rx_data_ok(&peers, 1, 1, INC1, 4, 1);
	ck_assert_uint_eq(peers.v[0].next_seq, 5);
	rx_data_ok(&peers, 1, 1, INC1, 5, 0);
	ck_assert_int_eq(rx_data(&peers, 1, 1, INC1, 3), -EALREADY);
	haq__peers_free(&peers);
}
END_TEST

START_TEST(test_rx_new_incarnation)
{
	struct haq_peers peers = {0};
	struct haq_rx rx;

	rx_data_ok(&peers, 1, 1, INC1, 10, 0);
	/* Same seq, other incarnation: a restarted sender, not a dup. */
	rx_data_ok(&peers, 1, 1, INC2, 1, 0);
	ck_assert_uint_eq(peers.v[0].incarnation, INC2);
	ck_assert_int_eq(rx_data(&peers, 1, 1, INC2, 1), -EALREADY);
	/* Back to the old one: its state is gone, so seq 1 is new again. */
	rx_data_ok(&peers, 1, 1, INC1, 1, 0);
	/* A partial is dropped by a new incarnation. */
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 2, 100, 0, 50, MAX_MSG, &rx),
		HAQ_RX_PENDING);
	ck_assert_ptr_nonnull(peers.v[0].buf);
	rx_data_ok(&peers, 1, 1, INC2, 2, 0);
	ck_assert_ptr_null(peers.v[0].buf);
	ck_assert_uint_eq(peers.v[0].frag_seq, 0);
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC2, 3, 100, 50, 50, MAX_MSG, &rx),
		-EBADMSG);
	ck_assert_uint_eq(peers.n, 1);
	haq__peers_free(&peers);
}
END_TEST

START_TEST(test_rx_control)
{
	struct haq_peers peers = {0};
	uint8_t f[FRAME_MAX];
	struct haq_rx rx;
	size_t n;

	rx_data_ok(&peers, 1, 1, INC1, 1, 0);
	n = mkframe(f, HAQ_WIRE_CONTROL, INC1, 2, 0, 0, 13);
	f[HAQ_WIRE_HDR_LEN] = HAQ_CONTROL_SYNC;
	ck_assert_int_eq(haq__peers_rx(&peers, 1, 1, f, n, MAX_MSG, &rx),
			 HAQ_RX_CONTROL);
	ck_assert_ptr_eq(rx.data, f + HAQ_WIRE_HDR_LEN);
	ck_assert_uint_eq(rx.len, 13);
	ck_assert_ptr_null(rx.owned);
	ck_assert_uint_eq(rx.seq, 2);
	ck_assert_int_eq(rx.gap, 0);
	ck_assert_uint_eq(((const uint8_t *)rx.data)[0], HAQ_CONTROL_SYNC);
	/*
	 * It carries the sender's next seq without consuming it: the same
	 * control frame again is delivered again, and data seq 2 follows.
	 */
	ck_assert_int_eq(haq__peers_rx(&peers, 1, 1, f, n, MAX_MSG, &rx),
			 HAQ_RX_CONTROL);
	rx_data_ok(&peers, 1, 1, INC1, 2, 0);
	/* No sequence rules: an old seq is no duplicate. */
	n = mkframe(f, HAQ_WIRE_CONTROL, INC1, 1, 0, 0, 13);
	ck_assert_int_eq(haq__peers_rx(&peers, 1, 1, f, n, MAX_MSG, &rx),
			 HAQ_RX_CONTROL);
	ck_assert_int_eq(rx.gap, 0);
	/* max_msg is the application's limit, not libhaq's. */
	n = mkframe(f, HAQ_WIRE_CONTROL, INC1, 3, 0, 0, 13);
	ck_assert_int_eq(haq__peers_rx(&peers, 1, 1, f, n, 4, &rx),
			 HAQ_RX_CONTROL);
	rx_data_ok(&peers, 1, 1, INC1, 3, 0);
	haq__peers_free(&peers);
}
END_TEST

/* Feed a message of total bytes as nfrag fragments in order. */
static void
reassemble(struct haq_peers *peers, uint32_t nodeid, uint32_t pid, uint64_t seq,
	   size_t total, size_t nfrag, int gap)
{
	size_t step = (total + nfrag - 1) / nfrag;
	size_t off;
	struct haq_rx rx;

	for (off = 0; off < total; off += step) {
		size_t plen = total - off < step ? total - off : step;
		int r = rx_frag(peers, nodeid, pid, INC1, seq, total, off, plen,
				MAX_MSG, &rx);

		if (off + plen < total) {
			ck_assert_int_eq(r, HAQ_RX_PENDING);
			ck_assert_ptr_null(rx.owned);
			continue;
		}
		ck_assert_int_eq(r, HAQ_RX_DELIVER);
		ck_assert_ptr_nonnull(rx.owned);
		ck_assert_ptr_eq(rx.data, rx.owned);
		ck_assert_uint_eq(rx.len, total);
		ck_assert_uint_eq(rx.seq, seq);
		ck_assert_int_eq(rx.gap, gap);
		check_pattern(rx.data, rx.len, seq);
		free(rx.owned);
	}
}

START_TEST(test_rx_reassemble)
{
	struct haq_peers peers = {0};
	struct haq_peer *p;

	reassemble(&peers, 1, 1, 1, 10 * 400, 10, 0);
	p = find_peer(&peers, 1, 1);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_null(p->buf);
	ck_assert_uint_eq(p->frag_seq, 0);
	ck_assert_uint_eq(p->next_seq, 2);
	/* Uneven last fragment, then a gap reported at delivery. */
	reassemble(&peers, 1, 1, 2, 3999, 10, 0);
	reassemble(&peers, 1, 1, 4, 1000, 3, 1);
	rx_data_ok(&peers, 1, 1, INC1, 5, 0);
	haq__peers_free(&peers);
}
END_TEST

/* total == payload: a complete message in one fragment, no copy needed. */
START_TEST(test_rx_single_fragment)
{
	struct haq_peers peers = {0};
	uint8_t f[FRAME_MAX];
	struct haq_rx rx;
	size_t n = mkfrag(f, INC1, 1, 64, 0, 64);

	ck_assert_int_eq(haq__peers_rx(&peers, 1, 1, f, n, MAX_MSG, &rx),
			 HAQ_RX_DELIVER);
	ck_assert_ptr_null(rx.owned);
	ck_assert_ptr_eq(rx.data, f + HAQ_WIRE_FRAG_HDR_LEN);
	ck_assert_uint_eq(rx.len, 64);
	ck_assert_uint_eq(peers.v[0].next_seq, 2);
	haq__peers_free(&peers);
}
END_TEST

START_TEST(test_rx_joined_mid_message)
{
	struct haq_peers peers = {0};
	struct haq_rx rx;

	/*
	 * The first frame seen from a sender is the middle of a message that
	 * began before we saw it: dropped quietly with the rest of it, and
	 * the next message is delivered without a gap.
	 */
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 7, 300, 100, 100, MAX_MSG, &rx),
		HAQ_RX_PENDING);
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 7, 300, 200, 100, MAX_MSG, &rx),
		HAQ_RX_PENDING);
	ck_assert_int_eq(rx_data(&peers, 1, 1, INC1, 8), HAQ_RX_DELIVER);
	/* After that, a stray continuation from that sender is malformed. */
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 9, 300, 100, 100, MAX_MSG, &rx),
		-EBADMSG);
	haq__peers_free(&peers);
}
END_TEST

START_TEST(test_rx_view_change_drops_partials)
{
	struct haq_peers peers = {0};
	struct haq_rx rx;

	/* Message 3 is half there when the view changes. */
	rx_data_ok(&peers, 1, 1, INC1, 2, 0);
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 3, 300, 0, 100, MAX_MSG, &rx),
		HAQ_RX_PENDING);
	ck_assert_uint_eq(haq__peers_drop_partials(&peers), 1);
	ck_assert_ptr_null(peers.v[0].buf);
	/* Its tail, handed before the change, is dropped quietly... */
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 3, 300, 100, 100, MAX_MSG, &rx),
		HAQ_RX_PENDING);
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 3, 300, 200, 100, MAX_MSG, &rx),
		HAQ_RX_PENDING);
	/* ...and the sender's resend under the same seq is delivered. */
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 3, 300, 0, 100, MAX_MSG, &rx),
		HAQ_RX_PENDING);
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 3, 300, 100, 100, MAX_MSG, &rx),
		HAQ_RX_PENDING);
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 3, 300, 200, 100, MAX_MSG, &rx),
		HAQ_RX_DELIVER);
	ck_assert_uint_eq(rx.len, 300);
	ck_assert_int_eq(rx.gap, 0);
	free(rx.owned);
	ck_assert_uint_eq(haq__peers_drop_partials(&peers), 0);
	haq__peers_free(&peers);
}
END_TEST

/*
 * How much of a sender's message is back: what the sender's window of
 * frames out with corosync is measured against.
 */
START_TEST(test_partial_have)
{
	struct haq_peers peers = {0};
	struct haq_rx rx;

	ck_assert_uint_eq(haq__peers_partial_have(&peers, 1, 1, 3), 0);
	rx_data_ok(&peers, 1, 1, INC1, 2, 0);
	ck_assert_uint_eq(haq__peers_partial_have(&peers, 1, 1, 3), 0);
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 3, 300, 0, 100, MAX_MSG, &rx),
		HAQ_RX_PENDING);
	ck_assert_uint_eq(haq__peers_partial_have(&peers, 1, 1, 3), 100);
	/* Another seq, another sender: nothing. */
	ck_assert_uint_eq(haq__peers_partial_have(&peers, 1, 1, 4), 0);
	ck_assert_uint_eq(haq__peers_partial_have(&peers, 1, 2, 3), 0);
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 3, 300, 100, 100, MAX_MSG, &rx),
		HAQ_RX_PENDING);
	ck_assert_uint_eq(haq__peers_partial_have(&peers, 1, 1, 3), 200);
	/* A view change drops it: back to nothing, and its stale tail... */
	ck_assert_uint_eq(haq__peers_drop_partials(&peers), 1);
	ck_assert_uint_eq(haq__peers_partial_have(&peers, 1, 1, 3), 0);
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 3, 300, 200, 100, MAX_MSG, &rx),
		HAQ_RX_PENDING);
	ck_assert_uint_eq(haq__peers_partial_have(&peers, 1, 1, 3), 0);
	/* ...does not count; the resend does. */
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 3, 300, 0, 100, MAX_MSG, &rx),
		HAQ_RX_PENDING);
	ck_assert_uint_eq(haq__peers_partial_have(&peers, 1, 1, 3), 100);
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 3, 300, 100, 200, MAX_MSG, &rx),
		HAQ_RX_DELIVER);
	free(rx.owned);
	/* Delivered whole: no partial any more. */
	ck_assert_uint_eq(haq__peers_partial_have(&peers, 1, 1, 3), 0);
	haq__peers_free(&peers);
}
END_TEST

START_TEST(test_rx_frag_out_of_order)
{
	struct haq_peers peers = {0};
	struct haq_rx rx;

	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 1, 300, 0, 100, MAX_MSG, &rx),
		HAQ_RX_PENDING);
	/* Skips offset 100. */
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 1, 300, 200, 100, MAX_MSG, &rx),
		-EBADMSG);
	ck_assert_ptr_null(peers.v[0].buf);
	ck_assert_uint_eq(peers.v[0].frag_seq, 0);
	/* The rest of it has no partial to join. */
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 1, 300, 100, 100, MAX_MSG, &rx),
		-EBADMSG);
	ck_assert_int_eq(haq__peers_remove(&peers, 1, 1), 0);
	/* A repeated first fragment restarts the message from scratch. */
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 2, 300, 0, 100, MAX_MSG, &rx),
		HAQ_RX_PENDING);
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 2, 300, 0, 100, MAX_MSG, &rx),
		HAQ_RX_PENDING);
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 2, 300, 0, 100, MAX_MSG, &rx),
		HAQ_RX_PENDING);
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 2, 300, 200, 100, MAX_MSG, &rx),
		-EBADMSG);
	ck_assert_ptr_null(peers.v[0].buf);
	/* A fragment going back over what we have is refused too. */
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 3, 300, 0, 100, MAX_MSG, &rx),
		HAQ_RX_PENDING);
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 3, 300, 50, 100, MAX_MSG, &rx),
		-EBADMSG);
	ck_assert_ptr_null(peers.v[0].buf);
	/*
	 * The next message still gets through. Nothing was delivered
	 * before it, so there is no expected seq to report a gap against.
	 */
	reassemble(&peers, 1, 1, 4, 300, 3, 0);
	haq__peers_free(&peers);
}
END_TEST

START_TEST(test_rx_frag_inconsistent)
{
	struct haq_peers peers = {0};
	struct haq_rx rx;

	/* Total changes mid-message. */
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 1, 300, 0, 100, MAX_MSG, &rx),
		HAQ_RX_PENDING);
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 1, 400, 100, 100, MAX_MSG, &rx),
		-EBADMSG);
	ck_assert_ptr_null(peers.v[0].buf);
	ck_assert_uint_eq(peers.v[0].frag_seq, 0);
	/* Seq changes mid-message. */
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 2, 300, 0, 100, MAX_MSG, &rx),
		HAQ_RX_PENDING);
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 3, 300, 100, 100, MAX_MSG, &rx),
		-EBADMSG);
	ck_assert_ptr_null(peers.v[0].buf);
	ck_assert_uint_eq(peers.v[0].frag_seq, 0);
	/* Neither consumed a seq number: nothing was delivered. */
	rx_data_ok(&peers, 1, 1, INC1, 3, 0);
	haq__peers_free(&peers);
}
END_TEST

/* A new first fragment abandons the partial in progress. */
START_TEST(test_rx_frag_restart)
{
	struct haq_peers peers = {0};
	struct haq_rx rx;

	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 1, 300, 0, 100, MAX_MSG, &rx),
		HAQ_RX_PENDING);
	reassemble(&peers, 1, 1, 2, 500, 5, 0);
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 1, 300, 100, 100, MAX_MSG, &rx),
		-EALREADY);
	haq__peers_free(&peers);
}
END_TEST

/* A whole message after a partial means the partial cannot complete. */
START_TEST(test_rx_data_during_partial)
{
	struct haq_peers peers = {0};
	struct haq_rx rx;

	rx_data_ok(&peers, 1, 1, INC1, 1, 0);
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 2, 300, 0, 100, MAX_MSG, &rx),
		HAQ_RX_PENDING);
	rx_data_ok(&peers, 1, 1, INC1, 3, 1);
	ck_assert_ptr_null(peers.v[0].buf);
	ck_assert_uint_eq(peers.v[0].frag_seq, 0);
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 2, 300, 100, 100, MAX_MSG, &rx),
		-EALREADY);
	haq__peers_free(&peers);
}
END_TEST

START_TEST(test_rx_oversize)
{
	struct haq_peers peers = {0};
	struct haq_rx rx;
	size_t off;

	rx_data_ok(&peers, 1, 1, INC1, 1, 0);
	ck_assert_int_eq(rx_frag(&peers, 1, 1, INC1, 2, 1000, 0, 100, 999, &rx),
			 -EMSGSIZE);
	ck_assert_ptr_null(peers.v[0].buf);
	ck_assert_uint_eq(peers.v[0].skip_seq, 2);
	ck_assert_uint_eq(peers.v[0].next_seq, 3);
	for (off = 100; off < 1000; off += 100) {
		ck_assert_int_eq(rx_frag(&peers, 1, 1, INC1, 2, 1000, off, 100,
					 999, &rx),
				 HAQ_RX_PENDING);
		ck_assert_ptr_null(rx.owned);
		ck_assert_ptr_null(rx.data);
		ck_assert_ptr_null(peers.v[0].buf);
	}
	/* Already reported: the following message is not a gap. */
	rx_data_ok(&peers, 1, 1, INC1, 3, 0);
	ck_assert_uint_eq(peers.v[0].skip_seq, 0);
	/* Exactly max_msg is fine. */
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 4, 1000, 0, 500, 1000, &rx),
		HAQ_RX_PENDING);
	ck_assert_int_eq(
		rx_frag(&peers, 1, 1, INC1, 4, 1000, 500, 500, 1000, &rx),
		HAQ_RX_DELIVER);
	free(rx.owned);
	/* A huge total is refused before anything is allocated. */
	ck_assert_int_eq(rx_frag(&peers, 1, 1, INC1, 5, UINT64_MAX, 0, 100,
				 MAX_MSG, &rx),
			 -EMSGSIZE);
	ck_assert_int_eq(rx_frag(&peers, 1, 1, INC1, 5, UINT64_MAX, 100, 100,
				 MAX_MSG, &rx),
			 HAQ_RX_PENDING);
	reassemble(&peers, 1, 1, 6, 2000, 4, 0);
	haq__peers_free(&peers);
}
END_TEST

START_TEST(test_rx_oversize_data)
{
	struct haq_peers peers = {0};
	uint8_t f[FRAME_MAX];
	struct haq_rx rx;
	size_t n = mkdata(f, INC1, 1, 100);

	ck_assert_int_eq(haq__peers_rx(&peers, 1, 1, f, n, 99, &rx), -EMSGSIZE);
	ck_assert_ptr_null(rx.data);
	ck_assert_int_eq(haq__peers_rx(&peers, 1, 1, f, n, 100, &rx),
			 -EALREADY);
	n = mkdata(f, INC1, 2, 100);
	ck_assert_int_eq(haq__peers_rx(&peers, 1, 1, f, n, 100, &rx),
			 HAQ_RX_DELIVER);
	ck_assert_int_eq(rx.gap, 0);
	haq__peers_free(&peers);
}
END_TEST

START_TEST(test_remove)
{
	struct haq_peers peers = {0};
	struct haq_rx rx;

	ck_assert_int_eq(haq__peers_remove(&peers, 1, 1), 0);
	rx_data_ok(&peers, 1, 1, INC1, 1, 0);
	rx_data_ok(&peers, 2, 1, INC1, 1, 0);
	rx_data_ok(&peers, 3, 1, INC1, 1, 0);
	ck_assert_int_eq(
		rx_frag(&peers, 2, 1, INC1, 2, 300, 0, 100, MAX_MSG, &rx),
		HAQ_RX_PENDING);
	ck_assert_int_eq(haq__peers_remove(&peers, 2, 1), 1);
	ck_assert_uint_eq(peers.n, 2);
	ck_assert_ptr_null(find_peer(&peers, 2, 1));
	ck_assert_int_eq(haq__peers_remove(&peers, 2, 1), 0);
	ck_assert_int_eq(haq__peers_remove(&peers, 1, 1), 0);
	ck_assert_uint_eq(peers.n, 1);
	ck_assert_uint_eq(peers.v[0].nodeid, 3);
	/* A removed sender that comes back starts from scratch. */
	rx_data_ok(&peers, 2, 1, INC1, 1, 0);
	ck_assert_int_eq(rx_data(&peers, 3, 1, INC1, 1), -EALREADY);
	ck_assert_int_eq(haq__peers_remove(&peers, 3, 1), 0);
	ck_assert_int_eq(haq__peers_remove(&peers, 2, 1), 0);
	ck_assert_uint_eq(peers.n, 0);
	haq__peers_free(&peers);
}
END_TEST

/* Leaves partials behind on purpose: free must release them. */
START_TEST(test_free_partials)
{
	struct haq_peers peers = {0};
	struct haq_rx rx;
	uint32_t i;

	haq__peers_free(&peers);
	for (i = 0; i < 20; i++) {
		ck_assert_int_eq(rx_frag(&peers, i, i, INC1, 1, 3000, 0, 100,
					 MAX_MSG, &rx),
				 HAQ_RX_PENDING);
	}
	haq__peers_free(&peers);
	ck_assert_ptr_null(peers.v);
	haq__peers_free(&peers);
}
END_TEST

START_TEST(test_rx_interleave)
{
	struct haq_peers peers = {0};
	struct haq_rx rx;
	size_t off;
	int r;

	for (off = 0; off < 1000; off += 100) {
		r = rx_frag(&peers, 7, 100, INC1, 11, 1000, off, 100, MAX_MSG,
			    &rx);
		ck_assert_int_eq(r,
				 off < 900 ? HAQ_RX_PENDING : HAQ_RX_DELIVER);
		if (r == HAQ_RX_DELIVER) {
			ck_assert_uint_eq(rx.len, 1000);
			check_pattern(rx.data, rx.len, 11);
			free(rx.owned);
		}
		/* Same seq from another sender is unrelated. */
		r = rx_frag(&peers, 7, 101, INC1, 11, 2000, off * 2, 200,
			    MAX_MSG, &rx);
		ck_assert_int_eq(r,
				 off < 900 ? HAQ_RX_PENDING : HAQ_RX_DELIVER);
		if (r == HAQ_RX_DELIVER) {
			ck_assert_uint_eq(rx.len, 2000);
			check_pattern(rx.data, rx.len, 11);
			free(rx.owned);
		}
		/* And a third one sends whole messages meanwhile. */
		rx_data_ok(&peers, 2, 100, INC2, off / 100 + 1, 0);
	}
	ck_assert_uint_eq(peers.n, 3);
	haq__peers_free(&peers);
}
END_TEST

static uint64_t rng_state;

static uint32_t
rng(void)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rng_state >> 33);
}

START_TEST(test_many_peers)
{
	enum { N = 2000 };
	struct haq_peers peers = {0};
	uint32_t *ids = malloc(N * 2 * sizeof(*ids));
	size_t i;
	size_t j;

	ck_assert_ptr_nonnull(ids);
	rng_state = 12345;
	/* Distinct (nodeid, pid) pairs with many shared nodeids, shuffled. */
	for (i = 0; i < N; i++) {
		ids[2 * i] = (uint32_t)(i % 37) * 0x01000193u;
		ids[2 * i + 1] = (uint32_t)i;
	}
	ids[0] = UINT32_MAX;
	ids[1] = UINT32_MAX;
	ids[2] = 0;
	ids[3] = 0;
	for (i = N - 1; i > 0; i--) {
		uint32_t t[2];

		j = rng() % (i + 1);
		memcpy(t, &ids[2 * i], sizeof(t));
		memcpy(&ids[2 * i], &ids[2 * j], sizeof(t));
		memcpy(&ids[2 * j], t, sizeof(t));
	}
	for (i = 0; i < N; i++) {
		rx_data_ok(&peers, ids[2 * i], ids[2 * i + 1], INC1, i + 1, 0);
	}
	ck_assert_uint_eq(peers.n, N);
	ck_assert_uint_ge(peers.cap, N);
	for (i = 1; i < N; i++) {
		const struct haq_peer *a = &peers.v[i - 1];
		const struct haq_peer *b = &peers.v[i];

		ck_assert(a->nodeid < b->nodeid ||
			  (a->nodeid == b->nodeid && a->pid < b->pid));
	}
	/* Each one is found again with its own state. */
	for (i = 0; i < N; i++) {
		ck_assert_int_eq(rx_data(&peers, ids[2 * i], ids[2 * i + 1],
					 INC1, i + 1),
				 -EALREADY);
		rx_data_ok(&peers, ids[2 * i], ids[2 * i + 1], INC1, i + 2, 0);
	}
	ck_assert_uint_eq(peers.n, N);
	/* Remove every other one; the rest are still found. */
	for (i = 0; i < N; i += 2) {
		ck_assert_int_eq(
			haq__peers_remove(&peers, ids[2 * i], ids[2 * i + 1]),
			0);
	}
	ck_assert_uint_eq(peers.n, N / 2);
	for (i = 0; i < N; i++) {
		if (i % 2) {
			ck_assert_int_eq(rx_data(&peers, ids[2 * i],
						 ids[2 * i + 1], INC1, i + 2),
					 -EALREADY);
		} else {
			ck_assert_ptr_null(
				find_peer(&peers, ids[2 * i], ids[2 * i + 1]));
		}
	}
	ck_assert_uint_eq(peers.n, N / 2);
	haq__peers_free(&peers);
	free(ids);
}
END_TEST

/*
 * The hot path (the next data frame of the last sender) must refuse what
 * the full decoder refuses, and hand bad cases to it: nonzero flags, a new
 * incarnation at the expected seq, an oversize payload, a duplicate.
 */
START_TEST(test_rx_hot_path_same_rules)
{
	struct haq_peers peers = {0};
	uint8_t f[FRAME_MAX];
	struct haq_rx rx;
	size_t n;

	rx_data_ok(&peers, 1, 10, INC1, 1, 0);
	rx_data_ok(&peers, 1, 10, INC1, 2, 0); /* hot from here on */

	n = mkdata(f, INC1, 3, 5);
	f[6] = 2; /* a reserved flag */
	ck_assert_int_eq(haq__peers_rx(&peers, 1, 10, f, n, MAX_MSG, &rx),
			 -EBADMSG);
	/* A compressed one goes the full way, which says so. */
	f[6] = 1;
	f[7] = 0x80;
	ck_assert_int_eq(haq__peers_rx(&peers, 1, 10, f, n, MAX_MSG, &rx),
			 -EBADMSG);
	n = mkdata(f, INC1, 3, 5);
	ck_assert_int_eq(haq__peers_rx(&peers, 1, 10, f, n, 4, &rx), -EMSGSIZE);
	/* The oversize message consumed seq 3. */
	ck_assert_int_eq(rx_data(&peers, 1, 10, INC1, 3), -EALREADY);
	rx_data_ok(&peers, 1, 10, INC1, 4, 0);
	/* A restarted sender that happens to be at the expected seq. */
	rx_data_ok(&peers, 1, 10, INC2, 5, 0);
	ck_assert_uint_eq(find_peer(&peers, 1, 10)->incarnation, INC2);
	/* Another sender with the same seq is not the last one. */
	rx_data_ok(&peers, 2, 10, INC1, 6, 0);
	rx_data_ok(&peers, 1, 10, INC2, 6, 0);
	/* Header-only frame: refused, never read past its end. */
	ck_assert_int_eq(haq__peers_rx(&peers, 1, 10, f, HAQ_WIRE_HDR_LEN,
				       MAX_MSG, &rx),
			 -EBADMSG);
	haq__peers_free(&peers);
}
END_TEST

static Suite *
wire_suite(void)
{
	Suite *s = suite_create("wire");
	TCase *tc;

	tc = tcase_create("codec");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_encode_layout);
	tcase_add_test(tc, test_roundtrip_data);
	tcase_add_test(tc, test_roundtrip_frag);
	tcase_add_test(tc, test_roundtrip_control);
	tcase_add_test(tc, test_decode_edges_valid);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_decode_short);
	tcase_add_test(tc, test_decode_bad_magic);
	tcase_add_test(tc, test_decode_bad_version);
	tcase_add_test(tc, test_decode_bad_type);
	tcase_add_test(tc, test_decode_flags);
	tcase_add_test(tc, test_decode_zero_incarnation);
	tcase_add_test(tc, test_decode_zero_seq);
	tcase_add_test(tc, test_decode_empty_payload);
	tcase_add_test(tc, test_decode_frag_total_zero);
	tcase_add_test(tc, test_decode_frag_offset_past);
	tcase_add_test(tc, test_decode_frag_payload_past);
	tcase_add_test(tc, test_decode_frag_overflow);
	tcase_add_test(tc, test_rx_malformed_no_state);
	suite_add_tcase(s, tc);

	tc = tcase_create("sequence");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_rx_deliver);
	tcase_add_test(tc, test_rx_first_any_seq);
	tcase_add_test(tc, test_rx_duplicate);
	tcase_add_test(tc, test_rx_gap);
	tcase_add_test(tc, test_rx_new_incarnation);
	tcase_add_test(tc, test_rx_control);
	tcase_add_test(tc, test_rx_hot_path_same_rules);
	suite_add_tcase(s, tc);

	tc = tcase_create("reassembly");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_rx_reassemble);
	tcase_add_test(tc, test_rx_single_fragment);
	tcase_add_test(tc, test_rx_frag_out_of_order);
	tcase_add_test(tc, test_rx_joined_mid_message);
	tcase_add_test(tc, test_rx_view_change_drops_partials);
	tcase_add_test(tc, test_partial_have);
	tcase_add_test(tc, test_rx_frag_inconsistent);
	tcase_add_test(tc, test_rx_frag_restart);
	tcase_add_test(tc, test_rx_data_during_partial);
	tcase_add_test(tc, test_rx_oversize);
	tcase_add_test(tc, test_rx_oversize_data);
	tcase_add_test(tc, test_rx_interleave);
	suite_add_tcase(s, tc);

	tc = tcase_create("peers");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_remove);
	tcase_add_test(tc, test_free_partials);
	tcase_add_test(tc, test_many_peers);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(wire_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
