/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Integration tests of the context on a real corosync (node 1 of the
 * harness cluster): creation, loop bindings, dispatch rules, fork.
 */
#include "check_common.h"

#include <qb/qblog.h>
#include <syslog.h>
#include <stdio.h>

#include <sys/wait.h>

#include <qb/qbloop.h>

START_TEST(test_new_rejects_null)
{
	ck_assert_int_eq(haq_ctx_new(NULL, NULL), -EINVAL);
	ck_assert_int_eq(haq_ctx_fd(NULL), -EINVAL);
	ck_assert_int_eq(haq_ctx_dispatch(NULL), -EINVAL);
	ck_assert_int_eq(haq_ctx_run(NULL), -EINVAL);
	ck_assert_int_eq(haq_ctx_stop(NULL), -EINVAL);
	ck_assert_int_eq(haq_ctx_set_log(NULL, NULL, NULL), -EINVAL);
	ck_assert_int_eq(haq_ctx_set_connection_cb(NULL, NULL, NULL), -EINVAL);
	ck_assert_int_eq(haq_ctx_set_quorum_cb(NULL, NULL, NULL), -EINVAL);
	ck_assert_int_eq(haq_ctx_local_nodeid(NULL, NULL), -EINVAL);
	haq_ctx_free(NULL);
}
END_TEST

START_TEST(test_no_corosync_is_econnrefused)
{
	haq_ctx_t *ctx = (haq_ctx_t *)0x1;

	/* A fresh network namespace has no corosync listening in it. */
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), -ECONNREFUSED);
	ck_assert_ptr_eq(ctx, (haq_ctx_t *)0x1); /* untouched on failure */
	ck_assert_ptr_nonnull(strstr(haq_strerror(-ECONNREFUSED),
				     "not running"));
}
END_TEST

START_TEST(test_new_reads_nodeid_and_quorum)
{
	haq_ctx_t *ctx;
	const haq_quorum_t *q;
	uint32_t nodeid = 0;

	cluster_enter_node(2);
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	ck_assert_int_eq(haq_ctx_local_nodeid(ctx, &nodeid), 0);
	ck_assert_uint_eq(nodeid, 2);
	ck_assert_int_eq(haq_ctx_local_nodeid(ctx, NULL), -EINVAL);
	ck_assert_int_ge(haq_ctx_fd(ctx), 0);
	/* The quorum state is known as soon as the context exists. */
	ck_assert_int_eq(haq_quorum_get(ctx, &q), 0);
	ck_assert_int_eq(haq_quorum_quorate(q), 1);
	ck_assert_int_ge(haq_ctx_dispatch(ctx), 0);
	haq_ctx_free(ctx);
}
END_TEST

START_TEST(test_version)
{
	char want[32];

	ck_assert_uint_eq(haq_version(), HAQ_VERSION_HEX);
	ck_assert_str_eq(haq_version_string(), "0.5.0");
	/* The header's numbers are the release's (0.4.0 shipped with 0.3). */
	snprintf(want, sizeof(want), "%d.%d.%d", HAQ_VERSION_MAJOR,
		 HAQ_VERSION_MINOR, HAQ_VERSION_PATCH);
	ck_assert_str_eq(haq_version_string(), want);
}
END_TEST

static void
stop_on_view(haq_group_t *g, const haq_view_t *v, void *ud)
{
	int *views = ud;

	(*views)++;
	haq_ctx_stop(haq_group_ctx(g));
}

START_TEST(test_run_without_qb_loop)
{
	haq_ctx_t *ctx;
	haq_group_t *g;
	char name[64];
	int views = 0;

	cluster_enter_node(1);
	unique_group(name, sizeof(name), "run");
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	ck_assert_int_eq(haq_group_join(ctx, name, &g), 0);
	haq_group_set_view_cb(g, stop_on_view, &views);
	ck_assert_int_eq(haq_ctx_run(ctx), 0);
	ck_assert_int_eq(views, 1);
	haq_ctx_free(ctx);
}
END_TEST

START_TEST(test_attach_to_qb_loop)
{
	qb_loop_t *loop = qb_loop_create();
	haq_ctx_t *ctx;
	haq_group_t *g;
	char name[64];
	int views = 0;

	cluster_enter_node(1);
	unique_group(name, sizeof(name), "qb");
	ck_assert_int_eq(haq_ctx_new(&ctx, loop), 0);
	ck_assert_int_eq(haq_group_join(ctx, name, &g), 0);
	haq_group_set_view_cb(g, stop_on_view, &views);
	/* haq_ctx_stop() stops the caller's loop. */
	qb_loop_run(loop);
	ck_assert_int_eq(views, 1);
	haq_ctx_free(ctx);
	qb_loop_destroy(loop);
}
END_TEST

static void
free_on_view(haq_group_t *g, const haq_view_t *v, void *ud)
{
	haq_ctx_t *ctx = haq_group_ctx(g);

	*(int *)ud += 1;
	/* Not allowed from inside a callback... */
	ck_assert_int_eq(haq_ctx_dispatch(ctx), -EBUSY);
	ck_assert_int_eq(haq_ctx_run(ctx), -EBUSY);
	/* ...but freeing is, and is deferred. */
	haq_ctx_free(ctx);
}

START_TEST(test_free_inside_callback)
{
	haq_ctx_t *ctx;
	haq_group_t *g;
	char name[64];
	int views = 0;

	cluster_enter_node(1);
	unique_group(name, sizeof(name), "free");
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	ck_assert_int_eq(haq_group_join(ctx, name, &g), 0);
	haq_group_set_view_cb(g, free_on_view, &views);
	/* haq_ctx_run returns once the context is gone. */
	ck_assert_int_eq(haq_ctx_run(ctx), 0);
	ck_assert_int_eq(views, 1);
}
END_TEST

static bool
has_view(void *arg)
{
	return haq_group_view(arg) != NULL;
}

START_TEST(test_child_after_fork_is_refused)
{
	haq_ctx_t *ctx;
	haq_group_t *g;
	char name[64];
	pid_t pid;
	int status;

	cluster_enter_node(1);
	unique_group(name, sizeof(name), "fork");
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	ck_assert_int_eq(haq_group_join(ctx, name, &g), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int ok = haq_ctx_dispatch(ctx) == -ECHILD &&
			 haq_group_send(g, "x", 1) == -ECHILD &&
			 haq_group_join(ctx, "other", &g) == -ECHILD &&
			 haq_ctx_run(ctx) == -ECHILD;

		/* Freeing in the child must not tear down the parent's IPC. */
		haq_ctx_free(ctx);
		_exit(ok ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the child was not refused with -ECHILD");
	/* The parent still works: its join is confirmed by a view. */
	ck_assert_int_eq(haq_group_send(g, "y", 1), 0);
	ck_assert(pump_until(&ctx, 1, 5000, has_view, g));
	haq_ctx_free(ctx);
}
END_TEST

struct logbuf {
	int count;
	int max_priority_seen;
};

static void
log_cb(haq_ctx_t *ctx, int priority, const char *msg, void *ud)
{
	struct logbuf *l = ud;

	ck_assert_ptr_nonnull(msg);
	l->count++;
	if (priority > l->max_priority_seen) {
		l->max_priority_seen = priority;
	}
}

START_TEST(test_log_callback_receives_library_logs)
{
	haq_ctx_t *ctx;
	haq_group_t *g;
	char name[64];
	struct logbuf l = {0};

	cluster_enter_node(1);
	unique_group(name, sizeof(name), "log");
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	ck_assert_int_eq(haq_ctx_set_log(ctx, log_cb, &l), 0);
	ck_assert_int_eq(haq_group_join(ctx, name, &g), 0);
	pump_until(&ctx, 1, 1500, NULL, NULL);
	/* A view and a leader change are logged at info or debug. */
	ck_assert_int_gt(l.count, 0);
	ck_assert_int_ge(l.max_priority_seen, HAQ_LOG_INFO);
	haq_ctx_free(ctx);
}
END_TEST

/* What the libqb target below saw: the place each record names. */
static int qb_records;
static int qb_records_from_logger;
static bool qb_record_from_group_file;

static void
qb_target(int32_t t, struct qb_log_callsite *cs, struct timespec *ts,
	  const char *msg)
{
	(void)t;
	(void)ts;
	(void)msg;
	if (!strstr(cs->filename, "libhaq/")) {
		return;
	}
	qb_records++;
	/* The logging helper itself is no place anyone wants to read. */
	if (strstr(cs->function, "log") || strstr(cs->filename, "ctx.c")) {
		qb_records_from_logger++;
	}
	if (strstr(cs->filename, "group")) {
		qb_record_from_group_file = true;
	}
}

/*
 * Without a log callback, records go to libqb naming the function, file
 * and line of the library that logged, not the logging helper's own.
 */
START_TEST(test_qb_log_records_name_their_place)
{
	haq_ctx_t *ctx;
	haq_group_t *g;
	char name[64];
	int32_t t;

	qb_log_init("check_ctx", LOG_USER, LOG_DEBUG);
	qb_log_ctl(QB_LOG_SYSLOG, QB_LOG_CONF_ENABLED, QB_FALSE);
	t = qb_log_custom_open(qb_target, NULL, NULL, NULL);
	ck_assert_int_ge(t, 0);
	ck_assert_int_eq(qb_log_filter_ctl(t, QB_LOG_FILTER_ADD,
					   QB_LOG_FILTER_FILE, "*", LOG_DEBUG),
			 0);
	ck_assert_int_eq(qb_log_ctl(t, QB_LOG_CONF_ENABLED, QB_TRUE), 0);
	cluster_enter_node(1);
	unique_group(name, sizeof(name), "qblog");
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	ck_assert_int_eq(haq_group_join(ctx, name, &g), 0);
	pump_until(&ctx, 1, 1500, NULL, NULL);
	haq_ctx_free(ctx);
	qb_log_fini();
	ck_assert_int_gt(qb_records, 0);
	ck_assert_int_eq(qb_records_from_logger, 0);
	ck_assert(qb_record_from_group_file);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("ctx");

	ADD_TCASE(s, test_new_rejects_null, 10);
	ADD_TCASE(s, test_no_corosync_is_econnrefused, 10);
	ADD_TCASE(s, test_new_reads_nodeid_and_quorum, 10);
	ADD_TCASE(s, test_version, 10);
	ADD_TCASE(s, test_run_without_qb_loop, 20);
	ADD_TCASE(s, test_attach_to_qb_loop, 20);
	ADD_TCASE(s, test_free_inside_callback, 20);
	ADD_TCASE(s, test_child_after_fork_is_refused, 20);
	ADD_TCASE(s, test_log_callback_receives_library_logs, 20);
	ADD_TCASE(s, test_qb_log_records_name_their_place, 20);
	return run_suite(s);
}
