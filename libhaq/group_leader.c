/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The election glue: feeding views and announcements to the pure rules
 * of election.c, announcing as leader, and telling the application.
 */
#include "group.h"

#include <errno.h>

/* "No leader" or "not told yet": see enum haq_leader_state. */
static int
leader_state(const struct haq_group *g)
{
	if (g->election.nodeid) {
		return HAQ_LEADER_KNOWN;
	}
	if (g->ctx->conn == HAQ_CONN_UP && g->joined && g->have_view &&
	    g->view.quorate && !g->election.synced) {
		return HAQ_LEADER_PENDING;
	}
	return HAQ_LEADER_NONE;
}

/* Tell the application (and the log) who leads now. */
static void
report_leader(struct haq_group *g)
{
	struct haq_election *e = &g->election;
	bool self = e->nodeid && haq__is_self(g, e->nodeid, e->pid);

	if (e->nodeid) {
		haq__log(g->ctx, HAQ_LOG_INFO,
			 "group %s: leader %u/%u, epoch %llu%s", g->name,
			 e->nodeid, e->pid, (unsigned long long)e->epoch,
			 self ? " (this process)" : "");
	} else {
		haq__log(g->ctx, HAQ_LOG_INFO, "group %s: no leader (%s)",
			 g->name,
			 g->ctx->conn != HAQ_CONN_UP ? "disconnected"
			 : leader_state(g) == HAQ_LEADER_PENDING
				 ? "waiting for the leader's word"
			 : g->view.quorate ? "no members"
						 : "not quorate");
	}
	(void)haq__group_call(g, on_leader, self, e->epoch, e->nodeid, e->pid);
}

/*
 * The leader tells members that joined within the ring who leads and how
 * many leaderships the ring has had (see election.h).
 */
static void
announce(struct haq_group *g)
{
	struct haq_election *e = &g->election;
	struct haq_announce a = {
		.ring_seq = e->ring_seq,
		.count = e->count,
		.nodeid = e->nodeid,
		.pid = e->pid,
	};
	uint8_t buf[1 + HAQ_ANNOUNCE_LEN];

	buf[0] = HAQ_CONTROL_EPOCH;
	haq__announce_encode(&a, buf + 1);
	if (haq__tx_queue_control(g, buf, sizeof(buf)) < 0) {
		haq__log(g->ctx, HAQ_LOG_ERR,
			 "group %s: out of memory for the leader's announcement",
			 g->name);
	}
}

void
haq__leader_elect(struct haq_group *g, uint64_t ring_seq, bool self_joining)
{
	struct haq_election *e = &g->election;
	int rc;

	if (!g->joined) {
		return;
	}
	rc = haq__election_view(e, ring_seq, g->view.members, g->view.nmembers,
				haq__group_verdict(g, ring_seq), self_joining);
	if (rc < 0) {
		haq__log(g->ctx, HAQ_LOG_ERR, "group %s: out of memory",
			 g->name);
		return;
	}
	/* The first verdict after a join is news too, even "none". */
	if (rc > 0 || !g->leader_reported) {
		g->leader_reported = true;
		report_leader(g);
	}
	if (!haq__group_alive(g)) {
		return;
	}
	if (e->nodeid && haq__is_self(g, e->nodeid, e->pid) &&
	    (rc > 0 || haq__election_should_announce(e, g->view.members,
						     g->view.nmembers))) {
		announce(g);
	}
}

/* A control frame from a member (nodeid, pid). */
void
haq__leader_control(struct haq_group *g, uint32_t nodeid, uint32_t pid,
		    const uint8_t *data, size_t len)
{
	struct haq_announce a;
	int rc;

	if (len < 1 || data[0] != HAQ_CONTROL_EPOCH ||
	    haq__announce_decode(data + 1, len - 1, &a) < 0 ||
	    a.nodeid != nodeid || a.pid != pid) {
		/* Only a leader announces, and only itself. */
		g->counters[HAQ_COUNTER_MALFORMED]++;
		return;
	}
	if (!g->have_view) {
		return;
	}
	rc = haq__election_announced(&g->election, &a, g->view.members,
				     g->view.nmembers);
	if (rc > 0) {
		report_leader(g);
	}
}

/* Cut off from corosync, this process leads nothing and knows nothing. */
void
haq__leader_lost(struct haq_group *g)
{
	if (haq__election_reset(&g->election)) {
		report_leader(g);
	}
}

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

	if (rc < 0) {
		return rc;
	}
	if (!g->election.nodeid) {
		return leader_state(g) == HAQ_LEADER_PENDING ? -EAGAIN : -ENOENT;
	}
	if (nodeid) {
		*nodeid = g->election.nodeid;
	}
	if (pid) {
		*pid = g->election.pid;
	}
	if (epoch) {
		*epoch = g->election.epoch;
	}
	return haq__is_self(g, g->election.nodeid, g->election.pid) ? 1 : 0;
}
