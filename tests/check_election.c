/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the leader election (libhaq/election.c). */
#include "check_common.h"
#include "election.h"

static const struct haq_memb three[] = {{1, 100, 0}, {2, 200, 0}, {3, 300, 0}};
static const struct haq_memb two[] = {{2, 200, 0}, {3, 300, 0}};

START_TEST(test_lowest_member_leads_when_quorate)
{
	struct haq_election e = {0};

	ck_assert_int_eq(haq__election_update(&e, 8, three, 3, 1), 1);
	ck_assert_uint_eq(e.nodeid, 1);
	ck_assert_uint_eq(e.pid, 100);
	ck_assert_uint_eq(e.epoch, (8ull << 16) | 1);
	/* The same view again changes nothing. */
	ck_assert_int_eq(haq__election_update(&e, 8, three, 3, 1), 0);
	ck_assert_uint_eq(e.epoch, (8ull << 16) | 1);
}
END_TEST

START_TEST(test_no_leader_without_quorum)
{
	struct haq_election e = {0};

	ck_assert_int_eq(haq__election_update(&e, 8, three, 3, 0), 0);
	ck_assert_uint_eq(e.nodeid, 0);
	ck_assert_uint_eq(e.epoch, 0);
	ck_assert_int_eq(haq__election_update(&e, 8, three, 3, 1), 1);
	ck_assert_uint_eq(e.nodeid, 1);
	/* Losing quorum in the same ring removes the leader... */
	ck_assert_int_eq(haq__election_update(&e, 8, three, 3, 0), 1);
	ck_assert_uint_eq(e.nodeid, 0);
	ck_assert_uint_eq(e.epoch, 0);
	/* ...and regaining it starts a new, larger epoch. */
	ck_assert_int_eq(haq__election_update(&e, 8, three, 3, 1), 1);
	ck_assert_uint_eq(e.epoch, (8ull << 16) | 2);
}
END_TEST

START_TEST(test_leader_leaves_within_ring)
{
	struct haq_election e = {0};
	uint64_t first;

	haq__election_update(&e, 12, three, 3, 1);
	first = e.epoch;
	ck_assert_int_eq(haq__election_update(&e, 12, two, 2, 1), 1);
	ck_assert_uint_eq(e.nodeid, 2);
	ck_assert_uint_gt(e.epoch, first);
}
END_TEST

START_TEST(test_new_ring_new_epoch_same_leader)
{
	struct haq_election e = {0};
	uint64_t first;

	haq__election_update(&e, 12, three, 3, 1);
	first = e.epoch;
	/* Even with the same leader, a new ring is a new leadership. */
	ck_assert_int_eq(haq__election_update(&e, 16, three, 3, 1), 1);
	ck_assert_uint_eq(e.nodeid, 1);
	ck_assert_uint_gt(e.epoch, first);
	ck_assert_uint_eq(e.epoch, (16ull << 16) | 1);
	/* A new ring without quorum: no leader, reported as a change. */
	ck_assert_int_eq(haq__election_update(&e, 20, three, 3, 0), 1);
	ck_assert_uint_eq(e.nodeid, 0);
}
END_TEST

START_TEST(test_epochs_strictly_increase_over_history)
{
	struct haq_election e = {0};
	uint64_t last = 0;

	/* Many changes over a few rings: every new leadership is larger. */
	for (uint64_t ring = 4; ring < 64; ring += 4) {
		for (int i = 0; i < 5; i++) {
			const struct haq_memb *m = (i % 2) ? two : three;
			size_t n = (i % 2) ? 2 : 3;

			if (haq__election_update(&e, ring, m, n, i != 3) &&
			    e.nodeid) {
				ck_assert_uint_gt(e.epoch, last);
				last = e.epoch;
			}
		}
	}
}
END_TEST

START_TEST(test_empty_view_has_no_leader)
{
	struct haq_election e = {0};

	ck_assert_int_eq(haq__election_update(&e, 4, NULL, 0, 1), 0);
	ck_assert_uint_eq(e.nodeid, 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("election");

	ADD_TCASE(s, test_lowest_member_leads_when_quorate, 5);
	ADD_TCASE(s, test_no_leader_without_quorum, 5);
	ADD_TCASE(s, test_leader_leaves_within_ring, 5);
	ADD_TCASE(s, test_new_ring_new_epoch_same_leader, 5);
	ADD_TCASE(s, test_epochs_strictly_increase_over_history, 5);
	ADD_TCASE(s, test_empty_view_has_no_leader, 5);
	return run_suite(s);
}
