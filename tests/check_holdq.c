/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the hold queue (libhaq/holdq.c): no corosync involved. */
#include "check_common.h"
#include "holdq.h"

static struct haq_held *
frame(uint32_t nodeid)
{
	struct haq_held *h = haq__held_new(HAQ_HELD_FRAME, 4);

	ck_assert_ptr_nonnull(h);
	h->nodeid = nodeid;
	memcpy(h->data, "abcd", 4);
	return h;
}

static struct haq_held *
event(int kind, uint64_t ring_seq)
{
	struct haq_held *h = haq__held_new(kind, 0);

	ck_assert_ptr_nonnull(h);
	h->ring_seq = ring_seq;
	h->ring_nodeid = ring_seq ? 1 : 0;
	return h;
}

/* Frames behind a view wait for it; the view waits for its ring's quorum. */
START_TEST(test_view_waits_for_quorum_and_frames_keep_order)
{
	struct haq_holdq q = {0};
	struct haq_held *h;

	haq__holdq_push(&q, event(HAQ_HELD_VIEW, 8), 100);
	haq__holdq_push(&q, frame(1), 200);
	haq__holdq_push(&q, frame(2), 300);
	ck_assert_uint_eq(q.since, 100);
	/* The quorum state of ring 4 says nothing of ring 8. */
	ck_assert_ptr_null(haq__holdq_pop_ready(&q, 4, false, 1, 8, 400));
	h = haq__holdq_pop_ready(&q, 8, false, 1, 8, 500);
	ck_assert_ptr_nonnull(h);
	ck_assert_int_eq(h->kind, HAQ_HELD_VIEW);
	haq__held_free(h, NULL);
	ck_assert_uint_eq(q.since, 500);
	h = haq__holdq_pop_ready(&q, 8, false, 1, 8, 600);
	ck_assert_uint_eq(h->nodeid, 1);
	haq__held_free(h, NULL);
	h = haq__holdq_pop_ready(&q, 0, false, 1, 8, 700);
	ck_assert_uint_eq(h->nodeid, 2); /* frames never wait on their own */
	haq__held_free(h, NULL);
	ck_assert(haq__holdq_empty(&q));
	ck_assert_ptr_null(haq__holdq_pop_ready(&q, 8, true, 1, 8, 800));
}
END_TEST

/* A view of a ring change takes the ring of the next totem change. */
START_TEST(test_ringless_view_takes_next_totem_ring)
{
	struct haq_holdq q = {0};
	struct haq_held *h;

	haq__holdq_push(&q, event(HAQ_HELD_VIEW, 0), 1);
	/* A known quorum state never releases a view without a ring. */
	ck_assert_ptr_null(haq__holdq_pop_ready(&q, 100, false, 3, 12, 2));
	haq__holdq_set_ring(&q, 7, 16);
	haq__holdq_push(&q, event(HAQ_HELD_TOTEM, 16), 3);
	ck_assert_ptr_null(haq__holdq_pop_ready(&q, 12, false, 7, 16, 4));
	h = haq__holdq_pop_ready(&q, 16, false, 7, 16, 5);
	ck_assert_uint_eq(h->ring_seq, 16);
	ck_assert_uint_eq(h->ring_nodeid, 7);
	haq__held_free(h, NULL);
	h = haq__holdq_pop_ready(&q, 16, false, 7, 16, 6);
	ck_assert_int_eq(h->kind, HAQ_HELD_TOTEM);
	haq__held_free(h, NULL);
}
END_TEST

/* After the wait ran out, force releases, ringless views take the latest. */
START_TEST(test_force_after_timeout)
{
	struct haq_holdq q = {0};
	struct haq_held *h;

	ck_assert_uint_eq(haq__holdq_deadline(&q, 50), 0);
	haq__holdq_push(&q, event(HAQ_HELD_VIEW, 0), 1000);
	haq__holdq_push(&q, event(HAQ_HELD_VIEW, 40), 1001);
	ck_assert_uint_eq(haq__holdq_deadline(&q, 50), 1050);
	h = haq__holdq_pop_ready(&q, 0, true, 9, 33, 1060);
	ck_assert_uint_eq(h->ring_seq, 33);
	ck_assert_uint_eq(h->ring_nodeid, 9);
	haq__held_free(h, NULL);
	/* The next one waits afresh from the release. */
	ck_assert_uint_eq(haq__holdq_deadline(&q, 50), 1110);
	h = haq__holdq_pop_ready(&q, 0, true, 9, 33, 1070);
	ck_assert_uint_eq(h->ring_seq, 40); /* its own ring stays */
	haq__held_free(h, NULL);
}
END_TEST

static int views_freed;

static void
count_free(struct haq_view *v)
{
	ck_assert_ptr_eq(v, (struct haq_view *)&views_freed);
	views_freed++;
}

START_TEST(test_clear_frees_views)
{
	struct haq_holdq q = {0};
	struct haq_held *h = event(HAQ_HELD_VIEW, 2);

	h->view = (struct haq_view *)&views_freed;
	haq__holdq_push(&q, h, 1);
	haq__holdq_push(&q, frame(1), 2);
	haq__holdq_clear(&q, count_free);
	ck_assert_int_eq(views_freed, 1);
	ck_assert(haq__holdq_empty(&q));
	ck_assert_ptr_null(q.tail);
}
END_TEST

/*
 * The race seen on a real cluster: a node formed ring 104 alone (not
 * quorate, and votequorum never gave its verdict) and was merged into
 * ring 108 (quorate) at once; its view of ring 104 must not take ring
 * 108's verdict. Verdicts that did come are kept, newest first.
 */
START_TEST(test_verdict_of_own_ring_only)
{
	struct haq_verdicts v = {0};

	ck_assert_int_eq(haq__verdicts_get(&v, 100), 0);
	haq__verdicts_add(&v, 100, 1);
	haq__verdicts_add(&v, 108, 1);
	ck_assert_int_eq(haq__verdicts_get(&v, 100), 1);
	ck_assert_int_eq(haq__verdicts_get(&v, 104), 0); /* never given */
	ck_assert_int_eq(haq__verdicts_get(&v, 108), 1);
	ck_assert_int_eq(haq__verdicts_get(&v, 0), 0);
	/* The same ring reported again: the latest verdict counts. */
	haq__verdicts_add(&v, 108, 0);
	ck_assert_int_eq(haq__verdicts_get(&v, 108), 0);
	/* Old rings fall out of the history: unknown, so not quorate. */
	for (uint64_t r = 200; r < 200 + HAQ_VERDICTS; r++) {
		haq__verdicts_add(&v, r, 1);
	}
	ck_assert_int_eq(haq__verdicts_get(&v, 100), 0);
	ck_assert_int_eq(haq__verdicts_get(&v, 200), 1);
	ck_assert_int_eq(haq__verdicts_get(&v, 199 + HAQ_VERDICTS), 1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("holdq");

	ADD_TCASE(s, test_view_waits_for_quorum_and_frames_keep_order, 5);
	ADD_TCASE(s, test_ringless_view_takes_next_totem_ring, 5);
	ADD_TCASE(s, test_force_after_timeout, 5);
	ADD_TCASE(s, test_clear_frees_views, 5);
	ADD_TCASE(s, test_verdict_of_own_ring_only, 5);
	return run_suite(s);
}
