/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * haq-chat - send lines to a libhaq group and print what the group delivers.
 *
 * Every member of the group prints the same messages in the same order,
 * which is what this example is meant to show. It also has the usual shape
 * of a libhaq program on a libqb loop: the context attaches to the loop,
 * standard input is one more source of that loop, and when the send queue
 * is full the program stops reading until the writable callback says there
 * is room again, so memory stays bounded however fast the input is.
 *
 * At end of input the program waits until its own lines have come back
 * from the group before it leaves: "echo hi | haq-chat g" exits only once
 * "hi" has its place in the agreed order, so a script can rely on it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <qb/qbloop.h>

#include <haq/haq.h>

#define PROG "haq-chat"

/* Bytes read from standard input at a time. */
#define READ_CHUNK 65536
/* Longer lines go out in pieces of this size, so the buffer stays bounded. */
#define LINE_MAX_BYTES (1024 * 1024)

struct chat {
	qb_loop_t *loop;
	haq_ctx_t *ctx;
	haq_group_t *group;
	uint32_t nodeid;
	uint32_t pid;
	bool quiet;
	int verbose;

	/* Input read but not sent yet: buf[start..len). */
	char *buf;
	size_t start;
	size_t len;
	size_t cap;
	bool pollable; /* stdin can be polled; else it is read from jobs */
	bool reading;  /* stdin is registered with the loop */
	bool blocked;  /* a send met a full queue: wait for writable */
	bool eof;
	bool done;

	bool connected;	    /* to corosync, as last reported */
	uint64_t sent;	    /* own messages the group accepted */
	uint64_t echoed;    /* own messages delivered back to us */
	uint64_t uncertain; /* own messages that will never come back */
	int status;
};

static void input_resume(struct chat *c);

static const char help_text[] =
	"usage: " PROG " [-q] [-v] GROUP\n"
	"       " PROG " --help | --version\n"
	"\n"
	"Send each line of standard input to the libhaq group GROUP and\n"
	"print every message the group delivers as \"[nodeid/pid] text\",\n"
	"in the order all members agree on. At end of input, wait until\n"
	"the lines sent have been delivered back, then leave and exit.\n"
	"\n"
	"  -q, --quiet     print messages only (no views, quorum, leader)\n"
	"  -v, --verbose   print libhaq's log on stderr (twice: debug)\n"
	"  -h, --help      show this help and exit\n"
	"  -V, --version   show the libhaq version and exit\n";

static void
short_usage(void)
{
	fprintf(stderr, "usage: " PROG " [-q] [-v] GROUP\n"
			"Try '" PROG " --help' for more information.\n");
}

static void
finish(struct chat *c, int status)
{
	if (c->done) {
		return;
	}
	c->done = true;
	c->status = status;
	qb_loop_stop(c->loop);
}

/* Flow control is invisible unless asked for (-vv). */
static void
debug(const struct chat *c, const char *msg)
{
	if (c->verbose > 1) {
		fprintf(stderr, PROG ": %s\n", msg);
	}
}

/* Print data from the network without letting it drive the terminal. */
static void
print_text(const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = p[i];

		putchar((ch < 0x20 && ch != '\t') || ch == 0x7f ? '?' : ch);
	}
}

static void
print_memb_list(const haq_view_t *view, size_t n,
		int (*get)(const haq_view_t *, size_t, uint32_t *, uint32_t *,
			   int *))
{
	for (size_t i = 0; i < n; i++) {
		uint32_t nodeid;
		uint32_t pid;
		int reason;

		if (get(view, i, &nodeid, &pid, &reason) == 0) {
			printf(" %" PRIu32 "/%" PRIu32 " (%s)", nodeid, pid,
			       haq_reason_str(reason));
		}
	}
}

static void
print_view(const haq_view_t *view)
{
	size_t n = haq_view_member_count(view);
	uint32_t ring_nodeid = 0;
	uint64_t ring_seq = 0;

	haq_view_ring(view, &ring_nodeid, &ring_seq);
	printf("view %" PRIu64 " ring %" PRIu32 ".%" PRIx64 ": members",
	       haq_view_seq(view), ring_nodeid, ring_seq);
	for (size_t i = 0; i < n; i++) {
		uint32_t nodeid;
		uint32_t pid;

		if (haq_view_member(view, i, &nodeid, &pid) == 0) {
			printf(" %" PRIu32 "/%" PRIu32, nodeid, pid);
		}
	}
	if (haq_view_joined_count(view) > 0) {
		printf("; joined");
		print_memb_list(view, haq_view_joined_count(view),
				haq_view_joined);
	}
	if (haq_view_left_count(view) > 0) {
		printf("; left");
		print_memb_list(view, haq_view_left_count(view), haq_view_left);
	}
	putchar('\n');
}

static void
print_quorum(const haq_quorum_t *q)
{
	uint32_t ring_nodeid = 0;
	uint64_t ring_seq = 0;
	uint32_t expected = 0;
	uint32_t total = 0;
	uint32_t needed = 0;
	size_t n = haq_quorum_node_count(q);

	haq_quorum_ring(q, &ring_nodeid, &ring_seq);
	haq_quorum_votes(q, &expected, &total, &needed);
	printf("quorum: %s ring %" PRIu32 ".%" PRIx64 ": nodes",
	       haq_quorum_quorate(q) == 1 ? "quorate" : "NOT quorate",
	       ring_nodeid, ring_seq);
	for (size_t i = 0; i < n; i++) {
		uint32_t nodeid;

		if (haq_quorum_node(q, i, &nodeid, NULL) == 0) {
			printf(" %" PRIu32, nodeid);
		}
	}
	printf("; votes %" PRIu32 " of %" PRIu32 ", %" PRIu32 " needed\n",
	       total, expected, needed);
}

/*
 * Done once input has ended, all of it went out, and every line we sent
 * came back: delivery to ourselves in the agreed order is the one proof
 * that corosync took the message.
 */
static void
check_done(struct chat *c)
{
	if (c->eof && !c->blocked && c->start == c->len &&
	    c->echoed + c->uncertain >= c->sent) {
		finish(c, 0);
	}
}

/*
 * Send every complete line in the buffer (at end of input also the last,
 * unterminated one). Stops at the first -ENOBUFS, keeping that line.
 */
static void
send_lines(struct chat *c)
{
	while (!c->blocked && !c->done && c->start < c->len) {
		char *line = c->buf + c->start;
		size_t avail = c->len - c->start;
		char *nl = memchr(line, '\n', avail);
		size_t n;
		size_t used;
		int rc;

		if (nl && (size_t)(nl - line) <= LINE_MAX_BYTES) {
			n = (size_t)(nl - line);
			used = n + 1;
			/* Lines typed on another system end in CR LF. */
			if (n > 0 && line[n - 1] == '\r') {
				n--;
			}
		} else if (nl || c->eof || avail >= LINE_MAX_BYTES) {
			n = avail < LINE_MAX_BYTES ? avail : LINE_MAX_BYTES;
			used = n;
		} else {
			break;
		}
		if (n > 0) {
			rc = haq_group_send(c->group, line, n);
			if (rc == -ENOBUFS) {
				/* The writable callback resumes from here. */
				c->blocked = true;
				debug(c, "send queue full, input paused");
				break;
			}
			if (rc < 0) {
				fprintf(stderr, PROG ": cannot send: %s\n",
					haq_strerror(rc));
				finish(c, 1);
				return;
			}
			c->sent++;
		}
		c->start += used;
	}
	if (c->start == c->len) {
		c->start = 0;
		c->len = 0;
	}
}

/* Read one chunk of standard input and send what it completes. */
static void
input_read(struct chat *c)
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
	send_lines(c);
	check_done(c);
}

static int32_t
stdin_cb(int32_t fd, int32_t revents, void *data)
{
	struct chat *c = data;

	(void)fd;
	(void)revents;
	input_read(c);
	if (c->blocked || c->eof || c->done) {
		/*
		 * Take the fd out of libqb's epoll set, or a pipe at EOF keeps
		 * reporting POLLHUP; returning -1 as well lets libqb reuse the
		 * entry instead of re-arming it.
		 */
		qb_loop_poll_del(c->loop, STDIN_FILENO);
		c->reading = false;
		return -1;
	}
	return 0;
}

/*
 * Regular files and /dev/null cannot be polled: read them from jobs, a
 * few chunks per job, since libqb may wait a while between jobs.
 */
static void
stdin_job(void *data)
{
	struct chat *c = data;

	c->reading = false;
	for (int i = 0; i < 16 && !c->blocked && !c->eof && !c->done; i++) {
		input_read(c);
	}
	input_resume(c);
}

static void
input_resume(struct chat *c)
{
	int rc;

	if (c->reading || c->blocked || c->eof || c->done) {
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

/* epoll refuses regular files and some devices; find out beforehand. */
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

static void
message_cb(haq_group_t *group, uint32_t nodeid, uint32_t pid, const void *data,
	   size_t len, void *userdata)
{
	struct chat *c = userdata;

	(void)group;
	printf("[%" PRIu32 "/%" PRIu32 "] ", nodeid, pid);
	print_text(data, len);
	putchar('\n');
	if (nodeid == c->nodeid && pid == c->pid) {
		c->echoed++;
		check_done(c);
	}
}

static void
view_cb(haq_group_t *group, const haq_view_t *view, void *userdata)
{
	struct chat *c = userdata;

	(void)group;
	if (!c->quiet) {
		print_view(view);
	}
}

static void
writable_cb(haq_group_t *group, void *userdata)
{
	struct chat *c = userdata;

	(void)group;
	debug(c, "send queue has room, input resumed");
	c->blocked = false;
	send_lines(c);
	input_resume(c);
	check_done(c);
}

static void
leader_cb(haq_group_t *group, int is_leader, uint64_t epoch, uint32_t nodeid,
	  uint32_t pid, void *userdata)
{
	struct chat *c = userdata;
	const haq_quorum_t *q;

	if (c->quiet) {
		return;
	}
	if (nodeid == 0) {
		bool quorate = haq_quorum_get(c->ctx, &q) == 0 &&
			       haq_quorum_quorate(q) == 1;
		const char *why = "no member eligible";

		if (!c->connected) {
			why = "no connection to corosync";
		} else if (!quorate) {
			why = "not quorate";
		} else if (haq_group_leader_state(group) ==
			   HAQ_LEADER_PENDING) {
			why = "waiting for the agreed word";
		}
		printf("leader: none (%s)\n", why);
		return;
	}
	printf("leader: %" PRIu32 "/%" PRIu32 " epoch %" PRIu64 "%s\n", nodeid,
	       pid, epoch, is_leader ? " (this process)" : "");
}

static void
quorum_cb(haq_ctx_t *ctx, const haq_quorum_t *quorum, void *userdata)
{
	struct chat *c = userdata;

	(void)ctx;
	if (!c->quiet) {
		print_quorum(quorum);
	}
}

static void
connection_cb(haq_ctx_t *ctx, int connected, void *userdata)
{
	struct chat *c = userdata;

	(void)ctx;
	c->connected = connected != 0;
	fprintf(stderr, PROG ": %s\n",
		connected ? "reconnected to corosync"
			  : "lost the connection to corosync; reconnecting");
}

/*
 * Lines handed to corosync just before the connection broke may or may
 * not have reached the others, and will never come back to us: stop
 * waiting for them, and say so.
 */
static void
uncertain_cb(haq_group_t *group, uint64_t first_id, uint64_t last_id,
	     void *userdata)
{
	struct chat *c = userdata;

	(void)group;
	fprintf(stderr,
		PROG ": lines %" PRIu64 "..%" PRIu64 " of this session may not "
		     "have reached the group\n",
		first_id, last_id);
	c->uncertain += last_id - first_id + 1;
	check_done(c);
}

static void
log_cb(haq_ctx_t *ctx, int priority, const char *message, void *userdata)
{
	struct chat *c = userdata;
	int max = c->verbose > 1 ? HAQ_LOG_DEBUG : HAQ_LOG_INFO;

	(void)ctx;
	if (c->verbose > 0 && priority <= max) {
		fprintf(stderr, PROG ": libhaq: %s\n", message);
	}
}

static int32_t
signal_cb(int32_t sig, void *data)
{
	struct chat *c = data;

	(void)sig;
	finish(c, 0);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct chat c = {0};
	const haq_quorum_t *q;
	const char *name;
	int opt;
	int rc;

	while ((opt = getopt_long(argc, argv, "qvhV", opts, NULL)) != -1) {
		switch (opt) {
		case 'q':
			c.quiet = true;
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
	if (argc - optind != 1 || argv[optind][0] == '\0') {
		short_usage();
		return 2;
	}
	name = argv[optind];
	/* Whole lines reach a pipe or a log file as they happen. */
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
	haq_ctx_set_quorum_cb(c.ctx, quorum_cb, &c);
	haq_ctx_local_nodeid(c.ctx, &c.nodeid);
	c.pid = (uint32_t)getpid();
	c.connected = true;
	/* The state at connect time: the callback reports only changes. */
	if (!c.quiet && haq_quorum_get(c.ctx, &q) == 0) {
		print_quorum(q);
	}

	rc = haq_group_join(c.ctx, name, &c.group);
	if (rc < 0) {
		fprintf(stderr, PROG ": cannot join group '%s': %s\n", name,
			haq_strerror(rc));
		haq_ctx_free(c.ctx);
		qb_loop_destroy(c.loop);
		return 1;
	}
	haq_group_set_message_cb(c.group, message_cb, &c);
	haq_group_set_view_cb(c.group, view_cb, &c);
	haq_group_set_writable_cb(c.group, writable_cb, &c);
	haq_group_set_leader_cb(c.group, leader_cb, &c);
	haq_group_set_uncertain_cb(c.group, uncertain_cb, &c);

	qb_loop_signal_add(c.loop, QB_LOOP_HIGH, SIGINT, &c, signal_cb, NULL);
	qb_loop_signal_add(c.loop, QB_LOOP_HIGH, SIGTERM, &c, signal_cb, NULL);

	c.pollable = fd_pollable(STDIN_FILENO);
	input_resume(&c);
	if (!c.done) {
		qb_loop_run(c.loop);
	}

	rc = haq_group_leave(c.group);
	if (rc > 0) {
		fprintf(stderr, PROG ": %d queued line(s) were not sent\n", rc);
	}
	haq_ctx_free(c.ctx);
	qb_loop_destroy(c.loop);
	free(c.buf);
	return c.status;
}
