/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A group's lifecycle and settings: join, leave, its CPG connection (one
 * handle each), its service ops for the core, and the setters and getters.
 *
 * Leave is finalize plus, on the next join, a fresh handle: leaving and
 * rejoining on one handle is broken since corosync 3.0.3.
 */
#include "group.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* How long a join may wait for its confirming view, at least. */
#define HAQ_JOIN_BOUND_MIN_NS (5000000000ull)

static const struct haq_service_ops group_ops;

/*
 * A join is confirmed within one membership change; allow two, read from
 * corosync's live timing (token and consensus), and never less than
 * HAQ_JOIN_BOUND_MIN_NS.
 */
static uint64_t
join_bound(haq_ctx_t *ctx)
{
	uint32_t token = 0;
	uint32_t consensus = 0;
	uint64_t ns;

	(void)haq_config_get_u32(ctx, "runtime.config.totem.token", &token);
	(void)haq_config_get_u32(ctx, "runtime.config.totem.consensus",
				 &consensus);
	ns = 2ull * ((uint64_t)token + consensus) * 1000000ull;
	return ns > HAQ_JOIN_BOUND_MIN_NS ? ns : HAQ_JOIN_BOUND_MIN_NS;
}

static void
join_started(struct haq_group *g)
{
	g->join_deadline = haq__now() + g->join_bound;
	haq__timers_update(g->ctx);
}

static void
group_disconnect(struct haq_service *s)
{
	struct haq_group *g = (struct haq_group *)s;

	if (!g->handle_valid) {
		return;
	}
	haq__watch_del(s);
	/* finalize without leave: the group is left as the handle closes. */
	cpg_finalize(g->handle);
	g->handle_valid = false;
	g->joined = false;
	g->join_pending = false;
	g->join_deadline = 0;
	haq__holdq_clear(&g->held, haq__view_free);
	s->held = false;
	/* The next connection is a fresh join: every sender is new again. */
	haq__peers_free(&g->peers);
}

static int
group_connect(struct haq_service *s)
{
	struct haq_group *g = (struct haq_group *)s;
	cpg_model_v1_data_t model = {0};
	cs_error_t err;
	int fd;
	int rc;

	haq__rx_model(&model);
	err = cpg_model_initialize(&g->handle, CPG_MODEL_V1,
				   (cpg_model_data_t *)&model, g);
	if (err != CS_OK) {
		return haq__cs_to_errno(err);
	}
	g->handle_valid = true;
	if (cpg_fd_get(g->handle, &fd) != CS_OK) {
		rc = -ENOTCONN;
		goto fail;
	}
	rc = haq__check_server(g->ctx, fd);
	if (rc < 0) {
		goto fail;
	}
	g->join_bound = join_bound(g->ctx);
	/*
	 * cpg_join answers TRY_AGAIN while a membership sync runs: never
	 * sleep for it, retry from the timer (sends queue meanwhile).
	 */
	err = cpg_join(g->handle, &g->cpg_name);
	if (err == CS_ERR_TRY_AGAIN) {
		g->join_pending = true;
		haq__tx_retry(g, true);
	} else if (err != CS_OK) {
		rc = haq__cs_to_errno(err);
		goto fail;
	} else {
		join_started(g);
	}
	rc = haq__watch_add(s, fd);
	if (rc < 0) {
		goto fail;
	}
	{
		int sndbuf = 0;
		socklen_t sl = sizeof(sndbuf);

		/* 0 (not known): haq__tx_ipc_room() does not check. */
		g->ipc_sndbuf = getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf,
					   &sl) == 0 && sndbuf > 0
					? (size_t)sndbuf
					: 0;
		g->ipc_unchecked = 0;
	}
	g->joined = false;
	/* The first view of a connection waits for its initial totem change. */
	g->ring_nodeid = 0;
	g->ring_seq = 0;
	return 0;
fail:
	group_disconnect(s);
	return rc;
}

static void
retry_join(struct haq_group *g)
{
	cs_error_t err = cpg_join(g->handle, &g->cpg_name);

	if (err == CS_ERR_TRY_AGAIN) {
		haq__tx_retry(g, true);
		return;
	}
	g->join_pending = false;
	g->retry_delay = 0;
	if (err == CS_OK) {
		join_started(g);
		return;
	}
	if (haq__cs_result(g->ctx, err) < 0 && err != CS_ERR_LIBRARY) {
		haq__log(g->ctx, HAQ_LOG_ERR, "group %s: cannot join: %s",
			 g->name, haq_strerror(haq__cs_to_errno(err)));
	}
}

/*
 * corosync took the join but no view confirmed it in time (seen when the
 * old membership of this process lingered as a ghost): accepted sends
 * would wait forever. Say so and join again on a fresh handle.
 */
static void
join_unconfirmed(struct haq_group *g)
{
	int saved;
	int rc;

	g->counters[HAQ_COUNTER_JOIN_RETRIES]++;
	haq__log(g->ctx, HAQ_LOG_ERR,
		 "group %s: join not confirmed after %llu ms; joining again "
		 "(%zu messages wait)",
		 g->name, (unsigned long long)(g->join_bound / 1000000),
		 g->q.user_count);
	group_disconnect(&g->svc);
	saved = haq__netns_enter(g->ctx);
	rc = group_connect(&g->svc);
	haq__netns_leave(saved);
	if (rc < 0) {
		/* corosync is going away: the reconnect takes it from here. */
		haq__log(g->ctx, HAQ_LOG_ERR, "group %s: cannot join: %s",
			 g->name, haq_strerror(rc));
		haq__connection_lost(g->ctx);
	}
}

static void
group_timers(struct haq_service *s, uint64_t now)
{
	struct haq_group *g = (struct haq_group *)s;

	if (g->retry_at && g->retry_at <= now) {
		g->retry_at = 0;
		haq__tx_report_failures(g);
		if (!haq__group_alive(g)) {
			return;
		}
		if (g->join_pending && g->handle_valid) {
			retry_join(g);
		} else {
			haq__tx_flush(g);
		}
	}
	if (g->join_deadline && g->join_deadline <= now && !g->joined &&
	    g->handle_valid && haq__group_alive(g)) {
		join_unconfirmed(g);
	}
	if (haq__group_alive(g)) {
		haq__leader_timers(g, now);
	}
	if (haq__group_alive(g)) {
		haq__state_timers(g, now);
	}
	if (haq__group_alive(g)) {
		haq__rr_timers(g, now);
	}
	if (haq__group_alive(g)) {
		haq__lock_timers(g, now);
	}
	if (!haq__holdq_empty(&g->held) && haq__group_alive(g) &&
	    haq__holdq_deadline(&g->held, HAQ_VIEW_HOLD_NS) <= now) {
		haq__log(g->ctx, HAQ_LOG_WARNING,
			 "group %s: no quorum state for ring %llx after %llu s; "
			 "reporting the view with the latest state",
			 g->name, (unsigned long long)g->ring_seq,
			 (unsigned long long)(HAQ_VIEW_HOLD_NS / 1000000000ull));
		haq__rx_release_held(g, true);
	}
}

static uint64_t
group_deadline(const struct haq_service *s)
{
	const struct haq_group *g = (const struct haq_group *)s;
	uint64_t d = g->retry_at;
	uint64_t hd = haq__holdq_deadline(&g->held, HAQ_VIEW_HOLD_NS);
	uint64_t ld;

	if (hd && (!d || hd < d)) {
		d = hd;
	}
	if (g->join_deadline && !g->joined &&
	    (!d || g->join_deadline < d)) {
		d = g->join_deadline;
	}
	ld = haq__leader_deadline(g);
	if (ld && (!d || ld < d)) {
		d = ld;
	}
	ld = haq__state_deadline(g);
	if (ld && (!d || ld < d)) {
		d = ld;
	}
	ld = haq__rr_deadline(g);
	if (ld && (!d || ld < d)) {
		d = ld;
	}
	ld = haq__lock_deadline(g);
	if (ld && (!d || ld < d)) {
		d = ld;
	}
	return d;
}

/* Cut off: no leader, then the messages whose fate is unknown. */
static void
group_lost(struct haq_service *s)
{
	struct haq_group *g = (struct haq_group *)s;

	haq__leader_lost(g);
	if (!haq__group_alive(g)) {
		return;
	}
	haq__state_lost(g);
	if (!haq__group_alive(g)) {
		return;
	}
	haq__rr_lost(g);
	if (!haq__group_alive(g)) {
		return;
	}
	haq__lock_lost(g);
	if (!haq__group_alive(g)) {
		return;
	}
	haq__tx_lost(g);
}

static void
group_quorum_changed(struct haq_service *s)
{
	haq__rx_quorum_changed((struct haq_group *)s);
}

static void
group_destroy(struct haq_service *s, bool finalize)
{
	struct haq_group *g = (struct haq_group *)s;

	if (!finalize) {
		/* A forked child: the handle is the parent's. */
		g->handle_valid = false;
	}
	if (g->handle_valid && g->joined && g->q.head && !g->leaving &&
	    !g->ctx->lost_pending) {
		/* As haq_group_leave(): what waited to be bundled goes now. */
		g->leaving = true;
		g->want_writable = false;
		haq__tx_flush(g);
	}
	if (g->handle_valid && g->joined) {
		/*
		 * Say goodbye, so peers see "leave" rather than "procdown".
		 * The handle is finalized right after and never rejoined
		 * (corosync's leave-then-rejoin bug); if corosync is busy the
		 * peers see the handle go instead.
		 */
		haq__leader_leaving(g);
		(void)cpg_leave(g->handle, &g->cpg_name);
	}
	group_disconnect(s);
	haq__holdq_clear(&g->held, haq__view_free);
	haq__sendq_clear(&g->q);
	haq__peers_free(&g->peers);
	haq__view_clear(&g->view);
	haq__election_free(&g->election);
	free(g->bundle_buf);
	haq__state_free(g);
	haq__rr_free(g);
	haq__lock_free(g);
	while (g->failures) {
		struct haq_send_failure *f = g->failures;

		g->failures = f->next;
		free(f);
	}
	free(g);
}

static const struct haq_service_ops group_ops = {
	.name = "group",
	.order = 10,
	.connect = group_connect,
	.disconnect = group_disconnect,
	.lost = group_lost,
	.dispatch = haq__rx_dispatch,
	.deadline = group_deadline,
	.timers = group_timers,
	.quorum_changed = group_quorum_changed,
	.destroy = group_destroy,
};

/* ---------------------------------------------------------------- */
/* Join, leave, settings                                            */
/* ---------------------------------------------------------------- */

HAQ_EXPORT int
haq_group_join(haq_ctx_t *ctx, const char *name, haq_group_t **ret)
{
	struct haq_service *s = NULL;
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
	rc = haq__ctx_enter(ctx, 0);
	if (rc < 0) {
		return rc;
	}
	while ((s = haq__service_next(ctx, s, &group_ops))) {
		if (strcmp(((struct haq_group *)s)->name, name) == 0) {
			return -EEXIST;
		}
	}
	/*
	 * Left earlier in this callback: corosync refuses a second join of
	 * one name by one process, so close the old handle now, outside its
	 * dispatch (we are in another's callback or in the same one after
	 * its events were taken).
	 */
	for (s = ctx->services; s; s = s->next) {
		if (s->ops == &group_ops && s->dead &&
		    strcmp(((struct haq_group *)s)->name, name) == 0) {
			group_disconnect(s);
		}
	}
	if (ctx->conn != HAQ_CONN_UP) {
		return -ENOTCONN;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		return -ENOMEM;
	}
	g->ctx = ctx;
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
	g->q.limit = HAQ_QUEUE_LIMIT_DEFAULT;
	g->max_message = HAQ_MESSAGE_MAX_DEFAULT;
	haq__leader_init(g);
	haq__bundle_init(g);
	haq__state_init(g);
	haq__rr_init(g);
	haq__lock_init(g);
	haq__service_add(ctx, &g->svc, &group_ops);
	saved = haq__netns_enter(ctx);
	rc = group_connect(&g->svc);
	haq__netns_leave(saved);
	if (rc < 0) {
		haq__service_remove(&g->svc);
		return rc;
	}
	haq__timers_update(ctx); /* a join retry may be due */
	*ret = g;
	return 0;
}

HAQ_EXPORT int
haq_group_leave(haq_group_t *g)
{
	int discarded;
	int rc = haq__group_enter(g, 0);

	if (rc < 0) {
		return rc;
	}
	if (g->q.head && g->joined && g->handle_valid) {
		/*
		 * Messages held back only to be bundled go now, as they
		 * would have without bundling; nobody waits for room.
		 */
		g->leaving = true;
		g->want_writable = false;
		haq__tx_flush(g);
	}
	discarded = (int)g->q.user_count;
	if (discarded) {
		haq__log(g->ctx, HAQ_LOG_WARNING,
			 "group %s: left with %d queued messages unsent",
			 g->name, discarded);
	}
	if (g->ctx->depth > 0) {
		/*
		 * Inside a callback, possibly inside cpg_dispatch() of this
		 * very handle: finalized once the dispatch is over.
		 */
		haq__sendq_clear(&g->q);
	}
	haq__service_remove(&g->svc);
	return discarded;
}

/* Set callback field cb of group g after the entry guard. */
#define SET_CALLBACK(g, cb, f, u)                                          \
	do {                                                               \
		int rc_ = haq__group_enter((g), 0);                        \
		if (rc_ < 0) {                                             \
			return rc_;                                        \
		}                                                          \
		(g)->cb.fn = (f);                                          \
		(g)->cb.ud = (u);                                          \
		return 0;                                                  \
	} while (0)

HAQ_EXPORT int
haq_group_set_message_cb(haq_group_t *g, haq_message_fn fn, void *userdata)
{
	SET_CALLBACK(g, on_message, fn, userdata);
}

HAQ_EXPORT int
haq_group_set_view_cb(haq_group_t *g, haq_view_fn fn, void *userdata)
{
	SET_CALLBACK(g, on_view, fn, userdata);
}

HAQ_EXPORT int
haq_group_set_writable_cb(haq_group_t *g, haq_writable_fn fn, void *userdata)
{
	SET_CALLBACK(g, on_writable, fn, userdata);
}

HAQ_EXPORT int
haq_group_set_leader_cb(haq_group_t *g, haq_leader_fn fn, void *userdata)
{
	SET_CALLBACK(g, on_leader, fn, userdata);
}

HAQ_EXPORT int
haq_group_set_uncertain_cb(haq_group_t *g, haq_uncertain_fn fn,
			   void *userdata)
{
	SET_CALLBACK(g, on_uncertain, fn, userdata);
}

HAQ_EXPORT int
haq_group_set_send_failed_cb(haq_group_t *g, haq_send_failed_fn fn,
			     void *userdata)
{
	SET_CALLBACK(g, on_send_failed, fn, userdata);
}

HAQ_EXPORT uint64_t
haq_group_next_id(const haq_group_t *g)
{
	return haq__group_enter(g, 0) < 0 ? 0 : g->next_seq;
}

HAQ_EXPORT int
haq_group_set_queue_limit(haq_group_t *g, size_t bytes)
{
	int rc = haq__group_enter(g, 0);

	if (rc < 0) {
		return rc;
	}
	if (bytes == 0) {
		return -EINVAL;
	}
	g->q.limit = bytes;
	return 0;
}

HAQ_EXPORT int
haq_group_set_max_message(haq_group_t *g, size_t bytes)
{
	int rc = haq__group_enter(g, 0);

	if (rc < 0) {
		return rc;
	}
	if (bytes == 0 || bytes > SIZE_MAX / 2) {
		return -EINVAL;
	}
	g->max_message = bytes;
	haq__caps_update(g);
	return 0;
}

HAQ_EXPORT const char *
haq_group_name(const haq_group_t *g)
{
	return haq__group_enter(g, 0) < 0 ? NULL : g->name;
}

HAQ_EXPORT haq_ctx_t *
haq_group_ctx(const haq_group_t *g)
{
	return haq__group_enter(g, 0) < 0 ? NULL : g->ctx;
}

HAQ_EXPORT const haq_view_t *
haq_group_view(const haq_group_t *g)
{
	return haq__group_enter(g, 0) < 0 || !g->have_view ? NULL : &g->view;
}

HAQ_EXPORT int
haq_group_counter(const haq_group_t *g, int counter, uint64_t *value)
{
	int rc = haq__group_enter(g, 0);

	if (rc < 0) {
		return rc;
	}
	if (!value || counter < 0 || counter >= HAQ_NCOUNTERS) {
		return -EINVAL;
	}
	*value = g->counters[counter];
	return 0;
}

_Static_assert(HAQ_COUNTER_COMPRESSED < HAQ_NCOUNTERS &&
		       HAQ_COUNTER_SEQ_GAPS < HAQ_NCOUNTERS,
	       "every public counter has a slot");
