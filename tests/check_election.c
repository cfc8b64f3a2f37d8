/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the leader election (libhaq/election.c): the rules of
 * election.h fed by hand, a few members simulated side by side for
 * determinism, and the codecs of the election's control frames.
 */
#include "check_common.h"
#include "election.h"

/*
 * A view of ring 8: its identity follows from its members, the same for
 * every member, as group_view.c computes it.
 */
static int
test_view(struct haq_election *e, const struct haq_memb *m, size_t n,
	  bool quorate)
{
	return haq__election_view(e, haq__election_view_id(8, m, n), m, n,
				  quorate);
}

static const struct haq_memb three[] = {{1, 100, 0}, {2, 200, 0}, {3, 300, 0}};
static const struct haq_memb two_three[] = {{2, 200, 0}, {3, 300, 0}};
static const struct haq_memb one_two[] = {{1, 100, 0}, {2, 200, 0}};
static const struct haq_memb low_three[] = {
	{1, 50, 0}, {1, 100, 0}, {2, 200, 0}, {3, 300, 0}};

#define ELECTED_AT_END                                                         \
	(HAQ_ELECT_CHANGED | HAQ_ELECT_ELECTED | HAQ_ELECT_ROUND_END)
#define ELECTED_IN_ROUND (HAQ_ELECT_CHANGED | HAQ_ELECT_ELECTED)

/* A SYNC without a claim. */
static int
say(struct haq_election *e, uint32_t nodeid, uint32_t pid, bool quorate,
    bool eligible, uint64_t max_epoch, uint64_t clock_us)
{
	struct haq_sync s = {
		.quorate = quorate,
		.eligible = eligible,
		.max_epoch = max_epoch,
		.clock_us = clock_us,
		.view_id = e->view_id,
	};

	return haq__election_sync(e, nodeid, pid, &s);
}

/* A quorate, eligible SYNC without a claim, nothing seen, clock 0. */
static int
say_ok(struct haq_election *e, uint32_t nodeid, uint32_t pid)
{
	return say(e, nodeid, pid, true, true, 0, 0);
}

/* A SYNC keeping leadership epoch. */
static int
claim(struct haq_election *e, uint32_t nodeid, uint32_t pid, uint64_t epoch)
{
	struct haq_sync s = {
		.quorate = true,
		.eligible = true,
		.claim = true,
		.epoch = epoch,
		.max_epoch = epoch,
		.view_id = e->view_id,
	};

	return haq__election_sync(e, nodeid, pid, &s);
}

/* Every member of v says quorate and eligible: the OR of the results. */
static int
say_all(struct haq_election *e, const struct haq_memb *v, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		rc |= say_ok(e, v[i].nodeid, v[i].pid);
	}
	return rc;
}

static void
assert_leader(const struct haq_election *e, uint32_t nodeid, uint32_t pid,
	      uint64_t epoch)
{
	ck_assert_uint_eq(e->nodeid, nodeid);
	ck_assert_uint_eq(e->pid, pid);
	ck_assert_uint_eq(e->epoch, epoch);
}

static void
assert_none(const struct haq_election *e)
{
	assert_leader(e, 0, 0, 0);
}

/* ---------------------------------------------------------------- */
/* Rounds and epochs                                                */
/* ---------------------------------------------------------------- */

START_TEST(test_round_elects_lowest_eligible_when_all_synced)
{
	struct haq_election e = {0};

	ck_assert_int_eq(test_view(&e, three, 3, true), 0);
	ck_assert(haq__election_pending(&e));
	/* The lowest member is not eligible: the next one is elected. */
	ck_assert_int_eq(say(&e, 1, 100, true, false, 0, 0), 0);
	ck_assert_int_eq(say_ok(&e, 3, 300), 0);
	assert_none(&e);
	ck_assert(haq__election_pending(&e));
	/* Only the last SYNC of the round elects. */
	ck_assert_int_eq(say_ok(&e, 2, 200), ELECTED_AT_END);
	assert_leader(&e, 2, 200, 1);
	ck_assert(!haq__election_pending(&e));
	/* A SYNC from a process outside the view changes nothing. */
	ck_assert_int_eq(say_ok(&e, 7, 700), 0);
	assert_leader(&e, 2, 200, 1);
	haq__election_free(&e);
}
END_TEST

START_TEST(test_round_needs_every_member_quorate)
{
	struct haq_election e = {0};

	test_view(&e, three, 3, true);
	ck_assert_int_eq(say_ok(&e, 1, 100), 0);
	ck_assert_int_eq(say(&e, 2, 200, false, true, 0, 0), 0);
	ck_assert_int_eq(say_ok(&e, 3, 300), 0);
	/* All spoke, one says not quorate: nobody. */
	assert_none(&e);
	/* Its next SYNC says quorate: the round decides. */
	ck_assert_int_eq(say_ok(&e, 2, 200), ELECTED_AT_END);
	assert_leader(&e, 1, 100, 1);
	haq__election_free(&e);
}
END_TEST

START_TEST(test_epoch_above_every_max_epoch)
{
	struct haq_election e = {0};

	test_view(&e, three, 3, true);
	say(&e, 1, 100, true, true, 10, 100);
	say(&e, 2, 200, true, true, 500, 200);
	ck_assert_int_eq(say(&e, 3, 300, true, true, 7, 50), ELECTED_AT_END);
	assert_leader(&e, 1, 100, 501);
	ck_assert_uint_ge(e.seen_epoch, 501);
	haq__election_free(&e);
}
END_TEST

START_TEST(test_epoch_not_below_round_clock)
{
	struct haq_election e = {0};

	test_view(&e, three, 3, true);
	say(&e, 1, 100, true, true, 10, 1000);
	say(&e, 2, 200, true, true, 20, 5000000);
	ck_assert_int_eq(say(&e, 3, 300, true, true, 30, 3000), ELECTED_AT_END);
	assert_leader(&e, 1, 100, 5000000);
	haq__election_free(&e);
}
END_TEST

START_TEST(test_empty_view_has_no_leader)
{
	struct haq_election e = {0};

	ck_assert_int_eq(test_view(&e, NULL, 0, true), 0);
	assert_none(&e);
	ck_assert_int_eq(say_ok(&e, 1, 100), 0);
	assert_none(&e);
	haq__election_free(&e);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Sticky leadership                                                */
/* ---------------------------------------------------------------- */

/* Leader (2, 200) with epoch 41 over two_three; (1, 100) then joins. */
START_TEST(test_claim_keeps_leader_through_join)
{
	struct haq_election old = {0};
	struct haq_election joiner = {0};

	test_view(&old, two_three, 2, true);
	say(&old, 2, 200, true, true, 40, 0);
	ck_assert_int_eq(say_ok(&old, 3, 300), ELECTED_AT_END);
	assert_leader(&old, 2, 200, 41);

	/* A lower member joins: the old member keeps naming the leader. */
	ck_assert_int_eq(test_view(&old, three, 3, true), 0);
	ck_assert_int_eq(test_view(&joiner, three, 3, true), 0);
	assert_leader(&old, 2, 200, 41);
	assert_none(&joiner);
	ck_assert(haq__election_pending(&old));
	ck_assert(haq__election_pending(&joiner));

	/* SYNCs before the claim: the joiner still names nobody. */
	ck_assert_int_eq(say_ok(&old, 1, 100), 0);
	ck_assert_int_eq(say_ok(&joiner, 1, 100), 0);
	ck_assert_int_eq(say_ok(&old, 3, 300), 0);
	ck_assert_int_eq(say_ok(&joiner, 3, 300), 0);
	assert_none(&joiner);

	/* The claim: the leader and its epoch stay, the joiner learns. */
	ck_assert_int_eq(claim(&old, 2, 200, 41), 0);
	ck_assert_int_eq(claim(&joiner, 2, 200, 41), HAQ_ELECT_CHANGED);
	assert_leader(&old, 2, 200, 41);
	assert_leader(&joiner, 2, 200, 41);
	ck_assert(!haq__election_pending(&old));
	ck_assert(!haq__election_pending(&joiner));
	haq__election_free(&old);
	haq__election_free(&joiner);
}
END_TEST

/* The claim comes first and the round's SYNCs after it elect nobody. */
START_TEST(test_claim_first_then_syncs_elect_nobody)
{
	struct haq_election e = {0};

	test_view(&e, low_three, 4, true);
	ck_assert_int_eq(claim(&e, 3, 300, 77), HAQ_ELECT_CHANGED);
	/* Everyone else, (1, 50) the lowest and eligible included. */
	ck_assert_int_eq(say_all(&e, low_three, 3), 0);
	assert_leader(&e, 3, 300, 77);
	haq__election_free(&e);
}
END_TEST

START_TEST(test_claim_survives_merge_of_leaderless_side)
{
	struct haq_election major = {0};
	struct haq_election minor = {0};
	const struct haq_memb solo[] = {{1, 100, 0}};

	/* One side {2, 3} leads with (3, 300): (2, 200) is not eligible. */
	test_view(&major, two_three, 2, true);
	say(&major, 2, 200, true, false, 0, 0);
	say(&major, 3, 300, true, true, 90, 0);
	assert_leader(&major, 3, 300, 91);
	/* The other side {1} is not quorate: no leader. */
	test_view(&minor, solo, 1, false);
	say(&minor, 1, 100, false, true, 0, 0);
	assert_none(&minor);

	/* They merge; (1, 100) is lower and eligible, but the claim holds. */
	ck_assert_int_eq(test_view(&major, three, 3, true), 0);
	ck_assert_int_eq(test_view(&minor, three, 3, true), 0);
	assert_leader(&major, 3, 300, 91);
	assert_none(&minor);
	ck_assert_int_eq(say_ok(&major, 1, 100), 0);
	ck_assert_int_eq(say_ok(&minor, 1, 100), 0);
	ck_assert_int_eq(claim(&major, 3, 300, 91), 0);
	ck_assert_int_eq(claim(&minor, 3, 300, 91), HAQ_ELECT_CHANGED);
	ck_assert_int_eq(say(&major, 2, 200, true, false, 91, 0), 0);
	ck_assert_int_eq(say(&minor, 2, 200, true, false, 91, 0), 0);
	assert_leader(&major, 3, 300, 91);
	assert_leader(&minor, 3, 300, 91);
	haq__election_free(&major);
	haq__election_free(&minor);
}
END_TEST

START_TEST(test_claim_survives_others_leaving)
{
	struct haq_election e = {0};

	test_view(&e, three, 3, true);
	say(&e, 1, 100, true, false, 0, 0);
	say_ok(&e, 2, 200);
	say_ok(&e, 3, 300);
	assert_leader(&e, 2, 200, 1);
	/* (1, 100) leaves, then (3, 300): the leader stays named. */
	ck_assert_int_eq(test_view(&e, two_three, 2, true), 0);
	assert_leader(&e, 2, 200, 1);
	ck_assert_int_eq(claim(&e, 2, 200, 1), 0);
	{
		const struct haq_memb alone[] = {{2, 200, 0}};

		ck_assert_int_eq(test_view(&e, alone, 1, true), 0);
		assert_leader(&e, 2, 200, 1);
		ck_assert_int_eq(claim(&e, 2, 200, 1), 0);
		assert_leader(&e, 2, 200, 1);
	}
	haq__election_free(&e);
}
END_TEST

START_TEST(test_leader_leaving_clears_it)
{
	struct haq_election e = {0};

	test_view(&e, three, 3, true);
	say_all(&e, three, 3);
	assert_leader(&e, 1, 100, 1);
	ck_assert_int_eq(test_view(&e, two_three, 2, true),
			 HAQ_ELECT_CHANGED);
	assert_none(&e);
	ck_assert(haq__election_pending(&e));
	ck_assert_int_eq(say(&e, 2, 200, true, true, 1, 0), 0);
	ck_assert_int_eq(say(&e, 3, 300, true, true, 1, 0), ELECTED_AT_END);
	assert_leader(&e, 2, 200, 2);
	haq__election_free(&e);
}
END_TEST

START_TEST(test_first_claim_wins)
{
	struct haq_election e = {0};

	test_view(&e, three, 3, true);
	ck_assert_int_eq(claim(&e, 3, 300, 9), HAQ_ELECT_CHANGED);
	ck_assert_int_eq(claim(&e, 2, 200, 12), 0);
	ck_assert_int_eq(claim(&e, 1, 100, 15), 0);
	assert_leader(&e, 3, 300, 9);
	/* The losing claims' epochs are seen all the same. */
	ck_assert_uint_ge(e.seen_epoch, 15);
	haq__election_free(&e);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Giving up, resigning, eligibility                                */
/* ---------------------------------------------------------------- */

/*
 * A SYNC without a claim changes nobody's leadership by itself: a leader
 * that gives up resigns, and a member elected in a round may have sent
 * its SYNC before it was elected.
 */
START_TEST(test_leader_sync_without_claim_in_decided_round)
{
	struct haq_election e = {0};

	test_view(&e, three, 3, true);
	say_all(&e, three, 3);
	assert_leader(&e, 1, 100, 1);
	ck_assert_int_eq(say_ok(&e, 1, 100), 0);
	assert_leader(&e, 1, 100, 1);
	haq__election_free(&e);
}
END_TEST

/*
 * At the end of a round without a claim, a leader kept by the members
 * that knew it is no leader for anybody: everyone elects alike (here the
 * lowest, the old leader, again with a new epoch).
 */
START_TEST(test_leader_without_claim_in_open_round)
{
	struct haq_election e = {0};

	test_view(&e, three, 3, true);
	say_all(&e, three, 3);
	assert_leader(&e, 1, 100, 1);
	/* A new view: the leader is kept until the round says. */
	test_view(&e, three, 3, true);
	assert_leader(&e, 1, 100, 1);
	ck_assert_int_eq(say(&e, 1, 100, true, true, 1, 0), 0);
	assert_leader(&e, 1, 100, 1);
	ck_assert(haq__election_pending(&e));
	ck_assert_int_eq(say(&e, 2, 200, true, true, 1, 0), 0);
	ck_assert_int_eq(say(&e, 3, 300, true, true, 1, 0), ELECTED_AT_END);
	assert_leader(&e, 1, 100, 2);
	haq__election_free(&e);
}
END_TEST

START_TEST(test_resign_elects_another_at_once)
{
	struct haq_election e = {0};
	uint64_t old;

	test_view(&e, three, 3, true);
	say_all(&e, three, 3);
	assert_leader(&e, 1, 100, 1);
	old = e.epoch;
	/* A wrong epoch, a zero epoch, a stranger: ignored. */
	ck_assert_int_eq(haq__election_resign(&e, 1, 100, old + 1), 0);
	ck_assert_int_eq(haq__election_resign(&e, 1, 100, 0), 0);
	ck_assert_int_eq(haq__election_resign(&e, 9, 900, old), 0);
	assert_leader(&e, 1, 100, old);
	/* The leader resigns: the next eligible, a larger epoch. */
	ck_assert_int_eq(haq__election_resign(&e, 1, 100, old),
			 ELECTED_IN_ROUND);
	ck_assert_uint_eq(e.nodeid, 2);
	ck_assert_uint_eq(e.pid, 200);
	ck_assert_uint_gt(e.epoch, old);
	/* The resigner may be elected at a later election. */
	test_view(&e, three, 3, true);
	test_view(&e, one_two, 2, true); /* (2, 200) is kept */
	claim(&e, 2, 200, e.epoch);
	say_ok(&e, 1, 100);
	ck_assert_int_eq(haq__election_resign(&e, 2, 200, e.epoch),
			 ELECTED_IN_ROUND);
	assert_leader(&e, 1, 100, 3);
	haq__election_free(&e);
}
END_TEST

START_TEST(test_resign_by_non_leader_keeps_leader)
{
	struct haq_election e = {0};

	test_view(&e, three, 3, true);
	say_all(&e, three, 3);
	assert_leader(&e, 1, 100, 1);
	ck_assert_int_eq(haq__election_resign(&e, 2, 200, 1), 0);
	ck_assert_int_eq(haq__election_resign(&e, 3, 300, 1), 0);
	assert_leader(&e, 1, 100, 1);
	haq__election_free(&e);
}
END_TEST

START_TEST(test_resign_in_open_round_waits_for_the_round)
{
	struct haq_election e = {0};

	test_view(&e, three, 3, true);
	say_all(&e, three, 3);
	test_view(&e, three, 3, true);
	/* The kept leader resigns before its claim: nobody until the end. */
	ck_assert_int_eq(haq__election_resign(&e, 1, 100, 1),
			 HAQ_ELECT_CHANGED);
	assert_none(&e);
	ck_assert_int_eq(say(&e, 1, 100, true, true, 1, 0), 0);
	ck_assert_int_eq(say(&e, 2, 200, true, true, 1, 0), 0);
	ck_assert_int_eq(say(&e, 3, 300, true, true, 1, 0), ELECTED_AT_END);
	assert_leader(&e, 2, 200, 2);
	haq__election_free(&e);
}
END_TEST

START_TEST(test_ineligible_never_elected)
{
	struct haq_election e = {0};

	test_view(&e, three, 3, true);
	say(&e, 1, 100, true, false, 0, 0);
	say_ok(&e, 2, 200);
	say(&e, 3, 300, true, false, 0, 0);
	assert_leader(&e, 2, 200, 1);
	/* The only eligible member resigns: it leads again, a new epoch. */
	ck_assert_int_eq(haq__election_resign(&e, 2, 200, 1),
			 ELECTED_IN_ROUND);
	assert_leader(&e, 2, 200, 2);
	/* Nobody eligible at all: a round elects nobody. */
	test_view(&e, three, 3, true);
	say(&e, 1, 100, true, false, 5, 0);
	say(&e, 2, 200, true, false, 5, 0);
	ck_assert_int_eq(say(&e, 3, 300, true, false, 5, 0),
			 HAQ_ELECT_CHANGED | HAQ_ELECT_ROUND_END);
	assert_none(&e);
	ck_assert(!haq__election_pending(&e));
	haq__election_free(&e);
}
END_TEST

START_TEST(test_eligible_elects_when_nobody_could)
{
	struct haq_election e = {0};

	test_view(&e, three, 3, true);
	/* Before the round decides, ELIGIBLE only updates the member. */
	ck_assert_int_eq(haq__election_eligible(&e, 3, 300, true), 0);
	say(&e, 1, 100, true, false, 8, 0);
	say(&e, 2, 200, true, false, 8, 0);
	say(&e, 3, 300, true, false, 8, 0);
	assert_none(&e);
	/* (3, 300) becomes eligible: elected at once, above the round. */
	ck_assert_int_eq(haq__election_eligible(&e, 3, 300, true),
			 ELECTED_IN_ROUND);
	assert_leader(&e, 3, 300, 9);
	/* A lower member becoming eligible takes nothing from it. */
	ck_assert_int_eq(haq__election_eligible(&e, 1, 100, true), 0);
	assert_leader(&e, 3, 300, 9);
	/* An ineligible leader is not deposed by saying so either. */
	ck_assert_int_eq(haq__election_eligible(&e, 3, 300, false), 0);
	assert_leader(&e, 3, 300, 9);
	/* Strangers are ignored. */
	ck_assert_int_eq(haq__election_eligible(&e, 9, 900, true), 0);
	haq__election_free(&e);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Quorum                                                           */
/* ---------------------------------------------------------------- */

START_TEST(test_non_quorate_view_clears_leader)
{
	struct haq_election e = {0};

	test_view(&e, three, 3, true);
	say_all(&e, three, 3);
	assert_leader(&e, 1, 100, 1);
	ck_assert_int_eq(test_view(&e, three, 3, false),
			 HAQ_ELECT_CHANGED);
	assert_none(&e);
	ck_assert(!haq__election_pending(&e));
	say(&e, 1, 100, false, true, 1, 0);
	say(&e, 2, 200, false, true, 1, 0);
	ck_assert_int_eq(say(&e, 3, 300, false, true, 1, 0), 0);
	assert_none(&e);
	haq__election_free(&e);
}
END_TEST

START_TEST(test_non_quorate_sync_clears_until_all_quorate)
{
	struct haq_election e = {0};

	test_view(&e, three, 3, true);
	say_all(&e, three, 3);
	assert_leader(&e, 1, 100, 1);
	/* Quorum is lost within the ring, as (3, 300) tells. */
	ck_assert_int_eq(say(&e, 3, 300, false, true, 1, 0), HAQ_ELECT_CHANGED);
	assert_none(&e);
	ck_assert(haq__election_pending(&e));
	/* (2, 200) says it lost quorum too; (3, 300) gets it back first. */
	ck_assert_int_eq(say(&e, 2, 200, false, true, 1, 0), 0);
	ck_assert_int_eq(say(&e, 3, 300, true, true, 1, 0), 0);
	assert_none(&e);
	/* The last member saying not quorate comes back: decided. */
	ck_assert_int_eq(say(&e, 2, 200, true, true, 1, 0), ELECTED_AT_END);
	ck_assert_uint_eq(e.nodeid, 1);
	ck_assert_uint_gt(e.epoch, 1);
	haq__election_free(&e);
}
END_TEST

START_TEST(test_reset_forgets_all_but_seen_epoch)
{
	struct haq_election e = {0};

	test_view(&e, three, 3, true);
	say(&e, 1, 100, true, true, 300, 0);
	say_ok(&e, 2, 200);
	say_ok(&e, 3, 300);
	assert_leader(&e, 1, 100, 301);
	ck_assert_int_eq(haq__election_reset(&e), HAQ_ELECT_CHANGED);
	assert_none(&e);
	ck_assert(!haq__election_pending(&e));
	ck_assert_uint_eq(e.n, 0);
	ck_assert_uint_ge(e.seen_epoch, 301);
	/* Events before the next view are ignored. */
	ck_assert_int_eq(say_ok(&e, 1, 100), 0);
	ck_assert_int_eq(claim(&e, 1, 100, 301), 0);
	assert_none(&e);
	ck_assert_int_eq(haq__election_reset(&e), 0);
	haq__election_free(&e);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Several members side by side                                     */
/* ---------------------------------------------------------------- */

#define NPROC 5

/* The processes of the simulations: (1, 50) sorts first. */
static const struct haq_memb procs[NPROC] = {
	{1, 50, 0}, {1, 100, 0}, {2, 200, 0}, {3, 300, 0}, {4, 400, 0}};

/*
 * A group of processes, each with its own election state, all in one
 * partition: a view goes to its members, a frame to every member of the
 * view in the same order, as the agreed stream delivers them.
 */
struct sim {
	struct haq_election e[NPROC];
	bool in[NPROC];	      /* a member of the current view */
	bool eligible[NPROC]; /* what the process says of itself */
	bool quorate;	      /* the current view's verdict */
	uint64_t clock_us;    /* the one wall clock of the simulation */
	uint64_t max_named;   /* the largest epoch any process named */
	int rc[NPROC];	      /* what the last event did, per process */
};

static void
sim_check_one(struct sim *s, int i)
{
	const struct haq_election *e = &s->e[i];
	int k;

	if (e->nodeid == 0) {
		ck_assert_uint_eq(e->pid, 0);
		ck_assert_uint_eq(e->epoch, 0);
		return;
	}
	ck_assert_uint_ne(e->epoch, 0);
	/* The leader is a member of the view. */
	for (k = 0; k < NPROC; k++) {
		if (s->in[k] && procs[k].nodeid == e->nodeid &&
		    procs[k].pid == e->pid) {
			break;
		}
	}
	ck_assert_msg(k < NPROC, "process %d names %u/%u, not a member", i,
		      e->nodeid, e->pid);
	if (s->rc[i] & HAQ_ELECT_ELECTED) {
		/* Epochs strictly increase across leaderships. */
		ck_assert_msg(e->epoch > s->max_named,
			      "process %d elected epoch %llu, not above %llu",
			      i, (unsigned long long)e->epoch,
			      (unsigned long long)s->max_named);
	}
}

static void
sim_after(struct sim *s)
{
	for (int i = 0; i < NPROC; i++) {
		if (s->in[i]) {
			sim_check_one(s, i);
		}
	}
	for (int i = 0; i < NPROC; i++) {
		if (s->in[i] && s->e[i].epoch > s->max_named) {
			s->max_named = s->e[i].epoch;
		}
	}
}

/* The view of the processes in mask; those that left are cut off. */
static void
sim_view(struct sim *s, unsigned mask, bool quorate)
{
	struct haq_memb v[NPROC];
	size_t n = 0;

	for (int i = 0; i < NPROC; i++) {
		if (mask & (1u << i)) {
			v[n++] = procs[i];
		}
	}
	s->quorate = quorate;
	for (int i = 0; i < NPROC; i++) {
		s->rc[i] = 0;
		if (mask & (1u << i)) {
			s->in[i] = true;
			s->rc[i] = test_view(&s->e[i], v, n, quorate);
			ck_assert_int_ge(s->rc[i], 0);
		} else if (s->in[i]) {
			s->in[i] = false;
			(void)haq__election_reset(&s->e[i]);
		}
	}
	sim_after(s);
}

static void
sim_deliver_sync(struct sim *s, int from, const struct haq_sync *w)
{
	for (int i = 0; i < NPROC; i++) {
		s->rc[i] = 0;
		if (s->in[i]) {
			s->rc[i] =
				haq__election_sync(&s->e[i], procs[from].nodeid,
						   procs[from].pid, w);
		}
	}
	sim_after(s);
}

/* What process i says after a view, as group_leader.c builds it. */
static void
sim_sync(struct sim *s, int i, bool quorate)
{
	const struct haq_election *e = &s->e[i];
	struct haq_sync w = {
		.quorate = quorate,
		.eligible = s->eligible[i],
		.max_epoch =
			e->seen_epoch > e->epoch ? e->seen_epoch : e->epoch,
		.clock_us = s->clock_us,
		.view_id = e->view_id,
	};

	w.claim = quorate && e->nodeid == procs[i].nodeid &&
		  e->pid == procs[i].pid;
	w.epoch = w.claim ? e->epoch : 0;
	sim_deliver_sync(s, i, &w);
}

/*
 * Process i, the leader in its own eyes, gives its leadership up, as
 * group_leader.c does when its lease runs out: a RESIGN of its epoch.
 */
static void sim_resign(struct sim *s, int from, uint64_t epoch);

static void
sim_give_up(struct sim *s, int i)
{
	sim_resign(s, i, s->e[i].epoch);
}

static void
sim_resign(struct sim *s, int from, uint64_t epoch)
{
	for (int i = 0; i < NPROC; i++) {
		s->rc[i] = 0;
		if (s->in[i]) {
			s->rc[i] = haq__election_resign(&s->e[i],
							procs[from].nodeid,
							procs[from].pid, epoch);
		}
	}
	sim_after(s);
}

static void
sim_eligible(struct sim *s, int from, bool eligible)
{
	s->eligible[from] = eligible;
	for (int i = 0; i < NPROC; i++) {
		s->rc[i] = 0;
		if (s->in[i]) {
			s->rc[i] = haq__election_eligible(
				&s->e[i], procs[from].nodeid, procs[from].pid,
				eligible);
		}
	}
	sim_after(s);
}

/* Every member of the view names the same leader with the same epoch. */
static void
sim_assert_agree(const struct sim *s)
{
	int first = -1;

	for (int i = 0; i < NPROC; i++) {
		if (!s->in[i]) {
			continue;
		}
		if (first < 0) {
			first = i;
			continue;
		}
		ck_assert_msg(s->e[i].nodeid == s->e[first].nodeid &&
				      s->e[i].pid == s->e[first].pid &&
				      s->e[i].epoch == s->e[first].epoch,
			      "process %d names %u/%u epoch %llu, process %d "
			      "names %u/%u epoch %llu",
			      i, s->e[i].nodeid, s->e[i].pid,
			      (unsigned long long)s->e[i].epoch, first,
			      s->e[first].nodeid, s->e[first].pid,
			      (unsigned long long)s->e[first].epoch);
	}
}

static void
sim_free(struct sim *s)
{
	for (int i = 0; i < NPROC; i++) {
		haq__election_free(&s->e[i]);
	}
}

/* The index of the process the members name as leader, or -1. */
static int
sim_leader(const struct sim *s)
{
	for (int i = 0; i < NPROC; i++) {
		if (s->in[i]) {
			for (int k = 0; k < NPROC; k++) {
				if (s->e[i].nodeid == procs[k].nodeid &&
				    s->e[i].pid == procs[k].pid) {
					return k;
				}
			}
			return -1;
		}
	}
	return -1;
}

/*
 * A long-time member (1, 100) with a high seen_epoch and a joiner
 * (1, 50) that sorts first: fed the same stream since the join, both
 * name the same leader and epoch at every point where the round is
 * decided, through a claim, a resignation, eligibility, quorum flaps, a
 * leave and a round-end election.
 */
START_TEST(test_joiner_and_old_member_agree)
{
	struct sim s = {0};
	const int J = 0, OLD = 1, B = 2, C = 3;
	uint64_t epoch;

	for (int i = 0; i < NPROC; i++) {
		s.eligible[i] = true;
	}
	s.clock_us = 1000;
	/* OLD was around before: it has seen epoch 5000. */
	s.e[OLD].seen_epoch = 5000;
	s.eligible[OLD] = false;
	sim_view(&s, 1u << OLD | 1u << B | 1u << C, true);
	sim_sync(&s, OLD, true);
	sim_sync(&s, C, true);
	sim_sync(&s, B, true);
	sim_assert_agree(&s);
	ck_assert_int_eq(sim_leader(&s), B);
	ck_assert_uint_eq(s.e[B].epoch, 5001);
	ck_assert_uint_ge(s.e[OLD].seen_epoch, s.e[J].seen_epoch + 5000);

	/* J joins: until the claim only the old members name B. */
	sim_view(&s, 1u << J | 1u << OLD | 1u << B | 1u << C, true);
	assert_none(&s.e[J]);
	assert_leader(&s.e[OLD], procs[B].nodeid, procs[B].pid, 5001);
	sim_sync(&s, J, true);
	sim_sync(&s, OLD, true);
	assert_none(&s.e[J]);
	sim_sync(&s, B, true); /* the claim */
	sim_assert_agree(&s);
	sim_sync(&s, C, true);
	sim_assert_agree(&s);
	ck_assert_int_eq(sim_leader(&s), B);

	/* B resigns: J is the lowest eligible, the same for everyone. */
	epoch = s.e[B].epoch;
	sim_resign(&s, B, epoch);
	sim_assert_agree(&s);
	ck_assert_int_eq(sim_leader(&s), J);
	ck_assert_uint_gt(s.e[J].epoch, epoch);

	/*
	 * J gives its leadership up: B (OLD is not eligible; B's
	 * resignation counted for one election, J's).
	 */
	sim_give_up(&s, J);
	sim_assert_agree(&s);
	ck_assert_int_eq(sim_leader(&s), B);

	/* Quorum flaps within the ring. */
	sim_sync(&s, B, false);
	sim_assert_agree(&s);
	ck_assert_int_eq(sim_leader(&s), -1);
	sim_sync(&s, B, true);
	sim_assert_agree(&s);
	ck_assert_int_eq(sim_leader(&s), J);

	/* ELIGIBLE never moves the leadership. */
	sim_eligible(&s, OLD, true);
	sim_assert_agree(&s);
	ck_assert_int_eq(sim_leader(&s), J);

	/* J leaves: a round-end election, above the old member's memory. */
	s.clock_us = 2000;
	sim_view(&s, 1u << OLD | 1u << B | 1u << C, true);
	sim_sync(&s, C, true);
	sim_sync(&s, B, true);
	sim_sync(&s, OLD, true);
	sim_assert_agree(&s);
	ck_assert_int_eq(sim_leader(&s), OLD);
	ck_assert_uint_gt(s.e[OLD].epoch, 5003);
	sim_free(&s);
}
END_TEST

/* A small xorshift generator: the same sequence on every run. */
static uint64_t
next_rand(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static unsigned
in_mask(const struct sim *s)
{
	unsigned mask = 0;

	for (int i = 0; i < NPROC; i++) {
		if (s->in[i]) {
			mask |= 1u << i;
		}
	}
	return mask;
}

/* Deliver every member's SYNC of the round in a random order. */
static void
sim_round(struct sim *s, uint64_t *r)
{
	int order[NPROC];
	int n = 0;

	for (int i = 0; i < NPROC; i++) {
		if (s->in[i]) {
			order[n++] = i;
		}
	}
	for (int i = n - 1; i > 0; i--) {
		int k = (int)(next_rand(r) % (uint64_t)(i + 1));
		int t = order[i];

		order[i] = order[k];
		order[k] = t;
	}
	for (int i = 0; i < n; i++) {
		sim_sync(s, order[i], s->quorate);
	}
}

/*
 * Random membership changes, quorum flaps, resignations, giving up,
 * eligibility and whole-group wipes (every process restarts eligible):
 * after every round and every event between rounds the members agree,
 * and every new leadership has a larger epoch than any before it.
 */
START_TEST(test_random_history_agrees_and_epochs_increase)
{
	struct sim s = {0};
	uint64_t r = 0x9e3779b97f4a7c15ull;
	unsigned led = 0;

	for (int i = 0; i < NPROC; i++) {
		s.eligible[i] = true;
	}
	s.clock_us = 1000000;
	for (int step = 0; step < 4000; step++) {
		uint64_t x = next_rand(&r);
		int who = (int)((x >> 8) % NPROC);
		int lead = sim_leader(&s);

		s.clock_us += 1000000;
		switch (x % 8) {
		case 0:
		case 1: {
			unsigned mask = (unsigned)(x >> 16) & 31;

			/*
			 * The group never empties between wipes: someone
			 * carries the memory of the epochs into the view.
			 */
			if (in_mask(&s) && !(mask & in_mask(&s))) {
				mask |= in_mask(&s) & -in_mask(&s);
			}
			sim_view(&s, mask, (x >> 24) % 5 != 0);
			sim_round(&s, &r);
			break;
		}
		case 2:
			if (lead >= 0) {
				sim_resign(&s, lead, s.e[lead].epoch);
			}
			break;
		case 3:
			if (lead >= 0 && s.in[lead]) {
				sim_give_up(&s, lead);
			}
			break;
		case 4:
			if (s.in[who]) {
				sim_eligible(&s, who, (x >> 32) & 1);
			}
			break;
		case 5:
			/* A quorum flap within the ring. */
			if (s.in[who] && s.quorate) {
				sim_sync(&s, who, false);
				sim_sync(&s, who, true);
			}
			break;
		case 6:
			if ((x >> 40) % 16 == 0) {
				/* Every process restarts with no memory. */
				sim_free(&s);
				memset(s.e, 0, sizeof(s.e));
				memset(s.in, 0, sizeof(s.in));
				for (int i = 0; i < NPROC; i++) {
					s.eligible[i] = true;
				}
			}
			break;
		default:
			if (s.in[who] && lead >= 0) {
				/* A stale RESIGN of an older epoch. */
				sim_resign(&s, who, s.e[who].epoch - 1);
			}
			break;
		}
		sim_assert_agree(&s);
		if (sim_leader(&s) >= 0) {
			led++;
		}
	}
	/* The history had a leader most of the time. */
	ck_assert_uint_gt(led, 1000);
	sim_free(&s);
}
END_TEST

/*
 * Every member's memory is lost at once: a fresh group still elects an
 * epoch above the previous ones, from the wall clock.
 */
START_TEST(test_wiped_restart_epoch_from_clock)
{
	struct haq_election e = {0};
	uint64_t before;

	test_view(&e, three, 3, true);
	say(&e, 1, 100, true, true, 0, 1700000000000000ull);
	say(&e, 2, 200, true, true, 0, 1700000000000100ull);
	say(&e, 3, 300, true, true, 0, 1700000000000050ull);
	before = e.epoch;
	ck_assert_uint_eq(before, 1700000000000100ull);
	haq__election_resign(&e, 1, 100, before);
	ck_assert_uint_eq(e.epoch, before + 1);
	before = e.epoch;
	haq__election_free(&e);

	/* A second later, everything restarted. */
	memset(&e, 0, sizeof(e));
	test_view(&e, three, 3, true);
	say(&e, 1, 100, true, true, 0, 1700000001000000ull);
	say(&e, 2, 200, true, true, 0, 1700000001000000ull);
	ck_assert_int_eq(say(&e, 3, 300, true, true, 0, 1700000001000000ull),
			 ELECTED_AT_END);
	ck_assert_uint_gt(e.epoch, before);
	haq__election_free(&e);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Open bugs of election.c: these fail until it is fixed            */
/* ---------------------------------------------------------------- */

/*
 * An election inside a round decided by a claim uses the eligibility a
 * member remembers from earlier views: an old member elects another old
 * member whose SYNC of this round has not come yet, a joiner (which
 * knows nobody's eligibility yet) elects nobody. The fuzz input
 * regress-crash-f134a4c02b44 is this.
 */
START_TEST(test_fixed_resign_before_syncs_agrees)
{
	struct haq_election old = {0};
	struct haq_election joiner = {0};

	test_view(&old, one_two, 2, true);
	say_all(&old, one_two, 2);
	assert_leader(&old, 1, 100, 1);
	test_view(&old, three, 3, true);
	test_view(&joiner, three, 3, true);
	claim(&old, 1, 100, 1);
	claim(&joiner, 1, 100, 1);
	haq__election_resign(&old, 1, 100, 1);
	haq__election_resign(&joiner, 1, 100, 1);
	ck_assert_uint_eq(old.nodeid, joiner.nodeid);
	ck_assert_uint_eq(old.pid, joiner.pid);
	ck_assert_uint_eq(old.epoch, joiner.epoch);
	haq__election_free(&old);
	haq__election_free(&joiner);
}
END_TEST

/*
 * The leader gives up in a round not decided yet (its SYNC of the round
 * does not claim): the members that named it mark it resigned, a joiner
 * does not, so at the end of the round they elect different members.
 * The fuzz input regress-crash-007a39365216 is this and the next one.
 */
START_TEST(test_fixed_give_up_in_open_round_agrees)
{
	struct haq_election old = {0};
	struct haq_election joiner = {0};

	test_view(&old, one_two, 2, true);
	say_all(&old, one_two, 2);
	assert_leader(&old, 1, 100, 1);
	test_view(&old, three, 3, true);
	test_view(&joiner, three, 3, true);
	say(&old, 1, 100, true, true, 1, 0); /* no claim: it gave up */
	say(&joiner, 1, 100, true, true, 1, 0);
	say(&old, 2, 200, true, true, 1, 0);
	say(&joiner, 2, 200, true, true, 1, 0);
	say(&old, 3, 300, true, true, 0, 0);
	say(&joiner, 3, 300, true, true, 0, 0);
	ck_assert_uint_eq(old.nodeid, joiner.nodeid);
	ck_assert_uint_eq(old.pid, joiner.pid);
	ck_assert_uint_eq(old.epoch, joiner.epoch);
	haq__election_free(&old);
	haq__election_free(&joiner);
}
END_TEST

/*
 * When that SYNC is the last of the round, the members that named the
 * leader return before the round-end check: the round never decides and
 * the group has no leader until the next view.
 */
START_TEST(test_fixed_give_up_last_sync_decides)
{
	struct haq_election e = {0};

	test_view(&e, three, 3, true);
	say_all(&e, three, 3);
	assert_leader(&e, 1, 100, 1);
	test_view(&e, three, 3, true);
	/* It gives up (a RESIGN), then its SYNC comes last of the round. */
	haq__election_resign(&e, 1, 100, 1);
	say(&e, 2, 200, true, true, 1, 0);
	say(&e, 3, 300, true, true, 1, 0);
	say(&e, 1, 100, true, true, 1, 0);
	ck_assert(!haq__election_pending(&e));
	ck_assert_uint_eq(e.nodeid, 2);
	haq__election_free(&e);
}
END_TEST

/*
 * Elections inside a round (RESIGN, ELIGIBLE, giving up) take
 * round_max + 1 and ignore the round's clock: after every member's
 * memory is lost, a group that first had nobody eligible elects epoch 1,
 * below every epoch before. The fuzz input regress-crash-03a7124a3637
 * is this with a group that emptied and formed again.
 */
START_TEST(test_fixed_eligible_after_wipe_epoch_from_clock)
{
	struct haq_election e = {0};
	uint64_t before;

	test_view(&e, three, 3, true);
	say(&e, 1, 100, true, true, 0, 1700000000000000ull);
	say(&e, 2, 200, true, true, 0, 1700000000000000ull);
	say(&e, 3, 300, true, true, 0, 1700000000000000ull);
	before = e.epoch;
	haq__election_free(&e);

	/* Everything restarted; the members start ineligible. */
	memset(&e, 0, sizeof(e));
	test_view(&e, three, 3, true);
	say(&e, 1, 100, true, false, 0, 1700000001000000ull);
	say(&e, 2, 200, true, false, 0, 1700000001000000ull);
	say(&e, 3, 300, true, false, 0, 1700000001000000ull);
	ck_assert_int_eq(haq__election_eligible(&e, 2, 200, true),
			 ELECTED_IN_ROUND);
	ck_assert_uint_gt(e.epoch, before);
	haq__election_free(&e);
}
END_TEST

/*
 * A member elected inside a round before its own SYNC of the round came
 * is deposed by that SYNC (sent before it was elected, so without a
 * claim), and the member that had just resigned is elected again: today
 * (1, 100) is elected when (3, 300) resigns and deposed by its own SYNC
 * at once, and (3, 300) leads again.
 */
START_TEST(test_fixed_elected_member_kept_by_its_earlier_sync)
{
	struct haq_election e = {0};
	const struct haq_memb one_three[] = {{1, 100, 0}, {3, 300, 0}};
	uint32_t after_resign;

	test_view(&e, one_three, 2, true);
	say_all(&e, one_three, 2);
	haq__election_resign(&e, 1, 100, 1);
	assert_leader(&e, 3, 300, 2);
	test_view(&e, three, 3, true);
	claim(&e, 3, 300, 2);
	haq__election_resign(&e, 3, 300, 2);
	after_resign = e.nodeid;
	say(&e, 1, 100, true, true, 2, 0); /* sent right after the view */
	if (after_resign == 1) {
		ck_assert_uint_eq(e.nodeid, 1);
	}
	say(&e, 2, 200, true, true, 2, 0);
	/* The resigner is not elected again within the round. */
	ck_assert_uint_ne(e.nodeid, 3);
	haq__election_free(&e);
}
END_TEST

/*
 * A round decided by a claim, then the leader resigns before any other
 * member's SYNC came: nobody is elected (fine), but the SYNCs that come
 * next, eligible ones included, elect nobody either; the group has no
 * leader until the next view or an ELIGIBLE frame.
 */
START_TEST(test_fixed_sync_after_resign_elects)
{
	struct haq_election e = {0};
	const struct haq_memb v3[] = {{3, 300, 0}};

	test_view(&e, v3, 1, true);
	say_ok(&e, 3, 300);
	assert_leader(&e, 3, 300, 1);
	test_view(&e, two_three, 2, true);
	claim(&e, 3, 300, 1);
	haq__election_resign(&e, 3, 300, 1);
	assert_none(&e);
	say(&e, 2, 200, true, true, 0, 0);
	ck_assert_uint_eq(e.nodeid, 2);
	haq__election_free(&e);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Codecs                                                           */
/* ---------------------------------------------------------------- */

START_TEST(test_sync_codec_round_trip)
{
	const struct haq_sync cases[] = {
		{true, true, true, 7, 9, 1700000000000000ull, 77},
		{true, false, false, 0, UINT64_MAX, 1, UINT64_MAX},
		{false, true, false, 0, 0, 0, 0},
		{false, false, false, 0, 3, UINT64_MAX, 1},
		{true, true, true, UINT64_MAX, UINT64_MAX, 0, 5},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[HAQ_SYNC_LEN];
		uint8_t again[HAQ_SYNC_LEN];
		struct haq_sync d;

		haq__sync_encode(&cases[i], buf);
		ck_assert_int_eq(haq__sync_decode(buf, sizeof(buf), &d), 0);
		ck_assert_int_eq(d.quorate, cases[i].quorate);
		ck_assert_int_eq(d.eligible, cases[i].eligible);
		ck_assert_int_eq(d.claim, cases[i].claim);
		ck_assert_uint_eq(d.epoch, cases[i].epoch);
		ck_assert_uint_eq(d.max_epoch, cases[i].max_epoch);
		ck_assert_uint_eq(d.clock_us, cases[i].clock_us);
		ck_assert_uint_eq(d.view_id, cases[i].view_id);
		haq__sync_encode(&d, again);
		ck_assert_mem_eq(buf, again, sizeof(buf));
	}
}
END_TEST

/*
 * A SYNC answers one view: one sent before its sender saw the current
 * view (its view id is the earlier view's) counts for nothing, so a
 * "no claim" from before an election never deposes anybody.
 */
START_TEST(test_stale_sync_ignored)
{
	struct haq_election e = {0};
	struct haq_sync old = {.quorate = true, .eligible = true};

	ck_assert_uint_eq(haq__election_view_id(8, three, 3),
			  haq__election_view_id(8, three, 3));
	ck_assert_uint_ne(haq__election_view_id(8, three, 3),
			  haq__election_view_id(12, three, 3));
	ck_assert_uint_ne(haq__election_view_id(8, three, 3),
			  haq__election_view_id(8, two_three, 2));
	test_view(&e, two_three, 2, true);
	old.view_id = e.view_id;
	test_view(&e, three, 3, true);
	/* Answers to the earlier view: the round does not move. */
	ck_assert_int_eq(haq__election_sync(&e, 2, 200, &old), 0);
	ck_assert_int_eq(haq__election_sync(&e, 3, 300, &old), 0);
	ck_assert(haq__election_pending(&e));
	ck_assert(!e.m[1].synced && !e.m[2].synced);
	ck_assert_int_eq(say_all(&e, three, 3), ELECTED_AT_END);
	assert_leader(&e, 1, 100, 1);
	haq__election_free(&e);
}
END_TEST

/* A claim counts only while no member says its partition lost quorum. */
START_TEST(test_claim_refused_in_doubt_of_quorum)
{
	struct haq_election e = {0};

	test_view(&e, three, 3, true);
	say(&e, 2, 200, false, true, 0, 0);
	ck_assert_int_eq(claim(&e, 1, 100, 5), 0);
	assert_none(&e);
	/* Once every member's latest SYNC says quorate: an election, with
	 * an epoch above the refused claim's. */
	ck_assert_int_eq(say_ok(&e, 2, 200), 0);
	ck_assert_int_eq(say_ok(&e, 3, 300), ELECTED_AT_END);
	assert_leader(&e, 1, 100, 6);
	haq__election_free(&e);
}
END_TEST

START_TEST(test_sync_codec_layout)
{
	const struct haq_sync s = {true,
				   true,
				   true,
				   0x0102030405060708ull,
				   0x1112131415161718ull,
				   0x2122232425262728ull,
				   0x3132333435363738ull};
	const uint8_t want[HAQ_SYNC_LEN] = {
		7,    0,    0,	  0,	0,    0,    0,	  0,
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
		0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11,
		0x28, 0x27, 0x26, 0x25, 0x24, 0x23, 0x22, 0x21,
		0x38, 0x37, 0x36, 0x35, 0x34, 0x33, 0x32, 0x31};
	uint8_t buf[HAQ_SYNC_LEN];

	haq__sync_encode(&s, buf);
	ck_assert_mem_eq(buf, want, sizeof(buf));
}
END_TEST

START_TEST(test_sync_codec_refuses)
{
	const struct haq_sync good = {true, true, true, 5, 6, 7, 8};
	uint8_t buf[HAQ_SYNC_LEN + 1];
	struct haq_sync d;

	haq__sync_encode(&good, buf);
	buf[HAQ_SYNC_LEN] = 0;
	ck_assert_int_eq(haq__sync_decode(buf, HAQ_SYNC_LEN, &d), 0);
	/* Wrong lengths. */
	ck_assert_int_eq(haq__sync_decode(buf, 0, &d), -EBADMSG);
	ck_assert_int_eq(haq__sync_decode(buf, HAQ_SYNC_LEN - 1, &d), -EBADMSG);
	ck_assert_int_eq(haq__sync_decode(buf, HAQ_SYNC_LEN + 1, &d), -EBADMSG);
	/* Reserved flag bits, one at a time. */
	for (int bit = 3; bit < 8; bit++) {
		haq__sync_encode(&good, buf);
		buf[0] |= (uint8_t)(1u << bit);
		ck_assert_int_eq(haq__sync_decode(buf, HAQ_SYNC_LEN, &d),
				 -EBADMSG);
	}
	/* Reserved bytes, one at a time. */
	for (int i = 1; i < 8; i++) {
		haq__sync_encode(&good, buf);
		buf[i] = 0x80;
		ck_assert_int_eq(haq__sync_decode(buf, HAQ_SYNC_LEN, &d),
				 -EBADMSG);
	}
	/* A claim without an epoch, an epoch without a claim. */
	haq__sync_encode(&(struct haq_sync){true, true, true, 0, 6, 7, 8}, buf);
	ck_assert_int_eq(haq__sync_decode(buf, HAQ_SYNC_LEN, &d), -EBADMSG);
	haq__sync_encode(&(struct haq_sync){true, true, false, 5, 6, 7, 8}, buf);
	ck_assert_int_eq(haq__sync_decode(buf, HAQ_SYNC_LEN, &d), -EBADMSG);
	/* A claim of an epoch above what the sender has seen. */
	haq__sync_encode(&(struct haq_sync){true, true, true, 7, 6, 7, 8}, buf);
	ck_assert_int_eq(haq__sync_decode(buf, HAQ_SYNC_LEN, &d), -EBADMSG);
	/* A claim from a partition that is not quorate. */
	haq__sync_encode(&(struct haq_sync){false, true, true, 5, 6, 7, 8}, buf);
	ck_assert_int_eq(haq__sync_decode(buf, HAQ_SYNC_LEN, &d), -EBADMSG);
	/* The edge that is allowed: the claimed epoch is the highest seen. */
	haq__sync_encode(&(struct haq_sync){true, false, true, 6, 6, 0, 8}, buf);
	ck_assert_int_eq(haq__sync_decode(buf, HAQ_SYNC_LEN, &d), 0);
}
END_TEST

START_TEST(test_renew_codec)
{
	uint8_t buf[HAQ_RENEW_LEN + 1] = {0};
	uint64_t epoch;
	uint64_t nonce;

	haq__renew_encode(0x0102030405060708ull, 0xa1a2a3a4a5a6a7a8ull, buf);
	ck_assert_int_eq(haq__renew_decode(buf, HAQ_RENEW_LEN, &epoch, &nonce),
			 0);
	ck_assert_uint_eq(epoch, 0x0102030405060708ull);
	ck_assert_uint_eq(nonce, 0xa1a2a3a4a5a6a7a8ull);
	ck_assert_uint_eq(buf[0], 0x08);
	ck_assert_uint_eq(buf[8], 0xa8);
	ck_assert_int_eq(
		haq__renew_decode(buf, HAQ_RENEW_LEN - 1, &epoch, &nonce),
		-EBADMSG);
	ck_assert_int_eq(
		haq__renew_decode(buf, HAQ_RENEW_LEN + 1, &epoch, &nonce),
		-EBADMSG);
	ck_assert_int_eq(haq__renew_decode(buf, 0, &epoch, &nonce), -EBADMSG);
	haq__renew_encode(0, 5, buf);
	ck_assert_int_eq(haq__renew_decode(buf, HAQ_RENEW_LEN, &epoch, &nonce),
			 -EBADMSG);
	/* Any nonce, zero included. */
	haq__renew_encode(1, 0, buf);
	ck_assert_int_eq(haq__renew_decode(buf, HAQ_RENEW_LEN, &epoch, &nonce),
			 0);
}
END_TEST

START_TEST(test_resign_codec)
{
	uint8_t buf[HAQ_RESIGN_LEN + 1] = {0};
	uint64_t epoch;

	haq__resign_encode(UINT64_MAX - 1, buf);
	ck_assert_int_eq(haq__resign_decode(buf, HAQ_RESIGN_LEN, &epoch), 0);
	ck_assert_uint_eq(epoch, UINT64_MAX - 1);
	ck_assert_int_eq(haq__resign_decode(buf, HAQ_RESIGN_LEN - 1, &epoch),
			 -EBADMSG);
	ck_assert_int_eq(haq__resign_decode(buf, HAQ_RESIGN_LEN + 1, &epoch),
			 -EBADMSG);
	haq__resign_encode(0, buf);
	ck_assert_int_eq(haq__resign_decode(buf, HAQ_RESIGN_LEN, &epoch),
			 -EBADMSG);
}
END_TEST

START_TEST(test_eligible_codec)
{
	uint8_t buf[HAQ_ELIGIBLE_LEN + 1] = {0};
	bool flag;

	haq__eligible_encode(true, buf);
	ck_assert_int_eq(haq__eligible_decode(buf, HAQ_ELIGIBLE_LEN, &flag), 0);
	ck_assert(flag);
	haq__eligible_encode(false, buf);
	ck_assert_int_eq(haq__eligible_decode(buf, HAQ_ELIGIBLE_LEN, &flag), 0);
	ck_assert(!flag);
	ck_assert_int_eq(haq__eligible_decode(buf, HAQ_ELIGIBLE_LEN - 1, &flag),
			 -EBADMSG);
	ck_assert_int_eq(haq__eligible_decode(buf, HAQ_ELIGIBLE_LEN + 1, &flag),
			 -EBADMSG);
	/* Values other than 0 and 1. */
	buf[0] = 2;
	ck_assert_int_eq(haq__eligible_decode(buf, HAQ_ELIGIBLE_LEN, &flag),
			 -EBADMSG);
	buf[0] = 0xff;
	ck_assert_int_eq(haq__eligible_decode(buf, HAQ_ELIGIBLE_LEN, &flag),
			 -EBADMSG);
	/* Reserved bytes. */
	for (int i = 1; i < HAQ_ELIGIBLE_LEN; i++) {
		haq__eligible_encode(true, buf);
		buf[i] = 1;
		ck_assert_int_eq(
			haq__eligible_decode(buf, HAQ_ELIGIBLE_LEN, &flag),
			-EBADMSG);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("election");

	ADD_TCASE(s, test_round_elects_lowest_eligible_when_all_synced, 5);
	ADD_TCASE(s, test_round_needs_every_member_quorate, 5);
	ADD_TCASE(s, test_epoch_above_every_max_epoch, 5);
	ADD_TCASE(s, test_epoch_not_below_round_clock, 5);
	ADD_TCASE(s, test_empty_view_has_no_leader, 5);
	ADD_TCASE(s, test_claim_keeps_leader_through_join, 5);
	ADD_TCASE(s, test_claim_first_then_syncs_elect_nobody, 5);
	ADD_TCASE(s, test_claim_survives_merge_of_leaderless_side, 5);
	ADD_TCASE(s, test_claim_survives_others_leaving, 5);
	ADD_TCASE(s, test_leader_leaving_clears_it, 5);
	ADD_TCASE(s, test_first_claim_wins, 5);
	ADD_TCASE(s, test_leader_sync_without_claim_in_decided_round, 5);
	ADD_TCASE(s, test_leader_without_claim_in_open_round, 5);
	ADD_TCASE(s, test_resign_elects_another_at_once, 5);
	ADD_TCASE(s, test_resign_by_non_leader_keeps_leader, 5);
	ADD_TCASE(s, test_resign_in_open_round_waits_for_the_round, 5);
	ADD_TCASE(s, test_ineligible_never_elected, 5);
	ADD_TCASE(s, test_eligible_elects_when_nobody_could, 5);
	ADD_TCASE(s, test_non_quorate_view_clears_leader, 5);
	ADD_TCASE(s, test_non_quorate_sync_clears_until_all_quorate, 5);
	ADD_TCASE(s, test_reset_forgets_all_but_seen_epoch, 5);
	ADD_TCASE(s, test_joiner_and_old_member_agree, 5);
	ADD_TCASE(s, test_random_history_agrees_and_epochs_increase, 30);
	ADD_TCASE(s, test_wiped_restart_epoch_from_clock, 5);
	ADD_TCASE(s, test_fixed_resign_before_syncs_agrees, 5);
	ADD_TCASE(s, test_fixed_give_up_in_open_round_agrees, 5);
	ADD_TCASE(s, test_fixed_give_up_last_sync_decides, 5);
	ADD_TCASE(s, test_fixed_eligible_after_wipe_epoch_from_clock, 5);
	ADD_TCASE(s, test_fixed_elected_member_kept_by_its_earlier_sync, 5);
	ADD_TCASE(s, test_fixed_sync_after_resign_elects, 5);
	ADD_TCASE(s, test_sync_codec_round_trip, 5);
	ADD_TCASE(s, test_stale_sync_ignored, 5);
	ADD_TCASE(s, test_claim_refused_in_doubt_of_quorum, 5);
	ADD_TCASE(s, test_sync_codec_layout, 5);
	ADD_TCASE(s, test_sync_codec_refuses, 5);
	ADD_TCASE(s, test_renew_codec, 5);
	ADD_TCASE(s, test_resign_codec, 5);
	ADD_TCASE(s, test_eligible_codec, 5);
	return run_suite(s);
}
