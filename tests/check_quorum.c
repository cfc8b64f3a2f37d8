/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Integration tests of quorum tracking on a real 3-node cluster of this
 * test's own (it partitions a node): totals, node list, change callbacks,
 * the view/quorum alignment and the quorum-gated election.
 */
#include "check_common.h"

struct node {
	haq_ctx_t *ctx;
	haq_group_t *g;
	int quorum_calls;
	int quorate;
	size_t qnodes;
	int views;
	int view_quorate;
	size_t view_members;
	uint64_t view_ring;
	int left_reason;
	int leader_calls;
	int is_leader;
	uint32_t leader_nodeid;
	uint64_t epoch;
};

static void
on_quorum(haq_ctx_t *ctx, const haq_quorum_t *q, void *ud)
{
	struct node *n = ud;

	n->quorum_calls++;
	n->quorate = haq_quorum_quorate(q);
	n->qnodes = haq_quorum_node_count(q);
}

static void
on_view(haq_group_t *g, const haq_view_t *v, void *ud)
{
	struct node *n = ud;
	const haq_quorum_t *q;
	uint64_t qring;

	n->views++;
	n->view_quorate = haq_view_quorate(v);
	n->view_members = haq_view_member_count(v);
	haq_view_ring(v, NULL, &n->view_ring);
	if (haq_view_left_count(v) > 0) {
		haq_view_left(v, 0, NULL, NULL, &n->left_reason);
	}
	/*
	 * Guarantee 4: the quorum state is at least as new as the view, and
	 * the view carries its own ring's verdict (a ring overtaken before
	 * votequorum spoke of it is not quorate).
	 */
	ck_assert_int_eq(haq_quorum_get(haq_group_ctx(g), &q), 0);
	haq_quorum_ring(q, NULL, &qring);
	ck_assert_uint_ge(qring, n->view_ring);
	if (qring == n->view_ring) {
		ck_assert_int_eq(haq_quorum_quorate(q), n->view_quorate);
	}
}

static void
on_leader(haq_group_t *g, int is_leader, uint64_t epoch, uint32_t nodeid,
	  uint32_t pid, void *ud)
{
	struct node *n = ud;

	n->leader_calls++;
	n->is_leader = is_leader;
	n->leader_nodeid = nodeid;
	n->epoch = epoch;
}

static void
setup(struct node *n, const char *name)
{
	for (int i = 0; i < 3; i++) {
		memset(&n[i], 0, sizeof(n[i]));
		cluster_enter_node(i + 1);
		ck_assert_int_eq(haq_ctx_new(&n[i].ctx, NULL), 0);
		haq_ctx_set_quorum_cb(n[i].ctx, on_quorum, &n[i]);
		n[i].quorate = -1; /* until the first change is reported */
		ck_assert_int_eq(haq_group_join(n[i].ctx, name, &n[i].g), 0);
		haq_group_set_view_cb(n[i].g, on_view, &n[i]);
		haq_group_set_leader_cb(n[i].g, on_leader, &n[i]);
	}
}

static void
teardown(struct node *n)
{
	for (int i = 0; i < 3; i++) {
		haq_ctx_free(n[i].ctx);
	}
}

static bool
all_see_three(void *arg)
{
	struct node *n = arg;

	for (int i = 0; i < 3; i++) {
		if (n[i].view_members != 3 || n[i].leader_nodeid != 1) {
			return false;
		}
	}
	return true;
}

static bool
node3_cut_off(void *arg)
{
	struct node *n = arg;

	return n[0].view_members == 2 && n[1].view_members == 2 &&
	       n[2].quorate == 0 && n[2].leader_calls > 0 &&
	       n[2].leader_nodeid == 0 && n[2].view_members == 1;
}

static void
pump(struct node *n, int ms, bool (*done)(void *))
{
	haq_ctx_t *ctxs[3] = {n[0].ctx, n[1].ctx, n[2].ctx};

	ck_assert_msg(pump_until(ctxs, 3, ms, done, n),
		      "timed out: views %zu/%zu/%zu quorate %d/%d/%d "
		      "leaders %u/%u/%u",
		      n[0].view_members, n[1].view_members, n[2].view_members,
		      n[0].quorate, n[1].quorate, n[2].quorate,
		      n[0].leader_nodeid, n[1].leader_nodeid,
		      n[2].leader_nodeid);
}

START_TEST(test_quorum_snapshot)
{
	haq_ctx_t *ctx;
	const haq_quorum_t *q;
	uint32_t expected, total, quorum, nodeid, votes;
	uint64_t ring;

	cluster_enter_node(1);
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	ck_assert_int_eq(haq_quorum_get(ctx, NULL), -EINVAL);
	ck_assert_int_eq(haq_quorum_get(NULL, &q), -EINVAL);
	ck_assert_int_eq(haq_quorum_get(ctx, &q), 0);
	ck_assert_int_eq(haq_quorum_quorate(q), 1);
	ck_assert_int_eq(haq_quorum_votes(q, &expected, &total, &quorum), 0);
	ck_assert_uint_eq(expected, 3);
	ck_assert_uint_eq(total, 3);
	ck_assert_uint_eq(quorum, 2);
	ck_assert_int_eq(haq_quorum_ring(q, NULL, &ring), 0);
	ck_assert_uint_gt(ring, 0);
	ck_assert_uint_eq(haq_quorum_node_count(q), 3);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_int_eq(haq_quorum_node(q, i, &nodeid, &votes), 0);
		ck_assert_uint_eq(nodeid, i + 1);
		ck_assert_uint_eq(votes, 1);
	}
	ck_assert_int_eq(haq_quorum_node(q, 3, &nodeid, &votes), -EINVAL);
	ck_assert_int_eq(haq_quorum_quorate(NULL), -EINVAL);
	ck_assert_int_eq(haq_quorum_votes(NULL, NULL, NULL, NULL), -EINVAL);
	ck_assert_uint_eq(haq_quorum_node_count(NULL), 0);
	haq_ctx_free(ctx);
}
END_TEST

START_TEST(test_partition_and_heal)
{
	struct node n[3];
	char name[64];
	uint64_t epoch_before, ring_before;

	unique_group(name, sizeof(name), "split");
	setup(n, name);
	pump(n, 15000, all_see_three);
	epoch_before = n[0].epoch;
	ring_before = n[0].view_ring;
	ck_assert(n[0].is_leader);

	ck_assert_int_eq(cluster_cmd("isolate 3"), 0);
	pump(n, 30000, node3_cut_off);
	/* The majority keeps quorum and its leader, with the same epoch. */
	ck_assert_int_eq(n[0].quorate, 1);
	ck_assert_int_eq(n[0].view_quorate, 1);
	ck_assert_uint_gt(n[0].view_ring, ring_before);
	ck_assert_int_eq(n[0].left_reason, HAQ_REASON_NODEDOWN);
	ck_assert_uint_eq(n[0].qnodes, 2);
	ck_assert(n[0].is_leader);
	ck_assert_uint_eq(n[0].epoch, epoch_before);
	ck_assert_uint_eq(n[1].epoch, n[0].epoch);
	/* The minority knows it is alone and has no leader. */
	ck_assert_int_eq(n[2].view_quorate, 0);
	ck_assert_uint_eq(n[2].qnodes, 1);
	ck_assert(!n[2].is_leader);
	ck_assert_int_eq(haq_group_leader(n[2].g, NULL, NULL, NULL), -ENOENT);
	ck_assert_int_eq(haq_group_leader_state(n[2].g), HAQ_LEADER_NONE);

	epoch_before = n[0].epoch;
	ck_assert_int_eq(cluster_cmd("heal 3"), 0);
	pump(n, 30000, all_see_three);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(n[i].quorate, 1);
		ck_assert_uint_eq(n[i].epoch, n[0].epoch);
	}
	/* Sticky: the heal changes neither the leader nor its epoch. */
	ck_assert_uint_eq(n[0].epoch, epoch_before);
	teardown(n);
}
END_TEST

static bool
all_see_three_led_by_2(void *arg)
{
	struct node *n = arg;

	for (int i = 0; i < 3; i++) {
		if (n[i].view_members != 3 || n[i].leader_nodeid != 2) {
			return false;
		}
	}
	return true;
}

START_TEST(test_leader_isolated_majority_elects)
{
	struct node n[3];
	char name[64];
	uint64_t epoch;

	unique_group(name, sizeof(name), "lead");
	setup(n, name);
	pump(n, 15000, all_see_three);
	ck_assert_int_eq(cluster_cmd("isolate 1"), 0);
	/* Node 2 takes over; node 1 steps down for lack of quorum. */
	for (uint64_t end = test_now_ms() + 30000; test_now_ms() < end;) {
		pump_until((haq_ctx_t *[]){n[0].ctx, n[1].ctx, n[2].ctx}, 3,
			   100, NULL, NULL);
		if (n[1].is_leader && n[2].leader_nodeid == 2 &&
		    n[0].leader_nodeid == 0) {
			break;
		}
	}
	ck_assert(n[1].is_leader);
	ck_assert_uint_eq(n[2].leader_nodeid, 2);
	ck_assert_uint_eq(n[2].epoch, n[1].epoch);
	ck_assert(!n[0].is_leader);
	ck_assert_uint_eq(n[0].leader_nodeid, 0);
	epoch = n[1].epoch;
	ck_assert_int_eq(cluster_cmd("heal 1"), 0);
	/* No fail-back: node 2 keeps leading, with the same epoch. */
	pump(n, 30000, all_see_three_led_by_2);
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(n[i].epoch, epoch);
	}
	ck_assert(n[1].is_leader);
	ck_assert(!n[0].is_leader);
	teardown(n);
}
END_TEST

static bool
two_members_led(void *arg)
{
	struct node *n = arg;

	return n[0].view_members == 2 && n[1].view_members == 2 &&
	       n[0].leader_nodeid == 1 && n[1].leader_nodeid == 1 &&
	       n[0].epoch == n[1].epoch;
}

static bool
ring_changed_to_two(void *arg)
{
	struct node *n = arg;

	return n[0].qnodes == 2 && n[1].qnodes == 2 && n[0].quorate == 1 &&
	       n[1].quorate == 1;
}

/*
 * The documented order for a totem ring change that keeps a group's
 * members (node 3, with no member of the group, is cut off): no view
 * callback, since the group's view did not change, and no leader
 * callback either: the leader keeps its leadership and its epoch.
 */
START_TEST(test_ring_change_keeping_members)
{
	struct node n[3];
	char name[64];
	int views[2], leader_calls[2];
	uint64_t epoch;

	unique_group(name, sizeof(name), "keep");
	for (int i = 0; i < 3; i++) {
		memset(&n[i], 0, sizeof(n[i]));
		cluster_enter_node(i + 1);
		ck_assert_int_eq(haq_ctx_new(&n[i].ctx, NULL), 0);
		haq_ctx_set_quorum_cb(n[i].ctx, on_quorum, &n[i]);
		if (i < 2) {
			ck_assert_int_eq(
				haq_group_join(n[i].ctx, name, &n[i].g), 0);
			haq_group_set_view_cb(n[i].g, on_view, &n[i]);
			haq_group_set_leader_cb(n[i].g, on_leader, &n[i]);
		}
	}
	pump(n, 15000, two_members_led);
	pump_until((haq_ctx_t *[]){n[0].ctx, n[1].ctx, n[2].ctx}, 3, 500,
		   NULL, NULL);
	for (int i = 0; i < 2; i++) {
		views[i] = n[i].views;
		leader_calls[i] = n[i].leader_calls;
	}
	epoch = n[0].epoch;
	ck_assert_int_eq(cluster_cmd("isolate 3"), 0);
	pump(n, 30000, ring_changed_to_two);
	pump_until((haq_ctx_t *[]){n[0].ctx, n[1].ctx, n[2].ctx}, 3, 1500,
		   NULL, NULL);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(n[i].views, views[i]);
		ck_assert_int_eq(n[i].leader_calls, leader_calls[i]);
		ck_assert_uint_eq(n[i].leader_nodeid, 1);
		ck_assert_uint_eq(n[i].epoch, epoch);
	}
	ck_assert_uint_eq(n[0].epoch, n[1].epoch);
	ck_assert_int_eq(cluster_cmd("heal 3"), 0);
	ck_assert_int_eq(cluster_cmd("wait-members 1 3 30"), 0);
	teardown(n);
}
END_TEST

static bool
all_led(void *arg)
{
	struct node *n = arg;

	for (int i = 0; i < 3; i++) {
		if (n[i].view_members != 3 || n[i].leader_nodeid == 0 ||
		    n[i].epoch != n[0].epoch) {
			return false;
		}
	}
	return true;
}

/*
 * Epochs never go backwards, also when every process and every corosync
 * restarts with corosync's ring ids wiped (containers without persistent
 * storage): nobody remembers the old epoch, and the new one comes from
 * the wall clock. Runs last: by then this cluster's ring ids are well
 * above where a wiped cluster starts again.
 */
START_TEST(test_epoch_after_wiped_restart)
{
	struct node n[3];
	char name[64], cmd[512];
	const char *dir = getenv("HAQ_CLUSTER_DIR");
	uint64_t before, ring_before;

	ck_assert_ptr_nonnull(dir);
	unique_group(name, sizeof(name), "wiped");
	setup(n, name);
	pump(n, 15000, all_led);
	before = n[0].epoch;
	ring_before = n[0].view_ring;
	teardown(n);
	ck_assert_int_eq(cluster_cmd("stop 1 2 3"), 0);
	snprintf(cmd, sizeof(cmd), "rm -f '%s'/node*/ringid_*", dir);
	ck_assert_int_eq(system(cmd), 0);
	for (int k = 1; k <= 3; k++) {
		snprintf(cmd, sizeof(cmd), "start-node %d 60", k);
		ck_assert_int_eq(cluster_cmd(cmd), 0);
	}
	for (int k = 1; k <= 3; k++) {
		snprintf(cmd, sizeof(cmd), "wait-members %d 3 60", k);
		ck_assert_int_eq(cluster_cmd(cmd), 0);
	}
	setup(n, name);
	pump(n, 30000, all_led);
	/* The ring ids did start again from the beginning... */
	ck_assert_uint_lt(n[0].view_ring, ring_before);
	/* ...and the epoch still went forward. */
	ck_assert_uint_gt(n[0].epoch, before);
	teardown(n);
}
END_TEST

/*
 * Runs in the parent after each test, failed or not: the next test starts
 * from a whole cluster.
 */
static void
heal_all(void)
{
	cluster_cmd("heal 1 2 3");
	for (int k = 1; k <= 3; k++) {
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "wait-members %d 3 30", k);
		cluster_cmd(cmd);
	}
}

static void
add_fault_tcase(Suite *s, const TTest *fn, int timeout)
{
	TCase *tc = tcase_create(fn->name);

	tcase_add_unchecked_fixture(tc, NULL, heal_all);
	add_tcase(s, tc, fn, timeout);
}

int
main(void)
{
	Suite *s = suite_create("quorum");

	ADD_TCASE(s, test_quorum_snapshot, 20);
	add_fault_tcase(s, test_partition_and_heal, 120);
	add_fault_tcase(s, test_leader_isolated_majority_elects, 120);
	add_fault_tcase(s, test_ring_change_keeping_members, 120);
	add_fault_tcase(s, test_epoch_after_wiped_restart, 180);
	return run_suite(s);
}
