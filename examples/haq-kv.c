/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * haq-kv - a replicated key-value store on a libhaq group.
 *
 * Every update (set, del) goes through the group in the agreed order and
 * is applied when it is delivered, by every member, its sender included:
 * members that start from the same table and apply the same updates in
 * the same order hold the same table. Reads (get, list, dump) answer from
 * the local table at once.
 *
 * What makes the tables start equal is libhaq's state transfer: a process
 * that joins a group with members, and the members of the losing side of a
 * healed partition, receive the table of one member (the provider) at a
 * cut in the agreed stream; the updates after the cut follow. The provider
 * copies its table into one buffer at the cut and writes it through the
 * non-blocking writer; the receiver parses the pieces as they come into a
 * new table and switches to it only when the transfer is complete, so a
 * restarted transfer never leaves half a table behind. Until this process
 * holds the state, reads answer "not-held".
 *
 * Commands come one a line from standard input, and the program keeps the
 * order of their answers: a command that waits (wait-held, sync, a send
 * that met a full queue) stops the reading of standard input until it is
 * done, so any amount of input can be piped in and memory stays bounded.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <qb/qbloop.h>

#include <haq/haq.h>

#define PROG "haq-kv"
#define DEFAULT_GROUP "haq-kv"

#define KEY_MAX 255u
#define VALUE_MAX 65536u
/*
 * Longer lines are skipped unread (memory stays bounded); shorter ones that
 * break the rules above are told why.
 */
#define LINE_LIMIT (1024u * 1024u)
#define READ_CHUNK 65536

/* Updates on the wire: a type byte, then lengths (little-endian), bytes. */
#define MSG_SET 'S'    /* klen u8, vlen u32, key, value */
#define MSG_DEL 'D'    /* klen u8, key */
#define MSG_MARKER 'M' /* u64 sequence: only its sender looks at it */
#define SET_HDR 6u
#define DEL_HDR 2u
#define MARKER_LEN 9u

/* The state's format: magic, count, entries, checksum (man page). */
static const unsigned char state_magic[8] = {'H', 'A', 'Q', 'K', 'V', 0, 0, 1};
#define ENTRY_HDR 8u

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

/* How often a waiting command looks whether the state is held. */
#define HELD_POLL_NS (50ull * 1000000ull)
/* Leave, then join again after this long (and again while -EEXIST). */
#define REJOIN_NS (200ull * 1000000ull)

struct entry {
	uint32_t klen;
	uint32_t vlen;
	unsigned char *key; /* key bytes, then value bytes: one allocation */
};

struct table {
	struct entry *e;
	size_t n;
	size_t cap;
};

/* The receiver's incremental parser of a state. */
enum parse_step {
	P_MAGIC,
	P_COUNT,
	P_ENTRY_HDR,
	P_BODY,
	P_SUM,
	P_END,
	P_BAD,
};

struct parser {
	enum parse_step step;
	unsigned char fix[8]; /* a fixed-size field being gathered */
	size_t have;	      /* its bytes so far, or the body's */
	uint64_t count;	      /* entries announced */
	struct entry cur;     /* the entry being read */
	const char *error;    /* why P_BAD */
	uint64_t bytes;	      /* state bytes parsed */
	struct table t;	      /* the new table */
};

/* What a command waits for before the next line is read. */
enum wait {
	WAIT_NONE,
	WAIT_HELD, /* wait-held */
	WAIT_SYNC, /* sync */
	WAIT_EXIT, /* end of input or quit: own updates back, then exit */
};

struct kv {
	qb_loop_t *loop;
	haq_ctx_t *ctx;
	haq_group_t *group; /* NULL while leaving and joining again */
	const char *name;
	uint32_t nodeid;
	uint32_t pid;
	bool quiet;
	int verbose;
	bool dump_at_exit;
	uint64_t max_state; /* 0: libhaq's default */
	uint64_t buffer;    /* 0: libhaq's default */

	struct table t;

	/* Receiver. */
	uint64_t rx_id; /* the transfer being received, 0 when none */
	struct parser p;

	/* Provider: the table at the cut, and how much of it is written. */
	uint64_t tx_id;
	unsigned char *tx_buf;
	size_t tx_len;
	size_t tx_off;

	/* Standard input: buf[start..len) read and not executed yet. */
	char *buf;
	size_t start;
	size_t len;
	size_t cap;
	uint64_t lineno;
	bool pollable;
	bool reading;
	bool eof;
	bool skipping;	/* inside a line that was too long */
	bool executing; /* execute_lines() runs */

	bool blocked; /* a send met a full queue: wait for writable */
	enum wait wait;
	qb_loop_timer_handle poll_timer;
	bool poll_armed;
	qb_loop_timer_handle rejoin_timer;

	/* Own markers: the sync protocol (see wait_check()). */
	uint64_t marker_seq;  /* the last one sent */
	uint64_t marker_back; /* the highest one delivered back */
	uint64_t sync_target; /* 0: the wait's marker is not sent yet */
	uint64_t unsynced;    /* updates sent and not known applied */

	uint64_t dropped; /* peer updates dropped as malformed */
	bool connected;
	bool done;
	bool exit_normally; /* end of input or quit: --dump dumps */
	int status;
};

static void resume(struct kv *c);
static void wait_check(struct kv *c);
static int group_join(struct kv *c);

static const char help_text[] =
	"usage: " PROG " [--group NAME] [--dump] [--quiet]\n"
	"              [--max-state BYTES] [--buffer BYTES] [-v]\n"
	"       " PROG " --help | --version\n"
	"\n"
	"A replicated key-value store on the libhaq group NAME (default\n"
	"\"" DEFAULT_GROUP "\"). Commands on standard input, one a line:\n"
	"\n"
	"  set KEY VALUE   set KEY to VALUE, through the group\n"
	"  del KEY         delete KEY, through the group\n"
	"  get KEY         print \"value VALUE\" or \"not-found\"\n"
	"  list            print the keys, sorted, then \"keys N\"\n"
	"  dump            print \"KEY VALUE\" lines, then \"checksum HEX\"\n"
	"  wait-held       wait until this process holds the state: \"held\"\n"
	"  sync            wait until own updates are applied: \"synced\"\n"
	"  quit            leave (as at end of input)\n"
	"\n"
	"Reads answer \"not-held\" until this process holds the state.\n"
	"\n"
	"  -g, --group NAME       the group (default \"" DEFAULT_GROUP "\")\n"
	"  -d, --dump             dump at exit (SIGUSR1 dumps at any time)\n"
	"  -q, --quiet            no state, view, connection lines (stderr)\n"
	"  -m, --max-state BYTES  largest state sent or accepted (K, M, G)\n"
	"  -b, --buffer BYTES     updates kept while receiving (K, M, G)\n"
	"  -v, --verbose          print libhaq's log on stderr (twice: debug)\n"
	"  -h, --help             show this help and exit\n"
	"  -V, --version          show the libhaq version and exit\n";

static void
short_usage(void)
{
	fprintf(stderr, "usage: " PROG " [--group NAME] [--dump] [--quiet] "
			"[--max-state BYTES] [--buffer BYTES]\n"
			"Try '" PROG " --help' for more information.\n");
}

static void
finish(struct kv *c, int status)
{
	if (c->done) {
		return;
	}
	c->done = true;
	c->status = status;
	qb_loop_stop(c->loop);
}

static void note(const struct kv *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A line on stderr about the group, the connection or the state. */
static void
note(const struct kv *c, const char *fmt, ...)
{
	va_list ap;

	if (c->quiet) {
		return;
	}
	va_start(ap, fmt);
	fputs(PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---------------------------------------------------------------- */
/* Little-endian fields                                             */
/* ---------------------------------------------------------------- */

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

static uint32_t
get_le32(const unsigned char *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--) {
		v = (v << 8) | p[i];
	}
	return v;
}

static uint64_t
get_le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--) {
		v = (v << 8) | p[i];
	}
	return v;
}

/* ---------------------------------------------------------------- */
/* The table: entries sorted by key (bytes, unsigned)               */
/* ---------------------------------------------------------------- */

/*
 * Why a key or a value is refused, or NULL. The same rules hold for a
 * command, a peer's update and a received state: keys are 1..255 bytes
 * without space, newline or NUL (a command separates words by spaces, a
 * checksum separates fields by NUL), values 0..64 KiB without newline.
 */
static const char *
check_key(const unsigned char *k, size_t len)
{
	if (len == 0) {
		return "the key is empty";
	}
	if (len > KEY_MAX) {
		return "the key is longer than 255 bytes";
	}
	for (size_t i = 0; i < len; i++) {
		if (k[i] == ' ' || k[i] == '\n' || k[i] == '\0') {
			return "the key holds a space, a newline or a NUL";
		}
	}
	return NULL;
}

static const char *
check_value(const unsigned char *v, size_t len)
{
	if (len > VALUE_MAX) {
		return "the value is longer than 64 KiB";
	}
	if (len && memchr(v, '\n', len)) {
		return "the value holds a newline";
	}
	return NULL;
}

static int
key_cmp(const unsigned char *a, size_t alen, const unsigned char *b,
	size_t blen)
{
	int r = memcmp(a, b, alen < blen ? alen : blen);

	if (r) {
		return r;
	}
	return alen < blen ? -1 : alen > blen;
}

/* The index of key, or where it would go (*found false). */
static size_t
table_find(const struct table *t, const unsigned char *key, size_t klen,
	   bool *found)
{
	size_t lo = 0;
	size_t hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = key_cmp(t->e[mid].key, t->e[mid].klen, key, klen);

		if (r == 0) {
			*found = true;
			return mid;
		}
		if (r < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	*found = false;
	return lo;
}

static int
table_reserve(struct table *t, size_t n)
{
	struct entry *e;
	size_t cap;

	if (n <= t->cap) {
		return 0;
	}
	cap = t->cap ? t->cap * 2 : 64;
	while (cap < n) {
		cap *= 2;
	}
	e = realloc(t->e, cap * sizeof(*e));
	if (!e) {
		return -ENOMEM;
	}
	t->e = e;
	t->cap = cap;
	return 0;
}

static void
table_clear(struct table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->e[i].key);
	}
	free(t->e);
	*t = (struct table){0};
}

static int
table_set(struct table *t, const unsigned char *key, size_t klen,
	  const unsigned char *val, size_t vlen)
{
	bool found;
	size_t i = table_find(t, key, klen, &found);
	unsigned char *kv = malloc(klen + vlen + 1);

	if (!kv || (!found && table_reserve(t, t->n + 1) < 0)) {
		free(kv);
		return -ENOMEM;
	}
	memcpy(kv, key, klen);
	if (vlen) {
		memcpy(kv + klen, val, vlen);
	}
	if (found) {
		free(t->e[i].key);
	} else {
		memmove(t->e + i + 1, t->e + i, (t->n - i) * sizeof(*t->e));
		t->n++;
	}
	t->e[i] = (struct entry){
		.klen = (uint32_t)klen, .vlen = (uint32_t)vlen, .key = kv};
	return 0;
}

static void
table_del(struct table *t, const unsigned char *key, size_t klen)
{
	bool found;
	size_t i = table_find(t, key, klen, &found);

	if (!found) {
		return;
	}
	free(t->e[i].key);
	memmove(t->e + i, t->e + i + 1, (t->n - i - 1) * sizeof(*t->e));
	t->n--;
}

static uint64_t
fnv1a(uint64_t h, const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= FNV_PRIME;
	}
	return h;
}

/* FNV-1a 64 over "key\0value\0" of every entry, in key order. */
static uint64_t
table_checksum(const struct table *t)
{
	static const unsigned char nul = 0;
	uint64_t h = FNV_OFFSET;

	for (size_t i = 0; i < t->n; i++) {
		const struct entry *e = &t->e[i];

		h = fnv1a(h, e->key, e->klen);
		h = fnv1a(h, &nul, 1);
		h = fnv1a(h, e->key + e->klen, e->vlen);
		h = fnv1a(h, &nul, 1);
	}
	return h;
}

/* ---------------------------------------------------------------- */
/* Reads                                                            */
/* ---------------------------------------------------------------- */

static bool
held(const struct kv *c)
{
	return c->group && haq_group_state_held(c->group) == 1;
}

static void
print_entry(const struct entry *e)
{
	fwrite(e->key, 1, e->klen, stdout);
	putchar(' ');
	fwrite(e->key + e->klen, 1, e->vlen, stdout);
	putchar('\n');
}

static void
cmd_dump(const struct kv *c)
{
	if (!held(c)) {
		puts("not-held");
		return;
	}
	for (size_t i = 0; i < c->t.n; i++) {
		print_entry(&c->t.e[i]);
	}
	printf("checksum %016" PRIx64 "\n", table_checksum(&c->t));
}

static void
cmd_list(const struct kv *c)
{
	if (!held(c)) {
		puts("not-held");
		return;
	}
	for (size_t i = 0; i < c->t.n; i++) {
		fwrite(c->t.e[i].key, 1, c->t.e[i].klen, stdout);
		putchar('\n');
	}
	printf("keys %zu\n", c->t.n);
}

static void
cmd_get(const struct kv *c, const unsigned char *key, size_t klen)
{
	bool found;
	size_t i;

	if (!held(c)) {
		puts("not-held");
		return;
	}
	i = table_find(&c->t, key, klen, &found);
	if (!found) {
		puts("not-found");
		return;
	}
	fputs("value ", stdout);
	fwrite(c->t.e[i].key + c->t.e[i].klen, 1, c->t.e[i].vlen, stdout);
	putchar('\n');
}

/* ---------------------------------------------------------------- */
/* Updates: sent through the group, applied when delivered          */
/* ---------------------------------------------------------------- */

/* 0, -ENOBUFS (the writable callback follows), or a fatal error. */
static int
send_msg(struct kv *c, const unsigned char *msg, size_t len)
{
	int rc = haq_group_send(c->group, msg, len);

	if (rc == -ENOBUFS) {
		c->blocked = true;
		return rc;
	}
	if (rc < 0) {
		fprintf(stderr, PROG ": cannot send: %s\n", haq_strerror(rc));
		finish(c, 1);
	}
	return rc;
}

static int
send_update(struct kv *c, char op, const unsigned char *key, size_t klen,
	    const unsigned char *val, size_t vlen)
{
	static unsigned char msg[SET_HDR + KEY_MAX + VALUE_MAX];
	size_t len;
	int rc;

	msg[0] = (unsigned char)op;
	msg[1] = (unsigned char)klen;
	if (op == MSG_SET) {
		put_le32(msg + 2, (uint32_t)vlen);
		memcpy(msg + SET_HDR, key, klen);
		if (vlen) {
			memcpy(msg + SET_HDR + klen, val, vlen);
		}
		len = SET_HDR + klen + vlen;
	} else {
		memcpy(msg + DEL_HDR, key, klen);
		len = DEL_HDR + klen;
	}
	rc = send_msg(c, msg, len);
	if (rc == 0) {
		c->unsynced++;
	}
	return rc;
}

static void
apply_update(struct kv *c, uint32_t nodeid, uint32_t pid,
	     const unsigned char *m, size_t len)
{
	const char *why = NULL;
	size_t klen;
	size_t vlen = 0;

	if (len < 1) {
		why = "empty";
	} else if (m[0] == MSG_MARKER) {
		if (len != MARKER_LEN) {
			why = "a marker of the wrong length";
		} else if (nodeid == c->nodeid && pid == c->pid) {
			uint64_t seq = get_le64(m + 1);

			if (seq > c->marker_back) {
				c->marker_back = seq;
			}
			wait_check(c);
		}
	} else if (m[0] == MSG_SET) {
		if (len < SET_HDR) {
			why = "a set shorter than its header";
		} else {
			klen = m[1];
			vlen = get_le32(m + 2);
			if (vlen > VALUE_MAX || len != SET_HDR + klen + vlen) {
				why = "a set whose lengths do not add up";
			} else if (!(why = check_key(m + SET_HDR, klen))) {
				why = check_value(m + SET_HDR + klen, vlen);
			}
		}
		if (!why && table_set(&c->t, m + SET_HDR, klen,
				      m + SET_HDR + klen, vlen) < 0) {
			/* Our table can no longer be trusted: stop. */
			fprintf(stderr, PROG ": out of memory\n");
			finish(c, 1);
		}
	} else if (m[0] == MSG_DEL) {
		if (len < DEL_HDR || len != DEL_HDR + (size_t)m[1]) {
			why = "a del whose length does not add up";
		} else if (!(why = check_key(m + DEL_HDR, m[1]))) {
			table_del(&c->t, m + DEL_HDR, m[1]);
		}
	} else {
		why = "of an unknown type";
	}
	if (why) {
		c->dropped++;
		note(c,
		     "dropped a malformed update of %zu bytes from %" PRIu32
		     "/%" PRIu32 ": %s (%" PRIu64 " so far)",
		     len, nodeid, pid, why, c->dropped);
	}
}

static void
message_cb(haq_group_t *group, uint32_t nodeid, uint32_t pid, const void *data,
	   size_t len, void *userdata)
{
	(void)group;
	apply_update(userdata, nodeid, pid, data, len);
}

/* ---------------------------------------------------------------- */
/* Waiting commands                                                 */
/* ---------------------------------------------------------------- */

static void
poll_timer_cb(void *data)
{
	struct kv *c = data;

	c->poll_armed = false;
	wait_check(c);
}

/*
 * Look again soon: no callback tells when the state becomes held (after
 * the messages kept during the transfer were delivered).
 */
static void
poll_arm(struct kv *c)
{
	if (c->poll_armed || c->done) {
		return;
	}
	if (qb_loop_timer_add(c->loop, QB_LOOP_LOW, HELD_POLL_NS, c,
			      poll_timer_cb, &c->poll_timer) == 0) {
		c->poll_armed = true;
	}
}

/*
 * The sync protocol: a marker sent while this process holds the state
 * comes back to it after every update it sent before, so once it is back
 * they are all applied. A marker sent while not holding may be covered by
 * the state (never delivered): so a marker is sent only while holding, and
 * sent anew when the state is received again before it came back
 * (sync_target reset to 0). Markers come back in the order they were sent,
 * so any marker at or above the target ends the wait.
 */
static void
wait_check(struct kv *c)
{
	unsigned char msg[MARKER_LEN];

	if (c->wait == WAIT_NONE || c->done) {
		return;
	}
	if (c->wait == WAIT_EXIT && !c->unsynced && !c->sync_target) {
		/* Nothing of ours is in flight: no need to hold the state. */
		c->exit_normally = true;
		finish(c, 0);
		return;
	}
	if (!held(c)) {
		poll_arm(c);
		return;
	}
	if (c->wait == WAIT_HELD) {
		puts("held");
		c->wait = WAIT_NONE;
		resume(c);
		return;
	}
	if (!c->sync_target) {
		if (c->blocked) {
			return; /* the writable callback comes back here */
		}
		msg[0] = MSG_MARKER;
		put_le64(msg + 1, c->marker_seq + 1);
		if (send_msg(c, msg, sizeof(msg)) < 0) {
			return;
		}
		c->sync_target = ++c->marker_seq;
	}
	if (c->marker_back < c->sync_target) {
		return;
	}
	/* Nothing is sent while a command waits: all of ours is applied. */
	c->sync_target = 0;
	c->unsynced = 0;
	if (c->wait == WAIT_EXIT) {
		c->exit_normally = true;
		finish(c, 0);
		return;
	}
	puts("synced");
	c->wait = WAIT_NONE;
	resume(c);
}

/* This process receives the state again: its marker may be covered. */
static void
markers_lost(struct kv *c)
{
	c->sync_target = 0;
}

/* ---------------------------------------------------------------- */
/* Commands                                                         */
/* ---------------------------------------------------------------- */

static void
line_error(const struct kv *c, const char *what)
{
	fprintf(stderr, PROG ": line %" PRIu64 ": %s\n", c->lineno, what);
}

static bool
is_word(const char *p, size_t n, const char *word)
{
	return n == strlen(word) && memcmp(p, word, n) == 0;
}

/*
 * Execute one line. false: it could not be executed yet (a full send
 * queue) and is to be tried again as it is.
 */
static bool
execute(struct kv *c, char *line, size_t n)
{
	const unsigned char *key;
	const unsigned char *val = NULL;
	size_t klen;
	size_t vlen = 0;
	size_t cmdlen;
	const char *why;
	char *sp;

	if (n > 0 && line[n - 1] == '\r') {
		n--; /* lines typed on another system end in CR LF */
	}
	while (n > 0 && line[0] == ' ') {
		line++;
		n--;
	}
	if (n == 0) {
		return true;
	}
	sp = memchr(line, ' ', n);
	cmdlen = sp ? (size_t)(sp - line) : n;
	key = (const unsigned char *)line + cmdlen;
	klen = n - cmdlen;
	while (klen > 0 && key[0] == ' ') {
		key++;
		klen--;
	}
	if (is_word(line, cmdlen, "set")) {
		const unsigned char *sep = memchr(key, ' ', klen);

		if (!sep) {
			line_error(c, "usage: set KEY VALUE");
			return true;
		}
		val = sep + 1;
		vlen = (size_t)(key + klen - val);
		klen = (size_t)(sep - key);
	}
	if (is_word(line, cmdlen, "set") || is_word(line, cmdlen, "get") ||
	    is_word(line, cmdlen, "del")) {
		why = check_key(key, klen);
		if (!why && val) {
			why = check_value(val, vlen);
		}
		if (why) {
			line_error(c, why);
			return true;
		}
		if (line[0] == 'g') {
			cmd_get(c, key, klen);
			return true;
		}
		return send_update(c, line[0] == 's' ? MSG_SET : MSG_DEL, key,
				   klen, val, vlen) != -ENOBUFS;
	}
	if (klen > 0) {
		line_error(c, "this command takes no argument");
		return true;
	}
	if (is_word(line, cmdlen, "list")) {
		cmd_list(c);
	} else if (is_word(line, cmdlen, "dump")) {
		cmd_dump(c);
	} else if (is_word(line, cmdlen, "wait-held")) {
		c->wait = WAIT_HELD;
		wait_check(c);
	} else if (is_word(line, cmdlen, "sync")) {
		c->wait = WAIT_SYNC;
		wait_check(c);
	} else if (is_word(line, cmdlen, "quit")) {
		c->eof = true;
		c->start = c->len; /* the rest is not read */
		c->wait = WAIT_EXIT;
		wait_check(c);
	} else {
		line_error(c, "unknown command (set, get, del, list, dump, "
			      "wait-held, sync, quit)");
	}
	return true;
}

static bool
paused(const struct kv *c)
{
	return c->done || c->blocked || c->wait != WAIT_NONE || !c->group;
}

/* Execute the complete lines read, while no command waits. */
static void
execute_lines(struct kv *c)
{
	/*
	 * A command may end its own wait at once (wait-held while holding),
	 * and a wait may end from a callback run inside a command: the loop
	 * further up the stack goes on, never a second one.
	 */
	if (c->executing) {
		return;
	}
	c->executing = true;
	while (!paused(c) && c->start < c->len) {
		char *line = c->buf + c->start;
		size_t avail = c->len - c->start;
		char *nl = memchr(line, '\n', avail);
		size_t n;
		size_t used;

		if (c->skipping) {
			c->start += nl ? (size_t)(nl - line) + 1 : avail;
			c->skipping = nl == NULL;
			continue;
		}
		if (nl) {
			n = (size_t)(nl - line);
			used = n + 1;
		} else if (c->eof) {
			n = avail;
			used = avail;
		} else {
			if (avail > LINE_LIMIT) {
				c->lineno++;
				line_error(c, "the line is longer than 1 MiB: "
					      "skipped");
				c->skipping = true;
				c->start = c->len;
			}
			break;
		}
		if (n > LINE_LIMIT) {
			c->lineno++;
			line_error(c, "the line is longer than 1 MiB: skipped");
			c->start += used;
			continue;
		}
		c->lineno++;
		c->start += used;
		if (!execute(c, line, n)) {
			c->lineno--; /* the same line again */
			c->start -= used;
			break;
		}
	}
	if (c->start == c->len) {
		c->start = 0;
		c->len = 0;
	}
	c->executing = false;
	if (c->eof && c->len == 0 && !paused(c)) {
		c->wait = WAIT_EXIT;
		wait_check(c);
	}
}

/* ---------------------------------------------------------------- */
/* Standard input                                                   */
/* ---------------------------------------------------------------- */

static void
input_read(struct kv *c)
{
	ssize_t n;

	if (c->start > 0) {
		memmove(c->buf, c->buf + c->start, c->len - c->start);
		c->len -= c->start;
		c->start = 0;
	}
	if (c->cap - c->len < READ_CHUNK) {
		size_t cap = c->len + READ_CHUNK;
		char *p = realloc(c->buf, cap);

		if (!p) {
			fprintf(stderr, PROG ": out of memory\n");
			finish(c, 1);
			return;
		}
		c->buf = p;
		c->cap = cap;
	}
	n = read(STDIN_FILENO, c->buf + c->len, READ_CHUNK);
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN) {
			return;
		}
		fprintf(stderr, PROG ": cannot read standard input: %s\n",
			strerror(errno));
		finish(c, 1);
		return;
	}
	if (n == 0) {
		c->eof = true;
	}
	c->len += (size_t)n;
	execute_lines(c);
}

static void input_resume(struct kv *c);

static int32_t
stdin_cb(int32_t fd, int32_t revents, void *data)
{
	struct kv *c = data;

	(void)fd;
	(void)revents;
	input_read(c);
	if (paused(c) || c->eof) {
		/* Out of the epoll set, or a pipe at EOF keeps firing. */
		qb_loop_poll_del(c->loop, STDIN_FILENO);
		c->reading = false;
		return -1;
	}
	return 0;
}

/* Regular files and /dev/null cannot be polled: read them from jobs. */
static void
stdin_job(void *data)
{
	struct kv *c = data;

	c->reading = false;
	for (int i = 0; i < 16 && !paused(c) && !c->eof; i++) {
		input_read(c);
	}
	input_resume(c);
}

static void
input_resume(struct kv *c)
{
	int rc;

	if (c->reading || paused(c) || c->eof) {
		return;
	}
	if (c->pollable) {
		rc = qb_loop_poll_add(c->loop, QB_LOOP_MED, STDIN_FILENO,
				      POLLIN, c, stdin_cb);
	} else {
		rc = qb_loop_job_add(c->loop, QB_LOOP_LOW, c, stdin_job);
	}
	if (rc < 0) {
		fprintf(stderr, PROG ": cannot watch standard input: %s\n",
			strerror(-rc));
		finish(c, 1);
		return;
	}
	c->reading = true;
}

/* A wait ended, or the queue has room: go on with the lines read. */
static void
resume(struct kv *c)
{
	execute_lines(c);
	input_resume(c);
}

static bool
fd_pollable(int fd)
{
	struct epoll_event ev = {.events = EPOLLIN};
	int ep = epoll_create1(EPOLL_CLOEXEC);
	bool ok;

	if (ep < 0) {
		return true;
	}
	ok = epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0 || errno != EPERM;
	close(ep);
	return ok;
}

/* ---------------------------------------------------------------- */
/* State transfer: the provider                                     */
/* ---------------------------------------------------------------- */

static void
tx_clear(struct kv *c)
{
	free(c->tx_buf);
	c->tx_buf = NULL;
	c->tx_len = 0;
	c->tx_off = 0;
	c->tx_id = 0;
}

/* The table as a state: see the man page for the format. */
static unsigned char *
serialize(const struct table *t, size_t *len)
{
	size_t total = sizeof(state_magic) + 8 + 8;
	unsigned char *buf;
	unsigned char *p;

	for (size_t i = 0; i < t->n; i++) {
		total += ENTRY_HDR + t->e[i].klen + t->e[i].vlen;
	}
	buf = malloc(total);
	if (!buf) {
		return NULL;
	}
	p = buf;
	memcpy(p, state_magic, sizeof(state_magic));
	p += sizeof(state_magic);
	put_le64(p, t->n);
	p += 8;
	for (size_t i = 0; i < t->n; i++) {
		const struct entry *e = &t->e[i];

		put_le32(p, e->klen);
		put_le32(p + 4, e->vlen);
		memcpy(p + ENTRY_HDR, e->key, e->klen + e->vlen);
		p += ENTRY_HDR + e->klen + e->vlen;
	}
	put_le64(p, table_checksum(t));
	*len = total;
	return buf;
}

/* Write what the window takes; the writable callback comes back here. */
static void
tx_write(struct kv *c)
{
	while (c->tx_id && c->tx_off < c->tx_len) {
		ssize_t rc = haq_group_state_write(c->group, c->tx_id,
						   c->tx_buf + c->tx_off,
						   c->tx_len - c->tx_off);

		if (rc == -EAGAIN) {
			return;
		}
		if (rc < 0) {
			fprintf(stderr,
				PROG ": state: cannot write transfer %" PRIx64
				     ": %s\n",
				c->tx_id, haq_strerror((int)rc));
			if (rc == -EFBIG) {
				fprintf(stderr, PROG
					": state: the table is larger than "
					"--max-state\n");
			}
			tx_clear(c);
			return;
		}
		c->tx_off += (size_t)rc;
		if (c->tx_off < c->tx_len) {
			return; /* the window filled */
		}
	}
	if (c->tx_id) {
		int rc = haq_group_state_end(c->group, c->tx_id, 0);

		if (rc < 0) {
			fprintf(stderr,
				PROG ": state: cannot end transfer %" PRIx64
				     ": %s\n",
				c->tx_id, haq_strerror(rc));
		}
		tx_clear(c);
	}
}

static void
provide_cb(haq_group_t *group, uint64_t transfer, void *userdata)
{
	struct kv *c = userdata;

	tx_clear(c);
	c->tx_buf = serialize(&c->t, &c->tx_len);
	if (!c->tx_buf) {
		fprintf(stderr,
			PROG ": state: out of memory for transfer "
			     "%" PRIx64 "\n",
			transfer);
		/* Another member is asked instead. */
		haq_group_state_end(group, transfer, -ENOMEM);
		return;
	}
	c->tx_id = transfer;
	note(c, "state: providing %zu keys, %zu bytes (transfer %" PRIx64 ")",
	     c->t.n, c->tx_len, transfer);
	tx_write(c);
}

static void
state_writable_cb(haq_group_t *group, uint64_t transfer, void *userdata)
{
	struct kv *c = userdata;

	(void)group;
	if (transfer == c->tx_id) {
		tx_write(c);
	}
}

/* ---------------------------------------------------------------- */
/* State transfer: the receiver                                     */
/* ---------------------------------------------------------------- */

static void
parser_reset(struct parser *p)
{
	free(p->cur.key);
	table_clear(&p->t);
	*p = (struct parser){.step = P_MAGIC};
}

static void
parser_fail(struct parser *p, const char *why)
{
	p->step = P_BAD;
	p->error = why;
}

/* Gather a fixed-size field of want bytes: true once complete. */
static bool
gather(struct parser *p, size_t want, const unsigned char **data, size_t *len)
{
	size_t n = want - p->have;

	if (n > *len) {
		n = *len;
	}
	memcpy(p->fix + p->have, *data, n);
	p->have += n;
	*data += n;
	*len -= n;
	if (p->have < want) {
		return false;
	}
	p->have = 0;
	return true;
}

/* An entry is complete: check it and append it (keys come sorted). */
static void
parser_entry(struct parser *p)
{
	struct entry *e = &p->cur;
	const char *why = check_key(e->key, e->klen);

	if (!why) {
		why = check_value(e->key + e->klen, e->vlen);
	}
	if (!why && p->t.n > 0) {
		const struct entry *last = &p->t.e[p->t.n - 1];

		if (key_cmp(last->key, last->klen, e->key, e->klen) >= 0) {
			why = "keys out of order";
		}
	}
	if (why) {
		parser_fail(p, why);
		return;
	}
	if (table_reserve(&p->t, p->t.n + 1) < 0) {
		parser_fail(p, "out of memory");
		return;
	}
	p->t.e[p->t.n++] = *e;
	e->key = NULL;
	p->step = p->t.n < p->count ? P_ENTRY_HDR : P_SUM;
}

static void
parser_feed(struct parser *p, const unsigned char *data, size_t len)
{
	p->bytes += len;
	while (len > 0 && p->step != P_BAD) {
		switch (p->step) {
		case P_MAGIC:
			if (!gather(p, 8, &data, &len)) {
				break;
			}
			if (memcmp(p->fix, state_magic, 8) != 0) {
				parser_fail(p, "not a haq-kv state "
					       "(bad magic number)");
				break;
			}
			p->step = P_COUNT;
			break;
		case P_COUNT:
			if (!gather(p, 8, &data, &len)) {
				break;
			}
			p->count = get_le64(p->fix);
			if (p->count > SIZE_MAX / sizeof(struct entry)) {
				parser_fail(p, "an impossible key count");
				break;
			}
			p->step = p->count ? P_ENTRY_HDR : P_SUM;
			break;
		case P_ENTRY_HDR:
			if (!gather(p, ENTRY_HDR, &data, &len)) {
				break;
			}
			p->cur.klen = get_le32(p->fix);
			p->cur.vlen = get_le32(p->fix + 4);
			if (p->cur.klen < 1 || p->cur.klen > KEY_MAX ||
			    p->cur.vlen > VALUE_MAX) {
				parser_fail(p, "an entry with a bad key or "
					       "value length");
				break;
			}
			p->cur.key = malloc(p->cur.klen + p->cur.vlen + 1);
			if (!p->cur.key) {
				parser_fail(p, "out of memory");
				break;
			}
			p->step = P_BODY;
			break;
		case P_BODY: {
			size_t want = p->cur.klen + p->cur.vlen - p->have;
			size_t n = want < len ? want : len;

			memcpy(p->cur.key + p->have, data, n);
			p->have += n;
			data += n;
			len -= n;
			if (p->have == p->cur.klen + p->cur.vlen) {
				p->have = 0;
				parser_entry(p);
			}
			break;
		}
		case P_SUM:
			if (!gather(p, 8, &data, &len)) {
				break;
			}
			if (get_le64(p->fix) != table_checksum(&p->t)) {
				parser_fail(p, "the checksum does not match "
					       "the entries");
				break;
			}
			p->step = P_END;
			break;
		case P_END:
			parser_fail(p, "bytes after the checksum");
			break;
		case P_BAD:
			break;
		}
	}
}

static void rejoin_cb(void *data);

/*
 * A malformed state: this process cannot trust what it was sent, and
 * libhaq gives no way to refuse one transfer. Leave the group and join it
 * again: a joiner receives a fresh transfer.
 */
static void
leave_and_rejoin(struct kv *c, const char *why)
{
	fprintf(stderr,
		PROG ": state: malformed state in transfer %" PRIx64
		     " after %" PRIu64 " bytes: %s; leaving the group and "
		     "joining it again\n",
		c->rx_id, c->p.bytes, why);
	parser_reset(&c->p);
	c->rx_id = 0;
	tx_clear(c);
	markers_lost(c);
	if (c->reading) {
		qb_loop_poll_del(c->loop, STDIN_FILENO);
		c->reading = false;
	}
	/* Deferred by libhaq: no callback of this group runs any more. */
	(void)haq_group_leave(c->group);
	c->group = NULL;
	qb_loop_timer_add(c->loop, QB_LOOP_MED, REJOIN_NS, c, rejoin_cb,
			  &c->rejoin_timer);
}

static void
chunk_cb(haq_group_t *group, uint64_t transfer, const void *data, size_t len,
	 void *userdata)
{
	struct kv *c = userdata;

	(void)group;
	if (transfer != c->rx_id) {
		return;
	}
	parser_feed(&c->p, data, len);
	if (c->p.step == P_BAD) {
		leave_and_rejoin(c, c->p.error);
	}
}

/*
 * Why a transfer stopped, in the words of haq_state_status_fn's
 * documentation: haq_strerror() speaks of the send path and of corosync,
 * and knows no text for several of these.
 */
static const char *
state_why(int error)
{
	switch (error) {
	case -EHOSTDOWN:
		return "the provider left or lost its connection";
	case -ETIMEDOUT:
		return "the provider made no progress for the stall time";
	case -ECONNRESET:
		return "a healed partition started the decision anew";
	case -EBADMSG:
		return "the provider sent frames out of order";
	case -EFBIG:
		return "the state is larger than the maximum state size";
	case -ENOBUFS:
		return "this process kept more updates than --buffer allows "
		       "while it received";
	case -ENODATA:
		return "no member holds the group's state any more";
	case -ENOTCONN:
		return "this process lost its connection to corosync";
	case -ESTALE:
		return "the transfer was stopped";
	default:
		return error < 0 ? strerror(-error) : "no error";
	}
}

static void
state_status_cb(haq_group_t *group, uint64_t transfer, int role, int status,
		int error, void *userdata)
{
	struct kv *c = userdata;

	(void)group;
	if (role == HAQ_STATE_PROVIDER) {
		if (status == HAQ_STATE_DONE) {
			note(c, "state: provided (transfer %" PRIx64 ")",
			     transfer);
		} else {
			note(c,
			     "state: providing %s: %s (transfer %" PRIx64 ")",
			     status == HAQ_STATE_RESTARTED ? "restarted"
							   : "failed",
			     state_why(error), transfer);
		}
		if (transfer == c->tx_id && status != HAQ_STATE_DONE) {
			tx_clear(c);
		}
		return;
	}
	switch (status) {
	case HAQ_STATE_BEGIN:
	case HAQ_STATE_REPLACE:
		note(c,
		     status == HAQ_STATE_BEGIN
			     ? "state: receiving (transfer %" PRIx64 ")"
			     : "state: replaced after a heal: receiving "
			       "(transfer %" PRIx64 ")",
		     transfer);
		parser_reset(&c->p);
		c->rx_id = transfer;
		markers_lost(c);
		break;
	case HAQ_STATE_DONE:
		if (transfer != c->rx_id) {
			break;
		}
		if (c->p.step != P_END) {
			leave_and_rejoin(c, c->p.step == P_BAD
						    ? c->p.error
						    : "the state ended early");
			return;
		}
		table_clear(&c->t);
		c->t = c->p.t;
		c->p.t = (struct table){0};
		parser_reset(&c->p);
		c->rx_id = 0;
		note(c, "state: done, %zu keys (transfer %" PRIx64 ")", c->t.n,
		     transfer);
		break;
	case HAQ_STATE_RESTARTED:
		note(c, "state: restarted: %s (transfer %" PRIx64 ")",
		     state_why(error), transfer);
		parser_reset(&c->p);
		c->rx_id = 0;
		markers_lost(c);
		break;
	default:
		note(c, "state: failed: %s (transfer %" PRIx64 ")%s",
		     state_why(error), transfer,
		     error == -ENOBUFS	 ? ": waiting for the next transfer"
		     : error == -ENODATA ? ": keeping this table"
					 : "");
		if (error == -EFBIG) {
			fprintf(stderr, PROG ": state: the group's state is "
					     "larger than --max-state\n");
		}
		parser_reset(&c->p);
		c->rx_id = 0;
		markers_lost(c);
		break;
	}
	wait_check(c);
}

/* ---------------------------------------------------------------- */
/* The group and the connection                                     */
/* ---------------------------------------------------------------- */

static void
print_members(const haq_view_t *view, size_t n,
	      int (*get)(const haq_view_t *, size_t, uint32_t *, uint32_t *,
			 int *))
{
	for (size_t i = 0; i < n; i++) {
		uint32_t nodeid;
		uint32_t pid;
		int reason;

		if (get(view, i, &nodeid, &pid, &reason) == 0) {
			fprintf(stderr, " %" PRIu32 "/%" PRIu32 " (%s)", nodeid,
				pid, haq_reason_str(reason));
		}
	}
}

static void
view_cb(haq_group_t *group, const haq_view_t *view, void *userdata)
{
	struct kv *c = userdata;
	size_t n = haq_view_member_count(view);

	(void)group;
	if (!c->quiet) {
		fprintf(stderr, PROG ": view %" PRIu64 ": members",
			haq_view_seq(view));
		for (size_t i = 0; i < n; i++) {
			uint32_t nodeid;
			uint32_t pid;

			if (haq_view_member(view, i, &nodeid, &pid) == 0) {
				fprintf(stderr, " %" PRIu32 "/%" PRIu32, nodeid,
					pid);
			}
		}
		if (haq_view_joined_count(view) > 0) {
			fputs("; joined", stderr);
			print_members(view, haq_view_joined_count(view),
				      haq_view_joined);
		}
		if (haq_view_left_count(view) > 0) {
			fputs("; left", stderr);
			print_members(view, haq_view_left_count(view),
				      haq_view_left);
		}
		fputc('\n', stderr);
	}
	wait_check(c);
}

static void
writable_cb(haq_group_t *group, void *userdata)
{
	struct kv *c = userdata;

	(void)group;
	c->blocked = false;
	wait_check(c);
	resume(c);
}

/*
 * Updates handed to corosync just before the connection broke may or may
 * not have reached the group; say so. A marker among them will never come
 * back: send a new one.
 */
static void
uncertain_cb(haq_group_t *group, uint64_t first_id, uint64_t last_id,
	     void *userdata)
{
	struct kv *c = userdata;

	(void)group;
	fprintf(stderr,
		PROG ": messages %" PRIu64 "..%" PRIu64 " of this session "
		     "may not have reached the group\n",
		first_id, last_id);
	markers_lost(c);
	wait_check(c);
}

static void
connection_cb(haq_ctx_t *ctx, int connected, void *userdata)
{
	struct kv *c = userdata;

	(void)ctx;
	c->connected = connected != 0;
	note(c, "%s",
	     connected ? "reconnected to corosync"
		       : "lost the connection to corosync; "
			 "reconnecting");
	if (!connected) {
		markers_lost(c);
	}
}

static void
log_cb(haq_ctx_t *ctx, int priority, const char *message, void *userdata)
{
	struct kv *c = userdata;
	int max = c->verbose > 1 ? HAQ_LOG_DEBUG : HAQ_LOG_INFO;

	(void)ctx;
	if (c->verbose > 0 && priority <= max) {
		fprintf(stderr, PROG ": libhaq: %s\n", message);
	}
}

/* Join (or join again), and take part in the state transfer. */
static int
group_join(struct kv *c)
{
	haq_group_t *g;
	int rc = haq_group_join(c->ctx, c->name, &g);

	if (rc < 0) {
		return rc;
	}
	/* Ready to receive before the first view: right after the join. */
	rc = haq_group_set_state_cbs(g, provide_cb, state_writable_cb, chunk_cb,
				     state_status_cb, c);
	if (rc == 0 && c->max_state) {
		rc = haq_group_state_limit(g, HAQ_STATE_MAX_SIZE, c->max_state);
		if (rc < 0) {
			fprintf(stderr,
				PROG ": --max-state %" PRIu64 ": %s "
				     "(1 byte to 256 TiB)\n",
				c->max_state, haq_strerror(rc));
		}
	}
	if (rc == 0 && c->buffer) {
		rc = haq_group_state_limit(g, HAQ_STATE_BUFFER, c->buffer);
		if (rc < 0) {
			fprintf(stderr,
				PROG ": --buffer %" PRIu64 ": %s "
				     "(1 MiB to 256 TiB)\n",
				c->buffer, haq_strerror(rc));
		}
	}
	if (rc < 0) {
		haq_group_leave(g);
		return rc;
	}
	haq_group_set_message_cb(g, message_cb, c);
	haq_group_set_view_cb(g, view_cb, c);
	haq_group_set_writable_cb(g, writable_cb, c);
	haq_group_set_uncertain_cb(g, uncertain_cb, c);
	c->group = g;
	c->blocked = false;
	return 0;
}

static void
rejoin_cb(void *data)
{
	struct kv *c = data;
	int rc;

	if (c->done) {
		return;
	}
	rc = group_join(c);
	if (rc == -EEXIST || rc == -ENOTCONN) {
		/* The leave is not through yet, or corosync is away. */
		qb_loop_timer_add(c->loop, QB_LOOP_MED, REJOIN_NS, c, rejoin_cb,
				  &c->rejoin_timer);
		return;
	}
	if (rc < 0) {
		fprintf(stderr, PROG ": cannot join group '%s' again: %s\n",
			c->name, haq_strerror(rc));
		finish(c, 1);
		return;
	}
	note(c, "joined group '%s' again", c->name);
	/* The table is replaced by the state this join receives. */
	wait_check(c);
	resume(c);
}

static int32_t
signal_cb(int32_t sig, void *data)
{
	struct kv *c = data;

	if (sig == SIGUSR1) {
		cmd_dump(c);
		return 0;
	}
	finish(c, 0);
	return 0;
}

/* BYTES with an optional K, M or G (powers of 1024). */
static int
parse_bytes(const char *arg, uint64_t *ret)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
	if (arg[0] < '0' || arg[0] > '9') {
		return -EINVAL;
	}
	v = strtoull(arg, &end, 10);
	if (errno || end == arg) {
		return -EINVAL;
	}
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	default:
		return -EINVAL;
	}
	if (*end && end[1] != '\0') {
		return -EINVAL;
	}
	if (v == 0 || v > (UINT64_MAX >> shift)) {
		return -EINVAL;
	}
	*ret = (uint64_t)v << shift;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"group", required_argument, NULL, 'g'},
		{"dump", no_argument, NULL, 'd'},
		{"quiet", no_argument, NULL, 'q'},
		{"max-state", required_argument, NULL, 'm'},
		{"buffer", required_argument, NULL, 'b'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct kv c = {.name = DEFAULT_GROUP};
	int opt;
	int rc;

	while ((opt = getopt_long(argc, argv, "g:dqm:b:vhV", opts, NULL)) !=
	       -1) {
		switch (opt) {
		case 'g':
			c.name = optarg;
			break;
		case 'd':
			c.dump_at_exit = true;
			break;
		case 'q':
			c.quiet = true;
			break;
		case 'm':
		case 'b':
			if (parse_bytes(optarg, opt == 'm' ? &c.max_state
							   : &c.buffer) < 0) {
				fprintf(stderr,
					PROG ": --%s: '%s' is not a size in "
					     "bytes (K, M, G allowed)\n",
					opt == 'm' ? "max-state" : "buffer",
					optarg);
				return 2;
			}
			break;
		case 'v':
			c.verbose++;
			break;
		case 'h':
			fputs(help_text, stdout);
			return 0;
		case 'V':
			printf(PROG " (libhaq) %s\n", haq_version_string());
			return 0;
		default:
			short_usage();
			return 2;
		}
	}
	/* The ranges haq_group_state_limit() accepts. */
	if (c.max_state > (1ull << 48)) {
		fprintf(stderr, PROG ": --max-state: at most 256 TiB\n");
		return 2;
	}
	if (c.buffer && (c.buffer < (1ull << 20) || c.buffer > (1ull << 48))) {
		fprintf(stderr, PROG ": --buffer: 1 MiB to 256 TiB\n");
		return 2;
	}
	if (optind != argc || c.name[0] == '\0') {
		short_usage();
		return 2;
	}
	/* Whole lines reach a pipe or a file as they happen. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	c.loop = qb_loop_create();
	if (!c.loop) {
		fprintf(stderr, PROG ": cannot create the main loop\n");
		return 1;
	}
	rc = haq_ctx_new(&c.ctx, c.loop);
	if (rc < 0) {
		fprintf(stderr, PROG ": cannot connect: %s\n",
			haq_strerror(rc));
		qb_loop_destroy(c.loop);
		return 1;
	}
	haq_ctx_set_log(c.ctx, log_cb, &c);
	haq_ctx_set_connection_cb(c.ctx, connection_cb, &c);
	haq_ctx_local_nodeid(c.ctx, &c.nodeid);
	c.pid = (uint32_t)getpid();
	c.connected = true;

	rc = group_join(&c);
	if (rc < 0) {
		fprintf(stderr, PROG ": cannot join group '%s': %s\n", c.name,
			haq_strerror(rc));
		haq_ctx_free(c.ctx);
		qb_loop_destroy(c.loop);
		return 1;
	}

	qb_loop_signal_add(c.loop, QB_LOOP_HIGH, SIGINT, &c, signal_cb, NULL);
	qb_loop_signal_add(c.loop, QB_LOOP_HIGH, SIGTERM, &c, signal_cb, NULL);
	qb_loop_signal_add(c.loop, QB_LOOP_HIGH, SIGUSR1, &c, signal_cb, NULL);

	c.pollable = fd_pollable(STDIN_FILENO);
	input_resume(&c);
	if (!c.done) {
		qb_loop_run(c.loop);
	}

	if (c.dump_at_exit && c.exit_normally) {
		cmd_dump(&c);
	}
	if (c.dropped) {
		fprintf(stderr,
			PROG ": %" PRIu64 " malformed update(s) from "
			     "peers were dropped\n",
			c.dropped);
	}
	if (c.group) {
		rc = haq_group_leave(c.group);
		if (rc > 0) {
			fprintf(stderr,
				PROG ": %d queued update(s) were not sent\n",
				rc);
		}
	}
	haq_ctx_free(c.ctx);
	qb_loop_destroy(c.loop);
	table_clear(&c.t);
	parser_reset(&c.p);
	table_clear(&c.p.t);
	free(c.tx_buf);
	free(c.buf);
	return c.status;
}
