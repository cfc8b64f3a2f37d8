/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Misuse of the public API on a real corosync: every function with NULL
 * and out-of-range arguments (each gives its documented errno), calls
 * after a leave, leaving a group and freeing the context from inside every
 * kind of callback under every way of driving the context, sending from
 * inside callbacks, a context whose corosync went away, double joins,
 * unknown flags, and every context and group call in a forked child
 * (refused with -ECHILD, the parent undisturbed). Every test also checks
 * that it leaves no descriptor open. tests/doc/api-coverage checks that
 * every exported function has an invalid-argument case here and every
 * context and group entry point is tried in the forked child.
 *
 * Tests that only need corosync running use node 1 of the shared cluster
 * (HAQ_CLUSTER_DIR). Tests that stop, kill or pause corosync, or change
 * quorum, use a private 2-node cluster that main() starts through the
 * harness (HAQ_CLUSTER) and destroys at the end, so the shared cluster is
 * never disturbed. Each private test first repairs what the previous one
 * broke.
 */
#include "check_common.h"

#include <dirent.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/wait.h>

#include <qb/qbdefs.h>
#include <qb/qbloop.h>

/* corosync's longest cmap key name (CMAP_KEYNAME_MAXLEN). */
#define KEY_MAX 255

/* ------------------------------------------------------------------ */
/* Descriptor accounting                                              */
/* ------------------------------------------------------------------ */

static int
fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.') {
			n++;
		}
	}
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

static int fds_at_start;

/* Checked fixtures run in the forked test process, around each test. */
static void
fds_setup(void)
{
	fds_at_start = fd_count();
}

static void
fds_teardown(void)
{
	int now = fd_count();

	ck_assert_msg(now == fds_at_start,
		      "descriptor leak: %d open before the test, %d after",
		      fds_at_start, now);
}

/* ------------------------------------------------------------------ */
/* The private cluster                                                */
/* ------------------------------------------------------------------ */

static char priv_root[256]; /* mkdtemp() directory */
static char priv_dir[300];  /* the cluster's state directory in it */

/* Run "HAQ_CLUSTER --dir PRIV ARGS" and return its exit status. */
static int
priv_cmd(const char *fmt, ...)
{
	const char *h = getenv("HAQ_CLUSTER");
	char args[512];
	char cmd[2048];
	va_list ap;
	int rc;

	if (!h || !priv_dir[0]) {
		return -1;
	}
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "HAQ_QUIET=1 '%s' --dir '%s' %s", h,
		 priv_dir, args);
	rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void
priv_start(void)
{
	const char *tmp = getenv("TMPDIR");
	const char *h = getenv("HAQ_CLUSTER");
	char cmd[2048];
	int rc;

	if (!h) {
		return; /* the private tests fail and say why */
	}
	if (snprintf(priv_root, sizeof(priv_root), "%s/haq-misuse.XXXXXX",
		     tmp && *tmp ? tmp : "/tmp") >= (int)sizeof(priv_root)) {
		fprintf(stderr, "check_misuse: TMPDIR is too long\n");
		return;
	}
	if (!mkdtemp(priv_root)) {
		perror("mkdtemp");
		return;
	}
	snprintf(priv_dir, sizeof(priv_dir), "%s/cluster", priv_root);
	/*
	 * --owner: should this process die, "haq-cluster gc" destroys the
	 * cluster. A short token makes the quorum tests quick.
	 */
	snprintf(cmd, sizeof(cmd),
		 "HAQ_QUIET=1 '%s' start 2 --dir '%s' --token 500 --owner %d "
		 ">/dev/null",
		 h, priv_dir, (int)getpid());
	rc = system(cmd);
	if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
		fprintf(stderr, "check_misuse: the private cluster did not "
				"start\n");
		rmdir(priv_root);
		priv_dir[0] = '\0';
	}
}

static void
priv_destroy(void)
{
	if (!priv_dir[0]) {
		return;
	}
	priv_cmd("destroy");
	rmdir(priv_root);
}

static void
enter_netns(const char *ns)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_msg(setns(fd, CLONE_NEWNET) == 0, "setns %s: %s", path,
		      strerror(errno));
	close(fd);
}

static void
priv_enter(int k)
{
	char key[32];
	char *ns;

	snprintf(key, sizeof(key), "node%d_ns", k);
	ns = cluster_state_get_in(priv_dir, key);
	ck_assert_msg(ns != NULL, "no private cluster (is HAQ_CLUSTER set?)");
	enter_netns(ns);
	free(ns);
}

/* Bring the private cluster back to 2 quorate members. */
static void
priv_ensure(void)
{
	ck_assert_msg(priv_dir[0], "no private cluster (is HAQ_CLUSTER set?)");
	for (int k = 1; k <= 2; k++) {
		priv_cmd("resume %d >/dev/null 2>&1", k);
		if (priv_cmd("query %d >/dev/null 2>&1", k) != 0) {
			priv_cmd("start-node %d >/dev/null 2>&1", k);
		}
	}
	ck_assert_int_eq(priv_cmd("wait-members 1 2 30"), 0);
	ck_assert_int_eq(priv_cmd("wait-members 2 2 30"), 0);
	ck_assert_int_eq(priv_cmd("wait-quorate 1 yes 30"), 0);
}

/* ------------------------------------------------------------------ */
/* Small helpers                                                      */
/* ------------------------------------------------------------------ */

static bool
int_positive(void *arg)
{
	return *(int *)arg > 0;
}

static bool
has_view(void *arg)
{
	return haq_group_view(arg) != NULL;
}

static void
count_view(haq_group_t *g, const haq_view_t *v, void *ud)
{
	(*(int *)ud)++;
}

static void
count_message(haq_group_t *g, uint32_t nodeid, uint32_t pid, const void *data,
	      size_t len, void *ud)
{
	(*(int *)ud)++;
}

static void
count_config(haq_ctx_t *ctx, const char *key, int event, void *ud)
{
	if (ud) {
		(*(int *)ud)++;
	}
}

/* State transfer callbacks that must never run for a refused call. */
static void
st_provide(haq_group_t *g, uint64_t transfer, void *ud)
{
	(void)g;
	(void)transfer;
	(void)ud;
}

static void
st_writable(haq_group_t *g, uint64_t transfer, void *ud)
{
	(void)g;
	(void)transfer;
	(void)ud;
}

static void
st_chunk(haq_group_t *g, uint64_t transfer, const void *data, size_t len,
	 void *ud)
{
	(void)g;
	(void)transfer;
	(void)data;
	(void)len;
	(void)ud;
}

static void
st_status(haq_group_t *g, uint64_t transfer, int role, int status, int error,
	  void *ud)
{
	(void)g;
	(void)transfer;
	(void)role;
	(void)status;
	(void)error;
	(void)ud;
}

static bool
state_held(void *arg)
{
	return haq_group_state_held(arg) == 1;
}

/* ------------------------------------------------------------------ */
/* NULL and invalid arguments, every public function                  */
/* ------------------------------------------------------------------ */

/*
 * One invalid-argument case (NULL, out of range, unknown) of one public
 * function: the first argument is the call itself, written out, and the
 * macro asserts its documented answer. tests/doc/api-coverage (make check)
 * reads which function each case covers from these macros and fails for
 * an exported function that has none; a function without parameters
 * (haq_version()) has no invalid argument and is exempt.
 */
#define BAD_ARG(call, want) ck_assert_int_eq((call), (want))
#define BAD_ARG_UINT(call, want) ck_assert_uint_eq((call), (want))
#define BAD_ARG_NULL(call) ck_assert_ptr_null(call)
#define BAD_ARG_STR(call, want) ck_assert_str_eq((call), (want))
/* A function without a result: the call must simply be harmless. */
#define BAD_ARG_VOID(call) (call)

START_TEST(test_null_args_without_a_context)
{
	haq_ctx_t *ctx = (haq_ctx_t *)0x1;
	haq_group_t *g = (haq_group_t *)0x1;
	const haq_quorum_t *q = (const haq_quorum_t *)0x1;
	haq_nodelist_t *l = (haq_nodelist_t *)0x1;
	haq_grouplist_t *gl = (haq_grouplist_t *)0x1;
	uint32_t u32 = 7;
	uint64_t u64 = 7;
	size_t len = 7;
	char *s = (char *)0x1;
	struct iovec iov = {(void *)"x", 1};

	ck_assert_uint_eq(haq_version(), HAQ_VERSION_HEX);
	ck_assert_ptr_nonnull(haq_version_string());

	/* Context. */
	BAD_ARG(haq_ctx_new(NULL, NULL), -EINVAL);
	BAD_ARG(haq_ctx_new_flags(NULL, NULL, 0), -EINVAL);
	BAD_ARG(haq_ctx_new_flags(NULL, NULL, HAQ_CTX_ANY_SERVER_UID), -EINVAL);
	BAD_ARG_VOID(haq_ctx_free(NULL));
	BAD_ARG(haq_ctx_set_log(NULL, NULL, NULL), -EINVAL);
	BAD_ARG(haq_ctx_set_connection_cb(NULL, NULL, NULL), -EINVAL);
	BAD_ARG(haq_ctx_set_quorum_cb(NULL, NULL, NULL), -EINVAL);
	BAD_ARG(haq_ctx_fd(NULL), -EINVAL);
	BAD_ARG(haq_ctx_dispatch(NULL), -EINVAL);
	BAD_ARG(haq_ctx_run(NULL), -EINVAL);
	BAD_ARG(haq_ctx_stop(NULL), -EINVAL);
	BAD_ARG(haq_ctx_local_nodeid(NULL, &u32), -EINVAL);
	BAD_ARG(haq_ctx_local_nodeid(NULL, NULL), -EINVAL);
	ck_assert_uint_eq(u32, 7);

	/* Groups. */
	BAD_ARG(haq_group_join(NULL, "g", &g), -EINVAL);
	ck_assert_ptr_eq(g, (haq_group_t *)0x1);
	BAD_ARG(haq_group_leave(NULL), -EINVAL);
	BAD_ARG(haq_group_set_message_cb(NULL, NULL, NULL), -EINVAL);
	BAD_ARG(haq_group_set_view_cb(NULL, NULL, NULL), -EINVAL);
	BAD_ARG(haq_group_set_writable_cb(NULL, NULL, NULL), -EINVAL);
	BAD_ARG(haq_group_set_leader_cb(NULL, NULL, NULL), -EINVAL);
	BAD_ARG(haq_group_set_uncertain_cb(NULL, NULL, NULL), -EINVAL);
	BAD_ARG_UINT(haq_group_next_id(NULL), 0);
	BAD_ARG(haq_group_send(NULL, "x", 1), -EINVAL);
	BAD_ARG(haq_group_sendv(NULL, &iov, 1), -EINVAL);
	BAD_ARG(haq_group_send_zc(NULL, (void *)"x", 1, NULL, NULL), -EINVAL);
	BAD_ARG(haq_group_set_queue_limit(NULL, 1u << 30), -EINVAL);
	BAD_ARG(haq_group_set_max_message(NULL, 1), -EINVAL);
	BAD_ARG(haq_group_set_bundle(NULL, HAQ_BUNDLE_DEFAULT), -EINVAL);
	BAD_ARG(haq_group_set_bundle(NULL, 0), -EINVAL);
	BAD_ARG(haq_group_set_compress(NULL, 4096), -EINVAL);
	BAD_ARG(haq_group_queued(NULL, NULL, NULL), -EINVAL);
	BAD_ARG_NULL(haq_group_name(NULL));
	BAD_ARG_NULL(haq_group_ctx(NULL));
	BAD_ARG_NULL(haq_group_view(NULL));
	BAD_ARG(haq_group_leader(NULL, &u32, &u32, &u64), -EINVAL);
	BAD_ARG(haq_group_leader_state(NULL), -EINVAL);
	BAD_ARG(haq_group_resign(NULL), -EINVAL);
	BAD_ARG(haq_group_set_eligible(NULL, 1), -EINVAL);
	BAD_ARG(haq_group_lease(NULL, &u64), -EINVAL);
	BAD_ARG(haq_group_leader_timing(NULL, HAQ_TIMING_LEASE, &u32), -EINVAL);
	BAD_ARG(haq_group_counter(NULL, HAQ_COUNTER_SENT, &u64), -EINVAL);
	BAD_ARG(haq_group_set_state_cbs(NULL, st_provide, st_writable, st_chunk,
					st_status, NULL),
		-EINVAL);
	BAD_ARG(haq_group_state_write(NULL, 1, "x", 1), -EINVAL);
	BAD_ARG(haq_group_state_end(NULL, 1, 0), -EINVAL);
	BAD_ARG(haq_group_state_limit(NULL, HAQ_STATE_STALL, 1000), -EINVAL);
	BAD_ARG(haq_group_state_held(NULL), -EINVAL);
	ck_assert_uint_eq(u64, 7);
	BAD_ARG(haq_group_set_request_cbs(NULL, NULL, NULL, NULL), -EINVAL);
	BAD_ARG(haq_group_request(NULL, HAQ_REQUEST_NONE, "x", 1, 0, NULL,
				  NULL, &u64),
		-EINVAL);
	ck_assert_uint_eq(u64, 7);
	BAD_ARG(haq_group_reply(NULL, 1, 0, NULL, 0), -EINVAL);
	BAD_ARG(haq_group_request_cancel(NULL, 1), -EINVAL);
	BAD_ARG(haq_group_set_lock_cb(NULL, NULL, NULL), -EINVAL);
	BAD_ARG(haq_group_lock(NULL, "x", 0), -EINVAL);
	BAD_ARG(haq_group_unlock(NULL, "x"), -EINVAL);
	BAD_ARG(haq_group_lock_held(NULL, "x", &u64, &u64), -EINVAL);
	ck_assert_uint_eq(u64, 7);

	/* Views. */
	BAD_ARG(haq_view_ring(NULL, &u32, &u64), -EINVAL);
	BAD_ARG_UINT(haq_view_seq(NULL), 0);
	BAD_ARG(haq_view_quorate(NULL), -EINVAL);
	BAD_ARG_UINT(haq_view_member_count(NULL), 0);
	BAD_ARG(haq_view_member(NULL, 0, &u32, &u32), -EINVAL);
	BAD_ARG_UINT(haq_view_joined_count(NULL), 0);
	BAD_ARG(haq_view_joined(NULL, 0, NULL, NULL, NULL), -EINVAL);
	BAD_ARG_UINT(haq_view_left_count(NULL), 0);
	BAD_ARG(haq_view_left(NULL, 0, NULL, NULL, NULL), -EINVAL);

	/* Quorum. */
	BAD_ARG(haq_quorum_get(NULL, &q), -EINVAL);
	ck_assert_ptr_eq(q, (const haq_quorum_t *)0x1);
	BAD_ARG(haq_quorum_quorate(NULL), -EINVAL);
	BAD_ARG(haq_quorum_ring(NULL, &u32, &u64), -EINVAL);
	BAD_ARG(haq_quorum_votes(NULL, &u32, &u32, &u32), -EINVAL);
	BAD_ARG_UINT(haq_quorum_node_count(NULL), 0);
	BAD_ARG(haq_quorum_node(NULL, 0, &u32, &u32), -EINVAL);

	/* Configuration. */
	BAD_ARG(haq_config_get_string(NULL, "totem.token", &s), -EINVAL);
	ck_assert_ptr_eq(s, (char *)0x1);
	BAD_ARG(haq_config_get_u32(NULL, "totem.token", &u32), -EINVAL);
	BAD_ARG(haq_config_get_u64(NULL, "totem.token", &u64), -EINVAL);
	BAD_ARG(haq_config_cluster_name(NULL, &s), -EINVAL);
	BAD_ARG(haq_config_nodelist(NULL, &l), -EINVAL);
	ck_assert_ptr_eq(l, (haq_nodelist_t *)0x1);
	BAD_ARG_VOID(haq_nodelist_free(NULL));
	BAD_ARG_UINT(haq_nodelist_count(NULL), 0);
	BAD_ARG(haq_nodelist_node(NULL, 0, &u32, NULL), -EINVAL);
	BAD_ARG_UINT(haq_nodelist_addr_count(NULL, 0), 0);
	BAD_ARG_NULL(haq_nodelist_addr(NULL, 0, 0));
	BAD_ARG(haq_config_track(NULL, "totem.", count_config, NULL, &u64),
		-EINVAL);
	BAD_ARG(haq_config_untrack(NULL, 1), -EINVAL);
	ck_assert_uint_eq(u32, 7);
	ck_assert_uint_eq(u64, 7);

	/* Group lists. */
	BAD_ARG(haq_ctx_groups(NULL, &gl), -EINVAL);
	ck_assert_ptr_eq(gl, (haq_grouplist_t *)0x1);
	BAD_ARG_VOID(haq_grouplist_free(NULL));
	BAD_ARG_UINT(haq_grouplist_count(NULL), 0);
	BAD_ARG_NULL(haq_grouplist_name(NULL, 0, &len));
	ck_assert_uint_eq(len, 7);
	BAD_ARG_UINT(haq_grouplist_member_count(NULL, 0), 0);
	BAD_ARG(haq_grouplist_member(NULL, 0, 0, &u32, &u32), -EINVAL);
	ck_assert_uint_eq(u32, 7);

	/* Errors and reasons: every value has an answer. */
	BAD_ARG_STR(haq_strerror(INT_MIN), "unknown error");
	BAD_ARG_STR(haq_reason_str(INT_MIN), "unknown");
	BAD_ARG(haq_group_set_send_failed_cb(NULL, NULL, NULL), -EINVAL);
	(void)ctx;
}
END_TEST

/* A release callback that must never run for a refused buffer. */
static void
count_release(void *data, void *ud)
{
	(void)data;
	(*(int *)ud) += 1000;
}

static void
rr_reply_stub(haq_group_t *g, uint64_t request, uint32_t nodeid, uint32_t pid,
	      int status, const void *data, size_t len, void *ud)
{
	(void)g, (void)request, (void)nodeid, (void)pid, (void)status;
	(void)data, (void)len, (void)ud;
}

static void
rr_request_stub(haq_group_t *g, uint64_t request, uint32_t nodeid,
		uint32_t pid, const void *data, size_t len, void *ud)
{
	(void)g, (void)request, (void)nodeid, (void)pid, (void)data;
	(void)len, (void)ud;
}

static void
lock_stub(haq_group_t *g, const char *name, int status, uint64_t token,
	  void *ud)
{
	(void)g, (void)name, (void)status, (void)token, (void)ud;
}

static void
rr_cancel_stub(haq_group_t *g, uint64_t request, int reason, void *ud)
{
	(void)g, (void)request, (void)reason, (void)ud;
}

START_TEST(test_invalid_args_with_a_context)
{
	haq_ctx_t *ctx;
	haq_group_t *g, *g2 = (haq_group_t *)0x1;
	const haq_view_t *v;
	const haq_quorum_t *q;
	haq_nodelist_t *l;
	char name[HAQ_GROUP_NAME_MAX + 2];
	char key[KEY_MAX + 2];
	char gname[64];
	uint32_t u32 = 7;
	uint64_t u64 = 7;
	char *s = (char *)0x1;
	size_t bytes, msgs, n, len = 7;
	haq_grouplist_t *gl;
	int rc;
	struct iovec bad[2] = {{(void *)"x", 1}, {NULL, 1}};
	struct iovec empty[2] = {{NULL, 0}, {(void *)"x", 0}};
	struct iovec huge[2] = {{(void *)"x", SIZE_MAX / 2 + 1},
				{(void *)"y", SIZE_MAX / 2 + 1}};
	int views = 0;

	cluster_enter_node(1);
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	BAD_ARG(haq_ctx_local_nodeid(ctx, NULL), -EINVAL);
	ck_assert_int_eq(haq_ctx_local_nodeid(ctx, &u32), 0);
	ck_assert_uint_eq(u32, 1);
	ck_assert_int_eq(haq_ctx_set_log(ctx, NULL, NULL), 0);
	ck_assert_int_eq(haq_ctx_set_connection_cb(ctx, NULL, NULL), 0);
	ck_assert_int_eq(haq_ctx_set_quorum_cb(ctx, NULL, NULL), 0);
	/* Stopping a context that does not run is harmless. */
	ck_assert_int_eq(haq_ctx_stop(ctx), 0);

	/* Join: NULL name or result, empty name, 129 bytes. */
	BAD_ARG(haq_group_join(ctx, NULL, &g2), -EINVAL);
	BAD_ARG(haq_group_join(ctx, "g", NULL), -EINVAL);
	BAD_ARG(haq_group_join(ctx, "", &g2), -EINVAL);
	memset(name, 'm', sizeof(name));
	name[HAQ_GROUP_NAME_MAX + 1] = '\0';
	BAD_ARG(haq_group_join(ctx, name, &g2), -ENAMETOOLONG);
	ck_assert_ptr_eq(g2, (haq_group_t *)0x1);

	unique_group(gname, sizeof(gname), "args");
	ck_assert_int_eq(haq_group_join(ctx, gname, &g), 0);
	haq_group_set_view_cb(g, count_view, &views);
	/* Before the first view: no view, no leader. */
	ck_assert_ptr_null(haq_group_view(g));
	ck_assert_int_eq(haq_group_leader(g, NULL, NULL, NULL), -ENOENT);
	ck_assert_int_eq(haq_group_leader_state(g), HAQ_LEADER_NONE);
	/* Leadership before the join completed. */
	BAD_ARG(haq_group_resign(g), -EPERM);
	BAD_ARG(haq_group_set_eligible(g, 2), -EINVAL);
	BAD_ARG(haq_group_set_eligible(g, -1), -EINVAL);
	{
		uint64_t deadline = 7;

		ck_assert_int_eq(haq_group_lease(g, &deadline), 0);
		ck_assert_uint_eq(deadline, 0);
	}
	ck_assert_int_eq(haq_group_lease(g, NULL), 0);
	BAD_ARG(haq_group_leader_timing(g, HAQ_TIMING_LEASE, &u32), -EAGAIN);
	BAD_ARG(haq_group_leader_timing(g, -1, &u32), -EINVAL);
	BAD_ARG(haq_group_leader_timing(g, HAQ_TIMING_MARGIN + 1, &u32),
		-EINVAL);
	BAD_ARG(haq_group_leader_timing(g, HAQ_TIMING_LEASE, NULL), -EINVAL);
	/* Eligibility may be set before: the join starts with it. */
	ck_assert_int_eq(haq_group_set_eligible(g, 1), 0);

	/* Send. */
	BAD_ARG(haq_group_send(g, NULL, 1), -EINVAL);
	BAD_ARG(haq_group_send(g, "x", 0), -EINVAL);
	BAD_ARG(haq_group_sendv(g, NULL, 1), -EINVAL);
	BAD_ARG(haq_group_sendv(g, bad, 0), -EINVAL);
	BAD_ARG(haq_group_sendv(g, bad, 2), -EINVAL);
	BAD_ARG(haq_group_sendv(g, empty, 2), -EINVAL);
	BAD_ARG(haq_group_sendv(g, huge, 2), -EMSGSIZE);
	/* A refused borrowed buffer stays the caller's: no release. */
	BAD_ARG(haq_group_send_zc(g, NULL, 1, count_release, &views), -EINVAL);
	BAD_ARG(haq_group_send_zc(g, name, 0, count_release, &views), -EINVAL);
	BAD_ARG(haq_group_send_zc(g, name, HAQ_MESSAGE_MAX_DEFAULT + 1u,
				  count_release, &views),
		-EMSGSIZE);
	ck_assert_int_eq(views, 0);
	/* Nothing was accepted by the failed calls. */
	ck_assert_uint_eq(haq_group_next_id(g), 1);
	ck_assert_int_eq(haq_group_queued(g, NULL, NULL), 0);
	ck_assert_int_eq(haq_group_queued(g, &bytes, &msgs), 0);
	ck_assert_uint_eq(bytes, 0);
	ck_assert_uint_eq(msgs, 0);

	/* Limits: 1.. each, and independent of each other. */
	BAD_ARG(haq_group_set_max_message(g, 0), -EINVAL);
	BAD_ARG(haq_group_set_max_message(g, SIZE_MAX / 2 + 1), -EINVAL);
	BAD_ARG(haq_group_set_queue_limit(g, 0), -EINVAL);
	/* Bundles: 0 (off) or HAQ_BUNDLE_MIN..HAQ_MESSAGE_FRAME_MAX. */
	BAD_ARG(haq_group_set_bundle(g, 1), -EINVAL);
	BAD_ARG(haq_group_set_bundle(g, HAQ_BUNDLE_MIN - 1), -EINVAL);
	BAD_ARG(haq_group_set_bundle(g, HAQ_MESSAGE_FRAME_MAX + 1), -EINVAL);
	BAD_ARG(haq_group_set_bundle(g, SIZE_MAX), -EINVAL);
	ck_assert_int_eq(haq_group_set_bundle(g, 0), 0);
	ck_assert_int_eq(haq_group_set_bundle(g, HAQ_BUNDLE_MIN), 0);
	ck_assert_int_eq(haq_group_set_bundle(g, HAQ_BUNDLE_DEFAULT), 0);
	/* Compression: 0 (off) or HAQ_COMPRESS_MIN and up. */
	BAD_ARG(haq_group_set_compress(g, 1), -EINVAL);
	BAD_ARG(haq_group_set_compress(g, HAQ_COMPRESS_MIN - 1), -EINVAL);
	ck_assert_int_eq(haq_group_set_compress(g, HAQ_COMPRESS_MIN), 0);
	ck_assert_int_eq(haq_group_set_compress(g, 0), 0);
	ck_assert_int_eq(haq_group_set_max_message(g, 10), 0);
	BAD_ARG(haq_group_send(g, "0123456789a", 11), -EMSGSIZE);
	/*
	 * A queue limit below the message size: the empty queue still takes
	 * one message (not joined yet, so it stays queued), then it is full.
	 */
	ck_assert_int_eq(haq_group_set_queue_limit(g, 1), 0);
	ck_assert_int_eq(haq_group_send(g, "0123456789", 10), 0);
	ck_assert_int_eq(haq_group_send(g, "x", 1), -ENOBUFS);
	ck_assert_int_eq(haq_group_queued(g, NULL, &msgs), 0);
	ck_assert_uint_eq(msgs, 1);
	ck_assert_int_eq(haq_group_set_queue_limit(g, HAQ_QUEUE_LIMIT_DEFAULT),
			 0);
	ck_assert_int_eq(haq_group_set_max_message(g, HAQ_MESSAGE_MAX_DEFAULT),
			 0);

	/* Counters. */
	BAD_ARG(haq_group_counter(g, -1, &u64), -EINVAL);
	BAD_ARG(haq_group_counter(g, HAQ_COUNTER_LOCK_MALFORMED + 1, &u64),
		-EINVAL);
	BAD_ARG(haq_group_counter(g, HAQ_COUNTER_SENT, NULL), -EINVAL);
	ck_assert_uint_eq(u64, 7);
	for (int c = HAQ_COUNTER_SENT; c <= HAQ_COUNTER_LOCK_MALFORMED; c++) {
		ck_assert_int_eq(haq_group_counter(g, c, &u64), 0);
	}

	/* State transfer, on a group of its own, before its first view. */
	{
		haq_group_t *gs;
		char sname[64];

		unique_group(sname, sizeof(sname), "args-state");
		ck_assert_int_eq(haq_group_join(ctx, sname, &gs), 0);
		/* Not taking part (haq_group_set_state_cbs() not called). */
		BAD_ARG(haq_group_state_held(gs), -EINVAL);
		BAD_ARG(haq_group_state_write(gs, 1, "x", 1), -EINVAL);
		BAD_ARG(haq_group_state_end(gs, 1, 0), -EINVAL);
		/* Every callback is required. */
		BAD_ARG(haq_group_set_state_cbs(gs, NULL, st_writable, st_chunk,
						st_status, NULL),
			-EINVAL);
		BAD_ARG(haq_group_set_state_cbs(gs, st_provide, NULL, st_chunk,
						st_status, NULL),
			-EINVAL);
		BAD_ARG(haq_group_set_state_cbs(gs, st_provide, st_writable,
						NULL, st_status, NULL),
			-EINVAL);
		BAD_ARG(haq_group_set_state_cbs(gs, st_provide, st_writable,
						st_chunk, NULL, NULL),
			-EINVAL);
		BAD_ARG(haq_group_state_held(gs), -EINVAL);
		/* Limits: unknown, and each one's range, both ends. */
		BAD_ARG(haq_group_state_limit(gs, -1, 1000), -EINVAL);
		BAD_ARG(haq_group_state_limit(gs, HAQ_STATE_STALL + 1, 1000),
			-EINVAL);
		BAD_ARG(haq_group_state_limit(gs, HAQ_STATE_MAX_SIZE, 0),
			-EINVAL);
		BAD_ARG(haq_group_state_limit(gs, HAQ_STATE_MAX_SIZE,
					      (1ull << 48) + 1),
			-EINVAL);
		BAD_ARG(haq_group_state_limit(gs, HAQ_STATE_BUFFER,
					      (1ull << 20) - 1),
			-EINVAL);
		BAD_ARG(haq_group_state_limit(gs, HAQ_STATE_BUFFER,
					      (1ull << 48) + 1),
			-EINVAL);
		BAD_ARG(haq_group_state_limit(gs, HAQ_STATE_STALL, 99),
			-EINVAL);
		BAD_ARG(haq_group_state_limit(gs, HAQ_STATE_STALL, 3600001),
			-EINVAL);
		ck_assert_int_eq(
			haq_group_state_limit(gs, HAQ_STATE_MAX_SIZE, 1), 0);
		ck_assert_int_eq(haq_group_state_limit(gs, HAQ_STATE_MAX_SIZE,
						       1ull << 48),
				 0);
		ck_assert_int_eq(
			haq_group_state_limit(gs, HAQ_STATE_BUFFER, 1ull << 20),
			0);
		ck_assert_int_eq(
			haq_group_state_limit(gs, HAQ_STATE_STALL, 100), 0);
		ck_assert_int_eq(
			haq_group_state_limit(gs, HAQ_STATE_STALL, 3600000), 0);
		ck_assert_int_eq(haq_group_set_state_cbs(gs, st_provide,
							 st_writable, st_chunk,
							 st_status, NULL),
				 0);
		BAD_ARG(haq_group_set_state_cbs(gs, st_provide, st_writable,
						st_chunk, st_status, NULL),
			-EALREADY);
		/* No transfer of this process: nothing to write or end. */
		BAD_ARG(haq_group_state_write(gs, 1, NULL, 1), -EINVAL);
		BAD_ARG(haq_group_state_write(gs, 0, "x", 1), -ESTALE);
		BAD_ARG(haq_group_state_write(gs, 1, "x", 1), -ESTALE);
		BAD_ARG(haq_group_state_end(gs, 1, 1), -EINVAL);
		BAD_ARG(haq_group_state_end(gs, 1, -4096), -EINVAL);
		BAD_ARG(haq_group_state_end(gs, 0, 0), -ESTALE);
		BAD_ARG(haq_group_state_end(gs, 1, -EIO), -ESTALE);
		/* Alone in the group: it holds the state from its view on. */
		ck_assert_int_eq(haq_group_state_held(gs), 0);
		ck_assert(pump_until(&ctx, 1, 10000, state_held, gs));
		ck_assert_int_ge(haq_group_leave(gs), 0);
	}

	/* Views: indexes out of range. */
	ck_assert(pump_until(&ctx, 1, 10000, has_view, g));
	/* Too late to take part in state transfer: a member already. */
	BAD_ARG(haq_group_set_state_cbs(g, st_provide, st_writable, st_chunk,
					st_status, NULL),
		-EISCONN);
	v = haq_group_view(g);
	ck_assert_uint_eq(haq_view_member_count(v), 1);
	ck_assert_int_eq(haq_view_member(v, 0, NULL, NULL), 0);
	BAD_ARG(haq_view_member(v, 1, &u32, NULL), -EINVAL);
	BAD_ARG(haq_view_member(v, SIZE_MAX, NULL, NULL), -EINVAL);
	BAD_ARG(haq_view_joined(v, haq_view_joined_count(v), NULL, NULL, NULL),
		-EINVAL);
	BAD_ARG(haq_view_left(v, haq_view_left_count(v), NULL, NULL, NULL),
		-EINVAL);
	ck_assert_int_eq(haq_view_ring(v, NULL, NULL), 0);
	ck_assert_int_ge(haq_view_quorate(v), 0);

	/* Quorum: NULL result, indexes out of range, NULL outputs. */
	BAD_ARG(haq_quorum_get(ctx, NULL), -EINVAL);
	ck_assert_int_eq(haq_quorum_get(ctx, &q), 0);
	ck_assert_int_eq(haq_quorum_ring(q, NULL, NULL), 0);
	ck_assert_int_eq(haq_quorum_votes(q, NULL, NULL, NULL), 0);
	BAD_ARG(haq_quorum_node(q, haq_quorum_node_count(q), &u32, NULL),
		-EINVAL);
	ck_assert_int_eq(haq_quorum_node(q, 0, NULL, NULL), 0);

	/* Configuration: NULL results, keys too short or too long. */
	BAD_ARG(haq_config_get_string(ctx, NULL, &s), -EINVAL);
	BAD_ARG(haq_config_get_string(ctx, "totem.token", NULL), -EINVAL);
	BAD_ARG(haq_config_get_string(ctx, "ab", &s), -EINVAL);
	BAD_ARG(haq_config_get_u32(ctx, "", &u32), -EINVAL);
	memset(key, 'k', sizeof(key));
	key[KEY_MAX + 1] = '\0';
	BAD_ARG(haq_config_get_u64(ctx, key, &u64), -EINVAL);
	BAD_ARG(haq_config_get_u32(ctx, key, &u32), -EINVAL);
	ck_assert_ptr_eq(s, (char *)0x1);
	BAD_ARG(haq_config_cluster_name(ctx, NULL), -EINVAL);
	BAD_ARG(haq_config_nodelist(ctx, NULL), -EINVAL);
	ck_assert_int_eq(haq_config_nodelist(ctx, &l), 0);
	BAD_ARG(haq_nodelist_node(l, haq_nodelist_count(l), NULL, NULL),
		-EINVAL);
	BAD_ARG_UINT(haq_nodelist_addr_count(l, SIZE_MAX), 0);
	BAD_ARG_NULL(haq_nodelist_addr(l, 0, SIZE_MAX));
	BAD_ARG_NULL(haq_nodelist_addr(l, SIZE_MAX, 0));
	haq_nodelist_free(l);
	BAD_ARG(haq_config_track(ctx, NULL, count_config, NULL, NULL), -EINVAL);
	BAD_ARG(haq_config_track(ctx, "", count_config, NULL, NULL), -EINVAL);
	BAD_ARG(haq_config_track(ctx, key, count_config, NULL, NULL), -EINVAL);
	BAD_ARG(haq_config_track(ctx, "totem.", NULL, NULL, NULL), -EINVAL);
	/* The id is optional; an unknown id is -ENOENT. */
	ck_assert_int_eq(
		haq_config_track(ctx, "totem.", count_config, NULL, NULL), 0);
	BAD_ARG(haq_config_untrack(ctx, 0), -ENOENT);
	BAD_ARG(haq_config_untrack(ctx, UINT64_MAX), -ENOENT);

	/* Group lists: NULL result, indexes out of range. */
	BAD_ARG(haq_ctx_groups(ctx, NULL), -EINVAL);
	do {
		rc = haq_ctx_groups(ctx, &gl);
	} while (rc == -EAGAIN && pump_until(&ctx, 1, 100, NULL, NULL) == 0);
	ck_assert_int_eq(rc, 0);
	n = haq_grouplist_count(gl);
	ck_assert_uint_ge(n, 1); /* ours, at least */
	BAD_ARG_NULL(haq_grouplist_name(gl, n, &len));
	BAD_ARG_NULL(haq_grouplist_name(gl, SIZE_MAX, NULL));
	BAD_ARG_UINT(haq_grouplist_member_count(gl, n), 0);
	BAD_ARG(haq_grouplist_member(gl, n, 0, &u32, NULL), -EINVAL);
	BAD_ARG(haq_grouplist_member(gl, 0, haq_grouplist_member_count(gl, 0),
				     &u32, NULL),
		-EINVAL);
	ck_assert_uint_eq(len, 7);
	haq_grouplist_free(gl);

	/* Request/reply. */
	ck_assert_int_eq(haq_group_join(ctx, "misuse-rr", &g), 0);
	BAD_ARG(haq_group_set_request_cbs(g, NULL, rr_cancel_stub, NULL),
		-EINVAL);
	ck_assert_int_eq(haq_group_set_request_cbs(g, rr_request_stub,
						   rr_cancel_stub, NULL),
			 0);
	u64 = 7;
	BAD_ARG(haq_group_request(g, -1, "x", 1, 0, rr_reply_stub, NULL, &u64),
		-EINVAL);
	BAD_ARG(haq_group_request(g, HAQ_REQUEST_MAJORITY + 1, "x", 1, 0,
				  rr_reply_stub, NULL, &u64),
		-EINVAL);
	/* A mode that waits for replies needs the callback. */
	BAD_ARG(haq_group_request(g, HAQ_REQUEST_FIRST, "x", 1, 0, NULL, NULL,
				  &u64),
		-EINVAL);
	BAD_ARG(haq_group_request(g, HAQ_REQUEST_ALL, NULL, 1, 0,
				  rr_reply_stub, NULL, &u64),
		-EINVAL);
	BAD_ARG(haq_group_request(g, HAQ_REQUEST_ALL, "x",
				  HAQ_REQUEST_DATA_MAX + 1, 0, rr_reply_stub,
				  NULL, &u64),
		-EMSGSIZE);
	ck_assert_int_eq(haq_group_set_max_message(g, 4096), 0);
	BAD_ARG(haq_group_request(g, HAQ_REQUEST_NONE, "x", 4097, 0, NULL,
				  NULL, &u64),
		-EMSGSIZE);
	ck_assert_uint_eq(u64, 7);
	BAD_ARG(haq_group_reply(g, 0, 0, NULL, 0), -EINVAL);
	BAD_ARG(haq_group_reply(g, 1, 1, NULL, 0), -EINVAL);
	BAD_ARG(haq_group_reply(g, 1, -4096, NULL, 0), -EINVAL);
	BAD_ARG(haq_group_reply(g, 1, 0, NULL, 1), -EINVAL);
	BAD_ARG(haq_group_reply(g, 1, 0, NULL, 0), -ENOENT);
	BAD_ARG(haq_group_reply(g, UINT64_MAX, 0, NULL, 0), -ENOENT);
	BAD_ARG(haq_group_request_cancel(g, 0), -EINVAL);
	BAD_ARG(haq_group_request_cancel(g, 1), -ENOENT);
	/* Complete or cancelled: not pending any more. */
	ck_assert_int_eq(haq_group_request(g, HAQ_REQUEST_ALL, "x", 1, 0,
					   rr_reply_stub, NULL, &u64),
			 0);
	ck_assert_int_eq(haq_group_request_cancel(g, u64), 0);
	BAD_ARG(haq_group_request_cancel(g, u64), -ENOENT);

	/* Locks. */
	{
		char longname[HAQ_LOCK_NAME_MAX + 2];
		uint64_t dl = 7;

		memset(longname, 'n', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		u64 = 7;
		/* No callback yet: nobody would be told. */
		BAD_ARG(haq_group_lock(g, "x", 0), -EINVAL);
		ck_assert_int_eq(haq_group_set_lock_cb(g, lock_stub, NULL), 0);
		BAD_ARG(haq_group_lock(g, NULL, 0), -EINVAL);
		BAD_ARG(haq_group_lock(g, "", 0), -EINVAL);
		BAD_ARG(haq_group_lock(g, longname, 0), -ENAMETOOLONG);
		BAD_ARG(haq_group_lock(g, "x", HAQ_LOCK_TRY << 1), -EINVAL);
		BAD_ARG(haq_group_unlock(g, NULL), -EINVAL);
		BAD_ARG(haq_group_unlock(g, ""), -EINVAL);
		BAD_ARG(haq_group_unlock(g, longname), -ENAMETOOLONG);
		BAD_ARG(haq_group_unlock(g, "x"), -ENOENT);
		BAD_ARG(haq_group_lock_held(g, NULL, &u64, &dl), -EINVAL);
		BAD_ARG(haq_group_lock_held(g, longname, &u64, &dl),
			-ENAMETOOLONG);
		ck_assert_uint_eq(u64, 7);
		ck_assert_uint_eq(dl, 7);
		ck_assert_int_eq(haq_group_lock_held(g, "x", &u64, &dl), 0);
		ck_assert_uint_eq(u64, 0);
		ck_assert_uint_eq(dl, 0);
		/* Asked twice; the callback kept while a request waits. */
		ck_assert_int_eq(haq_group_lock(g, "x", 0), 0);
		BAD_ARG(haq_group_lock(g, "x", HAQ_LOCK_TRY), -EALREADY);
		BAD_ARG(haq_group_set_lock_cb(g, NULL, NULL), -EBUSY);
		ck_assert_int_eq(haq_group_unlock(g, "x"), 0);
		BAD_ARG(haq_group_unlock(g, "x"), -ENOENT);
		ck_assert_int_eq(haq_group_set_lock_cb(g, NULL, NULL), 0);
	}
	ck_assert_int_ge(haq_group_leave(g), 0);
	haq_ctx_free(ctx);
}
END_TEST

START_TEST(test_config_wrong_types)
{
	haq_ctx_t *ctx;
	char key[96], cmd[640];
	uint32_t u32 = 7;
	uint64_t u64 = 7;
	char *s = (char *)0x1;

	cluster_enter_node(1);
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	snprintf(key, sizeof(key), "haqtest.misuse%d", (int)getpid());
	snprintf(cmd, sizeof(cmd),
		 "exec 1 -- sh -c 'corosync-cmapctl -s %s.u64 u64 "
		 "18446744073709551615 && corosync-cmapctl -s %s.i32 i32 5 && "
		 "corosync-cmapctl -s %s.str str abc && "
		 "corosync-cmapctl -s %s.long str "
		 "0123456789abcdefghijklmnopqrstuvwxyz' >/dev/null",
		 key, key, key, key);
	ck_assert_int_eq(cluster_cmd(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s.u64", key);
	ck_assert_int_eq(haq_config_get_u32(ctx, cmd, &u32), -EPROTOTYPE);
	ck_assert_int_eq(haq_config_get_string(ctx, cmd, &s), -EPROTOTYPE);
	ck_assert_int_eq(haq_config_get_u64(ctx, cmd, &u64), 0);
	ck_assert_uint_eq(u64, UINT64_MAX);
	snprintf(cmd, sizeof(cmd), "%s.i32", key);
	ck_assert_int_eq(haq_config_get_u32(ctx, cmd, &u32), -EPROTOTYPE);
	ck_assert_int_eq(haq_config_get_u64(ctx, cmd, &u64), -EPROTOTYPE);
	/* Strings short enough to fit an integer, and longer ones. */
	snprintf(cmd, sizeof(cmd), "%s.str", key);
	ck_assert_int_eq(haq_config_get_u32(ctx, cmd, &u32), -EPROTOTYPE);
	ck_assert_int_eq(haq_config_get_u64(ctx, cmd, &u64), -EPROTOTYPE);
	snprintf(cmd, sizeof(cmd), "%s.long", key);
	ck_assert_int_eq(haq_config_get_u32(ctx, cmd, &u32), -EPROTOTYPE);
	ck_assert_int_eq(haq_config_get_u64(ctx, cmd, &u64), -EPROTOTYPE);
	ck_assert_int_eq(haq_config_get_string(ctx, cmd, &s), 0);
	ck_assert_str_eq(s, "0123456789abcdefghijklmnopqrstuvwxyz");
	free(s);
	ck_assert_uint_eq(u32, 7);
	ck_assert_uint_eq(u64, UINT64_MAX);
	snprintf(cmd, sizeof(cmd),
		 "exec 1 -- corosync-cmapctl -D %s >/dev/null", key);
	cluster_cmd(cmd);
	haq_ctx_free(ctx);
}
END_TEST

START_TEST(test_strerror_total)
{
	static const int documented[] = {
		EINVAL,	      ECONNREFUSED, ENOTCONN, EACCES,	  EPERM,
		ENAMETOOLONG, EEXIST,	    EMSGSIZE, ENOBUFS,	  EAGAIN,
		ENOMEM,	      EMFILE,	    ENOENT,   EPROTOTYPE, EBUSY,
		ECHILD,	      ETIMEDOUT,    EPROTO,   EBADF,	  ENOSPC,
		EINTR,	      ENOTSUP,	    EBADMSG,  EIO,	  EALREADY,
		EISCONN,      ESTALE,	    EFBIG,    EHOSTDOWN,  ECONNRESET,
		ENODATA,      ENOLCK,	    ETIME,
	};

	/* Every value gives a sentence, extremes included. */
	for (int e = -4096; e <= 4096; e++) {
		ck_assert_ptr_nonnull(haq_strerror(e));
	}
	ck_assert_ptr_nonnull(haq_strerror(INT_MAX));
	ck_assert_ptr_nonnull(haq_strerror(-INT_MAX));
	ck_assert_ptr_nonnull(haq_strerror(INT_MIN));
	/* Every errno the header documents has a message of its own. */
	for (size_t i = 0; i < sizeof(documented) / sizeof(documented[0]);
	     i++) {
		const char *m = haq_strerror(-documented[i]);

		ck_assert_msg(strcmp(m, "unknown error") != 0,
			      "errno %d has no message", documented[i]);
		ck_assert_str_eq(m, haq_strerror(documented[i]));
	}
	ck_assert_ptr_nonnull(strstr(haq_strerror(-EACCES), "uidgid.d"));
	ck_assert_ptr_nonnull(strstr(haq_strerror(-EPERM), "root"));
	ck_assert_ptr_nonnull(
		strstr(haq_strerror(-ECONNREFUSED), "not running"));
	ck_assert_str_eq(haq_reason_str(0), "unknown");
	ck_assert_str_eq(haq_reason_str(-1), "unknown");
	ck_assert_str_eq(haq_reason_str(INT_MIN), "unknown");
	ck_assert_str_eq(haq_reason_str(HAQ_REASON_PROCDOWN + 1), "unknown");
}
END_TEST

START_TEST(test_unknown_flags)
{
	static const unsigned int bad[] = {
		1u << 1,
		1u << 5,
		1u << 31,
		~0u,
		HAQ_CTX_ANY_SERVER_UID | (1u << 2),
	};
	haq_ctx_t *ctx = (haq_ctx_t *)0x1;
	int fds;

	cluster_enter_node(1);
	fds = fd_count();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(haq_ctx_new_flags(&ctx, NULL, bad[i]),
				 -EINVAL);
		ck_assert_ptr_eq(ctx, (haq_ctx_t *)0x1);
	}
	ck_assert_int_eq(fd_count(), fds);
	/* The known flag and no flag both work against root's corosync. */
	ck_assert_int_eq(haq_ctx_new_flags(&ctx, NULL, HAQ_CTX_ANY_SERVER_UID),
			 0);
	haq_ctx_free(ctx);
	ck_assert_int_eq(haq_ctx_new_flags(&ctx, NULL, 0), 0);
	haq_ctx_free(ctx);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Double joins, calls after a leave                                  */
/* ------------------------------------------------------------------ */

struct rejoin {
	haq_ctx_t *ctx;
	const char *name;
	int step;
	int eexist;
	haq_group_t *again;
	int again_views;
};

static void
rejoin_on_view(haq_group_t *g, const haq_view_t *v, void *ud)
{
	struct rejoin *r = ud;
	haq_group_t *g2 = NULL;

	if (r->step != 0) {
		return;
	}
	r->step = 1;
	/* Still joined: the same name again is refused, from inside too. */
	r->eexist = haq_group_join(r->ctx, r->name, &g2) == -EEXIST;
	/*
	 * Leave, then use the group again inside the same callback: the
	 * release is deferred, so the pointer is safe until the callback
	 * returns, and the left group refuses to work.
	 */
	ck_assert_int_ge(haq_group_leave(g), 0);
	ck_assert_int_eq(haq_group_send(g, "x", 1), -EINVAL);
	ck_assert_int_eq(haq_group_leave(g), -EINVAL);
	ck_assert_int_eq(haq_group_request(g, HAQ_REQUEST_NONE, "x", 1, 0,
					   NULL, NULL, NULL),
			 -EINVAL);
	ck_assert_int_eq(haq_group_reply(g, 1, 0, NULL, 0), -EINVAL);
	ck_assert_int_eq(haq_group_request_cancel(g, 1), -EINVAL);
	ck_assert_int_eq(haq_group_lock(g, "x", 0), -EINVAL);
	ck_assert_int_eq(haq_group_unlock(g, "x"), -EINVAL);
	ck_assert_int_eq(haq_group_lock_held(g, "x", NULL, NULL), -EINVAL);
	ck_assert_int_eq(haq_group_set_lock_cb(g, NULL, NULL), -EINVAL);
	ck_assert_int_eq(haq_group_resign(g), -EINVAL);
	ck_assert_int_eq(haq_group_set_eligible(g, 0), -EINVAL);
	ck_assert_int_eq(haq_group_lease(g, NULL), -EINVAL);
	/* The name is free at once: join it again from inside. */
	ck_assert_int_eq(haq_group_join(r->ctx, r->name, &r->again), 0);
	ck_assert_ptr_ne(r->again, g);
	haq_group_set_view_cb(r->again, count_view, &r->again_views);
}

static bool
rejoined(void *arg)
{
	return ((struct rejoin *)arg)->again_views >= 1;
}

START_TEST(test_double_join_and_calls_after_leave)
{
	haq_ctx_t *ctx, *other_ctx, *node2_ctx;
	haq_group_t *g, *g2 = (haq_group_t *)0x1, *keep, *n2;
	char name[64], kname[64];
	const haq_quorum_t *q;
	struct rejoin r = {0};
	int keep_msgs = 0;
	uint32_t u32;

	unique_group(name, sizeof(name), "dup");
	unique_group(kname, sizeof(kname), "keep");
	cluster_enter_node(1);
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	ck_assert_int_eq(haq_group_join(ctx, name, &g), 0);
	ck_assert_int_eq(haq_group_join(ctx, name, &g2), -EEXIST);
	ck_assert_ptr_eq(g2, (haq_group_t *)0x1);
	ck_assert_int_eq(haq_group_join(ctx, kname, &keep), 0);
	haq_group_set_message_cb(keep, count_message, &keep_msgs);

	/*
	 * corosync itself refuses a second join of one group by the same
	 * process on the same node, even through another context.
	 */
	ck_assert_int_eq(haq_ctx_new(&other_ctx, NULL), 0);
	ck_assert_int_eq(haq_group_join(other_ctx, name, &g2), -EEXIST);
	ck_assert_ptr_eq(g2, (haq_group_t *)0x1);
	haq_ctx_free(other_ctx);
	/* The same process may join it on another node. */
	cluster_enter_node(2);
	ck_assert_int_eq(haq_ctx_new(&node2_ctx, NULL), 0);
	ck_assert_int_eq(haq_group_join(node2_ctx, name, &n2), 0);

	/* Leave outside a callback: the pointer is gone, the context stays. */
	ck_assert_int_eq(haq_group_send(g, "q", 1), 0);
	ck_assert_int_eq(haq_group_leave(g), 1); /* not joined yet: queued */
	ck_assert_int_eq(haq_group_join(ctx, name, &g), 0);
	ck_assert(pump_until(&ctx, 1, 10000, has_view, g));
	ck_assert_int_eq(haq_quorum_get(ctx, &q), 0);
	ck_assert_int_eq(haq_config_get_u32(ctx, "totem.token", &u32), 0);
	ck_assert_int_eq(haq_group_send(keep, "k", 1), 0);
	ck_assert(pump_until(&ctx, 1, 10000, int_positive, &keep_msgs));

	/* Leave and rejoin from inside a view callback. */
	ck_assert_int_eq(haq_group_leave(g), 0);
	r.ctx = ctx;
	r.name = name;
	ck_assert_int_eq(haq_group_join(ctx, name, &g), 0);
	haq_group_set_view_cb(g, rejoin_on_view, &r);
	ck_assert(pump_until(&ctx, 1, 10000, rejoined, &r));
	ck_assert(r.eexist);
	ck_assert_int_eq(haq_group_join(ctx, name, &g2), -EEXIST);
	haq_ctx_free(ctx);
	haq_ctx_free(node2_ctx);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Sending from inside callbacks                                      */
/* ------------------------------------------------------------------ */

#define CHAIN 200
#define MANY_IOV 200

struct chain {
	uint32_t next; /* the value expected next */
	bool in_order;
	int from_view;	 /* messages sent from the view callback */
	int from_leader; /* ... and from the leader callback */
	int gathered_ok; /* the many-buffer message came back whole */
	int done;
};

/*
 * Each message carries a counter; its delivery sends the next one, so
 * CHAIN messages go out from inside message callbacks, the last one
 * gathered from MANY_IOV buffers (more than libcpg's iovec limit).
 */
static void
chain_on_message(haq_group_t *g, uint32_t nodeid, uint32_t pid,
		 const void *data, size_t len, void *ud)
{
	struct chain *c = ud;
	uint32_t v;

	if (len == MANY_IOV) {
		const uint8_t *b = data;
		bool ok = true;

		for (size_t i = 0; i < len; i++) {
			ok = ok && b[i] == (uint8_t)i;
		}
		c->gathered_ok = ok ? 1 : -1;
		c->done = 1;
		return;
	}
	if (len == 1) {
		return; /* from the view or leader callback */
	}
	ck_assert_uint_eq(len, sizeof(v));
	memcpy(&v, data, sizeof(v));
	if (v != c->next) {
		c->in_order = false;
	}
	c->next = v + 1;
	if (v < CHAIN) {
		v++;
		ck_assert_int_eq(haq_group_send(g, &v, sizeof(v)), 0);
	} else {
		static uint8_t bytes[MANY_IOV];
		struct iovec iov[MANY_IOV];

		for (size_t i = 0; i < MANY_IOV; i++) {
			bytes[i] = (uint8_t)i;
			iov[i].iov_base = &bytes[i];
			iov[i].iov_len = 1;
		}
		ck_assert_int_eq(haq_group_sendv(g, iov, MANY_IOV), 0);
	}
}

static void
chain_on_view(haq_group_t *g, const haq_view_t *v, void *ud)
{
	struct chain *c = ud;
	uint32_t first = 1;

	if (c->from_view++ == 0) {
		ck_assert_int_eq(haq_group_send(g, "v", 1), 0);
		ck_assert_int_eq(haq_group_send(g, &first, sizeof(first)), 0);
	}
}

static void
chain_on_leader(haq_group_t *g, int is_leader, uint64_t epoch, uint32_t nodeid,
		uint32_t pid, void *ud)
{
	struct chain *c = ud;

	if (c->from_leader++ == 0) {
		ck_assert_int_eq(haq_group_send(g, "l", 1), 0);
	}
}

static bool
chain_done(void *arg)
{
	return ((struct chain *)arg)->done != 0;
}

START_TEST(test_send_from_inside_callbacks)
{
	haq_ctx_t *ctx;
	haq_group_t *g;
	struct chain c = {.next = 1, .in_order = true};
	char name[64];
	uint64_t delivered = 0;

	cluster_enter_node(1);
	unique_group(name, sizeof(name), "chain");
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	ck_assert_int_eq(haq_group_join(ctx, name, &g), 0);
	haq_group_set_message_cb(g, chain_on_message, &c);
	haq_group_set_view_cb(g, chain_on_view, &c);
	haq_group_set_leader_cb(g, chain_on_leader, &c);
	ck_assert(pump_until(&ctx, 1, 30000, chain_done, &c));
	ck_assert(c.in_order);
	ck_assert_uint_eq(c.next, CHAIN + 1);
	ck_assert_int_eq(c.gathered_ok, 1);
	ck_assert_int_ge(c.from_leader, 1);
	haq_group_counter(g, HAQ_COUNTER_DELIVERED, &delivered);
	/* CHAIN counters, the gathered one, "v" and "l". */
	ck_assert_uint_eq(delivered, CHAIN + 3);
	ck_assert_uint_eq(haq_group_next_id(g), CHAIN + 4);
	haq_ctx_free(ctx);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Calls that are refused inside callbacks                            */
/* ------------------------------------------------------------------ */

static void
reenter_on_view(haq_group_t *g, const haq_view_t *v, void *ud)
{
	haq_ctx_t *ctx = haq_group_ctx(g);

	ck_assert_int_eq(haq_ctx_dispatch(ctx), -EBUSY);
	ck_assert_int_eq(haq_ctx_run(ctx), -EBUSY);
	ck_assert_int_eq(haq_ctx_stop(ctx), 0);
	(*(int *)ud)++;
}

START_TEST(test_reentry_refused)
{
	qb_loop_t *loop = qb_loop_create();
	haq_ctx_t *ctx;
	haq_group_t *g;
	char name[64];
	int views = 0;

	cluster_enter_node(1);
	unique_group(name, sizeof(name), "reenter");
	ck_assert_int_eq(haq_ctx_new(&ctx, loop), 0);
	ck_assert_int_eq(haq_group_join(ctx, name, &g), 0);
	haq_group_set_view_cb(g, reenter_on_view, &views);
	ck_assert_int_eq(haq_ctx_run(ctx), 0);
	ck_assert_int_eq(views, 1);
	haq_ctx_free(ctx);
	qb_loop_destroy(loop);
}
END_TEST

/*
 * A caller's own callback on the same libqb loop is not a libhaq callback:
 * freeing the context there, while haq_ctx_run() is on the stack, must
 * still be safe (haq_ctx_run() returns once the loop stops).
 */
struct foreign {
	haq_ctx_t *ctx;
	qb_loop_t *loop;
	int fired;
};

static void
foreign_timer(void *data)
{
	struct foreign *f = data;

	f->fired++;
	haq_ctx_free(f->ctx);
	qb_loop_stop(f->loop);
}

START_TEST(test_free_from_foreign_callback_while_running)
{
	struct foreign f = {0};
	qb_loop_timer_handle th;
	haq_group_t *g;
	char name[64];

	cluster_enter_node(1);
	unique_group(name, sizeof(name), "foreign");
	f.loop = qb_loop_create();
	ck_assert_int_eq(haq_ctx_new(&f.ctx, f.loop), 0);
	ck_assert_int_eq(haq_group_join(f.ctx, name, &g), 0);
	ck_assert_int_eq(qb_loop_timer_add(f.loop, QB_LOOP_MED,
					   300 * QB_TIME_NS_IN_MSEC, &f,
					   foreign_timer, &th),
			 0);
	ck_assert_int_eq(haq_ctx_run(f.ctx), 0);
	ck_assert_int_eq(f.fired, 1);
	qb_loop_destroy(f.loop);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Leave and free from inside every kind of callback                  */
/* ------------------------------------------------------------------ */

enum kind {
	/* On the shared cluster. */
	K_MESSAGE,
	K_VIEW,
	K_WRITABLE,
	K_LEADER,
	K_CONFIG,
	/* On the private cluster: they break corosync or quorum. */
	K_QUORUM,
	K_CONN_DOWN,
	K_CONN_UP,
	K_UNCERTAIN,
	K_COUNT
};

static const char *const kind_names[K_COUNT] = {
	"message", "view",	    "writable",	     "leader",	  "config",
	"quorum",  "connection(0)", "connection(1)", "uncertain",
};

enum action { A_LEAVE, A_FREE };

enum drive {
	D_DISPATCH, /* the caller polls haq_ctx_fd() and dispatches */
	D_RUN,	    /* haq_ctx_run() without a libqb loop */
	D_RUN_QB,   /* haq_ctx_run() on a libqb loop */
	D_QB_LOOP,  /* the caller runs its libqb loop itself */
};

static const char *const drive_names[] = {
	"haq_ctx_dispatch",
	"haq_ctx_run",
	"haq_ctx_run on a qb loop",
	"qb_loop_run",
};

struct mcase {
	enum action action;
	enum drive drive;
};

static const struct mcase shared_cases[] = {
	{A_LEAVE, D_DISPATCH}, {A_FREE, D_DISPATCH}, {A_FREE, D_RUN},
	{A_FREE, D_RUN_QB},    {A_FREE, D_QB_LOOP},
};
#define N_SHARED_CASES ((int)(sizeof(shared_cases) / sizeof(shared_cases[0])))

static const struct mcase private_cases[] = {
	{A_LEAVE, D_DISPATCH},
	{A_FREE, D_DISPATCH},
	{A_FREE, D_QB_LOOP},
};
#define N_PRIVATE_CASES                                                        \
	((int)(sizeof(private_cases) / sizeof(private_cases[0])))

struct mx;

/* Per-group state: g[0] is acted on, g[1] must keep working. */
struct mgroup {
	struct mx *m;
	bool left;
	int views;
	int msgs;
};

struct mx {
	enum kind kind;
	enum action action;
	enum drive drive;
	char what[128];
	qb_loop_t *loop;
	haq_ctx_t *ctx;
	haq_group_t *g[2];
	struct mgroup gs[2];
	char name[2][64];
	bool armed;
	bool acted;
	bool freed;
	bool timed_out;
	int after; /* callbacks that ran although they must not */
	int conn_down;
	int conn_up;
	/* the group joined again after the leave */
	haq_group_t *again;
	int again_views;
};

static void
mx_seen(struct mx *m, struct mgroup *gs)
{
	if (m->acted && (m->action == A_FREE || (gs && gs->left))) {
		m->after++;
	}
}

static void
mx_act(struct mx *m, enum kind k)
{
	haq_group_t *g = m->g[0];
	haq_group_t *tmp = (haq_group_t *)0x1;

	if (!m->armed || m->acted || m->kind != k) {
		return;
	}
	m->acted = true;
	if (m->action == A_FREE) {
		haq_ctx_free(m->ctx);
		m->freed = true;
		if (m->drive == D_QB_LOOP) {
			/* The caller's loop: haq_ctx_free() does not own it. */
			qb_loop_stop(m->loop);
		}
		return;
	}
	ck_assert_int_ge(haq_group_leave(g), 0);
	m->gs[0].left = true;
	m->g[0] = NULL;
	/* Deferred: still safe to pass here, and refused. */
	ck_assert_int_eq(haq_group_send(g, "x", 1), -EINVAL);
	ck_assert_int_eq(haq_group_leave(g), -EINVAL);
	if (k == K_CONN_DOWN || k == K_UNCERTAIN) {
		/* corosync is away: a join says so. */
		ck_assert_int_eq(haq_group_join(m->ctx, "mx-other", &tmp),
				 -ENOTCONN);
		ck_assert_ptr_eq(tmp, (haq_group_t *)0x1);
	}
}

static void
mx_on_message(haq_group_t *g, uint32_t nodeid, uint32_t pid, const void *data,
	      size_t len, void *ud)
{
	struct mgroup *gs = ud;

	mx_seen(gs->m, gs);
	gs->msgs++;
	if (gs == &gs->m->gs[0]) {
		mx_act(gs->m, K_MESSAGE);
	}
}

static void
mx_on_view(haq_group_t *g, const haq_view_t *v, void *ud)
{
	struct mgroup *gs = ud;

	mx_seen(gs->m, gs);
	gs->views++;
	if (gs == &gs->m->gs[0]) {
		mx_act(gs->m, K_VIEW);
	}
}

static void
mx_on_writable(haq_group_t *g, void *ud)
{
	struct mgroup *gs = ud;

	mx_seen(gs->m, gs);
	if (gs == &gs->m->gs[0]) {
		mx_act(gs->m, K_WRITABLE);
	}
}

static void
mx_on_leader(haq_group_t *g, int is_leader, uint64_t epoch, uint32_t nodeid,
	     uint32_t pid, void *ud)
{
	struct mgroup *gs = ud;

	mx_seen(gs->m, gs);
	if (gs == &gs->m->gs[0]) {
		mx_act(gs->m, K_LEADER);
	}
}

static void
mx_on_uncertain(haq_group_t *g, uint64_t first, uint64_t last, void *ud)
{
	struct mgroup *gs = ud;

	mx_seen(gs->m, gs);
	ck_assert_uint_le(first, last);
	if (gs == &gs->m->gs[0]) {
		mx_act(gs->m, K_UNCERTAIN);
	}
}

static void
mx_on_quorum(haq_ctx_t *ctx, const haq_quorum_t *q, void *ud)
{
	struct mx *m = ud;

	mx_seen(m, NULL);
	mx_act(m, K_QUORUM);
}

static void
mx_on_connection(haq_ctx_t *ctx, int connected, void *ud)
{
	struct mx *m = ud;

	mx_seen(m, NULL);
	if (connected) {
		m->conn_up++;
		mx_act(m, K_CONN_UP);
	} else {
		m->conn_down++;
		mx_act(m, K_CONN_DOWN);
	}
}

static void
mx_on_config(haq_ctx_t *ctx, const char *key, int event, void *ud)
{
	struct mx *m = ud;

	mx_seen(m, NULL);
	mx_act(m, K_CONFIG);
}

static void
mx_join(struct mx *m, int i)
{
	struct mgroup *gs = &m->gs[i];

	gs->m = m;
	ck_assert_int_eq(haq_group_join(m->ctx, m->name[i], &m->g[i]), 0);
	haq_group_set_message_cb(m->g[i], mx_on_message, gs);
	haq_group_set_view_cb(m->g[i], mx_on_view, gs);
	haq_group_set_writable_cb(m->g[i], mx_on_writable, gs);
	haq_group_set_leader_cb(m->g[i], mx_on_leader, gs);
	haq_group_set_uncertain_cb(m->g[i], mx_on_uncertain, gs);
}

/* Dispatch until done(m), the context is freed, or ms pass. */
static bool
mx_pump(struct mx *m, bool (*done)(struct mx *), int ms)
{
	uint64_t end = test_now_ms() + (uint64_t)ms;

	while (!m->freed && !(done && done(m))) {
		struct pollfd p = {.fd = haq_ctx_fd(m->ctx), .events = POLLIN};
		uint64_t now = test_now_ms();
		int rc;

		if (now >= end) {
			return false;
		}
		poll(&p, 1, (int)(end - now < 50 ? end - now : 50));
		rc = haq_ctx_dispatch(m->ctx);
		ck_assert_msg(rc >= 0, "%s: haq_ctx_dispatch: %s", m->what,
			      haq_strerror(rc));
	}
	return done ? done(m) : true;
}

static bool
mx_has_view1(struct mx *m)
{
	return m->gs[1].views > 0;
}

static bool
mx_has_view0(struct mx *m)
{
	return m->gs[0].views > 0;
}

static bool
mx_acted(struct mx *m)
{
	return m->acted;
}

static bool
mx_down(struct mx *m)
{
	return m->conn_down > 0;
}

static bool
mx_up(struct mx *m)
{
	return m->conn_up > 0;
}

static bool
mx_other_msg(struct mx *m)
{
	return m->gs[1].msgs > 0;
}

static bool
mx_again(struct mx *m)
{
	return m->again_views > 0;
}

static void
mx_safety_timer(void *data)
{
	struct mx *m = data;

	m->timed_out = true;
	qb_loop_stop(m->loop);
}

static void
mx_run(enum kind kind, const struct mcase *c)
{
	struct mx m;
	bool priv = kind >= K_QUORUM;
	qb_loop_timer_handle th;
	char key[96], cmd[256];
	int rc;

	memset(&m, 0, sizeof(m));
	m.kind = kind;
	m.action = c->action;
	m.drive = c->drive;
	snprintf(m.what, sizeof(m.what),
		 "%s the context from the %s callback "
		 "(%s)",
		 c->action == A_LEAVE ? "leave a group of" : "free",
		 kind_names[kind], drive_names[c->drive]);
	if (priv) {
		priv_ensure();
		priv_enter(1);
	} else {
		cluster_enter_node(1);
	}
	if (c->drive == D_RUN_QB || c->drive == D_QB_LOOP) {
		m.loop = qb_loop_create();
		ck_assert_ptr_nonnull(m.loop);
	}
	ck_assert_int_eq(haq_ctx_new(&m.ctx, m.loop), 0);
	haq_ctx_set_connection_cb(m.ctx, mx_on_connection, &m);
	haq_ctx_set_quorum_cb(m.ctx, mx_on_quorum, &m);
	unique_group(m.name[0], sizeof(m.name[0]), "mx0");
	unique_group(m.name[1], sizeof(m.name[1]), "mx1");
	mx_join(&m, 1);
	ck_assert_msg(mx_pump(&m, mx_has_view1, 10000), "%s: no view", m.what);
	mx_join(&m, 0);

	/* Arm the trigger; most are in corosync's hands before driving. */
	switch (kind) {
	case K_MESSAGE:
		/* Queued until the join is confirmed, then delivered. */
		ck_assert_int_eq(haq_group_send(m.g[0], "m", 1), 0);
		m.armed = true;
		break;
	case K_VIEW:
	case K_LEADER:
		m.armed = true;
		break;
	case K_WRITABLE:
		/* Fill a small queue before the join is confirmed. */
		ck_assert_int_eq(haq_group_set_max_message(m.g[0], 1000), 0);
		ck_assert_int_eq(haq_group_set_queue_limit(m.g[0], 4000), 0);
		for (int i = 0;; i++) {
			static const char buf[1000];

			ck_assert_int_lt(i, 10);
			rc = haq_group_send(m.g[0], buf, sizeof(buf));
			if (rc == -ENOBUFS) {
				break;
			}
			ck_assert_int_eq(rc, 0);
		}
		m.armed = true;
		break;
	case K_CONFIG:
		snprintf(key, sizeof(key), "haqtest.mx%d", (int)getpid());
		ck_assert_int_eq(
			haq_config_track(m.ctx, key, mx_on_config, &m, NULL),
			0);
		snprintf(cmd, sizeof(cmd),
			 "exec 1 -- corosync-cmapctl -s %s u32 1 >/dev/null",
			 key);
		m.armed = true;
		ck_assert_int_eq(cluster_cmd(cmd), 0);
		break;
	case K_QUORUM:
		ck_assert(mx_pump(&m, mx_has_view0, 10000));
		m.armed = true;
		/* Node 1 alone of 2 is not quorate. */
		ck_assert_int_eq(priv_cmd("kill 2"), 0);
		break;
	case K_CONN_DOWN:
		ck_assert(mx_pump(&m, mx_has_view0, 10000));
		m.armed = true;
		ck_assert_int_eq(priv_cmd("kill 1"), 0);
		break;
	case K_CONN_UP:
		ck_assert(mx_pump(&m, mx_has_view0, 10000));
		ck_assert_int_eq(priv_cmd("kill 1"), 0);
		ck_assert(mx_pump(&m, mx_down, 10000));
		m.armed = true;
		ck_assert_int_eq(priv_cmd("start-node 1"), 0);
		break;
	case K_UNCERTAIN:
		ck_assert(mx_pump(&m, mx_has_view0, 10000));
		/* Handed to a frozen corosync: their fate is unknown. */
		ck_assert_int_eq(priv_cmd("pause 1"), 0);
		for (int i = 0; i < 3; i++) {
			ck_assert_int_eq(haq_group_send(m.g[0], "u", 1), 0);
		}
		m.armed = true;
		ck_assert_int_eq(priv_cmd("kill 1"), 0);
		break;
	default:
		ck_abort();
	}

	switch (c->drive) {
	case D_DISPATCH:
		mx_pump(&m, mx_acted, 20000);
		break;
	case D_RUN:
		/* Returns once the context is freed from the callback. */
		ck_assert_int_eq(haq_ctx_run(m.ctx), 0);
		break;
	case D_RUN_QB:
	case D_QB_LOOP:
		ck_assert_int_eq(qb_loop_timer_add(m.loop, QB_LOOP_HIGH,
						   20000 * QB_TIME_NS_IN_MSEC,
						   &m, mx_safety_timer, &th),
				 0);
		if (c->drive == D_RUN_QB) {
			ck_assert_int_eq(haq_ctx_run(m.ctx), 0);
		} else {
			qb_loop_run(m.loop);
		}
		if (!m.timed_out) {
			qb_loop_timer_del(m.loop, th);
		}
		break;
	}
	ck_assert_msg(m.acted, "%s: the callback never ran", m.what);
	ck_assert_msg(m.after == 0, "%s: %d callbacks ran afterwards", m.what,
		      m.after);

	if (c->action == A_FREE) {
		ck_assert(m.freed);
		if (m.loop) {
			qb_loop_destroy(m.loop);
		}
		return;
	}

	/* After the leave: nothing more for that group... */
	mx_pump(&m, NULL, 500);
	ck_assert_msg(m.after == 0, "%s: %d callbacks ran afterwards", m.what,
		      m.after);
	if (kind == K_CONN_DOWN || kind == K_UNCERTAIN) {
		ck_assert_int_eq(priv_cmd("start-node 1"), 0);
		ck_assert_msg(mx_pump(&m, mx_up, 30000), "%s: no reconnect",
			      m.what);
	}
	/* ...while the other group and the context keep working. */
	ck_assert_int_eq(haq_group_send(m.g[1], "o", 1), 0);
	m.gs[1].msgs = 0;
	ck_assert_msg(mx_pump(&m, mx_other_msg, 20000),
		      "%s: the other group stopped working", m.what);
	ck_assert_int_eq(haq_group_join(m.ctx, m.name[0], &m.again), 0);
	haq_group_set_view_cb(m.again, count_view, &m.again_views);
	ck_assert_msg(mx_pump(&m, mx_again, 20000),
		      "%s: joining the left name again failed", m.what);
	ck_assert_int_eq(m.after, 0);
	haq_ctx_free(m.ctx);
	if (m.loop) {
		qb_loop_destroy(m.loop);
	}
}

START_TEST(test_cb_message)
{
	mx_run(K_MESSAGE, &shared_cases[_i]);
}
END_TEST

START_TEST(test_cb_view)
{
	mx_run(K_VIEW, &shared_cases[_i]);
}
END_TEST

START_TEST(test_cb_writable)
{
	mx_run(K_WRITABLE, &shared_cases[_i]);
}
END_TEST

START_TEST(test_cb_leader)
{
	mx_run(K_LEADER, &shared_cases[_i]);
}
END_TEST

START_TEST(test_cb_config)
{
	mx_run(K_CONFIG, &shared_cases[_i]);
}
END_TEST

START_TEST(test_cb_quorum)
{
	mx_run(K_QUORUM, &private_cases[_i]);
}
END_TEST

START_TEST(test_cb_connection_down)
{
	mx_run(K_CONN_DOWN, &private_cases[_i]);
}
END_TEST

START_TEST(test_cb_connection_up)
{
	mx_run(K_CONN_UP, &private_cases[_i]);
}
END_TEST

START_TEST(test_cb_uncertain)
{
	mx_run(K_UNCERTAIN, &private_cases[_i]);
}
END_TEST

/* Untracking from inside the tracking's own callback. */
struct untrack {
	uint64_t id;
	int calls;
};

static void
untrack_on_config(haq_ctx_t *ctx, const char *key, int event, void *ud)
{
	struct untrack *u = ud;

	u->calls++;
	ck_assert_int_eq(haq_config_untrack(ctx, u->id), 0);
	ck_assert_int_eq(haq_config_untrack(ctx, u->id), -ENOENT);
}

START_TEST(test_untrack_inside_own_callback)
{
	haq_ctx_t *ctx;
	struct untrack u = {0};
	char key[96], cmd[512];

	cluster_enter_node(1);
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	snprintf(key, sizeof(key), "haqtest.untrack%d", (int)getpid());
	ck_assert_int_eq(
		haq_config_track(ctx, key, untrack_on_config, &u, &u.id), 0);
	/* Three events queued at once: only the first may be reported. */
	snprintf(cmd, sizeof(cmd),
		 "exec 1 -- sh -c 'corosync-cmapctl -s %s.a u32 1 && "
		 "corosync-cmapctl -s %s.b u32 2 && corosync-cmapctl -D %s' "
		 ">/dev/null",
		 key, key, key);
	ck_assert_int_eq(cluster_cmd(cmd), 0);
	ck_assert(pump_until(&ctx, 1, 10000, int_positive, &u.calls));
	pump_until(&ctx, 1, 500, NULL, NULL);
	ck_assert_int_eq(u.calls, 1);
	haq_ctx_free(ctx);
}
END_TEST

/* ------------------------------------------------------------------ */
/* A context whose corosync went away                                 */
/* ------------------------------------------------------------------ */

struct gone {
	int down;
	int up;
	int msgs;
	int views;
};

static void
gone_on_connection(haq_ctx_t *ctx, int connected, void *ud)
{
	struct gone *x = ud;

	if (connected) {
		x->up++;
	} else {
		x->down++;
	}
}

static bool
gone_down(void *arg)
{
	return ((struct gone *)arg)->down > 0;
}

static bool
gone_back(void *arg)
{
	struct gone *x = arg;

	return x->up > 0 && x->msgs >= 2;
}

START_TEST(test_calls_after_corosync_stopped)
{
	haq_ctx_t *ctx, *ctx2 = (haq_ctx_t *)0x1, *spare;
	haq_group_t *g, *g2 = (haq_group_t *)0x1;
	haq_nodelist_t *l = (haq_nodelist_t *)0x1;
	const haq_quorum_t *q;
	struct gone x = {0};
	char name[64], key[96];
	char *s = (char *)0x1;
	uint32_t u32;
	uint64_t u64, id;
	size_t msgs = 0;
	int fds_down;

	priv_ensure();
	priv_enter(1);
	unique_group(name, sizeof(name), "gone");
	snprintf(key, sizeof(key), "haqtest.gone%d", (int)getpid());
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	ck_assert_int_eq(haq_ctx_new(&spare, NULL), 0);
	haq_ctx_set_connection_cb(ctx, gone_on_connection, &x);
	ck_assert_int_eq(haq_group_join(ctx, name, &g), 0);
	haq_group_set_message_cb(g, count_message, &x.msgs);
	haq_group_set_view_cb(g, count_view, &x.views);
	ck_assert_int_eq(haq_config_track(ctx, key, count_config, NULL, &id),
			 0);
	ck_assert(pump_until(&ctx, 1, 10000, has_view, g));

	ck_assert_int_eq(priv_cmd("stop 1"), 0);
	/*
	 * Gone, and not yet noticed by a dispatch: reads say -ENOTCONN,
	 * a send is queued (documented), nothing crashes.
	 */
	ck_assert_int_eq(haq_config_get_u32(ctx, "totem.token", &u32),
			 -ENOTCONN);
	ck_assert_int_eq(haq_config_get_u64(ctx, "totem.token", &u64),
			 -ENOTCONN);
	ck_assert_int_eq(haq_config_get_string(ctx, "totem.cluster_name", &s),
			 -ENOTCONN);
	ck_assert_ptr_eq(s, (char *)0x1);
	ck_assert_int_eq(haq_config_nodelist(ctx, &l), -ENOTCONN);
	ck_assert_ptr_eq(l, (haq_nodelist_t *)0x1);
	ck_assert_int_eq(haq_group_send(g, "a", 1), 0);
	/* No callback ran inside those calls. */
	ck_assert_int_eq(x.down, 0);
	ck_assert(pump_until(&ctx, 1, 10000, gone_down, &x));
	ck_assert_int_eq(x.down, 1);

	/* Noticed: the documented errors. */
	ck_assert_int_eq(haq_group_join(ctx, "gone-other", &g2), -ENOTCONN);
	ck_assert_ptr_eq(g2, (haq_group_t *)0x1);
	ck_assert_int_eq(haq_config_get_u32(ctx, "totem.token", &u32),
			 -ENOTCONN);
	ck_assert_int_eq(haq_config_cluster_name(ctx, &s), -ENOTCONN);
	ck_assert_int_eq(haq_config_nodelist(ctx, &l), -ENOTCONN);
	ck_assert_int_eq(
		haq_config_track(ctx, "totem.", count_config, NULL, NULL),
		-ENOTCONN);
	ck_assert_int_eq(haq_group_send(g, "b", 1), 0);
	ck_assert_int_eq(haq_group_queued(g, NULL, &msgs), 0);
	ck_assert_uint_eq(msgs, 2);
	/* Disconnected: no leadership to resign, no lease. */
	ck_assert_int_eq(haq_group_resign(g), -ENOTCONN);
	ck_assert_int_eq(haq_group_lease(g, &u64), 0);
	ck_assert_int_eq(haq_group_set_eligible(g, 1), 0);
	ck_assert_int_eq(haq_quorum_get(ctx, &q), 0);
	ck_assert_ptr_nonnull(haq_strerror(-ENOTCONN));
	ck_assert_ptr_nonnull(strstr(haq_strerror(-ENOTCONN), "lost"));
	/* A new context is refused as such. */
	ck_assert_int_eq(haq_ctx_new(&ctx2, NULL), -ECONNREFUSED);
	ck_assert_ptr_eq(ctx2, (haq_ctx_t *)0x1);
	/* Freeing a context while corosync is away is clean. */
	haq_ctx_free(spare);

	/* Failed reconnects (with backoff) leave no descriptor behind. */
	pump_until(&ctx, 1, 1000, NULL, NULL);
	fds_down = fd_count();
	pump_until(&ctx, 1, 2000, NULL, NULL);
	ck_assert_int_eq(fd_count(), fds_down);
	ck_assert_int_eq(x.down, 1);
	ck_assert_int_eq(x.up, 0);

	/* Back: rejoined, and the two queued messages go out. */
	ck_assert_int_eq(priv_cmd("start-node 1"), 0);
	ck_assert(pump_until(&ctx, 1, 30000, gone_back, &x));
	ck_assert_int_eq(x.msgs, 2);
	ck_assert_int_eq(haq_config_get_u32(ctx, "totem.token", &u32), 0);
	ck_assert_int_eq(haq_config_untrack(ctx, id), 0);
	haq_ctx_free(ctx);
}
END_TEST

/* ------------------------------------------------------------------ */
/* A forked child: every context and group call refused, the parent  */
/* undisturbed                                                        */
/* ------------------------------------------------------------------ */

/*
 * What the forked child found. It cannot use Check's assertions (they
 * belong to the test process), so it counts its checks, prints each wrong
 * answer to stderr, and exits with the number of the first failed check.
 */
static struct {
	int checks;
	int first_bad;
	char bad[2048]; /* the failed calls, for the parent's message */
} child;

/* GOT is what the call gave, as text. */
static void
child_check(const char *what, bool ok, const char *got)
{
	size_t used = strlen(child.bad);

	child.checks++;
	if (ok) {
		return;
	}
	if (!child.first_bad) {
		child.first_bad = child.checks;
	}
	fprintf(stderr, "fork child: check %d: %s gave %s\n", child.checks,
		what, got);
	snprintf(child.bad + used, sizeof(child.bad) - used, "%s%s = %s",
		 used ? ", " : "", what, got);
}

static void
child_check_int(const char *what, long long got, long long want)
{
	const char *name =
		got < 0 && got >= -4095 ? strerrorname_np((int)-got) : NULL;
	char buf[64];

	if (name) {
		snprintf(buf, sizeof(buf), "-%s", name);
	} else {
		snprintf(buf, sizeof(buf), "%lld", got);
	}
	child_check(what, got == want, buf);
}

/*
 * The child's checks take the call itself, written out, as their only
 * argument. tests/doc/api-coverage (make check) reads the calls of
 * fork_child_calls() from these macros and fails when a context or group
 * entry point of the library is missing there.
 */
#define CHILD_ECHILD(call) child_check_int(#call, (long long)(call), -ECHILD)
#define CHILD_ZERO(call) child_check_int(#call, (long long)(call), 0)
#define CHILD_NULL(call)                                                       \
	do {                                                                   \
		const void *p_ = (call);                                       \
		child_check(#call, p_ == NULL, p_ ? "non-NULL" : "NULL");      \
	} while (0)
/* A call without a result: it must return (and not harm the parent). */
#define CHILD_VOID(call)                                                       \
	do {                                                                   \
		(call);                                                        \
		child_check(#call, true, "");                                  \
	} while (0)

static void
child_release(void *data, void *ud)
{
	(void)data;
	(*(int *)ud)++;
}

/*
 * Every context and group entry point, called in the forked child of the
 * process that owns ctx, g and the config tracking track_id. Every call
 * that returns int must refuse with -ECHILD and leave its outputs alone;
 * the name, context and view of a group read as NULL, its next id as 0;
 * freeing the context releases this process's memory only. The calls
 * that changed corosync state for the parent in the past come last.
 */
static void
fork_child_calls(haq_ctx_t *ctx, haq_group_t *g, uint64_t track_id)
{
	haq_group_t *g2 = (haq_group_t *)0x1;
	haq_grouplist_t *gl = (haq_grouplist_t *)0x1;
	haq_nodelist_t *nl = (haq_nodelist_t *)0x1;
	const haq_quorum_t *q = (const haq_quorum_t *)0x1;
	char *s = (char *)0x1;
	uint32_t u32 = 7, pid32 = 7;
	uint64_t u64 = 7, id = 7;
	size_t bytes = 7, msgs = 7;
	struct iovec iov = {(void *)"c", 1};
	static char zc[] = "z";
	int released = 0;

	/* The context. */
	CHILD_ECHILD(haq_ctx_set_log(ctx, NULL, NULL));
	CHILD_ECHILD(haq_ctx_set_connection_cb(ctx, NULL, NULL));
	CHILD_ECHILD(haq_ctx_set_quorum_cb(ctx, NULL, NULL));
	CHILD_ECHILD(haq_ctx_fd(ctx));
	CHILD_ECHILD(haq_ctx_local_nodeid(ctx, &u32));
	CHILD_ECHILD(haq_ctx_dispatch(ctx));
	CHILD_ECHILD(haq_ctx_run(ctx));
	CHILD_ECHILD(haq_ctx_stop(ctx));
	CHILD_ECHILD(haq_ctx_groups(ctx, &gl));
	CHILD_ECHILD(haq_quorum_get(ctx, &q));

	/* The group. */
	CHILD_ECHILD(haq_group_set_message_cb(g, NULL, NULL));
	CHILD_ECHILD(haq_group_set_view_cb(g, NULL, NULL));
	CHILD_ECHILD(haq_group_set_writable_cb(g, NULL, NULL));
	CHILD_ECHILD(haq_group_set_leader_cb(g, NULL, NULL));
	CHILD_ECHILD(haq_group_set_uncertain_cb(g, NULL, NULL));
	CHILD_ECHILD(haq_group_set_send_failed_cb(g, NULL, NULL));
	CHILD_ECHILD(haq_group_queued(g, &bytes, &msgs));
	CHILD_ECHILD(haq_group_leader(g, &u32, &pid32, &u64));
	CHILD_ECHILD(haq_group_leader_state(g));
	CHILD_ECHILD(haq_group_resign(g));
	CHILD_ECHILD(haq_group_set_eligible(g, 0));
	CHILD_ECHILD(haq_group_lease(g, &u64));
	CHILD_ECHILD(haq_group_leader_timing(g, HAQ_TIMING_LEASE, &u32));
	CHILD_ECHILD(haq_group_counter(g, HAQ_COUNTER_SENT, &u64));
	CHILD_ECHILD(haq_group_set_state_cbs(g, st_provide, st_writable,
					     st_chunk, st_status, NULL));
	CHILD_ECHILD(haq_group_state_write(g, 1, "c", 1));
	CHILD_ECHILD(haq_group_state_end(g, 1, 0));
	CHILD_ECHILD(haq_group_state_limit(g, HAQ_STATE_STALL, 1000));
	CHILD_ECHILD(haq_group_state_held(g));
	CHILD_ECHILD(haq_group_set_request_cbs(g, NULL, NULL, NULL));
	CHILD_ECHILD(haq_group_request(g, HAQ_REQUEST_NONE, "c", 1, 0, NULL,
				       NULL, NULL));
	CHILD_ECHILD(haq_group_reply(g, 1, 0, NULL, 0));
	CHILD_ECHILD(haq_group_request_cancel(g, 1));
	CHILD_ECHILD(haq_group_set_lock_cb(g, NULL, NULL));
	CHILD_ECHILD(haq_group_lock(g, "x", 0));
	CHILD_ECHILD(haq_group_unlock(g, "x"));
	CHILD_ECHILD(haq_group_lock_held(g, "x", NULL, NULL));
	CHILD_ECHILD(haq_group_set_queue_limit(g, 4096));
	CHILD_ECHILD(haq_group_set_max_message(g, 4096));
	CHILD_ECHILD(haq_group_set_bundle(g, 4096));
	CHILD_ECHILD(haq_group_set_compress(g, 4096));
	CHILD_ECHILD(haq_group_send(g, "c", 1));
	CHILD_ECHILD(haq_group_sendv(g, &iov, 1));
	CHILD_ECHILD(haq_group_send_zc(g, zc, 1, child_release, &released));
	CHILD_ECHILD(haq_group_join(ctx, "fork-child-other", &g2));
	CHILD_NULL(haq_group_name(g));
	CHILD_NULL(haq_group_ctx(g));
	CHILD_NULL(haq_group_view(g));
	CHILD_ZERO(haq_group_next_id(g));

	/* The configuration. */
	CHILD_ECHILD(haq_config_get_u32(ctx, "totem.token", &u32));
	CHILD_ECHILD(haq_config_get_u64(ctx, "totem.token", &u64));
	CHILD_ECHILD(haq_config_get_string(ctx, "totem.cluster_name", &s));
	CHILD_ECHILD(haq_config_cluster_name(ctx, &s));
	CHILD_ECHILD(haq_config_nodelist(ctx, &nl));
	CHILD_ECHILD(haq_config_track(ctx, "totem.", count_config, NULL, &id));

	/* A refused call leaves its outputs alone. */
	child_check("outputs of the refused calls left alone",
		    g2 == (haq_group_t *)0x1 && gl == (haq_grouplist_t *)0x1 &&
			    nl == (haq_nodelist_t *)0x1 &&
			    q == (const haq_quorum_t *)0x1 &&
			    s == (char *)0x1 && u32 == 7 && pid32 == 7 &&
			    u64 == 7 && id == 7 && bytes == 7 && msgs == 7 &&
			    released == 0,
		    "changes");

	/*
	 * Untracking and leaving once tore down the parent's tracking and
	 * its CPG connection (cmap_track_delete(), cpg_finalize() on the
	 * descriptors the child inherited).
	 */
	CHILD_ECHILD(haq_config_untrack(ctx, track_id));
	CHILD_ECHILD(haq_group_leave(g));
	/* Allowed in the child: releases this process's memory only. */
	CHILD_VOID(haq_ctx_free(ctx));
}

/* What the parent sees around the fork. */
struct forked {
	int conn; /* connection callbacks (any) */
	int views;
	int leaders;
	int is_leader;
	int echoes; /* deliveries of the message sent after the fork */
	int config; /* events of the tracked prefix */
};

static void
fk_on_connection(haq_ctx_t *ctx, int connected, void *ud)
{
	((struct forked *)ud)->conn++;
}

static void
fk_on_view(haq_group_t *g, const haq_view_t *v, void *ud)
{
	((struct forked *)ud)->views++;
}

static void
fk_on_leader(haq_group_t *g, int is_leader, uint64_t epoch, uint32_t nodeid,
	     uint32_t pid, void *ud)
{
	struct forked *f = ud;

	f->leaders++;
	f->is_leader = is_leader;
}

static void
fk_on_message(haq_group_t *g, uint32_t nodeid, uint32_t pid, const void *data,
	      size_t len, void *ud)
{
	if (len == 10 && memcmp(data, "after-fork", 10) == 0 &&
	    pid == (uint32_t)getpid()) {
		((struct forked *)ud)->echoes++;
	}
}

static void
fk_on_config(haq_ctx_t *ctx, const char *key, int event, void *ud)
{
	((struct forked *)ud)->config++;
}

static bool
fk_leads(void *arg)
{
	struct forked *f = arg;

	return f->views >= 1 && f->is_leader;
}

static bool
fk_echoed(void *arg)
{
	return ((struct forked *)arg)->echoes >= 1;
}

static bool
fk_config_fired(void *arg)
{
	return ((struct forked *)arg)->config >= 1;
}

/* Append one problem to a message buffer. */
static void
note(char *buf, size_t size, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used >= size - 1) {
		return;
	}
	if (used) {
		snprintf(buf + used, size - used, "; ");
		used = strlen(buf);
	}
	va_start(ap, fmt);
	vsnprintf(buf + used, size - used, fmt, ap);
	va_end(ap);
}

START_TEST(test_fork_child_refused_parent_undisturbed)
{
	haq_ctx_t *ctx;
	haq_group_t *g;
	struct forked f = {0};
	char name[64], key[96], cmd[256];
	char bad[2048] = "", problems[4096] = "";
	uint64_t track_id = 0, seq_before;
	int views_before, pfd[2], status, rc;
	size_t got = 0;
	ssize_t r;
	pid_t pid;

	cluster_enter_node(1);
	unique_group(name, sizeof(name), "forkchild");
	snprintf(key, sizeof(key), "haqtest.fork%d", (int)getpid());
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	haq_ctx_set_connection_cb(ctx, fk_on_connection, &f);
	ck_assert_int_eq(haq_group_join(ctx, name, &g), 0);
	haq_group_set_view_cb(g, fk_on_view, &f);
	haq_group_set_leader_cb(g, fk_on_leader, &f);
	haq_group_set_message_cb(g, fk_on_message, &f);
	ck_assert_int_eq(
		haq_config_track(ctx, key, fk_on_config, &f, &track_id), 0);
	/* Joined (the view) and settled (this process leads). */
	ck_assert(pump_until(&ctx, 1, 10000, fk_leads, &f));
	pump_until(&ctx, 1, 200, NULL, NULL);
	views_before = f.views;
	seq_before = haq_view_seq(haq_group_view(g));

	ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(pfd[0]);
		alarm(20); /* a call that hangs fails the test, not the run */
		fork_child_calls(ctx, g, track_id);
		if (write(pfd[1], child.bad, strlen(child.bad)) < 0) {
			_exit(126);
		}
		_exit(child.first_bad > 125 ? 125 : child.first_bad);
	}
	close(pfd[1]);
	while (got < sizeof(bad) - 1 &&
	       (r = read(pfd[0], bad + got, sizeof(bad) - 1 - got)) > 0) {
		got += (size_t)r;
	}
	bad[got] = '\0';
	close(pfd[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status)) {
		note(problems, sizeof(problems),
		     "the child did not exit (status 0x%x)", status);
	} else if (WEXITSTATUS(status) != 0) {
		note(problems, sizeof(problems),
		     "the child's check %d failed first; wrong answers: %s",
		     WEXITSTATUS(status), bad);
	}

	/*
	 * The parent was not disturbed: no reconnect, the same view, its
	 * group delivers, its tracking fires. All of it is checked, so one
	 * message says everything that went wrong.
	 */
	pump_until(&ctx, 1, 300, NULL, NULL);
	rc = haq_group_send(g, "after-fork", 10);
	if (rc != 0) {
		note(problems, sizeof(problems),
		     "parent: haq_group_send() = %s", haq_strerror(rc));
	} else if (!pump_until(&ctx, 1, 5000, fk_echoed, &f)) {
		note(problems, sizeof(problems),
		     "parent: its message did not come back");
	}
	snprintf(cmd, sizeof(cmd),
		 "exec 1 -- corosync-cmapctl -s %s u32 1 >/dev/null", key);
	ck_assert_int_eq(cluster_cmd(cmd), 0);
	if (!pump_until(&ctx, 1, 5000, fk_config_fired, &f)) {
		note(problems, sizeof(problems),
		     "parent: its config tracking of %s no longer fires", key);
	}
	snprintf(cmd, sizeof(cmd),
		 "exec 1 -- corosync-cmapctl -D %s >/dev/null", key);
	cluster_cmd(cmd);
	if (f.conn != 0) {
		note(problems, sizeof(problems),
		     "parent: %d connection callbacks (a reconnect)", f.conn);
	}
	if (f.views != views_before ||
	    haq_view_seq(haq_group_view(g)) != seq_before) {
		note(problems, sizeof(problems),
		     "parent: the view changed (%d views, seq %llu, was %llu)",
		     f.views - views_before,
		     (unsigned long long)haq_view_seq(haq_group_view(g)),
		     (unsigned long long)seq_before);
	}
	if (haq_group_leader(g, NULL, NULL, NULL) != 1) {
		note(problems, sizeof(problems),
		     "parent: no longer the leader of its group");
	}
	ck_assert_msg(problems[0] == '\0', "%s", problems);
	ck_assert_int_eq(haq_config_untrack(ctx, track_id), 0);
	haq_ctx_free(ctx);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Descriptors over many context lifetimes                            */
/* ------------------------------------------------------------------ */

START_TEST(test_no_descriptor_leak_over_lifetimes)
{
	int fds;

	cluster_enter_node(1);
	fds = fd_count();
	for (int i = 0; i < 20; i++) {
		qb_loop_t *loop = (i % 2) ? qb_loop_create() : NULL;
		haq_ctx_t *ctx;
		haq_group_t *g;
		char name[64];
		uint64_t id;

		unique_group(name, sizeof(name), "cycle");
		ck_assert_int_eq(haq_ctx_new(&ctx, loop), 0);
		ck_assert_int_eq(haq_group_join(ctx, name, &g), 0);
		ck_assert_int_eq(haq_config_track(ctx, "totem.", count_config,
						  NULL, &id),
				 0);
		if (i % 3 == 0) {
			ck_assert(pump_until(&ctx, 1, 10000, has_view, g));
			ck_assert_int_ge(haq_group_leave(g), 0);
		}
		haq_ctx_free(ctx);
		if (loop) {
			qb_loop_destroy(loop);
		}
	}
	ck_assert_int_eq(fd_count(), fds);
	/* Refused connections leave nothing either. */
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	for (int i = 0; i < 20; i++) {
		haq_ctx_t *ctx;

		ck_assert_int_eq(haq_ctx_new(&ctx, NULL), -ECONNREFUSED);
	}
	ck_assert_int_eq(fd_count(), fds);
}
END_TEST

/*
 * Release with messages half way: a large message partly handed to
 * corosync on the sender and partly reassembled on the receiver. Nothing
 * may leak (valgrind and LSan check the memory, the fixture descriptors).
 */
static bool
half_sent(void *arg)
{
	haq_group_t *g = arg;
	uint64_t sent = 0;
	size_t bytes = 0;

	haq_group_queued(g, &bytes, NULL);
	haq_group_counter(g, HAQ_COUNTER_SENT, &sent);
	return bytes > 0 && sent == 0;
}

static bool
both_see_two(void *arg)
{
	haq_group_t **g = arg;

	return haq_view_member_count(haq_group_view(g[0])) == 2 &&
	       haq_view_member_count(haq_group_view(g[1])) == 2;
}

START_TEST(test_release_with_partial_messages)
{
	haq_ctx_t *ctx[2];
	haq_group_t *g[2];
	char name[64];
	/* Larger than one flush hands to corosync (HAQ_FLUSH_BYTES). */
	const size_t size = 40u * 1024u * 1024u;
	uint8_t *buf = malloc(size);
	int views[2] = {0, 0};

	ck_assert_ptr_nonnull(buf);
	memset(buf, 0x5a, size);
	unique_group(name, sizeof(name), "partial");
	for (int i = 0; i < 2; i++) {
		cluster_enter_node(i + 1);
		ck_assert_int_eq(haq_ctx_new(&ctx[i], NULL), 0);
		ck_assert_int_eq(haq_group_join(ctx[i], name, &g[i]), 0);
		haq_group_set_view_cb(g[i], count_view, &views[i]);
	}
	ck_assert(pump_until(ctx, 2, 10000, both_see_two, g));
	ck_assert_int_eq(haq_group_send(g[0], buf, size), 0);
	/* Some fragments out, the message not complete anywhere. */
	ck_assert(pump_until(ctx, 2, 5000, half_sent, g[0]));
	pump_until(ctx, 2, 100, NULL, NULL);
	free(buf);
	/* Leaving reports the message that was cut. */
	ck_assert_int_eq(haq_group_leave(g[0]), 1);
	haq_ctx_free(ctx[0]);
	/* The receiver drops the sender's partial as it leaves. */
	pump_until(&ctx[1], 1, 300, NULL, NULL);
	haq_ctx_free(ctx[1]);
}
END_TEST

/* Join and leave one name many times: leave is finalize plus a fresh handle. */
START_TEST(test_join_leave_cycles)
{
	haq_ctx_t *ctx;
	haq_group_t *g;
	char name[64];
	int fds = -1;

	cluster_enter_node(1);
	unique_group(name, sizeof(name), "cycles");
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	for (int i = 0; i < 50; i++) {
		ck_assert_int_eq(haq_group_join(ctx, name, &g), 0);
		if (i % 10 == 0) {
			ck_assert(pump_until(&ctx, 1, 10000, has_view, g));
		}
		ck_assert_int_ge(haq_group_leave(g), 0);
		ck_assert_int_ge(haq_ctx_dispatch(ctx), 0);
		if (i == 0) {
			fds = fd_count();
		}
	}
	ck_assert_int_eq(fd_count(), fds);
	haq_ctx_free(ctx);
}
END_TEST

/* ------------------------------------------------------------------ */

static TCase *
misuse_tcase(const char *name, int timeout)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, fds_setup, fds_teardown);
	tcase_set_timeout(tc, timeout);
	return tc;
}

#define ADD_MISUSE(s, fn, timeout)                                             \
	do {                                                                   \
		TCase *tc_ = misuse_tcase(#fn, (timeout));                     \
		tcase_add_test(tc_, fn);                                       \
		suite_add_tcase((s), tc_);                                     \
	} while (0)

#define ADD_MATRIX(s, fn, n, timeout)                                          \
	do {                                                                   \
		TCase *tc_ = misuse_tcase(#fn, (timeout));                     \
		tcase_add_loop_test(tc_, fn, 0, (n));                          \
		suite_add_tcase((s), tc_);                                     \
	} while (0)

int
main(void)
{
	Suite *s = suite_create("misuse");
	int rc;

	ADD_MISUSE(s, test_null_args_without_a_context, 10);
	ADD_MISUSE(s, test_invalid_args_with_a_context, 30);
	ADD_MISUSE(s, test_config_wrong_types, 30);
	ADD_MISUSE(s, test_strerror_total, 10);
	ADD_MISUSE(s, test_unknown_flags, 20);
	ADD_MISUSE(s, test_double_join_and_calls_after_leave, 60);
	ADD_MISUSE(s, test_send_from_inside_callbacks, 60);
	ADD_MISUSE(s, test_reentry_refused, 30);
	ADD_MISUSE(s, test_free_from_foreign_callback_while_running, 30);
	ADD_MISUSE(s, test_untrack_inside_own_callback, 30);
	ADD_MISUSE(s, test_no_descriptor_leak_over_lifetimes, 120);
	ADD_MISUSE(s, test_release_with_partial_messages, 60);
	ADD_MISUSE(s, test_join_leave_cycles, 60);
	ADD_MISUSE(s, test_fork_child_refused_parent_undisturbed, 60);
	ADD_MATRIX(s, test_cb_message, N_SHARED_CASES, 60);
	ADD_MATRIX(s, test_cb_view, N_SHARED_CASES, 60);
	ADD_MATRIX(s, test_cb_writable, N_SHARED_CASES, 60);
	ADD_MATRIX(s, test_cb_leader, N_SHARED_CASES, 60);
	ADD_MATRIX(s, test_cb_config, N_SHARED_CASES, 60);
	ADD_MATRIX(s, test_cb_quorum, N_PRIVATE_CASES, 120);
	ADD_MATRIX(s, test_cb_connection_down, N_PRIVATE_CASES, 120);
	ADD_MATRIX(s, test_cb_connection_up, N_PRIVATE_CASES, 120);
	ADD_MATRIX(s, test_cb_uncertain, N_PRIVATE_CASES, 120);
	ADD_MISUSE(s, test_calls_after_corosync_stopped, 120);

	priv_start();
	rc = run_suite(s);
	priv_destroy();
	return rc;
}
