/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the send queue (libhaq/sendq.c). */
#include "check_common.h"
#include "sendq.h"
#include "wire.h"

START_TEST(test_push_copies_and_keeps_order)
{
	struct haq_sendq q = {0};
	char a[] = "hello", b[] = "world";
	struct iovec iov[2] = {{a, 5}, {b, 5}};

	ck_assert_int_eq(haq__sendq_push(&q, HAQ_WIRE_DATA, false, 1, iov, 2, 10), 0);
	ck_assert_int_eq(haq__sendq_push(&q, HAQ_WIRE_DATA, false, 2, iov, 1, 5), 0);
	/* The caller's buffers are free once push returns. */
	memset(a, 'x', 5);
	ck_assert_uint_eq(q.count, 2);
	ck_assert_uint_eq(q.bytes, 15);
	ck_assert_uint_eq(q.head->seq, 1);
	ck_assert_int_eq(memcmp(q.head->data, "helloworld", 10), 0);
	haq__sendq_pop(&q);
	ck_assert_uint_eq(q.head->seq, 2);
	ck_assert_int_eq(memcmp(q.head->data, "hello", 5), 0);
	ck_assert_uint_eq(q.bytes, 5);
	haq__sendq_pop(&q);
	ck_assert_ptr_null(q.head);
	ck_assert_ptr_null(q.tail);
	ck_assert_uint_eq(q.bytes, 0);
	haq__sendq_pop(&q); /* popping an empty queue is harmless */
	haq__sendq_clear(&q); /* the last block may be kept for reuse */
}
END_TEST

START_TEST(test_clear_counts_discarded)
{
	struct haq_sendq q = {0};
	char a[] = "m";
	struct iovec iov = {a, 1};

	for (int i = 0; i < 100; i++) {
		ck_assert_int_eq(
			haq__sendq_push(&q, HAQ_WIRE_DATA, false, (uint64_t)i + 1, &iov, 1, 1),
			0);
	}
	ck_assert_uint_eq(haq__sendq_clear(&q), 100);
	ck_assert_uint_eq(q.count, 0);
	ck_assert_uint_eq(q.bytes, 0);
	ck_assert_uint_eq(haq__sendq_clear(&q), 0);
}
END_TEST

START_TEST(test_empty_iov_entries_are_skipped)
{
	struct haq_sendq q = {0};
	char a[] = "ab";
	struct iovec iov[3] = {{NULL, 0}, {a, 2}, {NULL, 0}};

	ck_assert_int_eq(haq__sendq_push(&q, HAQ_WIRE_FRAG, false, 7, iov, 3, 2), 0);
	ck_assert_uint_eq(q.head->type, HAQ_WIRE_FRAG);
	ck_assert_int_eq(memcmp(q.head->data, "ab", 2), 0);
	haq__sendq_clear(&q);
}
END_TEST

START_TEST(test_freed_blocks_reused_within_limit)
{
	struct haq_sendq q = {0};
	char buf[1000];
	struct iovec iov = {buf, sizeof(buf)};
	struct haq_sendq_entry *first;

	memset(buf, 'a', sizeof(buf));
	q.limit = 4 * haq__sendq_footprint(sizeof(buf));
	ck_assert_int_eq(haq__sendq_push(&q, HAQ_WIRE_DATA, false, 1, &iov, 1, 1000), 0);
	first = q.head;
	ck_assert_uint_eq(q.mem, haq__sendq_footprint(1000));
	haq__sendq_pop(&q);
	/* The block is kept and reused for a message of a similar size. */
	ck_assert_uint_eq(q.mem, 0);
	ck_assert_uint_eq(q.cache_mem, haq__sendq_footprint(1000));
	iov.iov_len = 600;
	ck_assert_int_eq(haq__sendq_push(&q, HAQ_WIRE_DATA, false, 2, &iov, 1, 600), 0);
	ck_assert_ptr_eq(q.head, first);
	ck_assert_uint_eq(q.cache_mem, 0);
	haq__sendq_pop(&q);
	/* Memory held never exceeds the limit, cache included. */
	for (uint64_t i = 0; i < 100; i++) {
		size_t len = 1 + (size_t)(i * 37 % 1000);

		if (q.count == 4) {
			haq__sendq_pop(&q);
		}
		iov.iov_len = len;
		ck_assert_int_eq(
			haq__sendq_push(&q, HAQ_WIRE_DATA, false, i + 3, &iov, 1, len), 0);
		ck_assert_uint_le(q.mem + q.cache_mem, q.limit);
	}
	haq__sendq_clear(&q);
	ck_assert_ptr_null(q.cache);
	ck_assert_uint_eq(q.cache_mem, 0);
	ck_assert_uint_eq(q.mem, 0);
}
END_TEST

START_TEST(test_big_block_kept_while_empty)
{
	struct haq_sendq q = {0};
	static uint8_t buf[64 * 1024];
	struct iovec iov = {buf, sizeof(buf)};
	struct haq_sendq_entry *first;
	char c = 'c';
	struct iovec small = {&c, 1};

	/* A message above the limit goes alone through an empty queue... */
	q.limit = 4096;
	memset(buf, 'b', sizeof(buf));
	ck_assert_int_eq(haq__sendq_push(&q, HAQ_WIRE_FRAG, false, 1, &iov, 1,
					 sizeof(buf)),
			 0);
	first = q.head;
	haq__sendq_pop(&q);
	/* ...and its block is kept, outside the cache, for the next one. */
	ck_assert_ptr_eq(q.big, first);
	ck_assert_ptr_null(q.cache);
	ck_assert_uint_eq(q.mem, 0);
	iov.iov_len = sizeof(buf) - 100;
	ck_assert_int_eq(haq__sendq_push(&q, HAQ_WIRE_FRAG, false, 2, &iov, 1,
					 sizeof(buf) - 100),
			 0);
	ck_assert_ptr_eq(q.head, first);
	ck_assert_ptr_null(q.big);
	ck_assert_int_eq(memcmp(q.head->data, buf, sizeof(buf) - 100), 0);
	haq__sendq_pop(&q);
	ck_assert_ptr_eq(q.big, first);
	/* Much smaller: not reused, and freed before anything is queued. */
	iov.iov_len = 1000;
	ck_assert_int_eq(
		haq__sendq_push(&q, HAQ_WIRE_DATA, false, 3, &iov, 1, 1000), 0);
	iov.iov_len = sizeof(buf);
	ck_assert_ptr_null(q.big);
	haq__sendq_pop(&q);
	ck_assert_ptr_null(q.big); /* within the limit: the cache's */
	ck_assert_ptr_nonnull(q.cache);
	/* Something else queued frees it: the queue holds one big block. */
	ck_assert_int_eq(haq__sendq_clear(&q), 0);
	ck_assert_int_eq(haq__sendq_push(&q, HAQ_WIRE_FRAG, false, 4, &iov, 1,
					 sizeof(buf)),
			 0);
	haq__sendq_pop(&q);
	ck_assert_ptr_nonnull(q.big);
	ck_assert_int_eq(
		haq__sendq_push(&q, HAQ_WIRE_CONTROL, true, 5, &small, 1, 1), 0);
	ck_assert_ptr_null(q.big);
	haq__sendq_pop(&q);
	ck_assert_int_eq(haq__sendq_push(&q, HAQ_WIRE_FRAG, false, 5, &iov, 1,
					 sizeof(buf)),
			 0);
	haq__sendq_pop(&q);
	ck_assert_ptr_nonnull(q.big);
	ck_assert_int_eq(haq__sendq_push_borrowed(&q, HAQ_WIRE_FRAG, 6, buf,
						  sizeof(buf), NULL, NULL),
			 0);
	ck_assert_ptr_null(q.big);
	haq__sendq_pop(&q);
	/* clear() frees it too (valgrind and ASan runs check). */
	ck_assert_int_eq(haq__sendq_push(&q, HAQ_WIRE_FRAG, false, 7, &iov, 1,
					 sizeof(buf)),
			 0);
	haq__sendq_pop(&q);
	ck_assert_ptr_nonnull(q.big);
	haq__sendq_clear(&q);
	ck_assert_ptr_null(q.big);
}
END_TEST

static void
released(void *data, void *ud)
{
	int *n = ud;

	ck_assert_ptr_nonnull(data);
	(*n)++;
}

START_TEST(test_borrowed_buffers_given_back_once)
{
	struct haq_sendq q = {0};
	static char big[5000];
	char small[] = "lent";
	int n = 0;

	q.limit = 1u << 20;
	ck_assert_int_eq(haq__sendq_push_borrowed(&q, HAQ_WIRE_DATA, 1, small,
						  4, released, &n),
			 0);
	ck_assert_int_eq(haq__sendq_push_borrowed(&q, HAQ_WIRE_FRAG, 2, big,
						  sizeof(big), released, &n),
			 0);
	ck_assert_int_eq(haq__sendq_push_borrowed(&q, HAQ_WIRE_DATA, 3, small,
						  4, NULL, NULL),
			 0);
	/* Not copied: the queue reads the caller's memory. */
	ck_assert_ptr_eq(haq__sendq_data(q.head), (const uint8_t *)small);
	ck_assert_uint_eq(q.bytes, 4 + sizeof(big) + 4);
	/* Counted like copies, so the limit bounds what is held back. */
	ck_assert_uint_eq(q.mem, 2 * haq__sendq_footprint(4) +
					 haq__sendq_footprint(sizeof(big)));
	haq__sendq_pop(&q);
	ck_assert_int_eq(n, 1);
	/* Given back, never cached for reuse. */
	ck_assert_ptr_null(q.cache);
	ck_assert_uint_eq(haq__sendq_clear(&q), 2);
	ck_assert_int_eq(n, 2);
	ck_assert_uint_eq(q.mem, 0);
	ck_assert_uint_eq(q.bytes, 0);

	/* Lent bytes trim the cache of freed blocks like copied ones. */
	{
		static char blk[4000];
		struct iovec iov = {blk, sizeof(blk)};

		q.limit = 4 * haq__sendq_footprint(sizeof(blk));
		for (uint64_t i = 0; i < 4; i++) {
			ck_assert_int_eq(haq__sendq_push(&q, HAQ_WIRE_DATA,
							 false, 10 + i, &iov, 1,
							 sizeof(blk)),
					 0);
		}
		while (q.head) {
			haq__sendq_pop(&q);
		}
		ck_assert_uint_gt(q.cache_mem, 0);
		ck_assert_int_eq(haq__sendq_push_borrowed(&q, HAQ_WIRE_FRAG,
							  20, big, 3 * 4000,
							  released, &n),
				 0);
		ck_assert_uint_le(q.mem + q.cache_mem, q.limit);
		haq__sendq_clear(&q);
		ck_assert_int_eq(n, 3);
	}
}
END_TEST

/* libhaq's own frames are in the queue but not in the caller's counts. */
START_TEST(test_control_frames_not_counted_as_callers)
{
	struct haq_sendq q = {0};
	char d[] = "data";
	struct iovec iov = {d, 4};

	q.limit = 1 << 20;
	ck_assert_int_eq(haq__sendq_push(&q, HAQ_WIRE_DATA, false, 1, &iov, 1,
					 4),
			 0);
	ck_assert_int_eq(haq__sendq_push(&q, HAQ_WIRE_CONTROL, true, 2, &iov,
					 1, 4),
			 0);
	ck_assert_int_eq(haq__sendq_push(&q, HAQ_WIRE_DATA, false, 2, &iov, 1,
					 4),
			 0);
	ck_assert_uint_eq(q.count, 3);
	ck_assert_uint_eq(q.user_count, 2);
	ck_assert_uint_eq(q.user_bytes, 8);
	haq__sendq_pop(&q);
	haq__sendq_pop(&q); /* the control frame */
	ck_assert_uint_eq(q.user_count, 1);
	ck_assert_uint_eq(q.user_bytes, 4);
	ck_assert_int_eq(haq__sendq_push(&q, HAQ_WIRE_CONTROL, true, 3, &iov,
					 1, 4),
			 0);
	/* Clearing reports the caller's messages it discarded, not ours. */
	ck_assert_uint_eq(haq__sendq_clear(&q), 1);
	ck_assert_uint_eq(q.user_count, 0);
}
END_TEST

/* The queue's entries as a string of their first payload bytes. */
static void
order_of(const struct haq_sendq *q, char *buf)
{
	size_t n = 0;

	for (const struct haq_sendq_entry *e = q->head; e; e = e->next) {
		buf[n++] = (char)haq__sendq_data(e)[0];
		if (!e->next) {
			ck_assert_ptr_eq(e, q->tail);
		}
	}
	buf[n] = '\0';
}

START_TEST(test_urgent_control_goes_first)
{
	struct haq_sendq q = {0};
	struct iovec a = {"a", 1}, b = {"b", 1}, u = {"u", 1}, v = {"v", 1};
	char order[8];

	q.limit = 1 << 20;
	/* Alone in an empty queue. */
	ck_assert_int_eq(haq__sendq_push_urgent(&q, HAQ_WIRE_CONTROL, 1, &u, 1,
						1),
			 0);
	order_of(&q, order);
	ck_assert_str_eq(order, "u");
	haq__sendq_pop(&q);
	ck_assert_ptr_null(q.tail);
	/* Ahead of messages not yet handed over. */
	haq__sendq_push(&q, HAQ_WIRE_DATA, false, 1, &a, 1, 1);
	haq__sendq_push(&q, HAQ_WIRE_DATA, false, 2, &b, 1, 1);
	ck_assert_int_eq(haq__sendq_push_urgent(&q, HAQ_WIRE_CONTROL, 3, &u, 1,
						1),
			 0);
	order_of(&q, order);
	ck_assert_str_eq(order, "uab");
	ck_assert_uint_eq(q.count, 3);
	ck_assert_uint_eq(q.user_count, 2);
	/* Behind a message partly handed over, never inside it. */
	haq__sendq_pop(&q);
	q.head->sent = 1;
	ck_assert_int_eq(haq__sendq_push_urgent(&q, HAQ_WIRE_CONTROL, 3, &v, 1,
						1),
			 0);
	order_of(&q, order);
	ck_assert_str_eq(order, "avb");
	/* Partly handed and alone: second, and the tail. */
	haq__sendq_pop(&q);
	haq__sendq_pop(&q);
	q.head->sent = 1;
	ck_assert_int_eq(haq__sendq_push_urgent(&q, HAQ_WIRE_CONTROL, 3, &u, 1,
						1),
			 0);
	order_of(&q, order);
	ck_assert_str_eq(order, "bu");
	ck_assert_uint_eq(haq__sendq_clear(&q), 1);
}
END_TEST

/* libhaq's own lent frames: not the caller's, given back once. */
START_TEST(test_lent_control_frames)
{
	struct haq_sendq q = {0};
	static char frame[3000];
	char msg[] = "caller";
	struct iovec iov = {.iov_base = msg, .iov_len = sizeof(msg)};
	int n = 0;

	q.limit = 1u << 20;
	ck_assert_int_eq(haq__sendq_push(&q, HAQ_WIRE_DATA, false, 1, &iov, 1,
					 sizeof(msg)),
			 0);
	ck_assert_int_eq(haq__sendq_push_lent_control(&q, HAQ_WIRE_CONTROL, 2,
						      frame, sizeof(frame),
						      released, &n),
			 0);
	ck_assert(q.tail->control);
	ck_assert_ptr_eq(haq__sendq_data(q.tail), (const uint8_t *)frame);
	ck_assert_uint_eq(q.user_count, 1);
	ck_assert_uint_eq(q.user_bytes, sizeof(msg));
	ck_assert_uint_eq(q.count, 2);
	ck_assert_uint_eq(q.bytes, sizeof(msg) + sizeof(frame));
	/* Clearing gives the frame back and counts only the caller's. */
	ck_assert_uint_eq(haq__sendq_clear(&q), 1);
	ck_assert_int_eq(n, 1);
	ck_assert_uint_eq(q.user_bytes, 0);
	ck_assert_uint_eq(q.bytes, 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sendq");

	ADD_TCASE(s, test_push_copies_and_keeps_order, 5);
	ADD_TCASE(s, test_clear_counts_discarded, 5);
	ADD_TCASE(s, test_empty_iov_entries_are_skipped, 5);
	ADD_TCASE(s, test_freed_blocks_reused_within_limit, 5);
	ADD_TCASE(s, test_big_block_kept_while_empty, 5);
	ADD_TCASE(s, test_borrowed_buffers_given_back_once, 5);
	ADD_TCASE(s, test_control_frames_not_counted_as_callers, 5);
	ADD_TCASE(s, test_urgent_control_goes_first, 5);
	ADD_TCASE(s, test_lent_control_frames, 5);
	return run_suite(s);
}
