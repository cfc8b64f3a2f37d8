/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The context: the connection to corosync, the loop binding and dispatch.
 *
 * All corosync descriptors and one timerfd sit in one internal epoll set.
 * Its descriptor is the single fd callers on foreign loops watch; with a
 * libqb loop it is simply registered there. One code path either way.
 */
#include "haq-int.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <qb/qblog.h>

HAQ_EXPORT unsigned int
haq_version(void)
{
	return HAQ_VERSION_HEX;
}

HAQ_EXPORT const char *
haq_version_string(void)
{
	return PACKAGE_VERSION;
}

/*
 * The fork check runs on every send and dispatch, and getpid() is a system
 * call (glibc stopped caching it in 2.25): keep the pid, and forget it in a
 * child, as systemd's getpid_cached() does.
 */
static pid_t cached_pid;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void
forget_pid(void)
{
	__atomic_store_n(&cached_pid, 0, __ATOMIC_RELAXED);
}

static void
register_atfork(void)
{
	(void)pthread_atfork(NULL, NULL, forget_pid);
}

pid_t
haq__getpid(void)
{
	pid_t pid = __atomic_load_n(&cached_pid, __ATOMIC_RELAXED);

	if (pid == 0) {
		pthread_once(&atfork_once, register_atfork);
		pid = getpid();
		__atomic_store_n(&cached_pid, pid, __ATOMIC_RELAXED);
	}
	return pid;
}

uint64_t
haq__now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void
haq__log(haq_ctx_t *ctx, int priority, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ctx->log_fn) {
		ctx->log_fn(ctx, priority, msg, ctx->log_ud);
		return;
	}
	qb_log_from_external_source(__func__, __FILE__, "%s", (uint8_t)priority,
				    __LINE__, 0, msg);
}

int
haq__watch_add(haq_ctx_t *ctx, int fd, struct haq_watch *w)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = w};

	if (epoll_ctl(ctx->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		return -errno;
	}
	return 0;
}

void
haq__watch_del(haq_ctx_t *ctx, int fd)
{
	/* The fd may already be closed by corosync's finalize: ignore. */
	(void)epoll_ctl(ctx->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static uint64_t
next_deadline(haq_ctx_t *ctx)
{
	uint64_t d = ctx->lost_pending ? 1 : ctx->reconnect_at;

	for (struct haq_group *g = ctx->groups; g; g = g->next) {
		uint64_t gd = haq__group_deadline(g);

		if (gd && (!d || gd < d)) {
			d = gd;
		}
	}
	return d;
}

/*
 * Arm the timerfd for the earliest deadline, touching it only when that
 * deadline changed: no timer syscall per message on the fast path.
 */
void
haq__timers_update(haq_ctx_t *ctx)
{
	uint64_t d = next_deadline(ctx);
	struct itimerspec its = {0};

	if (d == ctx->timer_armed_at) {
		return;
	}
	if (d) {
		its.it_value.tv_sec = (time_t)(d / 1000000000ull);
		its.it_value.tv_nsec = (long)(d % 1000000000ull);
	}
	timerfd_settime(ctx->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
	ctx->timer_armed_at = d;
}

/*
 * corosync's IPC sockets are abstract, so they live in a network
 * namespace: a connection made later (a join, a reconnect) must be made in
 * the namespace the context was created in, even if the thread has moved
 * since (a test driving several nodes from one process does). Returns the
 * descriptor to restore with haq__netns_leave(), or -1 when no switch was
 * needed or possible.
 */
int
haq__netns_enter(haq_ctx_t *ctx)
{
	struct stat want, cur;
	int saved;

	if (ctx->netns_fd < 0 || fstat(ctx->netns_fd, &want) < 0) {
		return -1;
	}
	saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (saved < 0) {
		return -1;
	}
	if (fstat(saved, &cur) == 0 && cur.st_ino == want.st_ino &&
	    cur.st_dev == want.st_dev) {
		close(saved);
		return -1;
	}
	if (setns(ctx->netns_fd, CLONE_NEWNET) < 0) {
		haq__log(ctx, HAQ_LOG_WARNING,
			 "cannot return to the context's network namespace: %s",
			 strerror(errno));
		close(saved);
		return -1;
	}
	return saved;
}

void
haq__netns_leave(int saved)
{
	if (saved >= 0) {
		(void)setns(saved, CLONE_NEWNET);
		close(saved);
	}
}

static int
connect_all(haq_ctx_t *ctx)
{
	int rc;

	rc = haq__quorum_connect(ctx);
	if (rc < 0) {
		return rc;
	}
	rc = haq__config_connect(ctx);
	if (rc < 0) {
		haq__quorum_disconnect(ctx);
		return rc;
	}
	ctx->connected = true;
	return 0;
}

static void
disconnect_all(haq_ctx_t *ctx)
{
	for (struct haq_group *g = ctx->groups; g; g = g->next) {
		haq__group_disconnect(g);
	}
	haq__config_disconnect(ctx);
	haq__quorum_disconnect(ctx);
	ctx->connected = false;
}

/*
 * corosync went away (POLLHUP or CS_ERR_LIBRARY): drop every handle, tell
 * the application, and schedule a reconnect. Queued messages stay queued.
 */
void
haq__connection_lost(haq_ctx_t *ctx)
{
	if (!ctx->connected) {
		return;
	}
	if (ctx->depth == 0) {
		/*
		 * Found outside dispatch (inside a send or a config read):
		 * the callbacks this runs must not fire inside the caller's
		 * call, so finish it at the next dispatch, which is due now.
		 */
		ctx->lost_pending = true;
		haq__timers_update(ctx);
		return;
	}
	ctx->lost_pending = false;
	haq__log(ctx, HAQ_LOG_WARNING,
		 "lost the connection to corosync; reconnecting");
	disconnect_all(ctx);
	ctx->reconnect_delay = HAQ_RECONNECT_MIN_NS;
	ctx->reconnect_at = haq__now() + ctx->reconnect_delay;
	haq__timers_update(ctx);
	if (ctx->conn_fn && !ctx->free_requested) {
		ctx->conn_fn(ctx, 0, ctx->conn_ud);
	}
	for (struct haq_group *g = ctx->groups; g; g = g->next) {
		if (!g->dead && !ctx->free_requested) {
			haq__group_lost(g);
		}
	}
}

static void
try_reconnect(haq_ctx_t *ctx)
{
	int saved;
	int rc;

	ctx->reconnect_at = 0;
	saved = haq__netns_enter(ctx);
	rc = connect_all(ctx);
	for (struct haq_group *g = ctx->groups; rc == 0 && g; g = g->next) {
		if (!g->dead) {
			rc = haq__group_connect(g);
		}
	}
	haq__netns_leave(saved);
	if (rc < 0) {
		disconnect_all(ctx);
		ctx->reconnect_delay *= 2;
		if (ctx->reconnect_delay > HAQ_RECONNECT_MAX_NS) {
			ctx->reconnect_delay = HAQ_RECONNECT_MAX_NS;
		}
		ctx->reconnect_at = haq__now() + ctx->reconnect_delay;
		haq__log(ctx, HAQ_LOG_DEBUG, "reconnect failed (%s); next in %llu ms",
			 haq_strerror(rc),
			 (unsigned long long)(ctx->reconnect_delay / 1000000));
		return;
	}
	haq__log(ctx, HAQ_LOG_NOTICE, "reconnected to corosync");
	if (ctx->conn_fn) {
		ctx->conn_fn(ctx, 1, ctx->conn_ud);
	}
}

static int32_t
qb_dispatch_cb(int32_t fd, int32_t revents, void *data)
{
	haq_ctx_t *ctx = data;

	(void)fd;
	(void)revents;
	haq_ctx_dispatch(ctx);
	return 0;
}

/*
 * The IPC server must be root's corosync: anyone can bind an abstract
 * socket name first and pose as it (Pacemaker checks the same).
 */
int
haq__check_server(haq_ctx_t *ctx, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (ctx->flags & HAQ_CTX_ANY_SERVER_UID) {
		return 0;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		return -errno;
	}
	if (cred.uid != 0) {
		haq__log(ctx, HAQ_LOG_ERR,
			 "refusing corosync IPC server pid %d running as uid %u "
			 "(not root)",
			 (int)cred.pid, (unsigned int)cred.uid);
		return -EPERM;
	}
	return 0;
}

HAQ_EXPORT int
haq_ctx_new(haq_ctx_t **ret, qb_loop_t *loop)
{
	return haq_ctx_new_flags(ret, loop, 0);
}

HAQ_EXPORT int
haq_ctx_new_flags(haq_ctx_t **ret, qb_loop_t *loop, unsigned int flags)
{
	haq_ctx_t *ctx;
	int rc;

	if (!ret || (flags & ~(unsigned int)HAQ_CTX_ANY_SERVER_UID)) {
		return -EINVAL;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		return -ENOMEM;
	}
	ctx->flags = flags;
	ctx->owner_pid = haq__getpid();
	ctx->loop = loop;
	ctx->vq_fd = -1;
	ctx->cmap_fd = -1;
	ctx->timerfd = -1;
	ctx->netns_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	ctx->next_track_id = 1;
	/* A random incarnation tells a restarted (nodeid, pid) apart. */
	do {
		if (getrandom(&ctx->incarnation, sizeof(ctx->incarnation), 0) !=
		    (ssize_t)sizeof(ctx->incarnation)) {
			ctx->incarnation = haq__now() ^ ((uint64_t)getpid() << 32);
		}
	} while (ctx->incarnation == 0);

	ctx->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ctx->epfd < 0) {
		rc = -errno;
		goto fail;
	}
	ctx->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (ctx->timerfd < 0) {
		rc = -errno;
		goto fail;
	}
	ctx->timer_watch.kind = HAQ_WATCH_TIMER;
	ctx->timer_watch.obj = ctx;
	rc = haq__watch_add(ctx, ctx->timerfd, &ctx->timer_watch);
	if (rc < 0) {
		goto fail;
	}
	rc = connect_all(ctx);
	if (rc < 0) {
		/* At creation a missing corosync is an answer, not a state. */
		if (rc == -ENOTCONN) {
			rc = -ECONNREFUSED;
		}
		goto fail;
	}
	if (loop) {
		rc = qb_loop_poll_add(loop, QB_LOOP_MED, ctx->epfd, POLLIN, ctx,
				      qb_dispatch_cb);
		if (rc < 0) {
			disconnect_all(ctx);
			goto fail;
		}
	}
	*ret = ctx;
	return 0;
fail:
	if (ctx->timerfd >= 0) {
		close(ctx->timerfd);
	}
	if (ctx->epfd >= 0) {
		close(ctx->epfd);
	}
	if (ctx->netns_fd >= 0) {
		close(ctx->netns_fd);
	}
	free(ctx);
	return rc;
}

static void
ctx_destroy(haq_ctx_t *ctx)
{
	while (ctx->groups) {
		struct haq_group *g = ctx->groups;

		ctx->groups = g->next;
		haq__group_destroy(g);
	}
	haq__config_disconnect(ctx);
	haq__config_free_tracks(ctx);
	haq__quorum_disconnect(ctx);
	free(ctx->quorum.nodes);
	if (ctx->loop) {
		qb_loop_poll_del(ctx->loop, ctx->epfd);
	}
	close(ctx->timerfd);
	close(ctx->epfd);
	if (ctx->netns_fd >= 0) {
		close(ctx->netns_fd);
	}
	free(ctx);
}

HAQ_EXPORT void
haq_ctx_free(haq_ctx_t *ctx)
{
	if (!ctx) {
		return;
	}
	if (ctx->depth > 0 || ctx->running) {
		/*
		 * Inside a callback, or inside haq_ctx_run() (from a callback
		 * of the caller's own on the same libqb loop): finish first;
		 * haq_ctx_run() releases the context when the loop returns.
		 */
		ctx->free_requested = true;
		ctx->stop = true;
		if (ctx->running && ctx->loop) {
			qb_loop_stop(ctx->loop);
		}
		return;
	}
	if (ctx->owner_pid != haq__getpid()) {
		/*
		 * A forked child must not finalize the parent's corosync
		 * connections (it would tear down the parent's IPC): release
		 * only this process's memory and descriptors.
		 */
		while (ctx->groups) {
			struct haq_group *g = ctx->groups;

			ctx->groups = g->next;
			g->handle_valid = false;
			haq__group_destroy(g);
		}
		ctx->vq_valid = false;
		ctx->cmap_valid = false;
	}
	ctx_destroy(ctx);
}

HAQ_EXPORT int
haq_ctx_set_log(haq_ctx_t *ctx, haq_log_fn fn, void *userdata)
{
	if (!ctx) {
		return -EINVAL;
	}
	ctx->log_fn = fn;
	ctx->log_ud = userdata;
	return 0;
}

HAQ_EXPORT int
haq_ctx_set_connection_cb(haq_ctx_t *ctx, haq_connection_fn fn,
			  void *userdata)
{
	if (!ctx) {
		return -EINVAL;
	}
	ctx->conn_fn = fn;
	ctx->conn_ud = userdata;
	return 0;
}

HAQ_EXPORT int
haq_ctx_set_quorum_cb(haq_ctx_t *ctx, haq_quorum_fn fn, void *userdata)
{
	if (!ctx) {
		return -EINVAL;
	}
	ctx->quorum_fn = fn;
	ctx->quorum_ud = userdata;
	return 0;
}

HAQ_EXPORT int
haq_ctx_fd(haq_ctx_t *ctx)
{
	if (!ctx) {
		return -EINVAL;
	}
	return ctx->epfd;
}

HAQ_EXPORT int
haq_ctx_local_nodeid(haq_ctx_t *ctx, uint32_t *nodeid)
{
	if (!ctx || !nodeid) {
		return -EINVAL;
	}
	*nodeid = ctx->local_nodeid;
	return 0;
}

/*
 * Run what is due. Called every dispatch round, not only when the timerfd
 * fires (a retry due now must not wait for a wakeup), but it makes no
 * system call unless something is due: the message path stays lean.
 */
static void
run_timers(haq_ctx_t *ctx, bool fired)
{
	uint64_t now;
	uint64_t expirations;

	/*
	 * No deadline armed and none fired: nothing is due (every deadline
	 * set goes through haq__timers_update(), which arms the timerfd), so
	 * the message path pays neither a clock read nor a walk of the groups.
	 */
	if (!fired && ctx->timer_armed_at == 0 && !ctx->lost_pending) {
		return;
	}
	now = haq__now();
	if (fired) {
		/* Drain the timerfd so the epoll set stops reporting it. */
		while (read(ctx->timerfd, &expirations, sizeof(expirations)) >
		       0) {
		}
		ctx->timer_armed_at = 0;
	}
	if (!ctx->lost_pending && !ctx->reconnect_at && !ctx->groups) {
		return;
	}
	if (ctx->lost_pending) {
		haq__connection_lost(ctx);
	}
	if (ctx->reconnect_at && ctx->reconnect_at <= now) {
		try_reconnect(ctx);
	}
	for (struct haq_group *g = ctx->groups; g; g = g->next) {
		if (!g->dead) {
			haq__group_timers(g, now);
		}
	}
}

/* Release groups left from inside callbacks. */
static void
reap_groups(haq_ctx_t *ctx)
{
	struct haq_group **pp = &ctx->groups;

	while (*pp) {
		struct haq_group *g = *pp;

		if (g->dead) {
			*pp = g->next;
			haq__group_destroy(g);
		} else {
			pp = &g->next;
		}
	}
}

/* The end of every dispatch: timers, deferred frees and the timerfd. */
static int
dispatch_done(haq_ctx_t *ctx, int n, bool timer)
{
	if (!ctx->free_requested) {
		run_timers(ctx, timer);
	}
	ctx->depth--;
	if (ctx->free_requested) {
		if (ctx->running) {
			/* haq_ctx_run() frees it once the loop is left. */
			return n;
		}
		ctx->free_requested = false;
		haq_ctx_free(ctx);
		return n;
	}
	reap_groups(ctx);
	/*
	 * A deadline made earlier re-arms the timerfd where it is set; one
	 * cancelled or postponed only fires early and is re-armed here. With
	 * nothing armed, the message path skips the walk over the groups.
	 */
	if (timer || ctx->timer_armed_at) {
		haq__timers_update(ctx);
	}
	return n;
}

/*
 * One group alone had events last time: the caller's poll() almost surely
 * woke for it again, so take its events without the epoll_wait() that
 * would only name it once more (a system call per round trip). Returns
 * false if it had nothing: the wakeup was for another descriptor.
 */
static bool
dispatch_hot(haq_ctx_t *ctx)
{
	struct haq_group *g = ctx->hot;

	ctx->hot_rounds++;
	if (g->dead || !g->handle_valid) {
		ctx->hot = NULL;
		return false;
	}
	if (haq__group_dispatch(g) == 0 && !ctx->free_requested) {
		return false;
	}
	if (g->held_head) {
		/* Its view waits for the quorum state: look at everything. */
		ctx->hot = NULL;
	}
	return true;
}

HAQ_EXPORT int
haq_ctx_dispatch(haq_ctx_t *ctx)
{
	struct epoll_event ev[16];
	int n;
	bool timer = false;

	if (!ctx) {
		return -EINVAL;
	}
	if (ctx->owner_pid != haq__getpid()) {
		return -ECHILD;
	}
	if (ctx->depth > 0) {
		return -EBUSY;
	}
	if (ctx->free_requested) {
		return 0; /* released once haq_ctx_run() returns */
	}
	ctx->depth++;
	if (ctx->hot && ctx->hot_rounds < HAQ_HOT_ROUNDS && dispatch_hot(ctx)) {
		return dispatch_done(ctx, 1, false);
	}
	ctx->hot = NULL;
	n = epoll_wait(ctx->epfd, ev, 16, 0);
	if (n < 0) {
		n = errno == EINTR ? 0 : -errno;
		(void)dispatch_done(ctx, 0, false);
		return n;
	}
	/*
	 * Quorum first: a CPG view of a new ring then usually finds the
	 * quorum state of that ring already known and is not held back.
	 */
	for (int i = 0; i < n; i++) {
		struct haq_watch *w = ev[i].data.ptr;

		if (w->kind == HAQ_WATCH_VOTEQUORUM && ctx->vq_valid) {
			haq__quorum_dispatch(ctx);
		}
	}
	for (int i = 0; i < n && !ctx->free_requested; i++) {
		struct haq_watch *w = ev[i].data.ptr;

		switch (w->kind) {
		case HAQ_WATCH_TIMER:
			timer = true;
			break;
		case HAQ_WATCH_CPG: {
			struct haq_group *g = w->obj;

			/*
			 * A group left or disconnected earlier in this round
			 * keeps its watch memory until reaped below.
			 */
			if (!g->dead && g->handle_valid) {
				haq__group_dispatch(g);
				if (n == 1 && !g->dead && g->handle_valid &&
				    !g->held_head) {
					ctx->hot = g;
					ctx->hot_rounds = 0;
				}
			}
			break;
		}
		case HAQ_WATCH_CMAP:
			if (ctx->cmap_valid) {
				haq__config_dispatch(ctx);
			}
			break;
		default:
			break;
		}
	}
	return dispatch_done(ctx, n, timer);
}

HAQ_EXPORT int
haq_ctx_run(haq_ctx_t *ctx)
{
	if (!ctx) {
		return -EINVAL;
	}
	if (ctx->owner_pid != haq__getpid()) {
		return -ECHILD;
	}
	if (ctx->depth > 0 || ctx->running) {
		return -EBUSY;
	}
	ctx->stop = false;
	ctx->running = true;
	if (ctx->loop) {
		qb_loop_run(ctx->loop);
	} else {
		while (!ctx->stop) {
			struct pollfd p = {.fd = ctx->epfd, .events = POLLIN};

			if (poll(&p, 1, -1) < 0 && errno != EINTR) {
				break;
			}
			haq_ctx_dispatch(ctx);
		}
	}
	ctx->running = false;
	if (ctx->free_requested) {
		ctx->free_requested = false;
		haq_ctx_free(ctx);
	}
	return 0;
}

HAQ_EXPORT int
haq_ctx_stop(haq_ctx_t *ctx)
{
	if (!ctx) {
		return -EINVAL;
	}
	ctx->stop = true;
	if (ctx->loop) {
		qb_loop_stop(ctx->loop);
	}
	return 0;
}
