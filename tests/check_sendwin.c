/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the send-window rules (libhaq/sendwin.c). */
#include "check_common.h"
#include "sendwin.h"

#include <stdint.h>

START_TEST(test_admit)
{
	/* An empty queue takes anything; the limit bounds memory held. */
	ck_assert(haq__sendwin_admit(0, 0, 1000, 10));
	ck_assert(haq__sendwin_admit(1, 10, 90, 100));
	ck_assert(!haq__sendwin_admit(1, 10, 91, 100));
	/* Above the limit already (it was lowered): nothing more. */
	ck_assert(!haq__sendwin_admit(3, 200, 1, 100));
	/* No wrap-around with huge footprints. */
	ck_assert(!haq__sendwin_admit(1, 10, SIZE_MAX, 100));
}
END_TEST

START_TEST(test_writable_hysteresis)
{
	ck_assert(haq__sendwin_writable(50, 100));
	ck_assert(!haq__sendwin_writable(51, 100));
	ck_assert(haq__sendwin_writable(0, 1));
}
END_TEST

START_TEST(test_fragment_window)
{
	ck_assert(haq__sendwin_frag_may_send(0, 0, 10));
	ck_assert(haq__sendwin_frag_may_send(9, 0, 10));
	ck_assert(!haq__sendwin_frag_may_send(10, 0, 10));
	ck_assert(haq__sendwin_frag_may_send(25, 16, 10));
	ck_assert(!haq__sendwin_frag_may_send(26, 16, 10));
	/* More back than sent (a resend of a cut message): go on. */
	ck_assert(haq__sendwin_frag_may_send(5, 40, 10));
}
END_TEST

START_TEST(test_backoff)
{
	uint64_t d = 0;

	d = haq__sendwin_backoff(d, 1000, 50000);
	ck_assert_uint_eq(d, 1000);
	d = haq__sendwin_backoff(d, 1000, 50000);
	ck_assert_uint_eq(d, 2000);
	for (int i = 0; i < 10; i++) {
		d = haq__sendwin_backoff(d, 1000, 50000);
		ck_assert_uint_le(d, 50000);
	}
	ck_assert_uint_eq(d, 50000);
	ck_assert_uint_eq(haq__sendwin_backoff(UINT64_MAX, 1, 50000), 50000);
}
END_TEST

START_TEST(test_retry_on_own_frames)
{
	uint64_t d = 0;

	/* Nothing of ours out: min, then doubling up to max. */
	ck_assert_uint_eq(haq__sendwin_retry(&d, false, 1000, 50000), 1000);
	ck_assert_uint_eq(haq__sendwin_retry(&d, false, 1000, 50000), 2000);
	ck_assert_uint_eq(haq__sendwin_retry(&d, false, 1000, 50000), 4000);
	/*
	 * Frames of ours out: their return retries; the timer is a fallback
	 * at max and does not grow the backoff...
	 */
	ck_assert_uint_eq(haq__sendwin_retry(&d, true, 1000, 50000), 50000);
	ck_assert_uint_eq(haq__sendwin_retry(&d, true, 1000, 50000), 50000);
	/* ...which starts over once they are back and still refused. */
	ck_assert_uint_eq(haq__sendwin_retry(&d, false, 1000, 50000), 1000);
	ck_assert_uint_eq(d, 1000);
	/* Many refusals in a row with nothing out: never above max. */
	for (int i = 0; i < 100; i++) {
		ck_assert_uint_le(haq__sendwin_retry(&d, false, 1000, 50000),
				  50000);
	}
	ck_assert_uint_eq(d, 50000);
	ck_assert_uint_eq(haq__sendwin_retry(&d, true, 1000, 50000), 50000);
	ck_assert_uint_eq(d, 0);
}
END_TEST

START_TEST(test_flush_yield)
{
	ck_assert(!haq__sendwin_flush_yield(0, 0));
	ck_assert(haq__sendwin_flush_yield(HAQ_FLUSH_BUDGET, 0));
	ck_assert(haq__sendwin_flush_yield(1, HAQ_FLUSH_BYTES));
	ck_assert(!haq__sendwin_flush_yield(HAQ_FLUSH_BUDGET - 1,
					    HAQ_FLUSH_BYTES - 1));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sendwin");

	ADD_TCASE(s, test_admit, 5);
	ADD_TCASE(s, test_writable_hysteresis, 5);
	ADD_TCASE(s, test_fragment_window, 5);
	ADD_TCASE(s, test_backoff, 5);
	ADD_TCASE(s, test_retry_on_own_frames, 5);
	ADD_TCASE(s, test_flush_yield, 5);
	return run_suite(s);
}
