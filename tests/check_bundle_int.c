/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Integration tests of bundling on a real 3-node cluster: floods of small
 * messages from every member delivered in one identical order, per-sender
 * FIFO without gaps; bundles beside fragmented and borrowed messages; a
 * mixed group (a member that does not decode bundles: HAQ_TEST_NO_CAPS)
 * that gets none; bundling turned off; bad settings. Compression of large
 * messages: exact content, incompressible data sent as it is, a receiver
 * with a lower maximum size, a mixed group that gets none.
 */
#include "check_common.h"

#include <poll.h>

#define MAXM 3

/* What one member delivered. */
struct member {
	haq_ctx_t *ctx;
	haq_group_t *g;
	uint32_t nodeid;
	size_t nmembers;
	uint64_t *val; /* first 8 bytes of each delivery */
	uint32_t *len;
	size_t n;
	size_t cap;
	int bad_content;
	int writable;
};

/* Message k of sender s: 8 + (k % 121) bytes, the rest derived from k. */
static size_t
msg_len(uint64_t k)
{
	return 8 + (size_t)(k % 121);
}

static void
msg_fill(uint8_t *buf, uint32_t s, uint64_t k)
{
	uint64_t v = ((uint64_t)s << 32) | k;
	size_t len = msg_len(k);

	memcpy(buf, &v, 8);
	for (size_t i = 8; i < len; i++) {
		buf[i] = (uint8_t)(k * 7 + i);
	}
}

static void
on_message(haq_group_t *g, uint32_t nodeid, uint32_t pid, const void *data,
	   size_t len, void *ud)
{
	struct member *m = ud;
	const uint8_t *p = data;
	uint64_t v = 0;

	(void)g;
	(void)pid;
	(void)nodeid;
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 4096;
		m->val = realloc(m->val, m->cap * sizeof(*m->val));
		m->len = realloc(m->len, m->cap * sizeof(*m->len));
		ck_assert(m->val && m->len);
	}
	memcpy(&v, data, len < 8 ? len : 8);
	/* Small test messages carry their own content check. */
	if (len >= 8 && len < 1000 && len == msg_len(v & 0xffffffffu)) {
		for (size_t i = 8; i < len; i++) {
			if (p[i] != (uint8_t)((v & 0xffffffffu) * 7 + i)) {
				m->bad_content++;
				break;
			}
		}
	}
	m->val[m->n] = v;
	m->len[m->n] = (uint32_t)len;
	m->n++;
}

static void
on_view(haq_group_t *g, const haq_view_t *v, void *ud)
{
	(void)g;
	((struct member *)ud)->nmembers = haq_view_member_count(v);
}

static void
on_writable(haq_group_t *g, void *ud)
{
	(void)g;
	((struct member *)ud)->writable++;
}

static void
member_join(struct member *m, int node, const char *name, bool no_caps)
{
	memset(m, 0, sizeof(*m));
	cluster_enter_node(node);
	ck_assert_int_eq(haq_ctx_new(&m->ctx, NULL), 0);
	haq_ctx_local_nodeid(m->ctx, &m->nodeid);
	if (no_caps) {
		setenv("HAQ_TEST_NO_CAPS", "1", 1);
	}
	ck_assert_int_eq(haq_group_join(m->ctx, name, &m->g), 0);
	unsetenv("HAQ_TEST_NO_CAPS");
	haq_group_set_message_cb(m->g, on_message, m);
	haq_group_set_view_cb(m->g, on_view, m);
	haq_group_set_writable_cb(m->g, on_writable, m);
}

static void
member_free(struct member *m)
{
	haq_ctx_free(m->ctx);
	free(m->val);
	free(m->len);
}

struct want {
	struct member *m;
	int nm;
	size_t members;
	size_t msgs;
};

static bool
reached(void *arg)
{
	struct want *w = arg;

	for (int i = 0; i < w->nm; i++) {
		if (w->members && w->m[i].nmembers != w->members) {
			return false;
		}
		if (w->m[i].n < w->msgs) {
			return false;
		}
	}
	return true;
}

static bool
wait_for(struct member *m, int nm, size_t members, size_t msgs, int ms)
{
	haq_ctx_t *ctxs[MAXM];
	struct want w = {m, nm, members, msgs};

	for (int i = 0; i < nm; i++) {
		ctxs[i] = m[i].ctx;
	}
	return pump_until(ctxs, nm, ms, reached, &w);
}

/*
 * Every sender in senders[] sends per messages, in bursts until its queue
 * is full, every member dispatching in between. Sender index i has
 * number i + 1 in the messages; next[] keeps where each sender is.
 */
static void
flood(struct member *m, int nm, const int *senders, int ns, uint64_t per,
      uint64_t *next)
{
	haq_ctx_t *ctxs[MAXM];
	uint8_t buf[256];
	bool more = true;

	for (int i = 0; i < nm; i++) {
		ctxs[i] = m[i].ctx;
	}
	while (more) {
		more = false;
		for (int j = 0; j < ns; j++) {
			int s = senders[j];

			/* A batch per turn, as a busy application sends. */
			for (int b = 0; b < 200 && next[s] <= per; b++) {
				int rc;

				msg_fill(buf, (uint32_t)(s + 1), next[s]);
				rc = haq_group_send(m[s].g, buf,
						    msg_len(next[s]));
				if (rc == -ENOBUFS) {
					break;
				}
				ck_assert_int_eq(rc, 0);
				next[s]++;
			}
			more |= next[s] <= per;
		}
		pump_until(ctxs, nm, 1, NULL, NULL);
	}
}

/* Every member delivered the same sequence, FIFO per sender, no gaps. */
static void
check_agreement(struct member *m, int nm, size_t total, uint64_t first[])
{
	for (int i = 0; i < nm; i++) {
		uint64_t next[MAXM + 1];

		for (int s = 0; s <= MAXM; s++) {
			next[s] = first ? first[s] : 1;
		}
		ck_assert_uint_eq(m[i].n, total);
		ck_assert_int_eq(m[i].bad_content, 0);
		for (size_t j = 0; j < m[i].n; j++) {
			uint32_t s = (uint32_t)(m[i].val[j] >> 32);

			ck_assert_uint_eq(m[i].val[j], m[0].val[j]);
			ck_assert_uint_eq(m[i].len[j], m[0].len[j]);
			ck_assert_uint_le(s, MAXM);
			ck_assert_uint_eq(m[i].val[j] & 0xffffffffu, next[s]);
			next[s]++;
		}
	}
}

static uint64_t
counter(struct member *m, int c)
{
	uint64_t v = 0;

	ck_assert_int_eq(haq_group_counter(m->g, c, &v), 0);
	return v;
}

START_TEST(test_flood_from_every_member_same_order)
{
	struct member m[3];
	char name[64];
	const uint64_t per = 30000;
	const int senders[3] = {0, 1, 2};
	uint64_t next[MAXM + 1] = {1, 1, 1, 1};
	uint64_t bundled = 0;

	unique_group(name, sizeof(name), "bflood");
	for (int i = 0; i < 3; i++) {
		member_join(&m[i], i + 1, name, false);
	}
	ck_assert(wait_for(m, 3, 3, 0, 10000));
	flood(m, 3, senders, 3, per, next);
	ck_assert(wait_for(m, 3, 3, 3 * per, 120000));
	check_agreement(m, 3, 3 * per, NULL);
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(counter(&m[i], HAQ_COUNTER_MALFORMED), 0);
		ck_assert_uint_eq(counter(&m[i], HAQ_COUNTER_SEQ_GAPS), 0);
		ck_assert_uint_eq(counter(&m[i], HAQ_COUNTER_SENT), per);
		ck_assert_uint_eq(counter(&m[i], HAQ_COUNTER_DELIVERED),
				  3 * per);
		bundled += counter(&m[i], HAQ_COUNTER_BUNDLED);
		ck_assert_uint_eq(haq_group_next_id(m[i].g), per + 1);
	}
	fprintf(stderr, "flood: %llu of %llu messages went in bundles\n",
		(unsigned long long)bundled, (unsigned long long)(3 * per));
	/* Such a flood always finds messages waiting. */
	ck_assert_uint_gt(bundled, 0);
	for (int i = 0; i < 3; i++) {
		member_free(&m[i]);
	}
}
END_TEST

START_TEST(test_mixed_group_gets_no_bundle)
{
	struct member m[3];
	char name[64];
	const uint64_t per = 10000;
	const int senders[3] = {0, 1, 2};
	uint64_t next[MAXM + 1] = {1, 1, 1, 1};

	unique_group(name, sizeof(name), "bmixed");
	/* Node 2's member acts as a build without bundles. */
	member_join(&m[0], 1, name, false);
	member_join(&m[1], 2, name, true);
	member_join(&m[2], 3, name, false);
	ck_assert(wait_for(m, 3, 3, 0, 10000));
	flood(m, 3, senders, 3, per, next);
	ck_assert(wait_for(m, 3, 3, 3 * per, 120000));
	check_agreement(m, 3, 3 * per, NULL);
	for (int i = 0; i < 3; i++) {
		/* The old build refuses bundles as malformed: none came. */
		ck_assert_uint_eq(counter(&m[i], HAQ_COUNTER_MALFORMED), 0);
		ck_assert_uint_eq(counter(&m[i], HAQ_COUNTER_BUNDLED), 0);
		ck_assert_uint_eq(counter(&m[i], HAQ_COUNTER_SEQ_GAPS), 0);
	}
	/* Once it left, the others bundle again, in agreement. */
	haq_ctx_free(m[1].ctx);
	m[1].ctx = NULL;
	{
		struct member two[2] = {m[0], m[2]};
		const int s2[2] = {0, 1};
		uint64_t next2[MAXM + 1] = {per + 1, per + 1, 1, 1};
		uint64_t first[MAXM + 1] = {1, per + 1, per + 1, 1};
		size_t base = two[0].n;

		for (int i = 0; i < 2; i++) {
			/* The callbacks follow the copies. */
			haq_group_set_message_cb(two[i].g, on_message, &two[i]);
			haq_group_set_view_cb(two[i].g, on_view, &two[i]);
			haq_group_set_writable_cb(two[i].g, on_writable,
						  &two[i]);
		}
		ck_assert(wait_for(two, 2, 2, 0, 10000));
		/* Forget the first round: compare the second alone. */
		for (int i = 0; i < 2; i++) {
			ck_assert_uint_eq(two[i].n, base);
			two[i].n = 0;
		}
		flood(two, 2, s2, 2, 2 * per, next2);
		ck_assert(wait_for(two, 2, 2, 2 * per, 120000));
		/* Senders are numbered by index in two[]: 1 and 2. */
		check_agreement(two, 2, 2 * per, first);
		ck_assert_uint_gt(counter(&two[0], HAQ_COUNTER_BUNDLED) +
					  counter(&two[1], HAQ_COUNTER_BUNDLED),
				  0);
		m[0] = two[0];
		m[2] = two[1];
	}
	member_free(&m[0]);
	free(m[1].val);
	free(m[1].len);
	member_free(&m[2]);
}
END_TEST

START_TEST(test_bundling_off_sends_alone)
{
	struct member m[2];
	char name[64];
	const uint64_t per = 10000;
	const int senders[1] = {0};
	uint64_t next[MAXM + 1] = {1, 1, 1, 1};

	unique_group(name, sizeof(name), "boff");
	member_join(&m[0], 1, name, false);
	member_join(&m[1], 3, name, false);
	ck_assert_int_eq(haq_group_set_bundle(m[0].g, 0), 0);
	ck_assert(wait_for(m, 2, 2, 0, 10000));
	flood(m, 2, senders, 1, per, next);
	ck_assert(wait_for(m, 2, 2, per, 60000));
	check_agreement(m, 2, per, NULL);
	ck_assert_uint_eq(counter(&m[0], HAQ_COUNTER_BUNDLED), 0);
	member_free(&m[0]);
	member_free(&m[1]);
}
END_TEST

START_TEST(test_bundle_settings_checked)
{
	haq_ctx_t *ctx;
	haq_group_t *g;
	char name[64];

	unique_group(name, sizeof(name), "bset");
	cluster_enter_node(1);
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	ck_assert_int_eq(haq_group_join(ctx, name, &g), 0);
	ck_assert_int_eq(haq_group_set_bundle(NULL, 4096), -EINVAL);
	ck_assert_int_eq(haq_group_set_bundle(g, 1), -EINVAL);
	ck_assert_int_eq(haq_group_set_bundle(g, HAQ_BUNDLE_MIN - 1), -EINVAL);
	ck_assert_int_eq(haq_group_set_bundle(g, HAQ_MESSAGE_FRAME_MAX + 1),
			 -EINVAL);
	ck_assert_int_eq(haq_group_set_bundle(g, SIZE_MAX), -EINVAL);
	ck_assert_int_eq(haq_group_set_bundle(g, HAQ_BUNDLE_MIN), 0);
	ck_assert_int_eq(haq_group_set_bundle(g, HAQ_MESSAGE_FRAME_MAX), 0);
	ck_assert_int_eq(haq_group_set_bundle(g, 0), 0);
	ck_assert_int_eq(haq_group_set_bundle(g, HAQ_BUNDLE_DEFAULT), 0);
	haq_ctx_free(ctx);
}
END_TEST

/* Large and borrowed messages among bundled small ones. */
static void
release_count(void *data, void *ud)
{
	(void)data;
	(*(int *)ud)++;
}

START_TEST(test_bundles_keep_order_with_large_and_borrowed)
{
	struct member m[2];
	char name[64];
	const size_t big = 1500000; /* two fragments */
	uint8_t *large = malloc(big);
	uint8_t borrowed[64];
	uint8_t buf[256];
	uint64_t k = 1;
	int released = 0;
	haq_ctx_t *ctxs[2];
	size_t expect_n = 0;

	ck_assert_ptr_nonnull(large);
	unique_group(name, sizeof(name), "bmix");
	member_join(&m[0], 1, name, false);
	member_join(&m[1], 2, name, false);
	ctxs[0] = m[0].ctx;
	ctxs[1] = m[1].ctx;
	ck_assert(wait_for(m, 2, 2, 0, 10000));
	/*
	 * Rounds of: small ones, a large one, small ones, a borrowed small
	 * one, small ones; all sent at once, so small ones wait and bundle.
	 */
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 300; i++, k++) {
			msg_fill(buf, 1, k);
			ck_assert_int_eq(
				haq_group_send(m[0].g, buf, msg_len(k)), 0);
		}
		memset(large, 0, big);
		memcpy(large, &(uint64_t){((uint64_t)1 << 32) | k}, 8);
		ck_assert_int_eq(haq_group_send(m[0].g, large, big), 0);
		k++;
		for (int i = 0; i < 300; i++, k++) {
			msg_fill(buf, 1, k);
			ck_assert_int_eq(
				haq_group_send(m[0].g, buf, msg_len(k)), 0);
		}
		memset(borrowed, 0, sizeof(borrowed));
		memcpy(borrowed, &(uint64_t){((uint64_t)1 << 32) | k}, 8);
		ck_assert_int_eq(haq_group_send_zc(m[0].g, borrowed,
						   sizeof(borrowed),
						   release_count, &released),
				 0);
		k++;
		for (int i = 0; i < 100; i++, k++) {
			msg_fill(buf, 1, k);
			ck_assert_int_eq(
				haq_group_send(m[0].g, buf, msg_len(k)), 0);
		}
		expect_n = k - 1;
		ck_assert(wait_for(m, 2, 2, expect_n, 60000));
		/* The borrowed buffer is reused next round: given back. */
		ck_assert_int_eq(released, round + 1);
	}
	(void)ctxs;
	for (int i = 0; i < 2; i++) {
		ck_assert_uint_eq(m[i].n, expect_n);
		ck_assert_int_eq(m[i].bad_content, 0);
		for (size_t j = 0; j < m[i].n; j++) {
			ck_assert_uint_eq(m[i].val[j],
					  ((uint64_t)1 << 32) | (j + 1));
		}
	}
	ck_assert_uint_gt(counter(&m[0], HAQ_COUNTER_BUNDLED), 0);
	free(large);
	member_free(&m[0]);
	member_free(&m[1]);
}
END_TEST

/* Large messages: JSON text (compresses) or random bytes (does not). */
static uint8_t *
big_message(size_t len, bool text, uint32_t tag)
{
	uint8_t *b = malloc(len);
	uint64_t x = 88172645463325252ull ^ tag;
	size_t n = 0;

	ck_assert_ptr_nonnull(b);
	if (text) {
		unsigned int id = 0;

		while (n + 120 < len) {
			n += (size_t)snprintf((char *)b + n, len - n,
					      "{\"tag\":%u,\"id\":%u,\"state\":"
					      "\"%s\",\"score\":%u},",
					      tag, id, id % 3 ? "on" : "off",
					      (id * 2654435761u) % 997);
			id++;
		}
		memset(b + n, ' ', len - n);
	} else {
		for (size_t i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			b[i] = (uint8_t)x;
		}
	}
	memcpy(b, &tag, sizeof(tag));
	return b;
}

/* Large deliveries, checked against what was sent. */
struct large_rx {
	uint8_t *want[8];
	size_t want_len[8];
	int n;
	int bad;
};

static void
on_large(haq_group_t *g, uint32_t nodeid, uint32_t pid, const void *data,
	 size_t len, void *ud)
{
	struct large_rx *r = ud;

	(void)g;
	(void)nodeid;
	(void)pid;
	if (r->n >= 8 || len != r->want_len[r->n] ||
	    memcmp(data, r->want[r->n], len) != 0) {
		r->bad++;
	}
	r->n++;
}

struct large_done {
	struct large_rx *r;
	int nr;
	int want;
};

static bool
large_all(void *arg)
{
	struct large_done *d = arg;

	for (int i = 0; i < d->nr; i++) {
		if (d->r[i].n < d->want) {
			return false;
		}
	}
	return true;
}

static void
zc_free(void *data, void *ud)
{
	(*(int *)ud)++;
	(void)data;
}

START_TEST(test_compressed_large_messages)
{
	struct member m[3];
	struct large_rx r[3];
	haq_ctx_t *ctxs[3];
	char name[64];
	const size_t sizes[5] = {4u << 20, 100000, 1u << 20, 2u << 20, 300000};
	const bool text[5] = {true, true, false, true, true};
	uint8_t *msg[5];
	int zc_released = 0;
	uint64_t v;

	unique_group(name, sizeof(name), "bcomp");
	for (int i = 0; i < 3; i++) {
		member_join(&m[i], i + 1, name, false);
		ctxs[i] = m[i].ctx;
	}
	ck_assert(wait_for(m, 3, 3, 0, 10000));
	/*
	 * One message from each member: each announced its capabilities
	 * before it, so once all are back everybody knows everybody's.
	 */
	for (int i = 0; i < 3; i++) {
		uint64_t hello = (uint64_t)(i + 1) << 32;

		ck_assert_int_eq(haq_group_send(m[i].g, &hello, 8), 0);
	}
	ck_assert(wait_for(m, 3, 3, 3, 10000));
	memset(r, 0, sizeof(r));
	for (int k = 0; k < 5; k++) {
		msg[k] = big_message(sizes[k], text[k], (uint32_t)k + 1);
	}
	for (int i = 0; i < 3; i++) {
		for (int k = 0; k < 5; k++) {
			r[i].want[k] = msg[k];
			r[i].want_len[k] = sizes[k];
		}
		haq_group_set_message_cb(m[i].g, on_large, &r[i]);
	}
	ck_assert_int_eq(haq_group_set_compress(m[0].g, 4096), 0);
	ck_assert_int_eq(haq_group_send(m[0].g, msg[0], sizes[0]), 0);
	ck_assert_int_eq(haq_group_send(m[0].g, msg[1], sizes[1]), 0);
	ck_assert_int_eq(haq_group_send(m[0].g, msg[2], sizes[2]), 0);
	/* Borrowed: given back once compressed, before it is sent. */
	ck_assert_int_eq(haq_group_send_zc(m[0].g, msg[3], sizes[3], zc_free,
					   &zc_released),
			 0);
	ck_assert_int_eq(zc_released, 1);
	{
		struct iovec iov[3] = {
			{msg[4], 1000},
			{msg[4] + 1000, 100000},
			{msg[4] + 101000, sizes[4] - 101000},
		};

		ck_assert_int_eq(haq_group_sendv(m[0].g, iov, 3), 0);
	}
	{
		struct large_done d = {r, 3, 5};

		ck_assert(pump_until(ctxs, 3, 60000, large_all, &d));
	}
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(r[i].n, 5);
		ck_assert_int_eq(r[i].bad, 0);
		ck_assert_uint_eq(counter(&m[i], HAQ_COUNTER_MALFORMED), 0);
	}
	/* Four of text; the random megabyte went as it was. */
	ck_assert_uint_eq(counter(&m[0], HAQ_COUNTER_COMPRESSED), 4);

	/* A receiver with a lower maximum drops what is larger unpacked. */
	ck_assert_int_eq(haq_group_set_max_message(m[2].g, 1u << 20), 0);
	for (int i = 0; i < 3; i++) {
		r[i].n = 0;
		r[i].want[0] = msg[3];
		r[i].want_len[0] = sizes[3];
		r[i].want[1] = msg[1];
		r[i].want_len[1] = sizes[1];
	}
	r[2].want[0] = msg[1];
	r[2].want_len[0] = sizes[1];
	ck_assert_int_eq(haq_group_send(m[0].g, msg[3], sizes[3]), 0);
	ck_assert_int_eq(haq_group_send(m[0].g, msg[1], sizes[1]), 0);
	{
		struct large_done d = {r, 2, 2};

		ck_assert(pump_until(ctxs, 3, 60000, large_all, &d));
		ck_assert(pump_until(ctxs, 3, 20000, large_all,
				     &(struct large_done){r + 2, 1, 1}));
	}
	ck_assert_int_eq(r[2].n, 1);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(r[i].bad, 0);
	}
	ck_assert_uint_eq(counter(&m[2], HAQ_COUNTER_OVERSIZE), 1);
	v = counter(&m[0], HAQ_COUNTER_COMPRESSED);
	ck_assert_uint_eq(v, 6);
	for (int k = 0; k < 5; k++) {
		free(msg[k]);
	}
	for (int i = 0; i < 3; i++) {
		member_free(&m[i]);
	}
}
END_TEST

START_TEST(test_compression_mixed_group_sends_plain)
{
	struct member m[2];
	struct large_rx r[2];
	haq_ctx_t *ctxs[2];
	char name[64];
	uint8_t *msg = big_message(1u << 20, true, 7);

	unique_group(name, sizeof(name), "bcompmix");
	member_join(&m[0], 1, name, false);
	member_join(&m[1], 2, name, true);
	ctxs[0] = m[0].ctx;
	ctxs[1] = m[1].ctx;
	ck_assert(wait_for(m, 2, 2, 0, 10000));
	memset(r, 0, sizeof(r));
	for (int i = 0; i < 2; i++) {
		r[i].want[0] = msg;
		r[i].want_len[0] = 1u << 20;
		haq_group_set_message_cb(m[i].g, on_large, &r[i]);
	}
	ck_assert_int_eq(haq_group_set_compress(m[0].g, HAQ_COMPRESS_MIN), 0);
	ck_assert_int_eq(haq_group_send(m[0].g, msg, 1u << 20), 0);
	ck_assert(pump_until(ctxs, 2, 30000, large_all,
			     &(struct large_done){r, 2, 1}));
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(r[i].bad, 0);
		ck_assert_uint_eq(counter(&m[i], HAQ_COUNTER_MALFORMED), 0);
	}
	ck_assert_uint_eq(counter(&m[0], HAQ_COUNTER_COMPRESSED), 0);
	ck_assert_int_eq(haq_group_set_compress(NULL, 0), -EINVAL);
	ck_assert_int_eq(haq_group_set_compress(m[0].g, 1), -EINVAL);
	ck_assert_int_eq(haq_group_set_compress(m[0].g, HAQ_COMPRESS_MIN - 1),
			 -EINVAL);
	ck_assert_int_eq(haq_group_set_compress(m[0].g, 0), 0);
	free(msg);
	member_free(&m[0]);
	member_free(&m[1]);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("bundle_int");

	ADD_TCASE(s, test_bundle_settings_checked, 20);
	ADD_TCASE(s, test_flood_from_every_member_same_order, 240);
	ADD_TCASE(s, test_mixed_group_gets_no_bundle, 240);
	ADD_TCASE(s, test_bundling_off_sends_alone, 120);
	ADD_TCASE(s, test_bundles_keep_order_with_large_and_borrowed, 120);
	ADD_TCASE(s, test_compressed_large_messages, 120);
	ADD_TCASE(s, test_compression_mixed_group_sends_plain, 60);
	return run_suite(s);
}
