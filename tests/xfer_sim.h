/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A model of the members of one group running state transfer's rules
 * (libhaq/xfer.c) side by side, shared by tests/check_xfer.c (random
 * histories) and tests/hardening/fuzz_xfer.c (histories from the fuzz
 * input). The includer defines SIM_REQUIRE(cond), its assertion.
 *
 * SIM_NPROC processes, each with its own struct haq_xfer, live in
 * partitions: a partition is the set of processes that got the same view
 * (same view id), and every frame a member sends is delivered to every
 * member of its partition, in one order, as the agreed stream delivers
 * it. Members behave as libhaq/group_state.c makes them: a holder offers
 * (a BEGIN naming the holders it knows) when haq__xfer_bid_rank() lets
 * it, or an EMPTY BEGIN when haq__xfer_lost() says so; a provider writes
 * CHUNKs numbered from 0 and an END; receivers give up, anyone aborts.
 * A frame is made from what its sender knows when it sends it and is
 * delivered later, after what the stream delivers first (its sender's
 * frames in the order it sent them).
 *
 * After every event, for every member (sim_check()): S and R are sorted,
 * unique, within its view and disjoint; U and X sorted and within the
 * view; a transfer runs (id != 0) with a provider that holds, or none
 * runs and nobody receives or provides; self_receives iff this process is
 * in R; the result's bits say what changed. And (sim_check_agree()) the
 * members of one partition that know who holds the state agree on the
 * whole table, once the partition shares its history: from its view on
 * when it was made from one earlier partition (and joiners), from the
 * first BEGIN it takes when it was made from several (a healed
 * partition). A forged frame (sim_forged) can name a transfer that some
 * members never saw begin: agreement is then no longer checked.
 */
#ifndef HAQ_XFER_SIM_H
#define HAQ_XFER_SIM_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <haq/haq.h>

#include "compress.h"
#include "le.h"
#include "xfer.h"

#ifndef SIM_REQUIRE
#error "define SIM_REQUIRE(cond) before including xfer_sim.h"
#endif

#define SIM_NPROC 6
#define SIM_QMAX 8
#define SIM_DATA_MAX 16
#define SIM_BODY_MAX (HAQ_XFER_BEGIN_FIXED + 8 * SIM_NPROC)

/* Sorted by (nodeid, pid), as views list them; node 1 runs two. */
static const struct haq_memb sim_ids[SIM_NPROC] = {{1, 50, 0},	{1, 100, 0},
						   {2, 200, 0}, {3, 300, 0},
						   {4, 400, 0}, {5, 500, 0}};

enum {
	SIM_BEGIN = 0,
	SIM_CHUNK,
	SIM_END,
	SIM_ABORT,
	SIM_GIVEUP,
	SIM_NTYPES,
};

struct sim_frame {
	int type;
	size_t len;
	uint8_t body[SIM_BODY_MAX];
};

struct sim_proc {
	struct haq_xfer x;
	bool alive;    /* a member of the group (it had a view) */
	bool synced;   /* its partition shares one history */
	uint64_t view; /* its partition's view id, 0: none */
	struct sim_frame q[SIM_QMAX]; /* sent, not delivered yet */
	size_t qn;
	/* Its writer, when it provides (as group_state.c keeps it). */
	uint64_t wid;
	uint64_t windex;
	uint64_t wbytes;
	bool wended;
	uint64_t made;	  /* transfer ids it made */
	uint64_t offered; /* its BEGIN sent and not back (group_state.c) */
};

struct sim {
	struct sim_proc p[SIM_NPROC];
	uint64_t next_view;
	bool forged; /* a crafted or raw frame was delivered */
	/* What happened, to see that a history did something. */
	unsigned started, done, stopped, empties, delivered, heals, synced;
};

/* ---------------------------------------------------------------- */
/* Invariants                                                       */
/* ---------------------------------------------------------------- */

static bool
sim_sorted_within(const struct haq_memb *v, size_t n,
		  const struct haq_memb *view, size_t nview)
{
	for (size_t i = 0; i < n; i++) {
		if (i && haq__id_cmp(v[i - 1].nodeid, v[i - 1].pid, v[i].nodeid,
				     v[i].pid) >= 0) {
			return false;
		}
		if (view &&
		    !haq__memb_contains(view, nview, v[i].nodeid, v[i].pid)) {
			return false;
		}
	}
	return true;
}

static size_t
sim_members(const struct sim *s, uint64_t view, struct haq_memb *out)
{
	size_t n = 0;

	for (int i = 0; i < SIM_NPROC; i++) {
		if (view && s->p[i].alive && s->p[i].view == view) {
			out[n++] = sim_ids[i];
		}
	}
	return n;
}

/* The table of one member after one event, and what the event said. */
static void
sim_check(const struct sim *s, int i, int rc, const struct haq_xfer_result *r)
{
	const struct haq_xfer *x = &s->p[i].x;
	struct haq_memb v[SIM_NPROC];
	size_t n = sim_members(s, s->p[i].view, v);
	const struct haq_memb *view = s->p[i].alive ? v : NULL;
	bool self_in_r =
		haq__memb_contains(x->R, x->nr, x->self_nodeid, x->self_pid);

	SIM_REQUIRE(rc == 0);
	SIM_REQUIRE(sim_sorted_within(x->S, x->ns, view, n));
	SIM_REQUIRE(sim_sorted_within(x->R, x->nr, view, n));
	SIM_REQUIRE(sim_sorted_within(x->U, x->nu, view, n));
	SIM_REQUIRE(sim_sorted_within(x->X, x->nx, NULL, 0));
	for (size_t k = 0; k < x->nr; k++) {
		SIM_REQUIRE(!haq__memb_contains(x->S, x->ns, x->R[k].nodeid,
						x->R[k].pid));
	}
	for (size_t k = 0; k < x->nu; k++) {
		SIM_REQUIRE(!haq__memb_contains(x->S, x->ns, x->U[k].nodeid,
						x->U[k].pid));
	}
	SIM_REQUIRE(x->self_receives == self_in_r);
	if (x->id) {
		SIM_REQUIRE(x->known);
		SIM_REQUIRE(haq__memb_contains(x->S, x->ns, x->prov_nodeid,
					       x->prov_pid));
		SIM_REQUIRE(x->self_provides ==
			    (x->prov_nodeid == x->self_nodeid &&
			     x->prov_pid == x->self_pid));
		SIM_REQUIRE(!(x->self_provides && x->self_receives));
	} else {
		SIM_REQUIRE(x->nr == 0);
		SIM_REQUIRE(!x->self_receives && !x->self_provides);
	}
	if (!x->known) {
		SIM_REQUIRE(x->ns == 0 && !haq__xfer_holds(x));
	}
	/* The bits say what changed. */
	if (!r) {
		return;
	}
	SIM_REQUIRE(!(r->bits & HAQ_XFER_IGNORED) ||
		    r->bits == HAQ_XFER_IGNORED);
	if (r->bits & HAQ_XFER_STOPPED) {
		SIM_REQUIRE(r->error < 0 && r->error > -4096);
		SIM_REQUIRE(!(r->was_receiver && r->was_provider));
	}
	if (r->bits & HAQ_XFER_STARTED) {
		SIM_REQUIRE(x->id != 0 && x->next_index == 0);
		SIM_REQUIRE(!r->replace || x->self_receives);
	}
	if (r->bits & (HAQ_XFER_DONE | HAQ_XFER_EMPTY)) {
		SIM_REQUIRE(x->id == 0 && x->known);
	}
	if (r->bits & HAQ_XFER_EMPTY) {
		SIM_REQUIRE(haq__xfer_holds(x) && x->nu == 0);
	}
	if (r->bits & HAQ_XFER_DONE) {
		SIM_REQUIRE(!r->was_receiver || haq__xfer_holds(x));
	}
	if (r->bits & HAQ_XFER_DELIVER) {
		SIM_REQUIRE(x->self_receives && r->data && r->len > 0);
	}
}

static bool
sim_same(const struct haq_memb *a, size_t na, const struct haq_memb *b,
	 size_t nb)
{
	if (na != nb) {
		return false;
	}
	for (size_t i = 0; i < na; i++) {
		if (a[i].nodeid != b[i].nodeid || a[i].pid != b[i].pid) {
			return false;
		}
	}
	return true;
}

/* Members of one partition that share a history and know: one table. */
static void
sim_check_agree(const struct sim *s)
{
	if (s->forged) {
		return;
	}
	for (int i = 0; i < SIM_NPROC; i++) {
		for (int k = i + 1; k < SIM_NPROC; k++) {
			const struct sim_proc *a = &s->p[i];
			const struct sim_proc *b = &s->p[k];

			if (!a->alive || !b->alive || a->view != b->view ||
			    !a->synced || !b->synced || !a->x.known ||
			    !b->x.known) {
				continue;
			}
			SIM_REQUIRE(a->x.view_id == b->x.view_id);
			SIM_REQUIRE(sim_same(a->x.S, a->x.ns, b->x.S, b->x.ns));
			SIM_REQUIRE(sim_same(a->x.U, a->x.nu, b->x.U, b->x.nu));
			SIM_REQUIRE(a->x.id == b->x.id);
			if (a->x.id) {
				SIM_REQUIRE(a->x.prov_nodeid ==
						    b->x.prov_nodeid &&
					    a->x.prov_pid == b->x.prov_pid);
				SIM_REQUIRE(sim_same(a->x.R, a->x.nr, b->x.R,
						     b->x.nr));
				SIM_REQUIRE(a->x.next_index == b->x.next_index);
				SIM_REQUIRE(a->x.bytes == b->x.bytes);
			}
		}
	}
}

/* ---------------------------------------------------------------- */
/* The stream                                                       */
/* ---------------------------------------------------------------- */

static void
sim_init(struct sim *s)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < SIM_NPROC; i++) {
		haq__xfer_init(&s->p[i].x, sim_ids[i].nodeid, sim_ids[i].pid);
		s->p[i].synced = true;
	}
}

static void
sim_free(struct sim *s)
{
	for (int i = 0; i < SIM_NPROC; i++) {
		haq__xfer_free(&s->p[i].x);
	}
}

/* A new writer when a process is asked to provide (STARTED). */
static void
sim_writer(struct sim_proc *p)
{
	if (p->x.id && p->x.self_provides && p->wid != p->x.id) {
		p->wid = p->x.id;
		p->windex = 0;
		p->wbytes = 0;
		p->wended = false;
	}
}

static void
sim_count(struct sim *s, const struct haq_xfer_result *r)
{
	s->started += (r->bits & HAQ_XFER_STARTED) != 0;
	s->done += (r->bits & HAQ_XFER_DONE) != 0;
	s->stopped += (r->bits & HAQ_XFER_STOPPED) != 0;
	s->empties += (r->bits & HAQ_XFER_EMPTY) != 0;
	s->delivered += (r->bits & HAQ_XFER_DELIVER) != 0;
}

/*
 * Deliver a frame (its body: after the control type byte) from process
 * from to every member of its partition. Returns false when out of
 * memory (the history is abandoned).
 */
static bool
sim_deliver_bytes(struct sim *s, int from, int type, const uint8_t *body,
		  size_t len)
{
	uint64_t view = s->p[from].view;
	struct haq_memb v[SIM_NPROC];
	size_t n = sim_members(s, view, v);
	bool taken = false;

	if (!s->p[from].alive) {
		return true;
	}
	for (int i = 0; i < SIM_NPROC; i++) {
		struct sim_proc *p = &s->p[i];
		struct haq_xfer_result r;
		uint32_t nd = sim_ids[from].nodeid;
		uint32_t pd = sim_ids[from].pid;
		int rc;

		if (!p->alive || p->view != view) {
			continue;
		}
		switch (type) {
		case SIM_BEGIN:
			rc = haq__xfer_on_begin(&p->x, nd, pd, body, len, v, n,
						&r);
			break;
		case SIM_CHUNK:
			rc = haq__xfer_on_chunk(&p->x, nd, pd, body, len, &r);
			break;
		case SIM_END:
			rc = haq__xfer_on_end(&p->x, nd, pd, body, len, &r);
			break;
		case SIM_ABORT:
			rc = haq__xfer_on_abort(&p->x, nd, pd, body, len, &r);
			break;
		default:
			rc = haq__xfer_on_giveup(&p->x, nd, pd, body, len, &r);
			break;
		}
		if (rc == -ENOMEM) {
			return false;
		}
		if (rc == -EBADMSG) {
			/* Dropped by everyone alike: nothing changed. */
			sim_check(s, i, 0, NULL);
			continue;
		}
		sim_check(s, i, rc, &r);
		sim_count(s, &r);
		if (r.bits & (HAQ_XFER_STARTED | HAQ_XFER_EMPTY)) {
			taken = true;
		}
		sim_writer(p);
	}
	if (taken) {
		/* The first BEGIN taken after a heal: one history again. */
		for (int i = 0; i < SIM_NPROC; i++) {
			if (s->p[i].alive && s->p[i].view == view &&
			    !s->p[i].synced) {
				s->p[i].synced = true;
				s->synced++;
			}
		}
	}
	sim_check_agree(s);
	return true;
}

static bool
sim_deliver_frame(struct sim *s, int from, const struct sim_frame *f)
{
	return sim_deliver_bytes(s, from, f->type, f->body, f->len);
}

/* Deliver the oldest frame process i sent. */
static bool
sim_deliver(struct sim *s, int i)
{
	struct sim_proc *p = &s->p[i];
	struct sim_frame f;

	if (!p->qn) {
		return true;
	}
	f = p->q[0];
	if (f.type == SIM_BEGIN && haq__get_le64(f.body) == p->offered) {
		p->offered = 0;
	}
	memmove(p->q, p->q + 1, (p->qn - 1) * sizeof(p->q[0]));
	p->qn--;
	return sim_deliver_frame(s, i, &f);
}

/* Queue a frame of process i; false when its queue is full. */
static struct sim_frame *
sim_push(struct sim *s, int i, int type)
{
	struct sim_proc *p = &s->p[i];

	if (!p->alive || p->qn == SIM_QMAX) {
		return NULL;
	}
	p->q[p->qn].type = type;
	return &p->q[p->qn++];
}

/*
 * The partition of the processes in mask gets a view; so does the rest
 * of every partition it takes members from. A process of mask that was
 * not a member joins (its first view). Returns false when out of memory.
 */
static bool
sim_view_one(struct sim *s, unsigned mask)
{
	uint64_t old[SIM_NPROC];
	bool was[SIM_NPROC];
	uint64_t sources[SIM_NPROC];
	size_t nsources = 0;
	bool synced = true;
	uint64_t vid = ++s->next_view;

	mask &= (1u << SIM_NPROC) - 1;
	if (!mask) {
		return true;
	}
	for (int i = 0; i < SIM_NPROC; i++) {
		old[i] = s->p[i].alive ? s->p[i].view : 0;
		was[i] = s->p[i].alive;
	}
	/* The earlier partitions it takes members from. */
	for (int i = 0; i < SIM_NPROC; i++) {
		bool seen = false;

		if (!(mask & (1u << i)) || !was[i]) {
			continue;
		}
		for (size_t k = 0; k < nsources; k++) {
			seen = seen || sources[k] == old[i];
		}
		if (!seen) {
			sources[nsources++] = old[i];
		}
		synced = synced && s->p[i].synced;
	}
	if (nsources > 1) {
		s->heals++;
		synced = false;
	}
	for (int i = 0; i < SIM_NPROC; i++) {
		if (mask & (1u << i)) {
			s->p[i].alive = true;
			s->p[i].view = vid;
			s->p[i].synced = synced;
		}
	}
	/* The new partition, then the rest of each source. */
	for (size_t k = 0; k <= nsources; k++) {
		uint64_t id = k == 0 ? vid : ++s->next_view;
		struct haq_memb v[SIM_NPROC];
		size_t n;

		if (k > 0) {
			bool any = false;

			for (int i = 0; i < SIM_NPROC; i++) {
				if (was[i] && old[i] == sources[k - 1] &&
				    !(mask & (1u << i))) {
					s->p[i].view = id;
					any = true;
				}
			}
			if (!any) {
				continue;
			}
		}
		n = sim_members(s, id, v);
		for (int i = 0; i < SIM_NPROC; i++) {
			struct sim_proc *p = &s->p[i];
			struct haq_memb joined[SIM_NPROC];
			size_t nj = 0;
			struct haq_xfer_result r;
			int rc;

			if (!p->alive || p->view != id) {
				continue;
			}
			for (int j = 0; j < SIM_NPROC; j++) {
				if (!s->p[j].alive || s->p[j].view != id ||
				    (was[i] && was[j] && old[j] == old[i])) {
					continue;
				}
				joined[nj] = sim_ids[j];
				/* Came with its node, or a process joined. */
				joined[nj++].reason = was[j] ? HAQ_REASON_NODEUP
							     : HAQ_REASON_JOIN;
			}
			rc = haq__xfer_view(&p->x, id, v, n, joined, nj,
					    !was[i], &r);
			if (rc == -ENOMEM) {
				return false;
			}
			sim_check(s, i, rc, &r);
			sim_count(s, &r);
			if (p->wid && p->x.id != p->wid) {
				p->wid = 0;
			}
		}
	}
	sim_check_agree(s);
	return true;
}

/*
 * As sim_view_one(), but processes that join come one at a time, each in
 * a view of its own, as CPG delivers joins (a view never has two
 * processes that join the group: only members of a partition that heals
 * come together).
 */
static bool
sim_view(struct sim *s, unsigned mask)
{
	unsigned fresh = 0;
	unsigned m;

	mask &= (1u << SIM_NPROC) - 1;
	for (int i = 0; i < SIM_NPROC; i++) {
		if ((mask & (1u << i)) && !s->p[i].alive) {
			fresh |= 1u << i;
		}
	}
	m = mask & ~fresh;
	if (m && !sim_view_one(s, m)) {
		return false;
	}
	for (int i = 0; i < SIM_NPROC; i++) {
		if (fresh & (1u << i)) {
			m |= 1u << i;
			if (!sim_view_one(s, m)) {
				return false;
			}
		}
	}
	return true;
}

/*
 * Process i is cut off from corosync (haq__xfer_reset()) or leaves: its
 * partition gets a view without it; what it had not sent is lost.
 */
static bool
sim_leave(struct sim *s, int i)
{
	struct sim_proc *p = &s->p[i];
	struct haq_xfer_result r;
	unsigned rest = 0;

	if (!p->alive) {
		return true;
	}
	for (int k = 0; k < SIM_NPROC; k++) {
		if (k != i && s->p[k].alive && s->p[k].view == p->view) {
			rest |= 1u << k;
		}
	}
	haq__xfer_reset(&p->x, &r);
	SIM_REQUIRE(!(r.bits & ~HAQ_XFER_STOPPED));
	SIM_REQUIRE(!(r.bits & HAQ_XFER_STOPPED) || r.error == -ENOTCONN);
	p->alive = false;
	p->view = 0;
	p->qn = 0;
	p->wid = 0;
	p->offered = 0;
	p->synced = true;
	sim_check(s, i, 0, NULL);
	return sim_view(s, rest);
}

/* ---------------------------------------------------------------- */
/* What members send                                                */
/* ---------------------------------------------------------------- */

/*
 * Process i offers when the rules let it (any rank: the stall timers of
 * group_state.c are not modelled), or says that nobody holds the state.
 */
static void
sim_offer(struct sim *s, int i)
{
	struct sim_proc *p = &s->p[i];
	struct haq_memb v[SIM_NPROC];
	size_t n = sim_members(s, p->view, v);
	struct sim_frame *f;
	bool empty = haq__xfer_lost(&p->x) && !haq__xfer_holds(&p->x);

	if (!p->alive || p->offered ||
	    (!empty && haq__xfer_bid_rank(&p->x, v, n, 0, 0, false) < 0)) {
		return;
	}
	f = sim_push(s, i, SIM_BEGIN);
	if (!f) {
		return;
	}
	p->made++;
	p->offered = (uint64_t)(i + 1) << 32 | p->made;
	f->len = haq__xfer_begin_len(empty ? 0 : (uint32_t)p->x.ns);
	haq__xfer_begin_encode((uint64_t)(i + 1) << 32 | p->made, p->x.view_id,
			       empty ? HAQ_XFER_FLAG_EMPTY : 0, p->x.S,
			       empty ? 0 : (uint32_t)p->x.ns, f->body);
}

/*
 * Process i's writer writes len bytes (a CHUNK); skew moves its index.
 * compressed: the CHUNK says HAQ_XFER_CHUNK_LZ4 and its data is a
 * compressed payload's header (compress.h) claiming 20 times len bytes
 * and a block of len bytes (xfer.c reads only the header; the receivers
 * decompress), counted as that many bytes of the transfer.
 */
static void
sim_write(struct sim *s, int i, size_t len, int skew, bool compressed)
{
	struct sim_proc *p = &s->p[i];
	struct sim_frame *f;
	size_t off = HAQ_XFER_CHUNK_HDR;
	size_t raw;

	if (!p->wid || p->wended || p->x.id != p->wid) {
		return;
	}
	if (len < 1 || len > SIM_DATA_MAX) {
		len = 1;
	}
	f = sim_push(s, i, SIM_CHUNK);
	if (!f) {
		return;
	}
	haq__xfer_chunk_hdr_encode(p->wid, p->windex + (uint64_t)skew,
				   compressed ? HAQ_XFER_CHUNK_LZ4 : 0,
				   f->body);
	if (compressed) {
		raw = 20 * len;
		f->body[off] = HAQ_CODEC_LZ4;
		haq__put_le64(f->body + off + 1, raw);
		off += HAQ_COMPRESS_HDR_LEN;
	} else {
		raw = len;
	}
	for (size_t k = 0; k < len; k++) {
		f->body[off + k] = (uint8_t)(p->windex + k);
	}
	f->len = off + len;
	p->windex++;
	p->wbytes += raw;
}

/* Process i's writer ends: error, or counts off by miscount. */
static void
sim_end(struct sim *s, int i, int32_t error, int miscount)
{
	struct sim_proc *p = &s->p[i];
	struct sim_frame *f;
	struct haq_xfer_end e = {0};

	if (!p->wid || p->wended || p->x.id != p->wid) {
		return;
	}
	f = sim_push(s, i, SIM_END);
	if (!f) {
		return;
	}
	e.id = p->wid;
	e.error = error;
	if (!error) {
		e.chunks = p->windex;
		e.bytes = p->wbytes + (uint64_t)(miscount > 0 ? miscount : 0);
		if (miscount < 0 && e.chunks) {
			e.chunks--;
		}
	}
	haq__xfer_end_encode(&e, f->body);
	f->len = HAQ_XFER_END_LEN;
	p->wended = true;
}

/* Process i asks to stop the transfer it sees (ABORT) or gives up. */
static void
sim_stop(struct sim *s, int i, bool giveup)
{
	struct sim_proc *p = &s->p[i];
	struct sim_frame *f;

	if (!p->alive || !p->x.id || (giveup && !p->x.self_receives)) {
		return;
	}
	f = sim_push(s, i, giveup ? SIM_GIVEUP : SIM_ABORT);
	if (!f) {
		return;
	}
	haq__xfer_abort_encode(p->x.id, giveup ? -ENOBUFS : -ETIMEDOUT,
			       f->body);
	f->len = HAQ_XFER_ABORT_LEN;
}

#endif /* HAQ_XFER_SIM_H */
