/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * corosync restarting under a live process (on a 3-node cluster of this
 * test's own): a disconnect event, not a crash; reconnect with backoff,
 * rejoin, a fresh view; messages queued meanwhile are sent after the
 * rejoin; messages of unknown fate are reported; the callbacks of a lost
 * connection and of a reconnect come in their documented order; a lock
 * holder's lost connection.
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

/*
 * The order of the callbacks around a lost connection, one word per call:
 * C0/C1 the connection callback, V a view, L a leader, l no leader
 * (nodeid 0), U the uncertain callback.
 */
struct seq {
	haq_ctx_t *ctx;
	haq_group_t *g;
	char text[256];
	int down, up, views, leaders, uncertain;
	uint64_t uncertain_first, uncertain_last;
	uint64_t epoch;
	uint32_t leader_pid;
};

static void
seq_add(struct seq *s, const char *word)
{
	size_t used = strlen(s->text);

	snprintf(s->text + used, sizeof(s->text) - used, "%s%s",
		 used ? " " : "", word);
}

static void
seq_conn(haq_ctx_t *ctx, int connected, void *ud)
{
	struct seq *s = ud;

	seq_add(s, connected ? "C1" : "C0");
	if (connected) {
		s->up++;
	} else {
		s->down++;
	}
}

static void
seq_view(haq_group_t *g, const haq_view_t *v, void *ud)
{
	struct seq *s = ud;

	seq_add(s, "V");
	s->views++;
}

static void
seq_leader(haq_group_t *g, int is_leader, uint64_t epoch, uint32_t nodeid,
	   uint32_t pid, void *ud)
{
	struct seq *s = ud;

	seq_add(s, nodeid ? "L" : "l");
	s->leaders += nodeid != 0;
	s->epoch = epoch;
	s->leader_pid = pid;
}

static void
seq_uncertain(haq_group_t *g, uint64_t first, uint64_t last, void *ud)
{
	struct seq *s = ud;

	seq_add(s, "U");
	s->uncertain++;
	s->uncertain_first = first;
	s->uncertain_last = last;
}

static void
seq_start(struct seq *s, int node, const char *base)
{
	char name[64], cmd[64];

	memset(s, 0, sizeof(*s));
	unique_group(name, sizeof(name), base);
	/* Settled after the previous test's restart: no ring change to come. */
	snprintf(cmd, sizeof(cmd), "wait-members %d 3 30", node);
	ck_assert_int_eq(cluster_cmd(cmd), 0);
	snprintf(cmd, sizeof(cmd), "wait-quorate %d yes 30", node);
	ck_assert_int_eq(cluster_cmd(cmd), 0);
	cluster_enter_node(node);
	ck_assert_int_eq(haq_ctx_new(&s->ctx, NULL), 0);
	haq_ctx_set_connection_cb(s->ctx, seq_conn, s);
	ck_assert_int_eq(haq_group_join(s->ctx, name, &s->g), 0);
	haq_group_set_view_cb(s->g, seq_view, s);
	haq_group_set_leader_cb(s->g, seq_leader, s);
	haq_group_set_uncertain_cb(s->g, seq_uncertain, s);
}

static bool
seq_leads(void *arg)
{
	struct seq *s = arg;

	return s->leaders > 0 && s->leader_pid == (uint32_t)getpid();
}

static bool
seq_down_and_unsure(void *arg)
{
	struct seq *s = arg;

	return s->down > 0 && s->uncertain > 0;
}

static bool
seq_down(void *arg)
{
	return ((struct seq *)arg)->down > 0;
}

static bool
seq_back_with_view(void *arg)
{
	struct seq *s = arg;

	return s->up > 0 && s->views > 1;
}

/*
 * Lost with messages in flight: the connection callback (0) first, then
 * the group's leader callback saying there is no leader, then the
 * uncertain callback for the messages corosync took and never returned.
 */
START_TEST(test_lost_connection_callback_order)
{
	struct seq s;

	seq_start(&s, 2, "lostorder");
	ck_assert_msg(pump_until(&s.ctx, 1, 10000, seq_leads, &s),
		      "never led the group: \"%s\"", s.text);
	pump_until(&s.ctx, 1, 200, NULL, NULL);
	s.text[0] = '\0';

	/* Handed to a frozen corosync, then it dies: in flight. */
	ck_assert_int_eq(cluster_cmd("pause 2"), 0);
	for (uint64_t v = 1; v <= 3; v++) {
		ck_assert_int_eq(haq_group_send(s.g, &v, sizeof(v)), 0);
	}
	ck_assert_int_eq(cluster_cmd("kill 2"), 0);
	ck_assert_msg(pump_until(&s.ctx, 1, 10000, seq_down_and_unsure, &s),
		      "callbacks \"%s\"", s.text);
	/* Nothing else follows while corosync is away. */
	pump_until(&s.ctx, 1, 500, NULL, NULL);
	ck_assert_msg(strcmp(s.text, "C0 l U") == 0,
		      "callbacks \"%s\", want \"C0 l U\" (connection lost, no "
		      "leader, uncertain)",
		      s.text);
	ck_assert_uint_eq(s.uncertain_first, 1);
	ck_assert_uint_le(s.uncertain_last, 3);
	ck_assert_uint_eq(s.epoch, 0);
	ck_assert_int_eq(cluster_cmd("start-node 2"), 0);
	ck_assert(pump_until(&s.ctx, 1, 30000, seq_back_with_view, &s));
	haq_ctx_free(s.ctx);
}
END_TEST

/*
 * Stopped and started again: C0, then no leader (no uncertain callback:
 * nothing was in flight), and after the restart the connection callback
 * (1) comes before the group's fresh view.
 */
START_TEST(test_reconnect_callback_order)
{
	struct seq s;

	seq_start(&s, 2, "backorder");
	ck_assert_msg(pump_until(&s.ctx, 1, 10000, seq_leads, &s),
		      "never led the group: \"%s\"", s.text);
	pump_until(&s.ctx, 1, 200, NULL, NULL);
	s.text[0] = '\0';

	ck_assert_int_eq(cluster_cmd("stop 2"), 0);
	ck_assert_msg(pump_until(&s.ctx, 1, 10000, seq_down, &s),
		      "callbacks \"%s\"", s.text);
	pump_until(&s.ctx, 1, 500, NULL, NULL);
	ck_assert_msg(strcmp(s.text, "C0 l") == 0,
		      "callbacks \"%s\", want \"C0 l\" (connection lost, no "
		      "leader)",
		      s.text);

	ck_assert_int_eq(cluster_cmd("start-node 2"), 0);
	ck_assert_msg(pump_until(&s.ctx, 1, 30000, seq_back_with_view, &s),
		      "no reconnect with a view: \"%s\"", s.text);
	ck_assert_msg(strncmp(s.text, "C0 l C1 V", 9) == 0 &&
			      (s.text[9] == '\0' || s.text[9] == ' '),
		      "callbacks \"%s\", want \"C0 l C1 V...\" (connected "
		      "again, then the fresh view)",
		      s.text);
	ck_assert_int_eq(s.up, 1);
	haq_ctx_free(s.ctx);
}
END_TEST

struct lead {
	int calls;
	int self;
};

static void
on_lead(haq_group_t *g, int is_leader, uint64_t epoch, uint32_t nodeid,
	uint32_t pid, void *ud)
{
	struct lead *l = ud;

	(void)g;
	(void)epoch;
	(void)nodeid;
	(void)pid;
	l->calls++;
	l->self = is_leader;
}

static bool
leading(void *arg)
{
	return ((struct lead *)arg)->self == 1;
}

static bool
not_leading(void *arg)
{
	return ((struct lead *)arg)->self == 0;
}

/*
 * Against a stopped corosync (SIGSTOP, as a stalled VM), sends never block
 * the caller (libqb's IPC client would block in send() once the socket's
 * buffer is full of its notifications), so the leader keeps dispatching
 * and steps down when its lease runs out, while corosync is still stopped.
 */
START_TEST(test_stopped_corosync_never_blocks_the_leader)
{
	struct probe p;
	struct lead l = {0};
	char name[64];
	uint64_t v, start, took, lost = 0;
	uint32_t lease_ms;
	int refused = 0;

	unique_group(name, sizeof(name), "stalled");
	probe_start(&p, 2, name);
	haq_group_set_leader_cb(p.g, on_lead, &l);
	ck_assert(pump_until(&p.ctx, 1, 15000, leading, &l));
	ck_assert_int_eq(haq_group_leader_timing(p.g, HAQ_TIMING_LEASE,
						 &lease_ms),
			 0);
	ck_assert_int_eq(cluster_cmd("pause 2"), 0);
	/* Far more than the socket's buffer holds notifications for. */
	start = test_now_ms();
	for (v = 1; v <= 5000; v++) {
		int rc = haq_group_send(p.g, &v, sizeof(v));

		ck_assert(rc == 0 || rc == -ENOBUFS);
		refused += rc == -ENOBUFS;
	}
	took = test_now_ms() - start;
	ck_assert_msg(took < 2000, "5000 sends took %llu ms: blocked",
		      (unsigned long long)took);
	/* The lease runs out while corosync is still stopped. */
	ck_assert_msg(pump_until(&p.ctx, 1, (int)lease_ms + 3000, not_leading,
				 &l),
		      "still the leader %u ms after the pause (lease %u ms)",
		      lease_ms + 3000, lease_ms);
	ck_assert_int_eq(haq_group_counter(p.g, HAQ_COUNTER_LEASE_EXPIRED,
					   &lost),
			 0);
	ck_assert_uint_eq(lost, 1);
	ck_assert_int_eq(haq_group_lease(p.g, NULL), 0);
	ck_assert_int_eq(cluster_cmd("resume 2"), 0);
	/* Back: the group elects again (here: this process, alone). */
	ck_assert(pump_until(&p.ctx, 1, 60000, leading, &l));
	(void)refused;
	haq_ctx_free(p.ctx);
}
END_TEST

/* What one process was told of its lock. */
struct lockp {
	int n;
	int status[8];
	uint64_t token[8];
};

static void
on_lock(haq_group_t *g, const char *name, int status, uint64_t token,
	void *ud)
{
	struct lockp *l = ud;

	(void)g, (void)name;
	ck_assert_int_lt(l->n, 8);
	l->status[l->n] = status;
	l->token[l->n++] = token;
}

static struct lockp *lock_wait_for;
static int lock_wait_n;

static bool
lock_told(void *arg)
{
	(void)arg;
	return lock_wait_for->n >= lock_wait_n;
}

/* Pump both contexts until l was told n times. */
static void
lock_wait(haq_ctx_t **ctxs, struct lockp *l, int n, int timeout_ms)
{
	lock_wait_for = l;
	lock_wait_n = n;
	ck_assert_msg(pump_until(ctxs, 2, timeout_ms, lock_told, NULL),
		      "%d lock callbacks, not %d", l->n, n);
}

static bool
both_joined(void *arg)
{
	struct probe *p = arg;

	return p[0].members == 2 && p[1].members == 2;
}

/*
 * A holder whose corosync is killed is told -ENOTCONN; the waiter on
 * another node is granted; after the restart the holder's new request
 * waits in the table it took over, and is granted after the release.
 */
START_TEST(test_lock_holder_corosync_killed)
{
	struct probe p[2];
	struct lockp l[2];
	haq_ctx_t *ctxs[2];
	char name[64];

	unique_group(name, sizeof(name), "restart-lock");
	memset(l, 0, sizeof(l));
	for (int i = 0; i < 2; i++) {
		probe_start(&p[i], i + 1, name);
		ctxs[i] = p[i].ctx;
		ck_assert_int_eq(haq_group_set_lock_cb(p[i].g, on_lock, &l[i]),
				 0);
	}
	ck_assert(pump_until(ctxs, 2, 20000, both_joined, p));
	ck_assert_int_eq(haq_group_lock(p[1].g, "r", 0), 0);
	lock_wait(ctxs, &l[1], 1, 10000);
	ck_assert_int_eq(l[1].status[0], 0);
	ck_assert_int_eq(haq_group_lock(p[0].g, "r", 0), 0);
	pump_until(ctxs, 2, 300, NULL, NULL);
	ck_assert_int_eq(l[0].n, 0);
	ck_assert_int_eq(cluster_cmd("kill 2"), 0);
	lock_wait(ctxs, &l[1], 2, 10000);
	ck_assert_int_eq(l[1].status[1], -ENOTCONN);
	ck_assert_int_eq(haq_group_lock_held(p[1].g, "r", NULL, NULL), 0);
	/* Asked again while corosync is away: queued. */
	ck_assert_int_eq(haq_group_lock(p[1].g, "r", 0), 0);
	lock_wait(ctxs, &l[0], 1, 30000);
	ck_assert_int_eq(l[0].status[0], 0);
	ck_assert_uint_gt(l[0].token[0], l[1].token[0]);
	ck_assert_int_eq(cluster_cmd("start-node 2"), 0);
	ck_assert(pump_until(ctxs, 2, 30000, both_joined, p));
	pump_until(ctxs, 2, 500, NULL, NULL);
	ck_assert_int_eq(l[1].n, 2);
	ck_assert_int_eq(haq_group_unlock(p[0].g, "r"), 0);
	lock_wait(ctxs, &l[1], 3, 10000);
	ck_assert_int_eq(l[1].status[2], 0);
	ck_assert_uint_gt(l[1].token[2], l[0].token[0]);
	for (int i = 0; i < 2; i++) {
		haq_ctx_free(p[i].ctx);
	}
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
	add_fault_tcase(s, test_lost_connection_callback_order, 90);
	add_fault_tcase(s, test_reconnect_callback_order, 90);
	add_fault_tcase(s, test_stopped_corosync_never_blocks_the_leader, 120);
	add_fault_tcase(s, test_lock_holder_corosync_killed, 120);
	return run_suite(s);
}
