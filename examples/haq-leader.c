/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * haq-leader - follow the leadership of a libhaq group and run a command
 * when this process gains or loses it.
 *
 * The leader is chosen by libhaq from the agreed view, and only while the
 * partition is quorate, so at most one partition has one. That is enough to
 * run a single active service in a cluster: start it in --promote, stop it
 * in --demote, and a node cut off from the majority stops its copy as soon
 * as it loses quorum.
 *
 * Commands run through /bin/sh -c in the background of the loop, one at a
 * time and in the order the changes happened, so a demote always finishes
 * before a later promote starts. The loop keeps dispatching meanwhile: the
 * process never stops answering corosync because a command is slow.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <qb/qbloop.h>

#include <haq/haq.h>

#define PROG "haq-leader"

/* How long a SIGTERM waits for the demote command before giving up. */
#define STOP_TIMEOUT_NS (10ull * 1000000000ull)

enum cmd_kind {
	CMD_PROMOTE,
	CMD_DEMOTE,
};

/* A command waiting for its turn. */
struct cmd {
	struct cmd *next;
	enum cmd_kind kind;
	uint64_t epoch;
};

struct leader {
	qb_loop_t *loop;
	haq_ctx_t *ctx;
	haq_group_t *group;
	const char *name;
	const char *promote;
	const char *demote;
	int verbose;

	/*
	 * Whether the service is (or, once the queue has run, will be)
	 * promoted here, and the epoch it was promoted in.
	 */
	bool promoted;
	uint64_t promoted_epoch;
	bool leader_known; /* a leadership state has been printed */
	bool connected;	   /* to corosync, as last reported */

	struct cmd *head;
	struct cmd *tail;
	pid_t child; /* the command running, or 0 */
	enum cmd_kind child_kind;
	uint64_t child_started_ms;

	bool stopping;
	bool done;
	int status;
	qb_loop_timer_handle stop_timer;
};

static void
short_usage(void)
{
	fprintf(stderr,
		"usage: " PROG " GROUP [--promote CMD] [--demote CMD] [-v]\n"
		"Try '" PROG " --help' for more information.\n");
}

static const char help_text[] =
	"usage: " PROG " GROUP [--promote CMD] [--demote CMD] [-v]\n"
	"       " PROG " --help | --version\n"
	"\n"
	"Join the libhaq group GROUP and report its leader. Run CMD\n"
	"with /bin/sh -c when this process becomes the leader\n"
	"(--promote) or stops being it (--demote), one command at a\n"
	"time, in order, with HAQ_EPOCH set to the leadership's epoch.\n"
	"On SIGTERM or SIGINT a leader runs --demote before it exits.\n"
	"\n"
	"  -p, --promote CMD  run CMD on becoming the leader\n"
	"  -d, --demote CMD   run CMD on losing the leadership\n"
	"  -v, --verbose      print libhaq's log (twice: debug)\n"
	"  -h, --help         show this help and exit\n"
	"  -V, --version      show the libhaq version and exit\n";

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Start a line of output with the wall-clock time. */
static void
stamp(void)
{
	struct timespec ts;
	struct tm tm;
	char buf[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	printf("%s.%03ld ", buf, ts.tv_nsec / 1000000);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
	va_list ap;

	stamp();
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static const char *
cmd_name(enum cmd_kind kind)
{
	return kind == CMD_PROMOTE ? "promote" : "demote";
}

static void
finish(struct leader *l, int status)
{
	if (l->done) {
		return;
	}
	l->done = true;
	l->status = status;
	qb_loop_stop(l->loop);
}

/* ------------------------------------------------------------------ */
/* Commands                                                           */
/* ------------------------------------------------------------------ */

/* In the child: become the command. Never returns. */
static void __attribute__((noreturn))
child_exec(const struct leader *l, const char *cmd, enum cmd_kind kind,
	   uint64_t epoch)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	char num[32];
	sigset_t none;
	int fd;

	/* libqb's handlers would write into the parent's signal pipe. */
	for (int sig = 1; sig < NSIG; sig++) {
		sigaction(sig, &dfl, NULL);
	}
	/*
	 * A process group of its own: a Ctrl-C meant for haq-leader must
	 * not kill the service behind its back; haq-leader demotes it.
	 */
	setpgid(0, 0);
	fd = open("/dev/null", O_RDONLY);
	if (fd > 0) {
		dup2(fd, STDIN_FILENO);
	}
	/*
	 * Close the corosync connections and everything else: a service
	 * that outlives this process must not keep its IPC open, or
	 * corosync would not notice the process is gone.
	 */
	if (close_range(3, ~0u, 0) < 0) {
		for (int i = 3; i < 1024; i++) {
			close(i);
		}
	}
	snprintf(num, sizeof(num), "%" PRIu64, epoch);
	setenv("HAQ_EPOCH", num, 1);
	setenv("HAQ_GROUP", l->name, 1);
	setenv("HAQ_ROLE", kind == CMD_PROMOTE ? "leader" : "follower", 1);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	fprintf(stderr, PROG ": cannot run /bin/sh: %s\n", strerror(errno));
	_exit(127);
}

static void stop_if_idle(struct leader *l);

/* Start the next queued command unless one is running. */
static void
run_next(struct leader *l)
{
	while (!l->child && l->head) {
		struct cmd *c = l->head;
		const char *cmd =
			c->kind == CMD_PROMOTE ? l->promote : l->demote;
		sigset_t all;
		sigset_t old;
		pid_t pid;

		l->head = c->next;
		if (!l->head) {
			l->tail = NULL;
		}
		if (!cmd) {
			free(c);
			continue;
		}
		/*
		 * Block signals across fork so the child cannot run a
		 * libqb handler before it has reset them.
		 */
		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, &old);
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			child_exec(l, cmd, c->kind, c->epoch);
		}
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (pid < 0) {
			say("%s: cannot fork: %s", cmd_name(c->kind),
			    strerror(errno));
			free(c);
			continue;
		}
		l->child = pid;
		l->child_kind = c->kind;
		l->child_started_ms = now_ms();
		say("%s: running '%s' (pid %d, HAQ_EPOCH=%" PRIu64 ")",
		    cmd_name(c->kind), cmd, (int)pid, c->epoch);
		free(c);
	}
	stop_if_idle(l);
}

static void
enqueue(struct leader *l, enum cmd_kind kind, uint64_t epoch)
{
	struct cmd *c = calloc(1, sizeof(*c));

	if (!c) {
		say("%s: out of memory: command not run", cmd_name(kind));
		return;
	}
	c->kind = kind;
	c->epoch = epoch;
	if (l->tail) {
		l->tail->next = c;
	} else {
		l->head = c;
	}
	l->tail = c;
	run_next(l);
}

/* Move the service towards the wanted state; commands keep the order. */
static void
set_promoted(struct leader *l, bool want, uint64_t epoch)
{
	if (want && !l->promoted) {
		l->promoted = true;
		l->promoted_epoch = epoch;
		enqueue(l, CMD_PROMOTE, epoch);
	} else if (!want && l->promoted) {
		l->promoted = false;
		enqueue(l, CMD_DEMOTE, l->promoted_epoch);
	}
}

static int32_t
sigchld_cb(int32_t fd, int32_t revents, void *data)
{
	struct leader *l = data;
	struct signalfd_siginfo si;
	pid_t pid;
	int st;

	(void)revents;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
	}
	/* One SIGCHLD may stand for several children: reap them all. */
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0 ||
	       (pid < 0 && errno == EINTR)) {
		uint64_t ms;

		if (pid != l->child || pid <= 0) {
			continue;
		}
		ms = now_ms() - l->child_started_ms;
		if (WIFEXITED(st)) {
			say("%s: exited with status %d after %" PRIu64 " ms%s",
			    cmd_name(l->child_kind), WEXITSTATUS(st), ms,
			    WEXITSTATUS(st) ? " (FAILED)" : "");
		} else if (WIFSIGNALED(st)) {
			say("%s: killed by signal %d after %" PRIu64
			    " ms (FAILED)",
			    cmd_name(l->child_kind), WTERMSIG(st), ms);
		}
		l->child = 0;
	}
	run_next(l);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Stopping                                                           */
/* ------------------------------------------------------------------ */

static void
stop_if_idle(struct leader *l)
{
	if (l->stopping && !l->child && !l->head) {
		finish(l, l->status);
	}
}

static void
stop_timeout_cb(void *data)
{
	struct leader *l = data;

	l->stop_timer = 0;
	say("demote did not finish within %llu s; exiting anyway%s",
	    STOP_TIMEOUT_NS / 1000000000ull,
	    l->child ? " (the command keeps running)" : "");
	finish(l, 1);
}

static int32_t
signal_cb(int32_t sig, void *data)
{
	struct leader *l = data;

	if (l->stopping) {
		say("%s again: exiting now", strsignal(sig));
		finish(l, 1);
		return 0;
	}
	l->stopping = true;
	say("%s: %s", strsignal(sig),
	    l->promoted || l->child ? "demoting before exit" : "exiting");
	/*
	 * Demote first and leave the group only afterwards: another member
	 * is promoted when we leave, and the two services must not overlap.
	 */
	set_promoted(l, false, 0);
	if (l->child || l->head) {
		qb_loop_timer_add(l->loop, QB_LOOP_HIGH, STOP_TIMEOUT_NS, l,
				  stop_timeout_cb, &l->stop_timer);
	}
	stop_if_idle(l);
	return 0;
}

/* ------------------------------------------------------------------ */
/* libhaq callbacks                                                   */
/* ------------------------------------------------------------------ */

static void
print_memb_list(const char *what, const haq_view_t *view, size_t n,
		int (*get)(const haq_view_t *, size_t, uint32_t *, uint32_t *,
			   int *))
{
	if (n == 0) {
		return;
	}
	printf("; %s", what);
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
	stamp();
	printf("view %" PRIu64 " ring %" PRIu32 ".%" PRIx64 ": members",
	       haq_view_seq(view), ring_nodeid, ring_seq);
	for (size_t i = 0; i < n; i++) {
		uint32_t nodeid;
		uint32_t pid;

		if (haq_view_member(view, i, &nodeid, &pid) == 0) {
			printf(" %" PRIu32 "/%" PRIu32, nodeid, pid);
		}
	}
	print_memb_list("joined", view, haq_view_joined_count(view),
			haq_view_joined);
	print_memb_list("left", view, haq_view_left_count(view), haq_view_left);
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
	stamp();
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

static bool
quorate(struct leader *l)
{
	const haq_quorum_t *q;

	return haq_quorum_get(l->ctx, &q) == 0 && haq_quorum_quorate(q) == 1;
}

/* Report a leadership state and act on it. */
static void
apply_leader(struct leader *l, int is_leader, uint64_t epoch, uint32_t nodeid,
	     uint32_t pid)
{
	l->leader_known = true;
	if (is_leader) {
		say("leader: this process (nodeid %" PRIu32 " pid %" PRIu32
		    ") epoch %" PRIu64,
		    nodeid, pid, epoch);
	} else if (nodeid) {
		say("follower: leader is %" PRIu32 "/%" PRIu32
		    " epoch %" PRIu64,
		    nodeid, pid, epoch);
	} else if (!l->connected) {
		say("no leader (no connection to corosync)");
	} else if (!quorate(l)) {
		say("no leader (not quorate)");
	} else {
		say("no leader (not known yet)");
	}
	if (!l->stopping) {
		/*
		 * A new epoch while still the leader (a new ring) needs no
		 * command: the service is running already.
		 */
		set_promoted(l, is_leader != 0, epoch);
	}
}

static void
leader_cb(haq_group_t *group, int is_leader, uint64_t epoch, uint32_t nodeid,
	  uint32_t pid, void *userdata)
{
	(void)group;
	apply_leader(userdata, is_leader, epoch, nodeid, pid);
}

/*
 * Runs once the dispatch that delivered our first view has returned. A
 * process that starts in a partition without quorum gets no leader
 * callback (nothing changed: there was no leader before either), so say
 * it here. In a quorate partition the leader's word comes in a moment.
 */
static void
first_view_job(void *data)
{
	struct leader *l = data;

	if (!l->done && !l->leader_known && !quorate(l)) {
		apply_leader(l, 0, 0, 0, 0);
	}
}

static void
view_cb(haq_group_t *group, const haq_view_t *view, void *userdata)
{
	struct leader *l = userdata;

	(void)group;
	print_view(view);
	if (haq_view_seq(view) == 1) {
		qb_loop_job_add(l->loop, QB_LOOP_MED, l, first_view_job);
	}
}

static void
quorum_cb(haq_ctx_t *ctx, const haq_quorum_t *quorum, void *userdata)
{
	(void)ctx;
	(void)userdata;
	print_quorum(quorum);
}

static void
connection_cb(haq_ctx_t *ctx, int connected, void *userdata)
{
	struct leader *l = userdata;

	(void)ctx;
	/*
	 * The leader callback follows with "no leader" on a loss, and with
	 * the leadership of the fresh view after the reconnect.
	 */
	l->connected = connected != 0;
	say("%s", connected ? "reconnected to corosync"
			    : "lost the connection to corosync; reconnecting");
}

static void
log_cb(haq_ctx_t *ctx, int priority, const char *message, void *userdata)
{
	struct leader *l = userdata;
	int max = l->verbose > 1 ? HAQ_LOG_DEBUG : HAQ_LOG_INFO;

	(void)ctx;
	if (l->verbose > 0 && priority <= max) {
		fprintf(stderr, PROG ": libhaq: %s\n", message);
	}
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"promote", required_argument, NULL, 'p'},
		{"demote", required_argument, NULL, 'd'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct leader l = {0};
	const haq_quorum_t *q;
	uint32_t nodeid = 0;
	sigset_t chld;
	int sfd;
	int opt;
	int rc;

	while ((opt = getopt_long(argc, argv, "p:d:vhV", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			l.promote = optarg;
			break;
		case 'd':
			l.demote = optarg;
			break;
		case 'v':
			l.verbose++;
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
	l.name = argv[optind];
	/* Whole lines reach a log file as they happen. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	l.loop = qb_loop_create();
	if (!l.loop) {
		fprintf(stderr, PROG ": cannot create the main loop\n");
		return 1;
	}
	/*
	 * Children are reaped from the loop through a signalfd rather than
	 * qb_loop_signal_add(): libqb's handlers lack SA_RESTART, and a
	 * SIGCHLD would then interrupt whatever system call the library is
	 * in, a corosync IPC round trip included. Blocked, it interrupts
	 * nothing; children get an empty mask back before exec.
	 */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
	rc = sfd < 0 ? -errno
		     : qb_loop_poll_add(l.loop, QB_LOOP_HIGH, sfd, POLLIN, &l,
					sigchld_cb);
	if (rc < 0) {
		fprintf(stderr, PROG ": cannot watch for SIGCHLD: %s\n",
			strerror(-rc));
		qb_loop_destroy(l.loop);
		return 1;
	}
	qb_loop_signal_add(l.loop, QB_LOOP_HIGH, SIGINT, &l, signal_cb, NULL);
	qb_loop_signal_add(l.loop, QB_LOOP_HIGH, SIGTERM, &l, signal_cb, NULL);

	rc = haq_ctx_new(&l.ctx, l.loop);
	if (rc < 0) {
		fprintf(stderr, PROG ": cannot connect: %s\n",
			haq_strerror(rc));
		qb_loop_destroy(l.loop);
		return 1;
	}
	haq_ctx_set_log(l.ctx, log_cb, &l);
	haq_ctx_set_connection_cb(l.ctx, connection_cb, &l);
	haq_ctx_set_quorum_cb(l.ctx, quorum_cb, &l);
	haq_ctx_local_nodeid(l.ctx, &nodeid);
	l.connected = true;
	say("starting: group %s, nodeid %" PRIu32 ", pid %d", l.name, nodeid,
	    (int)getpid());
	/* The state at connect time: the callback reports only changes. */
	if (haq_quorum_get(l.ctx, &q) == 0) {
		print_quorum(q);
	}

	rc = haq_group_join(l.ctx, l.name, &l.group);
	if (rc < 0) {
		fprintf(stderr, PROG ": cannot join group '%s': %s\n", l.name,
			haq_strerror(rc));
		haq_ctx_free(l.ctx);
		qb_loop_destroy(l.loop);
		return 1;
	}
	haq_group_set_view_cb(l.group, view_cb, &l);
	haq_group_set_leader_cb(l.group, leader_cb, &l);

	qb_loop_run(l.loop);

	haq_group_leave(l.group);
	l.group = NULL;
	haq_ctx_free(l.ctx);
	if (l.child) {
		say("exiting with '%s' (pid %d) still running",
		    cmd_name(l.child_kind), (int)l.child);
	} else {
		say("exiting");
	}
	while (l.head) {
		struct cmd *c = l.head;

		l.head = c->next;
		free(c);
	}
	qb_loop_destroy(l.loop);
	close(sfd);
	return l.status;
}
