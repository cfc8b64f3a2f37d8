/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What every file of the library shares: the export macro, the tunables,
 * and the core's interface to its services. Nothing here is ABI.
 *
 * The context (ctx.c) is a small core: an epoll set, a timerfd, the
 * dispatch budget and the reconnect. Everything that talks to corosync is
 * a service (votequorum, cmap, each group) that registers a static ops
 * table; the core calls services only through that table, and services
 * call the core through the functions declared at the end of this file.
 */
#ifndef HAQ_INT_H
#define HAQ_INT_H

#include "config.h"

#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/types.h>

#include <corosync/corotypes.h>

#include <haq/haq.h>

#include "holdq.h"

#define HAQ_EXPORT __attribute__((visibility("default")))

/* Events one dispatch call takes from one corosync connection. */
#define HAQ_DISPATCH_BUDGET 64
/* Frame bytes one dispatch call takes from one group before yielding. */
#define HAQ_DISPATCH_BYTES (2u * 1024u * 1024u)
/*
 * Dispatches that may go straight to the one busy service before every
 * descriptor is looked at again (fairness for the others).
 */
#define HAQ_HOT_ROUNDS 64
/*
 * Retry delay after CS_ERR_TRY_AGAIN with none of our frames out,
 * doubling up to the maximum; with frames out their return retries and
 * the maximum is only a fallback (haq__sendwin_retry()).
 */
#define HAQ_RETRY_MIN_NS (1000000ull)
#define HAQ_RETRY_MAX_NS (50000000ull)
/* How long a view waits for the quorum state of its ring. */
#define HAQ_VIEW_HOLD_NS (5000000000ull)
/* Reconnect backoff after corosync went away. */
#define HAQ_RECONNECT_MIN_NS (100000000ull)
#define HAQ_RECONNECT_MAX_NS (5000000000ull)
/*
 * How long a reconnect waits for corosync to answer a probe connection: a
 * frozen corosync accepts the socket and never replies.
 */
#define HAQ_PROBE_TIMEOUT_NS (2000000000ull)
/* At creation, how long to wait for votequorum's first state. */
#define HAQ_QUORUM_FIRST_WAIT_MS 2000

/* Counters a group keeps (the public enum haq_counter, all of it). */
#define HAQ_NCOUNTERS 15

/* ------------------------------------------------------------------ */
/* The quorum state the core fans out to every service                */
/* ------------------------------------------------------------------ */

struct haq_quorum_node {
	uint32_t nodeid;
	uint32_t votes;
};

struct haq_quorum {
	int valid;
	int quorate;
	uint32_t ring_nodeid;
	uint64_t ring_seq;
	uint32_t expected_votes;
	uint32_t total_votes;
	uint32_t quorum_votes;
	size_t nnodes;
	struct haq_quorum_node *nodes;
};

/* ------------------------------------------------------------------ */
/* Services                                                           */
/* ------------------------------------------------------------------ */

struct haq_service;

/*
 * What the core asks of a service. Every op may be NULL when a service has
 * nothing to do for it. Ops run on the context's thread; those that may
 * call the application (dispatch, lost, timers, quorum_changed) are only
 * called inside a dispatch, never inside a caller's API call.
 */
struct haq_service_ops {
	const char *name;
	/* Lower first: votequorum is dispatched before the groups. */
	int order;
	/*
	 * A service with a connect op is dispatched only while the context
	 * is connected: during a reconnect its events wait until the
	 * connection callback said 1, so that callback comes before the
	 * fresh views. The reconnect's own probe sets this.
	 */
	bool dispatch_while_down;
	/*
	 * Open the connection(s) to corosync and watch the descriptor with
	 * haq__watch_add(). 0 or -errno; on failure nothing stays open.
	 */
	int (*connect)(struct haq_service *s);
	/* Close the connection, keep the state (a reconnect follows). */
	void (*disconnect)(struct haq_service *s);
	/* The connection to corosync was lost: tell the application. */
	void (*lost)(struct haq_service *s);
	/* The watched descriptor is ready: returns the events processed. */
	int (*dispatch)(struct haq_service *s, uint32_t revents);
	/* The earliest monotonic deadline (ns) the service needs, 0 none. */
	uint64_t (*deadline)(const struct haq_service *s);
	/* Run what is due at now. */
	void (*timers)(struct haq_service *s, uint64_t now);
	/* A new quorum state arrived (the context's, see haq__ctx_quorum). */
	void (*quorum_changed)(struct haq_service *s);
	/*
	 * Release everything. finalize is false in a forked child: the
	 * corosync handles are the parent's and must not be touched.
	 */
	void (*destroy)(struct haq_service *s, bool finalize);
};

/* A service as the core knows it: embedded in the service's own state. */
struct haq_service {
	const struct haq_service_ops *ops;
	haq_ctx_t *ctx;
	struct haq_service *next;
	int fd;      /* the watched descriptor, -1 when not connected */
	bool dead;   /* left or freed inside a dispatch: reaped after it */
	bool held;   /* waits for another service: never taken alone (hot) */
};

/*
 * The services every context has, created with it in this order (one
 * table, services.c, so that the core names no service).
 */
struct haq_service_type {
	int (*create)(haq_ctx_t *ctx, struct haq_service **ret);
};
extern const struct haq_service_type haq__ctx_services[];

/* ------------------------------------------------------------------ */
/* The context                                                        */
/* ------------------------------------------------------------------ */

enum haq_conn_state {
	HAQ_CONN_UP = 1,   /* every service connected */
	HAQ_CONN_DOWN,     /* lost: a reconnect is scheduled */
	HAQ_CONN_PROBING,  /* waiting for corosync to answer the probe */
	HAQ_CONN_STEPPING, /* connecting services, one per round */
};

struct haq_ctx {
	pid_t owner_pid;
	unsigned int flags;
	int netns_fd; /* the network namespace whose corosync we talk to */
	uint64_t incarnation;
	uint32_t local_nodeid;

	qb_loop_t *loop;
	int epfd;
	uint64_t timer_armed_at; /* deadline the timerfd is set to, 0 none */
	struct haq_service timer; /* the timerfd, a source like any other */
	bool timer_fired;

	enum haq_conn_state conn;
	bool lost_pending; /* connection loss seen outside dispatch */
	uint64_t reconnect_at;
	uint64_t reconnect_delay;
	struct haq_service probe; /* the reconnect's probe connection */
	void *probe_conn;         /* qb_ipcc_connection_t *, or NULL */
	int probe_sock;           /* its socket, -1 none */
	uint64_t probe_until;
	struct haq_service *step; /* next service to connect, or NULL */
	uint64_t step_at;

	/* Every service: the built-in ones first, then the groups. */
	struct haq_service *services;
	unsigned int ndead; /* services marked dead, reaped after dispatch */
	/* The quorum state the votequorum service keeps and fans out. */
	const struct haq_quorum *quorum;
	uint64_t quorum_done_seq; /* ring whose quorum verdict arrived */
	struct haq_verdicts verdicts; /* the last rings' verdicts */
	/* The service that alone had events at the last full look. */
	struct haq_service *hot;
	unsigned int hot_rounds;

	/* Services' own context-wide state, owned by their files. */
	struct haq_vq *vq;
	struct haq_cmap *cmap;

	haq_log_fn log_fn;
	void *log_ud;
	haq_connection_fn conn_fn;
	void *conn_ud;
	haq_quorum_fn quorum_fn;
	void *quorum_ud;

	int depth;      /* > 0 while dispatching */
	bool free_requested;
	bool stop;
	bool running;
};

/* ------------------------------------------------------------------ */
/* The core's interface to services (ctx.c unless noted)              */
/* ------------------------------------------------------------------ */

/* Log through the caller's function or libqb, with the caller's place. */
void haq__log_at(haq_ctx_t *ctx, int priority, const char *function,
		 const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
#define haq__log(ctx, priority, ...)                                       \
	haq__log_at((ctx), (priority), __func__, __FILE__, __LINE__,        \
		    __VA_ARGS__)

uint64_t haq__now(void);

/* This process's pid, cached (base.c forgets it in a forked child). */
extern pid_t haq__cached_pid;
pid_t haq__getpid_slow(void);

static inline pid_t
haq__getpid(void)
{
	pid_t pid = __atomic_load_n(&haq__cached_pid, __ATOMIC_RELAXED);

	return pid ? pid : haq__getpid_slow();
}

/*
 * The one entry guard of every public call on a context. Returns 0, or
 * -EINVAL (NULL, or released inside a callback), -ECHILD (a forked
 * child), -ENOTCONN (need & HAQ_NEED_CONNECTED and corosync is away),
 * -EBUSY (need & HAQ_NEED_OUTSIDE and called from inside a callback).
 */
#define HAQ_NEED_CONNECTED (1u << 0)
#define HAQ_NEED_OUTSIDE (1u << 1)
int haq__ctx_enter(const haq_ctx_t *ctx, unsigned int need);

static inline bool
haq__ctx_alive(const haq_ctx_t *ctx)
{
	return !ctx->free_requested;
}

/*
 * Run a context callback field cb (with cb and cb ## _ud... see the
 * fields above) if set and the context is alive; evaluates to whether the
 * context is still alive afterwards.
 */
#define haq__ctx_call(ctx, fn, ud, ...)                                    \
	(haq__ctx_alive(ctx) && (ctx)->fn                                  \
		 ? ((ctx)->fn((ctx), ##__VA_ARGS__, (ctx)->ud),            \
		    haq__ctx_alive(ctx))                                   \
		 : haq__ctx_alive(ctx))

/* Register s (connected or not) with the context; unregister it. */
void haq__service_add(haq_ctx_t *ctx, struct haq_service *s,
		      const struct haq_service_ops *ops);
/* Remove s now, outside dispatch; inside, mark it dead (reaped after). */
void haq__service_remove(struct haq_service *s);
/* The next service after prev (NULL: the first) with these ops. */
struct haq_service *haq__service_next(haq_ctx_t *ctx,
				      const struct haq_service *prev,
				      const struct haq_service_ops *ops);

/* Watch s->fd = fd in the epoll set; stop watching it. */
int haq__watch_add(struct haq_service *s, int fd);
void haq__watch_del(struct haq_service *s);

/* Re-arm the timerfd if the earliest deadline changed. */
void haq__timers_update(haq_ctx_t *ctx);

/*
 * corosync went away (POLLHUP or CS_ERR_LIBRARY): every service is
 * disconnected, told, and reconnected later. Outside dispatch this only
 * marks it; the next dispatch (due at once) does the rest.
 */
void haq__connection_lost(haq_ctx_t *ctx);

/*
 * The one path of every corosync result: CS_OK is 0, anything else a
 * negative errno, and CS_ERR_LIBRARY (the IPC connection broke) also
 * starts the connection-lost handling.
 */
int haq__cs_result(haq_ctx_t *ctx, cs_error_t err);

/*
 * The one budgeted dispatch of a corosync connection: takes events one at
 * a time (CS_DISPATCH_ONE_NONBLOCKING) until none is left, budget events
 * were taken, or more() (may be NULL) says stop. A broken connection
 * (an error, or POLLHUP with nothing left to read) is reported through
 * haq__connection_lost(). Returns the events taken. Inline: each caller
 * passes constant functions, which the compiler then calls directly (the
 * message path pays no indirect call).
 */
typedef cs_error_t (*haq_cs_dispatch_fn)(uint64_t handle,
					 cs_dispatch_flags_t flags);

/*
 * Whether more events wait on fd (libqb writes a byte per event to it);
 * a hung-up socket with nothing to read is reported as a lost connection.
 */
static inline bool
haq__fd_more(haq_ctx_t *ctx, int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	if (poll(&p, 1, 0) <= 0) {
		return false;
	}
	if (!(p.revents & POLLIN)) {
		if (p.revents & (POLLHUP | POLLERR)) {
			haq__connection_lost(ctx);
		}
		return false;
	}
	return true;
}

static inline int
haq__dispatch_budgeted(haq_ctx_t *ctx, haq_cs_dispatch_fn fn,
		       uint64_t handle, int fd, int budget,
		       bool (*more)(void *arg), void *arg)
{
	int taken = 0;

	while (taken < budget) {
		cs_error_t err = fn(handle, CS_DISPATCH_ONE_NONBLOCKING);

		if (err == CS_ERR_TRY_AGAIN) {
			/* Nothing left; a hung-up socket says so here too. */
			(void)haq__fd_more(ctx, fd);
			break;
		}
		if (err != CS_OK) {
			/* Every other answer of a dispatch is a broken IPC. */
			haq__connection_lost(ctx);
			break;
		}
		taken++;
		if (more && !more(arg)) {
			break;
		}
		/*
		 * Usually one event is all there is (a reply, a round trip):
		 * ask the socket rather than pay a whole empty dispatch. libqb
		 * writes a byte per event to it, so once more than one waits
		 * the rest of the budget goes without asking.
		 */
		if (taken == 1 && !haq__fd_more(ctx, fd)) {
			break;
		}
	}
	return taken;
}

/*
 * The quorum state arrived (quorum.c): remember it, tell the application
 * if notify is set, then every service.
 */
void haq__ctx_quorum_changed(haq_ctx_t *ctx, const struct haq_quorum *q,
			     uint64_t done_seq, bool notify);

/*
 * corosync's IPC sockets are per network namespace: connections made
 * later (a join, a reconnect) must be made in the context's namespace.
 * Returns what to give haq__netns_leave().
 */
int haq__netns_enter(haq_ctx_t *ctx);
void haq__netns_leave(int saved);

/* error.c: map a cs_error_t (haq__cs_result() is the path to use). */
int haq__cs_to_errno(cs_error_t err);
/* base.c: whether the IPC server on fd is root's corosync: 0 or -EPERM. */
int haq__check_server(haq_ctx_t *ctx, int fd);

/* The built-in services' constructors (listed in services.c). */
int haq__conn_create(haq_ctx_t *ctx, struct haq_service **ret);
int haq__quorum_create(haq_ctx_t *ctx, struct haq_service **ret);
int haq__config_create(haq_ctx_t *ctx, struct haq_service **ret);

#endif /* HAQ_INT_H */
