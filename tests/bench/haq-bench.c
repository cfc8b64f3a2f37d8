/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * haq-bench - measure libhaq against a plain libcpg client on a real
 * corosync cluster.
 *
 * One process runs on each node of the cluster (tests/bench/run-bench
 * starts them with the harness). All of them join one group through the
 * chosen backend:
 *
 *   haq  libhaq: haq_ctx_new() without a loop, haq_ctx_fd() polled, one
 *        haq_ctx_dispatch() per wakeup, haq_group_send() until -ENOBUFS,
 *        then the writable callback. Messages of more than one frame
 *        (above HAQ_ZC_MIN) go out with haq_group_send_zc() from buffers
 *        the benchmark keeps until libhaq gives them back (--copy: with
 *        haq_group_send(), which copies them first).
 *   raw  libcpg as a careful user writes it: cpg_model_initialize(),
 *        cpg_join(), cpg_mcast_joined(CPG_TYPE_AGREED); on
 *        CS_ERR_TRY_AGAIN, poll the cpg fd (up to 1 ms), dispatch what is
 *        pending with cpg_dispatch(CS_DISPATCH_ALL) and retry. Messages above
 *        1,047,552 bytes go through libcpg's own fragmentation, which blocks
 *        and sleeps 10 ms whenever corosync pushes back.
 *
 * Both backends run the same loop, driven by the same events:
 *   - once the view has --nodes members, the lowest member sends GO; every
 *     member starts its clock when GO is delivered (one agreed instant);
 *   - senders (the lowest member, or all with --all) send --count messages
 *     of --size bytes, --batch at a time between two polls of the fd;
 *   - a member that has delivered every expected message stops its clock
 *     and sends DONE; it leaves once every member's DONE is delivered.
 * In latency mode the lowest member keeps one message in flight and times
 * each round trip to its own delivery.
 *
 * Each process prints one RESULT line of key=value pairs, the same keys for
 * both backends. Every send and dispatch call is timed: max_send_us and
 * max_dispatch_us are the longest the loop was blocked inside one call;
 * with -C also in thread CPU time (*_cpu_us) and in wall time minus the
 * time the thread waited for a core (*_held_us, from schedstat).
 * The binary counts heap allocations (malloc-count.c) so that
 * allocs_per_msg is measured at native speed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <corosync/corotypes.h>
#include <corosync/cpg.h>

#include <haq/haq.h>

#include "malloc-count.h"

#define PROG "haq-bench"

/* First bytes of every benchmark message: kind, then a sequence number. */
#define BENCH_MAGIC 0x48514231u /* "1BQH" */
enum msg_kind {
	MSG_GO = 1,
	MSG_DATA = 2,
	MSG_DONE = 3,
};
struct msg_hdr {
	uint32_t magic;
	uint32_t kind;
	uint64_t seq;
};

/*
 * libhaq sends messages above one frame (1,047,552 bytes less its 24-byte
 * header) in fragments: from this size on the benchmark lends it buffers.
 */
#define HAQ_ZC_MIN (1047552u - 24u + 1u)
/* Lent buffers kept for reuse at most. */
#define ZC_POOL_MAX 64

enum mode {
	MODE_TPUT = 1,
	MODE_LAT,
};

struct opts {
	const char *backend;
	enum mode mode;
	const char *group;
	size_t size;
	uint64_t count;
	uint64_t warmup;
	int nodes;
	bool all;
	unsigned int batch; /* 0: no limit */
	size_t queue_limit; /* libhaq: 0 keeps the default */
	long bundle;        /* libhaq: bundle bound, -1 keeps the default */
	size_t compress;    /* libhaq: compression threshold, 0 off */
	const char *payload; /* fill (0xa5), json (state-like text), random */
	bool no_timing;
	bool cpu_timing; /* also time each call in thread CPU time */
	int timeout_s;
	int retry_ms; /* raw: poll timeout after CS_ERR_TRY_AGAIN */
	bool copy;    /* haq: no lent buffers, haq_group_send() always */
};

struct bench;

struct backend {
	const char *name;
	int (*open)(struct bench *b);
	int (*fd)(struct bench *b);
	/* Run pending callbacks; < 0 on a fatal error. */
	int (*dispatch)(struct bench *b);
	/* 0 sent or accepted, -EAGAIN pushed back, < 0 fatal. */
	int (*send)(struct bench *b, const void *buf, size_t len);
	void (*close)(struct bench *b);
};

struct bench {
	struct opts o;
	const struct backend *be;
	uint32_t nodeid;
	uint32_t pid;

	/* Membership. */
	int members;
	bool lowest; /* this process is the lowest (nodeid, pid) member */
	int members_at_go;
	bool is_sender;

	/* Protocol state. */
	bool go_sent;
	bool go_pending;
	bool started;
	bool done_pending;
	bool done_sent;
	int dones;
	bool finished;
	bool blocked;	    /* pushed back: wait (raw) or writable (haq) */
	uint64_t sent;	    /* data messages accepted */
	uint64_t to_send;   /* data messages this process sends */
	uint64_t expected;  /* data messages to deliver */
	uint64_t delivered; /* data messages delivered */
	uint64_t self_delivered;
	uint64_t retries; /* pushed-back send attempts */
	uint8_t *buf;
	/* haq, large messages: buffers lent with haq_group_send_zc(). */
	bool zc;
	uint8_t *zc_free[ZC_POOL_MAX];
	int zc_nfree;

	/* Latency. */
	bool in_flight;
	uint64_t lat_sent_ns;
	uint64_t *lat;
	uint64_t nlat;

	/* Measurements. */
	uint64_t t0;
	uint64_t t1;
	uint64_t allocs0;
	uint64_t allocs1;
	uint64_t allocs_mid; /* at half the expected deliveries */
	uint64_t delivered_mid;
	uint64_t max_send_ns;
	uint64_t max_dispatch_ns;
	uint64_t max_send_cpu_ns;
	uint64_t max_dispatch_cpu_ns;
	uint64_t max_send_held_ns;     /* wall minus waits for a core */
	uint64_t max_dispatch_held_ns;
	int schedstat_fd;              /* /proc/thread-self/schedstat, or -1 */
	long rss_base_kb;
	uint64_t heap_base;
	const char *error;

	/* Backend state. */
	haq_ctx_t *ctx;
	haq_group_t *group;
	cpg_handle_t cpg;
	int cpg_fd;
	bool cpg_valid;
};

static volatile sig_atomic_t interrupted;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* CPU time of this thread: what a call cost, without preemption. */
static uint64_t
cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static long
rss_now_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f) {
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kb = strtol(line + 6, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

/* ---------------------------------------------------------------- */
/* Events common to both backends                                   */
/* ---------------------------------------------------------------- */

static void
on_view(struct bench *b, int members, bool lowest)
{
	b->members = members;
	b->lowest = lowest;
	if (!b->go_sent && lowest && members >= b->o.nodes) {
		b->go_pending = true;
	}
}

static void
start(struct bench *b)
{
	b->started = true;
	b->members_at_go = b->members;
	b->is_sender = b->o.all || b->lowest;
	if (b->o.mode == MODE_LAT) {
		b->is_sender = b->lowest;
		b->expected = b->o.count + b->o.warmup;
	} else {
		b->expected = b->o.count *
			      (uint64_t)(b->o.all ? b->members_at_go : 1);
	}
	b->to_send = b->is_sender ? b->o.count : 0;
	if (b->o.mode == MODE_LAT && b->is_sender) {
		b->to_send += b->o.warmup;
	}
	b->rss_base_kb = rss_now_kb();
	b->heap_base = bench_heap_live();
	bench_heap_peak_reset();
	b->allocs0 = bench_alloc_count();
	if (getenv("HAQ_BENCH_ALLOC_TRACE")) {
		bench_alloc_trace(1);
	}
	b->t0 = now_ns();
	if (b->expected == 0) {
		b->t1 = b->t0;
		b->done_pending = true;
	}
}

static void
on_message(struct bench *b, uint32_t nodeid, uint32_t pid, const void *data,
	   size_t len)
{
	struct msg_hdr h;
	bool self = nodeid == b->nodeid && pid == b->pid;

	if (len < sizeof(h)) {
		b->error = "short message";
		return;
	}
	memcpy(&h, data, sizeof(h));
	if (h.magic != BENCH_MAGIC) {
		b->error = "foreign message";
		return;
	}
	switch (h.kind) {
	case MSG_GO:
		if (!b->started) {
			start(b);
		}
		break;
	case MSG_DATA:
		if (!b->started) {
			b->error = "data before GO";
			return;
		}
		if (len != b->o.size) {
			b->error = "wrong message size";
			return;
		}
		b->delivered++;
		if (b->delivered == (b->expected + 1) / 2) {
			/*
			 * Allocations are also counted from here on: the second
			 * half of a run is steady state (caches warm, a queue
			 * filled once already).
			 */
			b->allocs_mid = bench_alloc_count();
			b->delivered_mid = b->delivered;
		}
		if (self) {
			b->self_delivered++;
			if (b->o.mode == MODE_LAT && b->in_flight) {
				uint64_t rtt = now_ns() - b->lat_sent_ns;

				b->in_flight = false;
				/* -T (callgrind): keep the loop the same. */
				if (h.seq > b->o.warmup && !b->o.no_timing) {
					b->lat[b->nlat++] = rtt;
				}
			}
		}
		if (b->delivered == b->expected) {
			b->t1 = now_ns();
			b->allocs1 = bench_alloc_count();
			bench_alloc_trace(0);
			b->done_pending = true;
		}
		break;
	case MSG_DONE:
		b->dones++;
		if (b->started && b->dones >= b->members_at_go) {
			b->finished = true;
		}
		break;
	default:
		b->error = "unknown message kind";
		break;
	}
}

/* ---------------------------------------------------------------- */
/* libhaq backend                                                   */
/* ---------------------------------------------------------------- */

static void
haq_message(haq_group_t *g, uint32_t nodeid, uint32_t pid, const void *data,
	    size_t len, void *ud)
{
	(void)g;
	on_message(ud, nodeid, pid, data, len);
}

static void
haq_view(haq_group_t *g, const haq_view_t *v, void *ud)
{
	struct bench *b = ud;
	uint32_t nodeid = 0;
	uint32_t pid = 0;
	size_t n = haq_view_member_count(v);

	(void)g;
	if (n) {
		haq_view_member(v, 0, &nodeid, &pid);
	}
	on_view(b, (int)n, nodeid == b->nodeid && pid == b->pid);
}

static void
haq_writable(haq_group_t *g, void *ud)
{
	struct bench *b = ud;

	(void)g;
	b->blocked = false;
}

static void
haq_log(haq_ctx_t *ctx, int priority, const char *message, void *ud)
{
	(void)ctx;
	(void)ud;
	if (priority <= HAQ_LOG_WARNING) {
		fprintf(stderr, PROG ": libhaq: %s\n", message);
	}
}

static int
haq_open(struct bench *b)
{
	int rc;

	rc = haq_ctx_new(&b->ctx, NULL);
	if (rc < 0) {
		fprintf(stderr, PROG ": haq_ctx_new: %s\n", haq_strerror(rc));
		return rc;
	}
	haq_ctx_set_log(b->ctx, haq_log, b);
	haq_ctx_local_nodeid(b->ctx, &b->nodeid);
	rc = haq_group_join(b->ctx, b->o.group, &b->group);
	if (rc < 0) {
		fprintf(stderr, PROG ": haq_group_join: %s\n",
			haq_strerror(rc));
		return rc;
	}
	if (b->o.queue_limit) {
		if (b->o.queue_limit < HAQ_MESSAGE_MAX_DEFAULT) {
			haq_group_set_max_message(b->group, b->o.queue_limit);
		}
		rc = haq_group_set_queue_limit(b->group, b->o.queue_limit);
		if (rc < 0) {
			fprintf(stderr,
				PROG ": haq_group_set_queue_limit: %s\n",
				haq_strerror(rc));
			return rc;
		}
	}
	if (b->o.compress) {
		rc = haq_group_set_compress(b->group, b->o.compress);
		if (rc < 0) {
			fprintf(stderr, PROG ": haq_group_set_compress: %s\n",
				haq_strerror(rc));
			return rc;
		}
	}
	if (b->o.bundle >= 0) {
		rc = haq_group_set_bundle(b->group, (size_t)b->o.bundle);
		if (rc < 0) {
			fprintf(stderr, PROG ": haq_group_set_bundle: %s\n",
				haq_strerror(rc));
			return rc;
		}
	}
	haq_group_set_message_cb(b->group, haq_message, b);
	haq_group_set_view_cb(b->group, haq_view, b);
	haq_group_set_writable_cb(b->group, haq_writable, b);
	return 0;
}

static int
haq_fd(struct bench *b)
{
	return haq_ctx_fd(b->ctx);
}

static int
haq_dispatch(struct bench *b)
{
	int rc = haq_ctx_dispatch(b->ctx);

	return rc < 0 ? rc : 0;
}

/* libhaq no longer needs a lent buffer: keep it for the next message. */
static void
zc_release(void *data, void *ud)
{
	struct bench *b = ud;

	if (b->zc_nfree < ZC_POOL_MAX) {
		b->zc_free[b->zc_nfree++] = data;
	} else {
		free(data);
	}
}

/*
 * The payload of every message: 0xa5 bytes (the default), state-like JSON
 * text (resource records with ids, node names, states, scores, times and
 * attributes, varied by a PRNG; lz4 makes about a quarter of it), or
 * random bytes (incompressible).
 */
static uint64_t
xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void
payload_fill(const struct bench *b, uint8_t *p, size_t len)
{
	static const char *states[] = {"active", "standby", "failed",
				       "stopped", "promoting"};
	uint64_t x = 88172645463325252ull;
	size_t n = 0;
	unsigned int id = 0;

	if (strcmp(b->o.payload, "random") == 0) {
		for (size_t i = 0; i < len; i++) {
			p[i] = (uint8_t)xorshift(&x);
		}
		return;
	}
	if (strcmp(b->o.payload, "json") != 0) {
		memset(p, 0xa5, len);
		return;
	}
	while (n + 300 < len) {
		unsigned int node = (unsigned int)(xorshift(&x) % 16);
		const char *state = states[xorshift(&x) % 5];
		int score = (int)(xorshift(&x) % 2000) - 1000;
		unsigned long long t =
			1796313460000000ull + xorshift(&x) % 100000000ull;
		double cpu = (double)(xorshift(&x) % 100000) / 1000.0;
		unsigned long long mem = xorshift(&x) % 16000000;
		unsigned int fails = (unsigned int)(xorshift(&x) % 4);

		n += (size_t)snprintf(
			(char *)p + n, len - n,
			"{\"id\":%u,\"name\":\"rsc-%u\",\"node\":\"node%u."
			"example.net\",\"state\":\"%s\",\"score\":%d,"
			"\"last_change\":%llu,\"attrs\":{\"cpu\":%.3f,"
			"\"mem_kb\":%llu,\"fail_count\":%u}},",
			id, id, node, state, score, t, cpu, mem, fails);
		id++;
	}
	memset(p + n, ' ', len - n);
}

/* A buffer for the next large message: reused, or new and touched. */
static uint8_t *
zc_take(struct bench *b)
{
	uint8_t *p;

	if (b->zc_nfree > 0) {
		return b->zc_free[--b->zc_nfree];
	}
	p = malloc(b->o.size);
	if (p) {
		payload_fill(b, p, b->o.size);
	}
	return p;
}

static int
haq_send(struct bench *b, const void *buf, size_t len)
{
	int rc;

	if (b->zc && buf != b->buf && len == b->o.size) {
		rc = haq_group_send_zc(b->group, (void *)buf, len, zc_release,
				       b);
	} else {
		rc = haq_group_send(b->group, buf, len);
	}
	if (rc == -ENOBUFS) {
		return -EAGAIN;
	}
	return rc;
}

static void
haq_close(struct bench *b)
{
	if (b->group) {
		haq_group_leave(b->group);
	}
	haq_ctx_free(b->ctx);
}

static const struct backend haq_backend = {
	.name = "haq",
	.open = haq_open,
	.fd = haq_fd,
	.dispatch = haq_dispatch,
	.send = haq_send,
	.close = haq_close,
};

/* ---------------------------------------------------------------- */
/* Raw libcpg backend                                               */
/* ---------------------------------------------------------------- */

static struct bench *raw_bench; /* one handle per process */

static void
raw_deliver(cpg_handle_t h, const struct cpg_name *name, uint32_t nodeid,
	    uint32_t pid, void *msg, size_t len)
{
	(void)h;
	(void)name;
	on_message(raw_bench, nodeid, pid, msg, len);
}

static void
raw_confchg(cpg_handle_t h, const struct cpg_name *name,
	    const struct cpg_address *members, size_t nmembers,
	    const struct cpg_address *left, size_t nleft,
	    const struct cpg_address *joined, size_t njoined)
{
	struct bench *b = raw_bench;
	uint32_t nodeid = UINT32_MAX;
	uint32_t pid = UINT32_MAX;

	(void)h;
	(void)name;
	(void)left;
	(void)nleft;
	(void)joined;
	(void)njoined;
	for (size_t i = 0; i < nmembers; i++) {
		if (members[i].nodeid < nodeid ||
		    (members[i].nodeid == nodeid && members[i].pid < pid)) {
			nodeid = members[i].nodeid;
			pid = members[i].pid;
		}
	}
	on_view(b, (int)nmembers, nodeid == b->nodeid && pid == b->pid);
}

static int
raw_open(struct bench *b)
{
	cpg_model_v1_data_t model = {
		.model = CPG_MODEL_V1,
		.cpg_deliver_fn = raw_deliver,
		.cpg_confchg_fn = raw_confchg,
		.flags = 0,
	};
	struct cpg_name name;
	unsigned int nodeid;
	cs_error_t err;
	size_t len = strlen(b->o.group);

	raw_bench = b;
	err = cpg_model_initialize(&b->cpg, CPG_MODEL_V1,
				   (cpg_model_data_t *)&model, b);
	if (err != CS_OK) {
		fprintf(stderr, PROG ": cpg_model_initialize: error %d\n", err);
		return -ENOTCONN;
	}
	b->cpg_valid = true;
	if (cpg_fd_get(b->cpg, &b->cpg_fd) != CS_OK ||
	    cpg_local_get(b->cpg, &nodeid) != CS_OK) {
		return -ENOTCONN;
	}
	b->nodeid = nodeid;
	if (len == 0 || len > CPG_MAX_NAME_LENGTH) {
		return -EINVAL;
	}
	memcpy(name.value, b->o.group, len);
	name.length = (uint32_t)len;
	for (int i = 0; i < 10000; i++) {
		err = cpg_join(b->cpg, &name);
		if (err != CS_ERR_TRY_AGAIN) {
			break;
		}
		usleep(1000);
	}
	if (err != CS_OK) {
		fprintf(stderr, PROG ": cpg_join: error %d\n", err);
		return -ENOTCONN;
	}
	return 0;
}

static int
raw_fd(struct bench *b)
{
	return b->cpg_fd;
}

static int
raw_dispatch(struct bench *b)
{
	cs_error_t err = cpg_dispatch(b->cpg, CS_DISPATCH_ALL);

	if (err != CS_OK && err != CS_ERR_TRY_AGAIN) {
		fprintf(stderr, PROG ": cpg_dispatch: error %d\n", err);
		return -ENOTCONN;
	}
	return 0;
}

static int
raw_send(struct bench *b, const void *buf, size_t len)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	cs_error_t err = cpg_mcast_joined(b->cpg, CPG_TYPE_AGREED, &iov, 1);

	if (err == CS_OK) {
		return 0;
	}
	if (err == CS_ERR_TRY_AGAIN) {
		return -EAGAIN;
	}
	fprintf(stderr, PROG ": cpg_mcast_joined: error %d\n", err);
	return -EIO;
}

static void
raw_close(struct bench *b)
{
	if (b->cpg_valid) {
		cpg_finalize(b->cpg);
	}
}

static const struct backend raw_backend = {
	.name = "raw",
	.open = raw_open,
	.fd = raw_fd,
	.dispatch = raw_dispatch,
	.send = raw_send,
	.close = raw_close,
};

/* ---------------------------------------------------------------- */
/* The loop                                                         */
/* ---------------------------------------------------------------- */

/*
 * Time this thread spent runnable but waiting for a core
 * (/proc/thread-self/schedstat, second field), or 0 without it.
 */
static uint64_t
run_delay_ns(const struct bench *b)
{
	char buf[96];
	ssize_t n;
	unsigned long long on_cpu, delay;

	if (b->schedstat_fd < 0) {
		return 0;
	}
	n = pread(b->schedstat_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0) {
		return 0;
	}
	buf[n] = '\0';
	if (sscanf(buf, "%llu %llu", &on_cpu, &delay) != 2) {
		return 0;
	}
	return delay;
}

/* One call's clocks: wall, and with -C thread CPU and waits for a core. */
struct call_clock {
	uint64_t wall;
	uint64_t cpu;
	uint64_t delay;
};

static void
call_start(const struct bench *b, struct call_clock *c)
{
	if (b->o.cpu_timing) {
		c->cpu = cpu_ns();
		c->delay = run_delay_ns(b);
	}
	c->wall = now_ns();
}

static void
call_end(const struct bench *b, struct call_clock *c, uint64_t *max_wall,
	 uint64_t *max_cpu, uint64_t *max_held)
{
	uint64_t wall = now_ns() - c->wall;

	if (wall > *max_wall) {
		*max_wall = wall;
	}
	if (b->o.cpu_timing) {
		uint64_t cpu = cpu_ns() - c->cpu;
		uint64_t delay = run_delay_ns(b) - c->delay;
		/* The clocks are read at different instants: never below 0. */
		uint64_t held = wall > delay ? wall - delay : 0;

		if (cpu > *max_cpu) {
			*max_cpu = cpu;
		}
		if (held > *max_held) {
			*max_held = held;
		}
	}
}

static int
timed_send(struct bench *b, const void *buf, size_t len)
{
	struct call_clock c;
	int rc;

	if (b->o.no_timing) {
		rc = b->be->send(b, buf, len);
	} else {
		call_start(b, &c);
		rc = b->be->send(b, buf, len);
		call_end(b, &c, &b->max_send_ns, &b->max_send_cpu_ns,
			 &b->max_send_held_ns);
	}
	if (rc == -EAGAIN) {
		b->retries++;
		b->blocked = true;
	}
	return rc;
}

static int
timed_dispatch(struct bench *b)
{
	struct call_clock c;
	int rc;

	if (b->o.no_timing) {
		return b->be->dispatch(b);
	}
	call_start(b, &c);
	rc = b->be->dispatch(b);
	call_end(b, &c, &b->max_dispatch_ns, &b->max_dispatch_cpu_ns,
		 &b->max_dispatch_held_ns);
	return rc;
}

static int
send_control(struct bench *b, uint32_t kind)
{
	struct msg_hdr h = {.magic = BENCH_MAGIC, .kind = kind};
	uint8_t small[64];

	memset(small, 0, sizeof(small));
	memcpy(small, &h, sizeof(h));
	return timed_send(b, small, sizeof(small));
}

static int
send_data(struct bench *b)
{
	struct msg_hdr h = {
		.magic = BENCH_MAGIC,
		.kind = MSG_DATA,
		.seq = b->sent + 1,
	};
	uint8_t *buf = b->zc ? zc_take(b) : b->buf;
	int rc;

	if (!buf) {
		b->error = "out of memory";
		return -ENOMEM;
	}
	memcpy(buf, &h, sizeof(h));
	if (b->o.mode == MODE_LAT) {
		b->lat_sent_ns = now_ns();
		b->in_flight = true;
	}
	rc = timed_send(b, buf, b->o.size);
	if (rc == 0) {
		b->sent++;
	} else {
		if (b->o.mode == MODE_LAT) {
			b->in_flight = false;
		}
		if (b->zc) {
			/* Refused: still ours, for the next attempt. */
			zc_release(buf, b);
		}
	}
	return rc;
}

/* Send what the protocol asks for now. Returns < 0 on a fatal error. */
static int
pump(struct bench *b)
{
	unsigned int n = 0;
	int rc;

	if (b->go_pending && !b->blocked) {
		rc = send_control(b, MSG_GO);
		if (rc == 0) {
			b->go_pending = false;
			b->go_sent = true;
		} else if (rc != -EAGAIN) {
			return rc;
		}
	}
	while (b->started && b->is_sender && b->sent < b->to_send &&
	       !b->blocked) {
		if (b->o.mode == MODE_LAT && b->in_flight) {
			break;
		}
		if (b->o.batch && n >= b->o.batch) {
			break;
		}
		rc = send_data(b);
		if (rc < 0 && rc != -EAGAIN) {
			return rc;
		}
		n++;
	}
	if (b->done_pending && !b->blocked) {
		rc = send_control(b, MSG_DONE);
		if (rc == 0) {
			b->done_pending = false;
			b->done_sent = true;
		} else if (rc != -EAGAIN) {
			return rc;
		}
	}
	return 0;
}

static bool
want_send(const struct bench *b)
{
	if (b->go_pending || b->done_pending) {
		return true;
	}
	if (!b->started || !b->is_sender || b->sent >= b->to_send) {
		return false;
	}
	return !(b->o.mode == MODE_LAT && b->in_flight);
}

static int
run(struct bench *b)
{
	bool raw = b->be == &raw_backend;
	uint64_t deadline = now_ns() + (uint64_t)b->o.timeout_s * 1000000000ull;
	struct pollfd p = {.fd = b->be->fd(b), .events = POLLIN};
	int rc;

	while (!b->finished) {
		int timeout;

		if (interrupted) {
			b->error = "interrupted";
			return -EINTR;
		}
		if (b->error) {
			return -EPROTO;
		}
		if (now_ns() > deadline) {
			b->error = "timeout";
			return -ETIMEDOUT;
		}
		rc = pump(b);
		if (rc < 0) {
			b->error = "send failed";
			return rc;
		}
		if (b->blocked) {
			/*
			 * raw: wait up to retry_ms for an event, dispatch it,
			 * retry. libhaq: wait for the writable callback.
			 */
			timeout = raw ? b->o.retry_ms : 100;
		} else if (want_send(b)) {
			timeout = 0;
		} else {
			timeout = 100;
		}
		rc = poll(&p, 1, timeout);
		if (rc < 0 && errno != EINTR) {
			b->error = "poll failed";
			return -errno;
		}
		if (rc > 0) {
			if ((p.revents & (POLLHUP | POLLERR)) &&
			    !(p.revents & POLLIN)) {
				b->error = "corosync connection lost";
				return -ENOTCONN;
			}
			rc = timed_dispatch(b);
			if (rc < 0) {
				b->error = "dispatch failed";
				return rc;
			}
		}
		if (raw) {
			b->blocked = false;
		}
	}
	return 0;
}

static int
cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x;
	uint64_t c = *(const uint64_t *)y;

	return (a > c) - (a < c);
}

static double
pct_us(const uint64_t *v, uint64_t n, double pct)
{
	uint64_t i;

	if (n == 0) {
		return -1;
	}
	/* Nearest rank. */
	i = (uint64_t)(pct / 100.0 * (double)n + 0.999999);
	if (i < 1) {
		i = 1;
	}
	if (i > n) {
		i = n;
	}
	return (double)v[i - 1] / 1000.0;
}

static void
report(struct bench *b, int status)
{
	struct rusage ru;
	uint64_t try_again = 0;
	uint64_t bundled = 0;
	uint64_t compressed = 0;
	double secs = b->t1 > b->t0 ? (double)(b->t1 - b->t0) / 1e9 : 0;
	double rate = secs > 0 ? (double)b->delivered / secs : 0;
	double allocs = b->delivered && b->allocs1 >= b->allocs0
				? (double)(b->allocs1 - b->allocs0) /
					  (double)b->delivered
				: -1;
	double allocs_ss =
		b->delivered > b->delivered_mid &&
				b->allocs1 >= b->allocs_mid && b->delivered_mid
			? (double)(b->allocs1 - b->allocs_mid) /
				  (double)(b->delivered - b->delivered_mid)
			: -1;

	/*
	 * retries: CS_ERR_TRY_AGAIN answers of corosync, counted by libhaq
	 * for haq and by the loop for raw; pushback: sends the caller had to
	 * repeat (raw: the same TRY_AGAIN; haq: -ENOBUFS).
	 */
	if (b->be == &haq_backend && b->group) {
		haq_group_counter(b->group, HAQ_COUNTER_RETRIES, &try_again);
		haq_group_counter(b->group, HAQ_COUNTER_BUNDLED, &bundled);
		haq_group_counter(b->group, HAQ_COUNTER_COMPRESSED,
				  &compressed);
	} else {
		try_again = b->retries;
	}
	getrusage(RUSAGE_SELF, &ru);
	if (b->nlat) {
		qsort(b->lat, b->nlat, sizeof(*b->lat), cmp_u64);
	}
	printf("RESULT backend=%s mode=%s nodes=%d members=%d senders=%s "
	       "size=%zu count=%" PRIu64 " batch=%u nodeid=%" PRIu32
	       " role=%s secs=%.6f msgs_s=%.1f MB_s=%.3f delivered=%" PRIu64
	       " sent=%" PRIu64 " bundled=%" PRIu64 " compressed=%" PRIu64
	       " retries=%" PRIu64
	       " pushback=%" PRIu64
	       " lat_n=%" PRIu64 " lat_p50_us=%.1f lat_p99_us=%.1f"
	       " lat_max_us=%.1f max_send_us=%.1f max_dispatch_us=%.1f"
	       " max_send_cpu_us=%.1f max_dispatch_cpu_us=%.1f"
	       " max_send_held_us=%.1f max_dispatch_held_us=%.1f"
	       " allocs_per_msg=%.4f allocs_per_msg_2nd_half=%.4f"
	       " rss_base_kb=%ld rss_peak_kb=%ld"
	       " heap_base_kb=%.1f heap_peak_kb=%.1f"
	       " cpu_s=%.3f status=%s\n",
	       b->be->name, b->o.mode == MODE_LAT ? "lat" : "tput", b->o.nodes,
	       b->members_at_go, b->o.all ? "all" : "one", b->o.size,
	       b->o.count, b->o.batch, b->nodeid,
	       b->is_sender ? "sender" : "receiver", secs, rate,
	       rate * (double)b->o.size / 1e6, b->delivered, b->sent, bundled,
	       compressed,
	       try_again,
	       b->retries, b->nlat, pct_us(b->lat, b->nlat, 50),
	       pct_us(b->lat, b->nlat, 99),
	       b->nlat ? (double)b->lat[b->nlat - 1] / 1000.0 : -1,
	       (double)b->max_send_ns / 1000.0,
	       (double)b->max_dispatch_ns / 1000.0,
	       b->o.cpu_timing ? (double)b->max_send_cpu_ns / 1000.0 : -1,
	       b->o.cpu_timing ? (double)b->max_dispatch_cpu_ns / 1000.0 : -1,
	       b->o.cpu_timing && b->schedstat_fd >= 0
		       ? (double)b->max_send_held_ns / 1000.0 : -1,
	       b->o.cpu_timing && b->schedstat_fd >= 0
		       ? (double)b->max_dispatch_held_ns / 1000.0 : -1,
	       allocs, allocs_ss, b->rss_base_kb, ru.ru_maxrss,
	       (double)b->heap_base / 1024.0,
	       (double)bench_heap_peak() / 1024.0,
	       (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) /
			       1e6,
	       status == 0 ? "ok" : (b->error ? b->error : "error"));
	fflush(stdout);
}

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static size_t
parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	switch (*end) {
	case 'k':
	case 'K':
		v *= 1024;
		end++;
		break;
	case 'm':
	case 'M':
		v *= 1024 * 1024;
		end++;
		break;
	default:
		break;
	}
	if (*end != '\0' || end == s) {
		fprintf(stderr, PROG ": bad size '%s'\n", s);
		exit(2);
	}
	return (size_t)v;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " --backend haq|raw [options]\n"
		"\n"
		"Run on every node of a corosync cluster (see run-bench).\n"
		"  -b, --backend NAME    haq (libhaq) or raw (libcpg)\n"
		"  -m, --mode MODE       tput (default) or lat\n"
		"  -g, --group NAME      group to join (default haq-bench)\n"
		"  -s, --size BYTES      message size, suffix k/M (default "
		"64)\n"
		"  -c, --count N         messages per sender (lat: timed "
		"round\n"
		"                        trips; default 10000)\n"
		"  -w, --warmup N        lat: untimed round trips first (100)\n"
		"  -n, --nodes N         members to wait for before GO (1)\n"
		"  -a, --all             every member sends (tput)\n"
		"  -B, --batch N         sends between two polls, 0 no limit\n"
		"                        (default 64)\n"
		"  -q, --queue-limit B   libhaq queue limit (default: "
		"library's)\n"
		"  -U, --bundle B        libhaq bundle bound, 0 off (default:\n"
		"                        library's)\n"
		"  -z, --compress B      libhaq: compress messages of B bytes\n"
		"                        and more (default off)\n"
		"  -Z, --payload KIND    fill (0xa5, default), json (state-like\n"
		"                        text) or random (incompressible)\n"
		"  -r, --retry-ms MS     raw: wait after CS_ERR_TRY_AGAIN (1)\n"
		"  -T, --no-timing       do not time each call (callgrind)\n"
		"  -C, --cpu-timing      also time each call in thread CPU "
		"time,\n"
		"                        and in wall time minus the waits for "
		"a\n"
		"                        core (four more system calls per "
		"call)\n"
		"  -P, --copy            haq: send large messages with\n"
		"                        haq_group_send() (a copy), not\n"
		"                        haq_group_send_zc()\n"
		"  -t, --timeout S       give up after S seconds (120)\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"backend", required_argument, NULL, 'b'},
		{"mode", required_argument, NULL, 'm'},
		{"group", required_argument, NULL, 'g'},
		{"size", required_argument, NULL, 's'},
		{"count", required_argument, NULL, 'c'},
		{"warmup", required_argument, NULL, 'w'},
		{"nodes", required_argument, NULL, 'n'},
		{"all", no_argument, NULL, 'a'},
		{"batch", required_argument, NULL, 'B'},
		{"queue-limit", required_argument, NULL, 'q'},
		{"bundle", required_argument, NULL, 'U'},
		{"compress", required_argument, NULL, 'z'},
		{"payload", required_argument, NULL, 'Z'},
		{"retry-ms", required_argument, NULL, 'r'},
		{"no-timing", no_argument, NULL, 'T'},
		{"cpu-timing", no_argument, NULL, 'C'},
		{"copy", no_argument, NULL, 'P'},
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct bench b;
	struct sigaction sa;
	int c;
	int rc;

	memset(&b, 0, sizeof(b));
	b.o.mode = MODE_TPUT;
	b.o.group = "haq-bench";
	b.o.size = 64;
	b.o.count = 10000;
	b.o.warmup = 100;
	b.o.nodes = 1;
	b.o.batch = 64;
	b.o.bundle = -1;
	b.o.payload = "fill";
	b.o.timeout_s = 120;
	b.o.retry_ms = 1;
	while ((c = getopt_long(argc, argv, "b:m:g:s:c:w:n:aB:q:U:z:Z:r:TCPt:h",
				longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			b.o.backend = optarg;
			break;
		case 'm':
			if (strcmp(optarg, "tput") == 0) {
				b.o.mode = MODE_TPUT;
			} else if (strcmp(optarg, "lat") == 0) {
				b.o.mode = MODE_LAT;
			} else {
				usage(stderr);
				return 2;
			}
			break;
		case 'g':
			b.o.group = optarg;
			break;
		case 's':
			b.o.size = parse_size(optarg);
			break;
		case 'c':
			b.o.count = strtoull(optarg, NULL, 10);
			break;
		case 'w':
			b.o.warmup = strtoull(optarg, NULL, 10);
			break;
		case 'n':
			b.o.nodes = atoi(optarg);
			break;
		case 'a':
			b.o.all = true;
			break;
		case 'B':
			b.o.batch = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'q':
			b.o.queue_limit = parse_size(optarg);
			break;
		case 'U':
			b.o.bundle = (long)parse_size(optarg);
			break;
		case 'z':
			b.o.compress = parse_size(optarg);
			break;
		case 'Z':
			b.o.payload = optarg;
			break;
		case 'r':
			b.o.retry_ms = atoi(optarg);
			break;
		case 'T':
			b.o.no_timing = true;
			break;
		case 'C':
			b.o.cpu_timing = true;
			break;
		case 'P':
			b.o.copy = true;
			break;
		case 't':
			b.o.timeout_s = atoi(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!b.o.backend || optind != argc || b.o.nodes < 1 || b.o.size < 64) {
		fprintf(stderr, PROG ": need --backend, --nodes >= 1 and "
				     "--size >= 64\n");
		usage(stderr);
		return 2;
	}
	if (strcmp(b.o.backend, "haq") == 0) {
		b.be = &haq_backend;
	} else if (strcmp(b.o.backend, "raw") == 0) {
		b.be = &raw_backend;
	} else {
		usage(stderr);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	b.pid = (uint32_t)getpid();
	b.buf = malloc(b.o.size);
	b.lat = calloc(b.o.count + 1, sizeof(*b.lat));
	if (!b.buf || !b.lat) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	/* Touch the buffer: page faults are not what is measured. */
	payload_fill(&b, b.buf, b.o.size);
	b.schedstat_fd = b.o.cpu_timing
		? open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC) : -1;
	b.zc = b.be == &haq_backend && !b.o.copy && b.o.size >= HAQ_ZC_MIN;
	rc = b.be->open(&b);
	if (rc == 0) {
		rc = run(&b);
	}
	if (rc < 0 && !b.error) {
		b.error = "setup failed";
	}
	report(&b, rc);
	if (getenv("HAQ_BENCH_ALLOC_TRACE")) {
		bench_alloc_trace_report(stderr);
	}
	b.be->close(&b);
	while (b.zc_nfree > 0) {
		free(b.zc_free[--b.zc_nfree]);
	}
	if (b.schedstat_fd >= 0) {
		close(b.schedstat_fd);
	}
	free(b.buf);
	free(b.lat);
	return rc < 0 ? 1 : 0;
}
