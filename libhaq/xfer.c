/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * State transfer from the agreed stream (xfer.h): the holders, the
 * transfer under way, who offers next, and the frames' codecs.
 */
#include "xfer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <haq/haq.h>

#include "compress.h"
#include "le.h"

/* ---------------------------------------------------------------- */
/* Sorted member lists                                              */
/* ---------------------------------------------------------------- */

static bool
has(const struct haq_memb *v, size_t n, uint32_t nodeid, uint32_t pid)
{
	return haq__memb_contains(v, n, nodeid, pid);
}

/* Keep the members of *v that are in keep (both sorted). */
static void
intersect(struct haq_memb *v, size_t *n, const struct haq_memb *keep,
	  size_t nkeep)
{
	size_t out = 0;

	for (size_t i = 0; i < *n; i++) {
		if (has(keep, nkeep, v[i].nodeid, v[i].pid)) {
			v[out++] = v[i];
		}
	}
	*n = out;
}

static void
drop(struct haq_memb *v, size_t *n, uint32_t nodeid, uint32_t pid)
{
	size_t pos;

	if (haq__id_search(v, *n, sizeof(*v), nodeid, pid, &pos)) {
		memmove(v + pos, v + pos + 1, (*n - pos - 1) * sizeof(*v));
		(*n)--;
	}
}

/* Add (nodeid, pid) to the sorted list *v of *n (capacity grows). */
static int
add(struct haq_memb **v, size_t *n, uint32_t nodeid, uint32_t pid)
{
	struct haq_memb *nv;
	size_t pos;

	if (haq__id_search(*v, *n, sizeof(**v), nodeid, pid, &pos)) {
		return 0;
	}
	nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv) {
		return -ENOMEM;
	}
	memmove(nv + pos + 1, nv + pos, (*n - pos) * sizeof(*nv));
	nv[pos] = (struct haq_memb){.nodeid = nodeid, .pid = pid};
	*v = nv;
	(*n)++;
	return 0;
}

/* *v becomes a copy of src (n members). */
static int
assign(struct haq_memb **v, size_t *nv, const struct haq_memb *src, size_t n)
{
	struct haq_memb *c = malloc((n ? n : 1) * sizeof(*c));

	if (!c) {
		return -ENOMEM;
	}
	if (n) {
		memcpy(c, src, n * sizeof(*c));
	}
	free(*v);
	*v = c;
	*nv = n;
	return 0;
}

static bool
is_self(const struct haq_xfer *x, uint32_t nodeid, uint32_t pid)
{
	return nodeid == x->self_nodeid && pid == x->self_pid;
}

/* ---------------------------------------------------------------- */
/* The table                                                        */
/* ---------------------------------------------------------------- */

void
haq__xfer_init(struct haq_xfer *x, uint32_t nodeid, uint32_t pid)
{
	memset(x, 0, sizeof(*x));
	x->self_nodeid = nodeid;
	x->self_pid = pid;
}

bool
haq__xfer_holds(const struct haq_xfer *x)
{
	return x->known && has(x->S, x->ns, x->self_nodeid, x->self_pid);
}

/* Stop the transfer under way, saying why and what this process was. */
static void
stop(struct haq_xfer *x, int error, struct haq_xfer_result *r)
{
	if (!x->id) {
		return;
	}
	r->bits |= HAQ_XFER_STOPPED;
	r->error = error;
	r->was_receiver = x->self_receives;
	r->was_provider = x->self_provides;
	x->id = 0;
	x->nr = 0;
	x->self_receives = false;
	x->self_provides = false;
}

/* Stop it and pass its provider over for the rest of the view. */
static int
stop_passing_over(struct haq_xfer *x, int error, struct haq_xfer_result *r)
{
	uint32_t nodeid = x->prov_nodeid;
	uint32_t pid = x->prov_pid;

	stop(x, error, r);
	return add(&x->X, &x->nx, nodeid, pid);
}

/*
 * Holders (and members of unknown status) whose node left the view: they
 * may live on in another partition, with the state, so nobody may say it
 * is lost (M). One comes off M when it is back, or when a process of its
 * node joins while it does not: then it is gone for good.
 */
static int
track_missing(struct haq_xfer *x, const struct haq_memb *members, size_t n,
	      const struct haq_memb *joined, size_t njoined,
	      const struct haq_memb *left, size_t nleft)
{
	size_t out = 0;

	for (size_t i = 0; i < nleft; i++) {
		if (left[i].reason == HAQ_REASON_NODEDOWN &&
		    (has(x->S, x->ns, left[i].nodeid, left[i].pid) ||
		     has(x->U, x->nu, left[i].nodeid, left[i].pid)) &&
		    add(&x->M, &x->nm, left[i].nodeid, left[i].pid) < 0) {
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < x->nm; i++) {
		bool gone = has(members, n, x->M[i].nodeid, x->M[i].pid);

		for (size_t j = 0; j < njoined && !gone; j++) {
			gone = joined[j].nodeid == x->M[i].nodeid;
		}
		if (!gone) {
			x->M[out++] = x->M[i];
		}
	}
	x->nm = out;
	return 0;
}

int
haq__xfer_view(struct haq_xfer *x, uint64_t view_id,
	       const struct haq_memb *members, size_t n,
	       const struct haq_memb *joined, size_t njoined, bool first,
	       struct haq_xfer_result *r)
{
	return haq__xfer_view_left(x, view_id, members, n, joined, njoined,
				   NULL, 0, first, r);
}

int
haq__xfer_view_left(struct haq_xfer *x, uint64_t view_id,
		    const struct haq_memb *members, size_t n,
		    const struct haq_memb *joined, size_t njoined,
		    const struct haq_memb *left, size_t nleft, bool first,
		    struct haq_xfer_result *r)
{
	bool healed = false;

	memset(r, 0, sizeof(*r));
	x->view_id = view_id;
	x->nx = 0;
	if (first) {
		/* A joiner: the first member of an empty group holds it. */
		x->known = n == 1 && is_self(x, members[0].nodeid,
					     members[0].pid);
		x->ns = 0;
		x->nu = 0;
		x->nm = 0;
		stop(x, -ECONNRESET, r);
		if (x->known) {
			return add(&x->S, &x->ns, x->self_nodeid, x->self_pid);
		}
		/* Whether the others hold the state, it does not know. */
		if (assign(&x->U, &x->nu, members, n) < 0) {
			return -ENOMEM;
		}
		drop(x->U, &x->nu, x->self_nodeid, x->self_pid);
		return 0;
	}
	if (track_missing(x, members, n, joined, njoined, left, nleft) < 0) {
		return -ENOMEM;
	}
	intersect(x->S, &x->ns, members, n);
	intersect(x->U, &x->nu, members, n);
	intersect(x->R, &x->nr, members, n);
	for (size_t i = 0; i < njoined; i++) {
		if (joined[i].reason != HAQ_REASON_NODEUP ||
		    !has(members, n, joined[i].nodeid, joined[i].pid)) {
			continue;
		}
		healed = true;
		if (!has(x->S, x->ns, joined[i].nodeid, joined[i].pid) &&
		    add(&x->U, &x->nu, joined[i].nodeid, joined[i].pid) < 0) {
			return -ENOMEM;
		}
	}
	if (!x->known && x->nu == 0) {
		/*
		 * A joiner whose elders all left before its cut: nobody
		 * holds the state, and it knows (it says so: EMPTY).
		 */
		x->known = true;
	}
	if (healed) {
		/* The sides know different transfers: start anew. */
		stop(x, -ECONNRESET, r);
	} else if (x->id && !has(members, n, x->prov_nodeid, x->prov_pid)) {
		stop(x, -EHOSTDOWN, r);
	}
	return 0;
}

/*
 * Passed over in this view, unless every holder is: then each gets
 * another turn (haq__xfer_bid_rank()), and its offer must be taken.
 */
static bool
passed_over(const struct haq_xfer *x, uint32_t nodeid, uint32_t pid)
{
	if (!has(x->X, x->nx, nodeid, pid)) {
		return false;
	}
	for (size_t i = 0; i < x->ns; i++) {
		if (!has(x->X, x->nx, x->S[i].nodeid, x->S[i].pid)) {
			return true;
		}
	}
	return false;
}

int
haq__xfer_on_begin(struct haq_xfer *x, uint32_t nodeid, uint32_t pid,
		   const uint8_t *body, size_t len,
		   const struct haq_memb *members, size_t n,
		   struct haq_xfer_result *r)
{
	struct haq_xfer_begin b;
	struct haq_memb *holders;
	size_t nh = 0;
	bool held = haq__xfer_holds(x);

	memset(r, 0, sizeof(*r));
	if (haq__xfer_begin_decode(body, len, &b) < 0) {
		return -EBADMSG;
	}
	if (b.view_id != x->view_id || x->id || passed_over(x, nodeid, pid)) {
		/* Stale, second, or from a member passed over. */
		r->bits = HAQ_XFER_IGNORED;
		return 0;
	}
	if (b.flags & HAQ_XFER_FLAG_EMPTY) {
		/* Nobody holds it: everyone keeps what it has. */
		if (assign(&x->S, &x->ns, members, n) < 0) {
			return -ENOMEM;
		}
		r->bits = HAQ_XFER_EMPTY;
		r->was_receiver = !held;
		x->known = true;
		x->nu = 0;
		return 0;
	}
	holders = malloc((b.nholders ? b.nholders : 1) * sizeof(*holders));
	if (!holders) {
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < b.nholders; i++) {
		uint32_t hn = haq__get_le32(b.holders + 8 * (size_t)i);
		uint32_t hp = haq__get_le32(b.holders + 8 * (size_t)i + 4);

		if (has(members, n, hn, hp)) {
			holders[nh++] = (struct haq_memb){.nodeid = hn,
							  .pid = hp};
		}
	}
	if (!has(holders, nh, nodeid, pid) || nh == n) {
		/* Not from a holder, or nobody left to receive. */
		free(holders);
		r->bits = HAQ_XFER_IGNORED;
		return 0;
	}
	free(x->S);
	x->S = holders;
	x->ns = nh;
	x->known = true;
	x->nu = 0;
	x->nr = 0;
	for (size_t i = 0; i < n; i++) {
		if (!has(x->S, x->ns, members[i].nodeid, members[i].pid) &&
		    add(&x->R, &x->nr, members[i].nodeid, members[i].pid) <
			    0) {
			return -ENOMEM;
		}
	}
	x->id = b.id;
	x->prov_nodeid = nodeid;
	x->prov_pid = pid;
	x->next_index = 0;
	x->bytes = 0;
	x->self_provides = is_self(x, nodeid, pid);
	x->self_receives = has(x->R, x->nr, x->self_nodeid, x->self_pid);
	r->bits = HAQ_XFER_STARTED;
	r->replace = x->self_receives && held;
	return 0;
}

/* Whether a frame of transfer id from (nodeid, pid) is the one under way. */
static bool
ours(const struct haq_xfer *x, uint64_t id, uint32_t nodeid, uint32_t pid)
{
	return x->id && id == x->id && nodeid == x->prov_nodeid &&
	       pid == x->prov_pid;
}

/*
 * The length a compressed CHUNK's payload claims once decompressed, from
 * its header alone (compress.h; the rules of haq__decompress_check(),
 * bounded by one chunk): 0 when it does not hold. Pure: every member
 * decides alike, whether it decompresses the data or not.
 */
static size_t
chunk_raw_len(const uint8_t *p, size_t len)
{
	uint64_t n;

	if (len <= HAQ_COMPRESS_HDR_LEN || p[0] != HAQ_CODEC_LZ4) {
		return 0;
	}
	n = haq__get_le64(p + 1);
	/* lz4 expands at most 255 times: a block too short is refused. */
	if (n == 0 || n > HAQ_XFER_CHUNK_MAX ||
	    n / 255 > len - HAQ_COMPRESS_HDR_LEN + 16) {
		return 0;
	}
	return (size_t)n;
}

int
haq__xfer_on_chunk(struct haq_xfer *x, uint32_t nodeid, uint32_t pid,
		   const uint8_t *body, size_t len, struct haq_xfer_result *r)
{
	uint64_t id;
	uint64_t index;
	uint64_t flags;
	size_t raw;

	memset(r, 0, sizeof(*r));
	if (len <= HAQ_XFER_CHUNK_HDR) {
		return -EBADMSG;
	}
	flags = haq__get_le64(body + 16);
	if (flags & ~(uint64_t)HAQ_XFER_CHUNK_LZ4) {
		return -EBADMSG;
	}
	id = haq__get_le64(body);
	index = haq__get_le64(body + 8);
	if (!id) {
		return -EBADMSG;
	}
	if (!ours(x, id, nodeid, pid)) {
		/* A transfer this process did not see begin, or a stray. */
		r->bits = HAQ_XFER_IGNORED;
		return 0;
	}
	raw = len - HAQ_XFER_CHUNK_HDR;
	if (flags & HAQ_XFER_CHUNK_LZ4) {
		raw = chunk_raw_len(body + HAQ_XFER_CHUNK_HDR, raw);
		if (!raw) {
			return -EBADMSG;
		}
	}
	if (index != x->next_index) {
		/* Out of order or again: every member stops it here. */
		return stop_passing_over(x, -EBADMSG, r);
	}
	x->next_index++;
	x->bytes += raw;
	if (x->self_receives) {
		r->bits = HAQ_XFER_DELIVER;
		r->data = body + HAQ_XFER_CHUNK_HDR;
		r->len = len - HAQ_XFER_CHUNK_HDR;
		r->compressed = (flags & HAQ_XFER_CHUNK_LZ4) != 0;
		r->raw_len = raw;
	}
	return 0;
}

int
haq__xfer_on_end(struct haq_xfer *x, uint32_t nodeid, uint32_t pid,
		 const uint8_t *body, size_t len, struct haq_xfer_result *r)
{
	struct haq_xfer_end e;

	memset(r, 0, sizeof(*r));
	if (haq__xfer_end_decode(body, len, &e) < 0) {
		return -EBADMSG;
	}
	if (!ours(x, e.id, nodeid, pid)) {
		r->bits = HAQ_XFER_IGNORED;
		return 0;
	}
	if (e.error) {
		return stop_passing_over(x, e.error, r);
	}
	if (e.chunks != x->next_index || e.bytes != x->bytes) {
		return stop_passing_over(x, -EBADMSG, r);
	}
	for (size_t i = 0; i < x->nr; i++) {
		if (add(&x->S, &x->ns, x->R[i].nodeid, x->R[i].pid) < 0) {
			return -ENOMEM;
		}
	}
	r->bits = HAQ_XFER_DONE;
	r->was_receiver = x->self_receives;
	r->was_provider = x->self_provides;
	x->id = 0;
	x->nr = 0;
	x->self_receives = false;
	x->self_provides = false;
	return 0;
}

int
haq__xfer_on_abort(struct haq_xfer *x, uint32_t nodeid, uint32_t pid,
		   const uint8_t *body, size_t len, struct haq_xfer_result *r)
{
	uint64_t id;
	int32_t error;

	(void)nodeid;
	(void)pid;
	memset(r, 0, sizeof(*r));
	if (haq__xfer_abort_decode(body, len, &id, &error) < 0) {
		return -EBADMSG;
	}
	if (!x->id || id != x->id) {
		r->bits = HAQ_XFER_IGNORED;
		return 0;
	}
	return stop_passing_over(x, error, r);
}

int
haq__xfer_on_giveup(struct haq_xfer *x, uint32_t nodeid, uint32_t pid,
		    const uint8_t *body, size_t len, struct haq_xfer_result *r)
{
	uint64_t id;
	int32_t error;

	memset(r, 0, sizeof(*r));
	if (haq__xfer_abort_decode(body, len, &id, &error) < 0) {
		return -EBADMSG;
	}
	if (id != x->id && has(x->S, x->ns, nodeid, pid) &&
	    !(x->id && nodeid == x->prov_nodeid && pid == x->prov_pid)) {
		/*
		 * It gave up before the END, which came first: it never held
		 * the state (its own process knows, and waits for this; it
		 * offers nothing meanwhile, so it provides nothing). Decided
		 * from S alone: a joiner that did not see that END agrees.
		 */
		drop(x->S, &x->ns, nodeid, pid);
		return 0;
	}
	if (!x->id || id != x->id || !has(x->R, x->nr, nodeid, pid)) {
		r->bits = HAQ_XFER_IGNORED;
		return 0;
	}
	drop(x->R, &x->nr, nodeid, pid);
	if (is_self(x, nodeid, pid)) {
		x->self_receives = false;
	}
	return 0;
}

bool
haq__xfer_needed(const struct haq_xfer *x, const struct haq_memb *members,
		 size_t n)
{
	if (!x->known || x->id) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (!has(x->S, x->ns, members[i].nodeid, members[i].pid)) {
			return true;
		}
	}
	return false;
}

bool
haq__xfer_lost(const struct haq_xfer *x)
{
	return x->known && !x->id && x->ns == 0 && x->nu == 0 && x->nm == 0;
}

int
haq__xfer_bid_rank(const struct haq_xfer *x, const struct haq_memb *members,
		   size_t n, uint32_t leader_nodeid, uint32_t leader_pid,
		   bool pending)
{
	bool all_passed = true;
	bool lead = false;
	int rank = 0;

	if (!haq__xfer_holds(x) || !haq__xfer_needed(x, members, n)) {
		return -1;
	}
	bool deferred = leader_nodeid &&
			has(x->U, x->nu, leader_nodeid, leader_pid);

	for (size_t i = 0; i < x->ns; i++) {
		if (!has(x->X, x->nx, x->S[i].nodeid, x->S[i].pid)) {
			all_passed = false;
		}
	}
	/* Every holder passed over: each gets another turn. */
#define PASSED(nd, pd) (!all_passed && has(x->X, x->nx, (nd), (pd)))
	if (leader_nodeid && has(x->S, x->ns, leader_nodeid, leader_pid) &&
	    !PASSED(leader_nodeid, leader_pid)) {
		lead = true;
		if (is_self(x, leader_nodeid, leader_pid)) {
			return 0;
		}
		rank = 1;
	} else if (pending || deferred) {
		/*
		 * The round names the leader first; or the leader came with
		 * a healed partition, whose side offers if it holds the
		 * state: this side offers only if it did not.
		 */
		rank = 1;
	}
	for (size_t i = 0; i < x->ns; i++) {
		const struct haq_memb *m = &x->S[i];

		if (PASSED(m->nodeid, m->pid) ||
		    (lead && m->nodeid == leader_nodeid &&
		     m->pid == leader_pid)) {
			continue;
		}
		if (is_self(x, m->nodeid, m->pid)) {
			return rank;
		}
		rank++;
	}
#undef PASSED
	return -1; /* passed over */
}

void
haq__xfer_reset(struct haq_xfer *x, struct haq_xfer_result *r)
{
	memset(r, 0, sizeof(*r));
	stop(x, -ENOTCONN, r);
	x->known = false;
	x->ns = 0;
	x->nu = 0;
	x->nx = 0;
	x->nm = 0;
	x->view_id = 0;
}

void
haq__xfer_free(struct haq_xfer *x)
{
	free(x->S);
	free(x->U);
	free(x->X);
	free(x->R);
	free(x->M);
	x->S = x->U = x->X = x->R = x->M = NULL;
	x->ns = x->nu = x->nx = x->nr = x->nm = 0;
}

/* ---------------------------------------------------------------- */
/* Frames                                                           */
/* ---------------------------------------------------------------- */

size_t
haq__xfer_begin_len(uint32_t nholders)
{
	return HAQ_XFER_BEGIN_FIXED + 8 * (size_t)nholders;
}

void
haq__xfer_begin_encode(uint64_t id, uint64_t view_id, uint32_t flags,
		       const struct haq_memb *holders, uint32_t n,
		       uint8_t *buf)
{
	haq__put_le64(buf, id);
	haq__put_le64(buf + 8, view_id);
	haq__put_le32(buf + 16, flags);
	haq__put_le32(buf + 20, n);
	for (uint32_t i = 0; i < n; i++) {
		haq__put_le32(buf + 24 + 8 * (size_t)i, holders[i].nodeid);
		haq__put_le32(buf + 28 + 8 * (size_t)i, holders[i].pid);
	}
}

int
haq__xfer_begin_decode(const uint8_t *buf, size_t len,
		       struct haq_xfer_begin *b)
{
	uint32_t pn = 0;
	uint32_t pp = 0;

	if (len < HAQ_XFER_BEGIN_FIXED) {
		return -EBADMSG;
	}
	b->id = haq__get_le64(buf);
	b->view_id = haq__get_le64(buf + 8);
	b->flags = haq__get_le32(buf + 16);
	b->nholders = haq__get_le32(buf + 20);
	b->holders = buf + HAQ_XFER_BEGIN_FIXED;
	if (!b->id || (b->flags & ~(uint32_t)HAQ_XFER_FLAG_EMPTY) ||
	    b->nholders > HAQ_XFER_MEMBERS_MAX ||
	    len != haq__xfer_begin_len(b->nholders) ||
	    ((b->flags & HAQ_XFER_FLAG_EMPTY) != 0) != (b->nholders == 0)) {
		return -EBADMSG;
	}
	/* Holders strictly ascending, none zero. */
	for (uint32_t i = 0; i < b->nholders; i++) {
		uint32_t hn = haq__get_le32(b->holders + 8 * (size_t)i);
		uint32_t hp = haq__get_le32(b->holders + 8 * (size_t)i + 4);

		if (!hn || (i && haq__id_cmp(pn, pp, hn, hp) >= 0)) {
			return -EBADMSG;
		}
		pn = hn;
		pp = hp;
	}
	return 0;
}

void
haq__xfer_chunk_hdr_encode(uint64_t id, uint64_t index, uint32_t flags,
			   uint8_t *buf)
{
	haq__put_le64(buf, id);
	haq__put_le64(buf + 8, index);
	haq__put_le64(buf + 16, flags);
}

void
haq__xfer_end_encode(const struct haq_xfer_end *e, uint8_t *buf)
{
	haq__put_le64(buf, e->id);
	haq__put_le64(buf + 8, e->chunks);
	haq__put_le64(buf + 16, e->bytes);
	haq__put_le32(buf + 24, (uint32_t)e->error);
	haq__put_le32(buf + 28, 0);
}

/* A peer's errno: negative and plausible, or 0 where allowed. */
static bool
errno_ok(int32_t error, bool zero_ok)
{
	return (zero_ok && error == 0) || (error < 0 && error > -4096);
}

int
haq__xfer_end_decode(const uint8_t *buf, size_t len, struct haq_xfer_end *e)
{
	if (len != HAQ_XFER_END_LEN || haq__get_le32(buf + 28) != 0) {
		return -EBADMSG;
	}
	e->id = haq__get_le64(buf);
	e->chunks = haq__get_le64(buf + 8);
	e->bytes = haq__get_le64(buf + 16);
	e->error = (int32_t)haq__get_le32(buf + 24);
	if (!e->id || !errno_ok(e->error, true) || e->bytes < e->chunks) {
		return -EBADMSG;
	}
	return 0;
}

void
haq__xfer_abort_encode(uint64_t id, int32_t error, uint8_t *buf)
{
	haq__put_le64(buf, id);
	haq__put_le32(buf + 8, (uint32_t)error);
	haq__put_le32(buf + 12, 0);
}

int
haq__xfer_abort_decode(const uint8_t *buf, size_t len, uint64_t *id,
		       int32_t *error)
{
	if (len != HAQ_XFER_ABORT_LEN || haq__get_le32(buf + 12) != 0) {
		return -EBADMSG;
	}
	*id = haq__get_le64(buf);
	*error = (int32_t)haq__get_le32(buf + 8);
	if (!*id || !errno_ok(*error, false)) {
		return -EBADMSG;
	}
	return 0;
}
