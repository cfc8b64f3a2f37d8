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
#include <corosync/votequorum.h>

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
	/*
	 * Anywhere in the payload: a bundle that carries the message is
	 * refused too (then libhaq sends each of its messages alone).
	 */
	if (refuse_armed && iov_len >= 2 &&
	    memmem(iovec[1].iov_base, iovec[1].iov_len, REFUSE_MARK,
		   strlen(REFUSE_MARK))) {
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

/*
 * votequorum's callbacks of the one context created while vq_wrap_next is
 * set go through the wrappers below, which can drop the quorum verdict of
 * a ring in which this node is alone (as when corosync forms a ring alone
 * and is merged again before votequorum speaks of it).
 */
static bool vq_wrap_next;
static bool vq_drop_alone;
static int vq_dropped;
static uint32_t vq_last_nodes;
static votequorum_callbacks_t vq_real;

static void
wrap_quorum(votequorum_handle_t h, uint64_t context, uint32_t quorate,
	    uint32_t n, votequorum_node_t nodes[])
{
	if (vq_drop_alone && vq_last_nodes == 1 && !quorate) {
		vq_dropped++;
		return;
	}
	vq_real.votequorum_quorum_notify_fn(h, context, quorate, n, nodes);
}

static void
wrap_nodelist(votequorum_handle_t h, uint64_t context,
	      votequorum_ring_id_t ring_id, uint32_t n, uint32_t nodes[])
{
	vq_last_nodes = n;
	vq_real.votequorum_nodelist_notify_fn(h, context, ring_id, n, nodes);
}

cs_error_t
votequorum_initialize(votequorum_handle_t *handle,
		      votequorum_callbacks_t *callbacks)
{
	static cs_error_t (*real)(votequorum_handle_t *,
				  votequorum_callbacks_t *);
	votequorum_callbacks_t wrapped;

	if (!real) {
		real = dlsym(RTLD_NEXT, "votequorum_initialize");
	}
	if (!vq_wrap_next) {
		return real(handle, callbacks);
	}
	vq_wrap_next = false;
	vq_real = *callbacks;
	wrapped = *callbacks;
	wrapped.votequorum_quorum_notify_fn = wrap_quorum;
	wrapped.votequorum_nodelist_notify_fn = wrap_nodelist;
	return real(handle, &wrapped);
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

struct racer {
	uint64_t ring;
	uint64_t ring_before;
	size_t members;
	int alone_quorate_views;
	int alone_leader_claims;
	int forced;
	uint32_t leader;
};

static void
racer_view(haq_group_t *g, const haq_view_t *v, void *ud)
{
	struct racer *r = ud;

	r->members = haq_view_member_count(v);
	haq_view_ring(v, NULL, &r->ring);
	if (r->members == 1 && haq_view_quorate(v) == 1) {
		r->alone_quorate_views++;
	}
}

static void
racer_leader(haq_group_t *g, int is_leader, uint64_t epoch, uint32_t nodeid,
	     uint32_t pid, void *ud)
{
	struct racer *r = ud;

	r->leader = nodeid;
	if (is_leader && r->members == 1) {
		r->alone_leader_claims++;
	}
}

static void
racer_log(haq_ctx_t *ctx, int priority, const char *msg, void *ud)
{
	if (strstr(msg, "no quorum state for ring")) {
		((struct racer *)ud)->forced++;
	}
}

static bool
racer_alone(void *arg)
{
	return vq_dropped > 0;
}

static bool
racer_merged(void *arg)
{
	struct racer *r = arg;

	return r->members == 3 && r->leader == 1 && r->ring > r->ring_before;
}

/*
 * The race seen on a real cluster (a leader's link flapping): node 3 forms
 * a ring alone and is merged again before votequorum gives that ring's
 * verdict; its view of the lone ring must not take the merged ring's
 * "quorate", so it never names itself leader of a group of one. Staged
 * here by dropping the lone ring's verdict and healing at once.
 */
START_TEST(test_lone_ring_never_takes_a_later_verdict)
{
	struct racer r = {0};
	haq_ctx_t *ctx[3];
	haq_group_t *g[3];
	char name[64];

	unique_group(name, sizeof(name), "race");
	for (int i = 0; i < 3; i++) {
		cluster_enter_node(i + 1);
		vq_wrap_next = i == 2;
		ck_assert_int_eq(haq_ctx_new(&ctx[i], NULL), 0);
		ck_assert_int_eq(haq_group_join(ctx[i], name, &g[i]), 0);
	}
	haq_ctx_set_log(ctx[2], racer_log, &r);
	haq_group_set_view_cb(g[2], racer_view, &r);
	haq_group_set_leader_cb(g[2], racer_leader, &r);
	ck_assert(pump_until(ctx, 3, 15000, racer_merged, &r));
	/* Settle: every callback of the first view has run. */
	(void)pump_until(ctx, 3, 1000, NULL, NULL);
	r.ring_before = r.ring;
	vq_drop_alone = true;
	ck_assert_int_eq(cluster_cmd("isolate 3"), 0);
	ck_assert_msg(pump_until(ctx, 3, 20000, racer_alone, &r),
		      "node 3 never formed a ring alone");
	ck_assert_int_eq(cluster_cmd("heal 3"), 0);
	ck_assert_msg(pump_until(ctx, 3, 30000, racer_merged, &r),
		      "no merge: members %zu leader %u", r.members, r.leader);
	vq_drop_alone = false;
	/* The race was staged: the lone view waited for the merged verdict. */
	ck_assert_msg(r.forced == 0,
		      "the merge came after the hold ran out: not staged");
	ck_assert_int_eq(r.alone_quorate_views, 0);
	ck_assert_int_eq(r.alone_leader_claims, 0);
	for (int i = 0; i < 3; i++) {
		haq_ctx_free(ctx[i]);
	}
}
END_TEST

static void
heal_all(void)
{
	cluster_cmd("heal 3");
	cluster_cmd("wait-members 1 3 30");
}

int
main(void)
{
	Suite *s = suite_create("inject");

	ADD_TCASE(s, test_refused_message_reported, 60);
	ADD_TCASE(s, test_unconfirmed_join_redone, 90);
	ADD_TCASE(s, test_run_reports_poll_failure, 30);
	{
		TCase *tc = tcase_create("test_lone_ring_never_takes_a_later_verdict");

		tcase_add_unchecked_fixture(tc, NULL, heal_all);
		add_tcase(s, tc, test_lone_ring_never_takes_a_later_verdict,
			  120);
	}
	return run_suite(s);
}
