/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the leader election (libhaq/election.c). */
#include "check_common.h"
#include "election.h"

static const struct haq_memb three[] = {{1, 100, 0}, {2, 200, 0}, {3, 300, 0}};
static const struct haq_memb two[] = {{2, 200, 0}, {3, 300, 0}};
static const struct haq_memb one_three[] = {{1, 100, 0}, {3, 300, 0}};
static const struct haq_memb with_low[] = {
	{1, 50, 0}, {1, 100, 0}, {2, 200, 0}, {3, 300, 0}};

#define EPOCH(ring, n) (((uint64_t)(ring) << 16) | (n))

START_TEST(test_lowest_member_leads_after_ring_change)
{
	struct haq_election e = {0};

	ck_assert_int_eq(haq__election_view(&e, 8, three, 3, 1, 0), 1);
	ck_assert_uint_eq(e.nodeid, 1);
	ck_assert_uint_eq(e.pid, 100);
	ck_assert_uint_eq(e.epoch, EPOCH(8, 1));
	/* The same view again changes nothing. */
	ck_assert_int_eq(haq__election_view(&e, 8, three, 3, 1, 0), 0);
	ck_assert_uint_eq(e.epoch, EPOCH(8, 1));
	haq__election_free(&e);
}
END_TEST

START_TEST(test_no_leader_without_quorum)
{
	struct haq_election e = {0};

	ck_assert_int_eq(haq__election_view(&e, 8, three, 3, 0, 0), 0);
	ck_assert_uint_eq(e.nodeid, 0);
	ck_assert_uint_eq(e.epoch, 0);
	ck_assert_int_eq(haq__election_view(&e, 8, three, 3, 1, 0), 1);
	ck_assert_uint_eq(e.nodeid, 1);
	/* Losing quorum in the same ring removes the leader... */
	ck_assert_int_eq(haq__election_view(&e, 8, three, 3, 0, 0), 1);
	ck_assert_uint_eq(e.nodeid, 0);
	ck_assert_uint_eq(e.epoch, 0);
	/* ...and regaining it starts a new, larger epoch. */
	ck_assert_int_eq(haq__election_view(&e, 8, three, 3, 1, 0), 1);
	ck_assert_uint_eq(e.epoch, EPOCH(8, 2));
	haq__election_free(&e);
}
END_TEST

START_TEST(test_leader_leaves_within_ring)
{
	struct haq_election e = {0};

	haq__election_view(&e, 12, three, 3, 1, 0);
	ck_assert_int_eq(haq__election_view(&e, 12, two, 2, 1, 0), 1);
	ck_assert_uint_eq(e.nodeid, 2);
	ck_assert_uint_eq(e.epoch, EPOCH(12, 2));
	haq__election_free(&e);
}
END_TEST

START_TEST(test_join_does_not_move_leadership)
{
	struct haq_election e = {0};

	haq__election_view(&e, 12, two, 2, 1, 0);
	ck_assert_uint_eq(e.nodeid, 2);
	/* A lower (nodeid, pid) joins within the ring: the leader stays. */
	ck_assert_int_eq(haq__election_view(&e, 12, with_low, 4, 1, 0), 0);
	ck_assert_uint_eq(e.nodeid, 2);
	ck_assert_uint_eq(e.epoch, EPOCH(12, 1));
	/* The joiners are not known to be synced: announce. */
	ck_assert_int_eq(haq__election_should_announce(&e, with_low, 4), 1);
	/* When the leader leaves, a synced member follows, not a joiner. */
	{
		const struct haq_memb rest[] = {{1, 50, 0}, {1, 100, 0},
						{3, 300, 0}};

		ck_assert_int_eq(haq__election_view(&e, 12, rest, 3, 1, 0), 1);
		ck_assert_uint_eq(e.nodeid, 3);
		ck_assert_uint_eq(e.epoch, EPOCH(12, 2));
	}
	haq__election_free(&e);
}
END_TEST

START_TEST(test_joiner_learns_from_announcement)
{
	struct haq_election old = {0}, joiner = {0};
	struct haq_announce a;
	uint8_t buf[HAQ_ANNOUNCE_LEN];

	/* The old members had two leaderships in ring 20. */
	haq__election_view(&old, 20, three, 3, 1, 0);
	haq__election_view(&old, 20, two, 2, 1, 0);
	ck_assert_uint_eq(old.epoch, EPOCH(20, 2));
	/* (1, 100) joins: it names no leader until told. */
	ck_assert_int_eq(haq__election_view(&old, 20, three, 3, 1, 0), 0);
	ck_assert_int_eq(haq__election_view(&joiner, 20, three, 3, 1, 1), 0);
	ck_assert_uint_eq(joiner.nodeid, 0);
	ck_assert_int_eq(joiner.synced, 0);
	ck_assert_int_eq(haq__election_should_announce(&old, three, 3), 1);
	/* The leader's announcement travels encoded. */
	haq__announce_encode(&(struct haq_announce){20, old.count, old.nodeid,
						    old.pid},
			     buf);
	ck_assert_int_eq(haq__announce_decode(buf, sizeof(buf), &a), 0);
	ck_assert_int_eq(haq__election_announced(&joiner, &a, three, 3), 1);
	ck_assert_int_eq(haq__election_announced(&old, &a, three, 3), 0);
	ck_assert_uint_eq(joiner.nodeid, 2);
	ck_assert_uint_eq(joiner.epoch, old.epoch);
	ck_assert_int_eq(haq__election_should_announce(&old, three, 3), 0);
	/* From now on both decide alike: the leader leaves. */
	ck_assert_int_eq(haq__election_view(&old, 20, one_three, 2, 1, 0), 1);
	ck_assert_int_eq(haq__election_view(&joiner, 20, one_three, 2, 1, 0),
			 1);
	ck_assert_uint_eq(joiner.nodeid, old.nodeid);
	ck_assert_uint_eq(joiner.epoch, old.epoch);
	ck_assert_uint_eq(old.epoch, EPOCH(20, 3));
	haq__election_free(&old);
	haq__election_free(&joiner);
}
END_TEST

START_TEST(test_joiner_alone_leads)
{
	struct haq_election e = {0};
	const struct haq_memb me[] = {{4, 400, 0}};

	ck_assert_int_eq(haq__election_view(&e, 30, me, 1, 1, 1), 1);
	ck_assert_uint_eq(e.nodeid, 4);
	ck_assert_uint_eq(e.epoch, EPOCH(30, 1));
	haq__election_free(&e);
}
END_TEST

START_TEST(test_stale_or_forged_announcements)
{
	struct haq_election e = {0};
	uint8_t buf[HAQ_ANNOUNCE_LEN];
	struct haq_announce a;

	haq__election_view(&e, 20, three, 3, 1, 1);
	/* Another ring's announcement teaches nothing. */
	a = (struct haq_announce){16, 3, 2, 200};
	ck_assert_int_eq(haq__election_announced(&e, &a, three, 3), 0);
	ck_assert_int_eq(e.synced, 0);
	/* Malformed encodings are refused. */
	haq__announce_encode(&(struct haq_announce){20, 1, 2, 200}, buf);
	ck_assert_int_eq(haq__announce_decode(buf, sizeof(buf) - 1, &a),
			 -EBADMSG);
	buf[20] = 1; /* reserved must be zero */
	ck_assert_int_eq(haq__announce_decode(buf, sizeof(buf), &a), -EBADMSG);
	haq__announce_encode(&(struct haq_announce){20, 0, 2, 200}, buf);
	ck_assert_int_eq(haq__announce_decode(buf, sizeof(buf), &a), -EBADMSG);
	haq__election_free(&e);
}
END_TEST

START_TEST(test_new_ring_new_epoch_same_leader)
{
	struct haq_election e = {0};
	uint64_t first;

	haq__election_view(&e, 12, three, 3, 1, 0);
	first = e.epoch;
	/* Even with the same leader, a new ring is a new leadership. */
	ck_assert_int_eq(haq__election_view(&e, 16, three, 3, 1, 0), 1);
	ck_assert_uint_eq(e.nodeid, 1);
	ck_assert_uint_gt(e.epoch, first);
	ck_assert_uint_eq(e.epoch, EPOCH(16, 1));
	/* A new ring without quorum: no leader, reported as a change. */
	ck_assert_int_eq(haq__election_view(&e, 20, three, 3, 0, 0), 1);
	ck_assert_uint_eq(e.nodeid, 0);
	haq__election_free(&e);
}
END_TEST

START_TEST(test_reset_on_disconnect)
{
	struct haq_election e = {0};

	haq__election_view(&e, 12, three, 3, 1, 0);
	ck_assert_int_eq(haq__election_reset(&e), 1);
	ck_assert_uint_eq(e.nodeid, 0);
	ck_assert_uint_eq(e.epoch, 0);
	ck_assert_int_eq(haq__election_reset(&e), 0);
	/* The first view after the rejoin is a join: learn, don't claim. */
	ck_assert_int_eq(haq__election_view(&e, 12, three, 3, 1, 1), 0);
	ck_assert_uint_eq(e.nodeid, 0);
	haq__election_free(&e);
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

			if (haq__election_view(&e, ring, m, n, i != 3, 0) &&
			    e.nodeid) {
				ck_assert_uint_gt(e.epoch, last);
				last = e.epoch;
			}
		}
	}
	haq__election_free(&e);
}
END_TEST

START_TEST(test_empty_view_has_no_leader)
{
	struct haq_election e = {0};

	ck_assert_int_eq(haq__election_view(&e, 4, NULL, 0, 1, 0), 0);
	ck_assert_uint_eq(e.nodeid, 0);
	haq__election_free(&e);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("election");

	ADD_TCASE(s, test_lowest_member_leads_after_ring_change, 5);
	ADD_TCASE(s, test_no_leader_without_quorum, 5);
	ADD_TCASE(s, test_leader_leaves_within_ring, 5);
	ADD_TCASE(s, test_join_does_not_move_leadership, 5);
	ADD_TCASE(s, test_joiner_learns_from_announcement, 5);
	ADD_TCASE(s, test_joiner_alone_leads, 5);
	ADD_TCASE(s, test_stale_or_forged_announcements, 5);
	ADD_TCASE(s, test_new_ring_new_epoch_same_leader, 5);
	ADD_TCASE(s, test_reset_on_disconnect, 5);
	ADD_TCASE(s, test_epochs_strictly_increase_over_history, 5);
	ADD_TCASE(s, test_empty_view_has_no_leader, 5);
	return run_suite(s);
}
