/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Request/reply on a group: the glue between the agreed stream and the
 * bookkeeping of rr.c (requests of this process waiting for answers; the
 * requests this process must answer), and the public calls.
 */
#include "group.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sendwin.h"

void
haq__rr_init(struct haq_group *g)
{
	memset(&g->rr, 0, sizeof(g->rr));
	g->rr.next_id = 1;
	haq__rr_table_init(&g->rr.in);
}

static void
pending_free(struct haq_rr_pending *p)
{
	haq__rr_out_free(&p->o);
	free(p);
}

void
haq__rr_free(struct haq_group *g)
{
	while (g->rr.out) {
		struct haq_rr_pending *p = g->rr.out;

		g->rr.out = p->next;
		pending_free(p);
	}
	g->rr.out_tail = NULL;
	haq__rr_table_free(&g->rr.in);
}

/* The request of this process with id, or NULL. */
static struct haq_rr_pending *
find_out(struct haq_group *g, uint64_t id, struct haq_rr_pending **prev)
{
	struct haq_rr_pending *q = NULL;

	for (struct haq_rr_pending *p = g->rr.out; p; q = p, p = p->next) {
		if (p->o.id == id) {
			if (prev) {
				*prev = q;
			}
			return p;
		}
		if (p->o.id > id) {
			break;
		}
	}
	return NULL;
}

/* The first request of this process with an id above id, or NULL. */
static struct haq_rr_pending *
next_out(struct haq_group *g, uint64_t id)
{
	for (struct haq_rr_pending *p = g->rr.out; p; p = p->next) {
		if (p->o.id > id) {
			return p;
		}
	}
	return NULL;
}

static void
unlink_out(struct haq_group *g, struct haq_rr_pending *p)
{
	struct haq_rr_pending *prev = NULL;

	if (find_out(g, p->o.id, &prev) != p) {
		return;
	}
	if (prev) {
		prev->next = p->next;
	} else {
		g->rr.out = p->next;
	}
	if (g->rr.out_tail == p) {
		g->rr.out_tail = prev;
	}
}

/*
 * End request p with result: taken out first, so the callback may do
 * anything. Returns whether the group is still alive.
 */
static bool
finish(struct haq_group *g, struct haq_rr_pending *p, int result)
{
	haq_reply_fn fn = p->fn;
	void *ud = p->ud;
	uint64_t id = p->o.id;

	unlink_out(g, p);
	pending_free(p);
	if (haq__group_alive(g) && fn) {
		fn(g, id, 0, 0, result, NULL, 0, ud);
	}
	return haq__group_alive(g);
}

/* End request id if its answers are in; whether the group is alive. */
static bool
settle(struct haq_group *g, uint64_t id)
{
	struct haq_rr_pending *p = find_out(g, id, NULL);
	int result;

	if (p && haq__rr_out_complete(&p->o, &result)) {
		return finish(g, p, result);
	}
	return haq__group_alive(g);
}

/* Tell request p's callback one answer; whether the group is alive. */
static bool
tell(struct haq_group *g, struct haq_rr_pending *p, uint32_t nodeid,
     uint32_t pid, int status, const void *data, size_t len)
{
	if (p->fn) {
		p->fn(g, p->o.id, nodeid, pid, status, data, len, p->ud);
	}
	return haq__group_alive(g);
}

static void
malformed(struct haq_group *g, uint32_t nodeid, uint32_t pid, size_t len)
{
	g->counters[HAQ_COUNTER_RR_MALFORMED]++;
	haq__log(g->ctx, HAQ_LOG_DEBUG,
		 "group %s: dropped a malformed request/reply frame of %zu "
		 "bytes from %u/%u",
		 g->name, len, nodeid, pid);
}

static int
send_reply(struct haq_group *g, int status, uint32_t nodeid, uint32_t pid,
	   uint64_t id, const void *data, size_t len)
{
	uint8_t hdr[HAQ_RR_REPLY_HDR];
	struct iovec iov[2];

	haq__rr_encode_reply(hdr, status, nodeid, pid, id);
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)data;
	iov[1].iov_len = len;
	return haq__tx_queue_controlv(g, iov, len ? 2 : 1, sizeof(hdr) + len);
}

static void
on_request_frame(struct haq_group *g, uint32_t nodeid, uint32_t pid,
		 const uint8_t *c, size_t len)
{
	struct haq_rr_request r;
	uint64_t handle = 0;

	if (haq__rr_decode_request(c, len, &r) < 0) {
		malformed(g, nodeid, pid, len);
		return;
	}
	if (haq__is_self(g, nodeid, pid) && r.mode != HAQ_RR_NONE) {
		struct haq_rr_pending *p = find_out(g, r.id, NULL);

		/* Back in the agreed stream: its responders are known. */
		if (p && !p->o.delivered) {
			if (haq__rr_out_delivered(&p->o, g->view.members,
						  g->view.nmembers) < 0) {
				if (!finish(g, p, -ENOMEM)) {
					return;
				}
			} else if (!settle(g, r.id)) {
				return;
			}
		}
	}
	if (r.mode == HAQ_RR_NONE) {
		if (g->rr.on_request) {
			g->rr.on_request(g, 0, nodeid, pid, r.data, r.len,
					 g->rr.ud);
		}
		return;
	}
	if (!g->rr.on_request) {
		(void)send_reply(g, -ENOSYS, nodeid, pid, r.id, NULL, 0);
		return;
	}
	handle = haq__rr_in_add(&g->rr.in, nodeid, pid, r.id);
	if (!handle) {
		haq__log(g->ctx, HAQ_LOG_ERR, "group %s: out of memory",
			 g->name);
		(void)send_reply(g, -ENOMEM, nodeid, pid, r.id, NULL, 0);
		return;
	}
	g->rr.on_request(g, handle, nodeid, pid, r.data, r.len, g->rr.ud);
}

static void
on_reply_frame(struct haq_group *g, uint32_t nodeid, uint32_t pid,
	       const uint8_t *c, size_t len)
{
	struct haq_rr_reply r;
	struct haq_rr_pending *p;
	int rc;

	/* Most replies are for another member: decided from 16 bytes. */
	rc = haq__rr_reply_for(c, len, g->ctx->local_nodeid,
			       (uint32_t)g->ctx->owner_pid);
	if (rc == 0) {
		return;
	}
	if (rc < 0 || haq__rr_decode_reply(c, len, &r) < 0) {
		malformed(g, nodeid, pid, len);
		return;
	}
	p = find_out(g, r.id, NULL);
	if (!p) {
		return; /* complete, cancelled or timed out: too late */
	}
	if (haq__rr_out_reply(&p->o, nodeid, pid, r.status) < 0) {
		malformed(g, nodeid, pid, len);
		return;
	}
	if (!tell(g, p, nodeid, pid, r.status, r.data, r.len)) {
		return;
	}
	(void)settle(g, r.id);
}

static void
on_cancel_frame(struct haq_group *g, uint32_t nodeid, uint32_t pid,
		const uint8_t *c, size_t len)
{
	uint64_t id;
	uint64_t handle;

	if (haq__rr_decode_cancel(c, len, &id) < 0) {
		malformed(g, nodeid, pid, len);
		return;
	}
	handle = haq__rr_in_lookup(&g->rr.in, nodeid, pid, id);
	if (!handle) {
		return; /* answered already, or never asked of this process */
	}
	haq__rr_in_remove(&g->rr.in, handle, -ECANCELED);
	if (g->rr.on_cancel) {
		g->rr.on_cancel(g, handle, -ECANCELED, g->rr.ud);
	}
}

/* A control frame of type HAQ_CONTROL_RR_FIRST..HAQ_CONTROL_RR_LAST. */
void
haq__rr_control(struct haq_group *g, uint32_t nodeid, uint32_t pid,
		const uint8_t *data, size_t len)
{
	switch (data[0]) {
	case HAQ_CONTROL_RR_REQUEST:
		on_request_frame(g, nodeid, pid, data, len);
		break;
	case HAQ_CONTROL_RR_REPLY:
		on_reply_frame(g, nodeid, pid, data, len);
		break;
	case HAQ_CONTROL_RR_CANCEL:
		on_cancel_frame(g, nodeid, pid, data, len);
		break;
	default:
		malformed(g, nodeid, pid, len);
		break;
	}
}

/*
 * Withdraw the requests this process must answer whose requester is not
 * in the view of members (n 0: all of them), telling why.
 */
static bool
orphans(struct haq_group *g, const struct haq_memb *members, size_t n,
	int reason)
{
	uint64_t handle;

	while (haq__group_alive(g) &&
	       haq__rr_in_next_orphan(&g->rr.in, members, n, &handle)) {
		if (g->rr.on_cancel) {
			g->rr.on_cancel(g, handle, reason, g->rr.ud);
		}
	}
	return haq__group_alive(g);
}

/* A new view: responders that left are marked, requesters forgotten. */
void
haq__rr_view(struct haq_group *g)
{
	uint64_t id = 0;
	struct haq_rr_pending *p;

	while (haq__group_alive(g) && (p = next_out(g, id))) {
		uint32_t nodeid;
		uint32_t pid;

		id = p->o.id;
		while (p && haq__rr_out_next_leaver(&p->o, g->view.members,
						    g->view.nmembers, &nodeid,
						    &pid)) {
			if (!tell(g, p, nodeid, pid, -EHOSTDOWN, NULL, 0)) {
				return;
			}
			p = find_out(g, id, NULL);
		}
		if (!settle(g, id)) {
			return;
		}
	}
	if (haq__group_alive(g) && g->view.nmembers) {
		(void)orphans(g, g->view.members, g->view.nmembers, -EHOSTDOWN);
	}
}

/* Cut off from corosync: every request ends; none is answered. */
void
haq__rr_lost(struct haq_group *g)
{
	struct haq_rr_pending *p;

	while (haq__group_alive(g) && (p = g->rr.out)) {
		if (!finish(g, p, -ENOTCONN)) {
			return;
		}
	}
	(void)orphans(g, NULL, 0, -ENOTCONN);
}

void
haq__rr_timers(struct haq_group *g, uint64_t now)
{
	uint64_t id = 0;
	struct haq_rr_pending *p;

	while (haq__group_alive(g) && (p = next_out(g, id))) {
		id = p->o.id;
		if (p->deadline && p->deadline <= now &&
		    !finish(g, p, -ETIMEDOUT)) {
			return;
		}
	}
}

uint64_t
haq__rr_deadline(const struct haq_group *g)
{
	uint64_t d = 0;

	for (const struct haq_rr_pending *p = g->rr.out; p; p = p->next) {
		if (p->deadline && (!d || p->deadline < d)) {
			d = p->deadline;
		}
	}
	return d;
}

/* ---------------------------------------------------------------- */

static size_t
data_max(const struct haq_group *g)
{
	return g->max_message < HAQ_RR_DATA_MAX ? g->max_message
						: HAQ_RR_DATA_MAX;
}

_Static_assert(HAQ_REQUEST_DATA_MAX == HAQ_RR_DATA_MAX &&
		       (int)HAQ_REQUEST_NONE == (int)HAQ_RR_NONE &&
		       (int)HAQ_REQUEST_FIRST == (int)HAQ_RR_FIRST &&
		       (int)HAQ_REQUEST_ALL == (int)HAQ_RR_ALL &&
		       (int)HAQ_REQUEST_MAJORITY == (int)HAQ_RR_MAJORITY &&
		       HAQ_COUNTER_RR_MALFORMED < HAQ_NCOUNTERS,
	       "request/reply constants");

HAQ_EXPORT int
haq_group_set_request_cbs(haq_group_t *g, haq_request_fn on_request,
			  haq_request_cancel_fn on_cancel, void *userdata)
{
	int rc = haq__group_enter(g, 0);

	if (rc < 0) {
		return rc;
	}
	if (on_cancel && !on_request) {
		return -EINVAL;
	}
	g->rr.on_request = on_request;
	g->rr.on_cancel = on_cancel;
	g->rr.ud = userdata;
	return 0;
}

HAQ_EXPORT int
haq_group_request(haq_group_t *g, int mode, const void *data, size_t len,
		  uint32_t timeout_ms, haq_reply_fn on_reply, void *userdata,
		  uint64_t *request)
{
	uint8_t hdr[HAQ_RR_REQUEST_HDR];
	struct iovec iov[2];
	struct haq_rr_pending *p = NULL;
	uint64_t id;
	int rc = haq__group_enter(g, 0);

	if (rc < 0) {
		return rc;
	}
	if (mode < HAQ_RR_NONE || mode > HAQ_RR_MAJORITY ||
	    (mode != HAQ_RR_NONE && !on_reply) || (len && !data)) {
		return -EINVAL;
	}
	if (len > data_max(g)) {
		return -EMSGSIZE;
	}
	if (!haq__sendwin_admit(g->q.count, g->q.mem,
				haq__sendq_footprint(sizeof(hdr) + len),
				g->q.limit)) {
		g->want_writable = true;
		return -ENOBUFS;
	}
	id = g->rr.next_id;
	if (mode != HAQ_RR_NONE) {
		p = calloc(1, sizeof(*p));
		if (!p) {
			return -ENOMEM;
		}
		haq__rr_out_init(&p->o, mode, id);
		p->fn = on_reply;
		p->ud = userdata;
		if (timeout_ms) {
			p->deadline = haq__now() + timeout_ms * 1000000ull;
		}
	}
	haq__rr_encode_request(hdr, mode, id);
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)data;
	iov[1].iov_len = len;
	rc = haq__tx_queue_controlv(g, iov, len ? 2 : 1, sizeof(hdr) + len);
	if (rc < 0) {
		free(p);
		return rc;
	}
	g->rr.next_id++;
	if (p) {
		if (g->rr.out_tail) {
			g->rr.out_tail->next = p;
		} else {
			g->rr.out = p;
		}
		g->rr.out_tail = p;
		if (p->deadline) {
			haq__timers_update(g->ctx);
		}
	}
	if (request) {
		*request = id;
	}
	return 0;
}

HAQ_EXPORT int
haq_group_reply(haq_group_t *g, uint64_t request, int status, const void *data,
		size_t len)
{
	const struct haq_rr_in *e;
	int rc = haq__group_enter(g, 0);

	if (rc < 0) {
		return rc;
	}
	if (!request || status > 0 || status < -4095 || (len && !data)) {
		return -EINVAL;
	}
	e = haq__rr_in_find(&g->rr.in, request, &rc);
	if (!e) {
		return rc;
	}
	if (len > data_max(g)) {
		return -EMSGSIZE;
	}
	if (!haq__sendwin_admit(g->q.count, g->q.mem,
				haq__sendq_footprint(HAQ_RR_REPLY_HDR + len),
				g->q.limit)) {
		g->want_writable = true;
		return -ENOBUFS;
	}
	rc = send_reply(g, status, e->nodeid, e->pid, e->id, data, len);
	if (rc < 0) {
		return rc;
	}
	haq__rr_in_remove(&g->rr.in, request, -EALREADY);
	return 0;
}

HAQ_EXPORT int
haq_group_request_cancel(haq_group_t *g, uint64_t request)
{
	uint8_t frame[HAQ_RR_CANCEL_LEN];
	struct haq_rr_pending *p;
	int rc = haq__group_enter(g, 0);

	if (rc < 0) {
		return rc;
	}
	if (!request) {
		return -EINVAL;
	}
	p = find_out(g, request, NULL);
	if (!p) {
		return -ENOENT;
	}
	haq__rr_encode_cancel(frame, request);
	rc = haq__tx_queue_control(g, frame, sizeof(frame));
	if (rc < 0) {
		return rc;
	}
	unlink_out(g, p);
	pending_free(p);
	return 0;
}
