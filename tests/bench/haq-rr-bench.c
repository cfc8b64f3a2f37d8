/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * haq-rr-bench: request/reply round trips next to the 64 B self-delivery
 * round trip, in one process and one run (run-rr-bench drives it, one
 * process per node).
 *
 *   --role responder  joins, answers every request at once (64 B), and
 *                     stays until SIGTERM
 *   --role requester  joins, waits for --members members, then measures
 *                     in --rounds rounds, each of --count sequential
 *                     operations per kind, the kinds in turn (ABAB...):
 *                     self  a 64 B message sent, until it is delivered back
 *                     first a 64 B request, HAQ_REQUEST_FIRST, until it ends
 *                     all   a 64 B request, HAQ_REQUEST_ALL, until it ends
 *                     It answers requests too (it is a member), and
 *                     prints one RESULT line per kind: p50, p90, p99 in
 *                     microseconds and the ratio of p50 to self's p50.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <haq/haq.h>

#define PROG "haq-rr-bench"
#define KINDS 3

struct rb {
	haq_ctx_t *ctx;
	haq_group_t *g;
	bool requester;
	size_t members;
	bool self_back;
	bool req_done;
	int req_result;
	uint32_t nodeid;
};

static volatile sig_atomic_t stop;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void
on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static void
on_message(haq_group_t *g, uint32_t nodeid, uint32_t pid, const void *data,
	   size_t len, void *ud)
{
	struct rb *b = ud;

	(void)g, (void)data, (void)len;
	if (nodeid == b->nodeid && pid == (uint32_t)getpid()) {
		b->self_back = true;
	}
}

static void
on_request(haq_group_t *g, uint64_t request, uint32_t nodeid, uint32_t pid,
	   const void *data, size_t len, void *ud)
{
	static const char reply[64] = "reply";

	(void)nodeid, (void)pid, (void)data, (void)len, (void)ud;
	if (request &&
	    haq_group_reply(g, request, 0, reply, sizeof(reply)) < 0) {
		fprintf(stderr, PROG ": reply refused\n");
	}
}

static void
on_reply(haq_group_t *g, uint64_t request, uint32_t nodeid, uint32_t pid,
	 int status, const void *data, size_t len, void *ud)
{
	struct rb *b = ud;

	(void)g, (void)request, (void)pid, (void)data, (void)len;
	if (nodeid == 0) {
		b->req_done = true;
		b->req_result = status;
	}
}

static void
turn(struct rb *b, int ms)
{
	struct pollfd p = {.fd = haq_ctx_fd(b->ctx), .events = POLLIN};

	poll(&p, 1, ms);
	if (haq_ctx_dispatch(b->ctx) < 0) {
		fprintf(stderr, PROG ": dispatch failed\n");
		exit(1);
	}
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a;
	uint64_t y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static uint64_t
pct(uint64_t *v, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);

	return v[i];
}

/* One timed operation of kind k; returns its duration in ns. */
static uint64_t
once(struct rb *b, int k)
{
	static const char msg[64] = "payload";
	uint64_t t0 = now_ns();
	int rc;

	if (k == 0) {
		b->self_back = false;
		while ((rc = haq_group_send(b->g, msg, sizeof(msg))) ==
		       -ENOBUFS) {
			turn(b, 1);
		}
		if (rc < 0) {
			fprintf(stderr, PROG ": send: %s\n", haq_strerror(rc));
			exit(1);
		}
		while (!b->self_back) {
			turn(b, 100);
		}
	} else {
		b->req_done = false;
		rc = haq_group_request(
			b->g, k == 1 ? HAQ_REQUEST_FIRST : HAQ_REQUEST_ALL, msg,
			sizeof(msg), 10000, on_reply, b, NULL);
		if (rc < 0) {
			fprintf(stderr, PROG ": request: %s\n",
				haq_strerror(rc));
			exit(1);
		}
		while (!b->req_done) {
			turn(b, 100);
		}
		if (b->req_result != 0) {
			fprintf(stderr, PROG ": request ended with %s\n",
				haq_strerror(b->req_result));
			exit(1);
		}
	}
	return now_ns() - t0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"role", required_argument, NULL, 'r'},
		{"group", required_argument, NULL, 'g'},
		{"members", required_argument, NULL, 'm'},
		{"rounds", required_argument, NULL, 'R'},
		{"count", required_argument, NULL, 'c'},
		{NULL, 0, NULL, 0},
	};
	static const char *names[KINDS] = {"self", "first", "all"};
	struct rb b = {.members = 3};
	const char *group = "rr-bench";
	int rounds = 5;
	int count = 200;
	uint64_t *v[KINDS];
	size_t n = 0;
	int c;
	int rc;

	while ((c = getopt_long(argc, argv, "r:g:m:R:c:", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			b.requester = strcmp(optarg, "requester") == 0;
			break;
		case 'g':
			group = optarg;
			break;
		case 'm':
			b.members = (size_t)atoi(optarg);
			break;
		case 'R':
			rounds = atoi(optarg);
			break;
		case 'c':
			count = atoi(optarg);
			break;
		default:
			fprintf(stderr,
				"usage: " PROG " --role requester|responder "
				"[--group G] [--members N] [--rounds R] "
				"[--count C]\n");
			return 2;
		}
	}
	if (rounds < 1 || count < 1) {
		return 2;
	}
	signal(SIGTERM, on_stop);
	signal(SIGINT, on_stop);
	if ((rc = haq_ctx_new(&b.ctx, NULL)) < 0 ||
	    (rc = haq_ctx_local_nodeid(b.ctx, &b.nodeid)) < 0 ||
	    (rc = haq_group_join(b.ctx, group, &b.g)) < 0 ||
	    (rc = haq_group_set_message_cb(b.g, on_message, &b)) < 0 ||
	    (rc = haq_group_set_request_cbs(b.g, on_request, NULL, &b)) < 0) {
		fprintf(stderr, PROG ": %s\n", haq_strerror(rc));
		return 1;
	}
	printf("READY\n");
	fflush(stdout);
	if (!b.requester) {
		while (!stop) {
			turn(&b, 200);
		}
		haq_ctx_free(b.ctx);
		return 0;
	}
	while (!stop) {
		const haq_view_t *view = haq_group_view(b.g);

		if (view && haq_view_member_count(view) >= b.members) {
			break;
		}
		turn(&b, 100);
	}
	/* Warm up every path. */
	for (int k = 0; k < KINDS; k++) {
		for (int i = 0; i < 20; i++) {
			(void)once(&b, k);
		}
	}
	for (int k = 0; k < KINDS; k++) {
		v[k] = calloc((size_t)rounds * (size_t)count, sizeof(uint64_t));
		if (!v[k]) {
			return 1;
		}
	}
	for (int r = 0; r < rounds && !stop; r++) {
		/* ABC, then CBA: no kind always runs first. */
		for (int j = 0; j < KINDS; j++) {
			int k = r % 2 ? KINDS - 1 - j : j;

			for (int i = 0; i < count; i++) {
				v[k][n + (size_t)i] = once(&b, k);
			}
		}
		n += (size_t)count;
	}
	{
		uint64_t base;

		for (int k = 0; k < KINDS; k++) {
			qsort(v[k], n, sizeof(uint64_t), cmp_u64);
		}
		base = pct(v[0], n, 0.5);
		for (int k = 0; k < KINDS; k++) {
			printf("RESULT kind=%s n=%zu members=%zu p50_us=%.1f "
			       "p90_us=%.1f p99_us=%.1f ratio_p50=%.3f\n",
			       names[k], n, b.members,
			       (double)pct(v[k], n, 0.5) / 1e3,
			       (double)pct(v[k], n, 0.9) / 1e3,
			       (double)pct(v[k], n, 0.99) / 1e3,
			       (double)pct(v[k], n, 0.5) / (double)base);
		}
	}
	fflush(stdout);
	for (int k = 0; k < KINDS; k++) {
		free(v[k]);
	}
	haq_ctx_free(b.ctx);
	return 0;
}
