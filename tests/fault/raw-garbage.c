/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * raw-garbage: a plain libcpg member that joins a libhaq group and sends it
 * frames libhaq must refuse: random bytes, truncated headers, bad magic,
 * version, type, flags, incarnation or seq, fragments claiming huge totals,
 * valid fragment headers that do not fit together, and bundles whose
 * records overrun their frame or are empty. It never sends a
 * whole valid message, so a libhaq member must deliver none of this.
 *
 * Every frame's fate at a libhaq receiver is known in advance from the wire
 * rules (libhaq/wire.h), so at the end the program prints what each
 * receiver's counters must show:
 *     raw-garbage: sent=N malformed=A oversize=B ignored=C control=D
 *                  open_partials=1
 * malformed: HAQ_COUNTER_MALFORMED must grow by exactly A (plus at most D:
 * control frames are ignored today but a stricter version may count them);
 * oversize: HAQ_COUNTER_OVERSIZE by B; the message left open when this
 * program leaves must show in HAQ_COUNTER_PARTIAL_DROPPED. It waits until
 * its last frame came back to itself before leaving, so every member that
 * shared its view received them all.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <corosync/cpg.h>

/* The wire constants of libhaq (libhaq/wire.h), restated on purpose. */
#define W_MAGIC 0x31514148u
#define W_VERSION 1
#define W_HDR 24
#define W_FRAG_HDR 40
#define W_DATA 1
#define W_FRAG 2
#define W_CONTROL 3
#define W_BUNDLE 4
#define W_CONTROL_EPOCH 1
#define HAQ_MAX_DEFAULT (64ull * 1024 * 1024)

#define INCARNATION 0x6761726261676521ull /* "!egabrag" */

enum fate { F_MALFORMED, F_OVERSIZE, F_IGNORED, F_CONTROL, F_NFATES };
static const char *const fate_name[] = {"malformed", "oversize", "ignored",
					"control"};

static cpg_handle_t handle;
static struct cpg_name group;
static uint32_t local_nodeid;
static bool joined;
static uint64_t sent;
static uint64_t self_back;
static uint64_t fates[F_NFATES];
static uint64_t seq; /* last seq used */
static uint64_t rng = 88172645463325252ull;
static int verbose;

static uint64_t
rnd(void)
{
	/* xorshift64: reproducible garbage, same on every run. */
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

static size_t
hdr(uint8_t *b, uint8_t type, uint64_t s, uint64_t total, uint64_t offset)
{
	put32(b, W_MAGIC);
	b[4] = W_VERSION;
	b[5] = type;
	put16(b + 6, 0);
	put64(b + 8, INCARNATION);
	put64(b + 16, s);
	if (type != W_FRAG) {
		return W_HDR;
	}
	put64(b + 24, total);
	put64(b + 32, offset);
	return W_FRAG_HDR;
}

static void
deliver_cb(cpg_handle_t h, const struct cpg_name *name, uint32_t nodeid,
	   uint32_t pid, void *msg, size_t len)
{
	(void)h;
	(void)name;
	(void)msg;
	(void)len;
	if (nodeid == local_nodeid && pid == (uint32_t)getpid()) {
		self_back++;
	}
}

static void
confchg_cb(cpg_handle_t h, const struct cpg_name *name,
	   const struct cpg_address *members, size_t nmembers,
	   const struct cpg_address *left, size_t nleft,
	   const struct cpg_address *joined_list, size_t njoined)
{
	(void)h;
	(void)name;
	(void)left;
	(void)nleft;
	(void)joined_list;
	(void)njoined;
	for (size_t i = 0; i < nmembers; i++) {
		if (members[i].nodeid == local_nodeid &&
		    members[i].pid == (uint32_t)getpid()) {
			joined = true;
		}
	}
	if (verbose) {
		fprintf(stderr, "raw-garbage: view of %zu members\n", nmembers);
	}
}

static void
pump(int ms)
{
	int fd;
	struct pollfd p;

	if (cpg_fd_get(handle, &fd) != CS_OK) {
		fprintf(stderr, "raw-garbage: cpg_fd_get failed\n");
		exit(1);
	}
	p.fd = fd;
	p.events = POLLIN;
	if (poll(&p, 1, ms) > 0) {
		cs_error_t err = cpg_dispatch(handle, CS_DISPATCH_ALL);

		if (err != CS_OK && err != CS_ERR_TRY_AGAIN) {
			fprintf(stderr, "raw-garbage: cpg_dispatch: %d\n", err);
			exit(1);
		}
	}
}

static void
send_frame(const void *buf, size_t len, enum fate f)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	cs_error_t err;

	for (;;) {
		err = cpg_mcast_joined(handle, CPG_TYPE_AGREED, &iov, 1);
		if (err != CS_ERR_TRY_AGAIN) {
			break;
		}
		pump(1);
	}
	if (err != CS_OK) {
		fprintf(stderr, "raw-garbage: cpg_mcast_joined: %d\n", err);
		exit(1);
	}
	sent++;
	fates[f]++;
}

/* A frame of one libhaq header of type t with n payload bytes. */
static size_t
frame(uint8_t *b, uint8_t t, uint64_t s, uint64_t total, uint64_t off, size_t n)
{
	size_t h = hdr(b, t, s, total, off);

	for (size_t i = 0; i < n; i++) {
		b[h + i] = (uint8_t)rnd();
	}
	return h + n;
}

static void
round_of_garbage(uint8_t *b, bool big)
{
	size_t n;
	uint64_t s;

	/* Random bytes that cannot start with the magic. */
	n = rnd() % 300;
	for (size_t i = 0; i < n; i++) {
		b[i] = (uint8_t)rnd();
	}
	if (n > 0 && b[0] == (uint8_t)W_MAGIC) {
		b[0] ^= 0xff;
	}
	send_frame(b, n, F_MALFORMED);

	/* A data header cut short (0..23 bytes). */
	n = frame(b, W_DATA, ++seq, 0, 0, 8);
	send_frame(b, rnd() % W_HDR, F_MALFORMED);
	/* A fragment header cut short (24..39 bytes): no payload at all. */
	n = frame(b, W_FRAG, ++seq, 100, 0, 8);
	send_frame(b, W_HDR + rnd() % (W_FRAG_HDR - W_HDR), F_MALFORMED);
	/* Whole headers with no payload. */
	send_frame(b, hdr(b, W_DATA, ++seq, 0, 0), F_MALFORMED);
	send_frame(b, hdr(b, W_FRAG, ++seq, 10, 0), F_MALFORMED);

	/* Bad magic, version, type, flags, incarnation, seq. */
	n = frame(b, W_DATA, ++seq, 0, 0, 16);
	b[rnd() % 4] ^= (uint8_t)(1 + rnd() % 255);
	send_frame(b, n, F_MALFORMED);
	n = frame(b, W_DATA, ++seq, 0, 0, 16);
	b[4] = (uint8_t[]){0, 2, 255}[rnd() % 3];
	send_frame(b, n, F_MALFORMED);
	n = frame(b, W_DATA, ++seq, 0, 0, 16);
	b[5] = (uint8_t[]){0, 6, 255}[rnd() % 3];
	send_frame(b, n, F_MALFORMED);

	/*
	 * Bundles (libhaq/bundle.h) that do not hold together: a record
	 * whose length runs past the frame, one of length 0, a length
	 * written in five bytes, a length not written canonically.
	 */
	n = frame(b, W_BUNDLE, ++seq, 0, 0, 16);
	b[W_HDR] = (uint8_t)(16 + rnd() % 100); /* one record, too long */
	send_frame(b, n, F_MALFORMED);
	n = frame(b, W_BUNDLE, ++seq, 0, 0, 16);
	b[W_HDR] = 3;
	b[W_HDR + 4] = 0; /* a second record of length 0 */
	send_frame(b, n, F_MALFORMED);
	n = frame(b, W_BUNDLE, ++seq, 0, 0, 16);
	memset(b + W_HDR, 0x80, 4);
	b[W_HDR + 4] = 1;
	send_frame(b, n, F_MALFORMED);
	n = frame(b, W_BUNDLE, ++seq, 0, 0, 16);
	b[W_HDR] = 0x8e;
	b[W_HDR + 1] = 0; /* 14 in two bytes */
	send_frame(b, n, F_MALFORMED);
	n = frame(b, W_DATA, ++seq, 0, 0, 16);
	put16(b + 6, (uint16_t)(1 + rnd() % 0xffff));
	send_frame(b, n, F_MALFORMED);
	n = frame(b, W_DATA, ++seq, 0, 0, 16);
	put64(b + 8, 0);
	send_frame(b, n, F_MALFORMED);
	n = frame(b, W_DATA, 0, 0, 0, 16);
	send_frame(b, n, F_MALFORMED);

	/* Fragments that contradict themselves. */
	send_frame(b, frame(b, W_FRAG, ++seq, 0, 0, 16), F_MALFORMED);
	send_frame(b, frame(b, W_FRAG, ++seq, 100, 100, 16), F_MALFORMED);
	send_frame(b, frame(b, W_FRAG, ++seq, 100, 90, 16), F_MALFORMED);
	send_frame(b, frame(b, W_FRAG, ++seq, UINT64_MAX, UINT64_MAX - 1, 16),
		   F_MALFORMED);

	/*
	 * Fragments claiming huge totals: refused as oversize; the rest of
	 * such a message is then dropped silently.
	 */
	s = ++seq;
	send_frame(b,
		   frame(b, W_FRAG, s,
			 (uint64_t[]){HAQ_MAX_DEFAULT + 1, 1ull << 40,
				      1ull << 63, UINT64_MAX}[rnd() % 4],
			 0, 64),
		   F_OVERSIZE);
	send_frame(b, frame(b, W_FRAG, s, HAQ_MAX_DEFAULT + 1, 64, 64),
		   F_IGNORED);

	/* A plausible start, then continuations that do not fit it. */
	s = ++seq;
	send_frame(b, frame(b, W_FRAG, s, 1000, 0, 100), F_IGNORED);
	send_frame(b, frame(b, W_FRAG, s, 1000, 300, 100), F_MALFORMED);
	s = ++seq;
	send_frame(b, frame(b, W_FRAG, s, 1000, 0, 100), F_IGNORED);
	send_frame(b, frame(b, W_FRAG, s, 2000, 100, 100), F_MALFORMED);
	s = ++seq;
	send_frame(b, frame(b, W_FRAG, s, 1000, 0, 100), F_IGNORED);
	send_frame(b, frame(b, W_FRAG, ++seq, 1000, 100, 100), F_MALFORMED);
	/* A continuation with nothing in progress. */
	send_frame(b, frame(b, W_FRAG, ++seq, 1000, 500, 100), F_MALFORMED);
	/* A start that replaces an open one (the open one is dropped). */
	s = ++seq;
	send_frame(b, frame(b, W_FRAG, s, 1000, 0, 100), F_IGNORED);
	s = ++seq;
	send_frame(b, frame(b, W_FRAG, s, 1000, 0, 100), F_IGNORED);
	send_frame(b, frame(b, W_FRAG, s, 1000, 100, 1000), F_MALFORMED);
	/*
	 * An old seq (below the oversize one, which was consumed): a
	 * duplicate, dropped without counting.
	 */
	send_frame(b, frame(b, W_FRAG, 1, 1000, 0, 100), F_IGNORED);

	/* Control frames: nothing in them may be trusted. */
	n = hdr(b, W_CONTROL, ++seq, 0, 0);
	b[n] = W_CONTROL_EPOCH;
	put64(b + n + 1, UINT64_MAX - rnd() % 1000);
	put32(b + n + 9, 0xffffffffu);
	send_frame(b, n + 13, F_CONTROL);
	n = frame(b, W_CONTROL, ++seq, 0, 0, 1 + rnd() % 64);
	send_frame(b, n, F_CONTROL);
	/*
	 * State transfer's frames (BEGIN .. GIVEUP, types 6..10): random
	 * bodies (malformed for a member that takes part in state transfer),
	 * and a CHUNK and an END of a transfer nobody runs. A member that
	 * takes part drops and counts them; one that does not ignores them.
	 */
	for (uint8_t t = 6; t <= 10; t++) {
		size_t h = hdr(b, W_CONTROL, ++seq, 0, 0);

		n = frame(b, W_CONTROL, seq, 0, 0, 1 + rnd() % 48);
		b[h] = t;
		send_frame(b, n, F_CONTROL);
	}
	{
		size_t h = hdr(b, W_CONTROL, ++seq, 0, 0);

		b[h] = 7; /* CHUNK: id, index, 8 zero bytes, data */
		put64(b + h + 1, rnd() | 1);
		put64(b + h + 9, 0);
		put64(b + h + 17, 0);
		memset(b + h + 25, 0x5a, 100);
		send_frame(b, h + 125, F_CONTROL);
		h = hdr(b, W_CONTROL, ++seq, 0, 0);
		b[h] = 8; /* END: id, chunks, bytes, error, 0 */
		put64(b + h + 1, rnd() | 1);
		put64(b + h + 9, 1);
		put64(b + h + 17, 100);
		put32(b + h + 25, 0);
		put32(b + h + 29, 0);
		send_frame(b, h + 33, F_CONTROL);
	}

	if (big) {
		/*
		 * A large plausible start: every receiver allocates its
		 * claimed 60 MiB, and must free it when the next fragment
		 * does not fit.
		 */
		s = ++seq;
		send_frame(b, frame(b, W_FRAG, s, 60ull << 20, 0, 4096),
			   F_IGNORED);
		send_frame(b, frame(b, W_FRAG, s, 60ull << 20, 8192, 4096),
			   F_MALFORMED);
		/* Almost a whole atomic message of random bytes. */
		n = 1000000;
		for (size_t i = 0; i < n; i++) {
			b[i] = (uint8_t)rnd();
		}
		b[0] = (uint8_t)~W_MAGIC;
		send_frame(b, n, F_MALFORMED);
	}
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"group", required_argument, NULL, 'g'},
		{"rounds", required_argument, NULL, 'r'},
		{"pause", required_argument, NULL, 'p'},
		{"verbose", no_argument, NULL, 'v'},
		{NULL, 0, NULL, 0},
	};
	cpg_callbacks_t cb = {.cpg_deliver_fn = deliver_cb,
			      .cpg_confchg_fn = confchg_cb};
	const char *name = "haq-probe";
	int rounds = 100, pause_ms = 10, c;
	unsigned int nodeid;
	uint8_t *buf;
	cs_error_t err;
	struct timespec t0;

	while ((c = getopt_long(argc, argv, "g:r:p:v", opts, NULL)) != -1) {
		switch (c) {
		case 'g':
			name = optarg;
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'p':
			pause_ms = atoi(optarg);
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			fprintf(stderr, "usage: raw-garbage [--group NAME] "
					"[--rounds N] [--pause MS] [-v]\n");
			return 2;
		}
	}
	if (strlen(name) == 0 || strlen(name) > CPG_MAX_NAME_LENGTH) {
		return 2;
	}
	/* libhaq's convention: the CPG name is the bytes without the NUL. */
	group.length = (uint32_t)strlen(name);
	memcpy(group.value, name, group.length);
	buf = malloc(1 << 20);
	if (!buf) {
		return 1;
	}
	err = cpg_initialize(&handle, &cb);
	if (err != CS_OK) {
		fprintf(stderr, "raw-garbage: cpg_initialize: %d\n", err);
		return 1;
	}
	cpg_local_get(handle, &nodeid);
	local_nodeid = nodeid;
	while ((err = cpg_join(handle, &group)) == CS_ERR_TRY_AGAIN) {
		usleep(10000);
	}
	if (err != CS_OK) {
		fprintf(stderr, "raw-garbage: cpg_join: %d\n", err);
		return 1;
	}
	/* Sends before the join is confirmed are silently dropped. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!joined) {
		pump(100);
	}
	for (int r = 0; r < rounds; r++) {
		round_of_garbage(buf, r % 25 == 12);
		pump(pause_ms);
	}
	/* Leave one message open: receivers drop it when we leave. */
	send_frame(buf, frame(buf, W_FRAG, ++seq, 60ull << 20, 0, 4096),
		   F_IGNORED);
	for (int i = 0; i < 3000 && self_back < sent; i++) {
		pump(10);
	}
	printf("raw-garbage: sent=%" PRIu64 " self_delivered=%" PRIu64, sent,
	       self_back);
	for (int f = 0; f < F_NFATES; f++) {
		printf(" %s=%" PRIu64, fate_name[f], fates[f]);
	}
	printf(" open_partials=1\n");
	fflush(stdout);
	cpg_finalize(handle);
	free(buf);
	return self_back == sent ? 0 : 1;
}
