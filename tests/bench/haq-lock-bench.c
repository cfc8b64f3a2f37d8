/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * haq-lock-bench: lock acquire latency next to the 64 B self-delivery
 * round trip, and lock/unlock throughput with every member contending, in
 * one run (run-lock-bench drives it, one process per node).
 *
 *   --role peer  joins and follows the main process's phases until
 *                SIGTERM
 *   --role main  joins, waits for --members members, then
 *                1. measures in --rounds rounds of --count sequential
 *                   operations per kind, the kinds in turn (ABBA...):
 *                   self     a 64 B message sent, until it is delivered
 *                            back
 *                   acquire  haq_group_lock() of a lock nobody else asks
 *                            for, until the granted callback; then
 *                            haq_group_unlock() (not timed)
 *                   and prints one RESULT line per kind: p50, p90, p99
 *                   in microseconds and the ratios to self's;
 *                2. for each mode, shared (every member asks for one
 *                   lock) and separate (each member its own lock), sends
 *                   GO; at its delivery every member locks and unlocks
 *                   in a loop (the next request from the granted
 *                   callback, right after the unlock) for --seconds,
 *                   then sends DONE with its count; prints one RESULT
 *                   line per mode: pairs per second, all members.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
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

#define PROG "haq-lock-bench"
#define KINDS 2

struct lb {
	haq_ctx_t *ctx;
	haq_group_t *g;
	bool main;
	size_t members;
	uint32_t nodeid;
	bool self_back;
	/* The timed acquire. */
	bool granted;
	int grant_status;
	/* A contention phase. */
	bool running;
	bool waiting; /* a request of the loop is out */
	char name[HAQ_LOCK_NAME_MAX + 1];
	uint64_t end_ns;
	uint64_t pairs;
	uint64_t start_ns;
	/* The main process's tally of DONE messages. */
	char mode[16];
	unsigned done_members;
	uint64_t done_pairs;
	double done_secs_max;
	uint64_t grant_max_ns; /* longest wait for a grant in the loop */
	uint64_t asked_ns;
	double seconds;
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
die(const char *what, int rc)
{
	fprintf(stderr, PROG ": %s: %s\n", what, haq_strerror(rc));
	exit(1);
}

static void
send_text(struct lb *b, const char *text)
{
	int rc;

	while ((rc = haq_group_send(b->g, text, strlen(text) + 1)) ==
	       -ENOBUFS) {
		struct pollfd p = {.fd = haq_ctx_fd(b->ctx), .events = POLLIN};

		poll(&p, 1, 1);
		haq_ctx_dispatch(b->ctx);
	}
	if (rc < 0) {
		die("send", rc);
	}
}

static void
ask(struct lb *b)
{
	int rc = haq_group_lock(b->g, b->name, 0);

	if (rc < 0) {
		die("lock", rc);
	}
	b->waiting = true;
	b->asked_ns = now_ns();
}

/* The contention loop's end: withdraw a request out, report. */
static void
phase_end(struct lb *b)
{
	char buf[128];
	double secs = (double)(now_ns() - b->start_ns) / 1e9;

	b->running = false;
	if (b->waiting) {
		int rc = haq_group_unlock(b->g, b->name);

		if (rc < 0 && rc != -ENOENT) {
			die("unlock (withdraw)", rc);
		}
		b->waiting = false;
	}
	snprintf(buf, sizeof(buf), "DONE %s %" PRIu64 " %.6f %" PRIu64,
		 b->mode, b->pairs, secs, b->grant_max_ns);
	send_text(b, buf);
}

static void
on_lock(haq_group_t *g, const char *name, int status, uint64_t token,
	void *ud)
{
	struct lb *b = ud;
	int rc;

	(void)g, (void)name, (void)token;
	if (!b->running) {
		b->granted = true;
		b->grant_status = status;
		return;
	}
	if (status != 0) {
		fprintf(stderr, PROG ": lock in the loop: %s\n",
			haq_strerror(status));
		exit(1);
	}
	b->waiting = false;
	{
		uint64_t w = now_ns() - b->asked_ns;

		if (w > b->grant_max_ns) {
			b->grant_max_ns = w;
		}
	}
	b->pairs++;
	rc = haq_group_unlock(b->g, b->name);
	if (rc < 0) {
		die("unlock", rc);
	}
	if (now_ns() < b->end_ns) {
		ask(b);
	} else {
		phase_end(b);
	}
}

static void
on_message(haq_group_t *g, uint32_t nodeid, uint32_t pid, const void *data,
	   size_t len, void *ud)
{
	struct lb *b = ud;
	const char *text = data;
	char mode[16];
	unsigned long long pairs = 0;
	unsigned long long wmax = 0;
	double secs = 0;

	(void)g;
	if (nodeid == b->nodeid && pid == (uint32_t)getpid()) {
		b->self_back = true;
	}
	if (len < 2 || text[len - 1] != '\0') {
		return;
	}
	if (sscanf(text, "GO %15s %lf", mode, &secs) == 2) {
		snprintf(b->mode, sizeof(b->mode), "%s", mode);
		if (strcmp(mode, "shared") == 0) {
			snprintf(b->name, sizeof(b->name), "shared");
		} else {
			snprintf(b->name, sizeof(b->name), "own-%" PRIu32 "-%d",
				 b->nodeid, (int)getpid());
		}
		b->running = true;
		b->pairs = 0;
		b->grant_max_ns = 0;
		b->start_ns = now_ns();
		b->end_ns = b->start_ns + (uint64_t)(secs * 1e9);
		ask(b);
	} else if (b->main &&
		   sscanf(text, "DONE %15s %llu %lf %llu", mode, &pairs, &secs,
			  &wmax) == 4 &&
		   strcmp(mode, b->mode) == 0) {
		b->done_members++;
		b->done_pairs += pairs;
		if (secs > b->done_secs_max) {
			b->done_secs_max = secs;
		}
		printf("member %" PRIu32 "/%" PRIu32 ": %llu pairs in %.3f s, "
		       "longest wait %.1f ms\n",
		       nodeid, pid, pairs, secs, (double)wmax / 1e6);
	}
}

static void
turn(struct lb *b, int ms)
{
	struct pollfd p = {.fd = haq_ctx_fd(b->ctx), .events = POLLIN};

	poll(&p, 1, ms);
	if (haq_ctx_dispatch(b->ctx) < 0) {
		fprintf(stderr, PROG ": dispatch failed\n");
		exit(1);
	}
	/* A loop whose time ran out while it waited for a grant. */
	if (b->running && b->waiting && now_ns() >= b->end_ns) {
		phase_end(b);
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
pct(const uint64_t *v, size_t n, double p)
{
	return v[(size_t)(p * (double)(n - 1) + 0.5)];
}

/* One timed operation of kind k; returns its duration in ns. */
static uint64_t
once(struct lb *b, int k)
{
	static const char msg[64] = "payload";
	uint64_t t0 = now_ns();
	uint64_t t;
	int rc;

	if (k == 0) {
		b->self_back = false;
		while ((rc = haq_group_send(b->g, msg, sizeof(msg))) ==
		       -ENOBUFS) {
			turn(b, 1);
		}
		if (rc < 0) {
			die("send", rc);
		}
		while (!b->self_back) {
			turn(b, 100);
		}
		return now_ns() - t0;
	}
	b->granted = false;
	rc = haq_group_lock(b->g, "bench-uncontended", 0);
	if (rc < 0) {
		die("lock", rc);
	}
	while (!b->granted) {
		turn(b, 100);
	}
	t = now_ns() - t0;
	if (b->grant_status != 0) {
		die("lock ended", b->grant_status);
	}
	rc = haq_group_unlock(b->g, "bench-uncontended");
	if (rc < 0) {
		die("unlock", rc);
	}
	return t;
}

static void
contend(struct lb *b, const char *mode)
{
	char buf[64];

	snprintf(b->mode, sizeof(b->mode), "%s", mode);
	b->done_members = 0;
	b->done_pairs = 0;
	b->done_secs_max = 0;
	snprintf(buf, sizeof(buf), "GO %s %.3f", mode, b->seconds);
	send_text(b, buf);
	while (!stop && b->done_members < b->members) {
		turn(b, 10);
	}
	printf("RESULT kind=contended-%s members=%zu seconds=%.3f pairs=%" PRIu64
	       " pairs_s=%.1f\n",
	       mode, b->members, b->done_secs_max, b->done_pairs,
	       (double)b->done_pairs / b->done_secs_max);
	fflush(stdout);
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
		{"seconds", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	static const char *names[KINDS] = {"self", "acquire"};
	struct lb b = {.members = 3, .seconds = 5};
	const char *group = "lock-bench";
	int rounds = 6;
	int count = 300;
	uint64_t *v[KINDS];
	size_t n = 0;
	int c;
	int rc;

	while ((c = getopt_long(argc, argv, "r:g:m:R:c:s:", opts, NULL)) !=
	       -1) {
		switch (c) {
		case 'r':
			b.main = strcmp(optarg, "main") == 0;
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
		case 's':
			b.seconds = atof(optarg);
			break;
		default:
			fprintf(stderr,
				"usage: " PROG " --role main|peer [--group G] "
				"[--members N] [--rounds R] [--count C] "
				"[--seconds S]\n");
			return 2;
		}
	}
	if (rounds < 1 || count < 1 || b.seconds <= 0) {
		return 2;
	}
	signal(SIGTERM, on_stop);
	signal(SIGINT, on_stop);
	if ((rc = haq_ctx_new(&b.ctx, NULL)) < 0 ||
	    (rc = haq_ctx_local_nodeid(b.ctx, &b.nodeid)) < 0 ||
	    (rc = haq_group_join(b.ctx, group, &b.g)) < 0 ||
	    (rc = haq_group_set_message_cb(b.g, on_message, &b)) < 0 ||
	    (rc = haq_group_set_lock_cb(b.g, on_lock, &b)) < 0) {
		die("setup", rc);
	}
	printf("READY\n");
	fflush(stdout);
	if (!b.main) {
		while (!stop) {
			turn(&b, 10);
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
	/* Warm up every path (and let the view's lock round settle). */
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
		/* AB, then BA: neither kind always runs first. */
		for (int j = 0; j < KINDS; j++) {
			int k = r % 2 ? KINDS - 1 - j : j;

			for (int i = 0; i < count; i++) {
				v[k][n + (size_t)i] = once(&b, k);
			}
		}
		n += (size_t)count;
	}
	for (int k = 0; k < KINDS; k++) {
		qsort(v[k], n, sizeof(uint64_t), cmp_u64);
	}
	for (int k = 0; k < KINDS; k++) {
		printf("RESULT kind=%s n=%zu members=%zu p50_us=%.1f "
		       "p90_us=%.1f p99_us=%.1f ratio_p50=%.3f "
		       "ratio_p99=%.3f\n",
		       names[k], n, b.members, (double)pct(v[k], n, 0.5) / 1e3,
		       (double)pct(v[k], n, 0.9) / 1e3,
		       (double)pct(v[k], n, 0.99) / 1e3,
		       (double)pct(v[k], n, 0.5) / (double)pct(v[0], n, 0.5),
		       (double)pct(v[k], n, 0.99) /
			       (double)pct(v[0], n, 0.99));
	}
	fflush(stdout);
	for (int k = 0; k < KINDS; k++) {
		free(v[k]);
	}
	contend(&b, "shared");
	contend(&b, "separate");
	haq_ctx_free(b.ctx);
	return 0;
}
