/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the error mapping and messages (libhaq/error.c). */
#include "check_common.h"
#include "haq-int.h"

START_TEST(test_every_cs_error_maps_to_negative_errno)
{
	/* CS_OK is 1 in corosync: it must never leak out as a value. */
	ck_assert_int_eq(haq__cs_to_errno(CS_OK), 0);
	for (int e = CS_ERR_LIBRARY; e <= CS_ERR_SECURITY; e++) {
		int rc = haq__cs_to_errno((cs_error_t)e);

		ck_assert_msg(rc < 0, "cs_error %d mapped to %d", e, rc);
		ck_assert_str_ne(haq_strerror(rc), "unknown error");
	}
}
END_TEST

START_TEST(test_specific_mappings)
{
	ck_assert_int_eq(haq__cs_to_errno(CS_ERR_TRY_AGAIN), -EAGAIN);
	ck_assert_int_eq(haq__cs_to_errno(CS_ERR_LIBRARY), -ENOTCONN);
	ck_assert_int_eq(haq__cs_to_errno(CS_ERR_ACCESS), -EACCES);
	ck_assert_int_eq(haq__cs_to_errno(CS_ERR_SECURITY), -EACCES);
	ck_assert_int_eq(haq__cs_to_errno(CS_ERR_EXIST), -EEXIST);
	ck_assert_int_eq(haq__cs_to_errno(CS_ERR_TOO_BIG), -EMSGSIZE);
	ck_assert_int_eq(haq__cs_to_errno(CS_ERR_NOT_EXIST), -ENOENT);
	ck_assert_int_eq(haq__cs_to_errno((cs_error_t)999), -EIO);
}
END_TEST

START_TEST(test_messages_say_what_to_do)
{
	ck_assert_ptr_nonnull(strstr(haq_strerror(-ECONNREFUSED),
				     "corosync is not running"));
	ck_assert_ptr_nonnull(strstr(haq_strerror(-EACCES), "uidgid.d"));
	ck_assert_ptr_nonnull(strstr(haq_strerror(-ENOBUFS), "writable"));
	/* A positive value is read as its negation. */
	ck_assert_str_eq(haq_strerror(EACCES), haq_strerror(-EACCES));
	ck_assert_str_eq(haq_strerror(0), "success");
	/* The statuses of the lock callback (haq_lock_fn). */
	ck_assert_ptr_nonnull(strstr(haq_strerror(-ENOLCK), "quorum"));
	ck_assert_ptr_nonnull(strstr(haq_strerror(-ETIME), "lease"));
	ck_assert_str_eq(haq_strerror(-123456), "unknown error");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("error");

	ADD_TCASE(s, test_every_cs_error_maps_to_negative_errno, 5);
	ADD_TCASE(s, test_specific_mappings, 5);
	ADD_TCASE(s, test_messages_say_what_to_do, 5);
	return run_suite(s);
}
