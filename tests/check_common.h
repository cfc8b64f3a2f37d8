/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared helpers of the Check test programs: test-case registration, and
 * for integration tests, entering a node of the harness cluster and
 * driving a context until a condition holds.
 */
#ifndef HAQ_CHECK_COMMON_H
#define HAQ_CHECK_COMMON_H

#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <haq/haq.h>

static inline void
add_tcase(Suite *s, TCase *tc, const TTest *fn, int timeout)
{
	tcase_add_test(tc, fn);
	tcase_set_timeout(tc, timeout);
	suite_add_tcase(s, tc);
}

#define ADD_TCASE(s, fn, timeout)                                              \
	add_tcase((s), tcase_create(#fn), (fn), (timeout))

static inline int
run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_VERBOSE);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static inline uint64_t
test_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The value of KEY in the state file of the cluster in DIR, or NULL. */
static inline char *
cluster_state_get_in(const char *dir, const char *key)
{
	char path[4096];
	char line[1024];
	size_t klen = strlen(key);
	char *val = NULL;
	FILE *f;

	if (!dir) {
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/state", dir);
	f = fopen(path, "r");
	if (!f) {
		return NULL;
	}
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) == 0 && line[klen] == '=') {
			line[strcspn(line, "\n")] = '\0';
			val = strdup(line + klen + 1);
			break;
		}
	}
	fclose(f);
	return val;
}

/* The value of KEY in the harness state file, or NULL. Caller frees. */
static inline char *
cluster_state_get(const char *key)
{
	return cluster_state_get_in(getenv("HAQ_CLUSTER_DIR"), key);
}

/* Number of nodes of the harness cluster; fails the test without one. */
static inline int
cluster_nodes(void)
{
	char *v = cluster_state_get("nodes");
	int n;

	ck_assert_msg(v != NULL,
		      "no test cluster: run integration tests through "
		      "tests/with-cluster (it starts corosync) or set "
		      "HAQ_CLUSTER_DIR");
	n = atoi(v);
	free(v);
	return n;
}

/*
 * Move this process into node K's network namespace, where that node's
 * corosync listens (libqb IPC uses abstract sockets, per namespace).
 * Connections made earlier stay with their own node.
 */
static inline void
cluster_enter_node(int k)
{
	char key[32];
	char path[512];
	char *ns;
	int fd;

	(void)cluster_nodes();
	snprintf(key, sizeof(key), "node%d_ns", k);
	ns = cluster_state_get(key);
	ck_assert_msg(ns != NULL, "node %d is not in the test cluster", k);
	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_msg(setns(fd, CLONE_NEWNET) == 0, "setns %s: %s", path,
		      strerror(errno));
	close(fd);
	free(ns);
}

/* Run a harness command (HAQ_CLUSTER ARGS) and return its exit status. */
static inline int
cluster_cmd(const char *args)
{
	const char *h = getenv("HAQ_CLUSTER");
	char cmd[1024];
	int rc;

	ck_assert_msg(h != NULL, "HAQ_CLUSTER (the harness script) is not set");
	snprintf(cmd, sizeof(cmd), "HAQ_QUIET=1 %s %s", h, args);
	rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/*
 * Dispatch every context in ctxs until done(arg) is true or timeout_ms
 * passes. Returns whether done() became true.
 */
static inline bool
pump_until(haq_ctx_t **ctxs, int n, int timeout_ms, bool (*done)(void *),
	   void *arg)
{
	uint64_t end = test_now_ms() + (uint64_t)timeout_ms;
	struct pollfd p[8];

	ck_assert_int_le(n, 8);
	while (!(done && done(arg))) {
		uint64_t now = test_now_ms();

		if (now >= end) {
			return false;
		}
		for (int i = 0; i < n; i++) {
			p[i].fd = haq_ctx_fd(ctxs[i]);
			p[i].events = POLLIN;
		}
		poll(p, (nfds_t)n, (int)(end - now < 50 ? end - now : 50));
		for (int i = 0; i < n; i++) {
			int rc = haq_ctx_dispatch(ctxs[i]);

			ck_assert_msg(rc >= 0, "haq_ctx_dispatch: %s",
				      haq_strerror(rc));
		}
	}
	return true;
}

/* A group name unique to this test process. */
static inline void
unique_group(char *buf, size_t len, const char *base)
{
	snprintf(buf, len, "%s-%d-%llu", base, (int)getpid(),
		 (unsigned long long)test_now_ms());
}

#endif /* HAQ_CHECK_COMMON_H */
