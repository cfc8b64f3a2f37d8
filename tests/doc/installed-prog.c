/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Built by tests/doc/installed-use against an installed libhaq, with the
 * flags of "pkg-config --cflags --libs libhaq" and nothing else: the
 * smallest real program a user of the installed library writes. It creates
 * a context, joins a group, sends a message, waits until the group has
 * delivered it back, prints the quorum state and exits 0.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <haq/haq.h>

#define PROG "installed-use"
#define TIMEOUT_MS 30000

struct state {
	char text[64];
	int delivered;
};

static void
on_message(haq_group_t *group, uint32_t nodeid, uint32_t pid, const void *data,
	   size_t len, void *userdata)
{
	struct state *st = userdata;

	(void)group;
	if (pid == (uint32_t)getpid() && len == strlen(st->text) &&
	    memcmp(data, st->text, len) == 0) {
		printf("delivered: %.*s (from %" PRIu32 "/%" PRIu32 ")\n",
		       (int)len, (const char *)data, nodeid, pid);
		st->delivered = 1;
	}
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int
fail(const char *what, int rc)
{
	fprintf(stderr, PROG ": %s: %s\n", what, haq_strerror(rc));
	return 1;
}

int
main(void)
{
	struct state st = {{0}, 0};
	const haq_quorum_t *q = NULL;
	uint32_t expected = 0;
	uint32_t total = 0;
	uint32_t needed = 0;
	char name[64];
	haq_ctx_t *ctx;
	haq_group_t *g;
	uint64_t deadline;
	int rc;

	/* The installed header and the installed library are one version. */
	if (haq_version() != HAQ_VERSION_HEX) {
		fprintf(stderr, PROG ": header %#x, library %#x\n",
			HAQ_VERSION_HEX, haq_version());
		return 1;
	}
	printf("libhaq %s\n", haq_version_string());

	rc = haq_ctx_new(&ctx, NULL);
	if (rc < 0) {
		return fail("haq_ctx_new", rc);
	}
	snprintf(name, sizeof(name), "installed-use-%ld", (long)getpid());
	rc = haq_group_join(ctx, name, &g);
	if (rc < 0) {
		return fail("haq_group_join", rc);
	}
	haq_group_set_message_cb(g, on_message, &st);
	snprintf(st.text, sizeof(st.text), "hello from %ld", (long)getpid());
	/* Queued until the join is confirmed, then sent. */
	rc = haq_group_send(g, st.text, strlen(st.text));
	if (rc < 0) {
		return fail("haq_group_send", rc);
	}

	deadline = now_ms() + TIMEOUT_MS;
	while (!st.delivered || (rc = haq_quorum_get(ctx, &q)) == -EAGAIN) {
		struct pollfd pfd = {.fd = haq_ctx_fd(ctx), .events = POLLIN};

		if (now_ms() >= deadline) {
			fprintf(stderr, PROG ": %s after %d ms\n",
				st.delivered ? "no quorum state"
					     : "own message not delivered",
				TIMEOUT_MS);
			return 1;
		}
		poll(&pfd, 1, 100);
		rc = haq_ctx_dispatch(ctx);
		if (rc < 0) {
			return fail("haq_ctx_dispatch", rc);
		}
	}
	if (rc < 0) {
		return fail("haq_quorum_get", rc);
	}
	haq_quorum_votes(q, &expected, &total, &needed);
	printf("quorate: %s, votes %" PRIu32 " of %" PRIu32 ", %" PRIu32
	       " needed\n",
	       haq_quorum_quorate(q) == 1 ? "yes" : "no", total, expected,
	       needed);

	rc = haq_group_leave(g);
	if (rc < 0) {
		return fail("haq_group_leave", rc);
	}
	haq_ctx_free(ctx);
	return 0;
}
