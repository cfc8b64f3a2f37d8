/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Faults corosync and the kernel rarely give on demand, injected on a real
 * cluster: this program defines cpg_mcast_joined(), cpg_join() and poll()
 * itself, so libhaq's calls reach these first (the executable comes first
 * in symbol lookup); each passes through to the real one unless a test
 * arms it.
 */
#include "check_common.h"

#include <dlfcn.h>
#include <stdint.h>

#include <corosync/cpg.h>

/* A message whose payload starts so is refused for good when armed. */
#define REFUSE_MARK "REFUSE"

static bool refuse_armed;
static int joins_to_drop;
static bool poll_fail_armed;

cs_error_t
cpg_mcast_joined(cpg_handle_t handle, cpg_guarantee_t guarantee,
		 const struct iovec *iovec, unsigned int iov_len)
{
	static cs_error_t (*real)(cpg_handle_t, cpg_guarantee_t,
				  const struct iovec *, unsigned int);

	if (!real) {
		real = dlsym(RTLD_NEXT, "cpg_mcast_joined");
	}
	if (refuse_armed && iov_len >= 2 &&
	    iovec[1].iov_len >= strlen(REFUSE_MARK) &&
	    memcmp(iovec[1].iov_base, REFUSE_MARK, strlen(REFUSE_MARK)) ==
		    0) {
		return CS_ERR_INVALID_PARAM;
	}
	return real(handle, guarantee, iovec, iov_len);
}

cs_error_t
cpg_join(cpg_handle_t handle, const struct cpg_name *group)
{
	static cs_error_t (*real)(cpg_handle_t, const struct cpg_name *);

	if (!real) {
		real = dlsym(RTLD_NEXT, "cpg_join");
	}
	if (joins_to_drop > 0) {
		/* Taken, never done: as when corosync keeps a ghost member. */
		joins_to_drop--;
		return CS_OK;
	}
	return real(handle, group);
}

int
poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	static int (*real)(struct pollfd *, nfds_t, int);

	if (!real) {
		real = dlsym(RTLD_NEXT, "poll");
	}
	if (poll_fail_armed && nfds == 1 && timeout == -1) {
		poll_fail_armed = false;
		errno = ENOMEM;
		return -1;
	}
	return real(fds, nfds, timeout);
}

struct probe {
	size_t members;
	char got[16][16];
	int ngot;
	int failed_calls;
	uint64_t failed_first;
	uint64_t failed_last;
	int failed_error;
};

static void
on_view(haq_group_t *g, const haq_view_t *v, void *ud)
{
	((struct probe *)ud)->members = haq_view_member_count(v);
}

static void
on_message(haq_group_t *g, uint32_t nodeid, uint32_t pid, const void *data,
	   size_t len, void *ud)
{
	struct probe *p = ud;

	if (p->ngot < 16 && len < 16) {
		memcpy(p->got[p->ngot], data, len);
		p->got[p->ngot][len] = '\0';
		p->ngot++;
	}
}

static void
on_failed(haq_group_t *g, uint64_t first, uint64_t last, int error, void *ud)
{
	struct probe *p = ud;

	p->failed_calls++;
	p->failed_first = first;
	p->failed_last = last;
	p->failed_error = error;
}

static bool
two_and_failed(void *arg)
{
	struct probe *p = arg;

	return p->ngot >= 2 && p->failed_calls >= 1;
}

/*
 * A queued message corosync refuses for good is reported to the sender
 * through the send-failed callback (with its id and the error), from
 * dispatch; the messages around it go on in order.
 */
START_TEST(test_refused_message_reported)
{
	struct probe p = {0};
	haq_ctx_t *ctx;
	haq_group_t *g;
	char name[64];

	cluster_enter_node(1);
	unique_group(name, sizeof(name), "refused");
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	ck_assert_int_eq(haq_group_join(ctx, name, &g), 0);
	haq_group_set_view_cb(g, on_view, &p);
	haq_group_set_message_cb(g, on_message, &p);
	ck_assert_int_eq(haq_group_set_send_failed_cb(g, on_failed, &p), 0);
	refuse_armed = true;
	/* Before the join is confirmed: all three wait in the queue. */
	ck_assert_int_eq(haq_group_send(g, "first", 5), 0);
	ck_assert_int_eq(haq_group_send(g, REFUSE_MARK "!", 7), 0);
	ck_assert_int_eq(haq_group_send(g, "third", 5), 0);
	ck_assert_msg(pump_until(&ctx, 1, 10000, two_and_failed, &p),
		      "delivered %d, failed calls %d", p.ngot, p.failed_calls);
	refuse_armed = false;
	ck_assert_str_eq(p.got[0], "first");
	ck_assert_str_eq(p.got[1], "third");
	ck_assert_int_eq(p.failed_calls, 1);
	ck_assert_uint_eq(p.failed_first, 2);
	ck_assert_uint_eq(p.failed_last, 2);
	ck_assert_int_eq(p.failed_error, -EINVAL);
	/* The fast path refuses in the call itself. */
	refuse_armed = true;
	ck_assert_int_eq(haq_group_send(g, REFUSE_MARK, 6), -EINVAL);
	refuse_armed = false;
	haq_ctx_free(ctx);
}
END_TEST

static bool
one_delivered(void *arg)
{
	return ((struct probe *)arg)->ngot >= 1;
}

/*
 * A join corosync takes but never confirms is noticed within a bound,
 * counted, and done again on a fresh handle: the message accepted
 * meanwhile is delivered, not left queued forever.
 */
START_TEST(test_unconfirmed_join_redone)
{
	struct probe p = {0};
	haq_ctx_t *ctx;
	haq_group_t *g;
	char name[64];
	uint64_t retries = 0;

	cluster_enter_node(2);
	unique_group(name, sizeof(name), "ghost");
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	joins_to_drop = 1;
	ck_assert_int_eq(haq_group_join(ctx, name, &g), 0);
	haq_group_set_view_cb(g, on_view, &p);
	haq_group_set_message_cb(g, on_message, &p);
	ck_assert_int_eq(haq_group_send(g, "kept", 4), 0);
	ck_assert_msg(pump_until(&ctx, 1, 40000, one_delivered, &p),
		      "the message waits since an unconfirmed join");
	ck_assert_str_eq(p.got[0], "kept");
	ck_assert_int_eq(haq_group_counter(g, HAQ_COUNTER_JOIN_RETRIES,
					   &retries),
			 0);
	ck_assert_uint_eq(retries, 1);
	ck_assert_uint_eq(p.members, 1);
	haq_ctx_free(ctx);
}
END_TEST

/* haq_ctx_run() says why its poll() failed instead of returning 0. */
START_TEST(test_run_reports_poll_failure)
{
	haq_ctx_t *ctx;

	cluster_enter_node(3);
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	poll_fail_armed = true;
	ck_assert_int_eq(haq_ctx_run(ctx), -ENOMEM);
	ck_assert(!poll_fail_armed);
	haq_ctx_free(ctx);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("inject");

	ADD_TCASE(s, test_refused_message_reported, 60);
	ADD_TCASE(s, test_unconfirmed_join_redone, 90);
	ADD_TCASE(s, test_run_reports_poll_failure, 30);
	return run_suite(s);
}
