/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Locks on a group: the glue between the agreed stream and the lock
 * table of lock.c, this process's own requests, and the public calls.
 *
 * - The table is the quorate partition's. A member's table is valid while
 *   it stays in quorate views; a view that is not quorate makes it
 *   invalid, and its holders are told at once that they lost their locks.
 * - Every view starts a round: each member sends a LOCK_SYNC, with its
 *   table when that is valid. Until the round settles no operation is
 *   applied (they are kept, in order); the first valid table delivered is
 *   adopted by every member, and the kept operations applied to it. When
 *   no member has a valid table (a cold start, or every partition lost
 *   quorum), the round settles once every member spoke, with an empty
 *   table whose tokens go on from the highest any member told.
 *   Only one partition is quorate at a time, so all valid tables of a
 *   view are the same table.
 * - Grants happen only in a quorate view. This process is told of its
 *   own grant after a takeover delay when a node left the ring within
 *   the delay before (the holder it follows may still think it holds
 *   the lock, until its lease runs out), as the leader is
 *   (haq_group_leader_timing()).
 * - A holder's lease runs L (HAQ_TIMING_LEASE) from the sending of its
 *   latest frame that came back through corosync (its ACQUIRE, or a
 *   renewal made every I while it holds a lock), as the leader's does: a
 *   grant is told only within that lease (else after a renewal came back),
 *   so a grant delivered late to a process that stalled while its node was
 *   cut off is never told. When no renewal comes back in time the holder
 *   is told it lost its locks, and releases them.
 */
#include "group.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sendwin.h"

#define MS 1000000ull
/* Operations kept while a round is unsettled, at most (then dropped, the
 * same at every member; their senders send them again). */
#define LOG_MAX 65536u

enum mine_state {
	MINE_SENT = 0,	 /* ACQUIRE not delivered yet */
	MINE_QUEUED = 1, /* delivered: waits in the table (or must be resent) */
	MINE_PENDING = 2, /* granted: told after the takeover delay */
	MINE_HELD = 3,	  /* granted and told */
};

struct haq_lock_mine {
	struct haq_lock_mine *next;
	char name[HAQ_LOCK_NAME_MAX_ + 1];
	size_t nlen;
	uint64_t req;
	uint64_t sent_at; /* its latest ACQUIRE was sent then */
	bool try_;
	bool lost; /* held, and not in the table a round settled on */
	int state;
	uint64_t token;
};

struct haq_lock_kept {
	struct haq_lock_kept *next;
	uint32_t nodeid;
	uint32_t pid;
	size_t len;
	uint8_t data[];
};

static uint64_t
timing_ns(const struct haq_group *g, int which)
{
	return (uint64_t)g->lead.timing[which] * MS;
}

static uint64_t
realtime_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/*
 * Test switch HAQ_TEST_NO_LOCK_GUARD=1: no takeover guard (grants are told
 * at once after a node left). Breaks the lock guarantee on purpose: the
 * fault tests' negative control (tests/fault/README.md). Never set it
 * elsewhere.
 */
static bool
no_guard(void)
{
	const char *v = getenv("HAQ_TEST_NO_LOCK_GUARD");

	return v && strcmp(v, "1") == 0;
}

void
haq__lock_init(struct haq_group *g)
{
	memset(&g->lk, 0, sizeof(g->lk));
	haq__lock_table_init(&g->lk.t);
	g->lk.next_req = 1;
}

static void
kept_clear(struct haq_group *g)
{
	while (g->lk.kept) {
		struct haq_lock_kept *k = g->lk.kept;

		g->lk.kept = k->next;
		free(k);
	}
	g->lk.kept_tail = NULL;
	g->lk.nkept = 0;
}

void
haq__lock_free(struct haq_group *g)
{
	while (g->lk.mine) {
		struct haq_lock_mine *m = g->lk.mine;

		g->lk.mine = m->next;
		free(m);
	}
	kept_clear(g);
	haq__lock_table_free(&g->lk.t);
	free(g->lk.spoke);
	g->lk.spoke = NULL;
	free(g->lk.ev);
	g->lk.ev = NULL;
}

static struct haq_lock_mine *
find_mine(struct haq_group *g, const char *name, size_t nlen)
{
	for (struct haq_lock_mine *m = g->lk.mine; m; m = m->next) {
		if (m->nlen == nlen && !memcmp(m->name, name, nlen)) {
			return m;
		}
	}
	return NULL;
}

static void
remove_mine(struct haq_group *g, struct haq_lock_mine *m)
{
	for (struct haq_lock_mine **pp = &g->lk.mine; *pp;
	     pp = &(*pp)->next) {
		if (*pp == m) {
			*pp = m->next;
			if (m->state == MINE_HELD) {
				g->lk.nheld--;
			}
			free(m);
			return;
		}
	}
}

static void
malformed(struct haq_group *g, uint32_t nodeid, uint32_t pid, size_t len)
{
	g->counters[HAQ_COUNTER_LOCK_MALFORMED]++;
	haq__log(g->ctx, HAQ_LOG_DEBUG,
		 "group %s: dropped a malformed lock frame of %zu bytes from "
		 "%u/%u",
		 g->name, len, nodeid, pid);
}

/* Frames of this process (ACQUIRE, RELEASE): behind its messages. */
static int
send_op(struct haq_group *g, bool acquire, struct haq_lock_mine *m,
	uint64_t req)
{
	uint8_t buf[HAQ_LOCK_ACQUIRE_HDR + HAQ_LOCK_NAME_MAX_];
	size_t len;

	if (acquire) {
		m->sent_at = haq__now();
		len = haq__lock_encode_acquire(buf, HAQ_CONTROL_LOCK_ACQUIRE,
					       m->try_, m->req, realtime_us(),
					       m->name, m->nlen);
	} else {
		len = haq__lock_encode_release(buf, HAQ_CONTROL_LOCK_RELEASE,
					       req, m->name, m->nlen);
	}
	return haq__tx_queue_control(g, buf, len);
}

/* A RELEASE for a request of ours the table holds and we do not know. */
static void
send_release(struct haq_group *g, const char *name, size_t nlen, uint64_t req)
{
	struct haq_lock_mine m = {.nlen = nlen};

	memcpy(m.name, name, nlen);
	if (send_op(g, false, &m, req) < 0) {
		haq__log(g->ctx, HAQ_LOG_ERR,
			 "group %s: out of memory for a lock release",
			 g->name);
	}
}

static void
renew(struct haq_group *g, uint64_t now)
{
	uint8_t buf[HAQ_LOCK_RENEW_LEN];

	memset(buf, 0, sizeof(buf));
	buf[0] = HAQ_CONTROL_LOCK_RENEW;
	g->lk.renew_nonce++;
	haq__put_le64(buf + 8, g->lk.renew_nonce);
	g->lk.renew_sent = now;
	if (haq__tx_control_now(g, buf, sizeof(buf)) < 0) {
		haq__log(g->ctx, HAQ_LOG_ERR,
			 "group %s: out of memory for a lock renewal",
			 g->name);
	}
	haq__timers_update(g->ctx);
}

/* Tell the application; whether the group is still alive. */
static bool
tell(struct haq_group *g, const char *name, int status, uint64_t token)
{
	if (haq__group_alive(g) && g->lk.fn) {
		g->lk.fn(g, name, status, token, g->lk.ud);
	}
	return haq__group_alive(g);
}

/* The lease that this process's latest frame back gives. */
static uint64_t
lease_from_alive(const struct haq_group *g)
{
	return g->lk.alive_at ? g->lk.alive_at + timing_ns(g, HAQ_TIMING_LEASE)
			      : 0;
}

/* Whether a grant may be told now: past the guard, within the lease. */
static bool
may_tell(const struct haq_group *g, uint64_t now)
{
	return now >= g->lk.guard_until && now < lease_from_alive(g);
}

/* Our request m now holds its lock: told now (may_tell() said so). */
static bool
hold(struct haq_group *g, struct haq_lock_mine *m)
{
	char name[HAQ_LOCK_NAME_MAX_ + 1];
	uint64_t until = lease_from_alive(g);

	m->state = MINE_HELD;
	if (g->lk.nheld++ == 0 || until > g->lk.lease_deadline) {
		g->lk.lease_deadline = until;
	}
	haq__timers_update(g->ctx);
	memcpy(name, m->name, m->nlen + 1);
	return tell(g, name, 0, m->token);
}

/*
 * Every held lock of ours is lost, and every grant not told yet when
 * pending (status why for both); each is released in the table too when
 * release.
 */
static bool
lose_all(struct haq_group *g, int why, bool release, bool pending)
{
	struct haq_lock_mine *m;

	for (;;) {
		char name[HAQ_LOCK_NAME_MAX_ + 1];
		uint64_t req;

		for (m = g->lk.mine; m; m = m->next) {
			if (m->state == MINE_HELD ||
			    (pending && m->state == MINE_PENDING)) {
				break;
			}
		}
		if (!m) {
			return haq__group_alive(g);
		}
		memcpy(name, m->name, m->nlen + 1);
		req = m->req;
		remove_mine(g, m);
		/*
		 * Told first, released after: the application stops what the
		 * lock protects before anyone else can be granted it.
		 */
		if (!tell(g, name, why, 0)) {
			return false;
		}
		if (release) {
			send_release(g, name, strlen(name), req);
		}
	}
}

/* ---------------------------------------------------------------- */
/* Applying the table's events to this process's requests           */
/* ---------------------------------------------------------------- */

/* Collects the events of one table operation that concern this process. */
static void
collect(void *arg, const struct haq_lock_event *ev)
{
	struct haq_group *g = arg;
	struct haq_lock_ev *e;

	if (!haq__is_self(g, ev->who.nodeid, ev->who.pid)) {
		return;
	}
	if (g->lk.nev == g->lk.evcap) {
		size_t cap = g->lk.evcap ? 2 * g->lk.evcap : 8;
		struct haq_lock_ev *p = realloc(g->lk.ev, cap * sizeof(*p));

		if (!p) {
			haq__log(g->ctx, HAQ_LOG_ERR,
				 "group %s: out of memory for a lock event",
				 g->name);
			return;
		}
		g->lk.ev = p;
		g->lk.evcap = cap;
	}
	e = &g->lk.ev[g->lk.nev++];
	e->what = ev->what;
	e->req = ev->who.req;
	e->token = ev->token;
	e->nlen = strlen(ev->name);
	memcpy(e->name, ev->name, e->nlen + 1);
}

/* Act on the collected events; whether the group is still alive. */
static bool
run_events(struct haq_group *g)
{
	uint64_t now = haq__now();

	for (size_t i = 0; i < g->lk.nev && haq__group_alive(g); i++) {
		struct haq_lock_ev e = g->lk.ev[i];
		struct haq_lock_mine *m = find_mine(g, e.name, e.nlen);
		int status;

		if (!m || m->req != e.req) {
			/* Not a request of ours any more (an old one sent
			 * again, or one we gave up): let it go. */
			if (e.what == HAQ_LOCK_EV_GRANTED) {
				send_release(g, e.name, e.nlen, e.req);
			}
			continue;
		}
		if (e.what == HAQ_LOCK_EV_GRANTED) {
			m->token = e.token;
			if (g->have_view &&
			    haq__group_verdict(g, g->ring_seq) != 1) {
				/* Our partition is losing quorum already. */
				remove_mine(g, m);
				if (!tell(g, e.name, -ENOLCK, 0)) {
					break;
				}
				send_release(g, e.name, e.nlen, e.req);
			} else if (may_tell(g, now)) {
				if (!hold(g, m)) {
					break;
				}
			} else {
				/* After the guard, or a renewal back. */
				m->state = MINE_PENDING;
				if (now >= g->lk.guard_until && !g->lk.renew_sent) {
					renew(g, now);
				}
				haq__timers_update(g->ctx);
			}
			continue;
		}
		status = e.what == HAQ_LOCK_EV_BUSY	  ? -EBUSY
			 : e.what == HAQ_LOCK_EV_NOQUORUM ? -EAGAIN
							  : -ENOSPC;
		remove_mine(g, m);
		if (!tell(g, e.name, status, 0)) {
			break;
		}
	}
	g->lk.nev = 0;
	return haq__group_alive(g);
}

/* Apply one ACQUIRE or RELEASE frame to the table. */
static void
apply(struct haq_group *g, uint32_t nodeid, uint32_t pid, const uint8_t *c,
      size_t len)
{
	struct haq_lock_op op;
	bool self = haq__is_self(g, nodeid, pid);
	int rc;

	if (c[0] == HAQ_CONTROL_LOCK_ACQUIRE) {
		if (haq__lock_decode_acquire(c, len, &op) < 0) {
			malformed(g, nodeid, pid, len);
			return;
		}
		if (self) {
			struct haq_lock_mine *m =
				find_mine(g, op.name, op.nlen);

			if (m && m->req == op.req && m->state == MINE_SENT) {
				m->state = MINE_QUEUED;
				if (m->sent_at > g->lk.alive_at) {
					g->lk.alive_at = m->sent_at;
				}
			}
		}
		rc = haq__lock_acquire(&g->lk.t, nodeid, pid, &op, g->lk.grant,
				       collect, g);
	} else {
		if (haq__lock_decode_release(c, len, &op) < 0) {
			malformed(g, nodeid, pid, len);
			return;
		}
		rc = haq__lock_release(&g->lk.t, nodeid, pid, &op, g->lk.grant,
				       collect, g);
	}
	if (rc == -ENOMEM) {
		haq__log(g->ctx, HAQ_LOG_ERR,
			 "group %s: out of memory for the lock table: the "
			 "table of this member is not the group's any more",
			 g->name);
		g->lk.valid = false;
	}
}

/* ---------------------------------------------------------------- */
/* Rounds                                                           */
/* ---------------------------------------------------------------- */

static void
send_sync(struct haq_group *g, uint16_t round, bool restart)
{
	size_t tlen = g->lk.valid ? haq__lock_encoded_len(&g->lk.t) : 0;
	uint8_t *buf = malloc(HAQ_LOCK_SYNC_HDR + tlen);

	if (!buf) {
		haq__log(g->ctx, HAQ_LOG_ERR,
			 "group %s: out of memory for a lock table", g->name);
		return;
	}
	haq__lock_encode_sync_hdr(buf, HAQ_CONTROL_LOCK_SYNC, g->lk.valid,
				  restart, round, g->view.id,
				  g->lk.t.last_token);
	if (tlen) {
		haq__lock_encode(&g->lk.t, buf + HAQ_LOCK_SYNC_HDR);
	}
	if (haq__tx_control_now(g, buf, HAQ_LOCK_SYNC_HDR + tlen) < 0) {
		haq__log(g->ctx, HAQ_LOG_ERR,
			 "group %s: out of memory for a lock table", g->name);
	}
	free(buf);
}

/* Whether an event of the table for request m waits to be run. */
static bool
has_event(const struct haq_group *g, const struct haq_lock_mine *m)
{
	for (size_t i = 0; i < g->lk.nev; i++) {
		const struct haq_lock_ev *e = &g->lk.ev[i];

		if (e->req == m->req && e->nlen == m->nlen &&
		    !memcmp(e->name, m->name, m->nlen)) {
			return true;
		}
	}
	return false;
}

/*
 * The round settled on table t (adopted, or empty): apply what was kept,
 * and bring this process's requests in line with the table.
 */
static void
settle(struct haq_group *g)
{
	struct haq_lock_mine *m;

	g->lk.synced = true;
	g->lk.valid = g->lk.quorate;
	g->lk.grant = g->lk.valid;
	haq__lock_purge(&g->lk.t, g->view.members, g->view.nmembers,
			g->lk.grant, collect, g);
	while (g->lk.kept) {
		struct haq_lock_kept *k = g->lk.kept;

		g->lk.kept = k->next;
		apply(g, k->nodeid, k->pid, k->data, k->len);
		free(k);
	}
	g->lk.kept_tail = NULL;
	g->lk.nkept = 0;

	/* Our requests the table does not have: held ones were lost. */
	for (m = g->lk.mine; m; m = m->next) {
		const struct haq_lock *l = haq__lock_find(&g->lk.t, m->name,
							  m->nlen);
		bool holds = l && l->held && l->holder.req == m->req &&
			     haq__is_self(g, l->holder.nodeid, l->holder.pid);
		bool waits = false;

		for (size_t i = 0; l && i < l->nwait; i++) {
			waits |= l->waiters[i].req == m->req &&
				 haq__is_self(g, l->waiters[i].nodeid,
					      l->waiters[i].pid);
		}
		if (holds || waits || m->state == MINE_SENT ||
		    has_event(g, m)) {
			continue; /* in the table, on its way, or answered */
		}
		if (m->state == MINE_HELD) {
			m->lost = true;
		} else {
			/* Its ACQUIRE went to a table that was not kept. */
			m->state = MINE_SENT;
			if (send_op(g, true, m, 0) < 0) {
				haq__log(g->ctx, HAQ_LOG_ERR,
					 "group %s: out of memory for a lock "
					 "request",
					 g->name);
			}
		}
	}
	/* Entries of ours we do not know of (our process's past): free. */
	for (size_t i = 0; i < g->lk.t.n; i++) {
		const struct haq_lock *l = &g->lk.t.locks[i];

		if (l->held &&
		    haq__is_self(g, l->holder.nodeid, l->holder.pid)) {
			m = find_mine(g, l->name, l->nlen);
			if (!m || m->req != l->holder.req) {
				send_release(g, l->name, l->nlen,
					     l->holder.req);
			}
		}
		for (size_t j = 0; j < l->nwait; j++) {
			const struct haq_lock_entry *w = &l->waiters[j];

			m = find_mine(g, l->name, l->nlen);
			if (haq__is_self(g, w->nodeid, w->pid) &&
			    (!m || m->req != w->req)) {
				send_release(g, l->name, l->nlen, w->req);
			}
		}
	}
}

/* Whether every member that runs locks has spoken in this round. */
static bool
all_spoke(struct haq_group *g)
{
	for (size_t i = 0; i < g->view.nmembers; i++) {
		const struct haq_memb *m = &g->view.members[i];
		const struct haq_peer *p;

		if (g->lk.spoke[i]) {
			continue;
		}
		if (haq__is_self(g, m->nodeid, m->pid)) {
			return false;
		}
		p = haq__peers_get(&g->peers, m->nodeid, m->pid);
		/* A build that announced what it runs, without locks. */
		if (!p || !p->caps || (p->caps & HAQ_CAP_LOCK)) {
			return false;
		}
	}
	return true;
}

/* Run what a settled round lets run; whether the group is alive. */
static bool
after_settle(struct haq_group *g)
{
	for (;;) {
		char name[HAQ_LOCK_NAME_MAX_ + 1];
		struct haq_lock_mine *m;

		for (m = g->lk.mine; m && !m->lost; m = m->next) {
		}
		if (!m) {
			break;
		}
		memcpy(name, m->name, m->nlen + 1);
		remove_mine(g, m);
		if (!tell(g, name, -ENOLCK, 0)) {
			g->lk.nev = 0;
			return false;
		}
	}
	return run_events(g);
}

/*
 * A valid table that is not ours while ours was valid too: two tables
 * each thought to be the quorate side's, which must not be. Whoever is
 * granted from the one adopted is told only after the takeover delay, so
 * the holders of the other are told their loss first.
 */
static void
differs(struct haq_group *g, const uint8_t *table, size_t len)
{
	uint8_t *mine;
	size_t n;
	bool same;

	if (!g->lk.valid) {
		return;
	}
	n = haq__lock_encoded_len(&g->lk.t);
	mine = n == len ? malloc(n) : NULL;
	if (mine) {
		haq__lock_encode(&g->lk.t, mine);
	}
	same = mine && memcmp(mine, table, n) == 0;
	free(mine);
	if (!same) {
		uint64_t until = haq__now() + timing_ns(g, HAQ_TIMING_TAKEOVER);

		haq__log(g->ctx, HAQ_LOG_WARNING,
			 "group %s: the lock table adopted is not this member's, "
			 "both valid: grants are told after the takeover delay",
			 g->name);
		if (until > g->lk.guard_until) {
			g->lk.guard_until = until;
		}
	}
}

static void
adopt(struct haq_group *g, const uint8_t *table, size_t len,
      uint64_t last_token)
{
	struct haq_lock_table t;
	int rc;

	haq__lock_table_init(&t);
	rc = table ? haq__lock_decode(&t, table, len, last_token) : 0;
	if (rc < 0) {
		haq__lock_table_free(&t);
		return;
	}
	t.last_token = last_token;
	haq__lock_table_free(&g->lk.t);
	g->lk.t = t;
	settle(g);
	(void)after_settle(g);
}

static void
on_sync(struct haq_group *g, uint32_t nodeid, uint32_t pid, const uint8_t *c,
	size_t len)
{
	uint64_t view_id;
	uint64_t last_token;
	uint16_t round;
	size_t pos;
	bool valid;
	bool restart;

	if (haq__lock_decode_sync_hdr(c, len, &valid, &restart, &round,
				      &view_id, &last_token) < 0) {
		malformed(g, nodeid, pid, len);
		return;
	}
	if (!g->lk.spoke || view_id != g->view.id ||
	    !haq__id_search(g->view.members, g->view.nmembers,
			    sizeof(*g->view.members), nodeid, pid, &pos)) {
		return; /* stale */
	}
	if (restart && round == (uint16_t)(g->lk.round + 1)) {
		/*
		 * Quorum came under this view (its sender saw it first): a
		 * new round, at this point of the stream for every member,
		 * after which the table grants.
		 */
		g->lk.round++;
		g->lk.quorate = true;
		g->lk.need_restart = false;
		if (g->lk.synced) {
			g->lk.synced = false;
			g->lk.grant = false;
			g->lk.round_token = 0;
			kept_clear(g);
		}
		memset(g->lk.spoke, 0,
		       g->view.nmembers * sizeof(*g->lk.spoke));
		if (!haq__is_self(g, nodeid, pid)) {
			send_sync(g, g->lk.round, false);
		}
	}
	if (g->lk.synced || round != g->lk.round) {
		return; /* the round settled, or another round's */
	}
	g->lk.spoke[pos] = true;
	if (last_token > g->lk.round_token) {
		g->lk.round_token = last_token;
	}
	if (valid) {
		struct haq_lock_table t;
		int rc;

		haq__lock_table_init(&t);
		rc = haq__lock_decode(&t, c + HAQ_LOCK_SYNC_HDR,
				      len - HAQ_LOCK_SYNC_HDR, last_token);
		if (rc == -EBADMSG) {
			malformed(g, nodeid, pid, len);
		} else if (rc == 0) {
			differs(g, c + HAQ_LOCK_SYNC_HDR, len - HAQ_LOCK_SYNC_HDR);
			t.last_token = g->lk.round_token;
			haq__lock_table_free(&g->lk.t);
			g->lk.t = t;
			settle(g);
			(void)after_settle(g);
			return;
		} else {
			haq__log(g->ctx, HAQ_LOG_ERR,
				 "group %s: out of memory for a lock table",
				 g->name);
		}
	}
	if (all_spoke(g)) {
		adopt(g, NULL, 0, g->lk.round_token);
	}
}

/* A control frame of type HAQ_CONTROL_LOCK_FIRST..HAQ_CONTROL_LOCK_LAST. */
void
haq__lock_control(struct haq_group *g, uint32_t nodeid, uint32_t pid,
		  const uint8_t *c, size_t len)
{
	if (g->caps_off) {
		return; /* acting as libhaq 0.3, which has no locks */
	}
	switch (c[0]) {
	case HAQ_CONTROL_LOCK_ACQUIRE:
	case HAQ_CONTROL_LOCK_RELEASE:
		if (!g->joined || !g->have_view) {
			return;
		}
		if (g->lk.synced) {
			apply(g, nodeid, pid, c, len);
			(void)run_events(g);
			return;
		}
		/*
		 * Our ACQUIRE is delivered: whether it is kept, or dropped
		 * here or by the next view's kept_clear(), the round's
		 * settle() sends it again unless the table has it. Left
		 * MINE_SENT, settle() would wait for it for ever.
		 */
		if (haq__is_self(g, nodeid, pid) &&
		    c[0] == HAQ_CONTROL_LOCK_ACQUIRE) {
			struct haq_lock_op op;

			if (haq__lock_decode_acquire(c, len, &op) == 0) {
				struct haq_lock_mine *m =
					find_mine(g, op.name, op.nlen);

				if (m && m->req == op.req &&
				    m->state == MINE_SENT) {
					m->state = MINE_QUEUED;
					if (m->sent_at > g->lk.alive_at) {
						g->lk.alive_at = m->sent_at;
					}
				}
			}
		}
		if (g->lk.nkept >= LOG_MAX) {
			/* The same at every member: the sender sends again. */
			return;
		} else {
			struct haq_lock_kept *k = malloc(sizeof(*k) + len);

			if (!k) {
				haq__log(g->ctx, HAQ_LOG_ERR,
					 "group %s: out of memory for a lock "
					 "operation",
					 g->name);
				return;
			}
			k->next = NULL;
			k->nodeid = nodeid;
			k->pid = pid;
			k->len = len;
			memcpy(k->data, c, len);
			if (g->lk.kept_tail) {
				g->lk.kept_tail->next = k;
			} else {
				g->lk.kept = k;
			}
			g->lk.kept_tail = k;
			g->lk.nkept++;
		}
		return;
	case HAQ_CONTROL_LOCK_RENEW:
		if (len != HAQ_LOCK_RENEW_LEN ||
		    memcmp(c + 1, "\0\0\0\0\0\0\0", 7) != 0) {
			break;
		}
		if (haq__is_self(g, nodeid, pid) && g->lk.renew_sent &&
		    haq__get_le64(c + 8) == g->lk.renew_nonce) {
			if (g->lk.renew_sent > g->lk.alive_at) {
				g->lk.alive_at = g->lk.renew_sent;
			}
			if (g->lk.nheld &&
			    lease_from_alive(g) > g->lk.lease_deadline) {
				g->lk.lease_deadline = lease_from_alive(g);
			}
			g->lk.renew_sent = 0;
			/* Grants waiting for it are told now. */
			haq__lock_timers(g, haq__now());
		}
		return;
	case HAQ_CONTROL_LOCK_SYNC:
		if (g->joined && g->have_view) {
			on_sync(g, nodeid, pid, c, len);
		}
		return;
	default:
		break;
	}
	malformed(g, nodeid, pid, len);
}

/* A member announced its capabilities: a round may wait for it no more. */
void
haq__lock_caps(struct haq_group *g)
{
	if (g->joined && g->have_view && !g->lk.synced && g->lk.spoke &&
	    all_spoke(g)) {
		adopt(g, NULL, 0, g->lk.round_token);
	}
}

/*
 * Whether members of this view left as their node went down although
 * their nodes are in the view's ring: the sign of a node that was frozen
 * (or cut off) while the others formed a ring without it, and is merged
 * back now; its view of the quorate side's history has a hole.
 */
static bool
missed_a_ring(const struct haq_group *g)
{
	const struct haq_quorum *q = g->ctx->quorum;

	if (!q || !q->valid || q->ring_seq != g->view.ring_seq) {
		return false;
	}
	for (size_t i = 0; i < g->view.nleft; i++) {
		const struct haq_memb *m = &g->view.left[i];

		if (m->reason != HAQ_REASON_NODEDOWN) {
			continue;
		}
		for (size_t k = 0; k < q->nnodes; k++) {
			if (q->nodes[k].nodeid == m->nodeid) {
				return true;
			}
		}
	}
	return false;
}

/* A new view: a new round. */
void
haq__lock_view(struct haq_group *g)
{
	uint64_t now = haq__now();
	uint64_t until = 0;
	bool nodedown = false;
	bool procdown = false;
	bool *spoke;

	if (!g->joined || g->caps_off) {
		return;
	}
	for (size_t i = 0; i < g->view.nleft; i++) {
		nodedown |= g->view.left[i].reason == HAQ_REASON_NODEDOWN;
		procdown |= g->view.left[i].reason == HAQ_REASON_PROCDOWN;
	}
	/*
	 * A process of a node cut off may hold on to a lock until its lease
	 * runs out; one whose process went down may be one whose corosync
	 * stopped under it (haq_group_leader_timing()).
	 */
	if (no_guard()) {
		until = 0;
	} else if (nodedown) {
		until = now + timing_ns(g, HAQ_TIMING_TAKEOVER);
	} else if (procdown) {
		until = now + timing_ns(g, HAQ_TIMING_RENEW);
	}
	if (until > g->lk.guard_until) {
		g->lk.guard_until = until;
	}
	if (g->view.quorate != 1) {
		g->lk.valid = false;
	} else if (g->lk.valid && nodedown && missed_a_ring(g)) {
		/*
		 * Our corosync was frozen (or cut off) while the others went
		 * on in a ring we were not in: what we hold may be granted
		 * there, and our table misses its operations.
		 */
		haq__log(g->ctx, HAQ_LOG_WARNING,
			 "group %s: members left as their node went down, yet "
			 "their nodes are in this ring: this node missed a "
			 "ring; its lock table and locks are given up",
			 g->name);
		g->lk.valid = false;
		if (!lose_all(g, -ENOLCK, true, true)) {
			return;
		}
	}
	/* Leavers' locks go with them (granted only once the round ends). */
	haq__lock_purge(&g->lk.t, g->view.members, g->view.nmembers, false,
			NULL, NULL);
	spoke = calloc(g->view.nmembers ? g->view.nmembers : 1,
		       sizeof(*spoke));
	if (!spoke) {
		haq__log(g->ctx, HAQ_LOG_ERR,
			 "group %s: out of memory for a lock round", g->name);
		return;
	}
	free(g->lk.spoke);
	g->lk.spoke = spoke;
	g->lk.synced = false;
	g->lk.grant = false;
	g->lk.quorate = g->view.quorate == 1;
	g->lk.need_restart = !g->lk.quorate;
	g->lk.round = 0;
	/* Only what is told in the round: the same at every member. */
	g->lk.round_token = 0;
	kept_clear(g);
	if (g->view.quorate != 1 && !lose_all(g, -ENOLCK, false, true)) {
		return;
	}
	send_sync(g, 0, false);
}

/* The ring's quorum verdict changed under a standing view. */
void
haq__lock_quorum_changed(struct haq_group *g)
{
	if (!g->joined || !g->have_view || g->caps_off || !g->lk.spoke) {
		return;
	}
	if (haq__group_verdict(g, g->ring_seq) == 1) {
		/* Quorum came back: a new round makes the table valid. */
		if (g->lk.need_restart) {
			g->lk.need_restart = false;
			send_sync(g, (uint16_t)(g->lk.round + 1), true);
		}
		return;
	}
	/* Not a moment longer than the partition is quorate. */
	g->lk.need_restart = true;
	g->lk.valid = false;
	(void)lose_all(g, -ENOLCK, true, true);
}

/* A ring of fewer nodes than the nodelist: holders elsewhere may live. */
void
haq__lock_totem(struct haq_group *g, bool ring_complete)
{
	uint64_t until;

	if (ring_complete || !g->joined || no_guard()) {
		return;
	}
	until = haq__now() + timing_ns(g, HAQ_TIMING_TAKEOVER);
	if (until > g->lk.guard_until) {
		g->lk.guard_until = until;
	}
}

/* Cut off from corosync: nothing held; requests sent again later. */
void
haq__lock_lost(struct haq_group *g)
{
	g->lk.valid = false;
	g->lk.synced = false;
	g->lk.grant = false;
	kept_clear(g);
	for (struct haq_lock_mine *m = g->lk.mine; m; m = m->next) {
		if (m->state == MINE_SENT) {
			m->state = MINE_QUEUED; /* sent again after the round */
		}
	}
	(void)lose_all(g, -ENOTCONN, false, true);
}

/* Whether this process has a grant not told yet. */
static bool
any_pending(const struct haq_group *g)
{
	for (const struct haq_lock_mine *m = g->lk.mine; m; m = m->next) {
		if (m->state == MINE_PENDING) {
			return true;
		}
	}
	return false;
}

void
haq__lock_timers(struct haq_group *g, uint64_t now)
{
	struct haq_lock_mine *m;
	bool pending;

	if (g->lk.nheld && now >= g->lk.lease_deadline) {
		g->counters[HAQ_COUNTER_LEASE_EXPIRED]++;
		haq__log(g->ctx, HAQ_LOG_WARNING,
			 "group %s: the lease of this process's locks ran out "
			 "(no renewal came back through corosync for %u ms): "
			 "releasing them",
			 g->name, g->lead.timing[HAQ_TIMING_LEASE]);
		if (!lose_all(g, -ETIME, true, false)) {
			return;
		}
	}
	while (may_tell(g, now)) {
		for (m = g->lk.mine; m && m->state != MINE_PENDING;
		     m = m->next) {
		}
		if (!m) {
			break;
		}
		if (!hold(g, m)) {
			return;
		}
	}
	pending = any_pending(g);
	if (!g->lk.nheld && !pending) {
		return;
	}
	if (g->lk.renew_sent &&
	    now - g->lk.renew_sent > timing_ns(g, HAQ_TIMING_LEASE)) {
		g->lk.renew_sent = 0; /* never came back: make another */
	}
	/* Every I while holding; at once for a grant past its lease. */
	if (!g->lk.renew_sent &&
	    (now >= g->lk.alive_at + timing_ns(g, HAQ_TIMING_RENEW) ||
	     (pending && now >= g->lk.guard_until && !may_tell(g, now)))) {
		renew(g, now);
	}
}

uint64_t
haq__lock_deadline(const struct haq_group *g)
{
	uint64_t d = 0;
	bool pending = any_pending(g);

	if (pending) {
		d = g->lk.guard_until;
	}
	if (g->lk.nheld && (!d || g->lk.lease_deadline < d)) {
		d = g->lk.lease_deadline;
	}
	if (g->lk.nheld || pending) {
		uint64_t r = g->lk.renew_sent
				     ? g->lk.renew_sent +
					       timing_ns(g, HAQ_TIMING_LEASE)
				     : g->lk.alive_at +
					       timing_ns(g, HAQ_TIMING_RENEW);

		if (!d || r < d) {
			d = r;
		}
	}
	return d;
}

/* ---------------------------------------------------------------- */
/* Public calls                                                     */
/* ---------------------------------------------------------------- */

_Static_assert(HAQ_LOCK_NAME_MAX == HAQ_LOCK_NAME_MAX_ &&
		       HAQ_LOCK_ENTRIES_MAX == HAQ_LOCK_ENTRIES_MAX_ &&
		       HAQ_COUNTER_LOCK_MALFORMED < HAQ_NCOUNTERS,
	       "lock constants");

HAQ_EXPORT int
haq_group_set_lock_cb(haq_group_t *g, haq_lock_fn fn, void *userdata)
{
	int rc = haq__group_enter(g, 0);

	if (rc < 0) {
		return rc;
	}
	if (!fn && g->lk.mine) {
		return -EBUSY;
	}
	g->lk.fn = fn;
	g->lk.ud = userdata;
	return 0;
}

/* A name argument: its length, or -EINVAL / -ENAMETOOLONG. */
static int
name_len(const char *name)
{
	size_t n;

	if (!name || !*name) {
		return -EINVAL;
	}
	n = strnlen(name, HAQ_LOCK_NAME_MAX + 1);
	return n > HAQ_LOCK_NAME_MAX ? -ENAMETOOLONG : (int)n;
}

HAQ_EXPORT int
haq_group_lock(haq_group_t *g, const char *name, unsigned int flags)
{
	struct haq_lock_mine *m;
	int nlen;
	int rc = haq__group_enter(g, 0);

	if (rc < 0) {
		return rc;
	}
	nlen = name_len(name);
	if (nlen < 0) {
		return nlen;
	}
	if ((flags & ~HAQ_LOCK_TRY) || !g->lk.fn) {
		return -EINVAL;
	}
	if (g->caps_off) {
		return -ENOTSUP;
	}
	if (find_mine(g, name, (size_t)nlen)) {
		return -EALREADY;
	}
	if (!haq__sendwin_admit(g->q.count, g->q.mem,
				haq__sendq_footprint(HAQ_LOCK_ACQUIRE_HDR +
						     (size_t)nlen),
				g->q.limit)) {
		g->want_writable = true;
		return -ENOBUFS;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		return -ENOMEM;
	}
	memcpy(m->name, name, (size_t)nlen);
	m->nlen = (size_t)nlen;
	m->req = g->lk.next_req;
	m->try_ = flags & HAQ_LOCK_TRY;
	m->state = MINE_SENT;
	rc = send_op(g, true, m, 0);
	if (rc < 0) {
		free(m);
		return rc;
	}
	g->lk.next_req++;
	m->next = g->lk.mine;
	g->lk.mine = m;
	return 0;
}

HAQ_EXPORT int
haq_group_unlock(haq_group_t *g, const char *name)
{
	struct haq_lock_mine *m;
	int nlen;
	int rc = haq__group_enter(g, 0);

	if (rc < 0) {
		return rc;
	}
	nlen = name_len(name);
	if (nlen < 0) {
		return nlen;
	}
	m = find_mine(g, name, (size_t)nlen);
	if (!m) {
		return -ENOENT;
	}
	rc = send_op(g, false, m, m->req);
	if (rc < 0) {
		return rc;
	}
	remove_mine(g, m);
	return 0;
}

HAQ_EXPORT int
haq_group_lock_held(const haq_group_t *g, const char *name, uint64_t *token,
		    uint64_t *deadline)
{
	const struct haq_lock_mine *m;
	bool held;
	int nlen;
	int rc = haq__group_enter(g, 0);

	if (rc < 0) {
		return rc;
	}
	nlen = name_len(name);
	if (nlen < 0) {
		return nlen;
	}
	m = find_mine((struct haq_group *)g, name, (size_t)nlen);
	held = m && m->state == MINE_HELD &&
	       haq__now() < g->lk.lease_deadline;
	if (token) {
		*token = held ? m->token : 0;
	}
	if (deadline) {
		*deadline = held ? g->lk.lease_deadline : 0;
	}
	return held;
}
