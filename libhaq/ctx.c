/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The core: the context's services, its epoll set and timerfd, dispatch.
 *
 * Every corosync descriptor and the timerfd sit in one internal epoll set
 * whose payload is the service that owns the descriptor. That set's
 * descriptor is the single fd callers on foreign loops watch; with a libqb
 * loop it is simply registered there. The core calls services only
 * through their ops tables (haq-int.h) and names none of them.
 */
#include "haq-int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

int
haq__ctx_enter(const haq_ctx_t *ctx, unsigned int need)
{
	if (!ctx || ctx->free_requested) {
		return -EINVAL;
	}
	if (ctx->owner_pid != haq__getpid()) {
		return -ECHILD;
	}
	if ((need & HAQ_NEED_OUTSIDE) && ctx->depth > 0) {
		return -EBUSY;
	}
	if ((need & HAQ_NEED_CONNECTED) && ctx->conn != HAQ_CONN_UP) {
		return -ENOTCONN;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Services and their descriptors                                     */
/* ------------------------------------------------------------------ */

void
haq__service_add(haq_ctx_t *ctx, struct haq_service *s,
		 const struct haq_service_ops *ops)
{
	struct haq_service **pp = &ctx->services;

	s->ops = ops;
	s->ctx = ctx;
	s->fd = -1;
	s->dead = false;
	s->held = false;
	/* Kept in order: lower ops->order first, then in the order added. */
	while (*pp && (*pp)->ops->order <= ops->order) {
		pp = &(*pp)->next;
	}
	s->next = *pp;
	*pp = s;
}

static void
service_unlink(haq_ctx_t *ctx, struct haq_service *s)
{
	for (struct haq_service **pp = &ctx->services; *pp;
	     pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	if (ctx->hot == s) {
		ctx->hot = NULL;
	}
}

void
haq__service_remove(struct haq_service *s)
{
	haq_ctx_t *ctx = s->ctx;

	if (ctx->depth > 0) {
		/* Its events may be on the stack: release after dispatch. */
		if (!s->dead) {
			s->dead = true;
			ctx->ndead++;
		}
		return;
	}
	service_unlink(ctx, s);
	s->ops->destroy(s, true);
	haq__timers_update(ctx);
}

struct haq_service *
haq__service_next(haq_ctx_t *ctx, const struct haq_service *prev,
		  const struct haq_service_ops *ops)
{
	struct haq_service *s = prev ? prev->next : ctx->services;

	while (s && (s->ops != ops || s->dead)) {
		s = s->next;
	}
	return s;
}

int
haq__watch_add(struct haq_service *s, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};

	if (epoll_ctl(s->ctx->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		return -errno;
	}
	s->fd = fd;
	return 0;
}

void
haq__watch_del(struct haq_service *s)
{
	if (s->fd < 0) {
		return;
	}
	/* The fd may already be closed by corosync's finalize: ignore. */
	(void)epoll_ctl(s->ctx->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	s->fd = -1;
	if (s->ctx->hot == s) {
		s->ctx->hot = NULL;
	}
}

/* ------------------------------------------------------------------ */
/* Timers: one timerfd for every service's deadline                   */
/* ------------------------------------------------------------------ */

static uint64_t
next_deadline(haq_ctx_t *ctx)
{
	uint64_t d = 0;

	for (struct haq_service *s = ctx->services; s; s = s->next) {
		uint64_t sd;

		if (s->dead || !s->ops->deadline) {
			continue;
		}
		sd = s->ops->deadline(s);
		if (sd && (!d || sd < d)) {
			d = sd;
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
	timerfd_settime(ctx->timer.fd, TFD_TIMER_ABSTIME, &its, NULL);
	ctx->timer_armed_at = d;
}

/* The timerfd's own dispatch: drain it; run_timers() does the rest. */
static int
timer_dispatch(struct haq_service *s, uint32_t revents)
{
	uint64_t expirations;

	(void)revents;
	while (read(s->fd, &expirations, sizeof(expirations)) > 0) {
	}
	s->ctx->timer_armed_at = 0;
	s->ctx->timer_fired = true;
	return 0;
}

static void
timer_destroy(struct haq_service *s, bool finalize)
{
	(void)finalize;
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
}

static const struct haq_service_ops timer_ops = {
	.name = "timer",
	.order = -1,
	.dispatch = timer_dispatch,
	.destroy = timer_destroy,
};

/*
 * Run what is due. Called every dispatch round, not only when the timerfd
 * fires (a retry due now must not wait for a wakeup), but it makes no
 * system call unless something is armed: the message path stays lean.
 */
static bool
run_timers(haq_ctx_t *ctx)
{
	uint64_t now;

	if (!ctx->timer_fired && ctx->timer_armed_at == 0) {
		return false;
	}
	now = haq__now();
	if (!ctx->timer_fired && now < ctx->timer_armed_at) {
		/*
		 * Armed, not due: a leader's lease keeps a deadline armed all
		 * the time, and the message path must not walk the services
		 * for it on every dispatch.
		 */
		return false;
	}
	ctx->timer_fired = false;
	for (struct haq_service *s = ctx->services;
	     s && !ctx->free_requested; s = s->next) {
		if (!s->dead && s->ops->timers) {
			s->ops->timers(s, now);
		}
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* Quorum fan-out                                                     */
/* ------------------------------------------------------------------ */

void
haq__ctx_quorum_changed(haq_ctx_t *ctx, const struct haq_quorum *q,
			uint64_t done_seq, bool notify)
{
	ctx->quorum = q;
	ctx->quorum_done_seq = done_seq;
	haq__verdicts_add(&ctx->verdicts, done_seq, q->quorate);
	/* The application hears of the quorum before the views it explains. */
	if (notify && !haq__ctx_call(ctx, quorum_fn, quorum_ud, q)) {
		return;
	}
	for (struct haq_service *s = ctx->services;
	     s && !ctx->free_requested; s = s->next) {
		if (!s->dead && s->ops->quorum_changed) {
			s->ops->quorum_changed(s);
		}
	}
}

/* ------------------------------------------------------------------ */
/* Context lifecycle                                                  */
/* ------------------------------------------------------------------ */

static int32_t
qb_dispatch_cb(int32_t fd, int32_t revents, void *data)
{
	haq_ctx_t *ctx = data;

	(void)fd;
	(void)revents;
	haq_ctx_dispatch(ctx);
	return 0;
}

static void
destroy_services(haq_ctx_t *ctx, bool finalize)
{
	while (ctx->services) {
		struct haq_service *s = ctx->services;

		ctx->services = s->next;
		s->ops->destroy(s, finalize);
	}
	ctx->hot = NULL;
}

static void
ctx_destroy(haq_ctx_t *ctx, bool finalize)
{
	destroy_services(ctx, finalize);
	if (ctx->loop && ctx->epfd >= 0) {
		qb_loop_poll_del(ctx->loop, ctx->epfd);
	}
	if (ctx->epfd >= 0) {
		close(ctx->epfd);
	}
	if (ctx->netns_fd >= 0) {
		close(ctx->netns_fd);
	}
	free(ctx);
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
	int tfd;
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
	ctx->netns_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
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
	haq__service_add(ctx, &ctx->timer, &timer_ops);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (tfd < 0) {
		rc = -errno;
		goto fail;
	}
	rc = haq__watch_add(&ctx->timer, tfd);
	if (rc < 0) {
		close(tfd);
		goto fail;
	}
	/* The built-in services, then their connections, in table order. */
	for (const struct haq_service_type *t = haq__ctx_services; t->create;
	     t++) {
		struct haq_service *s;

		rc = t->create(ctx, &s);
		if (rc < 0) {
			goto fail;
		}
	}
	for (struct haq_service *s = ctx->services; s; s = s->next) {
		if (s->ops->connect) {
			rc = s->ops->connect(s);
			if (rc < 0) {
				/* At creation a missing corosync is an answer. */
				if (rc == -ENOTCONN) {
					rc = -ECONNREFUSED;
				}
				goto fail;
			}
		}
	}
	ctx->conn = HAQ_CONN_UP;
	if (loop) {
		rc = qb_loop_poll_add(loop, QB_LOOP_MED, ctx->epfd, POLLIN, ctx,
				      qb_dispatch_cb);
		if (rc < 0) {
			goto fail;
		}
	}
	*ret = ctx;
	return 0;
fail:
	ctx->loop = NULL; /* not registered there */
	ctx_destroy(ctx, true);
	return rc;
}

HAQ_EXPORT void
haq_ctx_free(haq_ctx_t *ctx)
{
	if (!ctx) {
		return;
	}
	if (ctx->owner_pid != haq__getpid()) {
		/*
		 * A forked child must not finalize the parent's corosync
		 * connections (it would tear down the parent's IPC): release
		 * only this process's memory and descriptors.
		 */
		ctx_destroy(ctx, false);
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
	ctx_destroy(ctx, true);
}

HAQ_EXPORT int
haq_ctx_set_log(haq_ctx_t *ctx, haq_log_fn fn, void *userdata)
{
	int rc = haq__ctx_enter(ctx, 0);

	if (rc < 0) {
		return rc;
	}
	ctx->log_fn = fn;
	ctx->log_ud = userdata;
	return 0;
}

HAQ_EXPORT int
haq_ctx_set_connection_cb(haq_ctx_t *ctx, haq_connection_fn fn,
			  void *userdata)
{
	int rc = haq__ctx_enter(ctx, 0);

	if (rc < 0) {
		return rc;
	}
	ctx->conn_fn = fn;
	ctx->conn_ud = userdata;
	return 0;
}

HAQ_EXPORT int
haq_ctx_set_quorum_cb(haq_ctx_t *ctx, haq_quorum_fn fn, void *userdata)
{
	int rc = haq__ctx_enter(ctx, 0);

	if (rc < 0) {
		return rc;
	}
	ctx->quorum_fn = fn;
	ctx->quorum_ud = userdata;
	return 0;
}

HAQ_EXPORT int
haq_ctx_fd(haq_ctx_t *ctx)
{
	int rc = haq__ctx_enter(ctx, 0);

	return rc < 0 ? rc : ctx->epfd;
}

HAQ_EXPORT int
haq_ctx_local_nodeid(haq_ctx_t *ctx, uint32_t *nodeid)
{
	int rc = haq__ctx_enter(ctx, 0);

	if (rc < 0) {
		return rc;
	}
	if (!nodeid) {
		return -EINVAL;
	}
	*nodeid = ctx->local_nodeid;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Dispatch                                                           */
/* ------------------------------------------------------------------ */

/* Release services left or freed from inside callbacks. */
static void
reap_services(haq_ctx_t *ctx)
{
	struct haq_service **pp = &ctx->services;
	bool reaped = false;

	if (ctx->ndead == 0) {
		return;
	}
	ctx->ndead = 0;
	while (*pp) {
		struct haq_service *s = *pp;

		if (s->dead) {
			*pp = s->next;
			if (ctx->hot == s) {
				ctx->hot = NULL;
			}
			s->ops->destroy(s, true);
			reaped = true;
		} else {
			pp = &s->next;
		}
	}
	if (reaped) {
		haq__timers_update(ctx);
	}
}

/* The end of every dispatch: timers, deferred frees and the timerfd. */
static int
dispatch_done(haq_ctx_t *ctx, int n)
{
	bool ran = false;

	if (!ctx->free_requested) {
		ran = run_timers(ctx);
	}
	ctx->depth--;
	if (ctx->free_requested) {
		if (!ctx->running) {
			ctx->free_requested = false;
			haq_ctx_free(ctx);
		}
		/* else haq_ctx_run() frees it once the loop is left. */
		return n;
	}
	reap_services(ctx);
	/*
	 * A deadline made earlier re-arms the timerfd where it is set; one
	 * cancelled or postponed only fires early and is re-armed here,
	 * after the timers ran. With nothing due, the message path skips the
	 * walk over the services.
	 */
	if (ran) {
		haq__timers_update(ctx);
	}
	return n;
}

/*
 * One service alone had events last time: the caller's poll() almost
 * surely woke for it again, so take its events without the epoll_wait()
 * that would only name it once more (a system call per round trip).
 * Returns the events taken, 0 if it had none (the wakeup was for another
 * descriptor).
 */
static int
dispatch_hot(haq_ctx_t *ctx)
{
	struct haq_service *s = ctx->hot;
	int n;

	ctx->hot_rounds++;
	if (s->dead || s->fd < 0 || s->held) {
		ctx->hot = NULL;
		return 0;
	}
	n = s->ops->dispatch(s, EPOLLIN);
	if (s->held) {
		/* It waits for another service's events: look at everything. */
		ctx->hot = NULL;
	}
	return n;
}

HAQ_EXPORT int
haq_ctx_dispatch(haq_ctx_t *ctx)
{
	struct epoll_event ev[16];
	int n;
	int events = 0;
	int rc;

	if (ctx && ctx->free_requested && ctx->owner_pid == haq__getpid()) {
		return 0; /* released once haq_ctx_run() returns */
	}
	rc = haq__ctx_enter(ctx, HAQ_NEED_OUTSIDE);
	if (rc < 0) {
		return rc;
	}
	ctx->depth++;
	if (ctx->hot && ctx->hot_rounds < HAQ_HOT_ROUNDS) {
		events = dispatch_hot(ctx);
		if (events > 0 || ctx->free_requested) {
			return dispatch_done(ctx, events);
		}
	}
	ctx->hot = NULL;
	n = epoll_wait(ctx->epfd, ev, 16, 0);
	if (n < 0) {
		rc = errno == EINTR ? 0 : -errno;
		(void)dispatch_done(ctx, 0);
		return rc;
	}
	/*
	 * In the services' order (votequorum first: a CPG view of a new ring
	 * then usually finds the quorum state of that ring already known).
	 */
	for (int order_pass = 0; order_pass < 2; order_pass++) {
		for (int i = 0; i < n && !ctx->free_requested; i++) {
			struct haq_service *s = ev[i].data.ptr;
			bool first = s->ops->order <= 0;

			if (first != (order_pass == 0)) {
				continue;
			}
			/*
			 * A service left or disconnected earlier in this
			 * round keeps its memory until reaped below.
			 */
			if (s->dead || s->fd < 0) {
				continue;
			}
			if (ctx->conn != HAQ_CONN_UP && s->ops->connect &&
			    !s->ops->dispatch_while_down) {
				/* Reconnecting: see dispatch_while_down. */
				continue;
			}
			events += s->ops->dispatch(s, ev[i].events);
			if (n == 1 && !s->dead && s->fd >= 0 && !s->held &&
			    s != &ctx->timer) {
				ctx->hot = s;
				ctx->hot_rounds = 0;
			}
		}
	}
	return dispatch_done(ctx, events);
}

HAQ_EXPORT int
haq_ctx_run(haq_ctx_t *ctx)
{
	int rc = haq__ctx_enter(ctx, HAQ_NEED_OUTSIDE);

	if (rc < 0) {
		return rc;
	}
	if (ctx->running) {
		return -EBUSY;
	}
	ctx->stop = false;
	ctx->running = true;
	if (ctx->loop) {
		qb_loop_run(ctx->loop);
	} else {
		while (!ctx->stop) {
			struct pollfd p = {.fd = ctx->epfd, .events = POLLIN};

			if (poll(&p, 1, -1) < 0) {
				if (errno == EINTR) {
					continue;
				}
				rc = -errno;
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
	return rc;
}

HAQ_EXPORT int
haq_ctx_stop(haq_ctx_t *ctx)
{
	int rc = haq__ctx_enter(ctx, 0);

	if (rc < 0) {
		return rc;
	}
	ctx->stop = true;
	if (ctx->loop) {
		qb_loop_stop(ctx->loop);
	}
	return 0;
}
