/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Views: applying a configuration change to a group (cutting partial
 * messages at it, as every member does at the same point of the agreed
 * stream), and the haq_view_* accessors.
 */
#include "group.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void
haq__view_clear(struct haq_view *v)
{
	free(v->members);
	free(v->joined);
	free(v->left);
	memset(v, 0, sizeof(*v));
}

void
haq__view_free(struct haq_view *v)
{
	haq__view_clear(v);
	free(v);
}

static struct haq_memb *
copy_list(const struct cpg_address *a, size_t n)
{
	struct haq_memb *m = calloc(n ? n : 1, sizeof(*m));

	if (!m) {
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		m[i].nodeid = a[i].nodeid;
		m[i].pid = a[i].pid;
		m[i].reason = (int)a[i].reason;
	}
	return m;
}

struct haq_view *
haq__view_new(const struct cpg_address *members, size_t nmembers,
	      const struct cpg_address *left, size_t nleft,
	      const struct cpg_address *joined, size_t njoined)
{
	struct haq_view *v = calloc(1, sizeof(*v));

	if (!v) {
		return NULL;
	}
	v->nmembers = nmembers;
	v->nleft = nleft;
	v->njoined = njoined;
	v->members = copy_list(members, nmembers);
	v->left = copy_list(left, nleft);
	v->joined = copy_list(joined, njoined);
	if (!v->members || !v->left || !v->joined) {
		haq__view_free(v);
		return NULL;
	}
	return v;
}

/*
 * Virtual synchrony for messages of several frames: at a view change every
 * member drops every partial message (all at the same point of the agreed
 * stream), and a sender whose own message was cut sends it again from the
 * start under the same seq. Nothing after it was handed to corosync (see
 * the flush in group_tx.c), so per-sender order holds.
 */
static void
cut_partials(struct haq_group *g, const struct haq_view *v)
{
	struct haq_sendq_entry *e = g->q.head;
	/*
	 * Cut or not is read from the agreed stream, as every receiver reads
	 * it: our message is cut exactly when some but not all of its frames
	 * came back before this view, i.e. we hold a partial of our own. If
	 * none came back yet, its frames all follow the view, for everyone.
	 */
	bool cut = e && e->type == HAQ_WIRE_FRAG &&
		   haq__peers_partial(&g->peers, g->ctx->local_nodeid,
				      (uint32_t)g->ctx->owner_pid) == e->seq;

	for (size_t i = 0; i < v->nleft; i++) {
		if (haq__peers_remove(&g->peers, v->left[i].nodeid,
				      v->left[i].pid)) {
			g->counters[HAQ_COUNTER_PARTIAL_DROPPED]++;
		}
	}
	g->counters[HAQ_COUNTER_PARTIAL_DROPPED] +=
		haq__peers_drop_partials(&g->peers);
	if (cut) {
		haq__log(g->ctx, HAQ_LOG_INFO,
			 "group %s: message %llu was cut by a view change; "
			 "sending it again",
			 g->name, (unsigned long long)e->seq);
		e->sent = 0;
		g->resend_pending = true;
	}
}

/* Apply view v (taken over: v is left empty), then elect and send. */
void
haq__view_apply(struct haq_group *g, struct haq_view *v)
{
	bool was_joined = g->joined;

	v->seq = ++g->view_seq;
	v->quorate = haq__group_verdict(g, v->ring_seq);
	qsort(v->members, v->nmembers, sizeof(*v->members), haq__memb_cmp);
	v->id = haq__election_view_id(v->ring_seq, v->members, v->nmembers);
	cut_partials(g, v);
	if (haq__memb_contains(v->members, v->nmembers, g->ctx->local_nodeid,
			       (uint32_t)g->ctx->owner_pid)) {
		g->joined = true;
		g->join_deadline = 0;
	}
	haq__view_clear(&g->view);
	g->view = *v;
	g->have_view = true;
	memset(v, 0, sizeof(*v));
	haq__log(g->ctx, HAQ_LOG_DEBUG,
		 "group %s: view %llu, ring %u.%llx, %zu members", g->name,
		 (unsigned long long)g->view.seq, g->view.ring_nodeid,
		 (unsigned long long)g->view.ring_seq, g->view.nmembers);
	/* Who decodes bundles, before anything is sent in this view. */
	haq__bundle_view(g);
	if (!haq__group_call(g, on_view, &g->view)) {
		return;
	}
	/*
	 * Every view starts a round of the election (election.h), also each
	 * of several configuration changes that one ring change may come as.
	 */
	haq__leader_view(g);
	if (!haq__group_alive(g)) {
		return;
	}
	haq__state_view(g, !was_joined && g->joined);
	if (!haq__group_alive(g)) {
		return;
	}
	haq__rr_view(g);
	if (!haq__group_alive(g)) {
		return;
	}
	haq__lock_view(g);
	if (!haq__group_alive(g)) {
		return;
	}
	if ((!was_joined && g->joined) || g->resend_pending) {
		/* Messages sent before the join was confirmed go out now. */
		g->resend_pending = false;
		haq__tx_flush(g);
	}
}

/* The totem change after a ring change's views. */
void
haq__view_totem(struct haq_group *g, uint32_t ring_nodes)
{
	haq__leader_totem(g, ring_nodes);
	if (haq__group_alive(g)) {
		uint32_t nodes = g->lead.timing[HAQ_TIMING_NODES];

		haq__lock_totem(g, nodes > 0 && ring_nodes >= nodes);
	}
	if (haq__group_alive(g)) {
		/* A ring change without a view of this group. */
		haq__lock_quorum_changed(g);
	}
}

/* ---------------------------------------------------------------- */
/* View accessors                                                   */
/* ---------------------------------------------------------------- */

HAQ_EXPORT int
haq_view_ring(const haq_view_t *v, uint32_t *ring_nodeid, uint64_t *ring_seq)
{
	if (!v) {
		return -EINVAL;
	}
	if (ring_nodeid) {
		*ring_nodeid = v->ring_nodeid;
	}
	if (ring_seq) {
		*ring_seq = v->ring_seq;
	}
	return 0;
}

HAQ_EXPORT uint64_t
haq_view_seq(const haq_view_t *v)
{
	return v ? v->seq : 0;
}

HAQ_EXPORT int
haq_view_quorate(const haq_view_t *v)
{
	return v ? v->quorate : -EINVAL;
}

static int
memb_get(const struct haq_memb *list, size_t n, size_t i, uint32_t *nodeid,
	 uint32_t *pid, int *reason)
{
	if (i >= n) {
		return -EINVAL;
	}
	if (nodeid) {
		*nodeid = list[i].nodeid;
	}
	if (pid) {
		*pid = list[i].pid;
	}
	if (reason) {
		*reason = list[i].reason;
	}
	return 0;
}

HAQ_EXPORT size_t
haq_view_member_count(const haq_view_t *v)
{
	return v ? v->nmembers : 0;
}

HAQ_EXPORT int
haq_view_member(const haq_view_t *v, size_t i, uint32_t *nodeid,
		uint32_t *pid)
{
	return v ? memb_get(v->members, v->nmembers, i, nodeid, pid, NULL)
		 : -EINVAL;
}

HAQ_EXPORT size_t
haq_view_joined_count(const haq_view_t *v)
{
	return v ? v->njoined : 0;
}

HAQ_EXPORT int
haq_view_joined(const haq_view_t *v, size_t i, uint32_t *nodeid,
		uint32_t *pid, int *reason)
{
	return v ? memb_get(v->joined, v->njoined, i, nodeid, pid, reason)
		 : -EINVAL;
}

HAQ_EXPORT size_t
haq_view_left_count(const haq_view_t *v)
{
	return v ? v->nleft : 0;
}

HAQ_EXPORT int
haq_view_left(const haq_view_t *v, size_t i, uint32_t *nodeid,
	      uint32_t *pid, int *reason)
{
	return v ? memb_get(v->left, v->nleft, i, nodeid, pid, reason)
		 : -EINVAL;
}

HAQ_EXPORT const char *
haq_reason_str(int reason)
{
	switch (reason) {
	case HAQ_REASON_JOIN:
		return "join";
	case HAQ_REASON_LEAVE:
		return "leave";
	case HAQ_REASON_NODEDOWN:
		return "nodedown";
	case HAQ_REASON_NODEUP:
		return "nodeup";
	case HAQ_REASON_PROCDOWN:
		return "procdown";
	}
	return "unknown";
}
