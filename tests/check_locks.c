/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Integration tests of locks on a real 3-node corosync cluster: grants in
 * the agreed order (first come, first served), try-locks, tokens, the
 * errors of every call, a joiner that learns the table, a holder that
 * leaves, a holder cut off in a minority (told before the majority
 * grants, and the table after the heal), and malformed frames from a
 * peer.
 */
#include "check_common.h"

#include <sys/wait.h>
#include <unistd.h>

#include <corosync/cpg.h>
#include <haq/haq.h>

#include "le.h"

#define MAXM 3
#define MAXE 64
#define HAQ_WIRE_HDR 24

/* One callback a member saw. */
struct event {
	char name[HAQ_LOCK_NAME_MAX + 1];
	int status;
	uint64_t token;
	uint64_t at_ms;
};

struct member {
	haq_ctx_t *ctx;
	haq_group_t *g;
	uint32_t nodeid;
	struct event ev[MAXE];
	int nev;
	bool unlock_in_cb; /* release a granted lock inside the callback */
};

static struct member M[MAXM];

static void
on_lock(haq_group_t *g, const char *name, int status, uint64_t token,
	void *ud)
{
	struct member *m = ud;
	struct event *e;
	uint64_t t = 1;
	uint64_t deadline = 1;

	ck_assert_int_lt(m->nev, MAXE);
	e = &m->ev[m->nev++];
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->status = status;
	e->token = token;
	e->at_ms = test_now_ms();
	if (status == 0) {
		ck_assert_uint_gt(token, 0);
		ck_assert_int_eq(haq_group_lock_held(g, name, &t, &deadline),
				 1);
		ck_assert_uint_eq(t, token);
		ck_assert_uint_gt(deadline, 0);
		/* Asked already: it holds it. */
		ck_assert_int_eq(haq_group_lock(g, name, 0), -EALREADY);
		if (m->unlock_in_cb) {
			ck_assert_int_eq(haq_group_unlock(g, name), 0);
		}
	} else {
		ck_assert_uint_eq(token, 0);
		ck_assert_int_eq(haq_group_lock_held(g, name, &t, &deadline),
				 0);
		ck_assert_uint_eq(t, 0);
		ck_assert_int_eq(haq_group_unlock(g, name), -ENOENT);
	}
}

static void
member_start(struct member *m, int node, const char *group)
{
	memset(m, 0, sizeof(*m));
	cluster_enter_node(node);
	ck_assert_int_eq(haq_ctx_new(&m->ctx, NULL), 0);
	ck_assert_int_eq(haq_ctx_local_nodeid(m->ctx, &m->nodeid), 0);
	ck_assert_int_eq(haq_group_join(m->ctx, group, &m->g), 0);
	ck_assert_int_eq(haq_group_set_lock_cb(m->g, on_lock, m), 0);
}

static void
member_stop(struct member *m)
{
	if (m->ctx) {
		haq_ctx_free(m->ctx);
	}
	m->ctx = NULL;
	m->g = NULL;
}

static void
turn(int wait_ms)
{
	struct pollfd p[MAXM];

	for (int i = 0; i < MAXM; i++) {
		p[i].fd = M[i].ctx ? haq_ctx_fd(M[i].ctx) : -1;
		p[i].events = POLLIN;
	}
	poll(p, MAXM, wait_ms);
	for (int i = 0; i < MAXM; i++) {
		if (M[i].ctx) {
			ck_assert_int_ge(haq_ctx_dispatch(M[i].ctx), 0);
		}
	}
}

static bool
pump(int timeout_ms, bool (*done)(void *), void *arg)
{
	uint64_t end = test_now_ms() + (uint64_t)timeout_ms;

	while (!done(arg)) {
		if (test_now_ms() >= end) {
			return false;
		}
		turn(20);
	}
	return true;
}

/* Pump for ms whatever happens. */
static void
pump_for(int ms)
{
	uint64_t end = test_now_ms() + (uint64_t)ms;

	while (test_now_ms() < end) {
		turn(10);
	}
}

static bool
views_of(void *arg)
{
	size_t want = (size_t)(uintptr_t)arg;

	for (int i = 0; i < MAXM; i++) {
		const haq_view_t *v;

		if (!M[i].g) {
			continue;
		}
		v = haq_group_view(M[i].g);
		if (!v || haq_view_member_count(v) != want) {
			return false;
		}
	}
	return true;
}

static void
start(int n, const char *base, char *name, size_t len)
{
	unique_group(name, len, base);
	for (int i = 0; i < n; i++) {
		member_start(&M[i], i + 1, name);
	}
	ck_assert(pump(20000, views_of, (void *)(uintptr_t)n));
}

static void
stop_all(void)
{
	for (int i = 0; i < MAXM; i++) {
		uint64_t v = 1;

		if (M[i].g) {
			ck_assert_int_eq(
				haq_group_counter(M[i].g,
						  HAQ_COUNTER_LOCK_MALFORMED, &v),
				0);
			ck_assert_uint_eq(v, 0);
		}
		member_stop(&M[i]);
	}
}

static bool
events_at_least(void *arg)
{
	const int *want = arg; /* member index, count */

	return M[want[0]].nev >= want[1];
}

/* Pump until member i saw n callbacks; return the n-th. */
static struct event *
wait_event(int i, int n, int timeout_ms)
{
	int want[2] = {i, n};

	ck_assert_msg(pump(timeout_ms, events_at_least, want),
		      "member %d: %d callbacks, not %d", i, M[i].nev, n);
	return &M[i].ev[n - 1];
}

START_TEST(test_grants_in_order_with_tokens)
{
	char name[64];
	char longname[HAQ_LOCK_NAME_MAX + 2];
	struct event *e0;
	struct event *e1;
	struct event *e2;
	uint64_t before;

	start(3, "lk-order", name, sizeof(name));
	/* Errors of the calls. */
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_int_eq(haq_group_lock(M[0].g, "", 0), -EINVAL);
	ck_assert_int_eq(haq_group_lock(M[0].g, NULL, 0), -EINVAL);
	ck_assert_int_eq(haq_group_lock(M[0].g, longname, 0), -ENAMETOOLONG);
	ck_assert_int_eq(haq_group_lock(M[0].g, "a", 2), -EINVAL);
	ck_assert_int_eq(haq_group_unlock(M[0].g, "a"), -ENOENT);
	ck_assert_int_eq(haq_group_unlock(M[0].g, longname), -ENAMETOOLONG);
	ck_assert_int_eq(haq_group_lock_held(M[0].g, "a", NULL, NULL), 0);
	longname[HAQ_LOCK_NAME_MAX] = '\0'; /* the longest name is fine */

	before = (uint64_t)time(NULL) * 1000000u;
	ck_assert_int_eq(haq_group_lock(M[0].g, "a", 0), 0);
	ck_assert_int_eq(haq_group_lock(M[0].g, "a", 0), -EALREADY);
	e0 = wait_event(0, 1, 10000);
	ck_assert_int_eq(e0->status, 0);
	/* Tokens start from the wall clock on a new table. */
	ck_assert_uint_ge(e0->token, before);
	/* Node 2 then node 3 wait, in that order; a try fails at once. */
	ck_assert_int_eq(haq_group_lock(M[1].g, "a", 0), 0);
	pump_for(300);
	ck_assert_int_eq(haq_group_lock(M[2].g, "a", 0), 0);
	pump_for(300);
	ck_assert_int_eq(M[1].nev, 0);
	ck_assert_int_eq(M[2].nev, 0);
	ck_assert_int_eq(haq_group_lock(M[0].g, longname, HAQ_LOCK_TRY), 0);
	e0 = wait_event(0, 2, 10000);
	ck_assert_int_eq(e0->status, 0);
	ck_assert_str_eq(e0->name, longname);
	ck_assert_int_eq(haq_group_unlock(M[0].g, longname), 0);
	ck_assert_int_eq(haq_group_unlock(M[0].g, longname), -ENOENT);
	/* A try on a lock others wait for fails, even for its holder's peer. */
	ck_assert_int_eq(haq_group_lock(M[2].g, "b", HAQ_LOCK_TRY), 0);
	e2 = wait_event(2, 1, 10000);
	ck_assert_int_eq(e2->status, 0);
	ck_assert_int_eq(haq_group_lock(M[1].g, "b", HAQ_LOCK_TRY), 0);
	e1 = wait_event(1, 1, 10000);
	ck_assert_int_eq(e1->status, -EBUSY);
	ck_assert_str_eq(e1->name, "b");
	ck_assert_int_eq(haq_group_unlock(M[2].g, "b"), 0);

	/* Node 1 releases: node 2 is next, then node 3. */
	ck_assert_int_eq(haq_group_unlock(M[0].g, "a"), 0);
	ck_assert_int_eq(haq_group_lock_held(M[0].g, "a", NULL, NULL), 0);
	e1 = wait_event(1, 2, 10000);
	ck_assert_int_eq(e1->status, 0);
	ck_assert_str_eq(e1->name, "a");
	ck_assert_uint_gt(e1->token, M[0].ev[0].token);
	ck_assert_uint_gt(e1->token, M[2].ev[0].token);
	ck_assert_int_eq(M[2].nev, 1);
	ck_assert_int_eq(haq_group_unlock(M[1].g, "a"), 0);
	e2 = wait_event(2, 2, 10000);
	ck_assert_int_eq(e2->status, 0);
	ck_assert_uint_gt(e2->token, e1->token);
	/* A wait withdrawn is never granted. */
	ck_assert_int_eq(haq_group_lock(M[0].g, "a", 0), 0);
	pump_for(200);
	ck_assert_int_eq(haq_group_unlock(M[0].g, "a"), 0);
	ck_assert_int_eq(haq_group_unlock(M[2].g, "a"), 0);
	pump_for(500);
	ck_assert_int_eq(M[0].nev, 2);
	/* Released inside the grant callback: the next one goes on. */
	M[0].unlock_in_cb = true;
	ck_assert_int_eq(haq_group_lock(M[0].g, "c", 0), 0);
	ck_assert_int_eq(haq_group_lock(M[1].g, "c", 0), 0);
	e1 = wait_event(1, 3, 10000);
	ck_assert_int_eq(e1->status, 0);
	ck_assert_str_eq(e1->name, "c");
	ck_assert_int_eq(M[0].ev[2].status, 0);
	ck_assert_int_eq(haq_group_unlock(M[1].g, "c"), 0);
	stop_all();
}
END_TEST

START_TEST(test_joiner_learns_the_table_and_leaver_releases)
{
	char name[64];
	struct event *e;
	uint64_t t_free;

	start(2, "lk-join", name, sizeof(name));
	ck_assert_int_eq(haq_group_lock(M[0].g, "x", 0), 0);
	ck_assert_int_eq(wait_event(0, 1, 10000)->status, 0);
	ck_assert_int_eq(haq_group_lock(M[1].g, "y", 0), 0);
	ck_assert_int_eq(wait_event(1, 1, 10000)->status, 0);
	member_start(&M[2], 3, name);
	ck_assert(pump(20000, views_of, (void *)(uintptr_t)3));
	/* The joiner knows both holders. */
	ck_assert_int_eq(haq_group_lock(M[2].g, "x", HAQ_LOCK_TRY), 0);
	e = wait_event(2, 1, 10000);
	ck_assert_int_eq(e->status, -EBUSY);
	ck_assert_int_eq(haq_group_lock(M[2].g, "y", 0), 0);
	pump_for(300);
	ck_assert_int_eq(M[2].nev, 1);
	/* The holder of y leaves: the joiner gets it at once. */
	t_free = test_now_ms();
	member_stop(&M[1]);
	e = wait_event(2, 2, 10000);
	ck_assert_int_eq(e->status, 0);
	ck_assert_str_eq(e->name, "y");
	ck_assert_uint_gt(e->token, M[0].ev[0].token);
	ck_assert_uint_lt(e->at_ms - t_free, 5000);
	ck_assert_int_eq(haq_group_unlock(M[2].g, "y"), 0);
	ck_assert_int_eq(haq_group_unlock(M[0].g, "x"), 0);
	stop_all();
}
END_TEST

static bool
two_views(void *arg)
{
	(void)arg;
	return haq_view_member_count(haq_group_view(M[0].g)) == 2 &&
	       haq_view_member_count(haq_group_view(M[2].g)) == 1;
}

START_TEST(test_minority_holder_told_before_majority_grant)
{
	char name[64];
	struct event *lost;
	struct event *got;
	uint32_t takeover = 0;

	start(3, "lk-part", name, sizeof(name));
	ck_assert_int_eq(haq_group_lock(M[2].g, "x", 0), 0);
	ck_assert_int_eq(wait_event(2, 1, 10000)->status, 0);
	ck_assert_int_eq(haq_group_lock(M[0].g, "x", 0), 0);
	pump_for(300);
	ck_assert_int_eq(M[0].nev, 0);
	ck_assert_int_eq(haq_group_leader_timing(M[0].g, HAQ_TIMING_TAKEOVER,
						 &takeover),
			 0);
	ck_assert_int_eq(cluster_cmd("isolate 3"), 0);
	got = wait_event(0, 1, 60000);
	ck_assert_int_eq(got->status, 0);
	lost = wait_event(2, 2, 10000);
	ck_assert_int_eq(lost->status, -ENOLCK);
	/* The minority was told first, with the takeover delay between. */
	ck_assert_uint_lt(lost->at_ms, got->at_ms);
	ck_assert_uint_gt(got->token, M[2].ev[0].token);
	ck_assert(pump(10000, two_views, NULL));
	/* No grants in the minority; a try says so. */
	ck_assert_int_eq(haq_group_lock(M[2].g, "z", HAQ_LOCK_TRY), 0);
	ck_assert_int_eq(wait_event(2, 3, 10000)->status, -EAGAIN);
	/* A wait in the minority lasts until the heal, then queues. */
	ck_assert_int_eq(haq_group_lock(M[2].g, "x", 0), 0);
	ck_assert_int_eq(cluster_cmd("heal 3"), 0);
	ck_assert(pump(60000, views_of, (void *)(uintptr_t)3));
	pump_for(1000);
	ck_assert_int_eq(M[2].nev, 3);
	ck_assert_int_eq(haq_group_lock(M[1].g, "x", HAQ_LOCK_TRY), 0);
	ck_assert_int_eq(wait_event(1, 1, 10000)->status, -EBUSY);
	ck_assert_int_eq(haq_group_unlock(M[0].g, "x"), 0);
	got = wait_event(2, 4, 10000);
	ck_assert_int_eq(got->status, 0);
	ck_assert_uint_gt(got->token, M[0].ev[0].token);
	ck_assert_int_eq(haq_group_unlock(M[2].g, "x"), 0);
	stop_all();
}
END_TEST

/*
 * Quorum that comes back under a standing view (the group's only member
 * is on a node that heals: the ring changes, the group's view does not):
 * the waiter is granted, and a holder that loses quorum so is told.
 */
START_TEST(test_quorum_back_without_a_view)
{
	char name[64];
	struct event *e;

	unique_group(name, sizeof(name), "lk-qback");
	ck_assert_int_eq(cluster_cmd("isolate 3"), 0);
	ck_assert_int_eq(cluster_cmd("wait-quorate 3 no 30"), 0);
	member_start(&M[2], 3, name);
	ck_assert(pump(20000, views_of, (void *)(uintptr_t)1));
	ck_assert_int_eq(haq_group_lock(M[2].g, "q", 0), 0);
	pump_for(1000);
	ck_assert_int_eq(M[2].nev, 0);
	ck_assert_int_eq(cluster_cmd("heal 3"), 0);
	e = wait_event(2, 1, 30000);
	ck_assert_int_eq(e->status, 0);
	ck_assert_str_eq(e->name, "q");
	/* Quorum lost under the same view: told at once. */
	ck_assert_int_eq(cluster_cmd("isolate 3"), 0);
	e = wait_event(2, 2, 30000);
	ck_assert_int_eq(e->status, -ENOLCK);
	ck_assert_int_eq(haq_group_lock_held(M[2].g, "q", NULL, NULL), 0);
	ck_assert_int_eq(cluster_cmd("heal 3"), 0);
	ck_assert_int_eq(cluster_cmd("wait-quorate 3 yes 30"), 0);
	stop_all();
}
END_TEST

/* Lock frames from a peer that are all malformed. */
#define RAW_BAD 7
static const uint8_t raw_bodies[RAW_BAD][32] = {
	{30},				 /* an acquire too short */
	{30, 2, 1, [8] = 1, [24] = 'a'}, /* an unknown flag */
	{30, 0, 1, [24] = 'a'},		 /* request id 0 */
	{31, 0, 0, [8] = 1},		 /* a release with an empty name */
	{32, [8] = 1},			 /* a renewal too short */
	{33, 4},			 /* a sync with an unknown flag */
	{39},				 /* a type of ours nobody sends */
};
static const size_t raw_lens[RAW_BAD] = {8, 25, 25, 16, 9, 24, 1};

static bool raw_joined;

static void
raw_confchg(cpg_handle_t h, const struct cpg_name *n,
	    const struct cpg_address *m, size_t nm,
	    const struct cpg_address *l, size_t nl,
	    const struct cpg_address *j, size_t nj)
{
	(void)h, (void)n, (void)m, (void)nm, (void)l, (void)nl, (void)j;
	if (nj) {
		raw_joined = true;
	}
}

static void
raw_send(cpg_handle_t h, const uint8_t *body, size_t len)
{
	uint8_t f[64];
	struct iovec iov = {f, HAQ_WIRE_HDR + len};

	memset(f, 0, sizeof(f));
	haq__put_le32(f, 0x31514148u); /* libhaq's header: a control frame */
	f[4] = 1;
	f[5] = 3;
	haq__put_le64(f + 8, 0x1234);
	haq__put_le64(f + 16, 1);
	memcpy(f + HAQ_WIRE_HDR, body, len);
	while (cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1) ==
	       CS_ERR_TRY_AGAIN) {
		usleep(5000);
	}
}

static void
raw_member(const char *name)
{
	cpg_handle_t h;
	struct cpg_name cn;
	cpg_callbacks_t cbs = {.cpg_confchg_fn = raw_confchg};

	cluster_enter_node(2);
	if (cpg_initialize(&h, &cbs) != CS_OK) {
		_exit(2);
	}
	cn.length = (uint32_t)strlen(name);
	memcpy(cn.value, name, cn.length);
	if (cpg_join(h, &cn) != CS_OK) {
		_exit(3);
	}
	for (uint64_t end = test_now_ms() + 20000; !raw_joined;) {
		if (test_now_ms() > end) {
			_exit(4);
		}
		cpg_dispatch(h, CS_DISPATCH_ONE_NONBLOCKING);
		usleep(10000);
	}
	for (int i = 0; i < RAW_BAD; i++) {
		raw_send(h, raw_bodies[i], raw_lens[i]);
	}
	usleep(300000);
	cpg_finalize(h);
	_exit(0);
}

START_TEST(test_malformed_frames_counted)
{
	char name[64];
	uint64_t v;
	pid_t child;
	int status;

	start(3, "lk-bad", name, sizeof(name));
	ck_assert_int_eq(haq_group_lock(M[0].g, "held", 0), 0);
	ck_assert_int_eq(wait_event(0, 1, 10000)->status, 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		raw_member(name);
	}
	for (uint64_t end = test_now_ms() + 30000; test_now_ms() < end;) {
		bool all = true;

		turn(10);
		for (int i = 0; i < 3; i++) {
			ck_assert_int_eq(
				haq_group_counter(M[i].g,
						  HAQ_COUNTER_LOCK_MALFORMED,
						  &v),
				0);
			all = all && v >= RAW_BAD;
		}
		if (all) {
			break;
		}
	}
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(haq_group_counter(M[i].g,
						   HAQ_COUNTER_LOCK_MALFORMED,
						   &v),
				 0);
		ck_assert_uint_eq(v, RAW_BAD);
	}
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert(pump(20000, views_of, (void *)(uintptr_t)3));
	/* Nothing else affected: the holder holds, the table works. */
	ck_assert_int_eq(haq_group_lock_held(M[0].g, "held", NULL, NULL), 1);
	ck_assert_int_eq(haq_group_lock(M[1].g, "held", HAQ_LOCK_TRY), 0);
	ck_assert_int_eq(wait_event(1, 1, 10000)->status, -EBUSY);
	ck_assert_int_eq(haq_group_unlock(M[0].g, "held"), 0);
	ck_assert_int_eq(haq_group_lock(M[1].g, "held", 0), 0);
	ck_assert_int_eq(wait_event(1, 2, 10000)->status, 0);
	for (int i = 0; i < 3; i++) {
		haq_group_counter(M[i].g, HAQ_COUNTER_LOCK_MALFORMED, &v);
		ck_assert_uint_eq(v, RAW_BAD);
		member_stop(&M[i]);
	}
}
END_TEST

static void
heal_all(void)
{
	cluster_cmd("heal 1 2 3");
	for (int k = 1; k <= 3; k++) {
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "wait-members %d 3 30", k);
		cluster_cmd(cmd);
	}
}

static void
add_fault_tcase(Suite *s, const TTest *fn, int timeout)
{
	TCase *tc = tcase_create(fn->name);

	tcase_add_unchecked_fixture(tc, NULL, heal_all);
	add_tcase(s, tc, fn, timeout);
}

int
main(void)
{
	Suite *s = suite_create("locks");

	ADD_TCASE(s, test_grants_in_order_with_tokens, 120);
	ADD_TCASE(s, test_joiner_learns_the_table_and_leaver_releases, 120);
	add_fault_tcase(s, test_minority_holder_told_before_majority_grant,
			300);
	ADD_TCASE(s, test_malformed_frames_counted, 120);
	add_fault_tcase(s, test_quorum_back_without_a_view, 180);
	return run_suite(s);
}
