/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Integration tests of the cmap reads and tracking on a real corosync. */
#include "check_common.h"

START_TEST(test_typed_getters)
{
	haq_ctx_t *ctx;
	char *s = NULL;
	uint32_t u32;
	uint64_t u64;

	cluster_enter_node(1);
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	ck_assert_int_eq(haq_config_cluster_name(ctx, &s), 0);
	ck_assert_str_eq(s, "haqtest");
	free(s);
	ck_assert_int_eq(haq_config_get_u32(ctx, "totem.token", &u32), 0);
	ck_assert_uint_eq(u32, 1000);
	ck_assert_int_eq(haq_config_get_u64(ctx, "totem.token", &u64), 0);
	ck_assert_uint_eq(u64, 1000);
	ck_assert_int_eq(haq_config_get_u32(ctx, "nodelist.node.0.nodeid", &u32),
			 0);
	ck_assert_uint_eq(u32, 1);
	/* Wrong type, missing key, bad arguments. */
	ck_assert_int_eq(haq_config_get_string(ctx, "totem.token", &s),
			 -EPROTOTYPE);
	ck_assert_int_eq(haq_config_get_u32(ctx, "totem.cluster_name", &u32),
			 -EPROTOTYPE);
	ck_assert_int_eq(haq_config_get_u32(ctx, "no.such.key", &u32), -ENOENT);
	ck_assert_int_eq(haq_config_get_string(ctx, "no.such.key", &s), -ENOENT);
	/* config.totemconfig_reload_in_progress exists only after a reload. */
	ck_assert_int_eq(haq_config_get_u32(ctx, "xy", &u32), -EINVAL);
	ck_assert_int_eq(haq_config_get_u32(ctx, NULL, &u32), -EINVAL);
	ck_assert_int_eq(haq_config_get_u32(ctx, "totem.token", NULL), -EINVAL);
	ck_assert_int_eq(haq_config_get_string(NULL, "totem.token", &s), -EINVAL);
	ck_assert_int_eq(haq_config_get_u64(ctx, "totem.token", NULL), -EINVAL);
	haq_ctx_free(ctx);
}
END_TEST

START_TEST(test_nodelist)
{
	haq_ctx_t *ctx;
	haq_nodelist_t *l;
	int nodes = cluster_nodes();

	cluster_enter_node(1);
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	ck_assert_int_eq(haq_config_nodelist(ctx, NULL), -EINVAL);
	ck_assert_int_eq(haq_config_nodelist(ctx, &l), 0);
	ck_assert_uint_eq(haq_nodelist_count(l), (size_t)nodes);
	for (size_t i = 0; i < haq_nodelist_count(l); i++) {
		uint32_t id;
		const char *name;
		char want[32];
		char *addr_key = NULL;
		char *want_addr;

		ck_assert_int_eq(haq_nodelist_node(l, i, &id, &name), 0);
		ck_assert_uint_eq(id, i + 1);
		snprintf(want, sizeof(want), "node%zu", i + 1);
		ck_assert_str_eq(name, want);
		ck_assert_uint_eq(haq_nodelist_addr_count(l, i), 1);
		snprintf(want, sizeof(want), "node%zu_addr", i + 1);
		want_addr = cluster_state_get(want);
		ck_assert_ptr_nonnull(want_addr);
		ck_assert_str_eq(haq_nodelist_addr(l, i, 0), want_addr);
		ck_assert_ptr_null(haq_nodelist_addr(l, i, 1));
		free(want_addr);
		free(addr_key);
	}
	ck_assert_int_eq(haq_nodelist_node(l, 99, NULL, NULL), -EINVAL);
	ck_assert_uint_eq(haq_nodelist_addr_count(l, 99), 0);
	ck_assert_uint_eq(haq_nodelist_count(NULL), 0);
	haq_nodelist_free(l);
	haq_nodelist_free(NULL);
	haq_ctx_free(ctx);
}
END_TEST

struct events {
	int added;
	int changed;
	int deleted;
	char last_key[256];
};

static void
on_config(haq_ctx_t *ctx, const char *key, int event, void *ud)
{
	struct events *e = ud;

	snprintf(e->last_key, sizeof(e->last_key), "%s", key);
	switch (event) {
	case HAQ_CONFIG_ADDED:
		e->added++;
		break;
	case HAQ_CONFIG_CHANGED:
		e->changed++;
		break;
	case HAQ_CONFIG_DELETED:
		e->deleted++;
		break;
	}
}

static bool
saw_all(void *arg)
{
	struct events *e = arg;

	return e->added >= 1 && e->changed >= 1 && e->deleted >= 1;
}

START_TEST(test_track_prefix)
{
	haq_ctx_t *ctx;
	struct events e = {0};
	uint64_t id;
	char key[64], cmd[512];

	cluster_enter_node(1);
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	snprintf(key, sizeof(key), "haqtest.t%d", (int)getpid());
	ck_assert_int_eq(haq_config_track(ctx, NULL, on_config, &e, &id), -EINVAL);
	ck_assert_int_eq(haq_config_track(ctx, key, NULL, &e, &id), -EINVAL);
	ck_assert_int_eq(haq_config_track(ctx, key, on_config, &e, &id), 0);
	snprintf(cmd, sizeof(cmd),
		 "exec 1 -- sh -c 'corosync-cmapctl -s %s.v u32 5 && "
		 "corosync-cmapctl -s %s.v u32 6 && corosync-cmapctl -d %s.v'",
		 key, key, key);
	ck_assert_int_eq(cluster_cmd(cmd), 0);
	ck_assert(pump_until(&ctx, 1, 5000, saw_all, &e));
	ck_assert_int_eq(e.added, 1);
	ck_assert_int_eq(e.changed, 1);
	ck_assert_int_eq(e.deleted, 1);
	ck_assert_ptr_nonnull(strstr(e.last_key, key));
	ck_assert_int_eq(haq_config_untrack(ctx, id), 0);
	ck_assert_int_eq(haq_config_untrack(ctx, id), -ENOENT);
	/* No more events once untracked. */
	snprintf(cmd, sizeof(cmd), "exec 1 -- corosync-cmapctl -s %s.w u32 1",
		 key);
	ck_assert_int_eq(cluster_cmd(cmd), 0);
	pump_until(&ctx, 1, 500, NULL, NULL);
	ck_assert_int_eq(e.added, 1);
	haq_ctx_free(ctx);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("config");

	ADD_TCASE(s, test_typed_getters, 20);
	ADD_TCASE(s, test_nodelist, 20);
	ADD_TCASE(s, test_track_prefix, 30);
	return run_suite(s);
}
