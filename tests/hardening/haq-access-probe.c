/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small libhaq client for the access-control and server-credential
 * checks (tests/hardening/run-access): connect to the corosync of the
 * current network namespace, optionally join a group and wait for its
 * first view, print what happened as key=value lines, and say whether the
 * outcome was the expected one. It also checks that it closed every
 * descriptor it opened.
 *
 * usage: haq-access-probe [--any-server-uid] [--join NAME] [--wait MS]
 *                         [--expect OK|EACCES|EPERM|ECONNREFUSED|...]
 *                         [--groups [--ready FILE] [--go FILE]
 *                          [--expect-groups OK|EPERM|...]]
 * --groups lists the cluster's groups with haq_ctx_groups() once
 * connected. With --ready and --go it first creates the file --ready
 * names and then waits, without dispatching (so the context does not
 * notice a corosync that went away), until the file --go names exists:
 * the caller can replace corosync meanwhile.
 * exit: 0 the outcome was the expected one (or no --expect), 1 it was
 *       not, 2 usage, 3 a descriptor was left open.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <haq/haq.h>

static const struct {
	int err;
	const char *name;
} names[] = {
	{0, "OK"},
	{EACCES, "EACCES"},
	{EPERM, "EPERM"},
	{ECONNREFUSED, "ECONNREFUSED"},
	{ENOTCONN, "ENOTCONN"},
	{EINVAL, "EINVAL"},
	{ENOMEM, "ENOMEM"},
	{EMFILE, "EMFILE"},
	{EEXIST, "EEXIST"},
	{EPROTO, "EPROTO"},
	{ETIMEDOUT, "ETIMEDOUT"},
	{EIO, "EIO"},
};

static const char *
err_name(int rc)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (names[i].err == -rc) {
			return names[i].name;
		}
	}
	return "OTHER";
}

static int
fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d) {
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.') {
			n++;
		}
	}
	closedir(d);
	return n - 1;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
on_view(haq_group_t *g, const haq_view_t *v, void *ud)
{
	*(const haq_view_t **)ud = v;
	printf("view_members=%zu\n", haq_view_member_count(v));
	printf("view_quorate=%d\n", haq_view_quorate(v));
}

static void
usage(void)
{
	fprintf(stderr, "usage: haq-access-probe [--any-server-uid] "
			"[--join NAME] [--wait MS] [--expect ERRNAME|OK] "
			"[--groups [--ready FILE] [--go FILE] "
			"[--expect-groups ERRNAME|OK]]\n");
	exit(2);
}

/*
 * Create the file READY, wait (up to 120 s) until the file GO exists,
 * then call haq_ctx_groups(), retrying while corosync is busy with a
 * membership change. Prints groups=ERRNAME and returns the result.
 */
static int
list_groups(haq_ctx_t *ctx, const char *ready, const char *go)
{
	haq_grouplist_t *l = NULL;
	uint64_t end;
	int rc;

	if (ready) {
		FILE *f = fopen(ready, "w");

		if (f) {
			fclose(f);
		}
	}
	if (go) {
		end = now_ms() + 120000;
		while (access(go, F_OK) != 0 && now_ms() < end) {
			usleep(50000);
		}
	}
	end = now_ms() + 10000;
	while ((rc = haq_ctx_groups(ctx, &l)) == -EAGAIN && now_ms() < end) {
		usleep(200000);
	}
	printf("groups=%s\n", err_name(rc));
	printf("groups_strerror=%s\n", haq_strerror(rc));
	if (rc == 0) {
		printf("groups_count=%zu\n", haq_grouplist_count(l));
		haq_grouplist_free(l);
	}
	fflush(stdout);
	return rc;
}

int
main(int argc, char **argv)
{
	unsigned int flags = 0;
	const char *join = NULL;
	const char *expect = NULL;
	const char *expect_groups = NULL;
	const char *ready = NULL, *go = NULL;
	bool groups = false;
	int grc = 0;
	int wait_ms = 10000;
	haq_ctx_t *ctx = NULL;
	haq_group_t *g = NULL;
	const haq_view_t *view = NULL;
	const haq_quorum_t *q;
	int fds_before, fds_after;
	int rc;
	bool ok = true;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--any-server-uid") == 0) {
			flags |= HAQ_CTX_ANY_SERVER_UID;
		} else if (strcmp(argv[i], "--join") == 0 && i + 1 < argc) {
			join = argv[++i];
		} else if (strcmp(argv[i], "--wait") == 0 && i + 1 < argc) {
			wait_ms = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--expect") == 0 && i + 1 < argc) {
			expect = argv[++i];
		} else if (strcmp(argv[i], "--groups") == 0) {
			groups = true;
		} else if (strcmp(argv[i], "--ready") == 0 && i + 1 < argc) {
			ready = argv[++i];
		} else if (strcmp(argv[i], "--go") == 0 && i + 1 < argc) {
			go = argv[++i];
		} else if (strcmp(argv[i], "--expect-groups") == 0 &&
			   i + 1 < argc) {
			expect_groups = argv[++i];
		} else {
			usage();
		}
	}
	printf("uid=%d\n", (int)getuid());
	fds_before = fd_count();
	rc = haq_ctx_new_flags(&ctx, NULL, flags);
	printf("result=%s\n", err_name(rc));
	printf("rc=%d\n", rc);
	printf("strerror=%s\n", haq_strerror(rc));
	if (rc == 0) {
		uint32_t nodeid = 0, expected = 0, total = 0, needed = 0;

		haq_ctx_local_nodeid(ctx, &nodeid);
		printf("nodeid=%u\n", nodeid);
		if (haq_quorum_get(ctx, &q) == 0) {
			haq_quorum_votes(q, &expected, &total, &needed);
			printf("quorate=%d\n", haq_quorum_quorate(q));
			printf("quorum_nodes=%zu\n", haq_quorum_node_count(q));
			printf("votes=%u/%u/%u\n", total, expected, needed);
		}
		if (join) {
			int jrc = haq_group_join(ctx, join, &g);

			printf("join=%s\n", err_name(jrc));
			if (jrc == 0) {
				uint64_t end = now_ms() + (uint64_t)wait_ms;

				haq_group_set_view_cb(g, on_view, &view);
				while (!view && now_ms() < end) {
					struct pollfd p = {
						.fd = haq_ctx_fd(ctx),
						.events = POLLIN};

					poll(&p, 1, 50);
					if (haq_ctx_dispatch(ctx) < 0) {
						break;
					}
				}
				printf("view=%s\n", view ? "yes" : "none");
				ok = view != NULL;
			} else {
				ok = false;
			}
		}
		if (groups) {
			grc = list_groups(ctx, ready, go);
		}
		haq_ctx_free(ctx);
	}
	fds_after = fd_count();
	printf("fds_before=%d\nfds_after=%d\n", fds_before, fds_after);
	fflush(stdout);
	if (fds_after != fds_before) {
		fprintf(stderr, "haq-access-probe: descriptor leak: %d -> %d\n",
			fds_before, fds_after);
		return 3;
	}
	if (expect_groups &&
	    (rc != 0 || strcmp(expect_groups, err_name(grc)) != 0)) {
		fprintf(stderr,
			"haq-access-probe: haq_ctx_groups(): expected %s, got "
			"%s (%d)\n",
			expect_groups, rc == 0 ? err_name(grc) : "no context",
			grc);
		return 1;
	}
	if (expect) {
		if (strcmp(expect, err_name(rc)) != 0) {
			fprintf(stderr,
				"haq-access-probe: expected %s, got %s "
				"(%d)\n",
				expect, err_name(rc), rc);
			return 1;
		}
		return rc == 0 && !ok ? 1 : 0;
	}
	return 0;
}
