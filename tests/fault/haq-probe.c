/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * haq-probe: a libhaq group member that sends sequence-numbered messages at
 * a steady rate and writes every event it sees to a log file, one line per
 * event, so that haq-check-logs can verify the group's guarantees across
 * the logs of all members after a fault scenario.
 *
 * Every line is
 *     MONO_US REAL_US EVENT key=value...
 * with MONO_US from CLOCK_MONOTONIC and REAL_US from CLOCK_REALTIME, both in
 * microseconds. All processes of a test run on one host, so REAL_US orders
 * events of different probes. Events:
 *     start node= pid= inc= group= rate= size= size_max= burst=
 *           compress= big_every= big_size=
 *     conn up|down [leader_rc= epoch=]
 *     quorum quorate= ring=N.SEQ expected= total= need= nodes=a,b
 *     view seq= ring=N.SEQ quorate= members=n/p,... joined=n/p:why,...
 *          left=n/p:why,...
 *     leader self=0|1 epoch= node= pid= state=none|pending|known
 *     lease rc= deadline=            (haq_group_lease(): at a promotion,
 *                                     when a renewal moves the deadline,
 *                                     at a demotion; deadline in MONO_US,
 *                                     0 when not the leader)
 *     timing token= consensus= detect= nodes= renew= lease= takeover=
 *            margin=                 (haq_group_leader_timing(), ms; at a
 *                                     promotion)
 *     demoted expired=               (the leader callback took leadership
 *                                     away; expired: the lease-expired
 *                                     counter, which says whether the lease
 *                                     ran out)
 *     resign rc= epoch= why=signal|after start=MONO_US
 *                                     (haq_group_resign(), on SIGUSR2 or
 *                                     --resign-after; start: when the call
 *                                     began, where leadership ends)
 *     uncertain first= last=
 *     send seq= len=                 (accepted: the library id)
 *     send_err seq= rc= err=         (refused; the id was not used)
 *     deliver from=n/p inc= seq= len=
 *     foreign from=n/p len=          (a message that is not a probe's)
 *     bad from=n/p inc= seq= why=    (a probe message that fails checks)
 *     writable
 *     counters sent= delivered= retries= malformed= oversize= partial=
 *              lease_expired= covered= bundled= compressed=
 *     quiet next_id=                 (SIGHUP: sending stopped)
 *     stopping next_id=
 *     drained ok|timeout self=
 *     exit
 * With --state (a replicated state; see "Replicated state" below):
 *     state config seed= buffer= stall= slow=
 *     state seed inc= len= hash= count=0  (this process holds the state
 *                                     first and creates it)
 *     state begin transfer= role=provider hash= count= bytes=
 *                                     (the provide callback: the cut)
 *     state end transfer= role=provider bytes= rc= ms=
 *     state begin|replace transfer= role=receiver error=0 [hash= count=]
 *     state done|restarted|failed transfer= role= error= err= ms= [bytes=]
 *     state held transfer= hash= count= seed=INC/LEN  (after DONE)
 *     state held why=kept hash= count= seed=  (holds again without a
 *                                     transfer: -ENODATA, an empty group)
 *     state lost why=                 (no longer holds, without a BEGIN)
 *     state unheld from=n/p inc= seq= (a message delivered while this
 *                                     process did not hold the state)
 *     state bad transfer= why=        (a received state that fails checks)
 *     state final hash= count= held= seed=  (before "exit")
 * With --locks N (lock churn on lock0..lockN-1; see "Locks" below):
 *     lock config locks= hold=MIN-MAX pause= try=PCT
 *     lock_req name= try=0|1 rc=     (haq_group_lock() returned rc)
 *     lock_granted name= token= deadline=MONO_US held_rc= held_token=
 *                  hold_ms=           (the callback said 0; deadline,
 *                                     held_rc and held_token from
 *                                     haq_group_lock_held(); hold_ms: how
 *                                     long the probe means to hold it)
 *     lock_busy name= status=        (a TRY request: -EBUSY or -EAGAIN)
 *     lock_err name= status= err=    (a request ended otherwise, or a call
 *                                     failed: what=lock|unlock|held)
 *     lock_lost name= status= err= held=1|0  (the callback told a loss:
 *                                     -ENOLCK, -ETIME, -ENOTCONN; held=0:
 *                                     a grant not told yet was ended)
 *     lock_expired name= rc= deadline=  (haq_group_lock_held() no longer
 *                                     says held, or its deadline passed,
 *                                     before a loss was told: the holding
 *                                     ends here)
 *     lock_release name= token=      (logged just BEFORE haq_group_unlock:
 *                                     the holding ends here)
 *     lock_withdraw name= rc=        (a waiting request given up at stop)
 *
 * The log is written with write(2) after every round of the loop, so a
 * SIGKILLed probe loses at most its last round. A scenario that kills a
 * probe may append "killed signal=" to its log (with its own clock
 * readings): the checker then knows when the process died.
 *
 * A message is 32 bytes of header, little-endian: magic "HCP1", sender
 * nodeid, sender pid, 0, the probe's random incarnation, the seq (equal to
 * the id libhaq gave the send: haq_group_next_id() before the call); then
 * optional filler bytes (seq + i) & 0xff that the receiver verifies.
 *
 * Replicated state (--state): the seed (--state-seed bytes that the first
 * holder creates, a function of its incarnation), a hash chain over every
 * message applied and their count. The seed starts the chain:
 *     h0 = FNV-1a-64("HQS1" || seed_inc || seed_len)
 * and each applied message (a "deliver" line while the state is held)
 *     h = FNV-1a-64(h || the 32-byte header || len)
 * (all little-endian 64-bit; the filler is a function of seq and len, and
 * verified). libhaq gives messages only to a holder; a receiver switches
 * to the state at DONE. A provider writes, at its cut, the 40-byte header
 * "HQS1", 0, seed_inc, seed_len, hash, count, then the seed bytes; the
 * receiver verifies every byte. haq-check-logs recomputes the chain.
 *
 * Locks (--locks N): the probe has at most one request or holding at a
 * time. When idle for a random pause (0..--lock-pause ms) it picks one of
 * lock0..lockN-1 at random and asks for it, with HAQ_LOCK_TRY in --lock-try
 * percent of the requests (default 50), blocking otherwise. A grant is
 * held for a random time in --lock-hold MIN-MAX ms, checking
 * haq_group_lock_held()'s deadline every loop round; the release is logged
 * before haq_group_unlock() is called, so a logged holding [lock_granted,
 * lock_release | lock_lost | lock_expired] covers the real one.
 * haq-check-logs --lock-overlap judges them.
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <haq/haq.h>

#define PROBE_MAGIC 0x31504348u /* "HCP1" read as little-endian */
#define PROBE_HDR 32
#define LOGBUF_FLUSH (64 * 1024)

#define STATE_MAGIC 0x31535148u /* "HQS1" read as little-endian */
#define STATE_HDR 40
#define FNV_BASIS 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

/* The replicated state (--state), and the transfers under way. */
struct pstate {
	bool on;
	uint64_t seed_opt;   /* --state-seed: bytes of the seed */
	uint64_t buffer_opt; /* --state-buffer (0: the library's default) */
	uint64_t stall_opt;  /* --state-stall ms (0: the default) */
	uint64_t slow;	     /* --slow-provider: bytes per second (0: all) */
	bool have;	     /* a state, held or not */
	bool held;	     /* haq_group_state_held() as last logged */
	uint64_t seed_inc;
	uint64_t seed_len;
	uint64_t hash;
	uint64_t count;
	/* Provider: the transfer being written. */
	uint64_t wid;
	uint8_t whdr[STATE_HDR];
	uint64_t wtotal;
	uint64_t woff;
	bool wblocked;
	uint64_t wstart_us;
	uint64_t wlast_us;
	double wtokens;
	uint64_t wdone_id; /* for the duration at the provider's DONE */
	uint64_t wdone_start_us;
	/* Receiver: the transfer being received. */
	uint64_t rid;
	uint8_t rhdr[STATE_HDR];
	uint64_t rlen;
	uint64_t rseed_inc;
	uint64_t rseed_len;
	bool rbad;
	char rwhy[96];
	uint64_t rstart_us;
};

/* Lock churn (--locks): one request or holding at a time. */
enum { LK_IDLE = 0, LK_WAIT, LK_HELD, LK_EXPIRED };

struct plock {
	unsigned int n;	       /* --locks: lock0..lock(n-1); 0: no locks */
	unsigned int hold_min; /* --lock-hold MIN-MAX, ms */
	unsigned int hold_max;
	unsigned int pause;   /* --lock-pause: up to this many ms between */
	unsigned int try_pct; /* --lock-try: percent of HAQ_LOCK_TRY */
	int state;
	char name[32];
	uint64_t token;
	uint64_t deadline_ns;
	uint64_t next_us; /* IDLE: next request; HELD: release (MONO_US) */
	uint64_t rng;
};

struct probe {
	haq_ctx_t *ctx;
	haq_group_t *g;
	uint32_t nodeid;
	uint32_t pid;
	uint64_t inc;
	const char *group;
	double rate;
	size_t size;
	size_t size_max;    /* --size-max: lengths vary size..size_max by seq */
	unsigned int burst; /* messages sent at each tick of the rate */
	size_t compress;    /* --compress: haq_group_set_compress() */
	uint64_t big_every; /* every Nth message is big_size bytes (0: never) */
	size_t big_size;
	int drain_ms;
	int log_fd;
	char *logbuf;
	size_t loglen;
	size_t logcap;
	uint8_t *msg;

	bool stopping;
	bool blocked; /* -ENOBUFS: wait for the writable callback */
	bool connected;
	uint64_t stop_next_id;	 /* haq_group_next_id() when stopping */
	uint64_t self_seq;	 /* highest own seq delivered back */
	uint64_t uncertain_last; /* highest own id reported uncertain */
	uint64_t next_counters_us;

	/* Leadership as this process was told it (the callback, its own
	 * resignation). */
	bool leading;
	uint64_t lead_epoch;
	uint64_t lease_deadline_ns; /* last deadline logged */
	int resign_after_ms;	    /* resign this long after each promotion */
	uint64_t resign_at_us;	    /* MONO_US of the next resignation, or 0 */

	struct pstate st; /* --state */
	struct plock lk;  /* --locks */
};

static void state_sync(struct probe *p, const char *why);

static void
put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

static uint32_t
get32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--) {
		v = (v << 8) | p[i];
	}
	return v;
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--) {
		v = (v << 8) | p[i];
	}
	return v;
}

static uint64_t
clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void
log_flush(struct probe *p)
{
	size_t off = 0;

	while (off < p->loglen) {
		ssize_t n = write(p->log_fd, p->logbuf + off, p->loglen - off);

		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			fprintf(stderr, "haq-probe: write log: %s\n",
				strerror(errno));
			exit(2);
		}
		off += (size_t)n;
	}
	p->loglen = 0;
}

static void logf_(struct probe *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
logf_(struct probe *p, const char *fmt, ...)
{
	char line[4096];
	int n, m;
	va_list ap;

	n = snprintf(line, sizeof(line), "%" PRIu64 " %" PRIu64 " ",
		     clock_us(CLOCK_MONOTONIC), clock_us(CLOCK_REALTIME));
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0) {
		return;
	}
	n += m;
	if ((size_t)n > sizeof(line) - 2) {
		n = (int)sizeof(line) - 2;
	}
	line[n++] = '\n';
	if (p->loglen + (size_t)n > p->logcap) {
		log_flush(p);
	}
	memcpy(p->logbuf + p->loglen, line, (size_t)n);
	p->loglen += (size_t)n;
	if (p->loglen >= LOGBUF_FLUSH) {
		log_flush(p);
	}
}

/* Append "n/p[:reason]" items to buf; "-" for an empty list. */
static void
fmt_members(char *buf, size_t len, const haq_view_t *v, int which)
{
	size_t n, off = 0;

	switch (which) {
	case 0:
		n = haq_view_member_count(v);
		break;
	case 1:
		n = haq_view_joined_count(v);
		break;
	default:
		n = haq_view_left_count(v);
		break;
	}
	buf[0] = '\0';
	if (n == 0) {
		snprintf(buf, len, "-");
		return;
	}
	for (size_t i = 0; i < n && off < len; i++) {
		uint32_t nodeid = 0, pid = 0;
		int reason = 0;
		int w;

		if (which == 0) {
			haq_view_member(v, i, &nodeid, &pid);
			w = snprintf(buf + off, len - off, "%s%u/%u",
				     i ? "," : "", nodeid, pid);
		} else {
			if (which == 1) {
				haq_view_joined(v, i, &nodeid, &pid, &reason);
			} else {
				haq_view_left(v, i, &nodeid, &pid, &reason);
			}
			w = snprintf(buf + off, len - off, "%s%u/%u:%s",
				     i ? "," : "", nodeid, pid,
				     haq_reason_str(reason));
		}
		if (w < 0) {
			break;
		}
		off += (size_t)w;
	}
}

static void
log_counters(struct probe *p)
{
	uint64_t c[HAQ_COUNTER_COMPRESSED + 1] = {0};

	for (int i = 0; i <= HAQ_COUNTER_COMPRESSED; i++) {
		haq_group_counter(p->g, i, &c[i]);
	}
	logf_(p,
	      "counters sent=%" PRIu64 " delivered=%" PRIu64 " retries=%" PRIu64
	      " malformed=%" PRIu64 " oversize=%" PRIu64 " partial=%" PRIu64
	      " lease_expired=%" PRIu64 " covered=%" PRIu64 " bundled=%" PRIu64
	      " compressed=%" PRIu64,
	      c[HAQ_COUNTER_SENT], c[HAQ_COUNTER_DELIVERED],
	      c[HAQ_COUNTER_RETRIES], c[HAQ_COUNTER_MALFORMED],
	      c[HAQ_COUNTER_OVERSIZE], c[HAQ_COUNTER_PARTIAL_DROPPED],
	      c[HAQ_COUNTER_LEASE_EXPIRED], c[HAQ_COUNTER_STATE_COVERED],
	      c[HAQ_COUNTER_BUNDLED], c[HAQ_COUNTER_COMPRESSED]);
}

/* ------------------------------------------------------------------ */
/* Callbacks                                                          */
/* ------------------------------------------------------------------ */

static void
on_log(haq_ctx_t *ctx, int priority, const char *message, void *ud)
{
	struct probe *p = ud;

	(void)ctx;
	if (priority <= HAQ_LOG_INFO) {
		logf_(p, "lib prio=%d %s", priority, message);
	}
}

static void
on_conn(haq_ctx_t *ctx, int connected, void *ud)
{
	struct probe *p = ud;
	uint32_t nodeid = 0, pid = 0;
	uint64_t epoch = 0;
	int rc;

	(void)ctx;
	p->connected = connected;
	/* What the library says about leadership right now. */
	rc = haq_group_leader(p->g, &nodeid, &pid, &epoch);
	logf_(p, "conn %s leader_rc=%d epoch=%" PRIu64 " node=%u pid=%u",
	      connected ? "up" : "down", rc, rc >= 0 ? epoch : 0,
	      rc >= 0 ? nodeid : 0, rc >= 0 ? pid : 0);
	state_sync(p, "conn");
}

static void
on_quorum(haq_ctx_t *ctx, const haq_quorum_t *q, void *ud)
{
	struct probe *p = ud;
	uint32_t rn = 0, exp = 0, tot = 0, need = 0;
	uint64_t rs = 0;
	char nodes[1024];
	size_t off = 0, n = haq_quorum_node_count(q);

	(void)ctx;
	haq_quorum_ring(q, &rn, &rs);
	haq_quorum_votes(q, &exp, &tot, &need);
	nodes[0] = '\0';
	for (size_t i = 0; i < n && off < sizeof(nodes); i++) {
		uint32_t id = 0;
		int w;

		haq_quorum_node(q, i, &id, NULL);
		w = snprintf(nodes + off, sizeof(nodes) - off, "%s%u",
			     i ? "," : "", id);
		if (w < 0) {
			break;
		}
		off += (size_t)w;
	}
	logf_(p,
	      "quorum quorate=%d ring=%u.%" PRIx64
	      " expected=%u total=%u need=%u nodes=%s",
	      haq_quorum_quorate(q), rn, rs, exp, tot, need, n ? nodes : "-");
}

static void
on_view(haq_group_t *g, const haq_view_t *v, void *ud)
{
	struct probe *p = ud;
	static char members[16384], joined[8192], left[8192];
	uint32_t rn = 0;
	uint64_t rs = 0;

	(void)g;
	haq_view_ring(v, &rn, &rs);
	fmt_members(members, sizeof(members), v, 0);
	fmt_members(joined, sizeof(joined), v, 1);
	fmt_members(left, sizeof(left), v, 2);
	logf_(p,
	      "view seq=%" PRIu64 " ring=%u.%" PRIx64
	      " quorate=%d members=%s joined=%s left=%s",
	      haq_view_seq(v), rn, rs, haq_view_quorate(v), members, joined,
	      left);
	state_sync(p, "view");
}

/* Log the lease deadline when it moved (a promotion, a renewal, a
 * demotion). */
static void
log_lease(struct probe *p, bool always)
{
	uint64_t deadline = 0;
	int rc = haq_group_lease(p->g, &deadline);

	if (rc < 0) {
		deadline = 0;
	}
	if (!always && deadline == p->lease_deadline_ns) {
		return;
	}
	p->lease_deadline_ns = deadline;
	logf_(p, "lease rc=%d deadline=%" PRIu64, rc, deadline / 1000u);
}

static void
log_timing(struct probe *p)
{
	static const char *const name[] = {
		[HAQ_TIMING_TOKEN] = "token",
		[HAQ_TIMING_CONSENSUS] = "consensus",
		[HAQ_TIMING_DETECT] = "detect",
		[HAQ_TIMING_NODES] = "nodes",
		[HAQ_TIMING_RENEW] = "renew",
		[HAQ_TIMING_LEASE] = "lease",
		[HAQ_TIMING_TAKEOVER] = "takeover",
		[HAQ_TIMING_MARGIN] = "margin",
	};
	char buf[512];
	size_t off = 0;

	for (int i = HAQ_TIMING_TOKEN; i <= HAQ_TIMING_MARGIN; i++) {
		uint32_t v = 0;
		int rc = haq_group_leader_timing(p->g, i, &v);
		int w;

		if (rc < 0) {
			w = snprintf(buf + off, sizeof(buf) - off, "%s%s=err%d",
				     off ? " " : "", name[i], rc);
		} else {
			w = snprintf(buf + off, sizeof(buf) - off, "%s%s=%u",
				     off ? " " : "", name[i], v);
		}
		if (w < 0 || (size_t)w >= sizeof(buf) - off) {
			break;
		}
		off += (size_t)w;
	}
	logf_(p, "timing %s", buf);
}

static const char *
leader_state_str(haq_group_t *g)
{
	switch (haq_group_leader_state(g)) {
	case HAQ_LEADER_NONE:
		return "none";
	case HAQ_LEADER_PENDING:
		return "pending";
	case HAQ_LEADER_KNOWN:
		return "known";
	default:
		return "error";
	}
}

static void
on_leader(haq_group_t *g, int is_leader, uint64_t epoch, uint32_t nodeid,
	  uint32_t pid, void *ud)
{
	struct probe *p = ud;

	logf_(p, "leader self=%d epoch=%" PRIu64 " node=%u pid=%u state=%s",
	      is_leader, epoch, nodeid, pid, leader_state_str(g));
	if (is_leader) {
		if (!p->leading) {
			log_lease(p, true);
			log_timing(p);
			if (p->resign_after_ms > 0) {
				p->resign_at_us =
					clock_us(CLOCK_MONOTONIC) +
					(uint64_t)p->resign_after_ms * 1000u;
			}
		}
		p->leading = true;
		p->lead_epoch = epoch;
	} else if (p->leading) {
		uint64_t expired = 0;

		p->leading = false;
		p->resign_at_us = 0;
		haq_group_counter(g, HAQ_COUNTER_LEASE_EXPIRED, &expired);
		logf_(p, "demoted expired=%" PRIu64, expired);
		log_lease(p, true);
	}
}

/* Step down (SIGUSR2 or --resign-after): the handover without overlap. */
static void
resign(struct probe *p, const char *why)
{
	/* Leadership ends as the call starts ("from this call on"): the
	 * successor may be told before the call returns. */
	uint64_t start = clock_us(CLOCK_MONOTONIC);
	int rc = haq_group_resign(p->g);

	logf_(p, "resign rc=%d epoch=%" PRIu64 " why=%s start=%" PRIu64, rc,
	      rc == 0 ? p->lead_epoch : 0, why, start);
	p->resign_at_us = 0;
	if (rc == 0) {
		p->leading = false;
		log_lease(p, true);
	}
}

static void
on_uncertain(haq_group_t *g, uint64_t first, uint64_t last, void *ud)
{
	struct probe *p = ud;

	(void)g;
	if (last > p->uncertain_last) {
		p->uncertain_last = last;
	}
	logf_(p, "uncertain first=%" PRIu64 " last=%" PRIu64, first, last);
}

static void
on_writable(haq_group_t *g, void *ud)
{
	struct probe *p = ud;

	(void)g;
	p->blocked = false;
	logf_(p, "writable");
}

/* ------------------------------------------------------------------ */
/* Lock churn (--locks)                                               */
/* ------------------------------------------------------------------ */

static uint64_t
lock_rand(struct probe *p)
{
	/* xorshift64*: reproducible enough, no libc state shared. */
	p->lk.rng ^= p->lk.rng >> 12;
	p->lk.rng ^= p->lk.rng << 25;
	p->lk.rng ^= p->lk.rng >> 27;
	return p->lk.rng * 0x2545f4914f6cdd1dull;
}

static uint64_t
lock_between_ms(struct probe *p, unsigned int lo, unsigned int hi)
{
	if (hi <= lo) {
		return lo;
	}
	return lo + lock_rand(p) % (hi - lo + 1u);
}

static void
lock_idle(struct probe *p)
{
	p->lk.state = LK_IDLE;
	p->lk.token = 0;
	p->lk.deadline_ns = 0;
	p->lk.next_us = clock_us(CLOCK_MONOTONIC) +
			lock_between_ms(p, 0, p->lk.pause) * 1000u;
}

static void
on_lock(haq_group_t *g, const char *name, int status, uint64_t token, void *ud)
{
	struct probe *p = ud;

	if (strcmp(name, p->lk.name) != 0 ||
	    (p->lk.state != LK_WAIT && p->lk.state != LK_HELD &&
	     p->lk.state != LK_EXPIRED)) {
		/* Not the request this probe has out: a library bug. */
		logf_(p,
		      "lock_unexpected name=%s status=%d token=%" PRIu64
		      " mine=%s state=%d",
		      name, status, token, p->lk.name, p->lk.state);
		return;
	}
	if (status == 0) {
		uint64_t tok = 0, dl = 0, hold;
		int rc = haq_group_lock_held(g, name, &tok, &dl);

		if (p->lk.state != LK_WAIT) {
			logf_(p,
			      "lock_unexpected name=%s status=0 token=%" PRIu64
			      " state=%d",
			      name, token, p->lk.state);
		}
		hold = lock_between_ms(p, p->lk.hold_min, p->lk.hold_max);
		p->lk.state = LK_HELD;
		p->lk.token = token;
		p->lk.deadline_ns = dl;
		p->lk.next_us = clock_us(CLOCK_MONOTONIC) + hold * 1000u;
		logf_(p,
		      "lock_granted name=%s token=%" PRIu64 " deadline=%" PRIu64
		      " held_rc=%d held_token=%" PRIu64 " hold_ms=%" PRIu64,
		      name, token, dl / 1000u, rc, tok, hold);
		return;
	}
	if (status == -ENOLCK || status == -ETIME || status == -ENOTCONN) {
		logf_(p, "lock_lost name=%s status=%d err=\"%s\" held=%d", name,
		      status, haq_strerror(status),
		      p->lk.state == LK_HELD || p->lk.state == LK_EXPIRED);
	} else if (status == -EBUSY || status == -EAGAIN) {
		logf_(p, "lock_busy name=%s status=%d", name, status);
	} else {
		logf_(p, "lock_err name=%s what=request status=%d err=\"%s\"",
		      name, status, haq_strerror(status));
	}
	lock_idle(p);
}

/* One loop round of the churn: ask, check the holding, release. */
static void
lock_round(struct probe *p)
{
	uint64_t now = clock_us(CLOCK_MONOTONIC);
	int rc;

	if (!p->lk.n) {
		return;
	}
	if (p->lk.state == LK_HELD) {
		uint64_t tok = 0, dl = 0;
		struct timespec ts;
		uint64_t now_ns;

		rc = haq_group_lock_held(p->g, p->lk.name, &tok, &dl);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now_ns = (uint64_t)ts.tv_sec * 1000000000u +
			 (uint64_t)ts.tv_nsec;
		if (rc != 1 || now_ns >= dl || tok != p->lk.token) {
			/* Not safe to act on any more: the holding ends. */
			logf_(p,
			      "lock_expired name=%s rc=%d deadline=%" PRIu64
			      " token=%" PRIu64 " held_token=%" PRIu64,
			      p->lk.name, rc, dl / 1000u, p->lk.token, tok);
			p->lk.state = LK_EXPIRED;
			/* The loss should be told now; if not within a
			 * second, give the lock back ourselves. */
			p->lk.next_us = now + 1000000u;
			return;
		}
		p->lk.deadline_ns = dl;
		if (now >= p->lk.next_us || p->stopping) {
			logf_(p, "lock_release name=%s token=%" PRIu64,
			      p->lk.name, p->lk.token);
			rc = haq_group_unlock(p->g, p->lk.name);
			if (rc < 0) {
				logf_(p,
				      "lock_err name=%s what=unlock status=%d "
				      "err=\"%s\"",
				      p->lk.name, rc, haq_strerror(rc));
			}
			lock_idle(p);
		}
		return;
	}
	if (p->lk.state == LK_EXPIRED &&
	    (now >= p->lk.next_us || p->stopping)) {
		rc = haq_group_unlock(p->g, p->lk.name);
		logf_(p,
		      "lock_release name=%s token=%" PRIu64 " expired=1 rc=%d",
		      p->lk.name, p->lk.token, rc);
		lock_idle(p);
		return;
	}
	if (p->lk.state == LK_WAIT && p->stopping) {
		rc = haq_group_unlock(p->g, p->lk.name);
		logf_(p, "lock_withdraw name=%s rc=%d", p->lk.name, rc);
		lock_idle(p);
		return;
	}
	if (p->lk.state != LK_IDLE || p->stopping || !p->connected ||
	    now < p->lk.next_us) {
		return;
	}
	{
		bool try_ = lock_rand(p) % 100u < p->lk.try_pct;

		snprintf(p->lk.name, sizeof(p->lk.name), "lock%u",
			 (unsigned int)(lock_rand(p) % p->lk.n));
		rc = haq_group_lock(p->g, p->lk.name, try_ ? HAQ_LOCK_TRY : 0);
		logf_(p, "lock_req name=%s try=%d rc=%d", p->lk.name, try_, rc);
		if (rc < 0) {
			logf_(p,
			      "lock_err name=%s what=lock status=%d err=\"%s\"",
			      p->lk.name, rc, haq_strerror(rc));
			lock_idle(p);
			return;
		}
		p->lk.state = LK_WAIT;
	}
}

/* Milliseconds until the churn wants a round (bounded by cap). */
static int
lock_timeout(const struct probe *p, int cap)
{
	uint64_t now, left;

	if (!p->lk.n || p->lk.state == LK_WAIT) {
		return cap;
	}
	now = clock_us(CLOCK_MONOTONIC);
	if (p->lk.state == LK_HELD) {
		/* Also wake at the lease deadline, to log it passing. */
		uint64_t until = p->lk.next_us;

		if (p->lk.deadline_ns && p->lk.deadline_ns / 1000u < until) {
			until = p->lk.deadline_ns / 1000u;
		}
		left = until > now ? (until - now) / 1000u + 1 : 0;
	} else {
		left = p->lk.next_us > now ? (p->lk.next_us - now) / 1000u + 1
					   : 0;
	}
	return left < (uint64_t)cap ? (int)left : cap;
}

/* ------------------------------------------------------------------ */
/* Replicated state (--state)                                         */
/* ------------------------------------------------------------------ */

static uint64_t
fnv_add(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= FNV_PRIME;
	}
	return h;
}

/* The chain's start for a seed. */
static uint64_t
state_h0(uint64_t seed_inc, uint64_t seed_len)
{
	uint8_t b[20];

	put32(b, STATE_MAGIC);
	put64(b + 4, seed_inc);
	put64(b + 12, seed_len);
	return fnv_add(FNV_BASIS, b, sizeof(b));
}

/* Byte i of the seed of a holder of incarnation inc. */
static uint8_t
seed_byte(uint64_t inc, uint64_t i)
{
	return (uint8_t)((inc >> ((i & 7) * 8)) + (i >> 3) * 29u);
}

static const char *
state_status_str(int status)
{
	switch (status) {
	case HAQ_STATE_BEGIN:
		return "begin";
	case HAQ_STATE_REPLACE:
		return "replace";
	case HAQ_STATE_DONE:
		return "done";
	case HAQ_STATE_RESTARTED:
		return "restarted";
	case HAQ_STATE_FAILED:
		return "failed";
	default:
		return "unknown";
	}
}

static double
ms_since(uint64_t start_us)
{
	return start_us ? (double)(clock_us(CLOCK_MONOTONIC) - start_us) / 1e3
			: -1.0;
}

/*
 * Log every change of haq_group_state_held() that no status callback
 * explained: the first holder creates the seed; a process that holds again
 * without a transfer (-ENODATA, alone in the group) keeps what it has; a
 * lost connection takes the state away.
 */
static void
state_sync(struct probe *p, const char *why)
{
	struct pstate *st = &p->st;
	int h;

	if (!st->on) {
		return;
	}
	h = haq_group_state_held(p->g);
	if (h == 1 && !st->held) {
		if (!st->have) {
			st->have = true;
			st->seed_inc = p->inc;
			st->seed_len = st->seed_opt;
			st->hash = state_h0(st->seed_inc, st->seed_len);
			st->count = 0;
			logf_(p,
			      "state seed inc=%" PRIx64 " len=%" PRIu64
			      " hash=%016" PRIx64 " count=0 why=%s",
			      st->seed_inc, st->seed_len, st->hash, why);
		} else {
			logf_(p,
			      "state held why=kept hash=%016" PRIx64
			      " count=%" PRIu64 " seed=%" PRIx64 "/%" PRIu64
			      " at=%s",
			      st->hash, st->count, st->seed_inc, st->seed_len,
			      why);
		}
		st->held = true;
	} else if (h == 0 && st->held) {
		st->held = false;
		logf_(p, "state lost why=%s", why);
	}
}

/* Apply one delivered message to the state. */
static void
state_apply(struct probe *p, const uint8_t *hdr, size_t len)
{
	struct pstate *st = &p->st;
	uint8_t b[8];

	put64(b, st->hash);
	st->hash = fnv_add(FNV_BASIS, b, sizeof(b));
	st->hash = fnv_add(st->hash, hdr, PROBE_HDR);
	put64(b, (uint64_t)len);
	st->hash = fnv_add(st->hash, b, sizeof(b));
	st->count++;
}

/* Write what the budget allows; end the transfer after the last byte. */
static void
state_write_some(struct probe *p, uint64_t budget)
{
	struct pstate *st = &p->st;
	uint8_t buf[65536];
	uint64_t written = 0;

	while (st->wid && st->woff < st->wtotal && written < budget) {
		size_t n = sizeof(buf);
		ssize_t rc;

		if (n > st->wtotal - st->woff) {
			n = (size_t)(st->wtotal - st->woff);
		}
		if (n > budget - written) {
			n = (size_t)(budget - written);
		}
		for (size_t i = 0; i < n; i++) {
			uint64_t off = st->woff + i;

			buf[i] = off < STATE_HDR
					 ? st->whdr[off]
					 : seed_byte(get64(st->whdr + 8),
						     off - STATE_HDR);
		}
		rc = haq_group_state_write(p->g, st->wid, buf, n);
		if (rc == -EAGAIN) {
			st->wblocked = true;
			break;
		}
		if (rc < 0) {
			logf_(p,
			      "state write_err transfer=%" PRIx64
			      " rc=%zd err=\"%s\"",
			      st->wid, rc, haq_strerror((int)rc));
			st->wid = 0;
			break;
		}
		st->woff += (uint64_t)rc;
		written += (uint64_t)rc;
		if ((size_t)rc < n) {
			st->wblocked = true;
			break;
		}
	}
	if (st->slow) {
		st->wtokens -= (double)written;
	}
	if (st->wid && st->woff == st->wtotal) {
		int rc = haq_group_state_end(p->g, st->wid, 0);

		logf_(p,
		      "state end transfer=%" PRIx64
		      " role=provider bytes=%" PRIu64 " rc=%d ms=%.1f",
		      st->wid, st->woff, rc, ms_since(st->wstart_us));
		st->wid = 0;
	}
}

/* The slow provider's share of this loop round (--slow-provider). */
static void
state_write_slow(struct probe *p)
{
	struct pstate *st = &p->st;
	uint64_t now = clock_us(CLOCK_MONOTONIC);
	double cap = (double)st->slow / 5.0;

	if (!st->wid || st->wblocked) {
		st->wlast_us = now;
		return;
	}
	st->wtokens += (double)(now - st->wlast_us) * (double)st->slow / 1e6;
	st->wlast_us = now;
	if (st->wtokens > cap) {
		st->wtokens = cap;
	}
	if (st->wtokens >= 1.0) {
		state_write_some(p, (uint64_t)st->wtokens);
	}
}

static void
on_state_provide(haq_group_t *g, uint64_t transfer, void *ud)
{
	struct probe *p = ud;
	struct pstate *st = &p->st;

	(void)g;
	state_sync(p, "provide");
	if (st->wid) {
		logf_(p,
		      "state bad transfer=%" PRIx64
		      " why=asked-while-writing-%" PRIx64,
		      transfer, st->wid);
	}
	st->wid = transfer;
	put32(st->whdr, STATE_MAGIC);
	put32(st->whdr + 4, 0);
	put64(st->whdr + 8, st->seed_inc);
	put64(st->whdr + 16, st->seed_len);
	put64(st->whdr + 24, st->hash);
	put64(st->whdr + 32, st->count);
	st->wtotal = STATE_HDR + st->seed_len;
	st->woff = 0;
	st->wblocked = false;
	st->wstart_us = clock_us(CLOCK_MONOTONIC);
	st->wlast_us = st->wstart_us;
	st->wtokens = st->slow ? (double)st->slow / 100.0 : 0;
	st->wdone_id = transfer;
	st->wdone_start_us = st->wstart_us;
	logf_(p,
	      "state begin transfer=%" PRIx64 " role=provider hash=%016" PRIx64
	      " count=%" PRIu64 " bytes=%" PRIu64 " held=%d",
	      transfer, st->hash, st->count, st->wtotal, st->held);
	if (!st->held) {
		logf_(p,
		      "state bad transfer=%" PRIx64 " why=provider-not-holding",
		      transfer);
	}
	if (!st->slow) {
		state_write_some(p, UINT64_MAX);
	} else {
		state_write_slow(p);
	}
}

static void
on_state_writable(haq_group_t *g, uint64_t transfer, void *ud)
{
	struct probe *p = ud;
	struct pstate *st = &p->st;

	(void)g;
	if (transfer != st->wid) {
		return;
	}
	st->wblocked = false;
	if (!st->slow) {
		state_write_some(p, UINT64_MAX);
	}
}

static void
on_state_chunk(haq_group_t *g, uint64_t transfer, const void *data, size_t len,
	       void *ud)
{
	struct probe *p = ud;
	struct pstate *st = &p->st;
	const uint8_t *b = data;

	(void)g;
	if (haq_group_state_held(p->g) != 0 && !st->rbad) {
		st->rbad = true;
		snprintf(st->rwhy, sizeof(st->rwhy), "chunk-while-holding");
	}
	if (transfer != st->rid) {
		if (!st->rbad) {
			st->rbad = true;
			snprintf(st->rwhy, sizeof(st->rwhy),
				 "chunk-of-%" PRIx64, transfer);
		}
		return;
	}
	for (size_t i = 0; i < len; i++, st->rlen++) {
		if (st->rlen < STATE_HDR) {
			st->rhdr[st->rlen] = b[i];
			if (st->rlen + 1 == STATE_HDR) {
				st->rseed_inc = get64(st->rhdr + 8);
				st->rseed_len = get64(st->rhdr + 16);
				if (get32(st->rhdr) != STATE_MAGIC &&
				    !st->rbad) {
					st->rbad = true;
					snprintf(st->rwhy, sizeof(st->rwhy),
						 "magic");
				}
			}
			continue;
		}
		if (!st->rbad &&
		    (st->rlen - STATE_HDR >= st->rseed_len ||
		     b[i] != seed_byte(st->rseed_inc, st->rlen - STATE_HDR))) {
			st->rbad = true;
			snprintf(st->rwhy, sizeof(st->rwhy), "byte-%" PRIu64,
				 st->rlen);
		}
	}
}

static void
on_state_status(haq_group_t *g, uint64_t transfer, int role, int status,
		int error, void *ud)
{
	struct probe *p = ud;
	struct pstate *st = &p->st;

	(void)g;
	if (role == HAQ_STATE_PROVIDER) {
		logf_(p,
		      "state %s transfer=%" PRIx64
		      " role=provider error=%d err=\"%s\" ms=%.1f",
		      state_status_str(status), transfer, error,
		      error ? haq_strerror(error) : "",
		      transfer == st->wdone_id ? ms_since(st->wdone_start_us)
					       : -1.0);
		if (status != HAQ_STATE_DONE && st->wid == transfer) {
			st->wid = 0;
		}
		state_sync(p, "status");
		return;
	}
	switch (status) {
	case HAQ_STATE_BEGIN:
	case HAQ_STATE_REPLACE:
		st->rid = transfer;
		st->rlen = 0;
		st->rbad = false;
		st->rwhy[0] = '\0';
		st->rstart_us = clock_us(CLOCK_MONOTONIC);
		if (st->have) {
			logf_(p,
			      "state %s transfer=%" PRIx64
			      " role=receiver error=%d hash=%016" PRIx64
			      " count=%" PRIu64 " held=%d",
			      state_status_str(status), transfer, error,
			      st->hash, st->count, st->held);
		} else {
			logf_(p,
			      "state %s transfer=%" PRIx64
			      " role=receiver error=%d held=%d",
			      state_status_str(status), transfer, error,
			      st->held);
		}
		/* The state is the transfer's now: not held until DONE. */
		st->held = false;
		break;
	case HAQ_STATE_DONE:
		logf_(p,
		      "state done transfer=%" PRIx64
		      " role=receiver error=%d err=\"\" ms=%.1f bytes=%" PRIu64,
		      transfer, error, ms_since(st->rstart_us), st->rlen);
		if (transfer != st->rid) {
			logf_(p,
			      "state bad transfer=%" PRIx64
			      " why=done-of-%" PRIx64,
			      transfer, st->rid);
		} else if (st->rbad || st->rlen < STATE_HDR ||
			   st->rlen != STATE_HDR + st->rseed_len) {
			logf_(p,
			      "state bad transfer=%" PRIx64
			      " why=%s bytes=%" PRIu64,
			      transfer, st->rbad ? st->rwhy : "length",
			      st->rlen);
		}
		if (st->rlen >= STATE_HDR) {
			st->seed_inc = st->rseed_inc;
			st->seed_len = st->rseed_len;
			st->hash = get64(st->rhdr + 24);
			st->count = get64(st->rhdr + 32);
			st->have = true;
		}
		st->rid = 0;
		st->held = true;
		logf_(p,
		      "state held transfer=%" PRIx64 " hash=%016" PRIx64
		      " count=%" PRIu64 " seed=%" PRIx64 "/%" PRIu64,
		      transfer, st->hash, st->count, st->seed_inc,
		      st->seed_len);
		if (haq_group_state_held(p->g) != 1) {
			logf_(p,
			      "state bad transfer=%" PRIx64
			      " why=done-but-not-held",
			      transfer);
		}
		break;
	default:
		logf_(p,
		      "state %s transfer=%" PRIx64
		      " role=receiver error=%d err=\"%s\" ms=%.1f "
		      "bytes=%" PRIu64,
		      state_status_str(status), transfer, error,
		      error ? haq_strerror(error) : "", ms_since(st->rstart_us),
		      st->rlen);
		if (transfer == st->rid) {
			st->rid = 0;
			st->rlen = 0;
		}
		break;
	}
	state_sync(p, "status");
}

static void
state_log_final(struct probe *p)
{
	struct pstate *st = &p->st;

	if (!st->on) {
		return;
	}
	state_sync(p, "final");
	logf_(p,
	      "state final hash=%016" PRIx64 " count=%" PRIu64
	      " held=%d seed=%" PRIx64 "/%" PRIu64,
	      st->hash, st->count, st->held ? 1 : 0, st->seed_inc,
	      st->seed_len);
}

static void
on_message(haq_group_t *g, uint32_t nodeid, uint32_t pid, const void *data,
	   size_t len, void *ud)
{
	struct probe *p = ud;
	const uint8_t *m = data;
	uint32_t mn, mp;
	uint64_t inc, seq;

	(void)g;
	/* A change of who holds is logged before the message. */
	state_sync(p, "deliver");
	if (len < PROBE_HDR || get32(m) != PROBE_MAGIC) {
		logf_(p, "foreign from=%u/%u len=%zu", nodeid, pid, len);
		return;
	}
	mn = get32(m + 4);
	mp = get32(m + 8);
	inc = get64(m + 16);
	seq = get64(m + 24);
	if (mn != nodeid || mp != pid) {
		logf_(p,
		      "bad from=%u/%u inc=%" PRIx64 " seq=%" PRIu64
		      " why=sender-is-%u/%u",
		      nodeid, pid, inc, seq, mn, mp);
		return;
	}
	for (size_t i = PROBE_HDR; i < len; i++) {
		if (m[i] != (uint8_t)(seq + i)) {
			logf_(p,
			      "bad from=%u/%u inc=%" PRIx64 " seq=%" PRIu64
			      " why=filler-at-%zu",
			      nodeid, pid, inc, seq, i);
			return;
		}
	}
	logf_(p, "deliver from=%u/%u inc=%" PRIx64 " seq=%" PRIu64 " len=%zu",
	      nodeid, pid, inc, seq, len);
	if (p->st.on) {
		if (p->st.held) {
			state_apply(p, m, len);
		} else {
			/* libhaq must give messages only to a holder. */
			logf_(p,
			      "state unheld from=%u/%u inc=%" PRIx64
			      " seq=%" PRIu64,
			      nodeid, pid, inc, seq);
		}
	}
	if (inc == p->inc && nodeid == p->nodeid && pid == p->pid &&
	    seq > p->self_seq) {
		p->self_seq = seq;
	}
}

/* ------------------------------------------------------------------ */
/* Sending                                                            */
/* ------------------------------------------------------------------ */

static void
send_one(struct probe *p)
{
	uint64_t id = haq_group_next_id(p->g);
	size_t len = p->size;
	int rc;

	if (p->size_max > p->size) {
		/* Lengths vary with the seq: records of many sizes. */
		len = p->size +
		      (size_t)(id * 37u % (p->size_max - p->size + 1));
	}
	if (p->big_every && id % p->big_every == 0) {
		len = p->big_size;
	}
	put64(p->msg + 24, id);
	for (size_t i = PROBE_HDR; i < len; i++) {
		p->msg[i] = (uint8_t)(id + i);
	}
	rc = haq_group_send(p->g, p->msg, len);
	if (rc == 0) {
		logf_(p, "send seq=%" PRIu64 " len=%zu", id, len);
		if (haq_group_next_id(p->g) != id + 1) {
			logf_(p, "bad_id expected=%" PRIu64 " got=%" PRIu64,
			      id + 1, haq_group_next_id(p->g));
		}
		return;
	}
	logf_(p, "send_err seq=%" PRIu64 " rc=%d err=\"%s\"", id, rc,
	      haq_strerror(rc));
	if (rc == -ENOBUFS) {
		p->blocked = true;
	}
}

/* ------------------------------------------------------------------ */
/* Main                                                               */
/* ------------------------------------------------------------------ */

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: haq-probe --log FILE [--group NAME] [--rate "
		"MSG_PER_S]\n"
		"                 [--size BYTES [--size-max BYTES]] [--burst "
		"N]\n"
		"                 [--compress BYTES]\n"
		"                 [--big-every N --big-size BYTES]\n"
		"                 [--drain MS] [--connect-timeout S] "
		"[--resign-after MS]\n"
		"                 [--state [--state-seed BYTES] "
		"[--state-buffer BYTES]\n"
		"                  [--state-stall MS] [--slow-provider "
		"BYTES_PER_S]]\n"
		"                 [--locks N [--lock-hold MIN-MAX] "
		"[--lock-pause MS]\n"
		"                  [--lock-try PERCENT]]\n"
		"Join NAME (default haq-probe), send sequence-numbered "
		"messages\n"
		"at the rate (default 50/s; 0: receive only) and log every "
		"event\n"
		"to FILE. Messages are --size bytes (at least 32), every "
		"--big-every\n"
		"th one --big-size bytes (above 1 MiB libhaq fragments it).\n"
		"--size-max: lengths vary from --size to it, by seq.\n"
		"--burst N: N messages at each tick of the rate (default 1),\n"
		"so that several wait at once and libhaq bundles them.\n"
		"--compress BYTES: haq_group_set_compress() (messages and\n"
		"the state's frames of at least BYTES go lz4-compressed).\n"
		"SIGTERM/SIGINT: stop sending, wait up to --drain ms\n"
		"(default 5000) for the own messages to come back, log the\n"
		"counters and exit 0. SIGHUP: stop sending, keep receiving.\n"
		"SIGUSR1: log the counters. SIGUSR2:\n"
		"resign leadership (haq_group_resign()); --resign-after MS:\n"
		"resign MS ms after each promotion.\n"
		"--state: keep a replicated state (a hash chain over the\n"
		"messages applied, on a seed of --state-seed bytes, default\n"
		"65536) with libhaq's state transfer; send only while holding\n"
		"it. --state-buffer: HAQ_STATE_BUFFER; --state-stall:\n"
		"HAQ_STATE_STALL; --slow-provider: write the state at that\n"
		"many bytes per second.\n"
		"--locks N: lock churn on lock0..lockN-1, one request at a\n"
		"time: hold each grant MIN-MAX ms (default 50-500), pause\n"
		"0..MS ms between (default 200), HAQ_LOCK_TRY in PERCENT of\n"
		"the requests (default 50).\n");
}

static int
connect_ctx(struct probe *p, int timeout_s)
{
	uint64_t end =
		clock_us(CLOCK_MONOTONIC) + (uint64_t)timeout_s * 1000000u;
	int rc;

	for (;;) {
		rc = haq_ctx_new(&p->ctx, NULL);
		if (rc == 0) {
			haq_ctx_set_log(p->ctx, on_log, p);
			rc = haq_group_join(p->ctx, p->group, &p->g);
			if (rc == 0) {
				return 0;
			}
			haq_ctx_free(p->ctx);
			p->ctx = NULL;
		}
		if (clock_us(CLOCK_MONOTONIC) >= end) {
			fprintf(stderr, "haq-probe: cannot join %s: %s\n",
				p->group, haq_strerror(rc));
			return rc;
		}
		usleep(200000);
	}
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"log", required_argument, NULL, 'l'},
		{"group", required_argument, NULL, 'g'},
		{"rate", required_argument, NULL, 'r'},
		{"size", required_argument, NULL, 's'},
		{"size-max", required_argument, NULL, 'z'},
		{"burst", required_argument, NULL, 'b'},
		{"compress", required_argument, NULL, 'C'},
		{"drain", required_argument, NULL, 'd'},
		{"big-every", required_argument, NULL, 'B'},
		{"big-size", required_argument, NULL, 'S'},
		{"connect-timeout", required_argument, NULL, 'c'},
		{"resign-after", required_argument, NULL, 'R'},
		{"state", no_argument, NULL, 'T'},
		{"state-seed", required_argument, NULL, 'E'},
		{"state-buffer", required_argument, NULL, 'U'},
		{"state-stall", required_argument, NULL, 'L'},
		{"slow-provider", required_argument, NULL, 'W'},
		{"locks", required_argument, NULL, 'k'},
		{"lock-hold", required_argument, NULL, 'H'},
		{"lock-pause", required_argument, NULL, 'P'},
		{"lock-try", required_argument, NULL, 'Y'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct probe pr = {0}, *p = &pr;
	const char *logpath = NULL;
	int connect_timeout = 30;
	uint64_t drain_end = 0;
	struct pollfd pfd[3];
	sigset_t mask;
	int tfd, sfd, c, rc;

	p->group = "haq-probe";
	p->rate = 50;
	p->size = PROBE_HDR;
	p->burst = 1;
	p->drain_ms = 5000;
	p->st.seed_opt = 65536;
	p->lk.hold_min = 50;
	p->lk.hold_max = 500;
	p->lk.pause = 200;
	p->lk.try_pct = 50;
	while ((c = getopt_long(argc, argv,
				"l:g:r:s:z:b:C:d:c:B:S:R:TE:U:L:W:k:H:P:Y:h", opts,
				NULL)) != -1) {
		switch (c) {
		case 'l':
			logpath = optarg;
			break;
		case 'g':
			p->group = optarg;
			break;
		case 'r':
			p->rate = strtod(optarg, NULL);
			break;
		case 's':
			p->size = strtoul(optarg, NULL, 10);
			break;
		case 'z':
			p->size_max = strtoul(optarg, NULL, 10);
			break;
		case 'b':
			p->burst = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'C':
			p->compress = strtoul(optarg, NULL, 10);
			break;
		case 'd':
			p->drain_ms = atoi(optarg);
			break;
		case 'B':
			p->big_every = strtoull(optarg, NULL, 10);
			break;
		case 'S':
			p->big_size = strtoul(optarg, NULL, 10);
			break;
		case 'c':
			connect_timeout = atoi(optarg);
			break;
		case 'R':
			p->resign_after_ms = atoi(optarg);
			break;
		case 'T':
			p->st.on = true;
			break;
		case 'E':
			p->st.seed_opt = strtoull(optarg, NULL, 10);
			break;
		case 'U':
			p->st.buffer_opt = strtoull(optarg, NULL, 10);
			break;
		case 'L':
			p->st.stall_opt = strtoull(optarg, NULL, 10);
			break;
		case 'W':
			p->st.slow = strtoull(optarg, NULL, 10);
			break;
		case 'k':
			p->lk.n = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'H': {
			char *end;

			p->lk.hold_min =
				(unsigned int)strtoul(optarg, &end, 10);
			p->lk.hold_max =
				*end == '-' ? (unsigned int)strtoul(end + 1,
								    NULL, 10)
					    : p->lk.hold_min;
			break;
		}
		case 'P':
			p->lk.pause = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'Y':
			p->lk.try_pct = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!logpath || p->rate < 0 || p->size > 16u * 1024 * 1024 ||
	    p->big_size > 64u * 1024 * 1024 || p->lk.n > 100000 ||
	    p->lk.hold_max < p->lk.hold_min || p->lk.try_pct > 100 ||
	    p->size_max > 16u * 1024 * 1024 || p->burst < 1 ||
	    p->burst > 1000) {
		usage(stderr);
		return 2;
	}
	if (p->size < PROBE_HDR) {
		p->size = PROBE_HDR;
	}
	if (p->big_size < p->size) {
		p->big_size = p->size;
	}
	if (p->size_max && p->size_max < p->size) {
		p->size_max = p->size;
	}
	p->log_fd =
		open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (p->log_fd < 0) {
		fprintf(stderr, "haq-probe: %s: %s\n", logpath,
			strerror(errno));
		return 2;
	}
	p->logcap = 256 * 1024;
	p->logbuf = malloc(p->logcap);
	p->msg = calloc(1,
			p->big_size > p->size_max ? p->big_size : p->size_max);
	if (!p->logbuf || !p->msg) {
		return 2;
	}

	/* Signals arrive through a descriptor: no handler runs inside libhaq.
	 */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (sfd < 0 || tfd < 0) {
		perror("haq-probe: signalfd/timerfd");
		return 2;
	}

	p->pid = (uint32_t)getpid();
	if (getrandom(&p->inc, sizeof(p->inc), 0) != (ssize_t)sizeof(p->inc) ||
	    p->inc == 0) {
		p->inc = clock_us(CLOCK_REALTIME) ^ ((uint64_t)p->pid << 40);
	}
	rc = connect_ctx(p, connect_timeout);
	if (rc < 0) {
		return 1;
	}
	p->connected = true;
	haq_ctx_local_nodeid(p->ctx, &p->nodeid);
	put32(p->msg, PROBE_MAGIC);
	put32(p->msg + 4, p->nodeid);
	put32(p->msg + 8, p->pid);
	put32(p->msg + 12, 0);
	put64(p->msg + 16, p->inc);
	logf_(p,
	      "start node=%u pid=%u inc=%" PRIx64
	      " group=%s rate=%g size=%zu size_max=%zu burst=%u compress=%zu"
	      " big_every=%" PRIu64 " big_size=%zu",
	      p->nodeid, p->pid, p->inc, p->group, p->rate, p->size,
	      p->size_max, p->burst, p->compress, p->big_every, p->big_size);
	haq_ctx_set_connection_cb(p->ctx, on_conn, p);
	haq_ctx_set_quorum_cb(p->ctx, on_quorum, p);
	haq_group_set_message_cb(p->g, on_message, p);
	haq_group_set_view_cb(p->g, on_view, p);
	haq_group_set_leader_cb(p->g, on_leader, p);
	haq_group_set_uncertain_cb(p->g, on_uncertain, p);
	haq_group_set_writable_cb(p->g, on_writable, p);
	if (p->lk.n) {
		p->lk.rng = p->inc | 1u;
		rc = haq_group_set_lock_cb(p->g, on_lock, p);
		if (rc < 0) {
			fprintf(stderr, "haq-probe: locks: %s\n",
				haq_strerror(rc));
			return 1;
		}
		logf_(p, "lock config locks=%u hold=%u-%u pause=%u try=%u",
		      p->lk.n, p->lk.hold_min, p->lk.hold_max, p->lk.pause,
		      p->lk.try_pct);
		lock_idle(p);
	}
	if (p->compress &&
	    (rc = haq_group_set_compress(p->g, p->compress)) < 0) {
		fprintf(stderr, "haq-probe: --compress: %s\n",
			haq_strerror(rc));
		return 2;
	}
	if (p->st.on) {
		/* Right after the join: before the first view. */
		if ((p->st.buffer_opt &&
		     (rc = haq_group_state_limit(p->g, HAQ_STATE_BUFFER,
						 p->st.buffer_opt)) < 0) ||
		    (p->st.stall_opt &&
		     (rc = haq_group_state_limit(p->g, HAQ_STATE_STALL,
						 p->st.stall_opt)) < 0) ||
		    (rc = haq_group_set_state_cbs(
			     p->g, on_state_provide, on_state_writable,
			     on_state_chunk, on_state_status, p)) < 0) {
			fprintf(stderr, "haq-probe: state transfer: %s\n",
				haq_strerror(rc));
			return 1;
		}
		logf_(p,
		      "state config seed=%" PRIu64 " buffer=%" PRIu64
		      " stall=%" PRIu64 " slow=%" PRIu64,
		      p->st.seed_opt, p->st.buffer_opt, p->st.stall_opt,
		      p->st.slow);
	}
	{
		/* The state at start; later changes come through on_quorum. */
		const haq_quorum_t *q;

		if (haq_quorum_get(p->ctx, &q) == 0) {
			on_quorum(p->ctx, q, p);
		}
	}
	if (p->rate > 0) {
		uint64_t ns = (uint64_t)(1e9 / p->rate);
		struct itimerspec its = {
			.it_interval = {(time_t)(ns / 1000000000u),
					(long)(ns % 1000000000u)},
			.it_value = {(time_t)(ns / 1000000000u),
				     (long)(ns % 1000000000u)},
		};

		timerfd_settime(tfd, 0, &its, NULL);
	}
	p->next_counters_us = clock_us(CLOCK_MONOTONIC) + 5000000u;
	log_flush(p);

	pfd[0].fd = haq_ctx_fd(p->ctx);
	pfd[0].events = POLLIN;
	pfd[1].fd = tfd;
	pfd[1].events = POLLIN;
	pfd[2].fd = sfd;
	pfd[2].events = POLLIN;
	for (;;) {
		uint64_t now;
		int timeout = 200;

		if (p->stopping) {
			timeout = 20;
		}
		if (p->st.wid && p->st.slow && !p->st.wblocked) {
			timeout = 10;
		}
		timeout = lock_timeout(p, timeout);
		if (p->resign_at_us) {
			uint64_t t = clock_us(CLOCK_MONOTONIC);
			uint64_t left =
				p->resign_at_us > t
					? (p->resign_at_us - t) / 1000u + 1
					: 0;

			if (left < (uint64_t)timeout) {
				timeout = (int)left;
			}
		}
		if (poll(pfd, 3, timeout) < 0 && errno != EINTR) {
			perror("haq-probe: poll");
			break;
		}
		if (pfd[2].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) ==
			       (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGUSR1) {
					log_counters(p);
					continue;
				}
				if (si.ssi_signo == SIGUSR2) {
					resign(p, "signal");
					continue;
				}
				if (si.ssi_signo == SIGHUP) {
					/* Quiet: stop sending, go on
					 * delivering (a scenario lets the
					 * stream settle before it stops the
					 * probes, so final states compare). */
					struct itimerspec off = {0};

					timerfd_settime(tfd, 0, &off, NULL);
					logf_(p, "quiet next_id=%" PRIu64,
					      haq_group_next_id(p->g));
					continue;
				}
				if (!p->stopping) {
					struct itimerspec off = {0};

					timerfd_settime(tfd, 0, &off, NULL);
					p->stopping = true;
					p->stop_next_id =
						haq_group_next_id(p->g);
					drain_end =
						clock_us(CLOCK_MONOTONIC) +
						(uint64_t)p->drain_ms * 1000u;
					logf_(p,
					      "stopping signal=%u "
					      "next_id=%" PRIu64,
					      si.ssi_signo, p->stop_next_id);
				}
			}
		}
		if (pfd[1].revents & POLLIN) {
			uint64_t ticks = 0;

			if (read(tfd, &ticks, sizeof(ticks)) !=
			    (ssize_t)sizeof(ticks)) {
				ticks = 0;
			}
			/* Catch up, but boundedly, after a stall. */
			if (ticks > 100) {
				ticks = 100;
			}
			ticks *= p->burst;
			/* With a state, updates only from a holder. */
			for (uint64_t i = 0;
			     i < ticks && !p->blocked && !p->stopping &&
			     (!p->st.on || p->st.held);
			     i++) {
				send_one(p);
			}
		}
		/* Dispatch until the fd has nothing more (bounded rounds). */
		for (int i = 0; i < 64; i++) {
			struct pollfd one = {.fd = pfd[0].fd, .events = POLLIN};

			rc = haq_ctx_dispatch(p->ctx);
			if (rc < 0) {
				logf_(p, "dispatch_err rc=%d err=\"%s\"", rc,
				      haq_strerror(rc));
				log_flush(p);
				return 1;
			}
			if (poll(&one, 1, 0) <= 0) {
				break;
			}
		}
		state_sync(p, "round");
		lock_round(p);
		if (p->st.wid && p->st.slow) {
			state_write_slow(p);
		}
		now = clock_us(CLOCK_MONOTONIC);
		if (p->resign_at_us && now >= p->resign_at_us && p->leading &&
		    !p->stopping) {
			resign(p, "after");
		}
		if (p->leading) {
			log_lease(p, false); /* a renewal moved the deadline */
		}
		if (now >= p->next_counters_us) {
			log_counters(p);
			p->next_counters_us = now + 5000000u;
		}
		if (p->stopping) {
			bool done = p->self_seq + 1 >= p->stop_next_id ||
				    p->uncertain_last + 1 >= p->stop_next_id;
			size_t queued = 0;

			haq_group_queued(p->g, NULL, &queued);
			if ((done && queued == 0) || now >= drain_end) {
				logf_(p,
				      "drained %s self=%" PRIu64 " queued=%zu",
				      done && queued == 0 ? "ok" : "timeout",
				      p->self_seq, queued);
				break;
			}
		}
		log_flush(p);
	}
	log_counters(p);
	state_log_final(p);
	logf_(p, "exit");
	log_flush(p);
	haq_ctx_free(p->ctx);
	close(p->log_fd);
	free(p->logbuf);
	free(p->msg);
	return 0;
}
