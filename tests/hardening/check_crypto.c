/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Integration tests on an encrypted 3-node cluster (haq-cluster --crypto:
 * aes256 and sha256 with one shared authkey), run by
 * tests/hardening/run-crypto:
 *  - the cluster really is encrypted, as libhaq reads its configuration;
 *  - a node restarted with a wrong authkey never appears in the views or
 *    quorum state of the others, while libhaq on that node reports what it
 *    is: one node, not quorate; with the right key it is back.
 * It changes node 3's key file and restarts it, so it must run after the
 * tests that share the cluster (run-crypto does), and it restores node 3.
 */
#include "../check_common.h"

#include <sys/stat.h>

struct observer {
	haq_ctx_t *ctx;
	haq_group_t *g;
	int node;
	bool watching; /* count violations from now on */
	int views;
	size_t members;
	int views_with_3; /* views naming node 3 while watched */
	int quorum_calls;
	int quorum_with_3; /* quorum snapshots naming node 3 */
	int quorate;
	size_t qnodes;
	int view_quorate;
	int up;
	int down;
};

static bool
names_node3_view(const haq_view_t *v)
{
	for (size_t i = 0; i < haq_view_member_count(v); i++) {
		uint32_t n;

		haq_view_member(v, i, &n, NULL);
		if (n == 3) {
			return true;
		}
	}
	return false;
}

static bool
names_node3_quorum(const haq_quorum_t *q)
{
	for (size_t i = 0; i < haq_quorum_node_count(q); i++) {
		uint32_t n;

		haq_quorum_node(q, i, &n, NULL);
		if (n == 3) {
			return true;
		}
	}
	return false;
}

static void
on_view(haq_group_t *g, const haq_view_t *v, void *ud)
{
	struct observer *o = ud;

	o->views++;
	o->members = haq_view_member_count(v);
	o->view_quorate = haq_view_quorate(v);
	if (o->watching && o->node != 3 && names_node3_view(v)) {
		o->views_with_3++;
	}
}

static void
on_quorum(haq_ctx_t *ctx, const haq_quorum_t *q, void *ud)
{
	struct observer *o = ud;

	o->quorum_calls++;
	o->quorate = haq_quorum_quorate(q);
	o->qnodes = haq_quorum_node_count(q);
	if (o->watching && o->node != 3 && names_node3_quorum(q)) {
		o->quorum_with_3++;
	}
}

static void
on_connection(haq_ctx_t *ctx, int connected, void *ud)
{
	struct observer *o = ud;

	if (connected) {
		o->up++;
	} else {
		o->down++;
	}
}

static void
observer_start(struct observer *o, int node, const char *name)
{
	const haq_quorum_t *q;

	memset(o, 0, sizeof(*o));
	o->node = node;
	cluster_enter_node(node);
	ck_assert_int_eq(haq_ctx_new(&o->ctx, NULL), 0);
	haq_ctx_set_quorum_cb(o->ctx, on_quorum, o);
	haq_ctx_set_connection_cb(o->ctx, on_connection, o);
	ck_assert_int_eq(haq_quorum_get(o->ctx, &q), 0);
	o->quorate = haq_quorum_quorate(q);
	o->qnodes = haq_quorum_node_count(q);
	ck_assert_int_eq(haq_group_join(o->ctx, name, &o->g), 0);
	haq_group_set_view_cb(o->g, on_view, o);
}

static void
pump3(struct observer *o, int ms, bool (*done)(void *), void *arg)
{
	haq_ctx_t *ctxs[3] = {o[0].ctx, o[1].ctx, o[2].ctx};

	pump_until(ctxs, 3, ms, done, arg);
}

static bool
all_see(void *arg)
{
	struct observer *o = arg;

	for (int i = 0; i < 3; i++) {
		if (o[i].members != 3) {
			return false;
		}
	}
	return true;
}

static bool
node3_gone(void *arg)
{
	struct observer *o = arg;

	return o[0].members == 2 && o[1].members == 2 && o[0].qnodes == 2 &&
	       o[1].qnodes == 2;
}

static bool
node3_alone(void *arg)
{
	struct observer *o = arg;

	return o[2].up >= 1 && o[2].qnodes == 1 && o[2].quorate == 0 &&
	       o[2].members == 1;
}

/* Point node 3's corosync.conf at KEYFILE. */
static void
node3_use_key(const char *keyfile)
{
	char cmd[2048];
	char *dir = cluster_state_get("node3_pidfile");

	ck_assert_ptr_nonnull(dir);
	*strrchr(dir, '/') = '\0'; /* the node's directory */
	snprintf(cmd, sizeof(cmd),
		 "sed -i 's#^\\([[:space:]]*keyfile:\\).*#\\1 %s#' "
		 "'%s/corosync.conf' && grep -q 'keyfile: %s' "
		 "'%s/corosync.conf'",
		 keyfile, dir, keyfile, dir);
	ck_assert_int_eq(system(cmd), 0);
	free(dir);
}

START_TEST(test_cluster_is_encrypted)
{
	haq_ctx_t *ctx;
	char *crypto = cluster_state_get("crypto");
	char *s;

	ck_assert_msg(crypto && strcmp(crypto, "1") == 0,
		      "run this test on a cluster started with --crypto");
	free(crypto);
	cluster_enter_node(1);
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	ck_assert_int_eq(haq_config_get_string(ctx, "totem.crypto_cipher", &s),
			 0);
	ck_assert_str_eq(s, "aes256");
	free(s);
	ck_assert_int_eq(haq_config_get_string(ctx, "totem.crypto_hash", &s),
			 0);
	ck_assert_str_eq(s, "sha256");
	free(s);
	haq_ctx_free(ctx);
}
END_TEST

START_TEST(test_wrong_key_node_is_isolated)
{
	struct observer o[3];
	char name[64];
	char *dir = getenv("HAQ_CLUSTER_DIR")
			    ? strdup(getenv("HAQ_CLUSTER_DIR"))
			    : NULL;
	char good[512], wrong[512], cmd[2800];
	uint64_t until;
	char out[128] = "";
	FILE *p;

	ck_assert_ptr_nonnull(dir);
	ck_assert_int_eq(cluster_nodes(), 3);
	snprintf(good, sizeof(good), "%s/authkey", dir);
	snprintf(wrong, sizeof(wrong), "%s/node3/authkey.wrong", dir);
	unique_group(name, sizeof(name), "crypto");
	for (int i = 0; i < 3; i++) {
		observer_start(&o[i], i + 1, name);
	}
	pump3(o, 15000, all_see, o);
	ck_assert_msg(all_see(o), "the encrypted cluster did not form a view");

	/* Node 3 comes back with another key: same length, other bytes. */
	snprintf(cmd, sizeof(cmd),
		 "corosync-keygen -k '%s' >/dev/null 2>&1 || "
		 "dd if=/dev/urandom of='%s' bs=256 count=1 status=none; "
		 "chmod 0400 '%s'; ! cmp -s '%s' '%s'",
		 wrong, wrong, wrong, good, wrong);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(cluster_cmd("stop 3"), 0);
	pump3(o, 15000, node3_gone, o);
	ck_assert_msg(node3_gone(o), "nodes 1 and 2 still see node 3");
	node3_use_key(wrong);
	ck_assert_int_eq(cluster_cmd("start-node 3"), 0);

	/*
	 * Watch for ten token timeouts and more: node 3 keeps trying to join
	 * (its packets fail authentication), nobody may ever list it.
	 */
	for (int i = 0; i < 2; i++) {
		o[i].watching = true;
	}
	until = test_now_ms() + 12000;
	pump3(o, 12000, node3_alone, o);
	ck_assert_msg(node3_alone(o),
		      "node 3: reconnected %d, %zu quorum nodes, quorate %d, "
		      "%zu members",
		      o[2].up, o[2].qnodes, o[2].quorate, o[2].members);
	if (test_now_ms() < until) {
		pump3(o, (int)(until - test_now_ms()), NULL, NULL);
	}
	for (int i = 0; i < 2; i++) {
		ck_assert_msg(o[i].views_with_3 == 0 && o[i].quorum_with_3 == 0,
			      "node %d listed node 3 in %d views and %d quorum "
			      "states",
			      i + 1, o[i].views_with_3, o[i].quorum_with_3);
		ck_assert_uint_eq(o[i].members, 2);
		ck_assert_uint_eq(o[i].qnodes, 2);
		ck_assert_int_eq(o[i].quorate, 1);
	}
	/* libhaq on node 3: alone, not quorate, and its view says so. */
	ck_assert_uint_eq(o[2].qnodes, 1);
	ck_assert_int_eq(o[2].quorate, 0);
	ck_assert_uint_eq(o[2].members, 1);
	ck_assert_int_eq(o[2].view_quorate, 0);
	ck_assert_int_eq(haq_group_leader(o[2].g, NULL, NULL, NULL), -ENOENT);
	/* corosync agrees: node 3 sees itself alone. */
	p = popen("HAQ_QUIET=1 \"$HAQ_CLUSTER\" query 3", "r");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(fgets(out, sizeof(out), p));
	pclose(p);
	ck_assert_msg(strncmp(out, "1 No ", 5) == 0, "node 3: %s", out);
	out[strcspn(out, "\n")] = '\0';
	fprintf(stderr,
		"wrong key on node 3, watched 12 s: nodes 1 and 2 saw %d and "
		"%d "
		"views, %d and %d quorum changes, none naming node 3 (2 "
		"members, "
		"2 quorum nodes, quorate); libhaq on node 3: %zu quorum node, "
		"quorate %d, view of %zu member (quorate %d), no leader; "
		"corosync-quorumtool on node 3: %s\n",
		o[0].views, o[1].views, o[0].quorum_calls, o[1].quorum_calls,
		o[2].qnodes, o[2].quorate, o[2].members, o[2].view_quorate,
		out);

	/* With the right key again, node 3 is back: the key made the cut. */
	for (int i = 0; i < 2; i++) {
		o[i].watching = false;
	}
	ck_assert_int_eq(cluster_cmd("stop 3"), 0);
	node3_use_key(good);
	ck_assert_int_eq(cluster_cmd("start-node 3"), 0);
	pump3(o, 20000, all_see, o);
	ck_assert_msg(all_see(o),
		      "node 3 did not come back with the right key");
	ck_assert_int_eq(cluster_cmd("wait-members 1 3 30"), 0);
	for (int i = 0; i < 3; i++) {
		haq_ctx_free(o[i].ctx);
	}
	unlink(wrong);
	free(dir);
}
END_TEST

static void
restore_node3(void)
{
	char *dir = getenv("HAQ_CLUSTER_DIR");
	char good[512], cmd[1200];

	if (!dir) {
		return;
	}
	/* After a failure: the right key back, node 3 running. */
	snprintf(good, sizeof(good), "%s/authkey", dir);
	snprintf(cmd, sizeof(cmd),
		 "sed -i 's#^\\([[:space:]]*keyfile:\\).*#\\1 %s#' "
		 "'%s/node3/corosync.conf'",
		 good, dir);
	if (system(cmd) != 0) {
		return;
	}
	if (cluster_cmd("query 3 >/dev/null 2>&1") == 0 &&
	    cluster_cmd("wait-members 1 3 1 >/dev/null 2>&1") == 0) {
		return;
	}
	cluster_cmd("stop 3");
	cluster_cmd("start-node 3");
	cluster_cmd("wait-members 1 3 30");
}

int
main(void)
{
	Suite *s = suite_create("crypto");
	TCase *tc;

	ADD_TCASE(s, test_cluster_is_encrypted, 20);
	tc = tcase_create("test_wrong_key_node_is_isolated");
	tcase_add_unchecked_fixture(tc, NULL, restore_node3);
	add_tcase(s, tc, test_wrong_key_node_is_isolated, 120);
	return run_suite(s);
}
