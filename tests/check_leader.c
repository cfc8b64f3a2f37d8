/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Integration tests of leadership on a real 3-node corosync cluster:
 * sticky leadership, resign, eligibility, the lease and its timing.
 * One process per node, each in its node's network namespace.
 */
#include "check_common.h"

#include <haq/haq.h>

#define N 3

struct member {
	haq_ctx_t *ctx;
	haq_group_t *g;
	uint32_t nodeid;
	int calls;      /* leader callbacks */
	int self;       /* as last told */
	uint64_t epoch; /* as last told */
	uint32_t leader;
};

static void
on_leader(haq_group_t *g, int is_leader, uint64_t epoch, uint32_t nodeid,
	  uint32_t pid, void *ud)
{
	struct member *m = ud;

	(void)g;
	(void)pid;
	m->calls++;
	m->self = is_leader;
	m->epoch = epoch;
	m->leader = nodeid;
}

/* HAQ_TEST_LOG=1: the library's log on stderr, to follow a failure. */
static void
log_stderr(haq_ctx_t *ctx, int priority, const char *message, void *ud)
{
	(void)ctx;
	fprintf(stderr, "[%u %d] %s\n", *(uint32_t *)ud, priority, message);
}

static void
member_new(struct member *m, int node)
{
	memset(m, 0, sizeof(*m));
	cluster_enter_node(node);
	ck_assert_int_eq(haq_ctx_new(&m->ctx, NULL), 0);
	ck_assert_int_eq(haq_ctx_local_nodeid(m->ctx, &m->nodeid), 0);
	if (getenv("HAQ_TEST_LOG")) {
		haq_ctx_set_log(m->ctx, log_stderr, &m->nodeid);
	}
}

static void
member_join(struct member *m, const char *name, int eligible)
{
	ck_assert_int_eq(haq_group_join(m->ctx, name, &m->g), 0);
	ck_assert_int_eq(haq_group_set_leader_cb(m->g, on_leader, m), 0);
	ck_assert_int_eq(haq_group_set_eligible(m->g, eligible), 0);
}

struct cond {
	struct member *m;
	int n;
	uint32_t leader; /* every joined member names it (0: any, agreed) */
};

/* Every member with a group names the same leader with the same epoch. */
static bool
agreed(void *arg)
{
	struct cond *c = arg;
	uint32_t who = 0;
	uint64_t epoch = 0;
	int leaders = 0;

	for (int i = 0; i < c->n; i++) {
		uint32_t nodeid;
		uint64_t e;
		int rc;

		if (!c->m[i].g) {
			continue;
		}
		rc = haq_group_leader(c->m[i].g, &nodeid, NULL, &e);
		if (rc < 0) {
			return false;
		}
		if (who && (nodeid != who || e != epoch)) {
			return false;
		}
		who = nodeid;
		epoch = e;
		leaders += rc;
	}
	return leaders == 1 && (!c->leader || who == c->leader);
}

static bool
wait_agreed(struct member *m, uint32_t leader, int timeout_ms)
{
	haq_ctx_t *ctx[N];
	struct cond c = {m, N, leader};

	for (int i = 0; i < N; i++) {
		ctx[i] = m[i].ctx;
	}
	if (pump_until(ctx, N, timeout_ms, agreed, &c)) {
		return true;
	}
	/* Say what each member thought, for the failure's message. */
	for (int i = 0; i < N; i++) {
		uint32_t nodeid = 0;
		uint64_t epoch = 0;
		int rc = m[i].g ? haq_group_leader(m[i].g, &nodeid, NULL, &epoch)
				: 0;

		fprintf(stderr,
			"member %d: leader rc %d node %u epoch %llu state %d "
			"calls %d\n",
			i + 1, rc, nodeid, (unsigned long long)epoch,
			m[i].g ? haq_group_leader_state(m[i].g) : -1,
			m[i].calls);
	}
	return false;
}

static void
pump(struct member *m, int ms)
{
	haq_ctx_t *ctx[N];

	for (int i = 0; i < N; i++) {
		ctx[i] = m[i].ctx;
	}
	(void)pump_until(ctx, N, ms, NULL, NULL);
}

static uint64_t
epoch_of(struct member *m)
{
	uint64_t e = 0;

	(void)haq_group_leader(m->g, NULL, NULL, &e);
	return e;
}

static void
free_all(struct member *m)
{
	for (int i = 0; i < N; i++) {
		haq_ctx_free(m[i].ctx);
	}
}

/*
 * A leader keeps its leadership and epoch when a lower member joins and
 * when another member leaves: no callback at the leader.
 */
START_TEST(test_sticky_through_join_and_leave)
{
	struct member m[N];
	char name[64];
	uint64_t epoch;
	int calls;

	unique_group(name, sizeof(name), "sticky");
	for (int i = 0; i < N; i++) {
		member_new(&m[i], i + 1);
	}
	/* Nodes 2 and 3 first: node 2 leads. */
	member_join(&m[1], name, 1);
	member_join(&m[2], name, 1);
	ck_assert(wait_agreed(m, 2, 15000));
	ck_assert_int_eq(m[1].self, 1);
	epoch = epoch_of(&m[1]);
	calls = m[1].calls;
	/* Node 1 joins: lower, but the leader stays. */
	member_join(&m[0], name, 1);
	ck_assert(wait_agreed(m, 2, 15000));
	pump(m, 500);
	ck_assert_uint_eq(epoch_of(&m[0]), epoch);
	ck_assert_uint_eq(epoch_of(&m[1]), epoch);
	ck_assert_int_eq(m[1].calls, calls);
	/* Node 3 leaves: still node 2, still the same epoch. */
	ck_assert_int_eq(haq_group_leave(m[2].g), 0);
	m[2].g = NULL;
	pump(m, 1000);
	ck_assert(wait_agreed(m, 2, 15000));
	ck_assert_uint_eq(epoch_of(&m[1]), epoch);
	ck_assert_int_eq(m[1].calls, calls);
	free_all(m);
}
END_TEST

/*
 * resign() hands over at its delivery: another eligible member leads with
 * a larger epoch, the resigner gets no callback for its own resignation,
 * and a non-leader's resign is refused.
 */
START_TEST(test_resign_hands_over)
{
	struct member m[N];
	char name[64];
	uint64_t epoch, deadline = 0;
	struct timespec now;
	int calls;

	unique_group(name, sizeof(name), "resign");
	for (int i = 0; i < N; i++) {
		member_new(&m[i], i + 1);
		member_join(&m[i], name, 1);
	}
	ck_assert(wait_agreed(m, 0, 15000));
	for (int i = 0; i < N; i++) {
		int rc = haq_group_leader(m[i].g, NULL, NULL, NULL);

		if (rc == 0) {
			ck_assert_int_eq(haq_group_resign(m[i].g), -EPERM);
			ck_assert_int_eq(haq_group_lease(m[i].g, &deadline), 0);
			ck_assert_uint_eq(deadline, 0);
		}
	}
	/* The leader is the lowest: node 1. */
	ck_assert_int_eq(m[0].self, 1);
	epoch = epoch_of(&m[0]);
	ck_assert_int_eq(haq_group_lease(m[0].g, &deadline), 1);
	clock_gettime(CLOCK_MONOTONIC, &now);
	ck_assert_uint_gt(deadline,
			  (uint64_t)now.tv_sec * 1000000000ull + now.tv_nsec);
	calls = m[0].calls;
	ck_assert_int_eq(haq_group_resign(m[0].g), 0);
	ck_assert_int_eq(haq_group_lease(m[0].g, &deadline), 0);
	ck_assert_int_eq(haq_group_resign(m[0].g), -EPERM); /* not twice */
	ck_assert(wait_agreed(m, 2, 15000));
	ck_assert_uint_gt(epoch_of(&m[1]), epoch);
	ck_assert_int_eq(m[1].self, 1);
	ck_assert_int_eq(m[0].self, 0);
	/* One callback at the resigner: the new leader, not its own stop. */
	ck_assert_int_eq(m[0].calls, calls + 1);
	ck_assert_uint_eq(m[0].leader, 2);
	free_all(m);
}
END_TEST

static bool
nobody_leads(void *arg)
{
	struct member *m = arg;

	for (int i = 0; i < N; i++) {
		if (haq_group_leader_state(m[i].g) != HAQ_LEADER_NONE) {
			return false;
		}
	}
	return true;
}

/*
 * Ineligible members are never elected; becoming eligible again does not
 * take leadership from a leader; with nobody eligible there is no leader
 * (HAQ_LEADER_NONE), and the first member to become eligible is elected.
 */
START_TEST(test_eligibility)
{
	struct member m[N];
	haq_ctx_t *ctx[N];
	char name[64];
	uint64_t epoch;

	unique_group(name, sizeof(name), "eligible");
	for (int i = 0; i < N; i++) {
		member_new(&m[i], i + 1);
		ctx[i] = m[i].ctx;
	}
	/* Node 1 starts ineligible, set before its join. */
	member_join(&m[0], name, 0);
	member_join(&m[1], name, 1);
	member_join(&m[2], name, 1);
	ck_assert(wait_agreed(m, 2, 15000));
	epoch = epoch_of(&m[1]);
	/* Node 1 eligible again: node 2 keeps leading. */
	ck_assert_int_eq(haq_group_set_eligible(m[0].g, 1), 0);
	pump(m, 1000);
	ck_assert(wait_agreed(m, 2, 5000));
	ck_assert_uint_eq(epoch_of(&m[1]), epoch);
	/* Everyone ineligible, then the leader resigns: no leader at all. */
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(haq_group_set_eligible(m[i].g, 0), 0);
	}
	pump(m, 500);
	ck_assert_int_eq(haq_group_resign(m[1].g), 0);
	ck_assert(pump_until(ctx, N, 10000, nobody_leads, m));
	ck_assert_int_eq(haq_group_leader(m[2].g, NULL, NULL, NULL), -ENOENT);
	/* Node 3 becomes eligible: elected at once. */
	ck_assert_int_eq(haq_group_set_eligible(m[2].g, 1), 0);
	ck_assert(wait_agreed(m, 3, 10000));
	ck_assert_uint_gt(epoch_of(&m[2]), epoch);
	free_all(m);
}
END_TEST

/*
 * A fresh group's first leadership takes its epoch from the wall clock,
 * also when it comes from an eligibility change after a round that found
 * nobody eligible (the demo's case: every node waits for its monitor):
 * epochs go forward across a restart of everything.
 */
START_TEST(test_first_epoch_from_the_clock)
{
	struct member m[N];
	haq_ctx_t *ctx[N];
	char name[64];
	struct timespec ts;
	uint64_t start_us;

	clock_gettime(CLOCK_REALTIME, &ts);
	start_us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	unique_group(name, sizeof(name), "clock");
	for (int i = 0; i < N; i++) {
		member_new(&m[i], i + 1);
		ctx[i] = m[i].ctx;
		member_join(&m[i], name, 0);
	}
	pump(m, 1000);
	ck_assert(pump_until(ctx, N, 10000, nobody_leads, m));
	ck_assert_int_eq(haq_group_set_eligible(m[1].g, 1), 0);
	ck_assert(wait_agreed(m, 2, 10000));
	ck_assert_uint_ge(epoch_of(&m[1]), start_us);
	free_all(m);
}
END_TEST

/*
 * The lease is renewed while the leader runs (its deadline moves on), and
 * the timing follows corosync's, as haq.h documents.
 */
START_TEST(test_lease_renewed_and_timing)
{
	struct member m[N];
	char name[64];
	uint64_t d1, d2;
	uint32_t token, consensus, t[HAQ_TIMING_MARGIN + 1];

	unique_group(name, sizeof(name), "lease");
	for (int i = 0; i < N; i++) {
		member_new(&m[i], i + 1);
		member_join(&m[i], name, 1);
	}
	ck_assert(wait_agreed(m, 1, 15000));
	for (int w = HAQ_TIMING_TOKEN; w <= HAQ_TIMING_MARGIN; w++) {
		ck_assert_int_eq(haq_group_leader_timing(m[0].g, w, &t[w]), 0);
	}
	ck_assert_int_eq(haq_config_get_u32(m[0].ctx,
					    "runtime.config.totem.token",
					    &token),
			 0);
	ck_assert_int_eq(haq_config_get_u32(m[0].ctx,
					    "runtime.config.totem.consensus",
					    &consensus),
			 0);
	ck_assert_uint_eq(t[HAQ_TIMING_TOKEN], token);
	ck_assert_uint_eq(t[HAQ_TIMING_CONSENSUS], consensus);
	ck_assert_uint_eq(t[HAQ_TIMING_DETECT], token + consensus);
	ck_assert_uint_eq(t[HAQ_TIMING_NODES], 3);
	ck_assert_uint_eq(t[HAQ_TIMING_RENEW], token / 4);
	ck_assert_uint_eq(t[HAQ_TIMING_LEASE],
			  token / 4 + token + consensus + token / 2);
	ck_assert_uint_eq(t[HAQ_TIMING_TAKEOVER],
			  2 * (token / 4) + t[HAQ_TIMING_LEASE] - consensus);
	/* The margin holds: D + C - (I + L) = I. */
	ck_assert_uint_eq(t[HAQ_TIMING_TAKEOVER] + consensus -
				  (t[HAQ_TIMING_RENEW] + t[HAQ_TIMING_LEASE]),
			  t[HAQ_TIMING_MARGIN]);
	ck_assert_int_eq(haq_group_lease(m[0].g, &d1), 1);
	pump(m, (int)t[HAQ_TIMING_RENEW] * 3);
	ck_assert_int_eq(haq_group_lease(m[0].g, &d2), 1);
	ck_assert_uint_gt(d2, d1);
	ck_assert_int_eq(m[0].self, 1);
	free_all(m);
}
END_TEST

/*
 * The leader leaving hands over at once (it resigns first), and the
 * leader freeing its context too.
 */
START_TEST(test_leave_and_free_of_leader_hand_over)
{
	struct member m[N];
	char name[64];
	uint64_t epoch;

	unique_group(name, sizeof(name), "handover");
	for (int i = 0; i < N; i++) {
		member_new(&m[i], i + 1);
		member_join(&m[i], name, 1);
	}
	ck_assert(wait_agreed(m, 1, 15000));
	epoch = epoch_of(&m[0]);
	ck_assert_int_eq(haq_group_leave(m[0].g), 0);
	m[0].g = NULL;
	ck_assert(wait_agreed(m, 2, 10000));
	ck_assert_uint_gt(epoch_of(&m[1]), epoch);
	epoch = epoch_of(&m[1]);
	haq_ctx_free(m[1].ctx);
	m[1].g = NULL;
	cluster_enter_node(2);
	ck_assert_int_eq(haq_ctx_new(&m[1].ctx, NULL), 0);
	ck_assert(wait_agreed(m, 3, 10000));
	ck_assert_uint_gt(epoch_of(&m[2]), epoch);
	free_all(m);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("leader");

	ADD_TCASE(s, test_sticky_through_join_and_leave, 60);
	ADD_TCASE(s, test_resign_hands_over, 60);
	ADD_TCASE(s, test_eligibility, 60);
	ADD_TCASE(s, test_first_epoch_from_the_clock, 60);
	ADD_TCASE(s, test_lease_renewed_and_timing, 60);
	ADD_TCASE(s, test_leave_and_free_of_leader_hand_over, 60);
	return run_suite(s);
}
