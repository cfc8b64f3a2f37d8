/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Quorum tracking through votequorum.
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

static int
cmp_node(const void *a, const void *b)
{
	const struct haq_quorum_node *x = a;
	const struct haq_quorum_node *y = b;

	return (x->nodeid > y->nodeid) - (x->nodeid < y->nodeid);
}

/* Re-read quorate flag and vote totals from corosync. */
static void
refresh_totals(haq_ctx_t *ctx)
{
	struct votequorum_info info;
	cs_error_t err;

	err = votequorum_getinfo(ctx->vq, ctx->local_nodeid, &info);
	if (err != CS_OK) {
		haq__log(ctx, HAQ_LOG_DEBUG, "votequorum_getinfo: %s",
			 haq_strerror(haq__cs_to_errno(err)));
		return;
	}
	ctx->quorum.quorate = (info.flags & VOTEQUORUM_INFO_QUORATE) ? 1 : 0;
	ctx->quorum.expected_votes = info.node_expected_votes;
	ctx->quorum.total_votes = info.total_votes;
	ctx->quorum.quorum_votes = info.quorum;
	for (size_t i = 0; i < ctx->quorum.nnodes; i++) {
		struct haq_quorum_node *n = &ctx->quorum.nodes[i];

		if (n->nodeid == VOTEQUORUM_QDEVICE_NODEID) {
			n->votes = info.qdevice_votes;
		}
	}
}

/* What the application has last been told, to report changes only. */
static bool
changed_since_notified(haq_ctx_t *ctx)
{
	const struct haq_quorum *q = &ctx->quorum;
	const struct haq_quorum *n = &ctx->notified;

	return !n->valid || q->quorate != n->quorate ||
	       q->ring_seq != n->ring_seq || q->ring_nodeid != n->ring_nodeid ||
	       q->expected_votes != n->expected_votes ||
	       q->total_votes != n->total_votes ||
	       q->quorum_votes != n->quorum_votes || q->nnodes != n->nnodes;
}

/*
 * Tell the application first, then release the group views that waited
 * for this state: it sees the quorum change before the views it explains.
 */
static void
notify(haq_ctx_t *ctx)
{
	ctx->quorum.valid = 1;
	if (changed_since_notified(ctx)) {
		ctx->notified = ctx->quorum;
		ctx->notified.nodes = NULL;
		if (ctx->quorum_fn && !ctx->free_requested) {
			ctx->quorum_fn(ctx, &ctx->quorum, ctx->quorum_ud);
		}
	}
	for (struct haq_group *g = ctx->groups; g; g = g->next) {
		if (!g->dead && !ctx->free_requested) {
			haq__group_quorum_changed(g);
		}
	}
}

static void
quorum_notify_cb(votequorum_handle_t handle, uint64_t context,
		 uint32_t quorate, uint32_t n, votequorum_node_t nodes[])
{
	haq_ctx_t *ctx = (haq_ctx_t *)(uintptr_t)context;

	(void)handle;
	(void)n;
	(void)nodes;
	refresh_totals(ctx);
	ctx->quorum.quorate = quorate ? 1 : 0;
	if (ctx->quorum.ring_seq == 0) {
		return; /* no node list yet: not a whole state */
	}
	ctx->quorum_done_seq = ctx->quorum.ring_seq;
	haq__log(ctx, HAQ_LOG_INFO,
		 "ring %u.%llx: %s (%zu nodes, %u of %u votes, %u needed)",
		 ctx->quorum.ring_nodeid,
		 (unsigned long long)ctx->quorum.ring_seq,
		 quorate ? "quorate" : "NOT quorate", ctx->quorum.nnodes,
		 ctx->quorum.total_votes, ctx->quorum.expected_votes,
		 ctx->quorum.quorum_votes);
	notify(ctx);
}

static void
nodelist_notify_cb(votequorum_handle_t handle, uint64_t context,
		   votequorum_ring_id_t ring_id, uint32_t n, uint32_t nodes[])
{
	haq_ctx_t *ctx = (haq_ctx_t *)(uintptr_t)context;
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
		    votequorum_getinfo(ctx->vq, nodes[i], &info) == CS_OK) {
			v[i].votes = info.node_votes;
		}
	}
	qsort(v, n, sizeof(*v), cmp_node);
	free(ctx->quorum.nodes);
	ctx->quorum.nodes = v;
	ctx->quorum.nnodes = n;
	ctx->quorum.ring_nodeid = ring_id.nodeid;
	ctx->quorum.ring_seq = ring_id.seq;
	refresh_totals(ctx);
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

int
haq__quorum_connect(haq_ctx_t *ctx)
{
	votequorum_callbacks_t cb = {
		.votequorum_quorum_notify_fn = quorum_notify_cb,
		.votequorum_nodelist_notify_fn = nodelist_notify_cb,
	};
	cs_error_t err;
	int rc;

	rc = read_local_nodeid(ctx);
	if (rc < 0) {
		return rc;
	}
	err = votequorum_initialize(&ctx->vq, &cb);
	if (err != CS_OK) {
		return haq__cs_to_errno(err);
	}
	ctx->vq_valid = true;
	votequorum_context_set(ctx->vq, (void *)ctx);
	if (votequorum_fd_get(ctx->vq, &ctx->vq_fd) != CS_OK) {
		haq__quorum_disconnect(ctx);
		return -ENOTCONN;
	}
	rc = haq__check_server(ctx, ctx->vq_fd);
	if (rc < 0) {
		haq__quorum_disconnect(ctx);
		return rc;
	}
	/* The context value passed to the callbacks is the trackstart one. */
	err = votequorum_trackstart(ctx->vq, (uint64_t)(uintptr_t)ctx,
				    CS_TRACK_CHANGES);
	if (err != CS_OK) {
		haq__quorum_disconnect(ctx);
		return haq__cs_to_errno(err);
	}
	ctx->vq_watch.kind = HAQ_WATCH_VOTEQUORUM;
	ctx->vq_watch.obj = ctx;
	rc = haq__watch_add(ctx, ctx->vq_fd, &ctx->vq_watch);
	if (rc < 0) {
		haq__quorum_disconnect(ctx);
		return rc;
	}
	/*
	 * trackstart delivers the current state at once: wait for it, so
	 * haq_quorum_get() answers as soon as the context exists.
	 */
	ctx->quorum.ring_seq = 0;
	ctx->quorum_done_seq = 0;
	for (int i = 0; i < 20 && ctx->quorum_done_seq == 0; i++) {
		struct pollfd p = {.fd = ctx->vq_fd, .events = POLLIN};

		if (poll(&p, 1, 100) > 0) {
			err = votequorum_dispatch(ctx->vq, CS_DISPATCH_ALL);
			if (err != CS_OK && err != CS_ERR_TRY_AGAIN) {
				haq__quorum_disconnect(ctx);
				return haq__cs_to_errno(err);
			}
		}
	}
	return 0;
}

void
haq__quorum_disconnect(haq_ctx_t *ctx)
{
	if (!ctx->vq_valid) {
		return;
	}
	if (ctx->vq_fd >= 0) {
		haq__watch_del(ctx, ctx->vq_fd);
	}
	votequorum_finalize(ctx->vq);
	ctx->vq_valid = false;
	ctx->vq_fd = -1;
}

void
haq__quorum_dispatch(haq_ctx_t *ctx)
{
	for (int i = 0; i < HAQ_DISPATCH_BUDGET && ctx->vq_valid; i++) {
		cs_error_t err;

		err = votequorum_dispatch(ctx->vq, CS_DISPATCH_ONE_NONBLOCKING);
		if (err == CS_ERR_TRY_AGAIN) {
			return;
		}
		if (err != CS_OK) {
			haq__connection_lost(ctx);
			return;
		}
		/* A cheap check whether more events are waiting. */
		struct pollfd p = {.fd = ctx->vq_fd, .events = POLLIN};

		if (poll(&p, 1, 0) <= 0) {
			return;
		}
		if (p.revents & (POLLHUP | POLLERR) && !(p.revents & POLLIN)) {
			haq__connection_lost(ctx);
			return;
		}
	}
}

HAQ_EXPORT int
haq_quorum_get(haq_ctx_t *ctx, const haq_quorum_t **ret)
{
	if (!ctx || !ret) {
		return -EINVAL;
	}
	if (!ctx->quorum.valid) {
		return -EAGAIN;
	}
	*ret = &ctx->quorum;
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
