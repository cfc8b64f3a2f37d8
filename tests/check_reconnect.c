/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * corosync restarting under a live process (on a 3-node cluster of this
 * test's own): a disconnect event, not a crash; reconnect with backoff,
 * rejoin, a fresh view; messages queued meanwhile are sent after the
 * rejoin; messages of unknown fate are reported.
 */
#include "check_common.h"

struct probe {
	haq_ctx_t *ctx;
	haq_group_t *g;
	int down;
	int up;
	int views;
	size_t members;
	uint64_t delivered;
	uint64_t last_val;
	bool in_order;
	uint64_t uncertain_first;
	uint64_t uncertain_last;
	int uncertain_calls;
};

static void
on_conn(haq_ctx_t *ctx, int connected, void *ud)
{
	struct probe *p = ud;

	if (connected) {
		p->up++;
	} else {
		p->down++;
	}
}

static void
on_view(haq_group_t *g, const haq_view_t *v, void *ud)
{
	struct probe *p = ud;

	p->views++;
	p->members = haq_view_member_count(v);
}

static void
on_message(haq_group_t *g, uint32_t nodeid, uint32_t pid, const void *data,
	   size_t len, void *ud)
{
	struct probe *p = ud;
	uint64_t v;

	ck_assert_uint_eq(len, sizeof(v));
	memcpy(&v, data, sizeof(v));
	if (v <= p->last_val) {
		p->in_order = false;
	}
	p->last_val = v;
	p->delivered++;
}

static void
on_uncertain(haq_group_t *g, uint64_t first, uint64_t last, void *ud)
{
	struct probe *p = ud;

	ck_assert_uint_le(first, last);
	p->uncertain_calls++;
	p->uncertain_first = first;
	p->uncertain_last = last;
}

static void
probe_start(struct probe *p, int node, const char *name)
{
	memset(p, 0, sizeof(*p));
	p->in_order = true;
	cluster_enter_node(node);
	ck_assert_int_eq(haq_ctx_new(&p->ctx, NULL), 0);
	haq_ctx_set_connection_cb(p->ctx, on_conn, p);
	ck_assert_int_eq(haq_group_join(p->ctx, name, &p->g), 0);
	haq_group_set_view_cb(p->g, on_view, p);
	haq_group_set_message_cb(p->g, on_message, p);
	haq_group_set_uncertain_cb(p->g, on_uncertain, p);
}

static bool
joined(void *arg)
{
	return ((struct probe *)arg)->members >= 1;
}

static bool
ten_delivered(void *arg)
{
	return ((struct probe *)arg)->delivered >= 10;
}

static bool
back_and_delivered(void *arg)
{
	struct probe *p = arg;

	return p->up == 1 && p->delivered >= 20 && p->members >= 1;
}

static void
restart_test(const char *how)
{
	struct probe p;
	char name[64], cmd[64];

	unique_group(name, sizeof(name), "restart");
	probe_start(&p, 2, name);
	ck_assert(pump_until(&p.ctx, 1, 10000, joined, &p));
	for (uint64_t v = 1; v <= 10; v++) {
		ck_assert_int_eq(haq_group_send(p.g, &v, sizeof(v)), 0);
	}
	ck_assert(pump_until(&p.ctx, 1, 10000, ten_delivered, &p));
	ck_assert_uint_eq(p.delivered, 10);

	snprintf(cmd, sizeof(cmd), "%s 2", how);
	ck_assert_int_eq(cluster_cmd(cmd), 0);
	/* Dispatch sees the hang-up: a disconnect event, no crash. */
	for (uint64_t end = test_now_ms() + 10000;
	     p.down == 0 && test_now_ms() < end;) {
		pump_until(&p.ctx, 1, 50, NULL, NULL);
	}
	ck_assert_int_eq(p.down, 1);
	ck_assert_int_eq(p.up, 0);
	/* Sends while corosync is away are queued, not lost. */
	for (uint64_t v = 11; v <= 20; v++) {
		ck_assert_int_eq(haq_group_send(p.g, &v, sizeof(v)), 0);
	}
	pump_until(&p.ctx, 1, 500, NULL, NULL);
	ck_assert_int_eq(cluster_cmd("start-node 2"), 0);
	ck_assert_msg(pump_until(&p.ctx, 1, 30000, back_and_delivered, &p),
		      "down %d up %d delivered %llu members %zu", p.down, p.up,
		      (unsigned long long)p.delivered, p.members);
	ck_assert(p.in_order);
	ck_assert_uint_eq(p.last_val, 20);
	/* Everything sent before the crash had come back: nothing unsure. */
	ck_assert_int_eq(p.uncertain_calls, 0);
	ck_assert_uint_eq(haq_group_next_id(p.g), 21);
	haq_ctx_free(p.ctx);
}

START_TEST(test_corosync_killed_and_restarted)
{
	restart_test("kill");
}
END_TEST

START_TEST(test_corosync_stopped_and_restarted)
{
	restart_test("stop");
}
END_TEST

static bool
got_down(void *arg)
{
	return ((struct probe *)arg)->down == 1;
}

static bool
back_and_delivered_one(void *arg)
{
	struct probe *p = arg;

	return p->up == 1 && p->delivered >= 1 && p->members >= 1;
}

START_TEST(test_in_flight_messages_reported_uncertain)
{
	struct probe p;
	char name[64];
	uint64_t v;

	unique_group(name, sizeof(name), "unsure");
	probe_start(&p, 2, name);
	ck_assert(pump_until(&p.ctx, 1, 10000, joined, &p));
	/* Freeze corosync: sends are handed over, nothing comes back. */
	ck_assert_int_eq(cluster_cmd("pause 2"), 0);
	for (v = 1; v <= 5; v++) {
		ck_assert_int_eq(haq_group_send(p.g, &v, sizeof(v)), 0);
	}
	ck_assert_int_eq(cluster_cmd("kill 2"), 0);
	ck_assert(pump_until(&p.ctx, 1, 10000, got_down, &p));
	ck_assert_int_eq(p.uncertain_calls, 1);
	ck_assert_uint_eq(p.uncertain_first, 1);
	ck_assert_uint_ge(p.uncertain_last, 1);
	ck_assert_uint_le(p.uncertain_last, 5);
	ck_assert_int_eq(cluster_cmd("start-node 2"), 0);
	ck_assert(pump_until(&p.ctx, 1, 30000, joined, &p));
	haq_ctx_free(p.ctx);
}
END_TEST

/*
 * A reconnect never holds the caller's loop: against a corosync that
 * accepts connections but does not answer (paused as it came back), every
 * dispatch returns at once, and the reconnect completes once it answers.
 * Before the probe, libcpg's connect waited for the answer forever.
 */
START_TEST(test_reconnect_against_frozen_corosync)
{
	struct probe p;
	char name[64];
	uint64_t longest = 0;
	uint64_t v = 1;

	unique_group(name, sizeof(name), "frozen");
	probe_start(&p, 2, name);
	ck_assert(pump_until(&p.ctx, 1, 10000, joined, &p));
	ck_assert_int_eq(cluster_cmd("kill 2"), 0);
	ck_assert(pump_until(&p.ctx, 1, 10000, got_down, &p));
	ck_assert_int_eq(haq_group_send(p.g, &v, sizeof(v)), 0);
	/* Back, and frozen before this process dispatches again. */
	ck_assert_int_eq(cluster_cmd("start-node 2"), 0);
	ck_assert_int_eq(cluster_cmd("pause 2"), 0);
	for (uint64_t end = test_now_ms() + 8000; test_now_ms() < end;) {
		struct pollfd pf = {.fd = haq_ctx_fd(p.ctx), .events = POLLIN};
		uint64_t t0;
		uint64_t took;

		poll(&pf, 1, 50);
		t0 = test_now_ms();
		ck_assert_int_ge(haq_ctx_dispatch(p.ctx), 0);
		took = test_now_ms() - t0;
		if (took > longest) {
			longest = took;
		}
	}
	ck_assert_int_eq(p.up, 0);
	/* Generous: a held loop was 2 s (votequorum) or forever (frozen). */
	ck_assert_msg(longest < 1000, "a dispatch held the loop %llu ms",
		      (unsigned long long)longest);
	ck_assert_int_eq(cluster_cmd("resume 2"), 0);
	ck_assert_msg(pump_until(&p.ctx, 1, 30000, back_and_delivered_one, &p),
		      "down %d up %d delivered %llu", p.down, p.up,
		      (unsigned long long)p.delivered);
	haq_ctx_free(p.ctx);
}
END_TEST

static void
restore(void)
{
	cluster_cmd("resume 2");
	cluster_cmd("start-node 2 >/dev/null 2>&1 || true");
	cluster_cmd("wait-members 1 3 30");
}

static void
add_fault_tcase(Suite *s, const TTest *fn, int timeout)
{
	TCase *tc = tcase_create(fn->name);

	tcase_add_unchecked_fixture(tc, NULL, restore);
	add_tcase(s, tc, fn, timeout);
}

int
main(void)
{
	Suite *s = suite_create("reconnect");

	add_fault_tcase(s, test_corosync_killed_and_restarted, 90);
	add_fault_tcase(s, test_corosync_stopped_and_restarted, 90);
	add_fault_tcase(s, test_in_flight_messages_reported_uncertain, 90);
	add_fault_tcase(s, test_reconnect_against_frozen_corosync, 120);
	return run_suite(s);
}
