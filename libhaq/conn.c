/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The connection to corosync: every corosync result and every broken
 * connection goes through here, and so does the reconnect.
 *
 * A reconnect never holds the caller's loop: corosync is first asked, over
 * a probe connection, whether it answers at all (a frozen corosync accepts
 * the socket and never replies, and libcpg's connect would wait for it
 * forever); only then are the services connected, one per dispatch round.
 * This is a service of its own (its ops run the probe and the steps), so
 * the core knows it only through its ops table.
 */
#include "haq-int.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <qb/qbipcc.h>

/* The IPC service the probe asks: every client may connect to CPG. */
#define PROBE_SERVICE "cpg"
#define PROBE_MSG_SIZE 8192

static const struct haq_service_ops conn_ops;

int
haq__cs_result(haq_ctx_t *ctx, cs_error_t err)
{
	if (err == CS_OK) {
		return 0;
	}
	if (err == CS_ERR_LIBRARY) {
		haq__connection_lost(ctx);
	}
	return haq__cs_to_errno(err);
}

/* ------------------------------------------------------------------ */
/* Losing the connection                                              */
/* ------------------------------------------------------------------ */

static void
disconnect_all(haq_ctx_t *ctx)
{
	for (struct haq_service *s = ctx->services; s; s = s->next) {
		if (s->ops != &conn_ops && s->ops->disconnect) {
			s->ops->disconnect(s);
		}
	}
}

static void
probe_close(haq_ctx_t *ctx)
{
	qb_ipcc_connection_t *c = ctx->probe_conn;

	if (!c) {
		return;
	}
	haq__watch_del(&ctx->probe);
	/*
	 * A probe corosync never answered: make its socket fail, and let
	 * libqb release the half-made connection the one way it can.
	 */
	if (ctx->probe_sock >= 0) {
		(void)shutdown(ctx->probe_sock, SHUT_RDWR);
	}
	if (qb_ipcc_connect_continue(c) == 0) {
		qb_ipcc_disconnect(c);
	}
	ctx->probe_conn = NULL;
	ctx->probe_sock = -1;
	ctx->probe_until = 0;
}

static void
schedule_reconnect(haq_ctx_t *ctx, bool first)
{
	if (first || ctx->reconnect_delay < HAQ_RECONNECT_MIN_NS) {
		ctx->reconnect_delay = HAQ_RECONNECT_MIN_NS;
	} else {
		ctx->reconnect_delay *= 2;
		if (ctx->reconnect_delay > HAQ_RECONNECT_MAX_NS) {
			ctx->reconnect_delay = HAQ_RECONNECT_MAX_NS;
		}
	}
	ctx->conn = HAQ_CONN_DOWN;
	ctx->step = NULL;
	ctx->reconnect_at = haq__now() + ctx->reconnect_delay;
	haq__timers_update(ctx);
}

/* A reconnect attempt failed at some step: start over later. */
static void
reconnect_failed(haq_ctx_t *ctx, int rc, const char *what)
{
	probe_close(ctx);
	disconnect_all(ctx);
	schedule_reconnect(ctx, false);
	haq__log(ctx, HAQ_LOG_DEBUG, "reconnect failed at %s (%s); next in %llu ms",
		 what, haq_strerror(rc),
		 (unsigned long long)(ctx->reconnect_delay / 1000000));
}

void
haq__connection_lost(haq_ctx_t *ctx)
{
	if (ctx->conn == HAQ_CONN_DOWN || ctx->conn == HAQ_CONN_PROBING) {
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
	if (ctx->conn == HAQ_CONN_STEPPING) {
		/* The application was told already: just start over. */
		reconnect_failed(ctx, -ENOTCONN, "a lost connection");
		return;
	}
	haq__log(ctx, HAQ_LOG_WARNING,
		 "lost the connection to corosync; reconnecting");
	schedule_reconnect(ctx, true);
	/*
	 * The application hears of it first, the handles are closed after:
	 * closing a dead connection's handles can take over 100 ms, and a
	 * leader must step down the moment the loss is seen (the others may
	 * elect as soon as corosync told them the process is gone).
	 * First the context's callback, then each service's own word.
	 */
	if (!haq__ctx_call(ctx, conn_fn, conn_ud, 0)) {
		return;
	}
	for (struct haq_service *s = ctx->services;
	     s && !ctx->free_requested; s = s->next) {
		if (!s->dead && s->ops->lost) {
			s->ops->lost(s);
		}
	}
	if (!ctx->free_requested) {
		disconnect_all(ctx);
	}
}

/* ------------------------------------------------------------------ */
/* Reconnecting                                                       */
/* ------------------------------------------------------------------ */

static void
probe_start(haq_ctx_t *ctx)
{
	qb_ipcc_connection_t *c;
	int saved;
	int fd = -1;
	int rc;

	ctx->reconnect_at = 0;
	saved = haq__netns_enter(ctx);
	c = qb_ipcc_connect_async(PROBE_SERVICE, PROBE_MSG_SIZE, &fd);
	haq__netns_leave(saved);
	if (!c) {
		reconnect_failed(ctx, -ENOTCONN, "the probe");
		return;
	}
	ctx->probe_conn = c;
	ctx->probe_sock = fd;
	rc = haq__watch_add(&ctx->probe, fd);
	if (rc < 0) {
		reconnect_failed(ctx, rc, "the probe");
		return;
	}
	ctx->conn = HAQ_CONN_PROBING;
	ctx->probe_until = haq__now() + HAQ_PROBE_TIMEOUT_NS;
	haq__timers_update(ctx);
}

/* corosync answered the probe (or closed it). */
static int
probe_dispatch(struct haq_service *s, uint32_t revents)
{
	haq_ctx_t *ctx = s->ctx;
	qb_ipcc_connection_t *c = ctx->probe_conn;
	int rc;

	(void)revents;
	if (!c) {
		return 0;
	}
	haq__watch_del(&ctx->probe);
	ctx->probe_conn = NULL;
	ctx->probe_sock = -1;
	ctx->probe_until = 0;
	rc = qb_ipcc_connect_continue(c); /* frees c when it fails */
	if (rc < 0) {
		reconnect_failed(ctx, rc, "the probe's answer");
		return 1;
	}
	qb_ipcc_disconnect(c);
	/* It answers: connect the services, one per round. */
	ctx->conn = HAQ_CONN_STEPPING;
	ctx->step = ctx->services;
	ctx->step_at = haq__now();
	haq__timers_update(ctx);
	return 1;
}

static void
step(haq_ctx_t *ctx)
{
	struct haq_service *s = ctx->step;
	int saved;
	int rc = 0;

	while (s && (s->dead || !s->ops->connect || s->ops == &conn_ops)) {
		s = s->next;
	}
	if (!s) {
		ctx->step = NULL;
		ctx->step_at = 0;
		ctx->conn = HAQ_CONN_UP;
		ctx->reconnect_delay = 0;
		haq__log(ctx, HAQ_LOG_NOTICE, "reconnected to corosync");
		(void)haq__ctx_call(ctx, conn_fn, conn_ud, 1);
		return;
	}
	saved = haq__netns_enter(ctx);
	rc = s->ops->connect(s);
	haq__netns_leave(saved);
	if (rc < 0) {
		reconnect_failed(ctx, rc, s->ops->name);
		return;
	}
	ctx->step = s->next;
	ctx->step_at = haq__now();
}

static uint64_t
conn_deadline(const struct haq_service *s)
{
	const haq_ctx_t *ctx = s->ctx;

	if (ctx->lost_pending) {
		return 1;
	}
	switch (ctx->conn) {
	case HAQ_CONN_DOWN:
		return ctx->reconnect_at;
	case HAQ_CONN_PROBING:
		return ctx->probe_until;
	case HAQ_CONN_STEPPING:
		return ctx->step_at;
	default:
		return 0;
	}
}

static void
conn_timers(struct haq_service *s, uint64_t now)
{
	haq_ctx_t *ctx = s->ctx;

	if (ctx->lost_pending) {
		haq__connection_lost(ctx);
		if (ctx->free_requested) {
			return;
		}
	}
	switch (ctx->conn) {
	case HAQ_CONN_DOWN:
		if (ctx->reconnect_at && ctx->reconnect_at <= now) {
			probe_start(ctx);
		}
		break;
	case HAQ_CONN_PROBING:
		if (ctx->probe_until && ctx->probe_until <= now) {
			haq__log(ctx, HAQ_LOG_WARNING,
				 "corosync accepts connections but does not "
				 "answer (stopped or overloaded?)");
			reconnect_failed(ctx, -ETIMEDOUT, "the probe");
		}
		break;
	case HAQ_CONN_STEPPING:
		if (ctx->step_at && ctx->step_at <= now) {
			step(ctx);
		}
		break;
	default:
		break;
	}
}

/*
 * At creation the caller waits for the answer: the same probe, with a
 * bounded poll(), so that a frozen corosync is -ETIMEDOUT, not a hang.
 * Any other failure is left to the services' own connections, which
 * tell "not running" from "not allowed".
 */
static int
conn_connect(struct haq_service *s)
{
	qb_ipcc_connection_t *c;
	struct pollfd p = {.events = POLLIN};
	int fd = -1;
	int rc;

	c = qb_ipcc_connect_async(PROBE_SERVICE, PROBE_MSG_SIZE, &fd);
	if (!c) {
		return 0;
	}
	p.fd = fd;
	do {
		rc = poll(&p, 1, (int)(HAQ_PROBE_TIMEOUT_NS / 1000000));
	} while (rc < 0 && errno == EINTR);
	if (rc == 0) {
		(void)shutdown(fd, SHUT_RDWR);
	}
	if (qb_ipcc_connect_continue(c) == 0) {
		qb_ipcc_disconnect(c);
	}
	if (rc == 0) {
		haq__log(s->ctx, HAQ_LOG_ERR,
			 "corosync accepts connections but does not answer "
			 "(stopped or overloaded?)");
		return -ETIMEDOUT;
	}
	return 0;
}

static void
conn_destroy(struct haq_service *s, bool finalize)
{
	haq_ctx_t *ctx = s->ctx;

	if (finalize) {
		probe_close(ctx);
	} else if (ctx->probe_sock >= 0) {
		/* In a child: the socket is a copy; libqb's memory leaks. */
		(void)close(ctx->probe_sock);
	}
}

static const struct haq_service_ops conn_ops = {
	.name = "connection",
	.order = -1,
	.dispatch_while_down = true,
	.connect = conn_connect,
	.dispatch = probe_dispatch,
	.deadline = conn_deadline,
	.timers = conn_timers,
	.destroy = conn_destroy,
};

int
haq__conn_create(haq_ctx_t *ctx, struct haq_service **ret)
{
	ctx->probe_sock = -1;
	haq__service_add(ctx, &ctx->probe, &conn_ops);
	*ret = &ctx->probe;
	return 0;
}
