/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the lock table (libhaq/lock.c), without corosync: grants
 * first come first served, try-locks, grants held back while the table
 * may not grant, releases and purges, fencing tokens, the table's limit,
 * its encoding (and every malformed form the decoder must refuse), the
 * ACQUIRE/RELEASE/SYNC frames, and two tables fed the same operations
 * staying the same table.
 */
#include "check_common.h"
#include "le.h"
#include "lock.h"
#include "wire.h"

#include <errno.h>

/* ---------------------------------------------------------------- */
/* Helpers                                                          */
/* ---------------------------------------------------------------- */

#define LOGMAX 1024

struct ev {
	int what;
	char name[HAQ_LOCK_NAME_MAX_ + 1];
	struct haq_lock_entry who;
	uint64_t token;
};

/* The events of the operations since it was last cleared. */
struct evlog {
	size_t n;
	struct ev v[LOGMAX];
};

static void
log_ev(void *arg, const struct haq_lock_event *e)
{
	struct evlog *log = arg;
	struct ev *v;

	ck_assert_uint_lt(log->n, LOGMAX);
	ck_assert_uint_le(strlen(e->name), HAQ_LOCK_NAME_MAX_);
	v = &log->v[log->n++];
	v->what = e->what;
	strcpy(v->name, e->name);
	v->who = e->who;
	v->token = e->token;
}

/* Member i of a view: node i, pid 100 i. */
#define PID(node) (100u * (node))

static struct haq_lock_op
op_of(const char *name, uint64_t req, uint64_t clock_us, bool try_)
{
	struct haq_lock_op op = {
		.try_ = try_,
		.req = req,
		.clock_us = clock_us,
		.name = name,
		.nlen = strlen(name),
	};

	return op;
}

static int
acq(struct haq_lock_table *t, uint32_t node, const char *name, uint64_t req,
    uint64_t clock_us, bool try_, bool grant, struct evlog *log)
{
	struct haq_lock_op op = op_of(name, req, clock_us, try_);

	return haq__lock_acquire(t, node, PID(node), &op, grant,
				 log ? log_ev : NULL, log);
}

static int
rel(struct haq_lock_table *t, uint32_t node, const char *name, uint64_t req,
    bool grant, struct evlog *log)
{
	struct haq_lock_op op = op_of(name, req, 0, false);

	return haq__lock_release(t, node, PID(node), &op, grant,
				 log ? log_ev : NULL, log);
}

static void
assert_ev(const struct evlog *log, size_t i, int what, const char *name,
	  uint32_t node, uint64_t req)
{
	ck_assert_uint_lt(i, log->n);
	ck_assert_int_eq(log->v[i].what, what);
	ck_assert_str_eq(log->v[i].name, name);
	ck_assert_uint_eq(log->v[i].who.nodeid, node);
	ck_assert_uint_eq(log->v[i].who.pid, PID(node));
	ck_assert_uint_eq(log->v[i].who.req, req);
	if (what != HAQ_LOCK_EV_GRANTED) {
		ck_assert_uint_eq(log->v[i].token, 0);
	}
}

static const struct haq_lock *
find(const struct haq_lock_table *t, const char *name)
{
	return haq__lock_find(t, name, strlen(name));
}

static void
assert_holder(const struct haq_lock_table *t, const char *name, uint32_t node,
	      uint64_t req)
{
	const struct haq_lock *l = find(t, name);

	ck_assert_ptr_nonnull(l);
	ck_assert(l->held);
	ck_assert_uint_eq(l->holder.nodeid, node);
	ck_assert_uint_eq(l->holder.pid, PID(node));
	ck_assert_uint_eq(l->holder.req, req);
}

static uint8_t *
encode(const struct haq_lock_table *t, size_t *len)
{
	uint8_t *b;

	*len = haq__lock_encoded_len(t);
	b = malloc(*len);
	ck_assert_ptr_nonnull(b);
	haq__lock_encode(t, b);
	return b;
}

/* Whether a and b are the same table: same encoding, same last token. */
static bool
same_table(const struct haq_lock_table *a, const struct haq_lock_table *b)
{
	size_t alen;
	size_t blen;
	uint8_t *ab = encode(a, &alen);
	uint8_t *bb = encode(b, &blen);
	bool same = alen == blen && !memcmp(ab, bb, alen) &&
		    a->last_token == b->last_token && a->n == b->n &&
		    a->entries == b->entries;

	free(ab);
	free(bb);
	return same;
}

/* A copy of t through its encoding; the copy must equal t. */
static void
copy_table(struct haq_lock_table *dst, const struct haq_lock_table *t)
{
	size_t len;
	uint8_t *b = encode(t, &len);

	haq__lock_table_init(dst);
	ck_assert_int_eq(haq__lock_decode(dst, b, len, t->last_token), 0);
	free(b);
	ck_assert(same_table(dst, t));
}

/*
 * What lock.h promises of every table: names in order and each once, no
 * lock without a holder or waiter, a process at most once per lock,
 * holders' tokens 1..last_token, requests not 0, entries the sum. The
 * first broken promise, or NULL (plain C: a Check assertion is a system
 * call, too slow for every pair of 8192 waiters).
 */
static const char *
table_broken(const struct haq_lock_table *t)
{
	size_t entries = 0;

	if (t->n > t->cap) {
		return "more locks than room";
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct haq_lock *l = &t->locks[i];

		if (!haq__lock_name_ok(l->name, l->nlen) ||
		    l->name[l->nlen] != '\0') {
			return "a bad name";
		}
		if (i &&
		    (t->locks[i - 1].nlen > l->nlen ||
		     (t->locks[i - 1].nlen == l->nlen &&
		      memcmp(t->locks[i - 1].name, l->name, l->nlen) >= 0))) {
			return "names out of order";
		}
		if (!l->held && !l->nwait) {
			return "a lock with neither holder nor waiters";
		}
		if (l->nwait > l->cap) {
			return "more waiters than room";
		}
		if (l->held) {
			if (!l->holder.req || !l->token ||
			    l->token > t->last_token || l->holder.clock_us) {
				return "a bad holder";
			}
			entries++;
		}
		for (size_t j = 0; j < l->nwait; j++) {
			const struct haq_lock_entry *w = &l->waiters[j];

			if (!w->req) {
				return "a waiter of request 0";
			}
			if (l->held && w->nodeid == l->holder.nodeid &&
			    w->pid == l->holder.pid) {
				return "the holder waits";
			}
			for (size_t k = 0; k < j; k++) {
				if (w->nodeid == l->waiters[k].nodeid &&
				    w->pid == l->waiters[k].pid) {
					return "a process waits twice";
				}
			}
			entries++;
		}
		if (haq__lock_find(t, l->name, l->nlen) != l) {
			return "a lock not found";
		}
	}
	return entries == t->entries ? NULL : "entries is not the sum";
}

static void
check_table(const struct haq_lock_table *t)
{
	const char *why = table_broken(t);

	ck_assert_msg(!why, "table broken: %s", why);
}

static void
assert_empty(const struct haq_lock_table *t)
{
	ck_assert_uint_eq(t->n, 0);
	ck_assert_uint_eq(t->entries, 0);
	ck_assert_ptr_null(t->locks);
	ck_assert_uint_eq(t->last_token, 0);
}

/* ---------------------------------------------------------------- */
/* Grants, tries, releases, purges                                  */
/* ---------------------------------------------------------------- */

START_TEST(test_fifo)
{
	struct haq_lock_table t;
	struct evlog log = {0};

	haq__lock_table_init(&t);
	ck_assert_int_eq(acq(&t, 1, "x", 11, 0, false, true, &log), 0);
	ck_assert_uint_eq(log.n, 1);
	assert_ev(&log, 0, HAQ_LOCK_EV_GRANTED, "x", 1, 11);
	ck_assert_uint_eq(log.v[0].token, 1);
	assert_holder(&t, "x", 1, 11);
	/* Others queue in the order they asked. */
	log.n = 0;
	for (uint32_t node = 2; node <= 5; node++) {
		ck_assert_int_eq(
			acq(&t, node, "x", node * 10 + 1, 0, false, true, &log),
			0);
	}
	ck_assert_uint_eq(log.n, 0);
	ck_assert_uint_eq(find(&t, "x")->nwait, 4);
	ck_assert_uint_eq(t.entries, 5);
	check_table(&t);
	/* Each release grants the next, with a token above the last. */
	for (uint32_t node = 1; node <= 5; node++) {
		log.n = 0;
		ck_assert_int_eq(rel(&t, node, "x", node * 10 + 1, true, &log),
				 0);
		check_table(&t);
		if (node == 5) {
			ck_assert_uint_eq(log.n, 0);
			break;
		}
		ck_assert_uint_eq(log.n, 1);
		assert_ev(&log, 0, HAQ_LOCK_EV_GRANTED, "x", node + 1,
			  (node + 1) * 10 + 1);
		ck_assert_uint_eq(log.v[0].token, node + 1);
		ck_assert_uint_eq(find(&t, "x")->token, node + 1);
		ck_assert_uint_eq(find(&t, "x")->holder.clock_us, 0);
		assert_holder(&t, "x", node + 1, (node + 1) * 10 + 1);
	}
	/* The last release leaves nothing behind but the last token. */
	ck_assert_ptr_null(find(&t, "x"));
	ck_assert_uint_eq(t.n, 0);
	ck_assert_uint_eq(t.entries, 0);
	ck_assert_uint_eq(t.last_token, 5);
	haq__lock_table_free(&t);
}
END_TEST

START_TEST(test_try)
{
	struct haq_lock_table t;
	struct haq_lock_table before;
	struct evlog log = {0};

	haq__lock_table_init(&t);
	/* Free: granted at once. */
	ck_assert_int_eq(acq(&t, 1, "x", 1, 0, true, true, &log), 0);
	ck_assert_uint_eq(log.n, 1);
	assert_ev(&log, 0, HAQ_LOCK_EV_GRANTED, "x", 1, 1);
	assert_holder(&t, "x", 1, 1);
	/* Held: busy, and nothing changes. */
	copy_table(&before, &t);
	log.n = 0;
	ck_assert_int_eq(acq(&t, 2, "x", 2, 0, true, true, &log), 0);
	ck_assert_uint_eq(log.n, 1);
	assert_ev(&log, 0, HAQ_LOCK_EV_BUSY, "x", 2, 2);
	ck_assert(same_table(&t, &before));
	/* Waited for (and held): busy. */
	ck_assert_int_eq(acq(&t, 3, "x", 3, 0, false, true, &log), 0);
	haq__lock_table_free(&before);
	copy_table(&before, &t);
	log.n = 0;
	ck_assert_int_eq(acq(&t, 4, "x", 4, 0, true, true, &log), 0);
	ck_assert_uint_eq(log.n, 1);
	assert_ev(&log, 0, HAQ_LOCK_EV_BUSY, "x", 4, 4);
	ck_assert(same_table(&t, &before));
	/* Waited for, not held (released while the table could not grant):
	 * busy too, the waiter comes first. */
	ck_assert_int_eq(rel(&t, 1, "x", 1, false, &log), 0);
	ck_assert(!find(&t, "x")->held);
	ck_assert_uint_eq(find(&t, "x")->nwait, 1);
	haq__lock_table_free(&before);
	copy_table(&before, &t);
	log.n = 0;
	ck_assert_int_eq(acq(&t, 4, "x", 4, 0, true, true, &log), 0);
	ck_assert_uint_eq(log.n, 1);
	assert_ev(&log, 0, HAQ_LOCK_EV_BUSY, "x", 4, 4);
	ck_assert(same_table(&t, &before));
	/* The table may not grant: no quorum, even for a free lock. */
	log.n = 0;
	ck_assert_int_eq(acq(&t, 5, "y", 5, 0, true, false, &log), 0);
	ck_assert_uint_eq(log.n, 1);
	assert_ev(&log, 0, HAQ_LOCK_EV_NOQUORUM, "y", 5, 5);
	ck_assert_ptr_null(find(&t, "y"));
	log.n = 0;
	ck_assert_int_eq(acq(&t, 5, "x", 5, 0, true, false, &log), 0);
	assert_ev(&log, 0, HAQ_LOCK_EV_NOQUORUM, "x", 5, 5);
	ck_assert(same_table(&t, &before));
	/* A free lock again: a try is granted. */
	ck_assert_int_eq(rel(&t, 3, "x", 3, true, &log), 0);
	ck_assert_ptr_null(find(&t, "x"));
	log.n = 0;
	ck_assert_int_eq(acq(&t, 6, "x", 6, 0, true, true, &log), 0);
	ck_assert_uint_eq(log.n, 1);
	assert_ev(&log, 0, HAQ_LOCK_EV_GRANTED, "x", 6, 6);
	check_table(&t);
	haq__lock_table_free(&before);
	haq__lock_table_free(&t);
}
END_TEST

START_TEST(test_grant_later)
{
	struct haq_lock_table t;
	struct evlog log = {0};
	static const struct haq_memb all[] = {
		{1, 100, 0}, {2, 200, 0}, {3, 300, 0}, {4, 400, 0}};

	haq__lock_table_init(&t);
	/* Queued while the table may not grant, names given out of order. */
	ck_assert_int_eq(acq(&t, 1, "bb", 1, 0, false, false, &log), 0);
	ck_assert_int_eq(acq(&t, 2, "b", 2, 0, false, false, &log), 0);
	ck_assert_int_eq(acq(&t, 3, "a", 3, 0, false, false, &log), 0);
	ck_assert_int_eq(acq(&t, 4, "a", 4, 0, false, false, &log), 0);
	ck_assert_uint_eq(log.n, 0);
	ck_assert_uint_eq(t.n, 3);
	ck_assert_uint_eq(t.entries, 4);
	for (size_t i = 0; i < t.n; i++) {
		ck_assert(!t.locks[i].held);
	}
	check_table(&t);
	/* A purge that may not grant grants nothing. */
	haq__lock_purge(&t, all, 4, false, log_ev, &log);
	ck_assert_uint_eq(log.n, 0);
	ck_assert_uint_eq(t.entries, 4);
	/* Then it may: every free lock, in name order (shorter first). */
	haq__lock_purge(&t, all, 4, true, log_ev, &log);
	ck_assert_uint_eq(log.n, 3);
	assert_ev(&log, 0, HAQ_LOCK_EV_GRANTED, "a", 3, 3);
	assert_ev(&log, 1, HAQ_LOCK_EV_GRANTED, "b", 2, 2);
	assert_ev(&log, 2, HAQ_LOCK_EV_GRANTED, "bb", 1, 1);
	ck_assert_uint_eq(log.v[0].token, 1);
	ck_assert_uint_eq(log.v[1].token, 2);
	ck_assert_uint_eq(log.v[2].token, 3);
	assert_holder(&t, "a", 3, 3);
	ck_assert_uint_eq(find(&t, "a")->nwait, 1);
	ck_assert_uint_eq(t.entries, 4);
	check_table(&t);
	haq__lock_table_free(&t);
}
END_TEST

START_TEST(test_already)
{
	struct haq_lock_table t;
	struct haq_lock_table before;
	struct evlog log = {0};

	haq__lock_table_init(&t);
	ck_assert_int_eq(acq(&t, 1, "x", 1, 0, false, true, &log), 0);
	ck_assert_int_eq(acq(&t, 2, "x", 2, 0, false, true, &log), 0);
	copy_table(&before, &t);
	log.n = 0;
	/* The holder, the waiter: same request or another, try or not,
	 * whether the table may grant or not. */
	for (uint32_t node = 1; node <= 2; node++) {
		for (int k = 0; k < 8; k++) {
			ck_assert_int_eq(acq(&t, node, "x", k & 1 ? node : 77,
					     0, k & 2, k & 4, &log),
					 -EALREADY);
		}
	}
	ck_assert_uint_eq(log.n, 0);
	ck_assert(same_table(&t, &before));
	/* Another pid of the same node is another process. */
	ck_assert_int_eq(haq__lock_acquire(&t, 1, 101,
					   &(struct haq_lock_op){
						   .req = 1,
						   .name = "x",
						   .nlen = 1,
					   },
					   true, log_ev, &log),
			 0);
	ck_assert_uint_eq(find(&t, "x")->nwait, 2);
	/* Another lock is another matter. */
	ck_assert_int_eq(acq(&t, 1, "y", 1, 0, false, true, &log), 0);
	assert_holder(&t, "y", 1, 1);
	check_table(&t);
	haq__lock_table_free(&before);
	haq__lock_table_free(&t);
}
END_TEST

START_TEST(test_release)
{
	struct haq_lock_table t;
	struct haq_lock_table before;
	struct evlog log = {0};
	const struct haq_lock *l;

	haq__lock_table_init(&t);
	for (uint32_t node = 1; node <= 4; node++) {
		ck_assert_int_eq(acq(&t, node, "x", node, 0, false, true, &log),
				 0);
	}
	ck_assert_int_eq(acq(&t, 5, "y", 5, 0, false, true, &log), 0);
	copy_table(&before, &t);
	log.n = 0;
	/* No such request: wrong request id, pid, node, or name. */
	ck_assert_int_eq(rel(&t, 1, "x", 2, true, &log), -ENOENT);
	ck_assert_int_eq(rel(&t, 3, "x", 4, true, &log), -ENOENT);
	ck_assert_int_eq(rel(&t, 1, "y", 1, true, &log), -ENOENT);
	ck_assert_int_eq(rel(&t, 6, "x", 1, true, &log), -ENOENT);
	ck_assert_int_eq(rel(&t, 1, "z", 1, true, &log), -ENOENT);
	ck_assert_int_eq(rel(&t, 1, "xx", 1, true, &log), -ENOENT);
	ck_assert_int_eq(haq__lock_release(&t, 1, 101,
					   &(struct haq_lock_op){
						   .req = 1,
						   .name = "x",
						   .nlen = 1,
					   },
					   true, log_ev, &log),
			 -ENOENT);
	ck_assert_uint_eq(log.n, 0);
	ck_assert(same_table(&t, &before));
	/* A waiter withdraws: the others keep their order. */
	ck_assert_int_eq(rel(&t, 3, "x", 3, true, &log), 0);
	ck_assert_uint_eq(log.n, 0);
	l = find(&t, "x");
	ck_assert_uint_eq(l->nwait, 2);
	ck_assert_uint_eq(l->waiters[0].nodeid, 2);
	ck_assert_uint_eq(l->waiters[1].nodeid, 4);
	ck_assert_uint_eq(t.entries, 4);
	ck_assert_int_eq(rel(&t, 3, "x", 3, true, &log), -ENOENT);
	/* The holder releases: the first waiter is granted. */
	ck_assert_int_eq(rel(&t, 1, "x", 1, true, &log), 0);
	ck_assert_uint_eq(log.n, 1);
	assert_ev(&log, 0, HAQ_LOCK_EV_GRANTED, "x", 2, 2);
	assert_holder(&t, "x", 2, 2);
	ck_assert_uint_eq(find(&t, "x")->nwait, 1);
	/* Released while the table may not grant: free, with a waiter. */
	log.n = 0;
	ck_assert_int_eq(rel(&t, 2, "x", 2, false, &log), 0);
	ck_assert_uint_eq(log.n, 0);
	l = find(&t, "x");
	ck_assert(!l->held);
	ck_assert_uint_eq(l->nwait, 1);
	/* The last waiter withdraws: the lock is gone. */
	ck_assert_int_eq(rel(&t, 4, "x", 4, true, &log), 0);
	ck_assert_ptr_null(find(&t, "x"));
	ck_assert_uint_eq(log.n, 0);
	/* A holder without waiters: the lock is gone. */
	ck_assert_int_eq(rel(&t, 5, "y", 5, true, &log), 0);
	ck_assert_uint_eq(t.n, 0);
	ck_assert_uint_eq(t.entries, 0);
	check_table(&t);
	haq__lock_table_free(&before);
	haq__lock_table_free(&t);
}
END_TEST

START_TEST(test_purge)
{
	struct haq_lock_table t;
	struct evlog log = {0};
	static const struct haq_memb two_four[] = {{2, 200, 0}, {4, 400, 0}};
	static const struct haq_memb four[] = {{4, 400, 0}};

	haq__lock_table_init(&t);
	/* a: 1 holds, 2 3 4 wait; b: 3 holds, 1 waits; c: 2 holds. */
	for (uint32_t node = 1; node <= 4; node++) {
		ck_assert_int_eq(acq(&t, node, "a", node, 0, false, true, &log),
				 0);
	}
	ck_assert_int_eq(acq(&t, 3, "b", 30, 0, false, true, &log), 0);
	ck_assert_int_eq(acq(&t, 1, "b", 10, 0, false, true, &log), 0);
	ck_assert_int_eq(acq(&t, 2, "c", 20, 0, false, true, &log), 0);
	ck_assert_uint_eq(t.entries, 7);
	log.n = 0;
	/* 1 and 3 leave: a goes to 2, b is gone, c stays. */
	haq__lock_purge(&t, two_four, 2, true, log_ev, &log);
	ck_assert_uint_eq(log.n, 1);
	assert_ev(&log, 0, HAQ_LOCK_EV_GRANTED, "a", 2, 2);
	assert_holder(&t, "a", 2, 2);
	ck_assert_uint_eq(find(&t, "a")->nwait, 1);
	ck_assert_uint_eq(find(&t, "a")->waiters[0].nodeid, 4);
	ck_assert_ptr_null(find(&t, "b"));
	assert_holder(&t, "c", 2, 20);
	ck_assert_uint_eq(t.entries, 3);
	check_table(&t);
	/* 2 leaves while the table may not grant: a is free, 4 waits. */
	log.n = 0;
	haq__lock_purge(&t, four, 1, false, log_ev, &log);
	ck_assert_uint_eq(log.n, 0);
	ck_assert(!find(&t, "a")->held);
	ck_assert_uint_eq(find(&t, "a")->nwait, 1);
	ck_assert_ptr_null(find(&t, "c"));
	ck_assert_uint_eq(t.entries, 1);
	check_table(&t);
	/* Nobody is left (n 0): an empty table, its last token kept. */
	haq__lock_purge(&t, NULL, 0, true, log_ev, &log);
	ck_assert_uint_eq(log.n, 0);
	ck_assert_uint_eq(t.n, 0);
	ck_assert_uint_eq(t.entries, 0);
	ck_assert_uint_eq(t.last_token, 4);
	/* Without a callback. */
	ck_assert_int_eq(haq__lock_acquire(&t, 4, 400,
					   &(struct haq_lock_op){
						   .req = 9,
						   .name = "d",
						   .nlen = 1,
					   },
					   true, NULL, NULL),
			 0);
	assert_holder(&t, "d", 4, 9);
	haq__lock_purge(&t, NULL, 0, true, NULL, NULL);
	ck_assert_uint_eq(t.n, 0);
	haq__lock_table_free(&t);
}
END_TEST

/* A purge that drops many locks keeps the others, in order. */
START_TEST(test_purge_many)
{
	struct haq_lock_table t;
	struct evlog log = {0};
	static const struct haq_memb one[] = {{1, 100, 0}};
	char name[16];

	haq__lock_table_init(&t);
	for (unsigned int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "l%04u", i);
		ck_assert_int_eq(acq(&t, i % 3 ? 2 : 1, name, i + 1, 0, false,
				     true, NULL),
				 0);
		if (i % 3 == 1) {
			/* 1 waits for a lock 2 holds. */
			ck_assert_int_eq(
				acq(&t, 1, name, i + 1, 0, false, true, NULL),
				0);
		}
	}
	ck_assert_uint_eq(t.n, 3000);
	haq__lock_purge(&t, one, 1, true, log_ev, &log);
	check_table(&t);
	ck_assert_uint_eq(t.n, 2000);
	ck_assert_uint_eq(t.entries, 2000);
	ck_assert_uint_eq(log.n, 1000);
	for (unsigned int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "l%04u", i);
		if (i % 3 == 2) {
			ck_assert_ptr_null(find(&t, name));
		} else {
			assert_holder(&t, name, 1, i + 1);
		}
	}
	haq__lock_table_free(&t);
}
END_TEST

START_TEST(test_tokens)
{
	struct haq_lock_table t;
	struct evlog log = {0};
	uint64_t last = 0;

	haq__lock_table_init(&t);
	/* Across locks, every grant above the one before. */
	for (int i = 0; i < 10; i++) {
		char name[8];

		snprintf(name, sizeof(name), "l%d", i);
		log.n = 0;
		ck_assert_int_eq(acq(&t, 1, name, 1, 0, false, true, &log), 0);
		ck_assert_uint_eq(log.n, 1);
		ck_assert_uint_gt(log.v[0].token, last);
		last = log.v[0].token;
	}
	/* Not below the requester's clock... */
	log.n = 0;
	ck_assert_int_eq(acq(&t, 2, "c", 2, 1000000, false, true, &log), 0);
	ck_assert_uint_eq(log.v[0].token, 1000000);
	ck_assert_uint_eq(t.last_token, 1000000);
	/* ...and above the last when its clock is behind. */
	ck_assert_int_eq(acq(&t, 3, "c", 3, 999, false, true, &log), 0);
	ck_assert_int_eq(acq(&t, 4, "c", 4, 1000000, false, true, &log), 0);
	ck_assert_int_eq(acq(&t, 5, "c", 5, 1000005, false, true, &log), 0);
	log.n = 0;
	ck_assert_int_eq(rel(&t, 2, "c", 2, true, &log), 0);
	ck_assert_uint_eq(log.v[0].token, 1000001);
	ck_assert_int_eq(rel(&t, 3, "c", 3, true, &log), 0);
	ck_assert_uint_eq(log.v[1].token, 1000002);
	/* The waiter's clock counts, not the clock at the release. */
	ck_assert_int_eq(rel(&t, 4, "c", 4, true, &log), 0);
	ck_assert_uint_eq(log.v[2].token, 1000005);
	ck_assert_uint_eq(find(&t, "c")->token, 1000005);
	/* A table adopted goes on from the last token it was given. */
	haq__lock_table_free(&t);
	haq__lock_table_init(&t);
	ck_assert_int_eq(
		haq__lock_decode(&t, (const uint8_t *)"\0\0\0\0", 4, 5000000),
		0);
	log.n = 0;
	ck_assert_int_eq(acq(&t, 1, "x", 1, 7, true, true, &log), 0);
	ck_assert_uint_eq(log.v[0].token, 5000001);
	haq__lock_table_free(&t);
}
END_TEST

/*
 * A clock or a table from a peer may say the tokens are spent
 * (UINT64_MAX): the table must never give a token that is not above the
 * last one (it would wrap to 0, a table no member can decode), so it
 * grants no more; a try is told the table may not grant.
 */
START_TEST(test_tokens_spent)
{
	struct haq_lock_table t;
	struct haq_lock_table c;
	struct evlog log = {0};
	static const struct haq_memb all[] = {{1, 100, 0}, {2, 200, 0}};

	haq__lock_table_init(&t);
	ck_assert_int_eq(acq(&t, 1, "x", 1, UINT64_MAX - 1, false, true, &log),
			 0);
	ck_assert_uint_eq(log.v[0].token, UINT64_MAX - 1);
	ck_assert_int_eq(acq(&t, 2, "x", 2, 0, false, true, &log), 0);
	ck_assert_int_eq(rel(&t, 1, "x", 1, true, &log), 0);
	ck_assert_uint_eq(log.n, 2);
	ck_assert_uint_eq(log.v[1].token, UINT64_MAX);
	assert_holder(&t, "x", 2, 2);
	/* Spent: the next waiter waits, a try fails. */
	ck_assert_int_eq(acq(&t, 1, "x", 3, 0, false, true, &log), 0);
	ck_assert_int_eq(rel(&t, 2, "x", 2, true, &log), 0);
	ck_assert_uint_eq(log.n, 2);
	ck_assert(!find(&t, "x")->held);
	ck_assert_int_eq(acq(&t, 2, "y", 4, 0, true, true, &log), 0);
	ck_assert_uint_eq(log.n, 3);
	assert_ev(&log, 2, HAQ_LOCK_EV_NOQUORUM, "y", 2, 4);
	haq__lock_purge(&t, all, 2, true, log_ev, &log);
	ck_assert_uint_eq(log.n, 3);
	check_table(&t);
	copy_table(&c, &t);
	haq__lock_table_free(&c);
	haq__lock_table_free(&t);

	/* The same from a waiter's clock alone. */
	haq__lock_table_init(&t);
	log.n = 0;
	ck_assert_int_eq(acq(&t, 1, "x", 1, UINT64_MAX, false, true, &log), 0);
	ck_assert_uint_eq(log.v[0].token, UINT64_MAX);
	ck_assert_int_eq(acq(&t, 1, "y", 1, 0, false, true, &log), 0);
	ck_assert_uint_eq(log.n, 1);
	ck_assert(!find(&t, "y")->held);
	check_table(&t);
	copy_table(&c, &t);
	haq__lock_table_free(&c);
	haq__lock_table_free(&t);
}
END_TEST

START_TEST(test_full)
{
	struct haq_lock_table t;
	struct haq_lock_table before;
	struct evlog log = {0};
	uint32_t node = 0;

	haq__lock_table_init(&t);
	/* 64 locks of 128 processes each: 8192 entries, the most. */
	for (int i = 0; i < 64; i++) {
		char name[8];

		snprintf(name, sizeof(name), "l%d", i);
		for (int j = 0; j < 128; j++) {
			ck_assert_int_eq(acq(&t, (uint32_t)j + 1, name, ++node,
					     0, false, true, NULL),
					 0);
		}
	}
	ck_assert_uint_eq(t.entries, HAQ_LOCK_ENTRIES_MAX_);
	ck_assert_uint_eq(t.n, 64);
	copy_table(&before, &t);
	/* A new waiter of a lock, a new lock, a try of a free lock. */
	ck_assert_int_eq(acq(&t, 200, "l0", 1, 0, false, true, &log), 0);
	ck_assert_int_eq(acq(&t, 200, "new", 2, 0, false, true, &log), 0);
	ck_assert_int_eq(acq(&t, 200, "new", 3, 0, true, true, &log), 0);
	ck_assert_int_eq(acq(&t, 200, "new", 4, 0, false, false, &log), 0);
	ck_assert_uint_eq(log.n, 4);
	assert_ev(&log, 0, HAQ_LOCK_EV_FULL, "l0", 200, 1);
	assert_ev(&log, 1, HAQ_LOCK_EV_FULL, "new", 200, 2);
	assert_ev(&log, 2, HAQ_LOCK_EV_FULL, "new", 200, 3);
	assert_ev(&log, 3, HAQ_LOCK_EV_FULL, "new", 200, 4);
	ck_assert(same_table(&t, &before));
	/* A try of a held lock is busy, as ever. */
	log.n = 0;
	ck_assert_int_eq(acq(&t, 200, "l0", 5, 0, true, true, &log), 0);
	assert_ev(&log, 0, HAQ_LOCK_EV_BUSY, "l0", 200, 5);
	/* One entry out: one in. */
	ck_assert_int_eq(rel(&t, 128, "l0", 128, true, &log), 0);
	log.n = 0;
	ck_assert_int_eq(acq(&t, 200, "new", 6, 0, false, true, &log), 0);
	assert_ev(&log, 0, HAQ_LOCK_EV_GRANTED, "new", 200, 6);
	ck_assert_uint_eq(t.entries, HAQ_LOCK_ENTRIES_MAX_);
	check_table(&t);
	haq__lock_table_free(&before);
	copy_table(&before, &t);
	haq__lock_table_free(&before);
	haq__lock_table_free(&t);
}
END_TEST

/* ---------------------------------------------------------------- */
/* The encoded table                                                */
/* ---------------------------------------------------------------- */

START_TEST(test_encode_roundtrip)
{
	struct haq_lock_table t;
	struct haq_lock_table d;
	struct evlog log = {0};
	char longname[HAQ_LOCK_NAME_MAX_ + 1];
	uint8_t *b;
	size_t len;

	/* The empty table: a count of 0. */
	haq__lock_table_init(&t);
	b = encode(&t, &len);
	ck_assert_uint_eq(len, 4);
	ck_assert_uint_eq(haq__get_le32(b), 0);
	free(b);
	copy_table(&d, &t);
	haq__lock_table_free(&d);

	/* Held locks with waiters, a free lock with waiters (queued while
	 * the table may not grant), a long name, every byte but NUL. */
	memset(longname, 'n', HAQ_LOCK_NAME_MAX_);
	longname[HAQ_LOCK_NAME_MAX_] = '\0';
	ck_assert_int_eq(acq(&t, 1, "x", 1, 0, false, true, &log), 0);
	ck_assert_int_eq(acq(&t, 2, "x", 2, 77, false, true, &log), 0);
	ck_assert_int_eq(acq(&t, 3, "x", 3, 78, false, true, &log), 0);
	ck_assert_int_eq(acq(&t, 4, longname, 4, 5, false, true, &log), 0);
	ck_assert_int_eq(acq(&t, 5, "\xff\x01", 5, 9, false, false, &log), 0);
	ck_assert_int_eq(acq(&t, 6, "\xff\x01", 6, 10, false, false, &log), 0);
	ck_assert(!find(&t, "\xff\x01")->held);
	check_table(&t);
	b = encode(&t, &len);
	haq__lock_table_init(&d);
	ck_assert_int_eq(haq__lock_decode(&d, b, len, t.last_token), 0);
	ck_assert(same_table(&d, &t));
	check_table(&d);
	/* Field by field. */
	ck_assert_uint_eq(d.n, 3);
	ck_assert_str_eq(d.locks[0].name, "x");
	ck_assert_uint_eq(d.locks[0].token, 1);
	ck_assert_uint_eq(d.locks[0].nwait, 2);
	ck_assert_uint_eq(d.locks[0].waiters[1].nodeid, 3);
	ck_assert_uint_eq(d.locks[0].waiters[1].pid, 300);
	ck_assert_uint_eq(d.locks[0].waiters[1].req, 3);
	ck_assert_uint_eq(d.locks[0].waiters[1].clock_us, 78);
	ck_assert_str_eq(d.locks[1].name, "\xff\x01");
	ck_assert(!d.locks[1].held);
	ck_assert_uint_eq(d.locks[1].nwait, 2);
	ck_assert_str_eq(d.locks[2].name, longname);
	ck_assert_uint_eq(d.locks[2].holder.nodeid, 4);
	ck_assert_uint_eq(d.locks[2].token, 5);
	/* The decoded table works as the original does. */
	log.n = 0;
	ck_assert_int_eq(rel(&d, 1, "x", 1, true, &log), 0);
	assert_ev(&log, 0, HAQ_LOCK_EV_GRANTED, "x", 2, 2);
	ck_assert_uint_eq(log.v[0].token, 77);
	haq__lock_table_free(&d);
	/* The last token is the one given, not taken from the holders. */
	haq__lock_table_init(&d);
	ck_assert_int_eq(haq__lock_decode(&d, b, len, 1000), 0);
	ck_assert_uint_eq(d.last_token, 1000);
	haq__lock_table_free(&d);
	/* A holder's token may equal it, not exceed it. */
	haq__lock_table_init(&d);
	ck_assert_int_eq(haq__lock_decode(&d, b, len, 5), 0);
	haq__lock_table_free(&d);
	haq__lock_table_init(&d);
	ck_assert_int_eq(haq__lock_decode(&d, b, len, 4), -EBADMSG);
	assert_empty(&d);
	haq__lock_table_free(&d);
	/* Every shorter prefix is malformed. */
	for (size_t i = 0; i < len; i++) {
		haq__lock_table_init(&d);
		ck_assert_int_eq(haq__lock_decode(&d, b, i, t.last_token),
				 -EBADMSG);
		assert_empty(&d);
		haq__lock_table_free(&d);
	}
	free(b);
	haq__lock_table_free(&t);
}
END_TEST

/* Builds encoded tables, valid or not. */
struct wb {
	uint8_t *b;
	size_t len;
};

static void
wb_init(struct wb *w)
{
	w->b = malloc(1u << 20);
	ck_assert_ptr_nonnull(w->b);
	w->len = 0;
}

static void
wb_u8(struct wb *w, uint8_t v)
{
	w->b[w->len++] = v;
}

static void
wb_u32(struct wb *w, uint32_t v)
{
	haq__put_le32(w->b + w->len, v);
	w->len += 4;
}

static void
wb_u64(struct wb *w, uint64_t v)
{
	haq__put_le64(w->b + w->len, v);
	w->len += 8;
}

static void
wb_name(struct wb *w, const char *name, size_t nlen)
{
	wb_u8(w, (uint8_t)nlen);
	memcpy(w->b + w->len, name, nlen);
	w->len += nlen;
}

static void
wb_entry(struct wb *w, uint32_t node, uint64_t req, uint64_t clock_or_token)
{
	wb_u32(w, node);
	wb_u32(w, PID(node));
	wb_u64(w, req);
	wb_u64(w, clock_or_token);
}

/* A lock: name, held by node 1 (token) unless token is 0, waiters. */
static void
wb_lock(struct wb *w, const char *name, uint64_t token, uint32_t nwait)
{
	wb_name(w, name, strlen(name));
	wb_u8(w, token ? 1 : 0);
	if (token) {
		wb_entry(w, 1, 1, token);
	}
	wb_u32(w, nwait);
	for (uint32_t i = 0; i < nwait; i++) {
		wb_entry(w, i + 2, i + 2, i);
	}
}

static void
assert_bad(const struct wb *w, uint64_t last_token)
{
	struct haq_lock_table t;

	haq__lock_table_init(&t);
	ck_assert_int_eq(haq__lock_decode(&t, w->b, w->len, last_token),
			 -EBADMSG);
	assert_empty(&t);
	haq__lock_table_free(&t);
}

static void
assert_good(const struct wb *w, uint64_t last_token)
{
	struct haq_lock_table t;
	uint8_t *b;
	size_t len;

	haq__lock_table_init(&t);
	ck_assert_int_eq(haq__lock_decode(&t, w->b, w->len, last_token), 0);
	check_table(&t);
	b = encode(&t, &len);
	ck_assert_uint_eq(len, w->len);
	ck_assert_mem_eq(b, w->b, len);
	free(b);
	haq__lock_table_free(&t);
}

START_TEST(test_decode_malformed)
{
	struct wb w;
	char name[HAQ_LOCK_NAME_MAX_ + 2];

	wb_init(&w);
	/* The forms below are built from this valid one. */
	wb_u32(&w, 2);
	wb_lock(&w, "a", 5, 1);
	wb_lock(&w, "b", 0, 2);
	assert_good(&w, 5);

	/* Short. */
	for (size_t i = 0; i < 4; i++) {
		struct wb s = {w.b, i};

		assert_bad(&s, 5);
	}
	/* Trailing bytes. */
	w.len = 0;
	wb_u32(&w, 2);
	wb_lock(&w, "a", 5, 1);
	wb_lock(&w, "b", 0, 2);
	wb_u8(&w, 0);
	assert_bad(&w, 5);
	/* More locks than the bytes hold; fewer than the bytes hold. */
	w.len = 0;
	wb_u32(&w, 3);
	wb_lock(&w, "a", 5, 1);
	wb_lock(&w, "b", 0, 2);
	assert_bad(&w, 5);
	haq__put_le32(w.b, 1);
	assert_bad(&w, 5);
	haq__put_le32(w.b, UINT32_MAX);
	assert_bad(&w, 5);
	/* Names: empty, too long, with a NUL. */
	w.len = 0;
	wb_u32(&w, 1);
	wb_name(&w, "", 0);
	wb_u8(&w, 1);
	wb_entry(&w, 1, 1, 1);
	wb_u32(&w, 0);
	assert_bad(&w, 5);
	memset(name, 'n', sizeof(name));
	w.len = 0;
	wb_u32(&w, 1);
	wb_name(&w, name, HAQ_LOCK_NAME_MAX_);
	wb_u8(&w, 1);
	wb_entry(&w, 1, 1, 1);
	wb_u32(&w, 0);
	assert_good(&w, 5);
	w.len = 0;
	wb_u32(&w, 1);
	wb_name(&w, name, HAQ_LOCK_NAME_MAX_ + 1);
	wb_u8(&w, 1);
	wb_entry(&w, 1, 1, 1);
	wb_u32(&w, 0);
	assert_bad(&w, 5);
	for (size_t at = 0; at < 3; at++) {
		char nul[3] = {'a', 'b', 'c'};

		nul[at] = '\0';
		w.len = 0;
		wb_u32(&w, 1);
		wb_name(&w, nul, 3);
		wb_u8(&w, 1);
		wb_entry(&w, 1, 1, 1);
		wb_u32(&w, 0);
		assert_bad(&w, 5);
	}
	/* Names out of order (by bytes, by length), or repeated. */
	w.len = 0;
	wb_u32(&w, 2);
	wb_lock(&w, "b", 1, 0);
	wb_lock(&w, "a", 2, 0);
	assert_bad(&w, 5);
	w.len = 0;
	wb_u32(&w, 2);
	wb_lock(&w, "aa", 1, 0);
	wb_lock(&w, "b", 2, 0);
	assert_bad(&w, 5);
	w.len = 0;
	wb_u32(&w, 2);
	wb_lock(&w, "b", 1, 0);
	wb_lock(&w, "aa", 2, 0);
	assert_good(&w, 5);
	w.len = 0;
	wb_u32(&w, 3);
	wb_lock(&w, "a", 1, 0);
	wb_lock(&w, "b", 2, 0);
	wb_lock(&w, "a", 3, 0);
	assert_bad(&w, 5);
	w.len = 0;
	wb_u32(&w, 2);
	wb_lock(&w, "a", 1, 0);
	wb_lock(&w, "a", 2, 0);
	assert_bad(&w, 5);
	/* A process twice in one lock: holder and waiter, two waiters. */
	w.len = 0;
	wb_u32(&w, 1);
	wb_name(&w, "a", 1);
	wb_u8(&w, 1);
	wb_entry(&w, 1, 1, 1);
	wb_u32(&w, 1);
	wb_entry(&w, 1, 2, 0);
	assert_bad(&w, 5);
	w.len = 0;
	wb_u32(&w, 1);
	wb_name(&w, "a", 1);
	wb_u8(&w, 0);
	wb_u32(&w, 3);
	wb_entry(&w, 2, 2, 0);
	wb_entry(&w, 3, 3, 0);
	wb_entry(&w, 2, 4, 0);
	assert_bad(&w, 5);
	/* ...but the same process in two locks is fine. */
	w.len = 0;
	wb_u32(&w, 2);
	wb_lock(&w, "a", 1, 1);
	wb_lock(&w, "b", 2, 1);
	assert_good(&w, 5);
	/* A lock with neither holder nor waiters. */
	w.len = 0;
	wb_u32(&w, 2);
	wb_lock(&w, "a", 1, 0);
	wb_lock(&w, "b", 0, 0);
	assert_bad(&w, 5);
	/* Holder's token 0, or above the last token. */
	w.len = 0;
	wb_u32(&w, 1);
	wb_name(&w, "a", 1);
	wb_u8(&w, 1);
	wb_entry(&w, 1, 1, 0);
	wb_u32(&w, 0);
	assert_bad(&w, 5);
	w.len = 0;
	wb_u32(&w, 1);
	wb_lock(&w, "a", 6, 0);
	assert_bad(&w, 5);
	assert_good(&w, 6);
	/* Request 0: the holder's, a waiter's. */
	w.len = 0;
	wb_u32(&w, 1);
	wb_name(&w, "a", 1);
	wb_u8(&w, 1);
	wb_entry(&w, 1, 0, 1);
	wb_u32(&w, 0);
	assert_bad(&w, 5);
	w.len = 0;
	wb_u32(&w, 1);
	wb_name(&w, "a", 1);
	wb_u8(&w, 0);
	wb_u32(&w, 2);
	wb_entry(&w, 2, 2, 0);
	wb_entry(&w, 3, 0, 0);
	assert_bad(&w, 5);
	/* The held byte above 1. */
	w.len = 0;
	wb_u32(&w, 1);
	wb_lock(&w, "a", 1, 0);
	w.b[4 + 2] = 2;
	assert_bad(&w, 5);
	w.b[4 + 2] = 1;
	assert_good(&w, 5);
	/* A waiter count beyond the bytes. */
	w.len = 0;
	wb_u32(&w, 1);
	wb_lock(&w, "a", 0, 2);
	haq__put_le32(w.b + 4 + 3, 3);
	assert_bad(&w, 5);
	haq__put_le32(w.b + 4 + 3, UINT32_MAX);
	assert_bad(&w, 5);
	/* Too many entries: the most, then one more (as a holder, as a
	 * waiter). */
	w.len = 0;
	wb_u32(&w, 2);
	wb_lock(&w, "a", 1, HAQ_LOCK_ENTRIES_MAX_ / 2 - 1);
	wb_lock(&w, "b", 2, HAQ_LOCK_ENTRIES_MAX_ / 2 - 1);
	assert_good(&w, 5);
	w.len = 0;
	wb_u32(&w, 3);
	wb_lock(&w, "a", 1, HAQ_LOCK_ENTRIES_MAX_ / 2 - 1);
	wb_lock(&w, "b", 2, HAQ_LOCK_ENTRIES_MAX_ / 2 - 1);
	wb_lock(&w, "c", 3, 0);
	assert_bad(&w, 5);
	w.len = 0;
	wb_u32(&w, 2);
	wb_lock(&w, "a", 1, HAQ_LOCK_ENTRIES_MAX_ / 2 - 1);
	wb_lock(&w, "b", 2, HAQ_LOCK_ENTRIES_MAX_ / 2);
	assert_bad(&w, 5);
	w.len = 0;
	wb_u32(&w, 1);
	wb_lock(&w, "a", 0, HAQ_LOCK_ENTRIES_MAX_ + 1);
	assert_bad(&w, 5);
	free(w.b);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Frames                                                           */
/* ---------------------------------------------------------------- */

START_TEST(test_acquire_frame)
{
	uint8_t buf[HAQ_LOCK_ACQUIRE_HDR + HAQ_LOCK_NAME_MAX_ + 1];
	char name[HAQ_LOCK_NAME_MAX_ + 1];
	struct haq_lock_op op;
	size_t len;

	len = haq__lock_encode_acquire(buf, HAQ_CONTROL_LOCK_ACQUIRE, true,
				       0x1122334455667788ull, 1234, "abc", 3);
	ck_assert_uint_eq(len, HAQ_LOCK_ACQUIRE_HDR + 3);
	ck_assert_int_eq(buf[0], HAQ_CONTROL_LOCK_ACQUIRE);
	ck_assert_int_eq(haq__lock_decode_acquire(buf, len, &op), 0);
	ck_assert(op.try_);
	ck_assert_uint_eq(op.req, 0x1122334455667788ull);
	ck_assert_uint_eq(op.clock_us, 1234);
	ck_assert_uint_eq(op.nlen, 3);
	ck_assert_ptr_eq(op.name, (const char *)buf + HAQ_LOCK_ACQUIRE_HDR);
	len = haq__lock_encode_acquire(buf, HAQ_CONTROL_LOCK_ACQUIRE, false, 1,
				       0, "abc", 3);
	ck_assert_int_eq(haq__lock_decode_acquire(buf, len, &op), 0);
	ck_assert(!op.try_);
	/* The longest name. */
	memset(name, 'n', sizeof(name));
	len = haq__lock_encode_acquire(buf, HAQ_CONTROL_LOCK_ACQUIRE, false, 1,
				       0, name, HAQ_LOCK_NAME_MAX_);
	ck_assert_int_eq(haq__lock_decode_acquire(buf, len, &op), 0);
	ck_assert_uint_eq(op.nlen, HAQ_LOCK_NAME_MAX_);
	/* One longer. */
	len = haq__lock_encode_acquire(buf, HAQ_CONTROL_LOCK_ACQUIRE, false, 1,
				       0, name, HAQ_LOCK_NAME_MAX_ + 1);
	ck_assert_int_eq(haq__lock_decode_acquire(buf, len, &op), -EBADMSG);
	/* Empty name, NUL in it. */
	len = haq__lock_encode_acquire(buf, HAQ_CONTROL_LOCK_ACQUIRE, false, 1,
				       0, "", 0);
	ck_assert_int_eq(haq__lock_decode_acquire(buf, len, &op), -EBADMSG);
	len = haq__lock_encode_acquire(buf, HAQ_CONTROL_LOCK_ACQUIRE, false, 1,
				       0, "a\0b", 3);
	ck_assert_int_eq(haq__lock_decode_acquire(buf, len, &op), -EBADMSG);
	/* Wrong lengths: short of the header, the name, or beyond it. */
	len = haq__lock_encode_acquire(buf, HAQ_CONTROL_LOCK_ACQUIRE, false, 1,
				       0, "abc", 3);
	for (size_t i = 0; i < len; i++) {
		ck_assert_int_eq(haq__lock_decode_acquire(buf, i, &op),
				 -EBADMSG);
	}
	ck_assert_int_eq(haq__lock_decode_acquire(buf, len + 1, &op), -EBADMSG);
	/* Reserved flag bits, reserved bytes. */
	for (int bit = 1; bit < 8; bit++) {
		buf[1] = (uint8_t)(1u << bit);
		ck_assert_int_eq(haq__lock_decode_acquire(buf, len, &op),
				 -EBADMSG);
	}
	for (int i = 3; i < 8; i++) {
		haq__lock_encode_acquire(buf, HAQ_CONTROL_LOCK_ACQUIRE, false,
					 1, 0, "abc", 3);
		buf[i] = 1;
		ck_assert_int_eq(haq__lock_decode_acquire(buf, len, &op),
				 -EBADMSG);
	}
	/* Request 0. */
	haq__lock_encode_acquire(buf, HAQ_CONTROL_LOCK_ACQUIRE, false, 0, 0,
				 "abc", 3);
	ck_assert_int_eq(haq__lock_decode_acquire(buf, len, &op), -EBADMSG);
}
END_TEST

START_TEST(test_release_frame)
{
	uint8_t buf[HAQ_LOCK_RELEASE_HDR + HAQ_LOCK_NAME_MAX_ + 1];
	char name[HAQ_LOCK_NAME_MAX_ + 1];
	struct haq_lock_op op;
	size_t len;

	len = haq__lock_encode_release(buf, HAQ_CONTROL_LOCK_RELEASE,
				       0x8877665544332211ull, "lock", 4);
	ck_assert_uint_eq(len, HAQ_LOCK_RELEASE_HDR + 4);
	ck_assert_int_eq(buf[0], HAQ_CONTROL_LOCK_RELEASE);
	memset(&op, 0xa5, sizeof(op));
	ck_assert_int_eq(haq__lock_decode_release(buf, len, &op), 0);
	ck_assert(!op.try_);
	ck_assert_uint_eq(op.req, 0x8877665544332211ull);
	ck_assert_uint_eq(op.clock_us, 0);
	ck_assert_uint_eq(op.nlen, 4);
	ck_assert_ptr_eq(op.name, (const char *)buf + HAQ_LOCK_RELEASE_HDR);
	memset(name, 'n', sizeof(name));
	len = haq__lock_encode_release(buf, HAQ_CONTROL_LOCK_RELEASE, 1, name,
				       HAQ_LOCK_NAME_MAX_);
	ck_assert_int_eq(haq__lock_decode_release(buf, len, &op), 0);
	len = haq__lock_encode_release(buf, HAQ_CONTROL_LOCK_RELEASE, 1, name,
				       HAQ_LOCK_NAME_MAX_ + 1);
	ck_assert_int_eq(haq__lock_decode_release(buf, len, &op), -EBADMSG);
	len = haq__lock_encode_release(buf, HAQ_CONTROL_LOCK_RELEASE, 1, "", 0);
	ck_assert_int_eq(haq__lock_decode_release(buf, len, &op), -EBADMSG);
	len = haq__lock_encode_release(buf, HAQ_CONTROL_LOCK_RELEASE, 1, "\0",
				       1);
	ck_assert_int_eq(haq__lock_decode_release(buf, len, &op), -EBADMSG);
	len = haq__lock_encode_release(buf, HAQ_CONTROL_LOCK_RELEASE, 1, "lock",
				       4);
	for (size_t i = 0; i < len; i++) {
		ck_assert_int_eq(haq__lock_decode_release(buf, i, &op),
				 -EBADMSG);
	}
	ck_assert_int_eq(haq__lock_decode_release(buf, len + 1, &op), -EBADMSG);
	/* Byte 1 (no flags here) and 3..7 are reserved. */
	for (int i = 1; i < 8; i++) {
		if (i == 2) {
			continue;
		}
		haq__lock_encode_release(buf, HAQ_CONTROL_LOCK_RELEASE, 1,
					 "lock", 4);
		buf[i] = 1;
		ck_assert_int_eq(haq__lock_decode_release(buf, len, &op),
				 -EBADMSG);
	}
	haq__lock_encode_release(buf, HAQ_CONTROL_LOCK_RELEASE, 0, "lock", 4);
	ck_assert_int_eq(haq__lock_decode_release(buf, len, &op), -EBADMSG);
}
END_TEST

START_TEST(test_sync_frame)
{
	uint8_t buf[HAQ_LOCK_SYNC_HDR + 8];
	uint64_t view_id = 0;
	uint64_t last = 0;
	uint16_t round = 0;
	bool restart = true;
	bool valid = false;

	haq__lock_encode_sync_hdr(buf, HAQ_CONTROL_LOCK_SYNC, true, false,
				  0xbeef, 0x0102030405060708ull,
				  0xa0a1a2a3a4a5a6a7ull);
	ck_assert_int_eq(buf[0], HAQ_CONTROL_LOCK_SYNC);
	/* Valid: a table follows (its decoder checks it). */
	ck_assert_int_eq(haq__lock_decode_sync_hdr(buf, sizeof(buf), &valid,
						   &restart, &round, &view_id,
						   &last),
			 0);
	ck_assert(valid);
	ck_assert(!restart);
	ck_assert_uint_eq(round, 0xbeef);
	ck_assert_uint_eq(view_id, 0x0102030405060708ull);
	ck_assert_uint_eq(last, 0xa0a1a2a3a4a5a6a7ull);
	ck_assert_int_eq(haq__lock_decode_sync_hdr(buf, HAQ_LOCK_SYNC_HDR,
						   &valid, &restart, &round,
						   &view_id, &last),
			 0);
	/* Valid and a restart. */
	haq__lock_encode_sync_hdr(buf, HAQ_CONTROL_LOCK_SYNC, true, true, 1, 2,
				  3);
	ck_assert_int_eq(haq__lock_decode_sync_hdr(buf, sizeof(buf), &valid,
						   &restart, &round, &view_id,
						   &last),
			 0);
	ck_assert(valid);
	ck_assert(restart);
	ck_assert_uint_eq(round, 1);
	/* Not valid: the header alone. */
	haq__lock_encode_sync_hdr(buf, HAQ_CONTROL_LOCK_SYNC, false, true, 7, 3,
				  4);
	ck_assert_int_eq(haq__lock_decode_sync_hdr(buf, HAQ_LOCK_SYNC_HDR,
						   &valid, &restart, &round,
						   &view_id, &last),
			 0);
	ck_assert(!valid);
	ck_assert(restart);
	ck_assert_uint_eq(round, 7);
	ck_assert_uint_eq(view_id, 3);
	ck_assert_uint_eq(last, 4);
	ck_assert_int_eq(haq__lock_decode_sync_hdr(buf, HAQ_LOCK_SYNC_HDR + 1,
						   &valid, &restart, &round,
						   &view_id, &last),
			 -EBADMSG);
	/* Short. */
	for (size_t i = 0; i < HAQ_LOCK_SYNC_HDR; i++) {
		ck_assert_int_eq(haq__lock_decode_sync_hdr(buf, i, &valid,
							   &restart, &round,
							   &view_id, &last),
				 -EBADMSG);
	}
	/* Unknown flags, reserved bytes. */
	for (int bit = 2; bit < 8; bit++) {
		haq__lock_encode_sync_hdr(buf, HAQ_CONTROL_LOCK_SYNC, true,
					  false, 0, 3, 4);
		buf[1] |= (uint8_t)(1u << bit);
		ck_assert_int_eq(haq__lock_decode_sync_hdr(
					 buf, sizeof(buf), &valid, &restart,
					 &round, &view_id, &last),
				 -EBADMSG);
	}
	for (int i = 4; i < 8; i++) {
		haq__lock_encode_sync_hdr(buf, HAQ_CONTROL_LOCK_SYNC, true,
					  false, 0, 3, 4);
		buf[i] = 1;
		ck_assert_int_eq(haq__lock_decode_sync_hdr(
					 buf, sizeof(buf), &valid, &restart,
					 &round, &view_id, &last),
				 -EBADMSG);
	}
}
END_TEST

START_TEST(test_name_ok)
{
	char name[HAQ_LOCK_NAME_MAX_ + 1];

	memset(name, 'n', sizeof(name));
	ck_assert(haq__lock_name_ok("a", 1));
	ck_assert(haq__lock_name_ok("\xff", 1));
	ck_assert(haq__lock_name_ok(name, HAQ_LOCK_NAME_MAX_));
	ck_assert(!haq__lock_name_ok(name, HAQ_LOCK_NAME_MAX_ + 1));
	ck_assert(!haq__lock_name_ok("a", 0));
	ck_assert(!haq__lock_name_ok(NULL, 1));
	ck_assert(!haq__lock_name_ok("ab\0c", 4));
	ck_assert(!haq__lock_name_ok("\0", 1));
}
END_TEST

/* ---------------------------------------------------------------- */
/* Two tables, the same operations                                  */
/* ---------------------------------------------------------------- */

#define NMEMB 6
#define NNAMES 6

static const char *const names[NNAMES] = {"a",	"b",	  "c",
					  "aa", "lock-e", "\x7f"};

static uint64_t
rnd(uint64_t *s)
{
	/* splitmix64 */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Where (nodeid, pid, req) waited in lock name of t, or NULL. */
static const struct haq_lock_entry *
waiter_of(const struct haq_lock_table *t, const char *name,
	  const struct haq_lock_entry *who)
{
	const struct haq_lock *l = find(t, name);

	for (size_t i = 0; l && i < l->nwait; i++) {
		if (l->waiters[i].nodeid == who->nodeid &&
		    l->waiters[i].pid == who->pid &&
		    l->waiters[i].req == who->req) {
			return &l->waiters[i];
		}
	}
	return NULL;
}

/*
 * The grants of one operation: one per lock at most, each to a waiter of
 * the table before (or the process asking), above every token before and
 * not below the waiter's clock, and only when the lock's holder before is
 * gone; the new holder is the lock's holder after.
 */
static void
check_grants(const struct haq_lock_table *before,
	     const struct haq_lock_table *after, const struct evlog *log,
	     const struct haq_lock_entry *asking, uint64_t *max_token)
{
	for (size_t i = 0; i < log->n; i++) {
		const struct ev *e = &log->v[i];
		const struct haq_lock *was = find(before, e->name);
		const struct haq_lock *now = find(after, e->name);
		const struct haq_lock_entry *w;
		uint64_t clock_us;

		if (e->what != HAQ_LOCK_EV_GRANTED) {
			/* Refusals answer the acquire, and change nothing. */
			ck_assert_ptr_nonnull(asking);
			ck_assert_uint_eq(log->n, 1);
			ck_assert_mem_eq(&e->who, asking, sizeof(*asking));
			ck_assert(same_table(before, after));
			continue;
		}
		for (size_t j = 0; j < i; j++) {
			ck_assert(log->v[j].what != HAQ_LOCK_EV_GRANTED ||
				  strcmp(log->v[j].name, e->name));
		}
		w = waiter_of(before, e->name, &e->who);
		if (w) {
			clock_us = w->clock_us;
		} else {
			ck_assert_ptr_nonnull(asking);
			ck_assert(asking->nodeid == e->who.nodeid &&
				  asking->pid == e->who.pid &&
				  asking->req == e->who.req);
			clock_us = asking->clock_us;
		}
		ck_assert_uint_ge(e->token, clock_us);
		ck_assert_uint_gt(e->token, *max_token);
		ck_assert_uint_gt(e->token, before->last_token);
		*max_token = e->token;
		if (was && was->held) {
			/* Its holder went in this operation. */
			ck_assert(was->holder.nodeid != e->who.nodeid ||
				  was->holder.pid != e->who.pid);
		}
		ck_assert_ptr_nonnull(now);
		ck_assert(now->held);
		ck_assert_uint_eq(now->token, e->token);
		ck_assert_uint_eq(now->holder.nodeid, e->who.nodeid);
		ck_assert_uint_eq(now->holder.req, e->who.req);
	}
	ck_assert_uint_ge(after->last_token, before->last_token);
	ck_assert_uint_le(after->last_token, *max_token > before->last_token
						     ? *max_token
						     : before->last_token);
}

static void
check_same_events(const struct evlog *a, const struct evlog *b)
{
	ck_assert_uint_eq(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		ck_assert_int_eq(a->v[i].what, b->v[i].what);
		ck_assert_str_eq(a->v[i].name, b->v[i].name);
		ck_assert_mem_eq(&a->v[i].who, &b->v[i].who,
				 sizeof(a->v[i].who));
		ck_assert_uint_eq(a->v[i].token, b->v[i].token);
	}
}

/* A random entry of t (*name set), or NULL when t is empty. */
static const struct haq_lock_entry *
pick_entry(const struct haq_lock_table *t, uint64_t *s, const char **name)
{
	const struct haq_lock *l;
	size_t k;

	if (!t->n) {
		return NULL;
	}
	l = &t->locks[rnd(s) % t->n];
	*name = l->name;
	k = rnd(s) % (l->nwait + (l->held ? 1 : 0));
	if (l->held) {
		return k == 0 ? &l->holder : &l->waiters[k - 1];
	}
	return &l->waiters[k];
}

static void
run_same_ops(uint64_t seed, int nops)
{
	struct haq_lock_table t[2];
	struct haq_lock_table before;
	struct evlog *log = calloc(2, sizeof(*log));
	uint64_t s = seed;
	uint64_t next_req = 1;
	uint64_t max_token = 0;
	bool grant = true;
	int grants = 0;

	ck_assert_ptr_nonnull(log);
	haq__lock_table_init(&t[0]);
	haq__lock_table_init(&t[1]);
	for (int i = 0; i < nops; i++) {
		uint64_t r = rnd(&s);
		unsigned int kind = (unsigned int)(r % 100);
		struct haq_lock_entry asking = {0};
		bool is_acquire = false;
		int rc[2];

		copy_table(&before, &t[0]);
		log[0].n = 0;
		log[1].n = 0;
		if (kind < 45) {
			/* An acquire: try or not, a clock now and then
			 * ahead, the same process again now and then. */
			uint32_t node = (uint32_t)(rnd(&s) % NMEMB) + 1;
			const char *name = names[rnd(&s) % NNAMES];
			uint64_t clock_us =
				rnd(&s) % 8 == 0 ? max_token + rnd(&s) % 50 : 0;
			struct haq_lock_op op = op_of(
				name, next_req++, clock_us, rnd(&s) % 4 == 0);

			asking = (struct haq_lock_entry){node, PID(node),
							 op.req, clock_us};
			is_acquire = true;
			for (int k = 0; k < 2; k++) {
				rc[k] = haq__lock_acquire(&t[k], node,
							  PID(node), &op, grant,
							  log_ev, &log[k]);
			}
			ck_assert(rc[0] == 0 || rc[0] == -EALREADY);
		} else if (kind < 80) {
			/* A release: of an entry of the table mostly, of
			 * one that is not there now and then. */
			const char *name = names[rnd(&s) % NNAMES];
			const struct haq_lock_entry *e =
				pick_entry(&t[0], &s, &name);
			struct haq_lock_entry who = {0};
			char nm[HAQ_LOCK_NAME_MAX_ + 1];
			struct haq_lock_op op;
			bool chosen;

			who.nodeid = (uint32_t)(rnd(&s) % NMEMB) + 1;
			who.pid = PID(who.nodeid);
			who.req = rnd(&s) % next_req + 1;
			chosen = e && rnd(&s) % 8;
			if (chosen) {
				who = *e;
			}
			/* The name outlives the entry's lock. */
			strcpy(nm, name);
			op = op_of(nm, who.req, 0, false);
			for (int k = 0; k < 2; k++) {
				rc[k] = haq__lock_release(&t[k], who.nodeid,
							  who.pid, &op, grant,
							  log_ev, &log[k]);
			}
			ck_assert(rc[0] == 0 || rc[0] == -ENOENT);
			/* An entry of the table goes (e is freed now). */
			if (chosen) {
				ck_assert_int_eq(rc[0], 0);
			}
		} else if (kind < 95) {
			/* A view: some members left; the table may grant
			 * again (a quorate round settled) or not. */
			struct haq_memb m[NMEMB];
			size_t n = 0;
			uint64_t mask = rnd(&s);

			for (uint32_t node = 1; node <= NMEMB; node++) {
				if (mask & (1u << node) || node == 1) {
					m[n++] = (struct haq_memb){
						node, PID(node), 0};
				}
			}
			grant = rnd(&s) % 3 != 0;
			for (int k = 0; k < 2; k++) {
				haq__lock_purge(&t[k], m, n, grant, log_ev,
						&log[k]);
			}
			rc[0] = rc[1] = 0;
		} else {
			/* Both adopt a table through its encoding: their
			 * own, or the first's. */
			struct haq_lock_table c;

			copy_table(&c, rnd(&s) % 2 ? &t[0] : &t[1]);
			haq__lock_table_free(&t[0]);
			t[0] = c;
			haq__lock_table_free(&t[1]);
			copy_table(&t[1], &t[0]);
			rc[0] = rc[1] = 0;
		}
		ck_assert_int_eq(rc[0], rc[1]);
		check_same_events(&log[0], &log[1]);
		ck_assert(same_table(&t[0], &t[1]));
		check_table(&t[0]);
		check_table(&t[1]);
		check_grants(&before, &t[0], &log[0],
			     is_acquire ? &asking : NULL, &max_token);
		for (size_t e = 0; e < log[0].n; e++) {
			grants += log[0].v[e].what == HAQ_LOCK_EV_GRANTED;
		}
		haq__lock_table_free(&before);
	}
	/* The run did something. */
	ck_assert_int_gt(grants, nops / 20);
	haq__lock_table_free(&t[0]);
	haq__lock_table_free(&t[1]);
	free(log);
}

START_TEST(test_same_ops_same_table)
{
	for (uint64_t seed = 1; seed <= 8; seed++) {
		run_same_ops(seed, 1500);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("lock");

	ADD_TCASE(s, test_fifo, 5);
	ADD_TCASE(s, test_try, 5);
	ADD_TCASE(s, test_grant_later, 5);
	ADD_TCASE(s, test_already, 5);
	ADD_TCASE(s, test_release, 5);
	ADD_TCASE(s, test_purge, 5);
	ADD_TCASE(s, test_purge_many, 10);
	ADD_TCASE(s, test_tokens, 5);
	ADD_TCASE(s, test_tokens_spent, 5);
	ADD_TCASE(s, test_full, 20);
	ADD_TCASE(s, test_encode_roundtrip, 5);
	ADD_TCASE(s, test_decode_malformed, 10);
	ADD_TCASE(s, test_acquire_frame, 5);
	ADD_TCASE(s, test_release_frame, 5);
	ADD_TCASE(s, test_sync_frame, 5);
	ADD_TCASE(s, test_name_ok, 5);
	ADD_TCASE(s, test_same_ops_same_table, 60);
	return run_suite(s);
}
