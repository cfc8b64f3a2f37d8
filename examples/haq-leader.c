/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * haq-leader - keep one copy of a service running in the cluster: on the
 * leader of a libhaq group.
 *
 * The leader is chosen by libhaq from the agreed view, and only while the
 * partition is quorate, so at most one partition has one. That is enough to
 * run a single active service in a cluster: start it in --promote, stop it
 * in --demote (or let an OCF resource agent do both, --agent), and a node
 * cut off from the majority stops its copy as soon as it loses quorum.
 *
 * Actions (promote, demote, monitor) run in the background of the loop,
 * one at a time and in the order they were asked for, so a demote always
 * finishes before a later promote starts, and an agent never runs twice at
 * once. Each has a timeout: a hung action's process group is killed. The
 * loop keeps dispatching meanwhile: the process never stops answering
 * corosync because an action is slow.
 *
 * Stop before start: this process gives up the leadership (it resigns, or
 * leaves the group when it exits) only after its demote finished, so a
 * reachable old leader's service has stopped before the next leader is
 * told it leads. A failed demote leaves the service in an unknown state:
 * then this process keeps what it has (the leadership, the group) rather
 * than let another node start a second copy, since it cannot fence.
 */
#define _GNU_SOURCE
#include <ctype.h>
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
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <qb/qbloop.h>

#include <haq/haq.h>

#define PROG "haq-leader"

/* Pacemaker's default operation timeout. */
#define DEFAULT_TIMEOUT_MS 20000u
#define DEFAULT_INTERVAL_MS 10000u
#define MAX_TIMEOUT_MS (3600u * 1000u)
#define MAX_INTERVAL_MS (86400u * 1000u)
/* How long a timed-out action has between SIGTERM and SIGKILL. */
#define KILL_GRACE_MS 2000u
#define OCF_ROOT_DEFAULT "/usr/lib/ocf"

enum cmd_kind {
	CMD_PROMOTE,
	CMD_DEMOTE,
	CMD_MONITOR,
	CMD_KINDS,
};

/* The OCF exit codes (OCF resource agent API 1.1). */
enum ocf_rc {
	OCF_SUCCESS = 0,
	OCF_ERR_GENERIC = 1,
	OCF_ERR_ARGS = 2,
	OCF_ERR_UNIMPLEMENTED = 3,
	OCF_ERR_PERM = 4,
	OCF_ERR_INSTALLED = 5,
	OCF_ERR_CONFIGURED = 6,
	OCF_NOT_RUNNING = 7,
	OCF_RUNNING_MASTER = 8,
	OCF_FAILED_MASTER = 9,
};

static const char *const ocf_rc_names[] = {
	"success",
	"generic error",
	"invalid arguments",
	"unimplemented",
	"insufficient privileges",
	"not installed",
	"not configured",
	"not running",
	"running master",
	"failed master",
};

/* How an action ended. */
struct outcome {
	int status;	/* exit status, or -1 */
	int signal;	/* the signal that killed it, or 0 */
	int exec_errno; /* it could not be started: why */
	bool timed_out; /* killed for exceeding its timeout */
	bool cancelled; /* a monitor killed to let a demote run */
};

/* A command waiting for its turn. */
struct cmd {
	struct cmd *next;
	enum cmd_kind kind;
	uint64_t epoch;
};

/* An OCF resource agent's instance parameter, NAME=VALUE. */
struct param {
	char *env;	   /* OCF_RESKEY_NAME */
	const char *value; /* VALUE, in argv */
};

struct agent {
	const char *spec; /* ocf:PROVIDER:TYPE, as given */
	char *provider;
	char *type;
	const char *root; /* OCF_ROOT */
	char *path;	  /* OCF_ROOT/resource.d/PROVIDER/TYPE */
	const char *instance;
	struct param *params;
	size_t nparams;
};

struct leader {
	qb_loop_t *loop;
	haq_ctx_t *ctx;
	haq_group_t *group;
	const char *name;
	const char *cmds[CMD_KINDS]; /* shell commands, without --agent */
	bool use_agent;
	struct agent agent;
	uint32_t timeout_ms[CMD_KINDS];
	bool timeout_set[CMD_KINDS];
	uint32_t interval_ms;
	unsigned max_failures;
	bool monitoring; /* --monitor or --agent */
	int verbose;

	/*
	 * Whether the service is (or, once the queue has run, will be)
	 * promoted here, and the epoch it was promoted in.
	 */
	bool promoted;
	uint64_t promoted_epoch;
	/* Whether it runs here, after the last promote or demote that ran. */
	bool started;
	bool leader_known; /* a leadership state has been printed */
	bool connected;	   /* to corosync, as last reported */
	bool timing_shown;

	/* Health. */
	bool eligible;	   /* as last told to libhaq */
	unsigned failures; /* consecutive monitor failures */
	bool monitor_queued;
	qb_loop_timer_handle monitor_timer;
	/* Resign once the queued demote finished. */
	bool resign_wanted;
	/* A demote failed: the service's state is unknown. */
	bool blocked;

	struct cmd *head;
	struct cmd *tail;
	bool in_run_next;
	pid_t child; /* the action running, or 0 */
	enum cmd_kind child_kind;
	uint64_t child_started_ms;
	bool child_timed_out;
	bool child_term_sent;
	bool child_cancelled;
	qb_loop_timer_handle kill_timer;

	bool stopping;
	bool done;
	int status;
};

static void
short_usage(void)
{
	fprintf(stderr, "usage: " PROG " GROUP [--promote CMD] [--demote CMD] "
			"[--monitor CMD] [OPTION]...\n"
			"       " PROG
			" GROUP --agent ocf:PROVIDER:TYPE [NAME=VALUE]... "
			"[OPTION]...\n"
			"Try '" PROG " --help' for more information.\n");
}

static const char help_text[] =
	"usage: " PROG " GROUP [--promote CMD] [--demote CMD] [--monitor CMD]"
	" [OPTION]...\n"
	"       " PROG " GROUP --agent ocf:PROVIDER:TYPE [NAME=VALUE]..."
	" [OPTION]...\n"
	"       " PROG " --help | --version\n"
	"\n"
	"Join the libhaq group GROUP, report its leader, and keep a service\n"
	"running on the leader only. Actions run one at a time, in order,\n"
	"each with a timeout (its process group is killed: SIGTERM, SIGKILL\n"
	"2 s later). Leadership is handed over only after the demote\n"
	"finished: on SIGTERM/SIGINT/SIGHUP, a failed monitor or promote.\n"
	"\n"
	"Shell commands (/bin/sh -c, with HAQ_EPOCH, HAQ_GROUP, HAQ_ROLE):\n"
	"  -p, --promote CMD        run CMD on becoming the leader\n"
	"  -d, --demote CMD         run CMD on losing the leadership\n"
	"  -m, --monitor CMD        health check on every node; exit 0 = "
	"healthy\n"
	"\n"
	"An OCF resource agent, run as Pacemaker does (start, stop, monitor):\n"
	"  -a, --agent ocf:PROVIDER:TYPE\n"
	"                           $OCF_ROOT/resource.d/PROVIDER/TYPE\n"
	"                           (OCF_ROOT defaults to " OCF_ROOT_DEFAULT
	")\n"
	"      NAME=VALUE           instance parameter: OCF_RESKEY_NAME=VALUE\n"
	"  -i, --instance NAME      OCF_RESOURCE_INSTANCE (default: GROUP)\n"
	"\n"
	"Monitoring (with --monitor or --agent):\n"
	"      --monitor-interval SEC   between monitors (default 10)\n"
	"      --monitor-failures N     consecutive failures before acting\n"
	"                               (default 1): ineligible; the leader\n"
	"                               demotes, then resigns\n"
	"Timeouts in seconds (default 20 each):\n"
	"      --start-timeout SEC      promote (the agent's start)\n"
	"      --stop-timeout SEC       demote (the agent's stop)\n"
	"      --monitor-timeout SEC    monitor\n"
	"\n"
	"  -v, --verbose            print libhaq's log and every monitor run\n"
	"                           (twice: debug)\n"
	"  -h, --help               show this help and exit\n"
	"  -V, --version            show the libhaq version and exit\n"
	"\n"
	"A failed demote (stop) is not handed over: this process keeps the\n"
	"leadership and stays ineligible, since it cannot fence; SIGTERM then\n"
	"tries the demote again, a second signal exits anyway.\n"
	"Exit status: 0 stopped cleanly, 1 error, 2 bad command line.\n"
	"See haq-leader(1).\n";

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
	static const char *const names[CMD_KINDS] = {"promote", "demote",
						     "monitor"};

	return names[kind];
}

/* The agent's action for each kind, as Pacemaker names them. */
static const char *
ocf_action(enum cmd_kind kind)
{
	static const char *const actions[CMD_KINDS] = {"start", "stop",
						       "monitor"};

	return actions[kind];
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
/* Eligibility and handover                                           */
/* ------------------------------------------------------------------ */

static void
set_eligible(struct leader *l, bool eligible, const char *why)
{
	int rc;

	if (l->eligible == eligible) {
		return;
	}
	rc = haq_group_set_eligible(l->group, eligible ? 1 : 0);
	if (rc < 0) {
		say("cannot make this process %s: %s",
		    eligible ? "eligible" : "ineligible", haq_strerror(rc));
		return;
	}
	l->eligible = eligible;
	say("%s: %s", eligible ? "eligible" : "ineligible", why);
}

/* Called once the service stopped here: hand the leadership over. */
static void
resign(struct leader *l)
{
	int rc;

	l->resign_wanted = false;
	rc = haq_group_resign(l->group);
	if (rc == 0) {
		say("resigned: the service stopped here first; another "
		    "eligible "
		    "member takes over");
	} else if (rc == -EPERM || rc == -ENOTCONN) {
		say("resign: this process does not lead any more: nothing to "
		    "hand over");
	} else {
		say("resign failed: %s", haq_strerror(rc));
	}
}

/* ------------------------------------------------------------------ */
/* Actions                                                            */
/* ------------------------------------------------------------------ */

/* Whether there is anything to run for kind. */
static bool
has_action(const struct leader *l, enum cmd_kind kind)
{
	return l->use_agent || l->cmds[kind];
}

/* The command line or agent action, for the log. */
static void
describe_action(const struct leader *l, enum cmd_kind kind, char *buf,
		size_t size)
{
	if (l->use_agent) {
		snprintf(buf, size, "%s %s", l->agent.spec, ocf_action(kind));
	} else {
		snprintf(buf, size, "'%s'", l->cmds[kind]);
	}
}

/* In the child: become the action. Never returns. */
static void __attribute__((noreturn))
child_exec(const struct leader *l, enum cmd_kind kind, uint64_t epoch,
	   int errfd)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	char num[32];
	sigset_t none;
	int err;
	int fd;

	/* libqb's handlers would write into the parent's signal pipe. */
	for (int sig = 1; sig < NSIG; sig++) {
		sigaction(sig, &dfl, NULL);
	}
	/*
	 * A process group of its own: a Ctrl-C meant for haq-leader must
	 * not kill the service behind its back, and a timed-out action is
	 * killed with everything it started.
	 */
	setpgid(0, 0);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
	}
	/*
	 * Close the corosync connections and everything else: a service
	 * that outlives this process must not keep its IPC open, or
	 * corosync would not notice the process is gone. Only the pipe
	 * that reports a failed exec stays, as fd 3, closed by the exec.
	 */
	if (errfd != 3 && dup2(errfd, 3) < 0) {
		_exit(127);
	}
	fcntl(3, F_SETFD, FD_CLOEXEC);
	if (close_range(4, ~0u, 0) < 0) {
		for (int i = 4; i < 1024; i++) {
			close(i);
		}
	}
	snprintf(num, sizeof(num), "%" PRIu64, epoch);
	setenv("HAQ_EPOCH", num, 1);
	setenv("HAQ_GROUP", l->name, 1);
	setenv("HAQ_ROLE",
	       kind == CMD_PROMOTE || (kind == CMD_MONITOR && l->started)
		       ? "leader"
		       : "follower",
	       1);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (l->use_agent) {
		const struct agent *a = &l->agent;
		uint32_t interval = 0;

		setenv("OCF_ROOT", a->root, 1);
		setenv("OCF_RA_VERSION_MAJOR", "1", 1);
		setenv("OCF_RA_VERSION_MINOR", "1", 1);
		setenv("OCF_RESOURCE_INSTANCE", a->instance, 1);
		setenv("OCF_RESOURCE_PROVIDER", a->provider, 1);
		setenv("OCF_RESOURCE_TYPE", a->type, 1);
		for (size_t i = 0; i < a->nparams; i++) {
			setenv(a->params[i].env, a->params[i].value, 1);
		}
		snprintf(num, sizeof(num), "%" PRIu32, l->timeout_ms[kind]);
		setenv("OCF_RESKEY_CRM_meta_timeout", num, 1);
		/*
		 * Where the resource does not run, a monitor asks only
		 * whether it runs here: a probe, as Pacemaker's (interval
		 * 0). A recurring monitor has its interval.
		 */
		if (kind == CMD_MONITOR && l->started) {
			interval = l->interval_ms;
		}
		snprintf(num, sizeof(num), "%" PRIu32, interval);
		setenv("OCF_RESKEY_CRM_meta_interval", num, 1);
		execl(a->path, a->path, ocf_action(kind), (char *)NULL);
	} else {
		execl("/bin/sh", "sh", "-c", l->cmds[kind], (char *)NULL);
	}
	err = errno;
	if (write(3, &err, sizeof(err)) < 0) {
		_exit(127);
	}
	_exit(127);
}

static void stop_if_idle(struct leader *l);
static void action_done(struct leader *l, enum cmd_kind kind, uint64_t ms,
			const struct outcome *o);
static void schedule_monitor(struct leader *l);

static void
kill_timer_cb(void *data)
{
	struct leader *l = data;

	l->kill_timer = 0;
	if (!l->child) {
		return;
	}
	if (!l->child_term_sent) {
		if (!l->child_cancelled) {
			l->child_timed_out = true;
			say("%s: TIMED OUT after %" PRIu32
			    " ms: sending SIGTERM to its process group %d",
			    cmd_name(l->child_kind),
			    l->timeout_ms[l->child_kind], (int)l->child);
		}
		l->child_term_sent = true;
		kill(-l->child, SIGTERM);
		qb_loop_timer_add(l->loop, QB_LOOP_HIGH,
				  KILL_GRACE_MS * 1000000ull, l, kill_timer_cb,
				  &l->kill_timer);
	} else {
		say("%s: still running %u ms after SIGTERM: sending SIGKILL",
		    cmd_name(l->child_kind), KILL_GRACE_MS);
		kill(-l->child, SIGKILL);
	}
}

/*
 * Start one action. Returns true if it runs; false if it ended at once
 * (it could not be started: action_done() has been told).
 */
static bool
start_action(struct leader *l, const struct cmd *c)
{
	char what[512];
	sigset_t all;
	sigset_t old;
	int pipefd[2];
	ssize_t n;
	pid_t pid;
	int err = 0;

	describe_action(l, c->kind, what, sizeof(what));
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		struct outcome o = {.status = -1, .exec_errno = errno};

		say("%s: cannot run %s: %s", cmd_name(c->kind), what,
		    strerror(errno));
		action_done(l, c->kind, 0, &o);
		return false;
	}
	/*
	 * Block signals across fork so the child cannot run a libqb
	 * handler before it has reset them.
	 */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		child_exec(l, c->kind, c->epoch, pipefd[1]);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(pipefd[1]);
	if (pid < 0) {
		err = errno;
	} else {
		/* Both sides set it, so kill(-pid) works from now on. */
		setpgid(pid, pid);
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
		struct outcome o = {.status = -1, .exec_errno = err};

		if (pid > 0) {
			waitpid(pid, NULL, 0);
		}
		say("%s: cannot run %s: %s%s", cmd_name(c->kind), what,
		    pid < 0 ? "fork: " : "", strerror(err));
		action_done(l, c->kind, 0, &o);
		return false;
	}
	l->child = pid;
	l->child_kind = c->kind;
	l->child_started_ms = now_ms();
	l->child_timed_out = false;
	l->child_term_sent = false;
	l->child_cancelled = false;
	qb_loop_timer_add(l->loop, QB_LOOP_HIGH,
			  (uint64_t)l->timeout_ms[c->kind] * 1000000ull, l,
			  kill_timer_cb, &l->kill_timer);
	if (c->kind != CMD_MONITOR || l->verbose) {
		say("%s: running %s (pid %d, HAQ_EPOCH=%" PRIu64 ")",
		    cmd_name(c->kind), what, (int)pid, c->epoch);
	}
	return true;
}

/* Whether this process may act as the leader now (its lease runs). */
static bool
lease_valid(const struct leader *l)
{
	struct timespec ts;
	uint64_t deadline = 0;

	if (haq_group_lease(l->group, &deadline) != 1) {
		return false;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return deadline >
	       (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Start the next queued action unless one is running. */
static void
run_next(struct leader *l)
{
	if (l->in_run_next) {
		return;
	}
	l->in_run_next = true;
	while (!l->child && l->head && !l->done) {
		struct cmd *c = l->head;

		l->head = c->next;
		if (!l->head) {
			l->tail = NULL;
		}
		if (c->kind == CMD_MONITOR) {
			l->monitor_queued = false;
			if (l->stopping || l->blocked) {
				free(c);
				continue;
			}
		}
		if (!has_action(l, c->kind)) {
			struct outcome ok = {.status = 0};

			action_done(l, c->kind, 0, &ok);
			free(c);
			continue;
		}
		/*
		 * A promote waits behind earlier actions: by its turn the
		 * leadership may be gone (a demote is then queued behind
		 * it). Act as the leader only while the lease runs.
		 */
		if (c->kind == CMD_PROMOTE && !lease_valid(l)) {
			say("promote: skipped: this process no longer holds "
			    "the leadership's lease");
			free(c);
			continue;
		}
		start_action(l, c);
		free(c);
	}
	l->in_run_next = false;
	stop_if_idle(l);
}

/*
 * A demote must not wait behind a monitor: drop the queued monitors and
 * kill a running one (a monitor changes nothing; the next one comes
 * after the demote).
 */
static void
make_way_for_demote(struct leader *l)
{
	struct cmd **pp = &l->head;
	bool dropped = false;

	l->tail = NULL;
	while (*pp) {
		struct cmd *c = *pp;

		if (c->kind == CMD_MONITOR) {
			*pp = c->next;
			free(c);
			dropped = true;
			continue;
		}
		l->tail = c;
		pp = &c->next;
	}
	if (dropped) {
		l->monitor_queued = false;
		schedule_monitor(l);
	}
	if (l->child && l->child_kind == CMD_MONITOR && !l->child_cancelled) {
		l->child_cancelled = true;
		if (l->verbose) {
			say("monitor: cancelled: a demote is waiting");
		}
		if (l->kill_timer) {
			qb_loop_timer_del(l->loop, l->kill_timer);
			l->kill_timer = 0;
		}
		l->child_term_sent = true;
		kill(-l->child, SIGKILL);
	}
}

static void
enqueue(struct leader *l, enum cmd_kind kind, uint64_t epoch)
{
	struct cmd *c = calloc(1, sizeof(*c));

	if (!c) {
		say("%s: out of memory: not run", cmd_name(kind));
		return;
	}
	if (kind == CMD_DEMOTE) {
		make_way_for_demote(l);
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

/* Move the service towards the wanted state; actions keep the order. */
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

static void
monitor_timer_cb(void *data)
{
	struct leader *l = data;

	l->monitor_timer = 0;
	if (l->stopping || l->blocked || l->monitor_queued || l->done) {
		return;
	}
	l->monitor_queued = true;
	enqueue(l, CMD_MONITOR, l->promoted_epoch);
}

static void
schedule_monitor(struct leader *l)
{
	if (!l->monitoring || l->stopping || l->blocked || l->done ||
	    l->monitor_queued || l->monitor_timer) {
		return;
	}
	qb_loop_timer_add(l->loop, QB_LOOP_MED,
			  (uint64_t)l->interval_ms * 1000000ull, l,
			  monitor_timer_cb, &l->monitor_timer);
}

/* What an outcome means, for the log. */
static void
describe_outcome(const struct leader *l, const struct outcome *o, char *buf,
		 size_t size)
{
	if (o->exec_errno) {
		snprintf(buf, size, "could not be started (%s)%s",
			 strerror(o->exec_errno),
			 l->use_agent ? ": treated as OCF 5, not installed"
				      : "");
	} else if (o->timed_out) {
		snprintf(buf, size, "timed out (killed by signal %d)",
			 o->signal);
	} else if (o->signal) {
		snprintf(buf, size, "killed by signal %d", o->signal);
	} else if (!l->use_agent) {
		snprintf(buf, size, "exited with status %d", o->status);
	} else if (o->status >= 0 && o->status <= OCF_FAILED_MASTER) {
		snprintf(buf, size, "exited with status %d (%s)", o->status,
			 ocf_rc_names[o->status]);
	} else {
		snprintf(buf, size,
			 "exited with status %d (not an OCF exit code)",
			 o->status);
	}
}

/*
 * The service failed here (a promote, or the monitor as often as
 * allowed): never lead it again until the monitor passes, and if this
 * process runs it as the leader, stop it, then hand over.
 */
static void
fail_service(struct leader *l, const char *why)
{
	set_eligible(l, false, why);
	if (l->promoted && !l->stopping) {
		say("%s: demoting, then resigning", why);
		l->resign_wanted = true;
		set_promoted(l, false, 0);
	}
}

/* A demote failed: the service may still run here. */
static void
block(struct leader *l)
{
	int leads = haq_group_leader(l->group, NULL, NULL, NULL);

	l->blocked = true;
	l->resign_wanted = false;
	set_eligible(l, false, "the demote failed");
	if (leads == 1) {
		say("BLOCKED: the demote failed and the service may still run "
		    "here. This process keeps the leadership, so that no other "
		    "node starts a second copy (haq-leader cannot fence this "
		    "node). Repair the service, then send SIGTERM: the demote "
		    "runs again, and the leadership is handed over only if it "
		    "succeeds");
	} else {
		say("BLOCKED: the demote failed and the service may still run "
		    "here, while this process does not lead: another node may "
		    "start a second copy (haq-leader cannot fence this node). "
		    "Repair the service, then send SIGTERM: the demote runs "
		    "again");
	}
	if (l->stopping) {
		say("not exiting while the service may run: send the signal "
		    "again to exit anyway");
	}
}

static void
monitor_done(struct leader *l, const struct outcome *o, const char *what)
{
	int st = o->exec_errno ? OCF_ERR_INSTALLED : o->status;
	bool pass;

	schedule_monitor(l);
	if (o->cancelled || l->stopping || l->blocked) {
		return;
	}
	if (!l->use_agent) {
		pass = st == 0 && !o->signal;
	} else if (l->started) {
		/* Running here: "not running" is a failure. */
		pass = st == OCF_SUCCESS && !o->signal;
	} else if (l->promoted) {
		/* A start waits behind this monitor: either answer is fine. */
		pass = (st == OCF_SUCCESS || st == OCF_NOT_RUNNING) &&
		       !o->signal;
	} else if (st == OCF_NOT_RUNNING && !o->signal) {
		pass = true;
	} else if ((st == OCF_SUCCESS || st == OCF_RUNNING_MASTER) &&
		   !o->signal) {
		/* A copy left over (a crash, someone's hand): stop it. */
		say("monitor: %s: the service runs here, but this process "
		    "does not lead: stopping it",
		    what);
		set_eligible(l, false, "the service ran here unexpectedly");
		enqueue(l, CMD_DEMOTE, 0);
		return;
	} else {
		pass = false;
	}
	if (pass) {
		if (l->failures) {
			say("monitor: passed again after %u failure%s",
			    l->failures, l->failures == 1 ? "" : "s");
		} else if (!l->eligible) {
			say("monitor: passed");
		}
		l->failures = 0;
		if (!l->resign_wanted) {
			set_eligible(l, true, "the monitor passed");
		}
		return;
	}
	l->failures++;
	if (l->failures <= l->max_failures) {
		say("monitor: FAILED (%u of %u in a row): %s", l->failures,
		    l->max_failures, what);
	} else {
		say("monitor: FAILED (%u in a row): %s", l->failures, what);
	}
	if (l->failures >= l->max_failures) {
		fail_service(l, "the monitor failed");
	}
}

/* An action ended (or could not start). */
static void
action_done(struct leader *l, enum cmd_kind kind, uint64_t ms,
	    const struct outcome *o)
{
	char what[160];
	bool ok;

	describe_outcome(l, o, what, sizeof(what));
	switch (kind) {
	case CMD_PROMOTE:
		ok = o->status == 0 && !o->signal && !o->exec_errno;
		break;
	case CMD_DEMOTE:
		ok = !o->signal && !o->exec_errno &&
		     (o->status == 0 ||
		      (l->use_agent && o->status == OCF_NOT_RUNNING));
		break;
	default:
		ok = true;
		break;
	}
	if (has_action(l, kind) && !o->exec_errno &&
	    (kind != CMD_MONITOR || l->verbose)) {
		say("%s: %s after %" PRIu64 " ms%s", cmd_name(kind), what, ms,
		    ok ? "" : " (FAILED)");
	}
	switch (kind) {
	case CMD_PROMOTE:
		/* Even a failed start may have left something to stop. */
		l->started = true;
		if (!ok) {
			fail_service(l, "the promote failed");
		}
		break;
	case CMD_DEMOTE:
		if (!ok) {
			block(l);
			break;
		}
		l->started = false;
		if (l->resign_wanted) {
			resign(l);
		}
		break;
	default:
		monitor_done(l, o, what);
		break;
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
		struct outcome o = {.status = -1};
		enum cmd_kind kind;

		if (pid != l->child || pid <= 0) {
			continue;
		}
		if (WIFEXITED(st)) {
			o.status = WEXITSTATUS(st);
		} else if (WIFSIGNALED(st)) {
			o.signal = WTERMSIG(st);
		}
		o.timed_out = l->child_timed_out;
		o.cancelled = l->child_cancelled;
		/* Whatever it started in its process group goes with it. */
		if (o.timed_out || o.cancelled) {
			kill(-pid, SIGKILL);
		}
		if (o.timed_out && !o.signal) {
			/* It caught SIGTERM and exited: still a failure. */
			o.signal = SIGTERM;
		}
		if (l->kill_timer) {
			qb_loop_timer_del(l->loop, l->kill_timer);
			l->kill_timer = 0;
		}
		kind = l->child_kind;
		l->child = 0;
		action_done(l, kind, now_ms() - l->child_started_ms, &o);
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
	if (l->stopping && !l->child && !l->head && !l->blocked) {
		finish(l, l->status);
	}
}

static int32_t
signal_cb(int32_t sig, void *data)
{
	struct leader *l = data;

	if (l->stopping) {
		say("%s again: exiting now%s", strsignal(sig),
		    l->child ? " (the running action keeps running)" : "");
		finish(l, 1);
		return 0;
	}
	l->stopping = true;
	if (l->monitor_timer) {
		qb_loop_timer_del(l->loop, l->monitor_timer);
		l->monitor_timer = 0;
	}
	if (l->blocked) {
		say("%s: running the demote again (it failed before)",
		    strsignal(sig));
		l->blocked = false;
		enqueue(l, CMD_DEMOTE, l->promoted_epoch);
		return 0;
	}
	say("%s: %s", strsignal(sig),
	    l->promoted || l->started ? "demoting before exit" : "exiting");
	/*
	 * Demote first and leave the group only afterwards: another member
	 * is promoted when we leave, and the two services must not overlap.
	 * A demote has its own timeout; if it fails the process stays.
	 */
	if (l->promoted) {
		set_promoted(l, false, 0);
	} else {
		make_way_for_demote(l);
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
	} else if (haq_group_leader_state(l->group) == HAQ_LEADER_PENDING) {
		say("no leader (not known yet)");
	} else {
		say("no leader (no member is eligible)");
	}
	if (l->stopping) {
		return;
	}
	if (is_leader && (l->blocked || l->resign_wanted)) {
		/* Not reachable while ineligible; said in case it is. */
		say("not promoting: %s",
		    l->blocked ? "a demote failed here" : "resigning");
		return;
	}
	/*
	 * A new epoch while still the leader needs no action: the service
	 * is running already.
	 */
	set_promoted(l, is_leader != 0, epoch);
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
	uint32_t lease = 0;
	uint32_t takeover = 0;
	uint32_t margin = 0;

	if (l->done) {
		return;
	}
	if (!l->timing_shown &&
	    haq_group_leader_timing(l->group, HAQ_TIMING_LEASE, &lease) == 0 &&
	    haq_group_leader_timing(l->group, HAQ_TIMING_TAKEOVER, &takeover) ==
		    0 &&
	    haq_group_leader_timing(l->group, HAQ_TIMING_MARGIN, &margin) ==
		    0) {
		/*
		 * A leader cut off from the others is not waited for: its
		 * demote has about the margin after its lease ran out.
		 */
		l->timing_shown = true;
		say("timing: lease %" PRIu32 " ms, takeover delay %" PRIu32
		    " ms, margin %" PRIu32 " ms",
		    lease, takeover, margin);
	}
	if (!l->leader_known && !quorate(l)) {
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

/* ------------------------------------------------------------------ */
/* The command line                                                   */
/* ------------------------------------------------------------------ */

enum {
	OPT_MONITOR_INTERVAL = 256,
	OPT_MONITOR_FAILURES,
	OPT_START_TIMEOUT,
	OPT_STOP_TIMEOUT,
	OPT_MONITOR_TIMEOUT,
};

/* SEC (a decimal number of seconds, > 0) into milliseconds. */
static bool
parse_seconds(const char *opt, const char *arg, uint32_t max_ms, uint32_t *ms)
{
	char *end;
	double sec;

	errno = 0;
	sec = strtod(arg, &end);
	if (errno || end == arg || *end != '\0' || !isfinite(sec) ||
	    sec * 1000.0 < 1.0 || sec * 1000.0 > (double)max_ms) {
		fprintf(stderr,
			PROG ": %s: '%s' is not a number of seconds from "
			     "0.001 to %" PRIu32 "\n",
			opt, arg, max_ms / 1000u);
		return false;
	}
	*ms = (uint32_t)(sec * 1000.0 + 0.5);
	return true;
}

static bool
parse_count(const char *opt, const char *arg, unsigned max, unsigned *n)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end != '\0' || arg[0] == '-' || v < 1 ||
	    v > max) {
		fprintf(stderr, PROG ": %s: '%s' is not a count from 1 to %u\n",
			opt, arg, max);
		return false;
	}
	*n = (unsigned)v;
	return true;
}

/* A provider or type: one path component, nothing that escapes OCF_ROOT. */
static bool
valid_component(const char *s, size_t len)
{
	if (len == 0 || (len == 1 && s[0] == '.') ||
	    (len == 2 && s[0] == '.' && s[1] == '.')) {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '/' || s[i] == ':' || (unsigned char)s[i] < 0x21) {
			return false;
		}
	}
	return true;
}

/* A resource name as Pacemaker's ids: safe in the agents' file names. */
static bool
valid_instance(const char *s)
{
	if (!s[0] || s[0] == '.' || s[0] == '-') {
		return false;
	}
	for (; *s; s++) {
		if (!isalnum((unsigned char)*s) && !strchr("_.:-", *s)) {
			return false;
		}
	}
	return true;
}

/* --agent ocf:PROVIDER:TYPE: the agent's path. Returns 0, 2 or 1. */
static int
agent_setup(struct agent *a)
{
	const char *spec = a->spec;
	const char *prov;
	const char *type;
	struct stat st;

	if (strncmp(spec, "ocf:", 4) != 0) {
		fprintf(stderr,
			PROG ": --agent '%s': only OCF agents are supported: "
			     "ocf:PROVIDER:TYPE (for example "
			     "ocf:heartbeat:Dummy)\n",
			spec);
		return 2;
	}
	prov = spec + 4;
	type = strchr(prov, ':');
	if (!type || !valid_component(prov, (size_t)(type - prov)) ||
	    !valid_component(type + 1, strlen(type + 1))) {
		fprintf(stderr,
			PROG ": --agent '%s': expected ocf:PROVIDER:TYPE, each "
			     "a plain file name (for example "
			     "ocf:heartbeat:Dummy)\n",
			spec);
		return 2;
	}
	a->provider = strndup(prov, (size_t)(type - prov));
	a->type = strdup(type + 1);
	a->root = getenv("OCF_ROOT");
	if (!a->root || !a->root[0]) {
		a->root = OCF_ROOT_DEFAULT;
	}
	if (!a->provider || !a->type ||
	    asprintf(&a->path, "%s/resource.d/%s/%s", a->root, a->provider,
		     a->type) < 0) {
		a->path = NULL;
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	if (stat(a->path, &st) < 0) {
		fprintf(stderr,
			PROG ": agent %s is not installed: %s: %s (OCF_ROOT "
			     "is %s)\n",
			spec, a->path, strerror(errno), a->root);
		return 1;
	}
	if (!S_ISREG(st.st_mode) || access(a->path, X_OK) < 0) {
		fprintf(stderr,
			PROG ": agent %s cannot be run: %s is not an "
			     "executable file\n",
			spec, a->path);
		return 1;
	}
	return 0;
}

/* NAME=VALUE instance parameters. Returns 0 or 2 (1: out of memory). */
static int
params_setup(struct agent *a, char **args, int n)
{
	a->params = calloc((size_t)n + 1, sizeof(*a->params));
	if (!a->params) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		const char *eq = strchr(args[i], '=');
		size_t len = eq ? (size_t)(eq - args[i]) : 0;
		struct param *p = &a->params[a->nparams];

		if (!eq || len == 0) {
			fprintf(stderr,
				PROG ": '%s': an agent parameter is "
				     "NAME=VALUE\n",
				args[i]);
			return 2;
		}
		for (size_t k = 0; k < len; k++) {
			if (!isalnum((unsigned char)args[i][k]) &&
			    args[i][k] != '_') {
				fprintf(stderr,
					PROG ": '%s': a parameter name has "
					     "only letters, digits and _\n",
					args[i]);
				return 2;
			}
		}
		if (strncmp(args[i], "CRM_meta_", 9) == 0) {
			fprintf(stderr,
				PROG ": '%s': CRM_meta_ parameters are set "
				     "by " PROG " itself\n",
				args[i]);
			return 2;
		}
		if (asprintf(&p->env, "OCF_RESKEY_%.*s", (int)len, args[i]) <
		    0) {
			p->env = NULL;
			fprintf(stderr, PROG ": out of memory\n");
			return 1;
		}
		for (size_t k = 0; k < a->nparams; k++) {
			if (strcmp(a->params[k].env, p->env) == 0) {
				fprintf(stderr,
					PROG ": parameter '%.*s' is given "
					     "twice\n",
					(int)len, args[i]);
				free(p->env);
				p->env = NULL;
				return 2;
			}
		}
		p->value = eq + 1;
		a->nparams++;
	}
	return 0;
}

static void
agent_free(struct agent *a)
{
	for (size_t i = 0; i < a->nparams; i++) {
		free(a->params[i].env);
	}
	free(a->params);
	free(a->provider);
	free(a->type);
	free(a->path);
}

/* Parse and check the command line. Returns -1 to go on, else an exit status.
 */
static int
parse_args(struct leader *l, int argc, char **argv)
{
	static const struct option opts[] = {
		{"promote", required_argument, NULL, 'p'},
		{"demote", required_argument, NULL, 'd'},
		{"monitor", required_argument, NULL, 'm'},
		{"agent", required_argument, NULL, 'a'},
		{"instance", required_argument, NULL, 'i'},
		{"monitor-interval", required_argument, NULL,
		 OPT_MONITOR_INTERVAL},
		{"monitor-failures", required_argument, NULL,
		 OPT_MONITOR_FAILURES},
		{"start-timeout", required_argument, NULL, OPT_START_TIMEOUT},
		{"stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT},
		{"monitor-timeout", required_argument, NULL,
		 OPT_MONITOR_TIMEOUT},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	static const char *const timeout_opts[CMD_KINDS] = {
		"--start-timeout",
		"--stop-timeout",
		"--monitor-timeout",
	};
	bool interval_set = false;
	bool failures_set = false;
	int opt;
	int rc;

	for (int k = 0; k < CMD_KINDS; k++) {
		l->timeout_ms[k] = DEFAULT_TIMEOUT_MS;
	}
	l->interval_ms = DEFAULT_INTERVAL_MS;
	l->max_failures = 1;
	while ((opt = getopt_long(argc, argv, "p:d:m:a:i:vhV", opts, NULL)) !=
	       -1) {
		enum cmd_kind kind;

		switch (opt) {
		case 'p':
		case 'd':
		case 'm':
			kind = opt == 'p'   ? CMD_PROMOTE
			       : opt == 'd' ? CMD_DEMOTE
					    : CMD_MONITOR;
			if (optarg[0] == '\0') {
				fprintf(stderr, PROG ": --%s: empty command\n",
					cmd_name(kind));
				return 2;
			}
			l->cmds[kind] = optarg;
			break;
		case 'a':
			l->use_agent = true;
			l->agent.spec = optarg;
			break;
		case 'i':
			if (optarg[0] == '\0') {
				fprintf(stderr,
					PROG ": --instance: empty name\n");
				return 2;
			}
			l->agent.instance = optarg;
			break;
		case OPT_MONITOR_INTERVAL:
			if (!parse_seconds("--monitor-interval", optarg,
					   MAX_INTERVAL_MS, &l->interval_ms)) {
				return 2;
			}
			interval_set = true;
			break;
		case OPT_MONITOR_FAILURES:
			if (!parse_count("--monitor-failures", optarg, 1000,
					 &l->max_failures)) {
				return 2;
			}
			failures_set = true;
			break;
		case OPT_START_TIMEOUT:
		case OPT_STOP_TIMEOUT:
		case OPT_MONITOR_TIMEOUT:
			kind = opt == OPT_START_TIMEOUT	 ? CMD_PROMOTE
			       : opt == OPT_STOP_TIMEOUT ? CMD_DEMOTE
							 : CMD_MONITOR;
			if (!parse_seconds(timeout_opts[kind], optarg,
					   MAX_TIMEOUT_MS,
					   &l->timeout_ms[kind])) {
				return 2;
			}
			l->timeout_set[kind] = true;
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
			return 2;
		}
	}
	if (argc - optind < 1 || argv[optind][0] == '\0') {
		short_usage();
		return 2;
	}
	l->name = argv[optind];
	if (l->use_agent) {
		for (int k = 0; k < CMD_KINDS; k++) {
			if (l->cmds[k]) {
				fprintf(stderr,
					PROG
					": --%s and --agent exclude each "
					"other: the agent's %s is the %s\n",
					cmd_name(k), ocf_action(k),
					cmd_name(k));
				return 2;
			}
		}
		rc = params_setup(&l->agent, argv + optind + 1,
				  argc - optind - 1);
		if (rc) {
			return rc;
		}
		if (!l->agent.instance) {
			l->agent.instance = l->name;
		}
		if (!valid_instance(l->agent.instance)) {
			fprintf(stderr,
				PROG ": resource instance name '%s': use "
				     "letters, digits and _ . : - only "
				     "(agents name files after it)%s\n",
				l->agent.instance,
				l->agent.instance == l->name
					? "; choose one with --instance"
					: "");
			return 2;
		}
		rc = agent_setup(&l->agent);
		if (rc) {
			return rc;
		}
	} else {
		if (argc - optind > 1) {
			fprintf(stderr,
				PROG ": unexpected argument '%s' (NAME=VALUE "
				     "parameters are for --agent)\n",
				argv[optind + 1]);
			return 2;
		}
		if (l->agent.instance) {
			fprintf(stderr, PROG ": --instance needs --agent\n");
			return 2;
		}
		for (int k = 0; k < CMD_KINDS; k++) {
			if (l->timeout_set[k] && !l->cmds[k]) {
				fprintf(stderr,
					PROG ": a %s timeout without --%s or "
					     "--agent\n",
					ocf_action(k), cmd_name(k));
				return 2;
			}
		}
	}
	l->monitoring = l->use_agent || l->cmds[CMD_MONITOR];
	if ((interval_set || failures_set) && !l->monitoring) {
		fprintf(stderr,
			PROG ": --monitor-%s needs --monitor or --agent\n",
			interval_set ? "interval" : "failures");
		return 2;
	}
	return -1;
}

int
main(int argc, char **argv)
{
	struct leader l = {0};
	const haq_quorum_t *q;
	uint32_t nodeid = 0;
	sigset_t chld;
	int sfd;
	int rc;

	rc = parse_args(&l, argc, argv);
	if (rc >= 0) {
		agent_free(&l.agent);
		return rc;
	}
	/* Whole lines reach a log file as they happen. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	l.loop = qb_loop_create();
	if (!l.loop) {
		fprintf(stderr, PROG ": cannot create the main loop\n");
		agent_free(&l.agent);
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
		agent_free(&l.agent);
		return 1;
	}
	qb_loop_signal_add(l.loop, QB_LOOP_HIGH, SIGINT, &l, signal_cb, NULL);
	qb_loop_signal_add(l.loop, QB_LOOP_HIGH, SIGTERM, &l, signal_cb, NULL);
	/* A closed terminal stops the service like SIGTERM: demote first. */
	qb_loop_signal_add(l.loop, QB_LOOP_HIGH, SIGHUP, &l, signal_cb, NULL);
	/*
	 * A reader of our output that goes away must not kill this process
	 * before it demotes; a failed write is harmless. Children get the
	 * default back.
	 */
	signal(SIGPIPE, SIG_IGN);

	rc = haq_ctx_new(&l.ctx, l.loop);
	if (rc < 0) {
		fprintf(stderr, PROG ": cannot connect: %s\n",
			haq_strerror(rc));
		qb_loop_destroy(l.loop);
		agent_free(&l.agent);
		return 1;
	}
	haq_ctx_set_log(l.ctx, log_cb, &l);
	haq_ctx_set_connection_cb(l.ctx, connection_cb, &l);
	haq_ctx_set_quorum_cb(l.ctx, quorum_cb, &l);
	haq_ctx_local_nodeid(l.ctx, &nodeid);
	l.connected = true;
	say("starting: group %s, nodeid %" PRIu32 ", pid %d", l.name, nodeid,
	    (int)getpid());
	if (l.use_agent) {
		say("agent: %s (%s), instance %s, %zu parameter%s",
		    l.agent.spec, l.agent.path, l.agent.instance,
		    l.agent.nparams, l.agent.nparams == 1 ? "" : "s");
	}
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
		agent_free(&l.agent);
		return 1;
	}
	haq_group_set_view_cb(l.group, view_cb, &l);
	haq_group_set_leader_cb(l.group, leader_cb, &l);
	l.eligible = true;
	if (l.monitoring) {
		/*
		 * The join starts ineligible: nobody elects a node before
		 * its monitor said it is healthy (a probe, in OCF terms).
		 */
		set_eligible(&l, false, "until the first monitor passes");
		if (l.eligible) {
			haq_ctx_free(l.ctx);
			qb_loop_destroy(l.loop);
			agent_free(&l.agent);
			return 1;
		}
		l.monitor_queued = true;
		enqueue(&l, CMD_MONITOR, 0);
	}

	qb_loop_run(l.loop);

	/* Only now: the next leader starts once this process has left. */
	haq_group_leave(l.group);
	l.group = NULL;
	haq_ctx_free(l.ctx);
	if (l.child) {
		say("exiting with the %s (pid %d) still running",
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
	agent_free(&l.agent);
	return l.status;
}
