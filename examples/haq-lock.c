/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * haq-lock - run a command while holding a cluster-wide lock: flock(1) for
 * a corosync cluster, on the locks of a libhaq group.
 *
 * It joins GROUP, asks for lock NAME, runs CMD once the lock is granted
 * (with the grant's fencing token in its environment), waits for it,
 * releases the lock and leaves. If the lock is lost while CMD runs (this
 * node's partition lost quorum, the lease ran out, corosync went away) CMD
 * is killed: SIGTERM to its process group, SIGKILL after a grace that
 * never outlasts the lease, so a CMD that was told to stop is gone before
 * any other member can be granted the lock (haq_group_lock(3)).
 *
 * Exit status: CMD's own when it ends on its own (128 + N when a signal N
 * killed it), EXIT_BUSY when the lock was busy (--nonblock) or not granted
 * in time (--wait), EXIT_USAGE for a bad command line, EXIT_LOST when the
 * lock was lost while CMD ran, EXIT_UNAVAILABLE when corosync or the group
 * could not be used, 126/127 when CMD could not be run (as env(1)).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <qb/qbloop.h>

#include <haq/haq.h>

#define PROG "haq-lock"

/* Exit statuses of haq-lock itself (CMD's own otherwise). */
#define EXIT_BUSY 1	    /* busy (--nonblock) or not granted in time */
#define EXIT_USAGE 2	    /* bad command line */
#define EXIT_UNAVAILABLE 69 /* corosync, the group or the lock unusable */
#define EXIT_LOST 75	    /* the lock was lost while CMD ran */
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND 127

#define DEFAULT_KILL_AFTER_MS 5000u
#define MAX_SECONDS_MS (86400u * 1000u)
#define LEASE_LOOK_MS 200u
#define NS_PER_MS UINT64_C(1000000)

enum phase {
	PHASE_WAITING, /* asked for the lock, not granted yet */
	PHASE_RUNNING, /* CMD runs under the lock */
	PHASE_LOST,    /* CMD runs, the lock is lost: it is being killed */
	PHASE_DONE,    /* CMD was reaped, or never ran */
};

/* The signals this program handles, and what CMD gets back for them. */
static const int handled_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
#define NHANDLED (sizeof(handled_signals) / sizeof(handled_signals[0]))

struct locker {
	qb_loop_t *loop;
	haq_ctx_t *ctx;
	haq_group_t *group;
	const char *group_name;
	const char *lock_name;
	char **cmd;
	bool nonblock;
	bool foreground;
	uint32_t wait_ms; /* 0: wait for ever */
	uint32_t kill_after_ms;
	int verbose;

	/* What this process started with, given back to CMD. */
	struct sigaction orig_act[NHANDLED];
	sigset_t orig_mask;
	int *orig_fds;
	size_t norig_fds;

	enum phase phase;
	uint64_t token;
	uint64_t deadline_ns; /* the lease's, as last seen */
	pid_t child;	      /* CMD, or 0 */
	bool term_sent;
	bool kill_sent;
	qb_loop_timer_handle wait_timer;
	qb_loop_timer_handle lease_timer;
	qb_loop_timer_handle kill_timer;

	bool done;
	int status;
};

static void
short_usage(void)
{
	fprintf(stderr,
		"usage: " PROG " [OPTION]... GROUP NAME -- CMD [ARG]...\n"
		"Try '" PROG " --help' for more information.\n");
}

static const char help_text[] =
	"usage: " PROG " [OPTION]... GROUP NAME -- CMD [ARG]...\n"
	"       " PROG " --help | --version\n"
	"\n"
	"Join the libhaq group GROUP, take its lock NAME (waiting for it by\n"
	"default), run CMD with the lock held and release the lock when CMD\n"
	"exits. If the lock is lost while CMD runs, CMD is killed.\n"
	"CMD gets HAQ_LOCK_TOKEN (the grant's fencing token), HAQ_LOCK_NAME\n"
	"and HAQ_LOCK_GROUP in its environment.\n"
	"\n"
	"  -n, --nonblock           fail (exit 1) at once if the lock is held\n"
	"  -w, --wait SECONDS       fail (exit 1) if not granted in SECONDS\n"
	"  -k, --kill-after SECONDS after a lost lock, SIGKILL follows SIGTERM\n"
	"                           after SECONDS (default 5), or when the\n"
	"                           lease runs out if that comes first\n"
	"      --foreground         run CMD in this process group (it may read\n"
	"                           the terminal; only CMD itself is killed)\n"
	"  -v, --verbose            say what happens; twice: libhaq's log too\n"
	"  -h, --help               show this help and exit\n"
	"  -V, --version            show the libhaq version and exit\n"
	"\n"
	"Exit status: CMD's (128+N if signal N killed it); 1 busy or timed\n"
	"out; 2 bad command line; 69 corosync or the group unusable; 75 the\n"
	"lock was lost while CMD ran; 126 CMD not executable; 127 CMD not\n"
	"found; 128+N haq-lock was stopped by signal N before CMD ran.\n"
	"See haq-lock(1).\n";

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void say(const struct locker *l, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A line on stderr when the verbosity is at least level. */
static void
say(const struct locker *l, int level, const char *fmt, ...)
{
	va_list ap;

	if (l->verbose < level) {
		return;
	}
	va_start(ap, fmt);
	fputs(PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
finish(struct locker *l, int status)
{
	if (l->done) {
		return;
	}
	l->done = true;
	l->status = status;
	qb_loop_stop(l->loop);
}

static void
timer_del(struct locker *l, qb_loop_timer_handle *t)
{
	if (*t) {
		qb_loop_timer_del(l->loop, *t);
		*t = 0;
	}
}

/* ------------------------------------------------------------------ */
/* File descriptors                                                   */
/* ------------------------------------------------------------------ */

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a;
	int y = *(const int *)b;

	return (x > y) - (x < y);
}

/*
 * The descriptors open now, sorted, into *fds (malloc'd). From
 * /proc/self/fd; without /proc, by asking each of the first 1024.
 */
static int
open_fds(int **fds, size_t *n)
{
	DIR *d = opendir("/proc/self/fd");
	size_t cap = 16;
	int *v = malloc(cap * sizeof(*v));
	struct dirent *e;

	*n = 0;
	if (!v) {
		if (d) {
			closedir(d);
		}
		return -ENOMEM;
	}
	for (int fd = 0; !d && fd < 1024; fd++) {
		if (fcntl(fd, F_GETFD) < 0) {
			continue;
		}
		if (*n == cap) {
			int *p = realloc(v, 2 * cap * sizeof(*v));

			if (!p) {
				free(v);
				return -ENOMEM;
			}
			v = p;
			cap *= 2;
		}
		v[(*n)++] = fd;
	}
	while (d && (e = readdir(d))) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);

		if (e->d_name[0] < '0' || e->d_name[0] > '9' || *end ||
		    fd == dirfd(d)) {
			continue;
		}
		if (*n == cap) {
			int *p = realloc(v, 2 * cap * sizeof(*v));

			if (!p) {
				closedir(d);
				free(v);
				return -ENOMEM;
			}
			v = p;
			cap *= 2;
		}
		v[(*n)++] = (int)fd;
	}
	if (d) {
		closedir(d);
	}
	qsort(v, *n, sizeof(*v), cmp_int);
	*fds = v;
	return 0;
}

/*
 * CMD inherits exactly the descriptors this process was started with
 * (as with flock(1), "haq-lock g n -- cmd 3<file" works): every other one
 * open now (corosync's IPC, the loop's, libhaq's) is marked close-on-exec.
 * A CMD that kept corosync's IPC open would keep this process's group
 * membership, and so its lock, alive after this process died.
 */
static int
cloexec_ours(const struct locker *l)
{
	int *now;
	size_t n;
	int rc = open_fds(&now, &n);

	if (rc < 0) {
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		int flags;

		if (bsearch(&now[i], l->orig_fds, l->norig_fds,
			    sizeof(*l->orig_fds), cmp_int)) {
			continue;
		}
		flags = fcntl(now[i], F_GETFD);
		if (flags >= 0 && !(flags & FD_CLOEXEC) &&
		    fcntl(now[i], F_SETFD, flags | FD_CLOEXEC) < 0) {
			rc = -errno;
			break;
		}
	}
	free(now);
	return rc;
}

/* ------------------------------------------------------------------ */
/* CMD                                                                */
/* ------------------------------------------------------------------ */

/* In the child: become CMD. Never returns. */
static void __attribute__((noreturn))
child_exec(const struct locker *l, pid_t parent, int errfd)
{
	char num[32];
	int err;

	/*
	 * If haq-lock dies (SIGKILL, a crash) its membership ends, and
	 * with it the lock: CMD must not run on. Checked after the call
	 * too, for a parent that died before it.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent) {
		_exit(EXIT_CANNOT_EXEC);
	}

	/*
	 * Signals are all blocked here (see start_cmd()): give back the
	 * dispositions this process was started with (an ignored SIGINT
	 * stays ignored, as under nohup) before the mask.
	 */
	for (size_t i = 0; i < NHANDLED; i++) {
		sigaction(handled_signals[i], &l->orig_act[i], NULL);
	}
	/*
	 * A process group of its own, unless --foreground: a lost lock
	 * kills CMD with everything it started.
	 */
	if (!l->foreground) {
		setpgid(0, 0);
	}
	snprintf(num, sizeof(num), "%" PRIu64, l->token);
	if (setenv("HAQ_LOCK_TOKEN", num, 1) < 0 ||
	    setenv("HAQ_LOCK_NAME", l->lock_name, 1) < 0 ||
	    setenv("HAQ_LOCK_GROUP", l->group_name, 1) < 0) {
		err = errno;
	} else {
		sigprocmask(SIG_SETMASK, &l->orig_mask, NULL);
		execvp(l->cmd[0], l->cmd);
		err = errno;
		/* Nothing may run with the lock but CMD: block again. */
		{
			sigset_t all;

			sigfillset(&all);
			sigprocmask(SIG_BLOCK, &all, NULL);
		}
	}
	if (write(errfd, &err, sizeof(err)) < 0) {
		_exit(EXIT_NOT_FOUND);
	}
	_exit(EXIT_NOT_FOUND);
}

static void
kill_cmd(struct locker *l, int sig)
{
	if (!l->child) {
		return;
	}
	kill(l->foreground ? l->child : -l->child, sig);
}

static void lose(struct locker *l, const char *why);
static void lease_timer_cb(void *data);

/*
 * Look at the lease again at its deadline, and at least every
 * LEASE_LOOK_MS: after a loss libhaq no longer says until when the lease
 * ran, and lose() bounds CMD's grace by the deadline seen last.
 */
static void
arm_lease_timer(struct locker *l, uint64_t now)
{
	uint64_t in = l->deadline_ns > now ? l->deadline_ns - now : 0;

	if (in > (uint64_t)LEASE_LOOK_MS * NS_PER_MS) {
		in = (uint64_t)LEASE_LOOK_MS * NS_PER_MS;
	}
	qb_loop_timer_add(l->loop, QB_LOOP_HIGH, in, l, lease_timer_cb,
			  &l->lease_timer);
}

static void
lease_timer_cb(void *data)
{
	struct locker *l = data;
	uint64_t deadline = 0;
	uint64_t now;

	l->lease_timer = 0;
	if (l->phase != PHASE_RUNNING) {
		return;
	}
	now = now_ns();
	if (haq_group_lock_held(l->group, l->lock_name, NULL, &deadline) !=
		    1 ||
	    deadline <= now) {
		lose(l, "the lease ran out");
		return;
	}
	l->deadline_ns = deadline;
	arm_lease_timer(l, now);
}

/*
 * Run CMD, the lock held with a lease that runs until deadline. Returns
 * 0, or an exit status when CMD could not be started.
 */
static int
start_cmd(struct locker *l)
{
	pid_t parent = getpid();
	sigset_t all;
	sigset_t old;
	int pipefd[2];
	ssize_t n;
	pid_t pid;
	int err = 0;
	int rc;

	rc = cloexec_ours(l);
	if (rc < 0) {
		fprintf(stderr, PROG ": cannot list open files: %s\n",
			strerror(-rc));
		return EXIT_UNAVAILABLE;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		fprintf(stderr, PROG ": cannot run %s: %s\n", l->cmd[0],
			strerror(errno));
		return EXIT_UNAVAILABLE;
	}
	/* The child must not run a libqb handler before it reset them. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		child_exec(l, parent, pipefd[1]);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(pipefd[1]);
	if (pid < 0) {
		err = errno;
	} else {
		/* Both sides set it, so kill(-pid) works from now on. */
		if (!l->foreground) {
			setpgid(pid, pid);
		}
		/* Nothing comes back unless the exec failed. */
		do {
			n = read(pipefd[0], &err, sizeof(err));
		} while (n < 0 && errno == EINTR);
		if (n != (ssize_t)sizeof(err)) {
			err = 0;
		}
	}
	close(pipefd[0]);
	if (err) {
		if (pid > 0) {
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
			}
		}
		fprintf(stderr, PROG ": cannot run %s: %s%s\n", l->cmd[0],
			pid < 0 ? "fork: " : "", strerror(err));
		return err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
	}
	l->child = pid;
	say(l, 1, "running %s (pid %d), token %" PRIu64, l->cmd[0], (int)pid,
	    l->token);
	return 0;
}

static void
kill_timer_cb(void *data)
{
	struct locker *l = data;

	l->kill_timer = 0;
	if (l->child && !l->kill_sent) {
		say(l, 0, "%s still runs: sending SIGKILL", l->cmd[0]);
		l->kill_sent = true;
		kill_cmd(l, SIGKILL);
	}
}

/* The lock is lost while CMD runs: CMD must stop before the lease ends. */
static void
lose(struct locker *l, const char *why)
{
	uint64_t now = now_ns();
	uint64_t grace = (uint64_t)l->kill_after_ms * NS_PER_MS;

	if (l->phase != PHASE_RUNNING) {
		return;
	}
	l->phase = PHASE_LOST;
	timer_del(l, &l->lease_timer);
	fprintf(stderr, PROG ": lost lock '%s' (%s): stopping %s (pid %d)\n",
		l->lock_name, why, l->cmd[0], (int)l->child);
	l->term_sent = true;
	kill_cmd(l, SIGTERM);
	/*
	 * SIGKILL follows after the grace, and at the latest when the lease
	 * runs out: from then on another member may be granted the lock
	 * (after the takeover margin).
	 */
	if (l->deadline_ns <= now) {
		grace = 0;
	} else if (l->deadline_ns - now < grace) {
		grace = l->deadline_ns - now;
	}
	if (!grace) {
		kill_timer_cb(l);
		return;
	}
	qb_loop_timer_add(l->loop, QB_LOOP_HIGH, grace, l, kill_timer_cb,
			  &l->kill_timer);
}

/* Ask for the lock (again); false when that failed (the loop stops). */
static bool
request(struct locker *l)
{
	int rc = haq_group_lock(l->group, l->lock_name,
				l->nonblock ? HAQ_LOCK_TRY : 0);

	if (rc < 0) {
		fprintf(stderr, PROG ": cannot ask for lock '%s': %s\n",
			l->lock_name, haq_strerror(rc));
		finish(l, EXIT_UNAVAILABLE);
		return false;
	}
	return true;
}

static void
granted(struct locker *l, uint64_t token)
{
	uint64_t deadline = 0;
	uint64_t now;
	int rc;

	/*
	 * This process may have been paused between the grant and now:
	 * CMD starts only within the lease.
	 */
	now = now_ns();
	if (haq_group_lock_held(l->group, l->lock_name, NULL, &deadline) !=
		    1 ||
	    deadline <= now) {
		say(l, 0, "lock '%s' granted but its lease ran out at once: "
			  "asking again",
		    l->lock_name);
		haq_group_unlock(l->group, l->lock_name);
		(void)request(l);
		return;
	}
	timer_del(l, &l->wait_timer);
	l->token = token;
	l->deadline_ns = deadline;
	say(l, 1, "lock '%s' granted, token %" PRIu64 ", lease %" PRIu64
		  " ms ahead",
	    l->lock_name, token, (uint64_t)((deadline - now) / NS_PER_MS));
	rc = start_cmd(l);
	if (rc) {
		l->phase = PHASE_DONE;
		haq_group_unlock(l->group, l->lock_name);
		finish(l, rc);
		return;
	}
	l->phase = PHASE_RUNNING;
	arm_lease_timer(l, now_ns());
}

static const char *
loss_reason(int status)
{
	switch (status) {
	case -ENOLCK:
		return "this partition lost quorum";
	case -ETIME:
		return "the lease ran out";
	case -ENOTCONN:
		return "the connection to corosync was lost";
	default:
		return haq_strerror(status);
	}
}

static void
lock_cb(haq_group_t *group, const char *name, int status, uint64_t token,
	void *userdata)
{
	struct locker *l = userdata;

	(void)group;
	(void)name;
	switch (l->phase) {
	case PHASE_WAITING:
		if (status == 0) {
			granted(l, token);
		} else if (status == -EBUSY) {
			say(l, 0, "lock '%s' is busy", l->lock_name);
			finish(l, EXIT_BUSY);
		} else if (status == -EAGAIN) {
			say(l, 0, "lock '%s': the partition is not quorate",
			    l->lock_name);
			finish(l, EXIT_BUSY);
		} else if (status == -ENOLCK || status == -ETIME ||
			   status == -ENOTCONN) {
			/* A grant lost before it was told: still wanted. */
			say(l, 1, "lock '%s': a grant was lost (%s): asking "
				  "again",
			    l->lock_name, loss_reason(status));
			(void)request(l);
		} else {
			fprintf(stderr, PROG ": lock '%s': %s\n",
				l->lock_name, haq_strerror(status));
			finish(l, EXIT_UNAVAILABLE);
		}
		break;
	case PHASE_RUNNING:
		if (status < 0) {
			lose(l, loss_reason(status));
		}
		break;
	default:
		break;
	}
}

static void
wait_timer_cb(void *data)
{
	struct locker *l = data;

	l->wait_timer = 0;
	if (l->phase != PHASE_WAITING) {
		return;
	}
	say(l, 0, "lock '%s' not granted within %" PRIu32 ".%03" PRIu32 " s",
	    l->lock_name, l->wait_ms / 1000u, l->wait_ms % 1000u);
	haq_group_unlock(l->group, l->lock_name);
	l->phase = PHASE_DONE;
	finish(l, EXIT_BUSY);
}

static int32_t
sigchld_cb(int32_t fd, int32_t revents, void *data)
{
	struct locker *l = data;
	struct signalfd_siginfo si;
	pid_t pid;
	int st;

	(void)revents;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
	}
	/* One SIGCHLD may stand for several children: reap them all. */
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0 ||
	       (pid < 0 && errno == EINTR)) {
		int rc;

		if (pid <= 0 || pid != l->child) {
			continue;
		}
		if (WIFEXITED(st)) {
			rc = WEXITSTATUS(st);
		} else if (WIFSIGNALED(st)) {
			rc = 128 + WTERMSIG(st);
		} else {
			rc = 1;
		}
		timer_del(l, &l->lease_timer);
		timer_del(l, &l->kill_timer);
		if (l->phase == PHASE_LOST) {
			/* What it started in its group goes with it. */
			if (!l->foreground) {
				kill(-pid, SIGKILL);
			}
			say(l, 0, "%s (pid %d) stopped after the lock was lost",
			    l->cmd[0], (int)pid);
			rc = EXIT_LOST;
		} else {
			/* Released at once: the next waiter need not wait
			 * for this process to leave. */
			int urc = haq_group_unlock(l->group, l->lock_name);

			if (urc < 0 && urc != -ENOENT) {
				say(l, 0, "releasing lock '%s': %s (leaving "
					  "the group releases it)",
				    l->lock_name, haq_strerror(urc));
			}
			say(l, 1, "%s (pid %d) exited with status %d; lock "
				  "'%s' released",
			    l->cmd[0], (int)pid, rc, l->lock_name);
		}
		l->child = 0;
		l->phase = PHASE_DONE;
		finish(l, rc);
	}
	return 0;
}

static int32_t
signal_cb(int32_t sig, void *data)
{
	struct locker *l = data;

	if (l->child) {
		say(l, 1, "%s: passing it on to %s", strsignal(sig), l->cmd[0]);
		kill_cmd(l, sig);
		return 0;
	}
	if (l->phase == PHASE_WAITING) {
		/* Withdraw the request (or release a grant not used). */
		haq_group_unlock(l->group, l->lock_name);
		l->phase = PHASE_DONE;
	}
	say(l, 1, "%s: exiting", strsignal(sig));
	finish(l, 128 + sig);
	return 0;
}

static void
connection_cb(haq_ctx_t *ctx, int connected, void *userdata)
{
	struct locker *l = userdata;

	(void)ctx;
	say(l, 1, "%s", connected ? "reconnected to corosync"
				  : "lost the connection to corosync");
}

static void
log_cb(haq_ctx_t *ctx, int priority, const char *message, void *userdata)
{
	struct locker *l = userdata;
	int max = l->verbose > 2 ? HAQ_LOG_DEBUG : HAQ_LOG_INFO;

	(void)ctx;
	if (l->verbose > 1 && priority <= max) {
		fprintf(stderr, PROG ": libhaq: %s\n", message);
	}
}

/* ------------------------------------------------------------------ */
/* The command line                                                   */
/* ------------------------------------------------------------------ */

enum {
	OPT_FOREGROUND = 256,
};

/* SEC (a decimal number of seconds, >= 0) into milliseconds. */
static bool
parse_seconds(const char *opt, const char *arg, uint32_t *ms)
{
	char *end;
	double sec;

	errno = 0;
	sec = strtod(arg, &end);
	if (errno || end == arg || *end != '\0' || !isfinite(sec) ||
	    sec < 0.0 || sec * 1000.0 > (double)MAX_SECONDS_MS) {
		fprintf(stderr,
			PROG ": %s: '%s' is not a number of seconds from 0 to "
			     "%u\n",
			opt, arg, MAX_SECONDS_MS / 1000u);
		return false;
	}
	*ms = (uint32_t)(sec * 1000.0 + 0.5);
	return true;
}

/* -1 to go on, else the exit status. */
static int
parse_args(struct locker *l, int argc, char **argv)
{
	static const struct option opts[] = {
		{"nonblock", no_argument, NULL, 'n'},
		{"wait", required_argument, NULL, 'w'},
		{"timeout", required_argument, NULL, 'w'},
		{"kill-after", required_argument, NULL, 'k'},
		{"foreground", no_argument, NULL, OPT_FOREGROUND},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	bool wait_set = false;
	int opt;

	l->kill_after_ms = DEFAULT_KILL_AFTER_MS;
	/* '+': options end at the first operand, CMD's are its own. */
	while ((opt = getopt_long(argc, argv, "+nw:k:vhV", opts, NULL)) !=
	       -1) {
		switch (opt) {
		case 'n':
			l->nonblock = true;
			break;
		case 'w':
			if (!parse_seconds("--wait", optarg, &l->wait_ms)) {
				return EXIT_USAGE;
			}
			wait_set = true;
			break;
		case 'k':
			if (!parse_seconds("--kill-after", optarg,
					   &l->kill_after_ms)) {
				return EXIT_USAGE;
			}
			break;
		case OPT_FOREGROUND:
			l->foreground = true;
			break;
		case 'v':
			l->verbose++;
			break;
		case 'h':
			fputs(help_text, stdout);
			return 0;
		case 'V':
			printf(PROG " (libhaq) %s\n", haq_version_string());
			return 0;
		default:
			short_usage();
			return EXIT_USAGE;
		}
	}
	if (l->nonblock && wait_set) {
		fprintf(stderr, PROG ": --nonblock and --wait exclude each "
				"other\n");
		return EXIT_USAGE;
	}
	/* --wait 0 is --nonblock, as with flock(1). */
	if (wait_set && l->wait_ms == 0) {
		l->nonblock = true;
	}
	if (argc - optind < 2) {
		fprintf(stderr, PROG ": GROUP and NAME are needed\n");
		short_usage();
		return EXIT_USAGE;
	}
	l->group_name = argv[optind++];
	l->lock_name = argv[optind++];
	if (optind < argc && strcmp(argv[optind], "--") == 0) {
		optind++;
	}
	if (optind >= argc) {
		fprintf(stderr, PROG ": no command to run\n");
		short_usage();
		return EXIT_USAGE;
	}
	if (l->group_name[0] == '\0' || l->lock_name[0] == '\0') {
		fprintf(stderr, PROG ": GROUP and NAME must not be empty\n");
		return EXIT_USAGE;
	}
	if (strlen(l->lock_name) > HAQ_LOCK_NAME_MAX) {
		fprintf(stderr, PROG ": NAME is longer than %d bytes\n",
			HAQ_LOCK_NAME_MAX);
		return EXIT_USAGE;
	}
	l->cmd = argv + optind;
	return -1;
}

int
main(int argc, char **argv)
{
	struct locker l = {0};
	sigset_t chld;
	int sfd = -1;
	int rc;

	rc = parse_args(&l, argc, argv);
	if (rc >= 0) {
		return rc;
	}
	/* What CMD inherits: taken before anything is opened or changed. */
	sigprocmask(SIG_SETMASK, NULL, &l.orig_mask);
	for (size_t i = 0; i < NHANDLED; i++) {
		sigaction(handled_signals[i], NULL, &l.orig_act[i]);
	}
	rc = open_fds(&l.orig_fds, &l.norig_fds);
	if (rc < 0) {
		fprintf(stderr, PROG ": cannot list open files: %s\n",
			strerror(-rc));
		return EXIT_UNAVAILABLE;
	}

	l.loop = qb_loop_create();
	if (!l.loop) {
		fprintf(stderr, PROG ": cannot create the main loop\n");
		free(l.orig_fds);
		return EXIT_UNAVAILABLE;
	}
	/*
	 * CMD is reaped from the loop through a signalfd rather than
	 * qb_loop_signal_add(): libqb's handlers lack SA_RESTART, and a
	 * SIGCHLD would interrupt whatever system call libhaq is in.
	 * Blocked, it interrupts nothing; CMD gets the old mask back.
	 */
	signal(SIGCHLD, SIG_DFL); /* ignored, children would not be waited for */
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
		rc = EXIT_UNAVAILABLE;
		goto out_loop;
	}
	qb_loop_signal_add(l.loop, QB_LOOP_HIGH, SIGINT, &l, signal_cb, NULL);
	qb_loop_signal_add(l.loop, QB_LOOP_HIGH, SIGTERM, &l, signal_cb, NULL);
	qb_loop_signal_add(l.loop, QB_LOOP_HIGH, SIGHUP, &l, signal_cb, NULL);
	/*
	 * A reader of stderr that went away must not kill this process
	 * while CMD runs under the lock: nobody would stop CMD then.
	 */
	signal(SIGPIPE, SIG_IGN);

	rc = haq_ctx_new(&l.ctx, l.loop);
	if (rc < 0) {
		fprintf(stderr, PROG ": cannot connect: %s\n",
			haq_strerror(rc));
		rc = EXIT_UNAVAILABLE;
		goto out_loop;
	}
	haq_ctx_set_log(l.ctx, log_cb, &l);
	haq_ctx_set_connection_cb(l.ctx, connection_cb, &l);
	rc = haq_group_join(l.ctx, l.group_name, &l.group);
	if (rc < 0) {
		fprintf(stderr, PROG ": cannot join group '%s': %s\n",
			l.group_name, haq_strerror(rc));
		rc = EXIT_UNAVAILABLE;
		goto out_ctx;
	}
	haq_group_set_lock_cb(l.group, lock_cb, &l);
	l.phase = PHASE_WAITING;
	say(&l, 1, "asking for lock '%s' in group '%s'%s", l.lock_name,
	    l.group_name, l.nonblock ? " (no wait)" : "");
	if (request(&l)) {
		if (l.wait_ms && !l.nonblock) {
			qb_loop_timer_add(l.loop, QB_LOOP_HIGH,
					  (uint64_t)l.wait_ms * NS_PER_MS, &l,
					  wait_timer_cb, &l.wait_timer);
		}
		qb_loop_run(l.loop);
	}
	rc = l.status;
	timer_del(&l, &l.wait_timer);
	timer_del(&l, &l.lease_timer);
	timer_del(&l, &l.kill_timer);
	/* Leaving releases whatever this process still holds or waits for. */
	haq_group_leave(l.group);
	l.group = NULL;
out_ctx:
	haq_ctx_free(l.ctx);
out_loop:
	qb_loop_destroy(l.loop);
	if (sfd >= 0) {
		close(sfd);
	}
	free(l.orig_fds);
	return rc;
}
