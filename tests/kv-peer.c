/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A helper of tests/check_kv.sh: a member of a haq-kv group that
 * misbehaves on purpose. Started first in a fresh group, it holds the state
 * and provides it (it leads). Its first four states are malformed (a key
 * 300 bytes long, keys out of order, a wrong checksum, no checksum); every
 * later one is a valid state with the one entry "peer-key ok". At SIGUSR1 it
 * sends malformed updates, then the valid update "set junk-end ok". Prints
 * "ready" once it holds the state, "provided N" after its N-th state and
 * "sent-junk" after the updates.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qb/qbloop.h>

#include <haq/haq.h>

#define PROG "kv-peer"

struct peer {
	qb_loop_t *loop;
	haq_group_t *g;
	int transfers;
	bool ready;
	qb_loop_timer_handle timer;
};

static void
put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++) {
		p[i] = (unsigned char)(v >> (8 * i));
	}
}

static void
put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		p[i] = (unsigned char)(v >> (8 * i));
	}
}

static uint64_t
fnv1a(const unsigned char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* What the N-th state is: malformed four ways, then valid. */
enum kind {
	BAD_LENGTH = 1, /* an entry whose key is 300 bytes long */
	BAD_ORDER,	/* two entries, the second key below the first */
	BAD_SUM,	/* the checksum of other entries */
	TRUNCATED,	/* the end comes before the checksum */
	VALID,		/* "peer-key ok" */
};

static size_t
put_entry(unsigned char *p, const char *key, const char *val)
{
	size_t klen = strlen(key);
	size_t vlen = strlen(val);

	put_le32(p, (uint32_t)klen);
	put_le32(p + 4, (uint32_t)vlen);
	memcpy(p + 8, key, klen);
	memcpy(p + 8 + klen, val, vlen);
	return 8 + klen + vlen;
}

/* A state of haq-kv's format (haq-kv(1)). */
static size_t
make_state(unsigned char *buf, int kind)
{
	static const unsigned char magic[8] = {'H', 'A', 'Q', 'K',
					       'V', 0,	 0,   1};
	/* The checksum: "peer-key" NUL "ok" NUL (sizeof counts the last). */
	static const unsigned char sum_in[] = "peer-key\0ok";
	size_t len = 16;

	memcpy(buf, magic, 8);
	put_le64(buf + 8, kind == BAD_ORDER ? 2 : 1);
	switch (kind) {
	case BAD_LENGTH:
		put_le32(buf + len, 300);
		put_le32(buf + len + 4, 2);
		memset(buf + len + 8, 'k', 300);
		len += 8 + 300 + 2;
		break;
	case BAD_ORDER:
		len += put_entry(buf + len, "peer-key", "ok");
		len += put_entry(buf + len, "peer-a", "ok");
		break;
	case BAD_SUM:
		len += put_entry(buf + len, "peer-key", "not-ok");
		break;
	default:
		len += put_entry(buf + len, "peer-key", "ok");
		break;
	}
	if (kind == TRUNCATED) {
		return len;
	}
	put_le64(buf + len, fnv1a(sum_in, sizeof(sum_in)));
	return len + 8;
}

static void
on_provide(haq_group_t *g, uint64_t transfer, void *userdata)
{
	struct peer *p = userdata;
	unsigned char buf[512];
	int kind = ++p->transfers < VALID ? p->transfers : VALID;
	size_t len = make_state(buf, kind);
	ssize_t rc = haq_group_state_write(g, transfer, buf, len);

	/* A few hundred bytes go out at once while the window is idle. */
	if (rc != (ssize_t)len) {
		fprintf(stderr, PROG ": write: %zd\n", rc);
		exit(1);
	}
	if (haq_group_state_end(g, transfer, 0) < 0) {
		fprintf(stderr, PROG ": cannot end the transfer\n");
		exit(1);
	}
	printf("provided %d\n", p->transfers);
}

static void
on_writable(haq_group_t *g, uint64_t transfer, void *userdata)
{
	(void)g;
	(void)transfer;
	(void)userdata;
}

static void
on_chunk(haq_group_t *g, uint64_t transfer, const void *data, size_t len,
	 void *userdata)
{
	(void)g;
	(void)transfer;
	(void)data;
	(void)len;
	(void)userdata;
}

static void
on_status(haq_group_t *g, uint64_t transfer, int role, int status, int error,
	  void *userdata)
{
	(void)g;
	(void)userdata;
	fprintf(stderr, PROG ": transfer %llx role %d status %d: %s\n",
		(unsigned long long)transfer, role, status,
		haq_strerror(error));
}

static void
check_ready(void *data)
{
	struct peer *p = data;

	if (haq_group_state_held(p->g) == 1) {
		p->ready = true;
		printf("ready\n");
		return;
	}
	qb_loop_timer_add(p->loop, QB_LOOP_LOW, 50000000ull, p, check_ready,
			  &p->timer);
}

static void
on_view(haq_group_t *g, const haq_view_t *view, void *userdata)
{
	struct peer *p = userdata;

	(void)g;
	if (haq_view_seq(view) == 1) {
		check_ready(p);
	}
}

static void
send_or_die(struct peer *p, const void *data, size_t len)
{
	int rc = haq_group_send(p->g, data, len);

	if (rc < 0) {
		fprintf(stderr, PROG ": send: %s\n", haq_strerror(rc));
		exit(1);
	}
}

static int32_t
on_signal(int32_t sig, void *data)
{
	struct peer *p = data;
	unsigned char m[64];

	if (sig != SIGUSR1) {
		qb_loop_stop(p->loop);
		return 0;
	}
	send_or_die(p, "X", 1);	    /* an unknown type */
	send_or_die(p, "S\003", 2); /* a set shorter than its header */
	/* A set whose lengths do not add up. */
	m[0] = 'S';
	m[1] = 3;
	put_le32(m + 2, 100);
	memcpy(m + 6, "abc", 3);
	send_or_die(p, m, 9);
	send_or_die(p, "D\005ab", 4); /* a del, the same */
	send_or_die(p, "M1234", 5);   /* a marker of the wrong length */
	/* A key with a space. */
	m[1] = 3;
	put_le32(m + 2, 1);
	memcpy(m + 6, "a bv", 4);
	send_or_die(p, m, 10);
	/* A value with a newline. */
	m[1] = 1;
	put_le32(m + 2, 2);
	memcpy(m + 6, "k\nv", 3);
	send_or_die(p, m, 9);
	/* And a valid one after them. */
	m[1] = 8;
	put_le32(m + 2, 2);
	memcpy(m + 6, "junk-endok", 10);
	send_or_die(p, m, 16);
	printf("sent-junk\n");
	return 0;
}

int
main(int argc, char **argv)
{
	struct peer p = {0};
	haq_ctx_t *ctx;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: " PROG " GROUP\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	p.loop = qb_loop_create();
	rc = haq_ctx_new(&ctx, p.loop);
	if (rc == 0) {
		rc = haq_group_join(ctx, argv[1], &p.g);
	}
	if (rc == 0) {
		rc = haq_group_set_state_cbs(p.g, on_provide, on_writable,
					     on_chunk, on_status, &p);
	}
	if (rc < 0) {
		fprintf(stderr, PROG ": %s\n", haq_strerror(rc));
		return 1;
	}
	haq_group_set_view_cb(p.g, on_view, &p);
	qb_loop_signal_add(p.loop, QB_LOOP_HIGH, SIGUSR1, &p, on_signal, NULL);
	qb_loop_signal_add(p.loop, QB_LOOP_HIGH, SIGTERM, &p, on_signal, NULL);
	qb_loop_signal_add(p.loop, QB_LOOP_HIGH, SIGINT, &p, on_signal, NULL);
	qb_loop_run(p.loop);
	haq_group_leave(p.g);
	haq_ctx_free(ctx);
	qb_loop_destroy(p.loop);
	return 0;
}
