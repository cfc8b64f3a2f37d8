/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Groups: one CPG handle each, the send path, delivery and views.
 *
 * Leave is finalize plus, on the next join, a fresh handle: leaving and
 * rejoining on one handle is broken since corosync 3.0.3.
 */
#include "haq-int.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Frames sent without copying take their iovec array from the stack; more
 * buffers than this go through the queue, which also keeps us far below
 * libcpg's fixed array of 64 iovecs.
 */
#define HAQ_DIRECT_IOV_MAX 16

static void process_frame(struct haq_group *g, uint32_t nodeid, uint32_t pid,
			  const void *msg, size_t len);
static void flush(struct haq_group *g);
static void maybe_writable(struct haq_group *g);
static void schedule_retry(struct haq_group *g, bool backoff);

/* ---------------------------------------------------------------- */
/* Views                                                            */
/* ---------------------------------------------------------------- */

void
haq__view_clear(struct haq_view *v)
{
	free(v->members);
	free(v->joined);
	free(v->left);
	memset(v, 0, sizeof(*v));
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

static int
cmp_memb(const void *a, const void *b)
{
	const struct haq_memb *x = a;
	const struct haq_memb *y = b;

	if (x->nodeid != y->nodeid) {
		return x->nodeid < y->nodeid ? -1 : 1;
	}
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static bool
is_self(const struct haq_group *g, uint32_t nodeid, uint32_t pid)
{
	return nodeid == g->ctx->local_nodeid && pid == (uint32_t)g->ctx->owner_pid;
}

static int queue_control(struct haq_group *g, const uint8_t *payload,
			 size_t len);

/* Tell the application (and the log) who leads now. */
static void
report_leader(struct haq_group *g)
{
	struct haq_election *e = &g->election;

	if (e->nodeid) {
		haq__log(g->ctx, HAQ_LOG_INFO,
			 "group %s: leader %u/%u, epoch %llu%s", g->name,
			 e->nodeid, e->pid, (unsigned long long)e->epoch,
			 is_self(g, e->nodeid, e->pid) ? " (this process)" : "");
	} else {
		haq__log(g->ctx, HAQ_LOG_INFO, "group %s: no leader (%s)",
			 g->name,
			 !g->ctx->connected ? "disconnected"
			 : !e->synced       ? "waiting for the leader's word"
			 : g->ctx->quorum.quorate ? "no members"
						  : "not quorate");
	}
	if (g->leader_fn && !g->dead && !g->ctx->free_requested) {
		g->leader_fn(g, e->nodeid && is_self(g, e->nodeid, e->pid),
			     e->epoch, e->nodeid, e->pid, g->leader_ud);
	}
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
	if (queue_control(g, buf, sizeof(buf)) < 0) {
		haq__log(g->ctx, HAQ_LOG_ERR,
			 "group %s: out of memory for the leader's announcement",
			 g->name);
	}
}

static void
run_election(struct haq_group *g, uint64_t ring_seq, bool self_joining)
{
	struct haq_election *e = &g->election;
	int rc;

	if (!g->joined) {
		return;
	}
	rc = haq__election_view(e, ring_seq, g->view.members, g->view.nmembers,
				g->ctx->quorum.quorate, self_joining);
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
	if (g->dead || g->ctx->free_requested) {
		return;
	}
	if (e->nodeid && is_self(g, e->nodeid, e->pid) &&
	    (rc > 0 || haq__election_should_announce(e, g->view.members,
						     g->view.nmembers))) {
		announce(g);
	}
}

/* A control frame from a member (nodeid, pid). */
static void
process_control(struct haq_group *g, uint32_t nodeid, uint32_t pid,
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

/*
 * Virtual synchrony for messages of several frames: at a view change every
 * member drops every partial message (all at the same point of the agreed
 * stream), and a sender whose own message was cut sends it again from the
 * start under the same seq. Nothing after it was handed to corosync (see
 * flush()), so per-sender order holds.
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

static void
apply_view(struct haq_group *g, struct haq_view *v, bool ring_change)
{
	bool was_joined = g->joined;
	bool self_joining = false;

	v->seq = ++g->view_seq;
	v->quorate = g->ctx->quorum.quorate;
	qsort(v->members, v->nmembers, sizeof(*v->members), cmp_memb);
	cut_partials(g, v);
	for (size_t i = 0; i < v->nmembers; i++) {
		if (is_self(g, v->members[i].nodeid, v->members[i].pid)) {
			g->joined = true;
		}
	}
	for (size_t i = 0; i < v->njoined; i++) {
		if (is_self(g, v->joined[i].nodeid, v->joined[i].pid)) {
			self_joining = true;
		}
	}
	haq__view_clear(&g->view);
	g->view = *v;
	g->have_view = true;
	memset(v, 0, sizeof(*v));
	haq__log(g->ctx, HAQ_LOG_DEBUG,
		 "group %s: view %llu, ring %u.%llx, %zu members", g->name,
		 (unsigned long long)g->view.seq, g->view.ring_nodeid,
		 (unsigned long long)g->view.ring_seq, g->view.nmembers);
	if (g->view_fn && !g->ctx->free_requested) {
		g->view_fn(g, &g->view, g->view_ud);
	}
	if (g->dead || g->ctx->free_requested) {
		return;
	}
	if (ring_change) {
		/*
		 * corosync may hand one ring change to a member as several
		 * configuration changes (after a stall: everyone left, then
		 * came back), which others see as one. Elect once, from the
		 * last, at the totem change that follows them all.
		 */
		g->election_self_joining |= self_joining;
	} else {
		run_election(g, g->view.ring_seq, self_joining);
	}
	if ((!was_joined && g->joined) || g->resend_pending) {
		/* Messages sent before the join was confirmed go out now. */
		g->resend_pending = false;
		flush(g);
	}
}

/* The totem change after a ring change's views: now elect. */
static void
totem_election(struct haq_group *g, uint64_t ring_seq)
{
	bool joining = g->election_self_joining;

	g->election_self_joining = false;
	run_election(g, ring_seq, joining);
}

/* ---------------------------------------------------------------- */
/* Events held until the quorum state of their ring is known        */
/* ---------------------------------------------------------------- */

/*
 * An event is ready once its ring is known (ring_seq 0: it waits for the
 * totem configuration change that follows it) and the quorum state of
 * that ring has arrived.
 */
static bool
ready_for(const struct haq_group *g, uint64_t ring_seq)
{
	return ring_seq != 0 && g->ctx->quorum_done_seq >= ring_seq;
}

static void
hold(struct haq_group *g, struct haq_held *h)
{
	h->next = NULL;
	if (g->held_tail) {
		g->held_tail->next = h;
	} else {
		g->held_head = h;
		g->held_since = haq__now();
	}
	g->held_tail = h;
}

static void
held_free(struct haq_held *h)
{
	if (h->kind == HAQ_HELD_VIEW) {
		haq__view_clear(&h->view);
	}
	free(h);
}

/*
 * Release held events in order while their ring's quorum state is known
 * (or unconditionally, when force is set after the hold timed out).
 */
static void
release_held(struct haq_group *g, bool force)
{
	while (g->held_head && !g->dead && !g->ctx->free_requested) {
		struct haq_held *h = g->held_head;

		if (h->kind != HAQ_HELD_FRAME && !force &&
		    !ready_for(g, h->view.ring_seq)) {
			return;
		}
		if (h->view.ring_seq == 0) {
			/* Forced out before its ring was seen: the latest. */
			h->view.ring_nodeid = g->ring_nodeid;
			h->view.ring_seq = g->ring_seq;
		}
		g->held_head = h->next;
		if (!g->held_head) {
			g->held_tail = NULL;
		}
		g->held_since = haq__now();
		switch (h->kind) {
		case HAQ_HELD_VIEW:
			apply_view(g, &h->view, h->ring_change);
			break;
		case HAQ_HELD_TOTEM:
			totem_election(g, h->view.ring_seq);
			break;
		default:
			process_frame(g, h->nodeid, h->pid, h->data, h->len);
			break;
		}
		held_free(h);
	}
}

static void
held_clear(struct haq_group *g)
{
	while (g->held_head) {
		struct haq_held *h = g->held_head;

		g->held_head = h->next;
		held_free(h);
	}
	g->held_tail = NULL;
}

void
haq__group_quorum_changed(struct haq_group *g)
{
	release_held(g, false);
	if (g->held_head || g->dead || g->ctx->free_requested) {
		return;
	}
	/* A verdict that changed within the ring the group is in. */
	if (g->have_view && g->ctx->quorum_done_seq == g->ring_seq) {
		run_election(g, g->ring_seq, false);
	}
}

/* ---------------------------------------------------------------- */
/* CPG callbacks                                                    */
/* ---------------------------------------------------------------- */

/*
 * The group whose handle haq__group_dispatch() is dispatching on this
 * thread: its callbacks find their group without cpg_context_get(), a
 * handle-database lookup with a mutex taken and released per message.
 */
/* initial-exec: a plain %fs-relative load, no __tls_get_addr() call. */
static __thread struct haq_group *dispatching
	__attribute__((tls_model("initial-exec")));

static struct haq_group *
group_of(cpg_handle_t handle)
{
	void *p = NULL;

	if (dispatching && dispatching->handle == handle) {
		return dispatching;
	}
	cpg_context_get(handle, &p);
	return p;
}

/* Our fragmented message at the head of the queue is done with. */
static void
frag_done(struct haq_group *g)
{
	g->self_delivered = g->q.head->seq;
	g->counters[HAQ_COUNTER_SENT]++;
	haq__sendq_pop(&g->q);
}

/*
 * Our own fragmented message came back, but this process could not take it
 * (above its own maximum size, lowered after the send, or out of memory
 * for reassembly): it went out to the others all the same. Stop waiting
 * for it, or the queue behind it would wait forever.
 */
static void
own_message_refused(struct haq_group *g, uint32_t nodeid, uint32_t pid,
		    int rc, uint64_t seq)
{
	struct haq_sendq_entry *e = g->q.head;

	if ((rc != -EMSGSIZE && rc != -ENOMEM) || !is_self(g, nodeid, pid) ||
	    !e || e->type != HAQ_WIRE_FRAG || e->seq != seq) {
		return;
	}
	e->refused = true;
	if (e->sent == e->len) {
		frag_done(g);
	}
}

static void
process_frame(struct haq_group *g, uint32_t nodeid, uint32_t pid,
	      const void *msg, size_t len)
{
	struct haq_rx rx;
	int rc;

	rc = haq__peers_rx(&g->peers, nodeid, pid, msg, len, g->max_message,
			   &rx);
	if (rc < 0) {
		own_message_refused(g, nodeid, pid, rc, rx.seq);
		switch (rc) {
		case -EMSGSIZE:
			g->counters[HAQ_COUNTER_OVERSIZE]++;
			haq__log(g->ctx, HAQ_LOG_WARNING,
				 "group %s: dropped a message from %u/%u "
				 "above the %zu byte limit",
				 g->name, nodeid, pid, g->max_message);
			break;
		case -EALREADY:
			break;
		case -ENOMEM:
			haq__log(g->ctx, HAQ_LOG_ERR,
				 "group %s: out of memory reassembling a "
				 "message from %u/%u",
				 g->name, nodeid, pid);
			break;
		default:
			g->counters[HAQ_COUNTER_MALFORMED]++;
			haq__log(g->ctx, HAQ_LOG_DEBUG,
				 "group %s: dropped a malformed frame of %zu "
				 "bytes from %u/%u",
				 g->name, len, nodeid, pid);
			break;
		}
		return;
	}
	if (rc == HAQ_RX_PENDING) {
		return;
	}
	if (is_self(g, nodeid, pid) && rc == HAQ_RX_DELIVER) {
		struct haq_sendq_entry *e = g->q.head;

		g->self_delivered = rx.seq;
		if (e && e->type == HAQ_WIRE_FRAG && e->seq == rx.seq) {
			/*
			 * Back whole (the first copy that makes it, should a
			 * resend be under way): the queue behind it goes on.
			 */
			frag_done(g);
		}
	}
	if (rc == HAQ_RX_CONTROL) {
		process_control(g, nodeid, pid, rx.data, rx.len);
		return;
	}
	g->counters[HAQ_COUNTER_DELIVERED]++;
	if (g->message_fn && !g->ctx->free_requested) {
		g->message_fn(g, nodeid, pid, rx.data, rx.len, g->message_ud);
	}
	if (rx.owned) {
		free(rx.owned);
	}
}

static void
deliver_cb(cpg_handle_t handle, const struct cpg_name *name, uint32_t nodeid,
	   uint32_t pid, void *msg, size_t len)
{
	struct haq_group *g = group_of(handle);
	struct haq_held *h;

	(void)name;
	if (!g || g->dead || g->ctx->free_requested) {
		return;
	}
	g->rx_bytes += len;
	if (!g->held_head) {
		process_frame(g, nodeid, pid, msg, len);
		return;
	}
	/* A view ahead of this frame waits for quorum: keep the order. */
	h = malloc(sizeof(*h) + len);
	if (!h) {
		haq__log(g->ctx, HAQ_LOG_ERR, "group %s: out of memory", g->name);
		return;
	}
	memset(h, 0, sizeof(*h));
	h->kind = HAQ_HELD_FRAME;
	h->nodeid = nodeid;
	h->pid = pid;
	h->len = len;
	memcpy(h->data, msg, len);
	hold(g, h);
}

static bool
names_ring_change(const struct cpg_address *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i].reason == CPG_REASON_NODEDOWN ||
		    a[i].reason == CPG_REASON_NODEUP) {
			return true;
		}
	}
	return false;
}

static void
confchg_cb(cpg_handle_t handle, const struct cpg_name *name,
	   const struct cpg_address *members, size_t nmembers,
	   const struct cpg_address *left, size_t nleft,
	   const struct cpg_address *joined, size_t njoined)
{
	struct haq_group *g = group_of(handle);
	struct haq_held *h;

	(void)name;
	if (!g || g->dead || g->ctx->free_requested) {
		return;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		haq__log(g->ctx, HAQ_LOG_ERR, "group %s: out of memory", g->name);
		return;
	}
	h->kind = HAQ_HELD_VIEW;
	/*
	 * corosync delivers the configuration change of a ring change (and
	 * the first one after a join) before the totem change that names the
	 * new ring: such a view takes the ring of the next totem change.
	 */
	h->ring_change = g->ring_seq == 0 || names_ring_change(left, nleft) ||
			 names_ring_change(joined, njoined);
	if (!h->ring_change) {
		h->view.ring_nodeid = g->ring_nodeid;
		h->view.ring_seq = g->ring_seq;
	}
	h->view.nmembers = nmembers;
	h->view.nleft = nleft;
	h->view.njoined = njoined;
	h->view.members = copy_list(members, nmembers);
	h->view.left = copy_list(left, nleft);
	h->view.joined = copy_list(joined, njoined);
	if (!h->view.members || !h->view.left || !h->view.joined) {
		haq__log(g->ctx, HAQ_LOG_ERR, "group %s: out of memory", g->name);
		held_free(h);
		return;
	}
	if (!g->held_head && ready_for(g, h->view.ring_seq)) {
		apply_view(g, &h->view, h->ring_change);
		held_free(h);
		return;
	}
	haq__log(g->ctx, HAQ_LOG_DEBUG,
		 "group %s: view of ring %llx waits for its quorum state",
		 g->name, (unsigned long long)h->view.ring_seq);
	hold(g, h);
	haq__timers_update(g->ctx);
}

static void
totem_cb(cpg_handle_t handle, struct cpg_ring_id ring_id,
	 uint32_t nmembers, const uint32_t *members)
{
	struct haq_group *g = group_of(handle);
	struct haq_held *h;

	(void)nmembers;
	(void)members;
	if (!g || g->dead || g->ctx->free_requested) {
		return;
	}
	g->ring_nodeid = ring_id.nodeid;
	g->ring_seq = ring_id.seq;
	for (h = g->held_head; h; h = h->next) {
		if (h->kind == HAQ_HELD_VIEW && h->view.ring_seq == 0) {
			h->view.ring_nodeid = ring_id.nodeid;
			h->view.ring_seq = ring_id.seq;
		}
	}
	if (!g->held_head && ready_for(g, ring_id.seq)) {
		totem_election(g, ring_id.seq);
		return;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		return;
	}
	h->kind = HAQ_HELD_TOTEM;
	h->view.ring_nodeid = ring_id.nodeid;
	h->view.ring_seq = ring_id.seq;
	hold(g, h);
	release_held(g, false);
	haq__timers_update(g->ctx);
}

/* ---------------------------------------------------------------- */
/* Connection                                                       */
/* ---------------------------------------------------------------- */

int
haq__group_connect(struct haq_group *g)
{
	cpg_model_v1_data_t model = {
		.model = CPG_MODEL_V1,
		.cpg_deliver_fn = deliver_cb,
		.cpg_confchg_fn = confchg_cb,
		.cpg_totem_confchg_fn = totem_cb,
		.flags = CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF,
	};
	cs_error_t err;
	int rc;

	err = cpg_model_initialize(&g->handle, CPG_MODEL_V1,
				   (cpg_model_data_t *)&model, g);
	if (err != CS_OK) {
		return haq__cs_to_errno(err);
	}
	g->handle_valid = true;
	if (cpg_fd_get(g->handle, &g->fd) != CS_OK) {
		haq__group_disconnect(g);
		return -ENOTCONN;
	}
	rc = haq__check_server(g->ctx, g->fd);
	if (rc < 0) {
		haq__group_disconnect(g);
		return rc;
	}
	/*
	 * cpg_join answers TRY_AGAIN while a membership sync runs: never
	 * sleep for it, retry from the timer (sends queue meanwhile).
	 */
	err = cpg_join(g->handle, &g->cpg_name);
	if (err == CS_ERR_TRY_AGAIN) {
		g->join_pending = true;
		schedule_retry(g, true);
	} else if (err != CS_OK) {
		haq__group_disconnect(g);
		return haq__cs_to_errno(err);
	}
	g->watch.kind = HAQ_WATCH_CPG;
	g->watch.obj = g;
	rc = haq__watch_add(g->ctx, g->fd, &g->watch);
	if (rc < 0) {
		haq__group_disconnect(g);
		return rc;
	}
	g->joined = false;
	g->leader_reported = false;
	/* The first view of a connection waits for its initial totem change. */
	g->ring_nodeid = 0;
	g->ring_seq = 0;
	return 0;
}

/*
 * After a disconnect: messages handed to corosync and not delivered back
 * have an unknown fate. Say so; a partly sent large message starts over
 * after the rejoin (receivers dropped its fragments when we left).
 */
void
haq__group_lost(struct haq_group *g)
{
	uint64_t first = g->self_delivered + 1;
	uint64_t last = g->handed;

	/* Cut off from corosync, this process leads nothing. */
	if (haq__election_reset(&g->election)) {
		report_leader(g);
	}
	if (g->dead || g->ctx->free_requested) {
		return;
	}

	if (g->q.head && g->q.head->type == HAQ_WIRE_FRAG &&
	    g->q.head->sent == g->q.head->len) {
		/*
		 * All of it was handed over: some members may have it whole.
		 * It is reported below, not sent again (no duplicates).
		 */
		haq__sendq_pop(&g->q);
	} else if (g->q.head) {
		/* Partly out: receivers drop it as we leave; send it again. */
		g->q.head->sent = 0;
	}
	g->self_delivered = g->handed;
	if (last < first) {
		return;
	}
	haq__log(g->ctx, HAQ_LOG_WARNING,
		 "group %s: messages %llu..%llu may not have been delivered",
		 g->name, (unsigned long long)first, (unsigned long long)last);
	if (g->uncertain_fn && !g->dead && !g->ctx->free_requested) {
		g->uncertain_fn(g, first, last, g->uncertain_ud);
	}
}

void
haq__group_disconnect(struct haq_group *g)
{
	if (g->ctx->hot == g) {
		g->ctx->hot = NULL;
	}
	if (!g->handle_valid) {
		return;
	}
	haq__watch_del(g->ctx, g->fd);
	/* finalize without leave: the group is left as the handle closes. */
	cpg_finalize(g->handle);
	g->handle_valid = false;
	g->joined = false;
	g->join_pending = false;
	g->fd = -1;
	held_clear(g);
	/* The next connection is a fresh join: every sender is new again. */
	haq__peers_free(&g->peers);
	g->election_self_joining = false;
}

void
haq__group_destroy(struct haq_group *g)
{
	if (g->handle_valid && g->joined) {
		/*
		 * Say goodbye, so peers see "leave" rather than "procdown".
		 * The handle is finalized right after and never rejoined
		 * (corosync's leave-then-rejoin bug); if corosync is busy the
		 * peers see the handle go instead.
		 */
		(void)cpg_leave(g->handle, &g->cpg_name);
	}
	haq__group_disconnect(g);
	haq__sendq_clear(&g->q);
	haq__peers_free(&g->peers);
	haq__view_clear(&g->view);
	haq__election_free(&g->election);
	free(g);
}

/*
 * Whether more events wait on a CPG connection: libqb writes one byte per
 * event to the socket cpg_fd_get() returns. One poll() is cheaper than an
 * empty cpg_dispatch() (a handle lookup, a lock and the same poll inside).
 */
static bool
more_pending(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) != 0;
}

int
haq__group_dispatch(struct haq_group *g)
{
	haq_ctx_t *ctx = g->ctx;
	int taken = 0;

	g->rx_bytes = 0;
	while (taken < HAQ_DISPATCH_BUDGET) {
		cs_error_t err;

		dispatching = g;
		err = cpg_dispatch(g->handle, CS_DISPATCH_ONE_NONBLOCKING);
		dispatching = NULL;
		if (err == CS_ERR_TRY_AGAIN) {
			break; /* nothing more to read */
		}
		taken++;
		if (err != CS_OK) {
			haq__connection_lost(ctx);
			return taken;
		}
		if (g->dead || ctx->free_requested || !g->handle_valid) {
			return taken;
		}
		/*
		 * Large frames: a byte budget as well, so that reassembling a
		 * big message never holds the loop for long (the fd stays
		 * readable: the next dispatch continues).
		 */
		if (g->rx_bytes >= HAQ_DISPATCH_BYTES) {
			break;
		}
		/*
		 * Usually one event is all there is (a reply, a round trip):
		 * ask the socket rather than pay a whole empty dispatch.
		 */
		if (taken == 1 && !more_pending(g->fd)) {
			break;
		}
	}
	/* Deliveries made room in corosync: try the queue again. */
	if (g->q.head && g->joined) {
		flush(g);
	} else {
		/*
		 * A fragmented message leaves the queue when it comes back
		 * whole (process_frame()), not in flush(): a writer waiting
		 * for room must hear about it here, or it waits forever.
		 */
		maybe_writable(g);
	}
	return taken;
}

/* ---------------------------------------------------------------- */
/* Sending                                                          */
/* ---------------------------------------------------------------- */

static void
schedule_retry(struct haq_group *g, bool backoff)
{
	uint64_t now = haq__now();

	if (!backoff) {
		g->retry_at = now;
	} else {
		if (g->retry_delay < HAQ_RETRY_MIN_NS) {
			g->retry_delay = HAQ_RETRY_MIN_NS;
		} else if (g->retry_delay < HAQ_RETRY_MAX_NS) {
			g->retry_delay *= 2;
		}
		g->retry_at = now + g->retry_delay;
	}
	haq__timers_update(g->ctx);
}

static void
maybe_writable(struct haq_group *g)
{
	/* Hysteresis: wake the writer when half the queue is free. */
	if (!g->want_writable || g->q.mem > g->queue_limit / 2) {
		return;
	}
	g->want_writable = false;
	if (g->writable_fn && !g->dead && !g->ctx->free_requested) {
		g->writable_fn(g, g->writable_ud);
	}
}

/*
 * Bytes of our fragmented message e seen back so far (of an earlier try
 * too, after a resend: then more than e->sent, and nothing waits).
 */
static size_t
frag_back(struct haq_group *g, const struct haq_sendq_entry *e)
{
	return haq__peers_partial_have(&g->peers, g->ctx->local_nodeid,
				       (uint32_t)g->ctx->owner_pid, e->seq);
}

/*
 * Hand queued frames to corosync until it pushes back, a budget ends or
 * a fragmented message has its window out.
 */
static void
flush(struct haq_group *g)
{
	size_t frames = 0;
	size_t bytes = 0;

	while (g->q.head && g->handle_valid && g->joined) {
		struct haq_sendq_entry *e = g->q.head;
		struct haq_wire_hdr h = {
			.type = e->type,
			.incarnation = g->ctx->incarnation,
			.seq = e->seq,
		};
		uint8_t hdr[HAQ_WIRE_FRAG_HDR_LEN];
		struct iovec iov[2];
		size_t chunk = e->len - e->sent;
		cs_error_t err;

		if (e->type == HAQ_WIRE_FRAG && e->sent == e->len) {
			if (e->refused) {
				/* It will never be back whole here. */
				frag_done(g);
				continue;
			}
			/*
			 * Every frame of it is out: wait until it is back
			 * whole before sending more, so that a view change
			 * cutting it can have it sent again in order.
			 */
			break;
		}
		if (e->type == HAQ_WIRE_FRAG && !e->refused &&
		    e->sent >= HAQ_FRAG_WINDOW + frag_back(g, e)) {
			/* Its frames come back: the dispatch flushes again. */
			break;
		}
		if (frames >= HAQ_FLUSH_BUDGET || bytes >= HAQ_FLUSH_BYTES) {
			/* Let the loop breathe; continue on the next round. */
			schedule_retry(g, false);
			return;
		}
		if (e->type == HAQ_WIRE_FRAG) {
			if (chunk > HAQ_FRAG_PAYLOAD_MAX) {
				chunk = HAQ_FRAG_PAYLOAD_MAX;
			}
			h.total = e->len;
			h.offset = e->sent;
		}
		iov[0].iov_base = hdr;
		iov[0].iov_len = haq__wire_encode(&h, hdr);
		iov[1].iov_base = (void *)(haq__sendq_data(e) + e->sent);
		iov[1].iov_len = chunk;
		err = cpg_mcast_joined(g->handle, CPG_TYPE_AGREED, iov, 2);
		if (err == CS_ERR_TRY_AGAIN) {
			g->counters[HAQ_COUNTER_RETRIES]++;
			schedule_retry(g, true);
			return;
		}
		if (err == CS_ERR_LIBRARY) {
			haq__connection_lost(g->ctx);
			return;
		}
		frames++;
		bytes += chunk;
		if (err != CS_OK) {
			/* Not retryable: report it rather than lose it silently. */
			haq__log(g->ctx, HAQ_LOG_ERR,
				 "group %s: corosync refused message %llu: %s",
				 g->name, (unsigned long long)e->seq,
				 haq_strerror(haq__cs_to_errno(err)));
			haq__sendq_pop(&g->q);
			continue;
		}
		g->retry_delay = 0;
		e->sent += chunk;
		if (e->sent == e->len) {
			if (e->type != HAQ_WIRE_CONTROL) {
				g->handed = e->seq;
			}
			if (e->type != HAQ_WIRE_FRAG) {
				if (e->type == HAQ_WIRE_DATA) {
					g->counters[HAQ_COUNTER_SENT]++;
				}
				haq__sendq_pop(&g->q);
			}
		}
	}
	if (!g->q.head) {
		g->retry_at = 0;
	}
	maybe_writable(g);
}

static void
retry_join(struct haq_group *g)
{
	cs_error_t err = cpg_join(g->handle, &g->cpg_name);

	if (err == CS_ERR_TRY_AGAIN) {
		schedule_retry(g, true);
		return;
	}
	g->join_pending = false;
	g->retry_delay = 0;
	if (err == CS_ERR_LIBRARY) {
		haq__connection_lost(g->ctx);
	} else if (err != CS_OK) {
		haq__log(g->ctx, HAQ_LOG_ERR, "group %s: cannot join: %s",
			 g->name, haq_strerror(haq__cs_to_errno(err)));
	}
}

void
haq__group_timers(struct haq_group *g, uint64_t now)
{
	if (g->retry_at && g->retry_at <= now) {
		g->retry_at = 0;
		if (g->join_pending && g->handle_valid) {
			retry_join(g);
		} else {
			flush(g);
		}
	}
	if (g->held_head && !g->dead &&
	    g->held_since + HAQ_VIEW_HOLD_NS <= now) {
		haq__log(g->ctx, HAQ_LOG_WARNING,
			 "group %s: no quorum state for ring %llx after %llu s; "
			 "reporting the view with the latest state",
			 g->name, (unsigned long long)g->ring_seq,
			 (unsigned long long)(HAQ_VIEW_HOLD_NS / 1000000000ull));
		release_held(g, true);
	}
}

uint64_t
haq__group_deadline(const struct haq_group *g)
{
	uint64_t d = g->retry_at;

	if (g->held_head) {
		uint64_t hd = g->held_since + HAQ_VIEW_HOLD_NS;

		if (!d || hd < d) {
			d = hd;
		}
	}
	return d;
}

/*
 * Queue one of libhaq's own frames behind the application's messages. It
 * carries the next message's seq without consuming it: receivers apply no
 * sequence rules to control frames, and message ids stay dense.
 */
static int
queue_control(struct haq_group *g, const uint8_t *payload, size_t len)
{
	struct iovec iov = {.iov_base = (void *)payload, .iov_len = len};
	int rc;

	rc = haq__sendq_push(&g->q, HAQ_WIRE_CONTROL, g->next_seq, &iov, 1, len);
	if (rc < 0) {
		return rc;
	}
	if (g->joined && g->handle_valid && g->q.head == g->q.tail) {
		flush(g);
	}
	return 0;
}

/* A caller's buffer lent to haq_group_send_zc(). */
struct lent {
	void *data;
	haq_release_fn release;
	void *userdata;
};

/* Queue a message: a copy of iov, or the lent buffer when there is one. */
static int
enqueue(struct haq_group *g, uint8_t type, const struct iovec *iov,
	size_t iovcnt, size_t len, const struct lent *lent)
{
	if (lent) {
		return haq__sendq_push_borrowed(&g->q, type, g->next_seq,
						lent->data, len, lent->release,
						lent->userdata);
	}
	return haq__sendq_push(&g->q, type, g->next_seq, iov, iovcnt, len);
}

/*
 * The fast path: nothing queued ahead, joined, one whole frame, few
 * buffers: hand it to corosync straight from the caller's memory. Flow
 * control or a lost connection queue it instead.
 */
static int
send_direct(struct haq_group *g, const struct iovec *iov, size_t iovcnt,
	    size_t len, const struct lent *lent)
{
	struct iovec direct[HAQ_DIRECT_IOV_MAX + 1];
	uint8_t hdr[HAQ_WIRE_HDR_LEN];
	uint64_t seq = g->next_seq;
	cs_error_t err;
	int rc;

	memcpy(hdr, g->data_hdr, HAQ_WIRE_HDR_LEN);
	haq__wire_set_seq(hdr, seq);
	direct[0].iov_base = hdr;
	direct[0].iov_len = HAQ_WIRE_HDR_LEN;
	if (iovcnt == 1) {
		direct[1] = iov[0];
	} else {
		memcpy(&direct[1], iov, iovcnt * sizeof(*iov));
	}
	err = cpg_mcast_joined(g->handle, CPG_TYPE_AGREED, direct,
			       (unsigned int)iovcnt + 1);
	if (err == CS_OK) {
		g->handed = seq;
		g->next_seq++;
		g->counters[HAQ_COUNTER_SENT]++;
		if (lent && lent->release) {
			/* corosync has its own copy now. */
			lent->release(lent->data, lent->userdata);
		}
		return 0;
	}
	if (err != CS_ERR_TRY_AGAIN && err != CS_ERR_LIBRARY) {
		return haq__cs_to_errno(err);
	}
	if (err == CS_ERR_TRY_AGAIN) {
		g->counters[HAQ_COUNTER_RETRIES]++;
	}
	rc = enqueue(g, HAQ_WIRE_DATA, iov, iovcnt, len, lent);
	if (rc < 0) {
		return rc;
	}
	g->next_seq++;
	if (err == CS_ERR_LIBRARY) {
		haq__connection_lost(g->ctx);
	} else {
		schedule_retry(g, true);
	}
	return 0;
}

/* The checks and the queueing every send call shares. */
static int
send_checked(struct haq_group *g, const struct iovec *iov, size_t iovcnt,
	     size_t len, const struct lent *lent)
{
	uint8_t type;
	int rc;

	if (len == 0) {
		return -EINVAL;
	}
	if (len > g->max_message) {
		return -EMSGSIZE;
	}
	/*
	 * The limit bounds the memory the queue holds, headers included; an
	 * empty queue takes any message up to the maximum size.
	 */
	if (g->q.count &&
	    g->q.mem + haq__sendq_footprint(len) > g->queue_limit) {
		g->want_writable = true;
		return -ENOBUFS;
	}
	type = len <= HAQ_DATA_PAYLOAD_MAX ? HAQ_WIRE_DATA : HAQ_WIRE_FRAG;
	if (!g->q.head && g->joined && g->handle_valid &&
	    type == HAQ_WIRE_DATA && iovcnt <= HAQ_DIRECT_IOV_MAX) {
		return send_direct(g, iov, iovcnt, len, lent);
	}
	rc = enqueue(g, type, iov, iovcnt, len, lent);
	if (rc < 0) {
		return rc;
	}
	g->next_seq++;
	if (g->joined && g->handle_valid && g->q.head == g->q.tail) {
		/* First in the queue: start now (a large one in slices). */
		flush(g);
	}
	return 0;
}

HAQ_EXPORT int
haq_group_sendv(haq_group_t *g, const struct iovec *iov, size_t iovcnt)
{
	size_t len = 0;

	if (!g || !iov || iovcnt == 0 || g->dead) {
		return -EINVAL;
	}
	if (g->ctx->owner_pid != haq__getpid()) {
		return -ECHILD;
	}
	for (size_t i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len && !iov[i].iov_base) {
			return -EINVAL;
		}
		if (iov[i].iov_len > SIZE_MAX - len) {
			return -EMSGSIZE;
		}
		len += iov[i].iov_len;
	}
	return send_checked(g, iov, iovcnt, len, NULL);
}

HAQ_EXPORT int
haq_group_send(haq_group_t *g, const void *data, size_t len)
{
	struct iovec iov = {.iov_base = (void *)data, .iov_len = len};

	if (!data) {
		return -EINVAL;
	}
	/* The common case, checked in a few instructions. */
	if (g && !g->dead && len != 0 && len <= HAQ_DATA_PAYLOAD_MAX &&
	    len <= g->max_message && !g->q.head && g->joined &&
	    g->handle_valid && g->ctx->owner_pid == haq__getpid()) {
		return send_direct(g, &iov, 1, len, NULL);
	}
	return haq_group_sendv(g, &iov, 1);
}

HAQ_EXPORT int
haq_group_send_zc(haq_group_t *g, void *data, size_t len,
		  haq_release_fn release, void *userdata)
{
	struct iovec iov = {.iov_base = data, .iov_len = len};
	struct lent lent = {
		.data = data,
		.release = release,
		.userdata = userdata,
	};

	if (!g || !data || g->dead) {
		return -EINVAL;
	}
	if (g->ctx->owner_pid != haq__getpid()) {
		return -ECHILD;
	}
	return send_checked(g, &iov, 1, len, &lent);
}

/* ---------------------------------------------------------------- */
/* Join, leave, settings                                            */
/* ---------------------------------------------------------------- */

HAQ_EXPORT int
haq_group_join(haq_ctx_t *ctx, const char *name, haq_group_t **ret)
{
	struct haq_group *g;
	size_t len;
	int saved;
	int rc;

	if (!ctx || !name || !ret) {
		return -EINVAL;
	}
	len = strnlen(name, HAQ_GROUP_NAME_MAX + 1);
	if (len == 0) {
		return -EINVAL;
	}
	if (len > HAQ_GROUP_NAME_MAX) {
		return -ENAMETOOLONG;
	}
	if (ctx->owner_pid != haq__getpid()) {
		return -ECHILD;
	}
	for (g = ctx->groups; g; g = g->next) {
		if (strcmp(g->name, name) != 0) {
			continue;
		}
		if (!g->dead) {
			return -EEXIST;
		}
		/*
		 * Left earlier in this callback: corosync refuses a second
		 * join of one name by one process, so close the old handle
		 * now, outside its dispatch (we are in another's callback
		 * or in the same one after its events were taken).
		 */
		haq__group_disconnect(g);
	}
	if (!ctx->connected) {
		return -ENOTCONN;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		return -ENOMEM;
	}
	g->ctx = ctx;
	g->fd = -1;
	memcpy(g->name, name, len + 1);
	/* The CPG name is the bytes without the NUL. */
	memcpy(g->cpg_name.value, name, len);
	g->cpg_name.length = (uint32_t)len;
	g->next_seq = 1;
	(void)haq__wire_encode(&(struct haq_wire_hdr){
				       .type = HAQ_WIRE_DATA,
				       .incarnation = ctx->incarnation,
			       },
			       g->data_hdr);
	g->queue_limit = HAQ_QUEUE_LIMIT_DEFAULT;
	g->q.limit = g->queue_limit;
	g->max_message = HAQ_MESSAGE_MAX_DEFAULT;
	saved = haq__netns_enter(ctx);
	rc = haq__group_connect(g);
	haq__netns_leave(saved);
	if (rc < 0) {
		free(g);
		return rc;
	}
	g->next = ctx->groups;
	ctx->groups = g;
	haq__timers_update(ctx); /* a join retry may be due */
	*ret = g;
	return 0;
}

HAQ_EXPORT int
haq_group_leave(haq_group_t *g)
{
	struct haq_group **pp;
	haq_ctx_t *ctx;
	int discarded;

	if (!g || g->dead) {
		return -EINVAL;
	}
	ctx = g->ctx;
	discarded = (int)g->q.count;
	if (discarded) {
		haq__log(ctx, HAQ_LOG_WARNING,
			 "group %s: left with %d queued messages unsent",
			 g->name, discarded);
	}
	if (ctx->depth > 0) {
		/*
		 * Inside a callback, possibly inside cpg_dispatch() of this very
		 * handle: mark it, and finalize once the dispatch is over.
		 */
		g->dead = true;
		haq__sendq_clear(&g->q);
		return discarded;
	}
	for (pp = &ctx->groups; *pp; pp = &(*pp)->next) {
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	}
	haq__group_destroy(g);
	haq__timers_update(ctx);
	return discarded;
}

HAQ_EXPORT int
haq_group_set_message_cb(haq_group_t *g, haq_message_fn fn, void *userdata)
{
	if (!g) {
		return -EINVAL;
	}
	g->message_fn = fn;
	g->message_ud = userdata;
	return 0;
}

HAQ_EXPORT int
haq_group_set_view_cb(haq_group_t *g, haq_view_fn fn, void *userdata)
{
	if (!g) {
		return -EINVAL;
	}
	g->view_fn = fn;
	g->view_ud = userdata;
	return 0;
}

HAQ_EXPORT int
haq_group_set_writable_cb(haq_group_t *g, haq_writable_fn fn, void *userdata)
{
	if (!g) {
		return -EINVAL;
	}
	g->writable_fn = fn;
	g->writable_ud = userdata;
	return 0;
}

HAQ_EXPORT int
haq_group_set_leader_cb(haq_group_t *g, haq_leader_fn fn, void *userdata)
{
	if (!g) {
		return -EINVAL;
	}
	g->leader_fn = fn;
	g->leader_ud = userdata;
	return 0;
}

HAQ_EXPORT int
haq_group_set_uncertain_cb(haq_group_t *g, haq_uncertain_fn fn,
			   void *userdata)
{
	if (!g) {
		return -EINVAL;
	}
	g->uncertain_fn = fn;
	g->uncertain_ud = userdata;
	return 0;
}

HAQ_EXPORT uint64_t
haq_group_next_id(const haq_group_t *g)
{
	return g ? g->next_seq : 0;
}

HAQ_EXPORT int
haq_group_set_queue_limit(haq_group_t *g, size_t bytes)
{
	if (!g || bytes == 0) {
		return -EINVAL;
	}
	g->queue_limit = bytes;
	g->q.limit = bytes;
	return 0;
}

HAQ_EXPORT int
haq_group_set_max_message(haq_group_t *g, size_t bytes)
{
	if (!g || bytes == 0 || bytes > SIZE_MAX / 2) {
		return -EINVAL;
	}
	g->max_message = bytes;
	return 0;
}

HAQ_EXPORT int
haq_group_queued(const haq_group_t *g, size_t *bytes, size_t *messages)
{
	if (!g) {
		return -EINVAL;
	}
	if (bytes) {
		*bytes = g->q.bytes;
	}
	if (messages) {
		*messages = g->q.count;
	}
	return 0;
}

HAQ_EXPORT const char *
haq_group_name(const haq_group_t *g)
{
	return g ? g->name : NULL;
}

HAQ_EXPORT haq_ctx_t *
haq_group_ctx(const haq_group_t *g)
{
	return g ? g->ctx : NULL;
}

HAQ_EXPORT const haq_view_t *
haq_group_view(const haq_group_t *g)
{
	return g && g->have_view ? &g->view : NULL;
}

HAQ_EXPORT int
haq_group_leader(const haq_group_t *g, uint32_t *nodeid, uint32_t *pid,
		 uint64_t *epoch)
{
	if (!g) {
		return -EINVAL;
	}
	if (!g->election.nodeid) {
		return -ENOENT;
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
	return is_self(g, g->election.nodeid, g->election.pid) ? 1 : 0;
}

HAQ_EXPORT int
haq_group_counter(const haq_group_t *g, int counter, uint64_t *value)
{
	if (!g || !value || counter < 0 ||
	    counter > HAQ_COUNTER_PARTIAL_DROPPED) {
		return -EINVAL;
	}
	*value = g->counters[counter];
	return 0;
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
