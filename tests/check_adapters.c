/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Integration tests of the event-loop adapters (include/haq/haq-glib.h,
 * haq-sdevent.h, haq-uv.h) on a real corosync: contexts created with a
 * NULL loop are driven by a GLib, sd-event or libuv loop and by nothing
 * else (the tests never call haq_ctx_dispatch() themselves). Each generic
 * test runs once per loop that configure found (Check's loop index picks
 * it); a loop configure did not find is a note, or a failure when
 * configure had --enable-adapter-tests (CI).
 */
#include "check_common.h"

#include <dlfcn.h>
#include <sys/wait.h>

#ifdef HAQ_TEST_GLIB
#include <haq/haq-glib.h>
#endif
#ifdef HAQ_TEST_SDEVENT
#include <haq/haq-sdevent.h>
#endif
#ifdef HAQ_TEST_UV
#include <haq/haq-uv.h>
#endif

/* ------------------------------------------------------------------ */
/* Every dispatch the adapters make                                   */
/* ------------------------------------------------------------------ */

static struct {
	int calls;     /* haq_ctx_dispatch() calls */
	int errors;    /* of them, those that returned < 0 */
	int last_rc;   /* what the last one returned */
	int fail_with; /* when not 0: returned instead of dispatching */
} disp;

/*
 * This program's own haq_ctx_dispatch(): a definition in the executable
 * wins over libhaq.so's for the executable's calls, the adapters' inline
 * ones included. It counts them, can make them fail, and forwards to
 * libhaq's. Not a Check assertion inside: it also runs in forked children.
 */
int
haq_ctx_dispatch(haq_ctx_t *ctx)
{
	static int (*real)(haq_ctx_t *);

	if (!real) {
		void *sym = dlsym(RTLD_NEXT, "haq_ctx_dispatch");

		if (!sym) {
			fprintf(stderr, "dlsym haq_ctx_dispatch: %s\n",
				dlerror());
			abort();
		}
		memcpy(&real, &sym, sizeof(sym));
	}
	disp.calls++;
	disp.last_rc = disp.fail_with ? disp.fail_with : real(ctx);
	if (disp.last_rc < 0) {
		disp.errors++;
	}
	return disp.last_rc;
}

/* ------------------------------------------------------------------ */
/* The loops, behind one small interface                              */
/* ------------------------------------------------------------------ */

/* One loop of some kind, woken at least every TICK_MS. */
#define TICK_MS 20

struct loop {
	const struct kind *kind;
#ifdef HAQ_TEST_GLIB
	GMainContext *mc;
	guint glib_tick;
#endif
#ifdef HAQ_TEST_SDEVENT
	sd_event *e;
#endif
#ifdef HAQ_TEST_UV
	uv_loop_t uv;
	uv_timer_t uv_tick;
#endif
};

/* One context attached to a loop. */
struct watch {
	struct loop *l;
#ifdef HAQ_TEST_GLIB
	guint id;
#endif
#ifdef HAQ_TEST_SDEVENT
	sd_event_source *src;
#endif
#ifdef HAQ_TEST_UV
	uv_poll_t *poll; /* on the heap: its close callback frees it */
#endif
};

struct kind {
	const char *name;
	void (*init)(struct loop *l);
	void (*fini)(struct loop *l);
	int (*attach)(struct watch *w, struct loop *l, haq_ctx_t *ctx);
	int (*detach)(struct watch *w);
	/* One iteration: blocking at most about TICK_MS, or not at all. */
	void (*iterate)(struct loop *l, bool block);
	/* Whether the watch still polls the fd, as the loop's API tells. */
	bool (*watching)(struct watch *w);
	/*
	 * In a forked child, go on with the parent's loop L, to which the
	 * parent's context is attached by W: 0 if the loop and the adapter
	 * do what the header says, else the line that found otherwise.
	 */
	int (*child_goes_on)(struct loop *l, struct watch *w);
};

#define CHILD_CHECK(cond)                                                      \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "child: %s:%d: %s\n", __FILE__,        \
				__LINE__, #cond);                              \
			return __LINE__;                                       \
		}                                                              \
	} while (0)

/* A child's inherited loop ran one round: the adapter met -ECHILD once. */
static int
child_saw_echild_once(struct loop *l, struct watch *w)
{
	int calls;

	CHILD_CHECK(disp.calls == 1);
	CHILD_CHECK(disp.last_rc == -ECHILD);
	CHILD_CHECK(!l->kind->watching(w));
	/* The fd is still readable; nothing dispatches it any more. */
	calls = disp.calls;
	for (int i = 0; i < 5; i++) {
		l->kind->iterate(l, false);
	}
	CHILD_CHECK(disp.calls == calls);
	return 0;
}

#ifdef HAQ_TEST_GLIB
static gboolean
glib_tick(gpointer ud)
{
	return G_SOURCE_CONTINUE;
}

static void
glib_init(struct loop *l)
{
	GSource *t = g_timeout_source_new(TICK_MS);

	l->mc = g_main_context_new();
	g_source_set_callback(t, glib_tick, NULL, NULL);
	l->glib_tick = g_source_attach(t, l->mc);
	g_source_unref(t);
}

static void
glib_fini(struct loop *l)
{
	g_source_destroy(g_main_context_find_source_by_id(l->mc, l->glib_tick));
	g_main_context_unref(l->mc);
}

static int
glib_attach(struct watch *w, struct loop *l, haq_ctx_t *ctx)
{
	return haq_glib_attach(ctx, l->mc, &w->id);
}

static int
glib_detach(struct watch *w)
{
	return haq_glib_detach(w->l->mc, w->id);
}

static void
glib_iterate(struct loop *l, bool block)
{
	g_main_context_iteration(l->mc, block);
}

static bool
glib_watching(struct watch *w)
{
	/* GLib tells no more than the source's fd tag, held in the source. */
	struct haq_glib_impl_source *s = (struct haq_glib_impl_source *)
		g_main_context_find_source_by_id(w->l->mc, w->id);

	return s && s->fd_tag;
}

static int
glib_child_goes_on(struct loop *l, struct watch *w)
{
	/* GLib runs the parent's context in the child as it is. */
	l->kind->iterate(l, false);
	return child_saw_echild_once(l, w);
}

static const struct kind glib_kind = {
	.name = "glib",
	.init = glib_init,
	.fini = glib_fini,
	.attach = glib_attach,
	.detach = glib_detach,
	.iterate = glib_iterate,
	.watching = glib_watching,
	.child_goes_on = glib_child_goes_on,
};
#endif /* HAQ_TEST_GLIB */

#ifdef HAQ_TEST_SDEVENT
static void
sdevent_init(struct loop *l)
{
	ck_assert_int_eq(sd_event_new(&l->e), 0);
}

static void
sdevent_fini(struct loop *l)
{
	sd_event_unref(l->e);
}

static int
sdevent_attach(struct watch *w, struct loop *l, haq_ctx_t *ctx)
{
	return haq_sdevent_attach(ctx, l->e, &w->src);
}

static int
sdevent_detach(struct watch *w)
{
	return haq_sdevent_detach(w->src);
}

static void
sdevent_iterate(struct loop *l, bool block)
{
	int rc = sd_event_run(l->e, block ? TICK_MS * 1000 : 0);

	ck_assert_msg(rc >= 0, "sd_event_run: %s", strerror(-rc));
}

static bool
sdevent_watching(struct watch *w)
{
	int enabled = SD_EVENT_OFF;

	return sd_event_source_get_enabled(w->src, &enabled) >= 0 &&
	       enabled != SD_EVENT_OFF;
}

static int
sdevent_child_goes_on(struct loop *l, struct watch *w)
{
	/* sd-event refuses the parent's loop in a child: nothing runs. */
	CHILD_CHECK(sd_event_run(l->e, 0) == -ECHILD);
	CHILD_CHECK(disp.calls == 0);
	return 0;
}

static const struct kind sdevent_kind = {
	.name = "sd-event",
	.init = sdevent_init,
	.fini = sdevent_fini,
	.attach = sdevent_attach,
	.detach = sdevent_detach,
	.iterate = sdevent_iterate,
	.watching = sdevent_watching,
	.child_goes_on = sdevent_child_goes_on,
};
#endif /* HAQ_TEST_SDEVENT */

#ifdef HAQ_TEST_UV
static void
luv_tick(uv_timer_t *t)
{
}

static void
luv_init(struct loop *l)
{
	ck_assert_int_eq(uv_loop_init(&l->uv), 0);
	ck_assert_int_eq(uv_timer_init(&l->uv, &l->uv_tick), 0);
	ck_assert_int_eq(uv_timer_start(&l->uv_tick, luv_tick, TICK_MS, TICK_MS),
			 0);
}

static void
luv_fini(struct loop *l)
{
	uv_close((uv_handle_t *)&l->uv_tick, NULL);
	/* Runs the close callbacks, of detached poll handles too. */
	uv_run(&l->uv, UV_RUN_DEFAULT);
	/* -EBUSY: a handle is still open, a context still attached. */
	ck_assert_int_eq(uv_loop_close(&l->uv), 0);
}

static void
luv_free_handle(uv_handle_t *h)
{
	free(h);
}

static int
luv_attach(struct watch *w, struct loop *l, haq_ctx_t *ctx)
{
	int rc;

	w->poll = malloc(sizeof(*w->poll));
	ck_assert_ptr_nonnull(w->poll);
	rc = haq_uv_attach(ctx, &l->uv, w->poll);
	if (rc < 0) {
		/* Untouched on failure: nothing to close. */
		free(w->poll);
		w->poll = NULL;
	}
	return rc;
}

static int
luv_detach(struct watch *w)
{
	int rc = haq_uv_detach(w->poll, luv_free_handle);

	w->poll = NULL; /* the loop frees it */
	return rc;
}

static void
luv_iterate(struct loop *l, bool block)
{
	uv_run(&l->uv, block ? UV_RUN_ONCE : UV_RUN_NOWAIT);
}

static bool
luv_watching(struct watch *w)
{
	return uv_is_active((uv_handle_t *)w->poll);
}

static int
luv_child_goes_on(struct loop *l, struct watch *w)
{
	/* libuv: a child that keeps the parent's loop re-arms it first. */
	CHILD_CHECK(uv_loop_fork(&l->uv) == 0);
	l->kind->iterate(l, false);
	return child_saw_echild_once(l, w);
}

static const struct kind luv_kind = {
	.name = "libuv",
	.init = luv_init,
	.fini = luv_fini,
	.attach = luv_attach,
	.detach = luv_detach,
	.iterate = luv_iterate,
	.watching = luv_watching,
	.child_goes_on = luv_child_goes_on,
};
#endif /* HAQ_TEST_UV */

/* The loops configure found, in Check's loop-index order. */
static const struct kind *const kinds[] = {
#ifdef HAQ_TEST_GLIB
	&glib_kind,
#endif
#ifdef HAQ_TEST_SDEVENT
	&sdevent_kind,
#endif
#ifdef HAQ_TEST_UV
	&luv_kind,
#endif
	NULL,
};
static const int nkinds = (int)(sizeof(kinds) / sizeof(kinds[0])) - 1;

static void
loop_new(struct loop *l, int i)
{
	ck_assert_int_lt(i, nkinds);
	memset(l, 0, sizeof(*l));
	l->kind = kinds[i];
	l->kind->init(l);
	memset(&disp, 0, sizeof(disp));
	fprintf(stderr, "loop: %s\n", l->kind->name);
}

static void
loop_free(struct loop *l)
{
	l->kind->fini(l);
}

static void
watch_attach(struct watch *w, struct loop *l, haq_ctx_t *ctx)
{
	int rc;

	memset(w, 0, sizeof(*w));
	w->l = l;
	rc = l->kind->attach(w, l, ctx);
	ck_assert_msg(rc == 0, "%s: attach: %s", l->kind->name,
		      haq_strerror(rc));
}

static void
watch_detach(struct watch *w)
{
	int rc = w->l->kind->detach(w);

	ck_assert_msg(rc == 0, "%s: detach: %s", w->l->kind->name,
		      haq_strerror(rc));
}

/*
 * Iterate the loop, and nothing else, until done(arg) or timeout_ms.
 * Returns whether done() became true.
 */
static bool
run_until(struct loop *l, int timeout_ms, bool (*done)(void *), void *arg)
{
	uint64_t end = test_now_ms() + (uint64_t)timeout_ms;

	while (!(done && done(arg))) {
		if (test_now_ms() >= end) {
			return false;
		}
		l->kind->iterate(l, true);
	}
	return true;
}

static bool
fd_readable(haq_ctx_t *ctx, int timeout_ms)
{
	struct pollfd p = {.fd = haq_ctx_fd(ctx), .events = POLLIN};

	return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

/* ------------------------------------------------------------------ */
/* Group members driven by a loop                                     */
/* ------------------------------------------------------------------ */

#define MEMBER_MAX_MSGS 512

struct member {
	haq_ctx_t *ctx;
	haq_group_t *g;
	struct watch w;
	uint32_t nodeid;
	int views;
	size_t members; /* in the last view */
	size_t n;       /* messages delivered */
	uint32_t from[MEMBER_MAX_MSGS];
	uint64_t val[MEMBER_MAX_MSGS];
};

static void
member_on_message(haq_group_t *g, uint32_t nodeid, uint32_t pid,
		  const void *data, size_t len, void *ud)
{
	struct member *m = ud;

	ck_assert_uint_eq(len, sizeof(uint64_t));
	ck_assert_uint_lt(m->n, MEMBER_MAX_MSGS);
	m->from[m->n] = nodeid;
	memcpy(&m->val[m->n], data, sizeof(uint64_t));
	m->n++;
}

static void
member_on_view(haq_group_t *g, const haq_view_t *v, void *ud)
{
	struct member *m = ud;

	m->views++;
	m->members = haq_view_member_count(v);
}

/* Connect to NODE's corosync, attach to L, join NAME. */
static void
member_join(struct member *m, struct loop *l, int node, const char *name)
{
	memset(m, 0, sizeof(*m));
	cluster_enter_node(node);
	ck_assert_int_eq(haq_ctx_new(&m->ctx, NULL), 0);
	ck_assert_int_eq(haq_ctx_local_nodeid(m->ctx, &m->nodeid), 0);
	watch_attach(&m->w, l, m->ctx);
	ck_assert_int_eq(haq_group_join(m->ctx, name, &m->g), 0);
	haq_group_set_message_cb(m->g, member_on_message, m);
	haq_group_set_view_cb(m->g, member_on_view, m);
}

static void
member_free(struct member *m)
{
	watch_detach(&m->w);
	haq_ctx_free(m->ctx);
}

struct pair_want {
	struct member *m;
	size_t members;
	size_t msgs;
};

static bool
pair_reached(void *arg)
{
	struct pair_want *w = arg;

	for (int i = 0; i < 2; i++) {
		if (w->m[i].members != w->members || w->m[i].n < w->msgs) {
			return false;
		}
	}
	return true;
}

static bool
has_view(void *arg)
{
	return ((struct member *)arg)->views > 0;
}

static bool
has_messages(void *arg)
{
	return ((struct member *)arg)->n > 0;
}

/* ------------------------------------------------------------------ */
/* Generic tests, one run per loop                                    */
/* ------------------------------------------------------------------ */

/*
 * Two contexts (nodes 1 and 2) on one loop join a group, see the view of
 * both, send 100 messages each: both deliver the 200 in one order, each
 * sender's in its own order, their own included.
 */
START_TEST(test_messages_and_views)
{
	enum { N = 100 };
	struct loop l;
	struct member m[2];
	struct pair_want want = {.m = m, .members = 2, .msgs = 0};
	char name[64];

	loop_new(&l, _i);
	unique_group(name, sizeof(name), "adapter-msgs");
	member_join(&m[0], &l, 1, name);
	member_join(&m[1], &l, 2, name);
	ck_assert_msg(run_until(&l, 10000, pair_reached, &want),
		      "%s: no two-member view on both (views %d, %d)",
		      l.kind->name, m[0].views, m[1].views);
	for (uint64_t k = 1; k <= N; k++) {
		ck_assert_int_eq(haq_group_send(m[0].g, &k, sizeof(k)), 0);
		ck_assert_int_eq(haq_group_send(m[1].g, &k, sizeof(k)), 0);
	}
	want.msgs = 2 * N;
	ck_assert_msg(run_until(&l, 20000, pair_reached, &want),
		      "%s: delivered %zu and %zu of %d", l.kind->name, m[0].n,
		      m[1].n, 2 * N);
	ck_assert_uint_eq(m[0].n, 2 * N);
	ck_assert_uint_eq(m[1].n, 2 * N);
	ck_assert_uint_ne(m[0].nodeid, m[1].nodeid);
	/* One agreed order... */
	ck_assert_mem_eq(m[0].from, m[1].from, sizeof(m[0].from[0]) * 2 * N);
	ck_assert_mem_eq(m[0].val, m[1].val, sizeof(m[0].val[0]) * 2 * N);
	/* ...in which each sender's messages come 1..N. */
	for (int s = 0; s < 2; s++) {
		uint64_t next = 1;

		for (size_t k = 0; k < m[0].n; k++) {
			if (m[0].from[k] == m[s].nodeid) {
				ck_assert_uint_eq(m[0].val[k], next);
				next++;
			}
		}
		ck_assert_uint_eq(next, N + 1);
	}
	ck_assert_int_gt(disp.calls, 0);
	ck_assert_int_eq(disp.errors, 0);
	member_free(&m[0]);
	member_free(&m[1]);
	loop_free(&l);
}
END_TEST

/*
 * A burst far larger than the queue limit: sends meet -ENOBUFS, and the
 * writable callback, run by the loop's dispatches alone, sends the rest
 * from inside. Everything comes back, in order.
 */
struct burst {
	haq_group_t *g;
	uint64_t next;  /* the next value to send */
	uint64_t total; /* send 1..total */
	uint64_t enobufs;
	int writable;
	uint64_t n; /* delivered, each the expected next one */
};

#define BURST_SIZE 65536

static void
burst_fill(struct burst *b)
{
	static uint8_t payload[BURST_SIZE];

	memset(payload, 0x5a, sizeof(payload));
	while (b->next <= b->total) {
		int rc;

		memcpy(payload, &b->next, sizeof(b->next));
		rc = haq_group_send(b->g, payload, sizeof(payload));
		if (rc == -ENOBUFS) {
			b->enobufs++;
			return;
		}
		ck_assert_msg(rc == 0, "send: %s", haq_strerror(rc));
		b->next++;
	}
}

static void
burst_on_writable(haq_group_t *g, void *ud)
{
	struct burst *b = ud;

	b->writable++;
	burst_fill(b);
}

static void
burst_on_message(haq_group_t *g, uint32_t nodeid, uint32_t pid,
		 const void *data, size_t len, void *ud)
{
	struct burst *b = ud;
	uint64_t v;

	ck_assert_uint_eq(len, BURST_SIZE);
	memcpy(&v, data, sizeof(v));
	ck_assert_uint_eq(v, b->n + 1);
	b->n++;
}

static bool
burst_done(void *arg)
{
	struct burst *b = arg;

	return b->n == b->total;
}

START_TEST(test_burst_beyond_queue_limit)
{
	struct loop l;
	struct watch w;
	struct burst b = {.next = 1, .total = 512};
	haq_ctx_t *ctx;
	char name[64];
	uint64_t retries = 0;

	loop_new(&l, _i);
	unique_group(name, sizeof(name), "adapter-burst");
	cluster_enter_node(1);
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	watch_attach(&w, &l, ctx);
	ck_assert_int_eq(haq_group_join(ctx, name, &b.g), 0);
	haq_group_set_message_cb(b.g, burst_on_message, &b);
	haq_group_set_writable_cb(b.g, burst_on_writable, &b);
	/*
	 * 32 MiB through a 256 KiB queue, faster than corosync takes it: it
	 * pushes back (CS_ERR_TRY_AGAIN), the queue fills, and only the retry
	 * timer, behind the fd, drains it again. The first fill overflows
	 * already: nothing is sent before the join is confirmed.
	 */
	ck_assert_int_eq(haq_group_set_queue_limit(b.g, 256 * 1024), 0);
	burst_fill(&b);
	ck_assert_uint_eq(b.enobufs, 1);
	ck_assert_msg(run_until(&l, 120000, burst_done, &b),
		      "%s: %llu of %llu delivered, %llu sent, %d writable",
		      l.kind->name, (unsigned long long)b.n,
		      (unsigned long long)b.total,
		      (unsigned long long)b.next - 1, b.writable);
	haq_group_counter(b.g, HAQ_COUNTER_RETRIES, &retries);
	fprintf(stderr, "%s burst: %llu x -ENOBUFS, %d writable, %llu retries, "
		"%d dispatches\n", l.kind->name, (unsigned long long)b.enobufs,
		b.writable, (unsigned long long)retries, disp.calls);
	/* Each -ENOBUFS was answered by one writable callback. */
	ck_assert_uint_gt(b.enobufs, 1);
	ck_assert_uint_eq((uint64_t)b.writable, b.enobufs);
	/* corosync pushed back, and the retry timer took it from there. */
	ck_assert_uint_gt(retries, 0);
	ck_assert_int_eq(disp.errors, 0);
	watch_detach(&w);
	haq_ctx_free(ctx);
	loop_free(&l);
}
END_TEST

/*
 * Level-triggered: a backlog that one dispatch cannot take (its work is
 * bounded) is taken by the dispatches that follow while the fd stays
 * readable, with no new event to wake the loop.
 */
struct backlog {
	uint64_t n; /* delivered, each the expected next one */
	uint64_t total;
};

static void
backlog_on_message(haq_group_t *g, uint32_t nodeid, uint32_t pid,
		   const void *data, size_t len, void *ud)
{
	struct backlog *b = ud;
	uint64_t v;

	ck_assert_uint_eq(len, sizeof(v));
	memcpy(&v, data, sizeof(v));
	ck_assert_uint_eq(v, b->n + 1);
	b->n++;
}

static bool
backlog_done(void *arg)
{
	struct backlog *b = arg;

	return b->n == b->total;
}

START_TEST(test_backlog_while_readable)
{
	struct loop l;
	struct member m;
	struct backlog b = {.total = 2000};
	char name[64];
	int calls;

	loop_new(&l, _i);
	unique_group(name, sizeof(name), "adapter-backlog");
	member_join(&m, &l, 1, name);
	ck_assert(run_until(&l, 10000, has_view, &m));
	haq_group_set_message_cb(m.g, backlog_on_message, &b);
	for (uint64_t k = 1; k <= b.total; k++) {
		ck_assert_int_eq(haq_group_send(m.g, &k, sizeof(k)), 0);
	}
	/* Let them all come back before the loop runs again. */
	ck_assert(fd_readable(m.ctx, 5000));
	usleep(500 * 1000);
	calls = disp.calls;
	ck_assert_msg(run_until(&l, 10000, backlog_done, &b),
		      "%s: %llu of %llu delivered in %d dispatches",
		      l.kind->name, (unsigned long long)b.n,
		      (unsigned long long)b.total, disp.calls - calls);
	fprintf(stderr, "%s backlog: %llu messages in %d dispatches\n",
		l.kind->name, (unsigned long long)b.total, disp.calls - calls);
	/* Bounded work per dispatch: it took several. */
	ck_assert_int_gt(disp.calls - calls, 1);
	ck_assert_int_eq(disp.errors, 0);
	member_free(&m);
	loop_free(&l);
}
END_TEST

/*
 * A failing dispatch stops the watch (no spinning on a readable fd that
 * nobody drains), the watch stays attached until detached, and the context
 * attached again works.
 */
START_TEST(test_dispatch_error_stops_watching)
{
	struct loop l;
	struct member m;
	char name[64];
	uint64_t one = 1;
	int calls;

	loop_new(&l, _i);
	unique_group(name, sizeof(name), "adapter-err");
	member_join(&m, &l, 1, name);
	ck_assert(run_until(&l, 10000, has_view, &m));
	ck_assert(l.kind->watching(&m.w));
	ck_assert_int_eq(disp.errors, 0);

	disp.fail_with = -ECHILD;
	ck_assert_int_eq(haq_group_send(m.g, &one, sizeof(one)), 0);
	ck_assert(fd_readable(m.ctx, 5000));
	l.kind->iterate(&l, false);
	ck_assert_int_eq(disp.errors, 1);
	ck_assert_msg(!l.kind->watching(&m.w), "%s: still watching",
		      l.kind->name);
	/* The message waits behind the fd; the loop leaves it alone. */
	calls = disp.calls;
	for (int i = 0; i < 10; i++) {
		l.kind->iterate(&l, true);
	}
	ck_assert(fd_readable(m.ctx, 0));
	ck_assert_int_eq(disp.calls, calls);
	ck_assert_uint_eq(m.n, 0);

	/* Still attached: detach works; attached again, it goes on. */
	disp.fail_with = 0;
	watch_detach(&m.w);
	watch_attach(&m.w, &l, m.ctx);
	ck_assert(run_until(&l, 10000, has_messages, &m));
	ck_assert_uint_eq(m.n, 1);
	ck_assert_uint_eq(m.val[0], 1);
	ck_assert_int_eq(disp.errors, 1);
	member_free(&m);
	loop_free(&l);
}
END_TEST

/*
 * A forked child: attaching the parent's context to a fresh loop gives
 * -ECHILD; going on with the parent's loop, the adapter meets -ECHILD once
 * and stops (sd-event refuses the loop itself). The parent is untouched.
 */
START_TEST(test_forked_child)
{
	struct loop l;
	struct member m;
	char name[64];
	pid_t pid;
	int status;

	loop_new(&l, _i);
	unique_group(name, sizeof(name), "adapter-fork");
	member_join(&m, &l, 1, name);
	/* Events are waiting (the join's view) when the child starts. */
	ck_assert(fd_readable(m.ctx, 10000));
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct loop fresh;
		struct watch w = {.l = &fresh};
		int rc;

		memset(&fresh, 0, sizeof(fresh));
		fresh.kind = l.kind;
		fresh.kind->init(&fresh);
		rc = fresh.kind->attach(&w, &fresh, m.ctx);
		if (rc != -ECHILD) {
			fprintf(stderr, "child: attach gave %d\n", rc);
			_exit(1);
		}
		_exit(l.kind->child_goes_on(&l, &m.w) == 0 ? 0 : 2);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "%s: the child found otherwise (status %d)", l.kind->name,
		      status);
	ck_assert(run_until(&l, 10000, has_view, &m));
	ck_assert_int_eq(disp.errors, 0);
	member_free(&m);
	loop_free(&l);
}
END_TEST

/* From inside a callback: detach, then free the context (deferred). */
struct freer {
	struct watch *w;
	haq_ctx_t *ctx;
	int views;
	int calls_then;
};

static void
freer_on_view(haq_group_t *g, const haq_view_t *v, void *ud)
{
	struct freer *f = ud;

	f->views++;
	ck_assert_int_eq(f->w->l->kind->detach(f->w), 0);
	haq_ctx_free(f->ctx);
	f->calls_then = disp.calls;
}

static bool
freer_done(void *arg)
{
	return ((struct freer *)arg)->views > 0;
}

START_TEST(test_detach_and_free_inside_callback)
{
	struct loop l;
	struct watch w;
	struct freer f = {.w = &w};
	haq_group_t *g;
	char name[64];
	uint64_t end;

	loop_new(&l, _i);
	unique_group(name, sizeof(name), "adapter-free");
	cluster_enter_node(1);
	ck_assert_int_eq(haq_ctx_new(&f.ctx, NULL), 0);
	watch_attach(&w, &l, f.ctx);
	ck_assert_int_eq(haq_group_join(f.ctx, name, &g), 0);
	haq_group_set_view_cb(g, freer_on_view, &f);
	ck_assert_int_eq(haq_group_send(g, "x", 1), 0);
	ck_assert(run_until(&l, 10000, freer_done, &f));
	/* The loop runs on without it: no dispatch, nothing touched. */
	end = test_now_ms() + 200;
	while (test_now_ms() < end) {
		l.kind->iterate(&l, true);
	}
	ck_assert_int_eq(f.views, 1);
	ck_assert_int_eq(disp.calls, f.calls_then);
	ck_assert_int_eq(disp.errors, 0);
	loop_free(&l);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Arguments, per adapter                                             */
/* ------------------------------------------------------------------ */

#ifdef HAQ_TEST_GLIB
START_TEST(test_glib_arguments)
{
	GMainContext *mc = g_main_context_new();
	haq_ctx_t *ctx;
	guint id = 7;

	cluster_enter_node(1);
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	ck_assert_int_eq(haq_glib_attach(NULL, mc, &id), -EINVAL);
	ck_assert_int_eq(haq_glib_attach(ctx, mc, NULL), -EINVAL);
	ck_assert_uint_eq(id, 7);
	ck_assert_int_eq(haq_glib_detach(mc, 0), -EINVAL);
	ck_assert_int_eq(haq_glib_attach(ctx, mc, &id), 0);
	ck_assert_uint_ne(id, 0);
	ck_assert_int_eq(haq_glib_detach(mc, id), 0);
	ck_assert_int_eq(haq_glib_detach(mc, id), -ENOENT);
	/* NULL is the default context, as everywhere in GLib. */
	ck_assert_int_eq(haq_glib_attach(ctx, NULL, &id), 0);
	ck_assert_ptr_nonnull(
		g_main_context_find_source_by_id(g_main_context_default(), id));
	ck_assert_int_eq(haq_glib_detach(mc, id), -ENOENT);
	ck_assert_int_eq(haq_glib_detach(NULL, id), 0);
	g_main_context_unref(mc);
	haq_ctx_free(ctx);
}
END_TEST
#endif

#ifdef HAQ_TEST_SDEVENT
START_TEST(test_sdevent_arguments)
{
	sd_event *e;
	sd_event_source *s = (sd_event_source *)0x1;
	sd_event_source *s2 = (sd_event_source *)0x1;
	haq_ctx_t *ctx;

	cluster_enter_node(1);
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	ck_assert_int_eq(sd_event_new(&e), 0);
	ck_assert_int_eq(haq_sdevent_attach(NULL, e, &s), -EINVAL);
	ck_assert_int_eq(haq_sdevent_attach(ctx, NULL, &s), -EINVAL);
	ck_assert_int_eq(haq_sdevent_attach(ctx, e, NULL), -EINVAL);
	ck_assert_ptr_eq(s, (sd_event_source *)0x1);
	ck_assert_int_eq(haq_sdevent_detach(NULL), -EINVAL);
	ck_assert_int_eq(haq_sdevent_attach(ctx, e, &s), 0);
	ck_assert_int_eq(haq_sdevent_attach(ctx, e, &s2), -EEXIST);
	ck_assert_ptr_eq(s2, (sd_event_source *)0x1);
	ck_assert_int_eq(haq_sdevent_detach(s), 0);
	sd_event_unref(e);
	haq_ctx_free(ctx);
}
END_TEST
#endif

#ifdef HAQ_TEST_UV
START_TEST(test_uv_arguments)
{
	uv_loop_t loop;
	uv_poll_t h;
	uv_poll_t h2;
	haq_ctx_t *ctx;

	cluster_enter_node(1);
	ck_assert_int_eq(haq_ctx_new(&ctx, NULL), 0);
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	ck_assert_int_eq(haq_uv_attach(NULL, &loop, &h), -EINVAL);
	ck_assert_int_eq(haq_uv_attach(ctx, NULL, &h), -EINVAL);
	ck_assert_int_eq(haq_uv_attach(ctx, &loop, NULL), -EINVAL);
	ck_assert_int_eq(haq_uv_detach(NULL, NULL), -EINVAL);
	ck_assert_int_eq(haq_uv_attach(ctx, &loop, &h), 0);
	ck_assert_int_eq(haq_uv_attach(ctx, &loop, &h2), -EEXIST);
	ck_assert_int_eq(haq_uv_detach(&h, NULL), 0);
	ck_assert_int_eq(haq_uv_detach(&h, NULL), -EALREADY);
	ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	ck_assert_int_eq(haq_uv_detach(&h, NULL), -EALREADY);
	/* Closed, the handle can be attached again. */
	ck_assert_int_eq(haq_uv_attach(ctx, &loop, &h), 0);
	ck_assert_int_eq(haq_uv_detach(&h, NULL), 0);
	ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	haq_ctx_free(ctx);
}
END_TEST
#endif

/* ------------------------------------------------------------------ */

/* Say which adapters cannot be tested here; returns how many. */
static int
report_missing(void)
{
	int missing = 0;

#ifndef HAQ_TEST_GLIB
	fprintf(stderr, "check_adapters: the GLib adapter is not tested: "
			"configure found no glib-2.0 >= 2.36 (Debian: "
			"libglib2.0-dev)\n");
	missing++;
#endif
#ifndef HAQ_TEST_SDEVENT
	fprintf(stderr, "check_adapters: the sd-event adapter is not tested: "
			"configure found no libsystemd >= 243 (Debian: "
			"libsystemd-dev)\n");
	missing++;
#endif
#ifndef HAQ_TEST_UV
	fprintf(stderr, "check_adapters: the libuv adapter is not tested: "
			"configure found no libuv (Debian: libuv1-dev)\n");
	missing++;
#endif
	return missing;
}

static void
add_loop_tcase(Suite *s, const char *name, const TTest *fn, int timeout)
{
	TCase *tc = tcase_create(name);

	tcase_add_loop_test(tc, fn, 0, nkinds);
	tcase_set_timeout(tc, timeout);
	suite_add_tcase(s, tc);
}

#define ADD_LOOP_TCASE(s, fn, timeout) add_loop_tcase((s), #fn, (fn), (timeout))

int
main(void)
{
	Suite *s = suite_create("adapters");
	int missing = report_missing();

	if (missing) {
#ifdef HAQ_REQUIRE_ADAPTER_TESTS
		fprintf(stderr, "check_adapters: FAIL: configure had "
				"--enable-adapter-tests, which needs every "
				"adapter tested: install the package(s) named "
				"above (bash .ci/install-deps) and configure "
				"again\n");
		return EXIT_FAILURE;
#else
		fprintf(stderr, "check_adapters: %s (configure "
				"--enable-adapter-tests makes this a failure)\n",
			nkinds ? "testing the others" : "nothing to test: SKIP");
#endif
	}
	if (nkinds == 0) {
		return 77; /* automake's SKIP */
	}
	ADD_LOOP_TCASE(s, test_messages_and_views, 60);
	ADD_LOOP_TCASE(s, test_burst_beyond_queue_limit, 180);
	ADD_LOOP_TCASE(s, test_backlog_while_readable, 60);
	ADD_LOOP_TCASE(s, test_dispatch_error_stops_watching, 60);
	ADD_LOOP_TCASE(s, test_forked_child, 60);
	ADD_LOOP_TCASE(s, test_detach_and_free_inside_callback, 60);
#ifdef HAQ_TEST_GLIB
	ADD_TCASE(s, test_glib_arguments, 30);
#endif
#ifdef HAQ_TEST_SDEVENT
	ADD_TCASE(s, test_sdevent_arguments, 30);
#endif
#ifdef HAQ_TEST_UV
	ADD_TCASE(s, test_uv_arguments, 30);
#endif
	return run_suite(s);
}
