/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the request/reply bookkeeping (libhaq/rr.c): the codecs of
 * its frames, a request's answers by mode (responders replying, failing,
 * leaving; joiners ignored), and the table of requests a member answers.
 */
#include "check_common.h"
#include "rr.h"

#include <errno.h>

static const struct haq_memb three[] = {{1, 100, 0}, {2, 200, 0}, {3, 300, 0}};
static const struct haq_memb one_two[] = {{1, 100, 0}, {2, 200, 0}};
static const struct haq_memb one[] = {{1, 100, 0}};
static const struct haq_memb five[] = {
	{1, 100, 0}, {2, 200, 0}, {3, 300, 0}, {4, 400, 0}, {5, 500, 0}};

START_TEST(test_request_codec)
{
	uint8_t buf[HAQ_RR_REQUEST_HDR + 3];
	struct haq_rr_request r;

	haq__rr_encode_request(buf, HAQ_RR_MAJORITY, 0x1122334455667788ull);
	memcpy(buf + HAQ_RR_REQUEST_HDR, "abc", 3);
	ck_assert_int_eq(buf[0], HAQ_CONTROL_RR_REQUEST);
	ck_assert_int_eq(haq__rr_decode_request(buf, sizeof(buf), &r), 0);
	ck_assert_int_eq(r.mode, HAQ_RR_MAJORITY);
	ck_assert_uint_eq(r.id, 0x1122334455667788ull);
	ck_assert_uint_eq(r.len, 3);
	ck_assert_ptr_eq(r.data, buf + HAQ_RR_REQUEST_HDR);
	/* No data is fine. */
	ck_assert_int_eq(haq__rr_decode_request(buf, HAQ_RR_REQUEST_HDR, &r),
			 0);
	ck_assert_uint_eq(r.len, 0);
	/* Short, unknown mode, reserved bytes, id 0, another type. */
	ck_assert_int_eq(
		haq__rr_decode_request(buf, HAQ_RR_REQUEST_HDR - 1, &r),
		-EBADMSG);
	buf[1] = HAQ_RR_MAJORITY + 1;
	ck_assert_int_eq(haq__rr_decode_request(buf, sizeof(buf), &r),
			 -EBADMSG);
	for (int i = 2; i < 8; i++) {
		haq__rr_encode_request(buf, HAQ_RR_ALL, 5);
		buf[i] = 1;
		ck_assert_int_eq(haq__rr_decode_request(buf, sizeof(buf), &r),
				 -EBADMSG);
	}
	haq__rr_encode_request(buf, HAQ_RR_ALL, 0);
	ck_assert_int_eq(haq__rr_decode_request(buf, sizeof(buf), &r),
			 -EBADMSG);
	haq__rr_encode_request(buf, HAQ_RR_ALL, 1);
	buf[0] = HAQ_CONTROL_RR_REPLY;
	ck_assert_int_eq(haq__rr_decode_request(buf, sizeof(buf), &r),
			 -EBADMSG);
}
END_TEST

START_TEST(test_reply_codec)
{
	uint8_t buf[HAQ_RR_REPLY_HDR + 2];
	struct haq_rr_reply r;

	haq__rr_encode_reply(buf, -EPERM, 7, 4242, 9);
	memcpy(buf + HAQ_RR_REPLY_HDR, "ok", 2);
	ck_assert_int_eq(haq__rr_decode_reply(buf, sizeof(buf), &r), 0);
	ck_assert_int_eq(r.status, -EPERM);
	ck_assert_uint_eq(r.nodeid, 7);
	ck_assert_uint_eq(r.pid, 4242);
	ck_assert_uint_eq(r.id, 9);
	ck_assert_uint_eq(r.len, 2);
	/* Addressed: decided from 16 bytes. */
	ck_assert_int_eq(haq__rr_reply_for(buf, 16, 7, 4242), 1);
	ck_assert_int_eq(haq__rr_reply_for(buf, 16, 7, 4243), 0);
	ck_assert_int_eq(haq__rr_reply_for(buf, 16, 8, 4242), 0);
	ck_assert_int_eq(haq__rr_reply_for(buf, 15, 7, 4242), -EBADMSG);
	/* Short, positive or huge status, reserved bytes, id 0. */
	ck_assert_int_eq(haq__rr_decode_reply(buf, HAQ_RR_REPLY_HDR - 1, &r),
			 -EBADMSG);
	haq__rr_encode_reply(buf, 1, 7, 4242, 9);
	ck_assert_int_eq(haq__rr_decode_reply(buf, sizeof(buf), &r), -EBADMSG);
	haq__rr_encode_reply(buf, -4096, 7, 4242, 9);
	ck_assert_int_eq(haq__rr_decode_reply(buf, sizeof(buf), &r), -EBADMSG);
	haq__rr_encode_reply(buf, -4095, 7, 4242, 9);
	ck_assert_int_eq(haq__rr_decode_reply(buf, sizeof(buf), &r), 0);
	for (int i = 1; i < 4; i++) {
		haq__rr_encode_reply(buf, 0, 7, 4242, 9);
		buf[i] = 1;
		ck_assert_int_eq(haq__rr_decode_reply(buf, sizeof(buf), &r),
				 -EBADMSG);
	}
	haq__rr_encode_reply(buf, 0, 7, 4242, 0);
	ck_assert_int_eq(haq__rr_decode_reply(buf, sizeof(buf), &r), -EBADMSG);
}
END_TEST

START_TEST(test_cancel_codec)
{
	uint8_t buf[HAQ_RR_CANCEL_LEN + 1];
	uint64_t id = 0;

	haq__rr_encode_cancel(buf, 77);
	ck_assert_int_eq(haq__rr_decode_cancel(buf, HAQ_RR_CANCEL_LEN, &id), 0);
	ck_assert_uint_eq(id, 77);
	ck_assert_int_eq(haq__rr_decode_cancel(buf, HAQ_RR_CANCEL_LEN + 1, &id),
			 -EBADMSG);
	ck_assert_int_eq(haq__rr_decode_cancel(buf, HAQ_RR_CANCEL_LEN - 1, &id),
			 -EBADMSG);
	for (int i = 1; i < 8; i++) {
		haq__rr_encode_cancel(buf, 77);
		buf[i] = 1;
		ck_assert_int_eq(
			haq__rr_decode_cancel(buf, HAQ_RR_CANCEL_LEN, &id),
			-EBADMSG);
	}
	haq__rr_encode_cancel(buf, 0);
	ck_assert_int_eq(haq__rr_decode_cancel(buf, HAQ_RR_CANCEL_LEN, &id),
			 -EBADMSG);
}
END_TEST

static int
complete(const struct haq_rr_out *o)
{
	int result = 1;

	if (!haq__rr_out_complete(o, &result)) {
		return 1; /* not complete */
	}
	return result;
}

START_TEST(test_first_reply)
{
	struct haq_rr_out o;

	haq__rr_out_init(&o, HAQ_RR_FIRST, 1);
	/* Nothing before the request came back. */
	ck_assert_int_eq(haq__rr_out_reply(&o, 1, 100, 0), -ENOENT);
	ck_assert_int_eq(complete(&o), 1);
	ck_assert_int_eq(haq__rr_out_delivered(&o, three, 3), 0);
	ck_assert_int_eq(haq__rr_out_delivered(&o, three, 3), -EALREADY);
	ck_assert_int_eq(complete(&o), 1);
	/* An error reply does not complete a first-reply request. */
	ck_assert_int_eq(haq__rr_out_reply(&o, 2, 200, -EIO), 0);
	ck_assert_int_eq(complete(&o), 1);
	ck_assert_int_eq(haq__rr_out_reply(&o, 2, 200, 0), -EALREADY);
	ck_assert_int_eq(haq__rr_out_reply(&o, 3, 300, 0), 0);
	ck_assert_int_eq(complete(&o), 0);
	haq__rr_out_free(&o);

	/* Every responder failed or left: it can no longer complete. */
	haq__rr_out_init(&o, HAQ_RR_FIRST, 2);
	ck_assert_int_eq(haq__rr_out_delivered(&o, three, 3), 0);
	ck_assert_int_eq(haq__rr_out_reply(&o, 1, 100, -EIO), 0);
	ck_assert_int_eq(haq__rr_out_reply(&o, 3, 300, -EIO), 0);
	ck_assert_int_eq(complete(&o), 1);
	{
		uint32_t n, p;

		ck_assert_int_eq(
			haq__rr_out_next_leaver(&o, one_two, 2, &n, &p), 0);
		ck_assert_int_eq(haq__rr_out_next_leaver(&o, one, 1, &n, &p),
				 1);
		ck_assert_uint_eq(n, 2);
		ck_assert_uint_eq(p, 200);
	}
	ck_assert_int_eq(complete(&o), -EREMOTEIO);
	haq__rr_out_free(&o);
}
END_TEST

START_TEST(test_all_replies_with_leavers_and_joiners)
{
	struct haq_rr_out o;
	uint32_t n, p;

	haq__rr_out_init(&o, HAQ_RR_ALL, 3);
	ck_assert_int_eq(haq__rr_out_delivered(&o, one_two, 2), 0);
	/* A joiner's reply is not waited for, nor taken. */
	ck_assert_int_eq(haq__rr_out_reply(&o, 3, 300, 0), -ENOENT);
	ck_assert_int_eq(haq__rr_out_reply(&o, 1, 100, 0), 0);
	ck_assert_int_eq(complete(&o), 1);
	/* A view with the joiner and without 2: 2 left, marked once. */
	{
		static const struct haq_memb v[] = {{1, 100, 0}, {3, 300, 0}};

		ck_assert_int_eq(haq__rr_out_next_leaver(&o, v, 2, &n, &p), 1);
		ck_assert_uint_eq(n, 2);
		ck_assert_int_eq(haq__rr_out_next_leaver(&o, v, 2, &n, &p), 0);
	}
	ck_assert_int_eq(complete(&o), 0);
	ck_assert_uint_eq(o.left, 1);
	ck_assert_uint_eq(o.ok, 1);
	/* Its reply after it left is refused. */
	ck_assert_int_eq(haq__rr_out_reply(&o, 2, 200, 0), -EALREADY);
	haq__rr_out_free(&o);

	/* A responder that answered and then left is not a leaver. */
	haq__rr_out_init(&o, HAQ_RR_ALL, 4);
	ck_assert_int_eq(haq__rr_out_delivered(&o, three, 3), 0);
	ck_assert_int_eq(haq__rr_out_reply(&o, 3, 300, -EIO), 0);
	ck_assert_int_eq(haq__rr_out_next_leaver(&o, one, 1, &n, &p), 1);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(haq__rr_out_next_leaver(&o, one, 1, &n, &p), 0);
	ck_assert_int_eq(complete(&o), 1);
	ck_assert_int_eq(haq__rr_out_reply(&o, 1, 100, 0), 0);
	ck_assert_int_eq(complete(&o), 0);
	haq__rr_out_free(&o);
}
END_TEST

START_TEST(test_majority)
{
	struct haq_rr_out o;
	uint32_t n, p;

	/* 5 responders: 3 successes are needed. */
	haq__rr_out_init(&o, HAQ_RR_MAJORITY, 5);
	ck_assert_int_eq(haq__rr_out_delivered(&o, five, 5), 0);
	ck_assert_int_eq(haq__rr_out_reply(&o, 1, 100, 0), 0);
	ck_assert_int_eq(haq__rr_out_reply(&o, 2, 200, 0), 0);
	ck_assert_int_eq(complete(&o), 1);
	ck_assert_int_eq(haq__rr_out_reply(&o, 5, 500, 0), 0);
	ck_assert_int_eq(complete(&o), 0);
	haq__rr_out_free(&o);

	/* 2 failed, 1 left: 2 left to answer cannot make 3. */
	haq__rr_out_init(&o, HAQ_RR_MAJORITY, 6);
	ck_assert_int_eq(haq__rr_out_delivered(&o, five, 5), 0);
	ck_assert_int_eq(haq__rr_out_reply(&o, 1, 100, -EIO), 0);
	ck_assert_int_eq(haq__rr_out_reply(&o, 2, 200, -EIO), 0);
	ck_assert_int_eq(complete(&o), 1);
	ck_assert_int_eq(haq__rr_out_next_leaver(&o, three, 3, &n, &p), 1);
	ck_assert_uint_eq(n, 4);
	ck_assert_int_eq(complete(&o), -EREMOTEIO);
	haq__rr_out_free(&o);

	/* 2 responders: both are needed. */
	haq__rr_out_init(&o, HAQ_RR_MAJORITY, 7);
	ck_assert_int_eq(haq__rr_out_delivered(&o, one_two, 2), 0);
	ck_assert_int_eq(haq__rr_out_reply(&o, 2, 200, 0), 0);
	ck_assert_int_eq(complete(&o), 1);
	ck_assert_int_eq(haq__rr_out_reply(&o, 1, 100, 0), 0);
	ck_assert_int_eq(complete(&o), 0);
	haq__rr_out_free(&o);
}
END_TEST

START_TEST(test_none_completes_at_delivery)
{
	struct haq_rr_out o;

	haq__rr_out_init(&o, HAQ_RR_NONE, 8);
	ck_assert_int_eq(complete(&o), 1);
	ck_assert_int_eq(haq__rr_out_delivered(&o, three, 3), 0);
	ck_assert_int_eq(complete(&o), 0);
	haq__rr_out_free(&o);
}
END_TEST

START_TEST(test_responder_table)
{
	struct haq_rr_table t;
	const struct haq_rr_in *e;
	uint64_t h1, h2, h3, h;
	int err = 0;

	haq__rr_table_init(&t);
	ck_assert_ptr_null(haq__rr_in_find(&t, 1, &err));
	ck_assert_int_eq(err, -ENOENT);
	h1 = haq__rr_in_add(&t, 1, 100, 5);
	h2 = haq__rr_in_add(&t, 2, 200, 5);
	h3 = haq__rr_in_add(&t, 1, 100, 6);
	ck_assert_uint_eq(h1, 1);
	ck_assert(h1 < h2 && h2 < h3);
	e = haq__rr_in_find(&t, h2, &err);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->nodeid, 2);
	ck_assert_uint_eq(e->id, 5);
	ck_assert_uint_eq(haq__rr_in_lookup(&t, 1, 100, 6), h3);
	ck_assert_uint_eq(haq__rr_in_lookup(&t, 1, 100, 7), 0);
	ck_assert_uint_eq(haq__rr_in_lookup(&t, 3, 100, 5), 0);
	/* Answered, then answered again. */
	haq__rr_in_remove(&t, h2, -EALREADY);
	ck_assert_ptr_null(haq__rr_in_find(&t, h2, &err));
	ck_assert_int_eq(err, -EALREADY);
	/* Cancelled. */
	haq__rr_in_remove(&t, h3, -ECANCELED);
	ck_assert_ptr_null(haq__rr_in_find(&t, h3, &err));
	ck_assert_int_eq(err, -ECANCELED);
	ck_assert_ptr_null(haq__rr_in_find(&t, h3 + 1, &err));
	ck_assert_int_eq(err, -ENOENT);
	ck_assert_ptr_null(haq__rr_in_find(&t, 0, &err));
	ck_assert_int_eq(err, -ENOENT);
	/* The requester left: its requests are withdrawn. */
	h2 = haq__rr_in_add(&t, 2, 200, 9);
	ck_assert_int_eq(haq__rr_in_next_orphan(&t, one_two, 2, &h), 0);
	ck_assert_int_eq(haq__rr_in_next_orphan(&t, one, 1, &h), 1);
	ck_assert_uint_eq(h, h2);
	ck_assert_int_eq(haq__rr_in_next_orphan(&t, one, 1, &h), 0);
	ck_assert_ptr_null(haq__rr_in_find(&t, h2, &err));
	ck_assert_int_eq(err, -ECANCELED);
	ck_assert_ptr_nonnull(haq__rr_in_find(&t, h1, &err));
	/* n 0: every request. */
	ck_assert_int_eq(haq__rr_in_next_orphan(&t, NULL, 0, &h), 1);
	ck_assert_uint_eq(h, h1);
	ck_assert_uint_eq(t.n, 0);
	haq__rr_table_free(&t);
}
END_TEST

START_TEST(test_responder_table_many)
{
	struct haq_rr_table t;
	int err = 0;

	haq__rr_table_init(&t);
	for (uint64_t i = 1; i <= 1000; i++) {
		ck_assert_uint_eq(haq__rr_in_add(&t, 1, 1, i), i);
	}
	/* Out of order answers keep the rest findable. */
	for (uint64_t i = 1; i <= 1000; i += 2) {
		haq__rr_in_remove(&t, i, -EALREADY);
	}
	for (uint64_t i = 2; i <= 1000; i += 2) {
		ck_assert_ptr_nonnull(haq__rr_in_find(&t, i, &err));
	}
	/* Long forgotten: still "not pending", never "unknown". */
	ck_assert_ptr_null(haq__rr_in_find(&t, 1, &err));
	ck_assert_int_eq(err, -EALREADY);
	ck_assert_uint_eq(t.n, 500);
	haq__rr_table_free(&t);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("rr");

	ADD_TCASE(s, test_request_codec, 5);
	ADD_TCASE(s, test_reply_codec, 5);
	ADD_TCASE(s, test_cancel_codec, 5);
	ADD_TCASE(s, test_first_reply, 5);
	ADD_TCASE(s, test_all_replies_with_leavers_and_joiners, 5);
	ADD_TCASE(s, test_majority, 5);
	ADD_TCASE(s, test_none_completes_at_delivery, 5);
	ADD_TCASE(s, test_responder_table, 5);
	ADD_TCASE(s, test_responder_table_many, 5);
	return run_suite(s);
}
