/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Integration tests of groups on a real 3-node corosync cluster: join,
 * leave, send, delivery order, views, fragmentation and flow control.
 * One process can hold contexts on several nodes: each connects inside
 * its node's network namespace.
 */
#include "check_common.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

/* What one member observed. */
struct member {
	haq_ctx_t *ctx;
	haq_group_t *g;
	uint32_t nodeid;
	int views;
	size_t last_members;
	/* Deliveries: (sender nodeid, first 8 bytes as a counter). */
	uint32_t *from;
	uint64_t *val;
	size_t *len;
	size_t n;
	size_t cap;
	uint64_t last_from_self;
	int left_reason;
	uint32_t left_nodeid;
	int writable;
};

static void
on_message(haq_group_t *g, uint32_t nodeid, uint32_t pid, const void *data,
	   size_t len, void *ud)
{
	struct member *m = ud;
	uint64_t v = 0;

	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 1024;
		m->from = realloc(m->from, m->cap * sizeof(*m->from));
		m->val = realloc(m->val, m->cap * sizeof(*m->val));
		m->len = realloc(m->len, m->cap * sizeof(*m->len));
		ck_assert(m->from && m->val && m->len);
	}
	memcpy(&v, data, len < 8 ? len : 8);
	m->from[m->n] = nodeid;
	m->val[m->n] = v;
	m->len[m->n] = len;
	m->n++;
}

static void
on_view(haq_group_t *g, const haq_view_t *v, void *ud)
{
	struct member *m = ud;

	m->views++;
	m->last_members = haq_view_member_count(v);
	ck_assert_uint_eq(haq_view_seq(v), (uint64_t)m->views);
	for (size_t i = 0; i < haq_view_left_count(v); i++) {
		ck_assert_int_eq(haq_view_left(v, i, &m->left_nodeid, NULL,
					       &m->left_reason),
				 0);
	}
	/* Members are sorted by (nodeid, pid). */
	for (size_t i = 1; i < haq_view_member_count(v); i++) {
		uint32_t n0, p0, n1, p1;

		haq_view_member(v, i - 1, &n0, &p0);
		haq_view_member(v, i, &n1, &p1);
		ck_assert(n0 < n1 || (n0 == n1 && p0 < p1));
	}
}

static void
on_writable(haq_group_t *g, void *ud)
{
	((struct member *)ud)->writable++;
}

static void
member_join(struct member *m, int node, const char *name)
{
	memset(m, 0, sizeof(*m));
	cluster_enter_node(node);
	ck_assert_int_eq(haq_ctx_new(&m->ctx, NULL), 0);
	haq_ctx_local_nodeid(m->ctx, &m->nodeid);
	ck_assert_int_eq(haq_group_join(m->ctx, name, &m->g), 0);
	haq_group_set_message_cb(m->g, on_message, m);
	haq_group_set_view_cb(m->g, on_view, m);
	haq_group_set_writable_cb(m->g, on_writable, m);
}

static void
member_free(struct member *m)
{
	haq_ctx_free(m->ctx);
	free(m->from);
	free(m->val);
	free(m->len);
}

struct want {
	struct member *m;
	int nm;
	size_t members; /* every member's last view has this many, or 0 */
	size_t msgs;    /* every member delivered at least this many */
};

static bool
reached(void *arg)
{
	struct want *w = arg;

	for (int i = 0; i < w->nm; i++) {
		if (w->members && w->m[i].last_members != w->members) {
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
	haq_ctx_t *ctxs[8];
	struct want w = {m, nm, members, msgs};

	for (int i = 0; i < nm; i++) {
		ctxs[i] = m[i].ctx;
	}
	return pump_until(ctxs, nm, ms, reached, &w);
}

START_TEST(test_join_rejects_bad_names)
{
	haq_ctx_t *ctx;
	haq_group_t *g = NULL, *g2;
	char name[HAQ_GROUP_NAME_MAX + 2];

	cluster_enter_node(1);
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	ck_assert_int_eq(haq_group_join(NULL, "g", &g), -EINVAL);
	ck_assert_int_eq(haq_group_join(ctx, NULL, &g), -EINVAL);
	ck_assert_int_eq(haq_group_join(ctx, "g", NULL), -EINVAL);
	ck_assert_int_eq(haq_group_join(ctx, "", &g), -EINVAL);
	memset(name, 'n', sizeof(name));
	name[HAQ_GROUP_NAME_MAX + 1] = '\0';
	ck_assert_int_eq(haq_group_join(ctx, name, &g), -ENAMETOOLONG);
	/* Exactly 128 bytes is allowed. */
	name[HAQ_GROUP_NAME_MAX] = '\0';
	ck_assert_int_eq(haq_group_join(ctx, name, &g), 0);
	ck_assert_str_eq(haq_group_name(g), name);
	ck_assert_ptr_eq(haq_group_ctx(g), ctx);
	ck_assert_int_eq(haq_group_join(ctx, name, &g2), -EEXIST);
	ck_assert_int_eq(haq_group_leave(g), 0);
	/* After leaving, the same name can be joined again. */
	ck_assert_int_eq(haq_group_join(ctx, name, &g), 0);
	ck_assert_int_eq(haq_group_leave(NULL), -EINVAL);
	haq_ctx_free(ctx);
}
END_TEST

START_TEST(test_send_rejects_bad_arguments)
{
	haq_ctx_t *ctx;
	haq_group_t *g;
	struct iovec iov[2] = {{NULL, 1}, {(void *)"x", 1}};
	char name[64];
	uint64_t v;

	cluster_enter_node(1);
	unique_group(name, sizeof(name), "args");
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	ck_assert_int_eq(haq_group_join(ctx, name, &g), 0);
	ck_assert_int_eq(haq_group_send(NULL, "x", 1), -EINVAL);
	ck_assert_int_eq(haq_group_send(g, NULL, 1), -EINVAL);
	ck_assert_int_eq(haq_group_send(g, "x", 0), -EINVAL);
	ck_assert_int_eq(haq_group_sendv(g, NULL, 1), -EINVAL);
	ck_assert_int_eq(haq_group_sendv(g, iov, 0), -EINVAL);
	ck_assert_int_eq(haq_group_sendv(g, iov, 2), -EINVAL); /* NULL base */
	ck_assert_int_eq(haq_group_set_max_message(g, 0), -EINVAL);
	ck_assert_int_eq(haq_group_set_max_message(g, 100), 0);
	ck_assert_int_eq(haq_group_send(g, name, 101), -EMSGSIZE);
	ck_assert_int_eq(haq_group_set_queue_limit(g, 0), -EINVAL);
	ck_assert_int_eq(haq_group_set_queue_limit(NULL, 10), -EINVAL);
	ck_assert_int_eq(haq_group_counter(g, 99, &v), -EINVAL);
	ck_assert_int_eq(haq_group_counter(g, HAQ_COUNTER_SENT, NULL), -EINVAL);
	ck_assert_int_eq(haq_group_queued(NULL, NULL, NULL), -EINVAL);
	ck_assert_int_eq(haq_group_leader(NULL, NULL, NULL, NULL), -EINVAL);
	ck_assert_ptr_null(haq_group_view(NULL));
	ck_assert_ptr_null(haq_group_name(NULL));
	haq_ctx_free(ctx);
}
END_TEST

START_TEST(test_send_before_join_is_queued_not_lost)
{
	struct member m;
	char name[64];
	uint64_t i;
	size_t queued = 0;

	unique_group(name, sizeof(name), "early");
	member_join(&m, 1, name);
	/* The join is not confirmed yet: these wait in the queue. */
	for (i = 1; i <= 10; i++) {
		ck_assert_int_eq(haq_group_send(m.g, &i, sizeof(i)), 0);
	}
	ck_assert_int_eq(haq_group_queued(m.g, NULL, &queued), 0);
	ck_assert_uint_eq(queued, 10);
	ck_assert(wait_for(&m, 1, 1, 10, 5000));
	ck_assert_int_eq(m.views, 1);
	for (i = 0; i < 10; i++) {
		ck_assert_uint_eq(m.val[i], i + 1);
		ck_assert_uint_eq(m.from[i], 1);
	}
	member_free(&m);
}
END_TEST

START_TEST(test_three_nodes_agree_on_total_order)
{
	struct member m[3];
	char name[64];
	const size_t per = 300;

	unique_group(name, sizeof(name), "order");
	for (int i = 0; i < 3; i++) {
		member_join(&m[i], i + 1, name);
	}
	ck_assert(wait_for(m, 3, 3, 0, 10000));
	/* Everyone sends at once, interleaved. */
	for (uint64_t k = 1; k <= per; k++) {
		for (int i = 0; i < 3; i++) {
			uint64_t v = ((uint64_t)(i + 1) << 32) | k;

			ck_assert_int_eq(haq_group_send(m[i].g, &v, sizeof(v)), 0);
		}
	}
	ck_assert(wait_for(m, 3, 3, 3 * per, 20000));
	for (int i = 0; i < 3; i++) {
		uint64_t next[4] = {0, 1, 1, 1};

		ck_assert_uint_eq(m[i].n, 3 * per);
		for (size_t j = 0; j < m[i].n; j++) {
			uint32_t s = (uint32_t)(m[i].val[j] >> 32);

			/* The same sequence on every member... */
			ck_assert_uint_eq(m[i].val[j], m[0].val[j]);
			ck_assert_uint_eq(m[i].from[j], s);
			/* ...and per-sender FIFO without gaps. */
			ck_assert_uint_eq(m[i].val[j] & 0xffffffffu, next[s]);
			next[s]++;
		}
	}
	for (int i = 0; i < 3; i++) {
		member_free(&m[i]);
	}
}
END_TEST

START_TEST(test_two_processes_view_join_and_leave)
{
	struct member m;
	char name[64];
	pid_t child;
	int status;

	unique_group(name, sizeof(name), "procs");
	member_join(&m, 1, name);
	ck_assert(wait_for(&m, 1, 1, 0, 5000));
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		/* A second process on node 2: send 50 messages, then go. */
		struct member c;

		member_join(&c, 2, name);
		for (uint64_t i = 1; i <= 50; i++) {
			if (haq_group_send(c.g, &i, sizeof(i)) != 0) {
				_exit(2);
			}
		}
		_exit(wait_for(&c, 1, 2, 50, 10000) ? 0 : 1);
	}
	ck_assert(wait_for(&m, 1, 2, 50, 15000));
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the child process failed (status %d)", status);
	/* Its exit without a leave is seen as the process going down. */
	ck_assert(wait_for(&m, 1, 1, 50, 10000));
	ck_assert_uint_eq(m.left_nodeid, 2);
	ck_assert_msg(m.left_reason == HAQ_REASON_PROCDOWN,
		      "left with reason %s", haq_reason_str(m.left_reason));
	for (uint64_t i = 0; i < 50; i++) {
		ck_assert_uint_eq(m.from[i], 2);
		ck_assert_uint_eq(m.val[i], i + 1);
	}
	member_free(&m);
}
END_TEST

START_TEST(test_leave_reason_seen_by_peer)
{
	struct member m[2];
	char name[64];

	unique_group(name, sizeof(name), "leave");
	member_join(&m[0], 1, name);
	member_join(&m[1], 3, name);
	ck_assert(wait_for(m, 2, 2, 0, 10000));
	ck_assert_int_eq(haq_group_leave(m[1].g), 0);
	ck_assert(wait_for(m, 1, 1, 0, 10000));
	ck_assert_uint_eq(m[0].left_nodeid, 3);
	/* A leave is a leave, not a crash. */
	ck_assert_msg(m[0].left_reason == HAQ_REASON_LEAVE, "reason %s",
		      haq_reason_str(m[0].left_reason));
	/* Joining again after a leave works (a fresh handle). */
	ck_assert_int_eq(haq_group_join(m[1].ctx, name, &m[1].g), 0);
	haq_group_set_view_cb(m[1].g, on_view, &m[1]);
	m[1].views = 0;
	ck_assert(wait_for(m, 2, 2, 0, 10000));
	member_free(&m[0]);
	member_free(&m[1]);
}
END_TEST

START_TEST(test_fragmented_10mib_message)
{
	struct member m[2];
	char name[64];
	const size_t size = 10u * 1024u * 1024u;
	uint8_t *buf = malloc(size);
	uint64_t frags = 0;

	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i < size; i++) {
		buf[i] = (uint8_t)(i * 7 + (i >> 13));
	}
	memset(buf, 0, 8); /* the counter word */
	unique_group(name, sizeof(name), "frag");
	member_join(&m[0], 1, name);
	member_join(&m[1], 2, name);
	ck_assert(wait_for(m, 2, 2, 0, 10000));

	/* The receivers keep a copy to compare: use a capturing callback. */
	ck_assert_int_eq(haq_group_send(m[0].g, buf, size), 0);
	ck_assert(wait_for(m, 2, 2, 1, 60000));
	for (int i = 0; i < 2; i++) {
		ck_assert_uint_eq(m[i].len[0], size);
	}
	ck_assert_int_eq(haq_group_counter(m[1].g, HAQ_COUNTER_MALFORMED, &frags),
			 0);
	ck_assert_uint_eq(frags, 0);
	free(buf);
	member_free(&m[0]);
	member_free(&m[1]);
}
END_TEST

/* Content check of a large message: a callback that compares bytes. */
struct content {
	const uint8_t *want;
	size_t len;
	int ok;
};

static void
compare_message(haq_group_t *g, uint32_t nodeid, uint32_t pid,
		const void *data, size_t len, void *ud)
{
	struct content *c = ud;

	c->ok = (len == c->len && memcmp(data, c->want, len) == 0) ? 1 : -1;
}

static bool
content_done(void *arg)
{
	struct content *c = arg;

	return c[0].ok != 0 && c[1].ok != 0;
}

START_TEST(test_fragmented_content_is_exact)
{
	haq_ctx_t *ctx[2];
	haq_group_t *g[2];
	struct content c[2];
	char name[64];
	const size_t size = 3u * 1024u * 1024u + 12345u;
	uint8_t *buf = malloc(size);

	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i < size; i++) {
		buf[i] = (uint8_t)((i * 2654435761u) >> 24);
	}
	unique_group(name, sizeof(name), "exact");
	for (int i = 0; i < 2; i++) {
		c[i] = (struct content){buf, size, 0};
		cluster_enter_node(i + 1);
		ck_assert_int_eq(haq_ctx_new(&ctx[i], NULL), 0);
		ck_assert_int_eq(haq_group_join(ctx[i], name, &g[i]), 0);
		haq_group_set_message_cb(g[i], compare_message, &c[i]);
	}
	/* Sent before the join completes: queued, then fragmented. */
	ck_assert_int_eq(haq_group_send(g[1], buf, size), 0);
	ck_assert(pump_until(ctx, 2, 30000, content_done, c));
	ck_assert_int_eq(c[0].ok, 1);
	ck_assert_int_eq(c[1].ok, 1);
	free(buf);
	haq_ctx_free(ctx[0]);
	haq_ctx_free(ctx[1]);
}
END_TEST

/* Buffers lent with haq_group_send_zc() and given back. */
struct lent_log {
	int released;
	const void *last;
};

static void
on_release(void *data, void *ud)
{
	struct lent_log *l = ud;

	l->released++;
	l->last = data;
}

/*
 * Borrowed buffers: a large message is read from the caller's buffer (no
 * copy) and given back once it is back whole, a small one once corosync
 * took it; both arrive intact at every member. A buffer still queued when
 * the group is left is given back by the leave.
 */
/* compare_message() for the large messages only. */
static void
compare_large(haq_group_t *g, uint32_t nodeid, uint32_t pid, const void *data,
	      size_t len, void *ud)
{
	if (len > 1024) {
		compare_message(g, nodeid, pid, data, len, ud);
	}
}

START_TEST(test_send_zc_borrows_and_gives_back)
{
	haq_ctx_t *ctx[2];
	haq_group_t *g[2];
	struct content c[2];
	struct lent_log big_log = {0};
	struct lent_log small_log = {0};
	char name[64];
	const size_t size = 3u * 1024u * 1024u + 999u;
	uint8_t *buf = malloc(size);
	uint8_t *buf2 = malloc(size);
	char small[] = "small borrowed message";
	uint64_t sent = 0;

	ck_assert_ptr_nonnull(buf);
	ck_assert_ptr_nonnull(buf2);
	for (size_t i = 0; i < size; i++) {
		buf[i] = (uint8_t)((i * 2246822519u) >> 24);
	}
	unique_group(name, sizeof(name), "zc");
	for (int i = 0; i < 2; i++) {
		c[i] = (struct content){buf, size, 0};
		cluster_enter_node(i + 1);
		ck_assert_int_eq(haq_ctx_new(&ctx[i], NULL), 0);
		ck_assert_int_eq(haq_group_join(ctx[i], name, &g[i]), 0);
	}
	/* Joined first, so the small one can take the direct path. */
	ck_assert(pump_until(ctx, 2, 10000, NULL, NULL) == false);
	for (int i = 0; i < 2; i++) {
		haq_group_set_message_cb(g[i], compare_large, &c[i]);
	}
	ck_assert_int_eq(haq_group_send_zc(g[0], small, sizeof(small),
					   on_release, &small_log),
			 0);
	ck_assert_int_eq(
		haq_group_send_zc(g[0], buf, size, on_release, &big_log), 0);
	/* Three frames, not all back yet: the buffer is still lent. */
	ck_assert_int_eq(big_log.released, 0);
	ck_assert(pump_until(ctx, 2, 30000, content_done, c));
	ck_assert_int_eq(c[0].ok, 1);
	ck_assert_int_eq(c[1].ok, 1);
	ck_assert(pump_until(ctx, 2, 5000, NULL, NULL) == false);
	ck_assert_int_eq(big_log.released, 1);
	ck_assert_ptr_eq(big_log.last, buf);
	ck_assert_int_eq(small_log.released, 1);
	ck_assert_ptr_eq(small_log.last, small);
	ck_assert_int_eq(haq_group_counter(g[0], HAQ_COUNTER_SENT, &sent), 0);
	ck_assert_uint_eq(sent, 2);

	/* Still queued at leave: given back then, never sent. */
	ck_assert_int_eq(
		haq_group_send_zc(g[0], buf, size, on_release, &big_log), 0);
	ck_assert_int_eq(
		haq_group_send_zc(g[0], buf2, 10, on_release, &big_log), 0);
	ck_assert_int_eq(big_log.released, 1);
	ck_assert_int_eq(haq_group_leave(g[0]), 2);
	ck_assert_int_eq(big_log.released, 3);
	free(buf);
	free(buf2);
	haq_ctx_free(ctx[0]);
	haq_ctx_free(ctx[1]);
}
END_TEST

/*
 * A process that lowers its own maximum message size below a fragmented
 * message it already queued cannot take that message back; it still goes
 * to the others, and what the sender queued behind it is not held up.
 */
START_TEST(test_own_message_above_lowered_limit_does_not_block)
{
	struct member m[2];
	char name[64];
	const size_t big = 3u * 1024u * 1024u;
	uint8_t *buf = calloc(1, big);
	uint64_t v = 42;
	uint64_t c = 0;

	ck_assert_ptr_nonnull(buf);
	unique_group(name, sizeof(name), "lowered");
	member_join(&m[0], 1, name);
	member_join(&m[1], 2, name);
	ck_assert(wait_for(m, 2, 2, 0, 10000));
	ck_assert_int_eq(haq_group_send(m[0].g, buf, big), 0);
	ck_assert_int_eq(haq_group_set_max_message(m[0].g, 1024u * 1024u), 0);
	ck_assert_int_eq(haq_group_send(m[0].g, &v, sizeof(v)), 0);
	/* Member 1 gets both; member 0 the small one, behind the big one. */
	ck_assert(pump_until((haq_ctx_t *[]){m[0].ctx, m[1].ctx}, 2, 30000,
			     reached,
			     &(struct want){m, 2, 2, 1}));
	ck_assert(wait_for(&m[1], 1, 2, 2, 30000));
	ck_assert_uint_eq(m[1].len[0], big);
	ck_assert_uint_eq(m[1].val[1], 42);
	ck_assert_uint_eq(m[0].n, 1);
	ck_assert_uint_eq(m[0].val[0], 42);
	ck_assert_int_eq(haq_group_counter(m[0].g, HAQ_COUNTER_OVERSIZE, &c), 0);
	ck_assert_uint_eq(c, 1);
	ck_assert_int_eq(haq_group_counter(m[0].g, HAQ_COUNTER_SENT, &c), 0);
	ck_assert_uint_eq(c, 2);
	free(buf);
	member_free(&m[0]);
	member_free(&m[1]);
}
END_TEST

START_TEST(test_oversize_incoming_dropped_and_counted)
{
	struct member m[2];
	char name[64];
	const size_t big = 2u * 1024u * 1024u;
	uint8_t *buf = calloc(1, big);
	uint64_t small = 42, oversize = 0;

	unique_group(name, sizeof(name), "cap");
	member_join(&m[0], 1, name);
	member_join(&m[1], 2, name);
	ck_assert_int_eq(haq_group_set_max_message(m[1].g, 1024u * 1024u), 0);
	ck_assert(wait_for(m, 2, 2, 0, 10000));
	ck_assert_int_eq(haq_group_send(m[0].g, buf, big), 0);
	ck_assert_int_eq(haq_group_send(m[0].g, &small, sizeof(small)), 0);
	ck_assert(wait_for(m, 2, 2, 1, 20000));
	pump_until((haq_ctx_t *[]){m[0].ctx, m[1].ctx}, 2, 300, NULL, NULL);
	/* The sender got both; the capped receiver only the small one. */
	ck_assert_uint_eq(m[0].n, 2);
	ck_assert_uint_eq(m[1].n, 1);
	ck_assert_uint_eq(m[1].val[0], 42);
	haq_group_counter(m[1].g, HAQ_COUNTER_OVERSIZE, &oversize);
	ck_assert_uint_eq(oversize, 1);
	free(buf);
	member_free(&m[0]);
	member_free(&m[1]);
}
END_TEST

START_TEST(test_burst_100000_flow_control)
{
	struct member m[2];
	char name[64];
	const uint64_t total = 100000;
	uint64_t next = 1, enobufs = 0, retries = 0;
	haq_ctx_t *ctxs[2];
	uint8_t payload[100];

	unique_group(name, sizeof(name), "burst");
	/* The receiver is in the group before the sender joins... */
	member_join(&m[1], 3, name);
	ck_assert(wait_for(&m[1], 1, 1, 0, 10000));
	member_join(&m[0], 1, name);
	ctxs[0] = m[0].ctx;
	ctxs[1] = m[1].ctx;
	/*
	 * ...and the sender starts at once, before its own join is confirmed,
	 * into a small queue: the burst surely meets -ENOBUFS and the
	 * writable callback, whatever corosync's speed.
	 */
	ck_assert_int_eq(haq_group_set_max_message(m[0].g, 4096), 0);
	ck_assert_int_eq(haq_group_set_queue_limit(m[0].g, 64 * 1024), 0);
	memset(payload, 0xab, sizeof(payload));
	while (next <= total) {
		int rc;

		memcpy(payload, &next, sizeof(next));
		rc = haq_group_send(m[0].g, payload, sizeof(payload));
		if (rc == 0) {
			next++;
			continue;
		}
		ck_assert_int_eq(rc, -ENOBUFS);
		enobufs++;
		/* Wait for room: the writable callback says when. */
		int before = m[0].writable;

		while (m[0].writable == before) {
			pump_until(ctxs, 2, 20, NULL, NULL);
		}
	}
	ck_assert(wait_for(m, 2, 2, total, 120000));
	for (int i = 0; i < 2; i++) {
		ck_assert_uint_eq(m[i].n, total);
		for (uint64_t k = 0; k < total; k++) {
			ck_assert_uint_eq(m[i].val[k], k + 1);
		}
	}
	haq_group_counter(m[0].g, HAQ_COUNTER_RETRIES, &retries);
	fprintf(stderr, "burst: %llu x -ENOBUFS, %llu corosync retries\n",
		(unsigned long long)enobufs, (unsigned long long)retries);
	ck_assert_uint_gt(enobufs, 0);
	member_free(&m[0]);
	member_free(&m[1]);
}
END_TEST

/* Callbacks that act on the library from inside. */
struct reentry {
	int echoed;
	int left;
	haq_group_t *g;
};

static void
echo_then_leave(haq_group_t *g, uint32_t nodeid, uint32_t pid,
		const void *data, size_t len, void *ud)
{
	struct reentry *r = ud;

	if (len == 4 && memcmp(data, "ping", 4) == 0) {
		/* Sending from inside a message callback is allowed. */
		ck_assert_int_eq(haq_group_send(g, "pong", 4), 0);
		r->echoed++;
	} else if (len == 4 && memcmp(data, "pong", 4) == 0) {
		/* So is leaving; the group is released after the callback. */
		ck_assert_int_ge(haq_group_leave(g), 0);
		r->left++;
	}
}

static bool
reentry_done(void *arg)
{
	return ((struct reentry *)arg)->left == 1;
}

START_TEST(test_send_and_leave_inside_callbacks)
{
	haq_ctx_t *ctx;
	haq_group_t *g;
	struct reentry r = {0};
	char name[64];

	cluster_enter_node(2);
	unique_group(name, sizeof(name), "reenter");
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	ck_assert_int_eq(haq_group_join(ctx, name, &g), 0);
	haq_group_set_message_cb(g, echo_then_leave, &r);
	ck_assert_int_eq(haq_group_send(g, "ping", 4), 0);
	ck_assert(pump_until(&ctx, 1, 10000, reentry_done, &r));
	ck_assert_int_eq(r.echoed, 1);
	/* Keep dispatching: nothing more may arrive for the left group. */
	pump_until(&ctx, 1, 300, NULL, NULL);
	ck_assert_int_eq(r.left, 1);
	/* The name is free again. */
	ck_assert_int_eq(haq_group_join(ctx, name, &g), 0);
	haq_ctx_free(ctx);
}
END_TEST

START_TEST(test_leave_reports_discarded_messages)
{
	haq_ctx_t *ctx;
	haq_group_t *g;
	char name[64];

	cluster_enter_node(1);
	unique_group(name, sizeof(name), "discard");
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	ck_assert_int_eq(haq_group_join(ctx, name, &g), 0);
	/* Not joined yet: both stay queued and leave says so. */
	ck_assert_int_eq(haq_group_send(g, "a", 1), 0);
	ck_assert_int_eq(haq_group_send(g, "b", 1), 0);
	ck_assert_int_eq(haq_group_leave(g), 2);
	haq_ctx_free(ctx);
}
END_TEST

struct leaders {
	int calls;
	int is_leader;
	uint64_t epoch;
	uint32_t nodeid;
};

static void
on_leader(haq_group_t *g, int is_leader, uint64_t epoch, uint32_t nodeid,
	  uint32_t pid, void *ud)
{
	struct leaders *l = ud;

	l->calls++;
	l->is_leader = is_leader;
	l->epoch = epoch;
	l->nodeid = nodeid;
}

static bool
leaders_agree(void *arg)
{
	struct leaders *l = arg;

	for (int i = 0; i < 3; i++) {
		if (l[i].calls == 0 || l[i].epoch != l[0].epoch ||
		    l[i].nodeid != 1) {
			return false;
		}
	}
	return true;
}

START_TEST(test_one_leader_same_epoch_everywhere)
{
	haq_ctx_t *ctx[3];
	haq_group_t *g[3];
	struct leaders l[3] = {{0}};
	char name[64];
	int leaders = 0;
	uint64_t epoch;

	unique_group(name, sizeof(name), "elect");
	for (int i = 0; i < 3; i++) {
		cluster_enter_node(i + 1);
		ck_assert_int_eq(haq_ctx_new(&ctx[i], NULL), 0);
		ck_assert_int_eq(haq_group_join(ctx[i], name, &g[i]), 0);
		haq_group_set_leader_cb(g[i], on_leader, &l[i]);
	}
	/* Node 1 joined first and has the lowest id: it leads. */
	ck_assert(pump_until(ctx, 3, 10000, leaders_agree, l));
	for (int i = 0; i < 3; i++) {
		leaders += l[i].is_leader;
		ck_assert_int_eq(haq_group_leader(g[i], NULL, NULL, &epoch),
				 i == 0 ? 1 : 0);
		ck_assert_uint_eq(epoch, l[0].epoch);
	}
	ck_assert_int_eq(leaders, 1);
	ck_assert(l[0].is_leader);
	for (int i = 0; i < 3; i++) {
		haq_ctx_free(ctx[i]);
	}
}
END_TEST

/*
 * The order of a group's callbacks, one letter per call: V a view, L a
 * leader, l no leader (nodeid 0).
 */
struct order {
	char seq[64];
	size_t n;
	int quorate_views;
	int leader_calls;
	uint64_t epoch;
	uint32_t leader_nodeid;
};

static void
order_add(struct order *o, char c)
{
	if (o->n < sizeof(o->seq) - 1) {
		o->seq[o->n++] = c;
		o->seq[o->n] = '\0';
	}
}

static void
order_view(haq_group_t *g, const haq_view_t *v, void *ud)
{
	struct order *o = ud;

	order_add(o, 'V');
	o->quorate_views += haq_view_quorate(v) == 1;
}

static void
order_leader(haq_group_t *g, int is_leader, uint64_t epoch, uint32_t nodeid,
	     uint32_t pid, void *ud)
{
	struct order *o = ud;

	order_add(o, nodeid ? 'L' : 'l');
	o->leader_calls++;
	o->epoch = epoch;
	o->leader_nodeid = nodeid;
}

static bool
order_has_leader(void *arg)
{
	return ((struct order *)arg)->leader_calls > 0;
}

/*
 * A view comes before the leader callback it causes: the single member of
 * a new group in a quorate cluster sees its first view, then "pending"
 * (the first verdict after the join), then itself named leader once its
 * own round decided, and nothing else.
 */
START_TEST(test_view_before_the_leader_it_makes)
{
	haq_ctx_t *ctx;
	haq_group_t *g;
	struct order o = {0};
	char name[64];
	uint32_t self;

	cluster_enter_node(1);
	ck_assert_int_eq(cluster_cmd("wait-quorate 1 yes 30"), 0);
	unique_group(name, sizeof(name), "order");
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	ck_assert_int_eq(haq_ctx_local_nodeid(ctx, &self), 0);
	ck_assert_int_eq(haq_group_join(ctx, name, &g), 0);
	haq_group_set_view_cb(g, order_view, &o);
	haq_group_set_leader_cb(g, order_leader, &o);
	ck_assert_msg(pump_until(&ctx, 1, 10000, order_has_leader, &o),
		      "no leader callback; callbacks: \"%s\"", o.seq);
	pump_until(&ctx, 1, 300, NULL, NULL);
	/* The first verdict after the join is "pending": the round runs. */
	ck_assert_msg(strcmp(o.seq, "VlL") == 0,
		      "callbacks \"%s\", want \"VlL\" (view, pending, then "
		      "leader)",
		      o.seq);
	ck_assert_int_eq(o.quorate_views, 1);
	ck_assert_uint_eq(o.leader_nodeid, self);
	ck_assert_uint_gt(o.epoch, 0);
	haq_ctx_free(ctx);
}
END_TEST

START_TEST(test_list_cluster_groups)
{
	struct member m[2];
	haq_grouplist_t *l;
	char name[64];
	bool found = false;

	unique_group(name, sizeof(name), "list");
	member_join(&m[0], 1, name);
	member_join(&m[1], 2, name);
	ck_assert(wait_for(m, 2, 2, 0, 10000));
	ck_assert_int_eq(haq_ctx_groups(NULL, &l), -EINVAL);
	ck_assert_int_eq(haq_ctx_groups(m[0].ctx, NULL), -EINVAL);
	ck_assert_int_eq(haq_ctx_groups(m[0].ctx, &l), 0);
	for (size_t i = 0; i < haq_grouplist_count(l); i++) {
		size_t len;
		const char *n = haq_grouplist_name(l, i, &len);
		uint32_t nodeid, pid;

		ck_assert_ptr_nonnull(n);
		if (len != strlen(name) || memcmp(n, name, len) != 0) {
			continue;
		}
		found = true;
		ck_assert_uint_eq(haq_grouplist_member_count(l, i), 2);
		ck_assert_int_eq(haq_grouplist_member(l, i, 0, &nodeid, &pid), 0);
		ck_assert_uint_eq(nodeid, 1);
		ck_assert_uint_eq(pid, (uint32_t)getpid());
		ck_assert_int_eq(haq_grouplist_member(l, i, 1, &nodeid, NULL), 0);
		ck_assert_uint_eq(nodeid, 2);
		ck_assert_int_eq(haq_grouplist_member(l, i, 2, NULL, NULL),
				 -EINVAL);
	}
	ck_assert_msg(found, "group %s not listed", name);
	ck_assert_ptr_null(haq_grouplist_name(l, 99999, NULL));
	ck_assert_uint_eq(haq_grouplist_member_count(l, 99999), 0);
	haq_grouplist_free(l);
	haq_grouplist_free(NULL);
	ck_assert_uint_eq(haq_grouplist_count(NULL), 0);
	member_free(&m[0]);
	member_free(&m[1]);
}
END_TEST

static bool
two_back_and_writable(void *arg)
{
	struct member *m = arg;

	return m->n >= 2 && m->writable >= 1;
}

START_TEST(test_writable_after_fragmented_message_returns)
{
	struct member m;
	char name[64];
	const size_t size = 1536u * 1024u;
	uint8_t *buf = calloc(1, size);
	int rc;

	ck_assert_ptr_nonnull(buf);
	unique_group(name, sizeof(name), "wr");
	member_join(&m, 1, name);
	ck_assert(wait_for(&m, 1, 1, 0, 10000));
	/* Room for one 1.5 MiB message: the second waits for the first. */
	ck_assert_int_eq(haq_group_set_queue_limit(m.g, 2u * 1024u * 1024u), 0);
	ck_assert_int_eq(haq_group_send(m.g, buf, size), 0);
	rc = haq_group_send(m.g, buf, size);
	ck_assert_int_eq(rc, -ENOBUFS);
	/* The first comes back whole; that frees the queue: writable. */
	for (uint64_t end = test_now_ms() + 20000;
	     m.writable == 0 && test_now_ms() < end;) {
		pump_until(&m.ctx, 1, 20, NULL, NULL);
	}
	ck_assert_int_eq(m.writable, 1);
	ck_assert_int_eq(haq_group_send(m.g, buf, size), 0);
	ck_assert(pump_until(&m.ctx, 1, 20000, two_back_and_writable, &m));
	ck_assert_uint_eq(m.len[0], size);
	ck_assert_uint_eq(m.len[1], size);
	free(buf);
	member_free(&m);
}
END_TEST

/* A slow consumer's work: keep the CPU busy for us microseconds. */
static void
spin_us(long us)
{
	struct timespec t0;
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000000000L + t.tv_nsec - t0.tv_nsec <
		 us * 1000L);
}

/*
 * One group kept busy (200 messages in flight, every self-delivery sends
 * the next, so its descriptor is ready at every poll) must not starve
 * another group of the same context: the dispatch that goes straight to
 * a busy group looks at every descriptor again after a bounded number of
 * rounds.
 */
struct busy {
	haq_group_t *g;
	uint64_t delivered;
	bool stop;
};

static void
busy_echo(haq_group_t *g, uint32_t nodeid, uint32_t pid, const void *data,
	  size_t len, void *ud)
{
	struct busy *b = ud;

	/*
	 * A slow consumer (50 us a message): the backlog never drains, so
	 * the group's descriptor is ready at every single poll.
	 */
	spin_us(50);
	b->delivered++;
	if (!b->stop) {
		ck_assert_int_eq(haq_group_send(g, &b->delivered,
						sizeof(b->delivered)),
				 0);
	}
}

static bool
quiet_heard(void *arg)
{
	return ((struct member *)arg)->n > 0;
}

START_TEST(test_busy_group_does_not_starve_another)
{
	struct member m[2]; /* the quiet group on node 1 and node 2 */
	struct busy b = {0};
	haq_ctx_t *ctxs[2];
	char busy_name[64];
	char quiet_name[64];
	uint64_t v = 42;
	uint64_t before;

	unique_group(busy_name, sizeof(busy_name), "busy");
	unique_group(quiet_name, sizeof(quiet_name), "quiet");
	member_join(&m[0], 1, quiet_name);
	member_join(&m[1], 2, quiet_name);
	ck_assert(wait_for(m, 2, 2, 0, 10000));
	ck_assert_int_eq(haq_group_join(m[0].ctx, busy_name, &b.g), 0);
	haq_group_set_message_cb(b.g, busy_echo, &b);
	/* Many in flight: its descriptor never runs dry. */
	for (int i = 0; i < 200; i++) {
		ck_assert_int_eq(haq_group_send(b.g, &v, sizeof(v)), 0);
	}
	ctxs[0] = m[0].ctx;
	ctxs[1] = m[1].ctx;
	/* Let the busy group run alone for a while first. */
	pump_until(ctxs, 2, 500, NULL, NULL);
	ck_assert_uint_gt(b.delivered, 100);
	before = b.delivered;
	ck_assert_int_eq(haq_group_send(m[1].g, &v, sizeof(v)), 0);
	ck_assert_msg(pump_until(ctxs, 2, 10000, quiet_heard, &m[0]),
		      "the quiet group's message never came while another "
		      "group was busy");
	ck_assert_uint_eq(m[0].val[0], 42);
	/* And the busy group really was busy all along. */
	ck_assert_uint_gt(b.delivered, before);
	b.stop = true;
	member_free(&m[1]);
	member_free(&m[0]);
}
END_TEST

/*
 * A slow receiver finds a backlog of small messages: each
 * haq_ctx_dispatch() call hands the application a bounded share of it (so
 * the caller's loop keeps running), the rest comes in the next calls,
 * woken by the caller's own poll(), in order, exactly once, and before
 * the view change that followed it.
 */
#define BACKLOG_MSGS 400

struct slow {
	struct member *m;
	size_t at_view; /* messages delivered when the 3-member view came */
};

static void
slow_message(haq_group_t *g, uint32_t nodeid, uint32_t pid, const void *data,
	     size_t len, void *ud)
{
	struct slow *s = ud;

	spin_us(200);
	on_message(g, nodeid, pid, data, len, s->m);
}

static void
slow_view(haq_group_t *g, const haq_view_t *v, void *ud)
{
	struct slow *s = ud;

	on_view(g, v, s->m);
	if (haq_view_member_count(v) == 3) {
		s->at_view = s->m->n;
	}
}

START_TEST(test_backlog_is_taken_in_bounded_shares_in_order)
{
	struct member m[3];
	struct slow slow = {&m[1], 0};
	char name[64];
	size_t first;
	int calls = 0;

	unique_group(name, sizeof(name), "backlog");
	member_join(&m[0], 1, name);
	member_join(&m[1], 2, name);
	ck_assert(wait_for(m, 2, 2, 0, 10000));
	haq_group_set_message_cb(m[1].g, slow_message, &slow);
	haq_group_set_view_cb(m[1].g, slow_view, &slow);
	for (uint64_t i = 0; i < BACKLOG_MSGS; i++) {
		ck_assert_int_eq(haq_group_send(m[0].g, &i, sizeof(i)), 0);
	}
	/* All back at node 1: node 2 has them waiting, unread. */
	ck_assert(wait_for(&m[0], 1, 0, BACKLOG_MSGS, 20000));
	/* A view change behind them. */
	member_join(&m[2], 3, name);
	ck_assert(wait_for(&m[2], 1, 3, 0, 10000));
	usleep(200000);

	cluster_enter_node(2);
	ck_assert_int_ge(haq_ctx_dispatch(m[1].ctx), 0);
	first = m[1].n;
	ck_assert_uint_gt(first, 0);
	ck_assert_msg(first < BACKLOG_MSGS / 2,
		      "one dispatch handed over %zu of %d waiting messages",
		      first, BACKLOG_MSGS);
	while (m[1].n < BACKLOG_MSGS && calls++ < 10000) {
		size_t before = m[1].n;
		struct pollfd p = {.fd = haq_ctx_fd(m[1].ctx), .events = POLLIN};

		/* The rest must wake the caller's poll() by itself. */
		ck_assert_int_eq(poll(&p, 1, 5000), 1);
		ck_assert_int_ge(haq_ctx_dispatch(m[1].ctx), 0);
		ck_assert_uint_le(m[1].n - before, BACKLOG_MSGS / 2);
	}
	ck_assert_uint_eq(m[1].n, BACKLOG_MSGS);
	for (size_t i = 0; i < BACKLOG_MSGS; i++) {
		ck_assert_uint_eq(m[1].from[i], m[0].nodeid);
		ck_assert_uint_eq(m[1].val[i], i);
	}
	ck_assert(wait_for(&m[1], 1, 3, 0, 10000));
	ck_assert_uint_eq(slow.at_view, BACKLOG_MSGS);
	member_free(&m[2]);
	member_free(&m[1]);
	member_free(&m[0]);
}
END_TEST

/* What a joiner's leader callbacks said, and what it could ask then. */
struct told {
	int calls;
	uint32_t first_nodeid;
	int first_state;
	int first_rc;
	uint32_t nodeid;
	int state;
};

static void
told_leader(haq_group_t *g, int is_leader, uint64_t epoch, uint32_t nodeid,
	    uint32_t pid, void *ud)
{
	struct told *t = ud;
	int state = haq_group_leader_state(g);
	int rc = haq_group_leader(g, NULL, NULL, NULL);

	if (t->calls++ == 0) {
		t->first_nodeid = nodeid;
		t->first_state = state;
		t->first_rc = rc;
	}
	t->nodeid = nodeid;
	t->state = state;
}

static bool
told_known(void *arg)
{
	struct told *t = arg;

	return t->nodeid != 0 && t->state == HAQ_LEADER_KNOWN;
}

/*
 * nodeid 0 in the leader callback says which of its two meanings it has:
 * a process that joins a group is first told "pending" (haq_group_leader()
 * answers -EAGAIN), then the leader, once the round of its join's view
 * (the leader's claim) reached it.
 */
START_TEST(test_joiner_told_pending_then_leader)
{
	struct told a = {0}, b = {0};
	haq_ctx_t *ctx[2];
	haq_group_t *g[2];
	char name[64];

	unique_group(name, sizeof(name), "pending");
	for (int i = 0; i < 2; i++) {
		cluster_enter_node(i + 1);
		ck_assert_int_eq(haq_ctx_new(&ctx[i], NULL), 0);
	}
	ck_assert_int_eq(haq_group_join(ctx[0], name, &g[0]), 0);
	haq_group_set_leader_cb(g[0], told_leader, &a);
	ck_assert(pump_until(ctx, 1, 10000, told_known, &a));
	/* Alone too: its own round decides after the join's view. */
	ck_assert_int_eq(a.first_state, HAQ_LEADER_PENDING);
	ck_assert_int_eq(haq_group_join(ctx[1], name, &g[1]), 0);
	haq_group_set_leader_cb(g[1], told_leader, &b);
	ck_assert(pump_until(ctx, 2, 10000, told_known, &b));
	ck_assert_uint_eq(b.first_nodeid, 0);
	ck_assert_int_eq(b.first_state, HAQ_LEADER_PENDING);
	ck_assert_int_eq(b.first_rc, -EAGAIN);
	ck_assert_uint_eq(b.nodeid, a.nodeid);
	ck_assert_int_eq(haq_group_leader(g[1], NULL, NULL, NULL), 0);
	for (int i = 0; i < 2; i++) {
		haq_ctx_free(ctx[i]);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("group");

	ADD_TCASE(s, test_writable_after_fragmented_message_returns, 60);
	ADD_TCASE(s, test_list_cluster_groups, 30);
	ADD_TCASE(s, test_join_rejects_bad_names, 20);
	ADD_TCASE(s, test_send_rejects_bad_arguments, 20);
	ADD_TCASE(s, test_send_before_join_is_queued_not_lost, 20);
	ADD_TCASE(s, test_three_nodes_agree_on_total_order, 60);
	ADD_TCASE(s, test_two_processes_view_join_and_leave, 60);
	ADD_TCASE(s, test_leave_reason_seen_by_peer, 40);
	ADD_TCASE(s, test_fragmented_10mib_message, 120);
	ADD_TCASE(s, test_fragmented_content_is_exact, 60);
	ADD_TCASE(s, test_send_zc_borrows_and_gives_back, 60);
	ADD_TCASE(s, test_own_message_above_lowered_limit_does_not_block, 60);
	ADD_TCASE(s, test_oversize_incoming_dropped_and_counted, 60);
	ADD_TCASE(s, test_burst_100000_flow_control, 240);
	ADD_TCASE(s, test_send_and_leave_inside_callbacks, 30);
	ADD_TCASE(s, test_leave_reports_discarded_messages, 20);
	ADD_TCASE(s, test_one_leader_same_epoch_everywhere, 30);
	ADD_TCASE(s, test_view_before_the_leader_it_makes, 30);
	ADD_TCASE(s, test_joiner_told_pending_then_leader, 30);
	ADD_TCASE(s, test_busy_group_does_not_starve_another, 40);
	ADD_TCASE(s, test_backlog_is_taken_in_bounded_shares_in_order, 60);
	return run_suite(s);
}
