/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The votequorum service: quorum tracking, fanned out through the core.
 *
 * The nodelist notification carries the totem ring id; the quorum
 * notification carries the verdict. On either, the totals are read again
 * with votequorum_getinfo(), so a snapshot is whole for the ring it names.
 */
#include "haq-int.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <corosync/cpg.h>
#include <corosync/votequorum.h>

struct haq_vq {
	struct haq_service svc;
	votequorum_handle_t handle;
	bool valid;
	struct haq_quorum quorum;
	struct haq_quorum notified; /* last reported (nodes not kept) */
	uint64_t done_seq;          /* ring whose quorum verdict arrived */
};

static const struct haq_service_ops vq_ops;

static int
cmp_node(const void *a, const void *b)
{
	const struct haq_quorum_node *x = a;
	const struct haq_quorum_node *y = b;

	return (x->nodeid > y->nodeid) - (x->nodeid < y->nodeid);
}

/* Re-read quorate flag and vote totals from corosync. */
static void
refresh_totals(struct haq_vq *vq)
{
	haq_ctx_t *ctx = vq->svc.ctx;
	struct votequorum_info info;
	cs_error_t err;

	err = votequorum_getinfo(vq->handle, ctx->local_nodeid, &info);
	if (err != CS_OK) {
		haq__log(ctx, HAQ_LOG_DEBUG, "votequorum_getinfo: %s",
			 haq_strerror(haq__cs_result(ctx, err)));
		return;
	}
	vq->quorum.quorate = (info.flags & VOTEQUORUM_INFO_QUORATE) ? 1 : 0;
	vq->quorum.expected_votes = info.node_expected_votes;
	vq->quorum.total_votes = info.total_votes;
	vq->quorum.quorum_votes = info.quorum;
	for (size_t i = 0; i < vq->quorum.nnodes; i++) {
		struct haq_quorum_node *n = &vq->quorum.nodes[i];

		if (n->nodeid == VOTEQUORUM_QDEVICE_NODEID) {
			n->votes = info.qdevice_votes;
		}
	}
}

/* What the application has last been told, to report changes only. */
static bool
changed_since_notified(const struct haq_vq *vq)
{
	const struct haq_quorum *q = &vq->quorum;
	const struct haq_quorum *n = &vq->notified;

	return !n->valid || q->quorate != n->quorate ||
	       q->ring_seq != n->ring_seq || q->ring_nodeid != n->ring_nodeid ||
	       q->expected_votes != n->expected_votes ||
	       q->total_votes != n->total_votes ||
	       q->quorum_votes != n->quorum_votes || q->nnodes != n->nnodes;
}

/*
 * A whole state for a ring: the core tells the application (when it
 * changed) and then every service, so the application sees the quorum
 * change before the group views it explains.
 */
static void
notify(struct haq_vq *vq)
{
	bool changed;

	vq->quorum.valid = 1;
	changed = changed_since_notified(vq);
	if (changed) {
		vq->notified = vq->quorum;
		vq->notified.nodes = NULL;
	}
	haq__ctx_quorum_changed(vq->svc.ctx, &vq->quorum, vq->done_seq,
				changed);
}

static void
quorum_notify_cb(votequorum_handle_t handle, uint64_t context,
		 uint32_t quorate, uint32_t n, votequorum_node_t nodes[])
{
	struct haq_vq *vq = (struct haq_vq *)(uintptr_t)context;

	(void)handle;
	(void)n;
	(void)nodes;
	refresh_totals(vq);
	vq->quorum.quorate = quorate ? 1 : 0;
	if (vq->quorum.ring_seq == 0) {
		return; /* no node list yet: not a whole state */
	}
	vq->done_seq = vq->quorum.ring_seq;
	haq__log(vq->svc.ctx, HAQ_LOG_INFO,
		 "ring %u.%llx: %s (%zu nodes, %u of %u votes, %u needed)",
		 vq->quorum.ring_nodeid,
		 (unsigned long long)vq->quorum.ring_seq,
		 quorate ? "quorate" : "NOT quorate", vq->quorum.nnodes,
		 vq->quorum.total_votes, vq->quorum.expected_votes,
		 vq->quorum.quorum_votes);
	notify(vq);
}

static void
nodelist_notify_cb(votequorum_handle_t handle, uint64_t context,
		   votequorum_ring_id_t ring_id, uint32_t n, uint32_t nodes[])
{
	struct haq_vq *vq = (struct haq_vq *)(uintptr_t)context;
	haq_ctx_t *ctx = vq->svc.ctx;
	struct haq_quorum_node *v;

	(void)handle;
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v) {
		haq__log(ctx, HAQ_LOG_ERR, "out of memory for the quorum node list");
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct votequorum_info info;

		v[i].nodeid = nodes[i];
		v[i].votes = 0;
		if (nodes[i] != VOTEQUORUM_QDEVICE_NODEID &&
		    votequorum_getinfo(vq->handle, nodes[i], &info) == CS_OK) {
			v[i].votes = info.node_votes;
		}
	}
	qsort(v, n, sizeof(*v), cmp_node);
	free(vq->quorum.nodes);
	vq->quorum.nodes = v;
	vq->quorum.nnodes = n;
	vq->quorum.ring_nodeid = ring_id.nodeid;
	vq->quorum.ring_seq = ring_id.seq;
	refresh_totals(vq);
	/*
	 * votequorum follows every node list with a quorum notification,
	 * and only that one carries the verdict for the new ring: the state
	 * is complete, and reported, then.
	 */
	haq__log(ctx, HAQ_LOG_DEBUG, "ring %u.%llx: %u nodes", ring_id.nodeid,
		 (unsigned long long)ring_id.seq, n);
}

/* Learn this node's id from CPG, which every client may use. */
static int
read_local_nodeid(haq_ctx_t *ctx)
{
	cpg_handle_t h;
	cpg_callbacks_t cb = {0};
	unsigned int nodeid = 0;
	cs_error_t err;
	int fd;
	int rc;

	err = cpg_initialize(&h, &cb);
	if (err != CS_OK) {
		return haq__cs_to_errno(err);
	}
	/* Ask nothing of a server before it is known to be root's. */
	if (cpg_fd_get(h, &fd) != CS_OK) {
		cpg_finalize(h);
		return -ENOTCONN;
	}
	rc = haq__check_server(ctx, fd);
	if (rc < 0) {
		cpg_finalize(h);
		return rc;
	}
	err = cpg_local_get(h, &nodeid);
	cpg_finalize(h);
	if (err != CS_OK) {
		return haq__cs_to_errno(err);
	}
	ctx->local_nodeid = nodeid;
	return 0;
}

static void
vq_disconnect(struct haq_service *s)
{
	struct haq_vq *vq = (struct haq_vq *)s;

	if (!vq->valid) {
		return;
	}
	haq__watch_del(s);
	votequorum_finalize(vq->handle);
	vq->valid = false;
}

/*
 * trackstart delivers the current state at once. At creation the caller
 * waits for it (bounded), so haq_quorum_get() answers as soon as the
 * context exists; a reconnect never waits: views wait for it instead.
 */
static int
wait_first_state(struct haq_vq *vq)
{
	uint64_t until = haq__now() + HAQ_QUORUM_FIRST_WAIT_MS * 1000000ull;

	while (vq->done_seq == 0) {
		struct pollfd p = {.fd = vq->svc.fd, .events = POLLIN};
		uint64_t now = haq__now();
		cs_error_t err;

		if (now >= until) {
			break;
		}
		if (poll(&p, 1, (int)((until - now) / 1000000) + 1) <= 0) {
			continue;
		}
		err = votequorum_dispatch(vq->handle, CS_DISPATCH_ALL);
		if (err != CS_OK && err != CS_ERR_TRY_AGAIN) {
			return haq__cs_to_errno(err);
		}
	}
	return 0;
}

static int
vq_connect(struct haq_service *s)
{
	struct haq_vq *vq = (struct haq_vq *)s;
	haq_ctx_t *ctx = s->ctx;
	votequorum_callbacks_t cb = {
		.votequorum_quorum_notify_fn = quorum_notify_cb,
		.votequorum_nodelist_notify_fn = nodelist_notify_cb,
	};
	cs_error_t err;
	int fd;
	int rc;

	rc = read_local_nodeid(ctx);
	if (rc < 0) {
		return rc;
	}
	err = votequorum_initialize(&vq->handle, &cb);
	if (err != CS_OK) {
		return haq__cs_to_errno(err);
	}
	vq->valid = true;
	if (votequorum_fd_get(vq->handle, &fd) != CS_OK) {
		rc = -ENOTCONN;
		goto fail;
	}
	rc = haq__check_server(ctx, fd);
	if (rc < 0) {
		goto fail;
	}
	vq->quorum.ring_seq = 0;
	vq->done_seq = 0;
	ctx->quorum_done_seq = 0;
	/* A corosync started afresh may number its rings from scratch. */
	memset(&ctx->verdicts, 0, sizeof(ctx->verdicts));
	/* The context value passed to the callbacks is the trackstart one. */
	err = votequorum_trackstart(vq->handle, (uint64_t)(uintptr_t)vq,
				    CS_TRACK_CHANGES);
	if (err != CS_OK) {
		rc = haq__cs_to_errno(err);
		goto fail;
	}
	rc = haq__watch_add(s, fd);
	if (rc < 0) {
		goto fail;
	}
	if (ctx->conn != HAQ_CONN_STEPPING) {
		rc = wait_first_state(vq);
		if (rc < 0) {
			goto fail;
		}
	}
	return 0;
fail:
	vq_disconnect(s);
	return rc;
}

static int
vq_dispatch(struct haq_service *s, uint32_t revents)
{
	struct haq_vq *vq = (struct haq_vq *)s;

	(void)revents;
	return haq__dispatch_budgeted(s->ctx, votequorum_dispatch, vq->handle,
				      s->fd, HAQ_DISPATCH_BUDGET, NULL, NULL);
}

static void
vq_destroy(struct haq_service *s, bool finalize)
{
	struct haq_vq *vq = (struct haq_vq *)s;

	if (finalize) {
		vq_disconnect(s);
	}
	free(vq->quorum.nodes);
	s->ctx->vq = NULL;
	s->ctx->quorum = NULL;
	free(vq);
}

static const struct haq_service_ops vq_ops = {
	.name = "votequorum",
	.order = 0,
	.connect = vq_connect,
	.disconnect = vq_disconnect,
	.dispatch = vq_dispatch,
	.destroy = vq_destroy,
};

int
haq__quorum_create(haq_ctx_t *ctx, struct haq_service **ret)
{
	struct haq_vq *vq = calloc(1, sizeof(*vq));

	if (!vq) {
		return -ENOMEM;
	}
	haq__service_add(ctx, &vq->svc, &vq_ops);
	ctx->vq = vq;
	*ret = &vq->svc;
	return 0;
}

HAQ_EXPORT int
haq_quorum_get(haq_ctx_t *ctx, const haq_quorum_t **ret)
{
	int rc = haq__ctx_enter(ctx, 0);

	if (rc < 0) {
		return rc;
	}
	if (!ret) {
		return -EINVAL;
	}
	if (!ctx->quorum || !ctx->quorum->valid) {
		return -EAGAIN;
	}
	*ret = ctx->quorum;
	return 0;
}

HAQ_EXPORT int
haq_quorum_quorate(const haq_quorum_t *q)
{
	if (!q) {
		return -EINVAL;
	}
	return q->quorate;
}

HAQ_EXPORT int
haq_quorum_ring(const haq_quorum_t *q, uint32_t *ring_nodeid,
		uint64_t *ring_seq)
{
	if (!q) {
		return -EINVAL;
	}
	if (ring_nodeid) {
		*ring_nodeid = q->ring_nodeid;
	}
	if (ring_seq) {
		*ring_seq = q->ring_seq;
	}
	return 0;
}

HAQ_EXPORT int
haq_quorum_votes(const haq_quorum_t *q, uint32_t *expected_votes,
		 uint32_t *total_votes, uint32_t *quorum_votes)
{
	if (!q) {
		return -EINVAL;
	}
	if (expected_votes) {
		*expected_votes = q->expected_votes;
	}
	if (total_votes) {
		*total_votes = q->total_votes;
	}
	if (quorum_votes) {
		*quorum_votes = q->quorum_votes;
	}
	return 0;
}

HAQ_EXPORT size_t
haq_quorum_node_count(const haq_quorum_t *q)
{
	return q ? q->nnodes : 0;
}

HAQ_EXPORT int
haq_quorum_node(const haq_quorum_t *q, size_t i, uint32_t *nodeid,
		uint32_t *votes)
{
	if (!q || i >= q->nnodes) {
		return -EINVAL;
	}
	if (nodeid) {
		*nodeid = q->nodes[i].nodeid;
	}
	if (votes) {
		*votes = q->nodes[i].votes;
	}
	return 0;
}
