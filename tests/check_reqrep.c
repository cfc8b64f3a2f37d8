/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Integration tests of request/reply on a real 3-node corosync cluster:
 * every mode under a steady message load, replies given later, members
 * that leave (the group, or with their context) or are cut off by a
 * partition while they owe a reply, a join during a request, timeouts,
 * cancels, a requester that leaves, and malformed frames from a peer.
 */
#include "check_common.h"

#include <sys/wait.h>
#include <unistd.h>

#include <corosync/cpg.h>
#include <haq/haq.h>

#include "le.h"

#define MAXM 4
#define MAXR 512
#define HAQ_WIRE_HDR 24

/* Request/reply frames from a peer that are all malformed. */
#define RAW_BAD 7
static const uint8_t raw_bodies[RAW_BAD][24] = {
	{20},			      /* a request too short */
	{20, 9, 0, 0, 0, 0, 0, 0, 1}, /* an unknown mode */
	{20, 1, 1, 0, 0, 0, 0, 0, 1}, /* a reserved byte set */
	{20, 1, 0, 0, 0, 0, 0, 0, 0}, /* id 0 */
	{22, 0, 0, 0, 0, 0, 0, 0, 0}, /* a cancel of id 0 */
	{22, 0, 0, 0, 0, 0, 0, 0, 5}, /* a cancel too short */
	{29},			      /* a type of ours nobody sends */
};
static const size_t raw_lens[RAW_BAD] = {8, 16, 16, 16, 16, 9, 1};

/* What a requester saw of one request. */
struct req {
	uint64_t id;
	int answers;
	int ok;
	int errors;
	int leavers;
	int last_status;
	int last_error;
	uint32_t leaver_nodeid;
	bool done;
	int result;
	uint64_t t_sent;
	uint64_t t_done;
	bool marker_at_reply;	/* node 1 had the marker at the last answer */
	haq_group_t *cancel_in; /* cancel from inside the first answer */
	haq_ctx_t *free_in;	/* free this context inside the first answer */
	char data[MAXM][32];
};

struct member {
	haq_ctx_t *ctx;
	haq_group_t *g;
	uint32_t nodeid;
	int node;
	bool handler; /* set the request callback */
	bool silent;  /* keep requests for later */
	int status;   /* reply with this */
	int requests; /* request callbacks */
	int none_requests;
	uint64_t held[MAXR];	  /* handles kept for a later reply */
	uint32_t held_from[MAXR]; /* their requesters' node ids */
	int nheld;
	int cancels;
	int cancel_reason;
	uint64_t cancelled;
	uint64_t messages;
	struct req reqs[MAXR];
	int nreqs;
};

static struct member M[MAXM];
static bool marker_seen; /* node 1 delivered the message "marker" */

static void
on_reply(haq_group_t *g, uint64_t request, uint32_t nodeid, uint32_t pid,
	 int status, const void *data, size_t len, void *ud)
{
	struct req *r = ud;

	(void)g;
	(void)pid;
	ck_assert_uint_eq(request, r->id);
	ck_assert(!r->done);
	if (nodeid == 0) {
		r->done = true;
		r->result = status;
		r->t_done = test_now_ms();
		return;
	}
	if (r->answers < MAXM && data && len < sizeof(r->data[0])) {
		memcpy(r->data[r->answers], data, len);
		r->data[r->answers][len] = '\0';
	}
	r->answers++;
	if (r->cancel_in) {
		ck_assert_int_eq(haq_group_request_cancel(r->cancel_in, r->id),
				 0);
		ck_assert_int_eq(haq_group_request_cancel(r->cancel_in, r->id),
				 -ENOENT);
		r->cancel_in = NULL;
	}
	if (r->free_in) {
		haq_ctx_free(r->free_in);
		r->free_in = NULL;
	}
	r->last_status = status;
	r->marker_at_reply = marker_seen;
	if (status == 0) {
		r->ok++;
	} else if (status == -EHOSTDOWN) {
		ck_assert_ptr_null(data);
		r->leavers++;
		r->leaver_nodeid = nodeid;
	} else {
		r->errors++;
		r->last_error = status;
	}
}

static void
on_request(haq_group_t *g, uint64_t request, uint32_t nodeid, uint32_t pid,
	   const void *data, size_t len, void *ud)
{
	struct member *m = ud;
	char buf[64];
	int n;

	(void)pid;
	if (request == 0) {
		m->none_requests++;
		return;
	}
	m->requests++;
	if (m->silent) {
		ck_assert_int_lt(m->nheld, MAXR);
		m->held_from[m->nheld] = nodeid;
		m->held[m->nheld++] = request;
		return;
	}
	n = snprintf(buf, sizeof(buf), "%u:%.*s", m->nodeid, (int)len,
		     (const char *)data);
	ck_assert_int_eq(haq_group_reply(g, request, m->status, buf, (size_t)n),
			 0);
	/* Once only. */
	ck_assert_int_eq(haq_group_reply(g, request, 0, NULL, 0), -EALREADY);
}

static void
on_cancel(haq_group_t *g, uint64_t request, int reason, void *ud)
{
	struct member *m = ud;

	(void)g;
	m->cancels++;
	m->cancel_reason = reason;
	m->cancelled = request;
}

static void
on_message(haq_group_t *g, uint32_t nodeid, uint32_t pid, const void *data,
	   size_t len, void *ud)
{
	struct member *m = ud;

	(void)g, (void)nodeid, (void)pid;
	m->messages++;
	if (m == &M[0] && len == 6 && memcmp(data, "marker", 6) == 0) {
		marker_seen = true;
	}
}

static void
member_start(struct member *m, int node, const char *name, bool handler)
{
	memset(m, 0, sizeof(*m));
	m->node = node;
	m->handler = handler;
	cluster_enter_node(node);
	ck_assert_int_eq(haq_ctx_new(&m->ctx, NULL), 0);
	ck_assert_int_eq(haq_ctx_local_nodeid(m->ctx, &m->nodeid), 0);
	ck_assert_int_eq(haq_group_join(m->ctx, name, &m->g), 0);
	ck_assert_int_eq(haq_group_set_message_cb(m->g, on_message, m), 0);
	if (handler) {
		ck_assert_int_eq(haq_group_set_request_cbs(m->g, on_request,
							   on_cancel, m),
				 0);
	}
}

static void
member_stop(struct member *m)
{
	if (m->ctx) {
		haq_ctx_free(m->ctx);
	}
	m->ctx = NULL;
	m->g = NULL;
}

static void
turn(int wait_ms)
{
	struct pollfd p[MAXM];

	for (int i = 0; i < MAXM; i++) {
		p[i].fd = M[i].ctx ? haq_ctx_fd(M[i].ctx) : -1;
		p[i].events = POLLIN;
	}
	poll(p, MAXM, wait_ms);
	for (int i = 0; i < MAXM; i++) {
		if (M[i].ctx) {
			ck_assert_int_ge(haq_ctx_dispatch(M[i].ctx), 0);
		}
	}
}

static bool
pump(int timeout_ms, bool (*done)(void *), void *arg)
{
	uint64_t end = test_now_ms() + (uint64_t)timeout_ms;

	while (!done(arg)) {
		if (test_now_ms() >= end) {
			return false;
		}
		turn(20);
	}
	return true;
}

static bool
views_of(void *arg)
{
	size_t want = (size_t)(uintptr_t)arg;

	for (int i = 0; i < MAXM; i++) {
		const haq_view_t *v;

		if (!M[i].g) {
			continue;
		}
		v = haq_group_view(M[i].g);
		if (!v || haq_view_member_count(v) != want) {
			return false;
		}
	}
	return true;
}

static void
start3(const char *base, char *name, size_t len)
{
	unique_group(name, len, base);
	for (int i = 0; i < 3; i++) {
		member_start(&M[i], i + 1, name, true);
	}
	ck_assert(pump(20000, views_of, (void *)(uintptr_t)3));
}

static void
stop_all(void)
{
	for (int i = 0; i < MAXM; i++) {
		uint64_t v = 1;

		if (M[i].g) {
			ck_assert_int_eq(
				haq_group_counter(M[i].g,
						  HAQ_COUNTER_RR_MALFORMED, &v),
				0);
			ck_assert_uint_eq(v, 0);
		}
		member_stop(&M[i]);
	}
}

static struct req *
request(struct member *m, int mode, const char *data, uint32_t timeout_ms)
{
	struct req *r;

	ck_assert_int_lt(m->nreqs, MAXR);
	r = &m->reqs[m->nreqs++];
	memset(r, 0, sizeof(*r));
	r->t_sent = test_now_ms();
	ck_assert_int_eq(haq_group_request(m->g, mode, data, strlen(data),
					   timeout_ms, on_reply, r, &r->id),
			 0);
	ck_assert_uint_ne(r->id, 0);
	return r;
}

static bool
req_done(void *arg)
{
	return ((struct req *)arg)->done;
}

static bool
all_done(void *arg)
{
	struct member *m = arg;

	for (int i = 0; i < m->nreqs; i++) {
		if (!m->reqs[i].done) {
			return false;
		}
	}
	return true;
}

/* The handle member m holds of a request from node nodeid (the latest). */
static uint64_t
held_of(const struct member *m, uint32_t nodeid)
{
	for (int i = m->nheld - 1; i >= 0; i--) {
		if (m->held_from[i] == nodeid) {
			return m->held[i];
		}
	}
	ck_abort_msg("no request of node %u held", nodeid);
	return 0;
}

static struct req *wait_req;
static int wait_answers;

static bool
answered(void *arg)
{
	(void)arg;
	return wait_req->answers >= wait_answers;
}

/* Dispatch until request r had n answers. */
static void
wait_answered(struct req *r, int n)
{
	wait_req = r;
	wait_answers = n;
	ck_assert_msg(pump(10000, answered, NULL), "%d answers, not %d",
		      r->answers, n);
}

static bool
held_at_least(void *arg)
{
	int want = (int)(uintptr_t)arg;

	for (int i = 0; i < MAXM; i++) {
		if (M[i].g && M[i].silent && M[i].nheld < want) {
			return false;
		}
	}
	return true;
}

/* Every member sends a small message: the load requests travel with. */
static void
load(void)
{
	for (int i = 0; i < MAXM; i++) {
		if (M[i].g) {
			(void)haq_group_send(M[i].g, "load-load-load", 14);
		}
	}
}

START_TEST(test_modes_under_load)
{
	char name[64];
	static const int modes[] = {HAQ_REQUEST_FIRST, HAQ_REQUEST_ALL,
				    HAQ_REQUEST_MAJORITY, HAQ_REQUEST_NONE};
	int rounds = 40;
	uint64_t end;

	start3("rr-modes", name, sizeof(name));
	/* Requests from every member, of every mode, under load. */
	for (int k = 0; k < rounds; k++) {
		for (int i = 0; i < 3; i++) {
			int mode = modes[(k + i) % 4];
			char d[16];

			snprintf(d, sizeof(d), "q%d", k);
			if (mode == HAQ_REQUEST_NONE) {
				ck_assert_int_eq(haq_group_request(M[i].g, mode,
								   d, strlen(d),
								   0, NULL,
								   NULL, NULL),
						 0);
				continue;
			}
			request(&M[i], mode, d, 30000);
		}
		for (int j = 0; j < 5; j++) {
			load();
			turn(1);
		}
	}
	end = test_now_ms() + 30000;
	while (test_now_ms() < end &&
	       !(all_done(&M[0]) && all_done(&M[1]) && all_done(&M[2]))) {
		load();
		turn(5);
	}
	for (int i = 0; i < 3; i++) {
		ck_assert(all_done(&M[i]));
		for (int k = 0, n = 0; k < rounds; k++) {
			int mode = modes[(k + i) % 4];
			struct req *r;
			char want[32];

			if (mode == HAQ_REQUEST_NONE) {
				continue;
			}
			r = &M[i].reqs[n++];
			ck_assert_int_eq(r->result, 0);
			ck_assert_int_eq(r->errors + r->leavers, 0);
			switch (mode) {
			case HAQ_REQUEST_FIRST:
				ck_assert_int_eq(r->answers, 1);
				break;
			case HAQ_REQUEST_ALL:
				ck_assert_int_eq(r->answers, 3);
				break;
			default:
				ck_assert_int_eq(r->answers, 2);
				break;
			}
			/* The reply's data, as the responder made it. */
			snprintf(want, sizeof(want), ":q%d", k);
			ck_assert_ptr_nonnull(strstr(r->data[0], want));
		}
		/* Every member answered every request of the others. */
		ck_assert_int_eq(M[i].requests, rounds * 3 * 3 / 4);
		ck_assert_int_eq(M[i].none_requests, rounds * 3 / 4);
		ck_assert_uint_gt(M[i].messages, 0);
	}
	stop_all();
}
END_TEST

START_TEST(test_later_replies_errors_and_no_handler)
{
	char name[64];
	struct req *r;
	int rc;

	start3("rr-later", name, sizeof(name));
	M[1].silent = true;
	M[2].status = -EPERM;
	r = request(&M[0], HAQ_REQUEST_ALL, "x", 30000);
	ck_assert(pump(10000, held_at_least, (void *)1));
	wait_answered(r, 2);
	ck_assert(!r->done);
	/* A later reply, from outside any callback. */
	ck_assert_int_eq(haq_group_reply(M[1].g, M[1].held[0], 0, "late", 4),
			 0);
	ck_assert_int_eq(haq_group_reply(M[1].g, M[1].held[0], 0, "late", 4),
			 -EALREADY);
	ck_assert(pump(10000, req_done, r));
	ck_assert_int_eq(r->result, 0);
	ck_assert_int_eq(r->answers, 3);
	ck_assert_int_eq(r->errors, 1);
	ck_assert_int_eq(r->ok, 2);

	/* First reply: errors do not complete it; a later success does. */
	M[0].status = -EIO;
	r = request(&M[0], HAQ_REQUEST_FIRST, "y", 30000);
	ck_assert(pump(10000, held_at_least, (void *)2));
	wait_answered(r, 2);
	ck_assert(!r->done);
	ck_assert_int_eq(r->errors, 2);
	ck_assert_int_eq(haq_group_reply(M[1].g, M[1].held[1], 0, NULL, 0), 0);
	ck_assert(pump(10000, req_done, r));
	ck_assert_int_eq(r->result, 0);

	/* Majority with two errors of three: it cannot be met. */
	M[1].silent = false;
	M[1].status = -EIO;
	r = request(&M[0], HAQ_REQUEST_MAJORITY, "z", 30000);
	ck_assert(pump(10000, req_done, r));
	ck_assert_int_eq(r->result, -EREMOTEIO);

	/* A member without a request callback answers -ENOSYS. */
	ck_assert_int_eq(haq_group_set_request_cbs(M[2].g, NULL, NULL, NULL),
			 0);
	M[0].status = 0;
	M[1].status = 0;
	r = request(&M[0], HAQ_REQUEST_ALL, "w", 30000);
	ck_assert(pump(10000, req_done, r));
	ck_assert_int_eq(r->result, 0);
	ck_assert_int_eq(r->ok, 2);
	ck_assert_int_eq(r->errors, 1);
	ck_assert_int_eq(r->last_error, -ENOSYS);

	/* Reply size: the group's maximum message size, then one frame. */
	ck_assert_int_eq(haq_group_set_max_message(M[1].g, 4096), 0);
	M[1].silent = true;
	M[1].nheld = 0;
	r = request(&M[0], HAQ_REQUEST_ALL, "v", 30000);
	ck_assert(pump(10000, held_at_least, (void *)1));
	{
		static char big[HAQ_REQUEST_DATA_MAX + 1];

		rc = haq_group_reply(M[1].g, M[1].held[0], 0, big, 4097);
		ck_assert_int_eq(rc, -EMSGSIZE);
		ck_assert_int_eq(haq_group_set_max_message(M[1].g, 64u << 20),
				 0);
		rc = haq_group_reply(M[1].g, M[1].held[0], 0, big,
				     HAQ_REQUEST_DATA_MAX + 1);
		ck_assert_int_eq(rc, -EMSGSIZE);
		/* The largest one goes through. */
		rc = haq_group_reply(M[1].g, M[1].held[0], 0, big,
				     HAQ_REQUEST_DATA_MAX);
		ck_assert_int_eq(rc, 0);
	}
	ck_assert(pump(20000, req_done, r));
	ck_assert_int_eq(r->result, 0);
	ck_assert_int_eq(r->ok, 2);
	stop_all();
}
END_TEST

/* The reply callback cancels its own request, or frees its context. */
START_TEST(test_cancel_or_free_inside_the_reply_callback)
{
	char name[64];
	struct req *r;

	start3("rr-inside", name, sizeof(name));
	r = request(&M[0], HAQ_REQUEST_ALL, "i", 30000);
	r->cancel_in = M[0].g;
	ck_assert(pump(10000, held_at_least, (void *)0));
	for (int i = 0; i < 100; i++) {
		turn(5);
	}
	/* One answer, then nothing: no final call after the cancel. */
	ck_assert_int_eq(r->answers, 1);
	ck_assert(!r->done);
	/* The group goes on. */
	r = request(&M[0], HAQ_REQUEST_ALL, "j", 30000);
	ck_assert(pump(10000, req_done, r));
	ck_assert_int_eq(r->answers, 3);
	/* Freed inside: the rest of the event is dropped safely. */
	r = request(&M[0], HAQ_REQUEST_ALL, "k", 30000);
	r->free_in = M[0].ctx;
	for (uint64_t end = test_now_ms() + 10000;
	     test_now_ms() < end && r->free_in;) {
		turn(5);
	}
	ck_assert_ptr_null(r->free_in);
	M[0].ctx = NULL;
	M[0].g = NULL;
	ck_assert_int_eq(r->answers, 1);
	ck_assert(!r->done);
	/* The others see node 1 leave. */
	ck_assert(pump(15000, views_of, (void *)(uintptr_t)2));
	stop_all();
}
END_TEST

/* A reply comes after the messages its responder sent before it. */
START_TEST(test_reply_after_earlier_messages)
{
	char name[64];
	struct req *r;

	start3("rr-fifo", name, sizeof(name));
	M[1].silent = true;
	r = request(&M[0], HAQ_REQUEST_ALL, "f", 30000);
	ck_assert(pump(10000, held_at_least, (void *)1));
	wait_answered(r, 2);
	marker_seen = false;
	/* A large message, then the reply, back to back. */
	{
		static char big[3 << 20];

		ck_assert_int_eq(haq_group_send(M[1].g, big, sizeof(big)), 0);
	}
	ck_assert_int_eq(haq_group_send(M[1].g, "marker", 6), 0);
	ck_assert_int_eq(haq_group_reply(M[1].g, M[1].held[0], 0, NULL, 0), 0);
	ck_assert(pump(20000, req_done, r));
	ck_assert_int_eq(r->answers, 3);
	ck_assert(r->marker_at_reply);
	stop_all();
}
END_TEST

/* A responder that owes a reply leaves: with leave, then with free. */
START_TEST(test_responder_leaves)
{
	char name[64];
	struct req *r;

	start3("rr-leave", name, sizeof(name));
	M[2].silent = true;
	r = request(&M[0], HAQ_REQUEST_ALL, "a", 60000);
	ck_assert(pump(10000, held_at_least, (void *)1));
	wait_answered(r, 2);
	ck_assert_int_ge(haq_group_leave(M[2].g), 0);
	M[2].g = NULL;
	ck_assert(pump(15000, req_done, r));
	ck_assert_int_eq(r->result, 0);
	ck_assert_int_eq(r->leavers, 1);
	ck_assert_uint_eq(r->leaver_nodeid, M[2].nodeid);
	ck_assert_int_lt(r->t_done - r->t_sent, 15000);
	member_stop(&M[2]);

	/* Again, the responder's context freed. */
	member_start(&M[2], 3, name, true);
	M[2].silent = true;
	ck_assert(pump(20000, views_of, (void *)(uintptr_t)3));
	r = request(&M[0], HAQ_REQUEST_ALL, "b", 60000);
	ck_assert(pump(10000, held_at_least, (void *)1));
	wait_answered(r, 2);
	member_stop(&M[2]);
	ck_assert(pump(15000, req_done, r));
	ck_assert_int_eq(r->result, 0);
	ck_assert_int_eq(r->leavers, 1);
	ck_assert_int_eq(r->ok, 2);

	/* A first-reply request whose responders all leave ends at once. */
	M[1].silent = true;
	M[0].silent = true;
	r = request(&M[0], HAQ_REQUEST_FIRST, "c", 60000);
	ck_assert(pump(10000, held_at_least, (void *)1));
	member_stop(&M[1]);
	ck_assert(pump(15000, views_of, (void *)(uintptr_t)1));
	ck_assert(!r->done);
	ck_assert_int_eq(haq_group_reply(M[0].g, M[0].held[M[0].nheld - 1],
					 -EIO, NULL, 0),
			 0);
	ck_assert(pump(10000, req_done, r));
	ck_assert_int_eq(r->result, -EREMOTEIO);
	ck_assert_int_eq(r->leavers, 1);
	ck_assert_int_eq(r->errors, 1);
	stop_all();
}
END_TEST

START_TEST(test_join_during_request)
{
	char name[64];
	struct req *r;

	/* Members on nodes 1 and 2; the joiner comes on node 3. */
	unique_group(name, sizeof(name), "rr-join");
	member_start(&M[0], 1, name, true);
	member_start(&M[1], 2, name, true);
	ck_assert(pump(20000, views_of, (void *)(uintptr_t)2));
	M[1].silent = true;
	r = request(&M[0], HAQ_REQUEST_ALL, "j", 60000);
	ck_assert(pump(10000, held_at_least, (void *)1));
	member_start(&M[2], 3, name, true);
	ck_assert(pump(20000, views_of, (void *)(uintptr_t)3));
	ck_assert(!r->done);
	/* The joiner was not asked, and is not waited for. */
	ck_assert_int_eq(M[2].requests, 0);
	ck_assert_int_eq(haq_group_reply(M[1].g, M[1].held[0], 0, "j", 1), 0);
	ck_assert(pump(10000, req_done, r));
	ck_assert_int_eq(r->result, 0);
	ck_assert_int_eq(r->answers, 2);
	/* The next request has three responders. */
	M[1].silent = false;
	r = request(&M[0], HAQ_REQUEST_ALL, "k", 60000);
	ck_assert(pump(10000, req_done, r));
	ck_assert_int_eq(r->answers, 3);
	ck_assert_int_eq(M[2].requests, 1);
	stop_all();
}
END_TEST

static bool
two_views(void *arg)
{
	(void)arg;
	return M[0].g && haq_view_member_count(haq_group_view(M[0].g)) == 2 &&
	       haq_view_member_count(haq_group_view(M[2].g)) == 1;
}

START_TEST(test_partition_during_all_replies)
{
	char name[64];
	struct req *r;
	struct req *r3;

	start3("rr-part", name, sizeof(name));
	for (int i = 0; i < 3; i++) {
		M[i].silent = true;
	}
	/* Requests of node 1 and of node 3, held by everyone. */
	r = request(&M[0], HAQ_REQUEST_ALL, "p", 120000);
	r3 = request(&M[2], HAQ_REQUEST_ALL, "p3", 120000);
	ck_assert(pump(10000, held_at_least, (void *)2));
	/* Node 1's request: nodes 1 and 2 answer, node 3 does not. */
	ck_assert_int_eq(haq_group_reply(M[0].g, held_of(&M[0], M[0].nodeid), 0,
					 "ok", 2),
			 0);
	ck_assert_int_eq(haq_group_reply(M[1].g, held_of(&M[1], M[0].nodeid), 0,
					 "ok", 2),
			 0);
	/* Node 3's request: only node 3 answers. */
	ck_assert_int_eq(haq_group_reply(M[2].g, held_of(&M[2], M[2].nodeid), 0,
					 "ok", 2),
			 0);
	wait_answered(r, 2);
	wait_answered(r3, 1);
	ck_assert_int_eq(cluster_cmd("isolate 3"), 0);
	ck_assert(pump(60000, req_done, r));
	/* Complete, the leaver marked, long before the timeout. */
	ck_assert_int_eq(r->result, 0);
	ck_assert_int_eq(r->leavers, 1);
	ck_assert_uint_eq(r->leaver_nodeid, M[2].nodeid);
	ck_assert_int_eq(r->ok, 2);
	ck_assert_int_lt(r->t_done - r->t_sent, 60000);
	/* The other side: node 3's request completes with both marked. */
	ck_assert(pump(60000, req_done, r3));
	ck_assert_int_eq(r3->result, 0);
	ck_assert_int_eq(r3->leavers, 2);
	ck_assert_int_eq(r3->ok, 1);
	/* Each side withdraws the other side's request. */
	ck_assert(pump(10000, two_views, NULL));
	for (int i = 0; i < 3; i++) {
		uint32_t other = i == 2 ? M[0].nodeid : M[2].nodeid;

		ck_assert_int_eq(M[i].cancels, 1);
		ck_assert_int_eq(M[i].cancel_reason, -EHOSTDOWN);
		ck_assert_uint_eq(M[i].cancelled, held_of(&M[i], other));
		ck_assert_int_eq(
			haq_group_reply(M[i].g, M[i].cancelled, 0, NULL, 0),
			-ECANCELED);
	}
	ck_assert_int_eq(cluster_cmd("heal 3"), 0);
	ck_assert(pump(60000, views_of, (void *)(uintptr_t)3));
	stop_all();
}
END_TEST

START_TEST(test_timeout)
{
	char name[64];
	struct req *r;
	uint64_t took;

	start3("rr-timeout", name, sizeof(name));
	M[2].silent = true;
	r = request(&M[0], HAQ_REQUEST_ALL, "t", 500);
	ck_assert(pump(10000, req_done, r));
	ck_assert(pump(10000, held_at_least, (void *)1));
	took = r->t_done - r->t_sent;
	ck_assert_int_eq(r->result, -ETIMEDOUT);
	ck_assert_int_eq(r->ok, 2);
	ck_assert_uint_ge(took, 500);
	ck_assert_uint_lt(took, 3000);
	/* Its late reply is taken by the responder, dropped by the requester.
	 */
	ck_assert_int_eq(haq_group_reply(M[2].g, M[2].held[0], 0, NULL, 0), 0);
	for (int i = 0; i < 20; i++) {
		turn(10);
	}
	ck_assert_int_eq(r->answers, 2);
	/* Without a timeout, never timed out. */
	r = request(&M[0], HAQ_REQUEST_MAJORITY, "u", 0);
	ck_assert(pump(10000, req_done, r));
	ck_assert_int_eq(r->result, 0);
	stop_all();
}
END_TEST

START_TEST(test_cancel)
{
	char name[64];
	struct req *r;
	uint64_t id;

	start3("rr-cancel", name, sizeof(name));
	M[1].silent = true;
	M[2].silent = true;
	r = request(&M[0], HAQ_REQUEST_ALL, "c", 60000);
	ck_assert(pump(10000, held_at_least, (void *)1));
	wait_answered(r, 1);
	id = r->id;
	ck_assert_int_eq(haq_group_request_cancel(M[0].g, id), 0);
	ck_assert_int_eq(haq_group_request_cancel(M[0].g, id), -ENOENT);
	for (uint64_t end = test_now_ms() + 10000;
	     test_now_ms() < end && (M[1].cancels < 1 || M[2].cancels < 1);) {
		turn(10);
	}
	for (int i = 1; i < 3; i++) {
		ck_assert_int_eq(M[i].cancels, 1);
		ck_assert_int_eq(M[i].cancel_reason, -ECANCELED);
		ck_assert_uint_eq(M[i].cancelled, M[i].held[0]);
		ck_assert_int_eq(
			haq_group_reply(M[i].g, M[i].held[0], 0, NULL, 0),
			-ECANCELED);
	}
	ck_assert(!r->done);
	ck_assert_int_eq(r->answers, 1);
	/* The group goes on. */
	M[1].silent = false;
	M[2].silent = false;
	r = request(&M[0], HAQ_REQUEST_ALL, "d", 60000);
	ck_assert(pump(10000, req_done, r));
	stop_all();
}
END_TEST

START_TEST(test_requester_leaves)
{
	char name[64];

	start3("rr-reqleave", name, sizeof(name));
	M[1].silent = true;
	M[2].silent = true;
	request(&M[0], HAQ_REQUEST_ALL, "r", 60000);
	request(&M[0], HAQ_REQUEST_FIRST, "s", 60000);
	ck_assert(pump(10000, held_at_least, (void *)2));
	ck_assert_int_ge(haq_group_leave(M[0].g), 0);
	M[0].g = NULL;
	for (uint64_t end = test_now_ms() + 15000;
	     test_now_ms() < end && (M[1].cancels < 2 || M[2].cancels < 2);) {
		turn(10);
	}
	for (int i = 1; i < 3; i++) {
		ck_assert_int_eq(M[i].cancels, 2);
		ck_assert_int_eq(M[i].cancel_reason, -EHOSTDOWN);
		for (int k = 0; k < 2; k++) {
			ck_assert_int_eq(haq_group_reply(M[i].g, M[i].held[k],
							 0, NULL, 0),
					 -ECANCELED);
		}
	}
	stop_all();
}
END_TEST

/* A raw CPG member sends request/reply frames that are all wrong. */
static bool raw_joined;

static void
raw_confchg(cpg_handle_t h, const struct cpg_name *name,
	    const struct cpg_address *members, size_t nmembers,
	    const struct cpg_address *left, size_t nleft,
	    const struct cpg_address *joined, size_t njoined)
{
	(void)h, (void)name, (void)members, (void)nmembers, (void)left;
	(void)nleft;
	for (size_t i = 0; i < njoined; i++) {
		if (joined[i].pid == (uint32_t)getpid()) {
			raw_joined = true;
		}
	}
}

static void
raw_send(cpg_handle_t h, const uint8_t *body, size_t len)
{
	uint8_t f[64];
	struct iovec iov = {f, HAQ_WIRE_HDR + len};

	memset(f, 0, sizeof(f));
	haq__put_le32(f, 0x31514148u); /* libhaq's header: a control frame */
	f[4] = 1;
	f[5] = 3;
	haq__put_le64(f + 8, 0x1234);
	haq__put_le64(f + 16, 1);
	memcpy(f + HAQ_WIRE_HDR, body, len);
	while (cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1) ==
	       CS_ERR_TRY_AGAIN) {
		usleep(5000);
	}
}

/* The child: join as a raw CPG member of node 2 and send bad frames. */
static void
raw_member(const char *name, uint32_t target)
{
	cpg_handle_t h;
	struct cpg_name cn;
	cpg_callbacks_t cbs = {.cpg_confchg_fn = raw_confchg};
	uint8_t b[24];

	cluster_enter_node(2);
	if (cpg_initialize(&h, &cbs) != CS_OK) {
		_exit(2);
	}
	cn.length = (uint32_t)strlen(name);
	memcpy(cn.value, name, cn.length);
	if (cpg_join(h, &cn) != CS_OK) {
		_exit(3);
	}
	for (uint64_t end = test_now_ms() + 20000; !raw_joined;) {
		if (test_now_ms() > end) {
			_exit(4);
		}
		cpg_dispatch(h, CS_DISPATCH_ONE_NONBLOCKING);
		usleep(10000);
	}
	for (int i = 0; i < RAW_BAD; i++) {
		raw_send(h, raw_bodies[i], raw_lens[i]);
	}
	/* A reply to member 1 with a reserved byte set: only 1 counts it. */
	memset(b, 0, sizeof(b));
	b[0] = 21;
	b[1] = 1;
	haq__put_le32(b + 8, target);
	haq__put_le32(b + 12, (uint32_t)getppid());
	haq__put_le64(b + 16, 1);
	raw_send(h, b, sizeof(b));
	usleep(500000);
	cpg_finalize(h);
	_exit(0);
}

START_TEST(test_malformed_frames_counted)
{
	char name[64];
	struct req *r;
	uint64_t v;
	pid_t child;
	int status;

	start3("rr-bad", name, sizeof(name));
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		raw_member(name, M[0].nodeid);
	}
	for (uint64_t end = test_now_ms() + 30000; test_now_ms() < end;) {
		bool all = true;

		turn(10);
		for (int i = 0; i < 3; i++) {
			ck_assert_int_eq(
				haq_group_counter(M[i].g,
						  HAQ_COUNTER_RR_MALFORMED, &v),
				0);
			all = all && v >= (uint64_t)RAW_BAD + (i == 0);
		}
		if (all) {
			break;
		}
	}
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(
			haq_group_counter(M[i].g, HAQ_COUNTER_RR_MALFORMED, &v),
			0);
		ck_assert_uint_eq(v, (uint64_t)RAW_BAD + (i == 0));
	}
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Nothing else affected: requests work. */
	ck_assert(pump(20000, views_of, (void *)(uintptr_t)3));
	r = request(&M[0], HAQ_REQUEST_ALL, "ok", 30000);
	ck_assert(pump(10000, req_done, r));
	ck_assert_int_eq(r->result, 0);
	ck_assert_int_eq(r->ok, 3);
	for (int i = 0; i < 3; i++) {
		member_stop(&M[i]);
	}
}
END_TEST

/*
 * Whatever a test that failed midway left behind (an isolated node), the
 * next one starts from a whole cluster.
 */
static void
heal_all(void)
{
	cluster_cmd("heal 1 2 3");
	for (int k = 1; k <= 3; k++) {
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "wait-members %d 3 30", k);
		cluster_cmd(cmd);
	}
}

static void
add_fault_tcase(Suite *s, const TTest *fn, int timeout)
{
	TCase *tc = tcase_create(fn->name);

	tcase_add_unchecked_fixture(tc, NULL, heal_all);
	add_tcase(s, tc, fn, timeout);
}

int
main(void)
{
	Suite *s = suite_create("reqrep");

	ADD_TCASE(s, test_modes_under_load, 120);
	ADD_TCASE(s, test_later_replies_errors_and_no_handler, 120);
	ADD_TCASE(s, test_reply_after_earlier_messages, 60);
	ADD_TCASE(s, test_cancel_or_free_inside_the_reply_callback, 60);
	ADD_TCASE(s, test_responder_leaves, 120);
	ADD_TCASE(s, test_join_during_request, 120);
	add_fault_tcase(s, test_partition_during_all_replies, 300);
	ADD_TCASE(s, test_timeout, 60);
	ADD_TCASE(s, test_cancel, 60);
	ADD_TCASE(s, test_requester_leaves, 60);
	ADD_TCASE(s, test_malformed_frames_counted, 120);
	return run_suite(s);
}
