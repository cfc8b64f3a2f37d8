/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The election glue: feeding views and the election's control frames to
 * the pure rules of election.c, and this process's own side of its
 * leadership: the SYNC it sends after each view change, the lease it
 * renews through corosync, the takeover delay, resigning, and telling the
 * application.
 *
 * The lease (see enum haq_group_leader_timing in haq.h): a leader sends a
 * renewal every I and counts it only when it comes back through
 * corosync, from the time it was made; with one renewal in flight at a
 * time, the lease it holds is at most I + L past the last moment it held
 * corosync's token. No other partition forms before C after that moment,
 * so a member elected at the end of a round while nodes of the nodelist
 * are missing waits D = 2 I + L - C before it is told: the old lease has
 * run out I before.
 */
#include "group.h"

#include <errno.h>
#include <time.h>

/* corosync 3's defaults, used until cmap answers. */
#define DEFAULT_TOKEN_MS 3000u
#define MS 1000000ull

static bool
lead_self(const struct haq_group *g)
{
	return g->election.nodeid &&
	       haq__is_self(g, g->election.nodeid, g->election.pid);
}

/* What the application is to know: the leader, as this process sees it. */
struct seen {
	int self;
	uint32_t nodeid;
	uint32_t pid;
	uint64_t epoch;
};

static struct seen
seen_now(const struct haq_group *g)
{
	const struct haq_election *e = &g->election;
	struct seen s = {0, 0, 0, 0};

	if (!e->nodeid || (lead_self(g) && !g->lead.promoted)) {
		return s; /* none, or this process is not told yet */
	}
	s.self = lead_self(g);
	s.nodeid = e->nodeid;
	s.pid = e->pid;
	s.epoch = e->epoch;
	return s;
}

/* "No leader" or "not told yet": see enum haq_leader_state. */
static int
leader_state(const struct haq_group *g)
{
	if (seen_now(g).nodeid) {
		return HAQ_LEADER_KNOWN;
	}
	if (g->ctx->conn != HAQ_CONN_UP || !g->joined || !g->have_view) {
		return HAQ_LEADER_NONE;
	}
	if (lead_self(g) || haq__election_pending(&g->election)) {
		return HAQ_LEADER_PENDING;
	}
	return HAQ_LEADER_NONE;
}

static void
remember(struct haq_group *g, const struct seen *s)
{
	g->lead.reported = true;
	g->lead.rep_self = s->self;
	g->lead.rep_nodeid = s->nodeid;
	g->lead.rep_pid = s->pid;
	g->lead.rep_epoch = s->epoch;
}

/* Tell the application (and the log) who leads, when that changed. */
static void
report(struct haq_group *g)
{
	struct seen s = seen_now(g);
	struct haq_lead *l = &g->lead;

	if (l->reported && s.self == l->rep_self && s.nodeid == l->rep_nodeid &&
	    s.pid == l->rep_pid && s.epoch == l->rep_epoch) {
		return;
	}
	remember(g, &s);
	if (s.nodeid) {
		haq__log(g->ctx, HAQ_LOG_INFO,
			 "group %s: leader %u/%u, epoch %llu%s", g->name,
			 s.nodeid, s.pid, (unsigned long long)s.epoch,
			 s.self ? " (this process)" : "");
	} else {
		int st = leader_state(g);

		haq__log(g->ctx, HAQ_LOG_INFO, "group %s: no leader (%s)",
			 g->name,
			 g->ctx->conn != HAQ_CONN_UP ? "disconnected"
			 : lead_self(g) &&
					 g->election.epoch == g->lead.gave_up_epoch
				 ? "stepped down here, waiting for the next"
			 : lead_self(g) ? "elected here, waiting to take over"
			 : st == HAQ_LEADER_PENDING
				 ? "waiting for the agreed word"
			 : g->view.quorate ? "no member eligible"
					   : "not quorate");
	}
	(void)haq__group_call(g, on_leader, s.self, s.epoch, s.nodeid, s.pid);
}

/* ---------------------------------------------------------------- */
/* Timing                                                           */
/* ---------------------------------------------------------------- */

/* Read corosync's timing and derive the lease's (haq.h). */
static void
timing_refresh(struct haq_group *g)
{
	uint32_t *t = g->lead.timing;
	haq_nodelist_t *list = NULL;
	uint32_t token = 0;
	uint32_t consensus = 0;

	if (haq_config_get_u32(g->ctx, "runtime.config.totem.token", &token) <
		    0 ||
	    token == 0) {
		token = t[HAQ_TIMING_TOKEN] ? t[HAQ_TIMING_TOKEN]
					    : DEFAULT_TOKEN_MS;
	}
	if (haq_config_get_u32(g->ctx, "runtime.config.totem.consensus",
			       &consensus) < 0 ||
	    consensus == 0) {
		consensus = t[HAQ_TIMING_CONSENSUS] ? t[HAQ_TIMING_CONSENSUS]
						    : token + token / 5;
	}
	if (haq_config_nodelist(g->ctx, &list) == 0) {
		t[HAQ_TIMING_NODES] = (uint32_t)haq_nodelist_count(list);
		haq_nodelist_free(list);
	}
	t[HAQ_TIMING_TOKEN] = token;
	t[HAQ_TIMING_CONSENSUS] = consensus;
	t[HAQ_TIMING_DETECT] = token + consensus;
	t[HAQ_TIMING_RENEW] = token / 4 ? token / 4 : 1;
	t[HAQ_TIMING_LEASE] = t[HAQ_TIMING_RENEW] + token + consensus + token / 2;
	t[HAQ_TIMING_TAKEOVER] =
		2 * t[HAQ_TIMING_RENEW] + t[HAQ_TIMING_LEASE] - consensus;
	t[HAQ_TIMING_MARGIN] = t[HAQ_TIMING_RENEW];
}

/* A timing value in nanoseconds. */
static uint64_t
timing_ns(const struct haq_group *g, int which)
{
	return (uint64_t)g->lead.timing[which] * MS;
}

/* Whether every node of the nodelist is in the ring: then no other
 * partition exists, and no old lease can be running anywhere. */
static bool
ring_complete(const struct haq_group *g)
{
	return g->lead.timing[HAQ_TIMING_NODES] > 0 &&
	       g->lead.ring_nodes >= g->lead.timing[HAQ_TIMING_NODES];
}

static uint64_t
realtime_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---------------------------------------------------------------- */
/* Sending                                                          */
/* ---------------------------------------------------------------- */

static void
send_control(struct haq_group *g, uint8_t type, const uint8_t *body,
	     size_t len, bool behind_queue)
{
	uint8_t buf[1 + HAQ_SYNC_LEN];
	int rc;

	buf[0] = type;
	memcpy(buf + 1, body, len);
	rc = behind_queue ? haq__tx_queue_control(g, buf, len + 1)
			  : haq__tx_control_now(g, buf, len + 1);
	if (rc < 0) {
		haq__log(g->ctx, HAQ_LOG_ERR,
			 "group %s: out of memory for an election frame",
			 g->name);
	}
}

/* Whether this process, in a SYNC now, keeps its leadership. */
static bool
claims(const struct haq_group *g, bool quorate)
{
	const struct haq_lead *l = &g->lead;

	if (!quorate || !lead_self(g) ||
	    g->election.epoch == l->gave_up_epoch) {
		return false;
	}
	/* Told and within its lease, or elected and waiting to take over. */
	return l->promoted ? haq__now() < l->lease_deadline : true;
}

static void
send_sync(struct haq_group *g, bool quorate)
{
	const struct haq_election *e = &g->election;
	struct haq_sync s = {
		.view_id = g->view.id,
		.quorate = quorate,
		.eligible = g->lead.eligible,
		.claim = claims(g, quorate),
		.max_epoch = e->seen_epoch > e->epoch ? e->seen_epoch : e->epoch,
		.clock_us = realtime_us(),
	};
	uint8_t body[HAQ_SYNC_LEN];

	s.epoch = s.claim ? e->epoch : 0;
	g->lead.sent_quorate = quorate;
	haq__sync_encode(&s, body);
	send_control(g, HAQ_CONTROL_SYNC, body, sizeof(body), false);
}

static void
renew(struct haq_group *g, uint64_t now)
{
	uint8_t body[HAQ_RENEW_LEN];

	g->lead.renew_nonce++;
	g->lead.renew_sent = now;
	haq__renew_encode(g->election.epoch, g->lead.renew_nonce, body);
	send_control(g, HAQ_CONTROL_RENEW, body, sizeof(body), false);
	haq__timers_update(g->ctx);
}

static void
send_resign(struct haq_group *g, uint64_t epoch, bool behind_queue)
{
	uint8_t body[HAQ_RESIGN_LEN];

	haq__resign_encode(epoch, body);
	send_control(g, HAQ_CONTROL_RESIGN, body, sizeof(body), behind_queue);
}

/* ---------------------------------------------------------------- */
/* This process's leadership                                        */
/* ---------------------------------------------------------------- */

static void
promote(struct haq_group *g, uint64_t now)
{
	struct haq_lead *l = &g->lead;

	l->promoted = true;
	l->promote_at = 0;
	l->lease_deadline = now + timing_ns(g, HAQ_TIMING_LEASE);
	renew(g, now);
}

/* Stop leading here without waiting for the group (lease, quorum). */
static void
step_down(struct haq_group *g)
{
	struct haq_lead *l = &g->lead;

	l->promoted = false;
	l->promote_at = 0;
	l->renew_sent = 0;
	l->lease_deadline = 0;
	if (lead_self(g)) {
		l->gave_up_epoch = g->election.epoch;
	}
}

/*
 * After an event of the election: the takeover guard, this process's
 * promotion or demotion, and the report.
 */
static void
settle(struct haq_group *g, int rc)
{
	struct haq_lead *l = &g->lead;
	uint64_t now = haq__now();

	if (rc < 0) {
		haq__log(g->ctx, HAQ_LOG_ERR, "group %s: out of memory",
			 g->name);
		return;
	}
	if ((rc & HAQ_ELECT_ROUND_END) && !ring_complete(g)) {
		/*
		 * A leader of another partition may still hold a lease:
		 * whoever is elected here is told after the takeover delay.
		 */
		l->guard_until = now + timing_ns(g, HAQ_TIMING_TAKEOVER);
		haq__log(g->ctx, HAQ_LOG_INFO,
			 "group %s: round ended with nodes missing from the "
			 "ring (%u of %u): a leader elected now takes over "
			 "after %u ms",
			 g->name, l->ring_nodes, l->timing[HAQ_TIMING_NODES],
			 l->timing[HAQ_TIMING_TAKEOVER]);
	}
	if (lead_self(g) && g->election.epoch != l->gave_up_epoch) {
		if (!l->promoted) {
			if (now >= l->guard_until) {
				promote(g, now);
			} else if (l->promote_at != l->guard_until) {
				l->promote_at = l->guard_until;
				haq__timers_update(g->ctx);
			}
		}
	} else if (l->promoted || l->promote_at) {
		step_down(g);
	}
	report(g);
}

/* ---------------------------------------------------------------- */
/* Events                                                           */
/* ---------------------------------------------------------------- */

void
haq__leader_init(struct haq_group *g)
{
	g->lead.eligible = true;
}

/*
 * corosync reports "procdown" for a process whose connection closed: it
 * died, or corosync itself was stopped under it. In the second case the
 * old leader runs on and is told it lost its connection as soon as its
 * loop sees it closed; whoever follows it waits one renewal interval, a
 * margin far above that, before it is told it leads.
 */
static void
procdown_guard(struct haq_group *g)
{
	const struct haq_election *e = &g->election;
	uint64_t until;

	if (!e->nodeid) {
		return;
	}
	for (size_t i = 0; i < g->view.nleft; i++) {
		const struct haq_memb *m = &g->view.left[i];

		if (m->nodeid == e->nodeid && m->pid == e->pid &&
		    m->reason == HAQ_REASON_PROCDOWN) {
			until = haq__now() + timing_ns(g, HAQ_TIMING_RENEW);
			if (until > g->lead.guard_until) {
				g->lead.guard_until = until;
			}
		}
	}
}

void
haq__leader_view(struct haq_group *g)
{
	int rc;

	if (!g->joined) {
		return;
	}
	if (!g->lead.timing[HAQ_TIMING_TOKEN]) {
		timing_refresh(g);
	}
	procdown_guard(g);
	rc = haq__election_view(&g->election, g->view.id,
				g->view.members, g->view.nmembers,
				g->view.quorate == 1);
	settle(g, rc);
	if (haq__group_alive(g)) {
		send_sync(g, g->view.quorate == 1);
	}
}

/* The quorum verdict for the ring changed under a standing view. */
void
haq__leader_quorum_changed(struct haq_group *g)
{
	bool quorate;

	if (!g->joined || !g->have_view) {
		return;
	}
	quorate = haq__group_verdict(g, g->ring_seq) == 1;
	if (quorate == g->lead.sent_quorate) {
		return;
	}
	if (!quorate && g->lead.promoted) {
		/* Not a moment longer than the partition is quorate. */
		step_down(g);
		report(g);
		if (!haq__group_alive(g)) {
			return;
		}
	}
	send_sync(g, quorate);
}

void
haq__leader_totem(struct haq_group *g, uint32_t ring_nodes)
{
	g->lead.ring_nodes = ring_nodes;
	timing_refresh(g);
	haq__leader_quorum_changed(g);
}

static void
renewed(struct haq_group *g, uint64_t epoch, uint64_t nonce)
{
	struct haq_lead *l = &g->lead;
	uint64_t until;

	if (!l->promoted || !l->renew_sent || nonce != l->renew_nonce ||
	    epoch != g->election.epoch) {
		return;
	}
	until = l->renew_sent + timing_ns(g, HAQ_TIMING_LEASE);
	if (until > l->lease_deadline) {
		l->lease_deadline = until;
	}
	l->next_renew = l->renew_sent + timing_ns(g, HAQ_TIMING_RENEW);
	l->renew_sent = 0;
	haq__timers_update(g->ctx);
}

static void
malformed(struct haq_group *g, uint32_t nodeid, uint32_t pid, size_t len)
{
	g->counters[HAQ_COUNTER_MALFORMED]++;
	haq__log(g->ctx, HAQ_LOG_DEBUG,
		 "group %s: dropped a malformed election frame of %zu bytes "
		 "from %u/%u",
		 g->name, len, nodeid, pid);
}

/* A control frame from member (nodeid, pid), in the agreed order. */
void
haq__leader_control(struct haq_group *g, uint32_t nodeid, uint32_t pid,
		    const uint8_t *data, size_t len)
{
	struct haq_election *e = &g->election;
	struct haq_sync s;
	uint64_t epoch;
	uint64_t nonce;
	bool flag;

	if (len < 1) {
		malformed(g, nodeid, pid, len);
		return;
	}
	switch (data[0]) {
	case HAQ_CONTROL_EPOCH_V1:
		if (!g->lead.v1_warned) {
			g->lead.v1_warned = true;
			haq__log(g->ctx, HAQ_LOG_ERR,
				 "group %s: member %u/%u runs libhaq 0.1 or "
				 "0.2, whose leader election this version "
				 "does not follow: the group elects no leader "
				 "until every member runs 0.3 or later",
				 g->name, nodeid, pid);
		}
		return;
	case HAQ_CONTROL_SYNC:
		if (haq__sync_decode(data + 1, len - 1, &s) < 0) {
			break;
		}
		if (g->joined && g->have_view) {
			settle(g, haq__election_sync(e, nodeid, pid, &s));
		}
		return;
	case HAQ_CONTROL_RENEW:
		if (haq__renew_decode(data + 1, len - 1, &epoch, &nonce) < 0) {
			break;
		}
		if (haq__is_self(g, nodeid, pid)) {
			renewed(g, epoch, nonce);
		}
		return;
	case HAQ_CONTROL_RESIGN:
		if (haq__resign_decode(data + 1, len - 1, &epoch) < 0) {
			break;
		}
		if (g->joined && g->have_view) {
			settle(g, haq__election_resign(e, nodeid, pid, epoch));
		}
		return;
	case HAQ_CONTROL_ELIGIBLE:
		if (haq__eligible_decode(data + 1, len - 1, &flag) < 0) {
			break;
		}
		if (g->joined && g->have_view) {
			settle(g,
			       haq__election_eligible(e, nodeid, pid, flag));
		}
		return;
	default:
		break;
	}
	malformed(g, nodeid, pid, len);
}

/* Cut off from corosync, this process leads nothing and knows nothing. */
void
haq__leader_lost(struct haq_group *g)
{
	struct haq_lead *l = &g->lead;

	(void)haq__election_reset(&g->election);
	step_down(g);
	l->guard_until = 0;
	if (l->reported) {
		report(g);
	}
	l->reported = false; /* the rejoin's first verdict is news again */
}

/*
 * The group is being left (or its context freed): a leader says so first,
 * so the others elect at once, without a takeover delay.
 */
void
haq__leader_leaving(struct haq_group *g)
{
	if (lead_self(g) && g->election.epoch != g->lead.gave_up_epoch) {
		send_resign(g, g->election.epoch, false);
	}
	step_down(g);
}

void
haq__leader_timers(struct haq_group *g, uint64_t now)
{
	struct haq_lead *l = &g->lead;

	if (l->promote_at && now >= l->promote_at) {
		l->promote_at = 0;
		settle(g, 0);
		if (!haq__group_alive(g)) {
			return;
		}
	}
	if (!l->promoted) {
		return;
	}
	if (now >= l->lease_deadline) {
		uint64_t epoch = g->election.epoch;

		g->counters[HAQ_COUNTER_LEASE_EXPIRED]++;
		haq__log(g->ctx, HAQ_LOG_WARNING,
			 "group %s: the lease of leadership %llu ran out (no "
			 "renewal came back through corosync for %u ms): "
			 "stepping down",
			 g->name, (unsigned long long)epoch,
			 l->timing[HAQ_TIMING_LEASE]);
		step_down(g);
		report(g);
		if (haq__group_alive(g)) {
			send_resign(g, epoch, false);
		}
		return;
	}
	if (l->renew_sent &&
	    now - l->renew_sent > timing_ns(g, HAQ_TIMING_LEASE)) {
		l->renew_sent = 0; /* never came back: make another */
	}
	if (!l->renew_sent && now >= l->next_renew) {
		renew(g, now);
	}
}

uint64_t
haq__leader_deadline(const struct haq_group *g)
{
	const struct haq_lead *l = &g->lead;
	uint64_t d = l->promote_at;

	if (l->promoted) {
		uint64_t r = l->renew_sent
				     ? l->renew_sent +
					       timing_ns(g, HAQ_TIMING_LEASE)
				     : l->next_renew;

		if (!d || l->lease_deadline < d) {
			d = l->lease_deadline;
		}
		if (r < d) {
			d = r;
		}
	}
	return d;
}

/* ---------------------------------------------------------------- */
/* Public calls                                                     */
/* ---------------------------------------------------------------- */

HAQ_EXPORT int
haq_group_leader_state(const haq_group_t *g)
{
	int rc = haq__group_enter(g, 0);

	return rc < 0 ? rc : leader_state(g);
}

HAQ_EXPORT int
haq_group_leader(const haq_group_t *g, uint32_t *nodeid, uint32_t *pid,
		 uint64_t *epoch)
{
	int rc = haq__group_enter(g, 0);
	struct seen s;

	if (rc < 0) {
		return rc;
	}
	s = seen_now(g);
	if (!s.nodeid) {
		return leader_state(g) == HAQ_LEADER_PENDING ? -EAGAIN : -ENOENT;
	}
	if (nodeid) {
		*nodeid = s.nodeid;
	}
	if (pid) {
		*pid = s.pid;
	}
	if (epoch) {
		*epoch = s.epoch;
	}
	return s.self;
}

HAQ_EXPORT int
haq_group_resign(haq_group_t *g)
{
	int rc = haq__group_enter(g, HAQ_NEED_CONNECTED);
	uint64_t epoch;
	struct seen none = {0, 0, 0, 0};

	if (rc < 0) {
		return rc;
	}
	if (!g->lead.promoted || !lead_self(g)) {
		return -EPERM;
	}
	epoch = g->election.epoch;
	step_down(g);
	/* The caller knows: no callback for its own resignation. */
	remember(g, &none);
	haq__log(g->ctx, HAQ_LOG_INFO, "group %s: resigning leadership %llu",
		 g->name, (unsigned long long)epoch);
	/* Behind this leader's last messages: they come before the handover. */
	send_resign(g, epoch, true);
	return 0;
}

HAQ_EXPORT int
haq_group_set_eligible(haq_group_t *g, int eligible)
{
	int rc = haq__group_enter(g, 0);
	uint8_t body[HAQ_ELIGIBLE_LEN];

	if (rc < 0) {
		return rc;
	}
	if (eligible != 0 && eligible != 1) {
		return -EINVAL;
	}
	g->lead.eligible = eligible;
	if (g->joined && g->handle_valid && g->ctx->conn == HAQ_CONN_UP) {
		/* Else the SYNC after the (re)join carries it. */
		haq__eligible_encode(eligible, body);
		send_control(g, HAQ_CONTROL_ELIGIBLE, body, sizeof(body),
			     false);
	}
	return 0;
}

HAQ_EXPORT int
haq_group_lease(const haq_group_t *g, uint64_t *deadline)
{
	int rc = haq__group_enter(g, 0);
	bool valid;

	if (rc < 0) {
		return rc;
	}
	valid = g->lead.promoted && haq__now() < g->lead.lease_deadline;
	if (deadline) {
		*deadline = valid ? g->lead.lease_deadline : 0;
	}
	return valid ? 1 : 0;
}

HAQ_EXPORT int
haq_group_leader_timing(const haq_group_t *g, int which, uint32_t *value)
{
	int rc = haq__group_enter(g, 0);

	if (rc < 0) {
		return rc;
	}
	if (!value || which < HAQ_TIMING_TOKEN || which > HAQ_TIMING_MARGIN) {
		return -EINVAL;
	}
	if (!g->lead.timing[HAQ_TIMING_TOKEN]) {
		return -EAGAIN;
	}
	*value = g->lead.timing[which];
	return 0;
}
