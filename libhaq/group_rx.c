/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The receive path of a group: CPG's callbacks, the budgeted dispatch,
 * frames checked and delivered (our own completing our sends), and the
 * events held until their ring's quorum is known (holdq.c).
 */
#include "group.h"

#include <errno.h>

#include "bundle.h"
#include "compress.h"
#include <stdlib.h>
#include <string.h>

/*
 * The group whose handle haq__rx_dispatch() is dispatching on this
 * thread: its callbacks find their group without cpg_context_get(), a
 * handle-database lookup with a mutex taken and released per message.
 * The default TLS model: the library may be dlopen()ed.
 */
static __thread struct haq_group *dispatching;

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

/*
 * A bundle's messages, one by one, as if each had come alone (its seqs
 * were consumed whole: rx->seq.. rx->seq + rx->count - 1). Delivered from
 * corosync's buffer: nothing is allocated.
 */
static __attribute__((noinline, cold)) void
deliver_bundle(struct haq_group *g, uint32_t nodeid, uint32_t pid,
	       const struct haq_rx *rx)
{
	struct haq_bundle_iter it;
	const uint8_t *data;
	size_t len;

	if (__builtin_expect(g->caps_off, 0)) {
		/* The test switch: refused as libhaq 0.3 refuses it. */
		g->counters[HAQ_COUNTER_MALFORMED]++;
		return;
	}
	if (haq__is_self(g, nodeid, pid)) {
		g->self_delivered = rx->seq + (rx->count - 1);
	}
	/*
	 * The dispatch's share (rx_more()): each message of a bundle counts
	 * as an event, so a dispatch ends after the frame that brings it to
	 * HAQ_DISPATCH_BUDGET messages (fewer than twice that in all).
	 */
	g->rx_units += rx->count - 1;
	haq__bundle_iter_init(&it, rx->data, rx->len);
	while (haq__bundle_next(&it, &data, &len) && haq__group_alive(g)) {
		if (len > g->max_message) {
			g->counters[HAQ_COUNTER_OVERSIZE]++;
			haq__log(g->ctx, HAQ_LOG_WARNING,
				 "group %s: dropped a message from %u/%u "
				 "above the %zu byte limit",
				 g->name, nodeid, pid, g->max_message);
			continue;
		}
		/* As process_frame(): a state being received may cover it. */
		if (__builtin_expect(g->st.on, 0) &&
		    haq__state_message(g, nodeid, pid, data, len)) {
			continue;
		}
		g->counters[HAQ_COUNTER_DELIVERED]++;
		(void)haq__group_call(g, on_message, nodeid, pid, data, len);
	}
}

/*
 * A compressed message, made whole again in a buffer rx then owns: its
 * stated size is checked against the group's maximum before anything is
 * allocated. False when it was dropped (and counted).
 */
static __attribute__((noinline, cold)) bool
decompressed(struct haq_group *g, uint32_t nodeid, uint32_t pid,
	     struct haq_rx *rx)
{
	size_t n = 0;
	uint8_t *buf = NULL;
	int rc = g->caps_off ? -EBADMSG
			     : haq__decompress_check(rx->data, rx->len,
						     g->max_message, &n);

	if (rc == 0) {
		buf = malloc(n);
		if (!buf) {
			haq__log(g->ctx, HAQ_LOG_ERR,
				 "group %s: out of memory decompressing a "
				 "message from %u/%u",
				 g->name, nodeid, pid);
			free(rx->owned);
			return false;
		}
		rc = haq__decompress(rx->data, rx->len, buf, n);
		if (rc < 0) {
			free(buf);
		}
	}
	free(rx->owned);
	rx->owned = NULL;
	if (rc == -EMSGSIZE) {
		g->counters[HAQ_COUNTER_OVERSIZE]++;
		haq__log(g->ctx, HAQ_LOG_WARNING,
			 "group %s: dropped a message from %u/%u above the "
			 "%zu byte limit",
			 g->name, nodeid, pid, g->max_message);
		return false;
	}
	if (rc < 0) {
		g->counters[HAQ_COUNTER_MALFORMED]++;
		haq__log(g->ctx, HAQ_LOG_DEBUG,
			 "group %s: dropped a compressed message from %u/%u "
			 "that does not decompress",
			 g->name, nodeid, pid);
		return false;
	}
	rx->owned = buf;
	rx->data = buf;
	rx->len = n;
	return true;
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
		if ((rc == -EMSGSIZE || rc == -ENOMEM) &&
		    haq__is_self(g, nodeid, pid)) {
			/* Back, though not delivered here. */
			if (rx.seq > g->self_delivered) {
				g->self_delivered = rx.seq;
			}
			haq__tx_own_refused(g, rx.seq);
		}
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
	if (__builtin_expect(rx.gap, 0)) {
		/* Never while connected (guarantee 3): say so loudly. */
		g->counters[HAQ_COUNTER_SEQ_GAPS]++;
		haq__log(g->ctx, HAQ_LOG_WARNING,
			 "group %s: messages of %u/%u before %llu were missed",
			 g->name, nodeid, pid, (unsigned long long)rx.seq);
	}
	if (rc == HAQ_RX_DELIVER && haq__is_self(g, nodeid, pid)) {
		struct haq_sendq_entry *e = g->q.head;

		g->self_delivered = rx.seq;
		if (e && e->type == HAQ_WIRE_FRAG && e->seq == rx.seq) {
			/*
			 * Back whole (the first copy that makes it, should a
			 * resend be under way): the queue behind it goes on.
			 */
			haq__tx_frag_done(g);
		}
	}
	/* One test on the path of a plain message for everything else. */
	if (__builtin_expect(rc != HAQ_RX_DELIVER || rx.flags != 0, 0)) {
		if (rc == HAQ_RX_BUNDLE) {
			deliver_bundle(g, nodeid, pid, &rx);
			return;
		}
		if (rc == HAQ_RX_CONTROL) {
			const uint8_t *c = rx.data;

			if (rx.len >= 1 && c[0] >= HAQ_CONTROL_XFER_BEGIN &&
			    c[0] <= HAQ_CONTROL_XFER_GIVEUP) {
				haq__state_control(g, nodeid, pid, c, rx.len);
			} else if (c[0] == HAQ_CONTROL_CAPS) {
				haq__bundle_caps(g, nodeid, pid, c, rx.len);
			} else if (rx.len >= 1 &&
				   c[0] >= HAQ_CONTROL_RR_FIRST &&
				   c[0] <= HAQ_CONTROL_RR_LAST) {
				haq__rr_control(g, nodeid, pid, c, rx.len);
			} else if (rx.len >= 1 &&
				   c[0] >= HAQ_CONTROL_LOCK_FIRST &&
				   c[0] <= HAQ_CONTROL_LOCK_LAST) {
				haq__lock_control(g, nodeid, pid, c, rx.len);
			} else {
				haq__leader_control(g, nodeid, pid, c, rx.len);
				if (haq__group_alive(g)) {
					haq__state_poke(g);
				}
			}
			return;
		}
		if ((rx.flags & HAQ_WIRE_F_COMPRESSED) &&
		    !decompressed(g, nodeid, pid, &rx)) {
			return;
		}
	}
	if (__builtin_expect(g->st.on, 0) &&
	    haq__state_message(g, nodeid, pid, rx.data, rx.len)) {
		free(rx.owned);
		return;
	}
	g->counters[HAQ_COUNTER_DELIVERED]++;
	(void)haq__group_call(g, on_message, nodeid, pid, rx.data, rx.len);
	if (rx.owned) {
		free(rx.owned); /* a reassembled message: rare */
	}
}

static void
free_view(struct haq_view *v)
{
	haq__view_free(v);
}

/*
 * Release held events in order while their ring's quorum state is known
 * (or unconditionally, when force is set after the hold timed out).
 */
void
haq__rx_release_held(struct haq_group *g, bool force)
{
	while (haq__group_alive(g)) {
		struct haq_held *h = haq__holdq_pop_ready(
			&g->held, g->ctx->quorum_done_seq, force,
			g->ring_nodeid, g->ring_seq, haq__now());

		if (!h) {
			break;
		}
		switch (h->kind) {
		case HAQ_HELD_VIEW:
			h->view->ring_nodeid = h->ring_nodeid;
			h->view->ring_seq = h->ring_seq;
			haq__view_apply(g, h->view);
			break;
		case HAQ_HELD_TOTEM:
			haq__view_totem(g, h->ring_nodes);
			break;
		default:
			process_frame(g, h->nodeid, h->pid, h->data, h->len);
			break;
		}
		haq__held_free(h, free_view);
	}
	g->svc.held = !haq__holdq_empty(&g->held);
	/*
	 * Our own frames may have come back among them: messages waiting
	 * for that (bundling's window) go now, not at the next event.
	 */
	if (g->q.head && haq__group_alive(g) && g->handle_valid) {
		haq__tx_after_dispatch(g);
	}
}

void
haq__rx_quorum_changed(struct haq_group *g)
{
	haq__rx_release_held(g, false);
	if (!haq__holdq_empty(&g->held) || !haq__group_alive(g)) {
		return;
	}
	/* A verdict that changed within the ring the group is in. */
	if (g->have_view && g->ctx->quorum_done_seq == g->ring_seq) {
		haq__leader_quorum_changed(g);
		if (haq__group_alive(g)) {
			haq__lock_quorum_changed(g);
		}
		if (haq__group_alive(g)) {
			haq__state_poke(g);
		}
	}
}

static void
hold(struct haq_group *g, struct haq_held *h)
{
	haq__holdq_push(&g->held, h, haq__now());
	g->svc.held = true;
}

static void
deliver_cb(cpg_handle_t handle, const struct cpg_name *name, uint32_t nodeid,
	   uint32_t pid, void *msg, size_t len)
{
	struct haq_group *g = group_of(handle);
	struct haq_held *h;

	(void)name;
	if (!g || !haq__group_alive(g)) {
		return;
	}
	g->rx_bytes += len;
	if (haq__holdq_empty(&g->held)) {
		process_frame(g, nodeid, pid, msg, len);
		return;
	}
	/* A view ahead of this frame waits for quorum: keep the order. */
	h = haq__held_new(HAQ_HELD_FRAME, len);
	if (!h) {
		haq__log(g->ctx, HAQ_LOG_ERR, "group %s: out of memory", g->name);
		return;
	}
	h->nodeid = nodeid;
	h->pid = pid;
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
	if (!g || !haq__group_alive(g)) {
		return;
	}
	h = haq__held_new(HAQ_HELD_VIEW, 0);
	if (h) {
		h->view = haq__view_new(members, nmembers, left, nleft, joined,
					njoined);
	}
	if (!h || !h->view) {
		haq__log(g->ctx, HAQ_LOG_ERR, "group %s: out of memory", g->name);
		free(h);
		return;
	}
	/*
	 * corosync delivers the configuration change of a ring change (and
	 * the first one after a join) before the totem change that names the
	 * new ring: such a view takes the ring of the next totem change.
	 */
	h->ring_change = g->ring_seq == 0 || names_ring_change(left, nleft) ||
			 names_ring_change(joined, njoined);
	if (!h->ring_change) {
		h->ring_nodeid = g->ring_nodeid;
		h->ring_seq = g->ring_seq;
	}
	if (haq__holdq_empty(&g->held) &&
	    haq__holdq_ready(h->ring_seq, g->ctx->quorum_done_seq)) {
		h->view->ring_nodeid = h->ring_nodeid;
		h->view->ring_seq = h->ring_seq;
		haq__view_apply(g, h->view);
		haq__held_free(h, free_view);
		return;
	}
	haq__log(g->ctx, HAQ_LOG_DEBUG,
		 "group %s: view of ring %llx waits for its quorum state",
		 g->name, (unsigned long long)h->ring_seq);
	hold(g, h);
	haq__timers_update(g->ctx);
}

static void
totem_cb(cpg_handle_t handle, struct cpg_ring_id ring_id,
	 uint32_t nmembers, const uint32_t *members)
{
	struct haq_group *g = group_of(handle);
	struct haq_held *h;

	(void)members;
	if (!g || !haq__group_alive(g)) {
		return;
	}
	g->ring_nodeid = ring_id.nodeid;
	g->ring_seq = ring_id.seq;
	haq__holdq_set_ring(&g->held, ring_id.nodeid, ring_id.seq);
	if (haq__holdq_empty(&g->held) &&
	    haq__holdq_ready(ring_id.seq, g->ctx->quorum_done_seq)) {
		haq__view_totem(g, nmembers);
		return;
	}
	h = haq__held_new(HAQ_HELD_TOTEM, 0);
	if (!h) {
		haq__log(g->ctx, HAQ_LOG_ERR, "group %s: out of memory", g->name);
		return;
	}
	h->ring_nodeid = ring_id.nodeid;
	h->ring_seq = ring_id.seq;
	h->ring_nodes = nmembers;
	hold(g, h);
	haq__rx_release_held(g, false);
	haq__timers_update(g->ctx);
}

void
haq__rx_model(cpg_model_v1_data_t *model)
{
	model->model = CPG_MODEL_V1;
	model->cpg_deliver_fn = deliver_cb;
	model->cpg_confchg_fn = confchg_cb;
	model->cpg_totem_confchg_fn = totem_cb;
	model->flags = CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF;
}

/* The dispatch goes on while this says so (see haq__dispatch_budgeted). */
static bool
rx_more(void *arg)
{
	struct haq_group *g = arg;

	/*
	 * Large frames: a byte budget as well, so that reassembling a big
	 * message never holds the loop for long (the fd stays readable: the
	 * next dispatch continues).
	 */
	return haq__group_alive(g) && g->handle_valid &&
	       g->rx_bytes < HAQ_DISPATCH_BYTES &&
	       ++g->rx_units < HAQ_DISPATCH_BUDGET;
}

/* The group's service dispatch: its CPG events, then the send queue. */
int
haq__rx_dispatch(struct haq_service *s, uint32_t revents)
{
	struct haq_group *g = (struct haq_group *)s;
	struct haq_group **slot = &dispatching; /* one TLS lookup */
	int taken;

	(void)revents;
	if (!g->handle_valid) {
		return 0;
	}
	g->rx_bytes = 0;
	g->rx_units = 0;
	*slot = g;
	taken = haq__dispatch_budgeted(g->ctx, cpg_dispatch, g->handle, s->fd,
				       HAQ_DISPATCH_BUDGET, rx_more, g);
	*slot = NULL;
	/* Deliveries made room in corosync, or a writer waits for some. */
	if ((g->q.head || g->want_writable) && haq__group_alive(g) &&
	    g->handle_valid) {
		haq__tx_after_dispatch(g);
	}
	return taken;
}
