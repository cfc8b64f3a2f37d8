/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The lock table (lock.h): the same operations in the same order give
 * every member the same table.
 */
#include "lock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"

/* Bytes of one holder and of one waiter in an encoded table. */
#define ENC_HOLDER 24
#define ENC_WAITER 24

bool
haq__lock_name_ok(const char *name, size_t nlen)
{
	return name && nlen >= 1 && nlen <= HAQ_LOCK_NAME_MAX_ &&
	       !memchr(name, '\0', nlen);
}

void
haq__lock_table_init(struct haq_lock_table *t)
{
	memset(t, 0, sizeof(*t));
}

void
haq__lock_table_free(struct haq_lock_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->locks[i].waiters);
	}
	free(t->locks);
	t->locks = NULL;
	t->n = 0;
	t->cap = 0;
	t->entries = 0;
}

/* Names in order: shorter first, then bytes. */
static int
name_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	if (an != bn) {
		return an < bn ? -1 : 1;
	}
	return memcmp(a, b, an);
}

/* 1 and the index when present, else 0 and where it would go. */
static int
search(const struct haq_lock_table *t, const char *name, size_t nlen,
       size_t *pos)
{
	size_t lo = 0;
	size_t hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = name_cmp(name, nlen, t->locks[mid].name,
				 t->locks[mid].nlen);

		if (c == 0) {
			*pos = mid;
			return 1;
		}
		if (c < 0) {
			hi = mid;
		} else {
			lo = mid + 1;
		}
	}
	*pos = lo;
	return 0;
}

const struct haq_lock *
haq__lock_find(const struct haq_lock_table *t, const char *name, size_t nlen)
{
	size_t pos;

	return search(t, name, nlen, &pos) ? &t->locks[pos] : NULL;
}

/* A new empty lock at pos; NULL when out of memory. */
static struct haq_lock *
insert(struct haq_lock_table *t, size_t pos, const char *name, size_t nlen)
{
	struct haq_lock *l;

	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 8;
		struct haq_lock *p = realloc(t->locks, cap * sizeof(*p));

		if (!p) {
			return NULL;
		}
		t->locks = p;
		t->cap = cap;
	}
	memmove(&t->locks[pos + 1], &t->locks[pos],
		(t->n - pos) * sizeof(*t->locks));
	t->n++;
	l = &t->locks[pos];
	memset(l, 0, sizeof(*l));
	memcpy(l->name, name, nlen);
	l->nlen = (uint8_t)nlen;
	return l;
}

/* Drop lock pos if nobody holds or waits for it. */
static void
drop_if_idle(struct haq_lock_table *t, size_t pos)
{
	struct haq_lock *l = &t->locks[pos];

	if (l->held || l->nwait) {
		return;
	}
	free(l->waiters);
	memmove(l, l + 1, (t->n - pos - 1) * sizeof(*l));
	t->n--;
}

static bool
same(const struct haq_lock_entry *e, uint32_t nodeid, uint32_t pid)
{
	return e->nodeid == nodeid && e->pid == pid;
}

static void
emit(haq_lock_event_fn fn, void *arg, int what, const struct haq_lock *l,
     const struct haq_lock_entry *who, uint64_t token)
{
	struct haq_lock_event ev = {
		.what = what,
		.name = l->name,
		.who = *who,
		.token = token,
	};

	if (fn) {
		fn(arg, &ev);
	}
}

/* Give free lock l to its first waiter. */
static void
grant_next(struct haq_lock_table *t, struct haq_lock *l, haq_lock_event_fn fn,
	   void *arg)
{
	struct haq_lock_entry w;
	uint64_t token;

	/*
	 * No token is left above the last one (a peer's clock or table said
	 * UINT64_MAX): one more would wrap to 0 and go back, and no member
	 * could decode the table. Waiters wait; every member does the same.
	 */
	if (l->held || !l->nwait || t->last_token == UINT64_MAX) {
		return;
	}
	w = l->waiters[0];
	memmove(&l->waiters[0], &l->waiters[1],
		(l->nwait - 1) * sizeof(*l->waiters));
	l->nwait--;
	token = t->last_token + 1;
	if (w.clock_us > token) {
		token = w.clock_us;
	}
	t->last_token = token;
	l->held = true;
	l->holder = w;
	l->holder.clock_us = 0;
	l->token = token;
	emit(fn, arg, HAQ_LOCK_EV_GRANTED, l, &l->holder, token);
}

int
haq__lock_acquire(struct haq_lock_table *t, uint32_t nodeid, uint32_t pid,
		  const struct haq_lock_op *op, bool grant,
		  haq_lock_event_fn fn, void *arg)
{
	struct haq_lock_entry who = {nodeid, pid, op->req, op->clock_us};
	struct haq_lock *l;
	size_t pos;

	if (search(t, op->name, op->nlen, &pos)) {
		l = &t->locks[pos];
		if (l->held && same(&l->holder, nodeid, pid)) {
			return -EALREADY;
		}
		for (size_t i = 0; i < l->nwait; i++) {
			if (same(&l->waiters[i], nodeid, pid)) {
				return -EALREADY;
			}
		}
	} else {
		l = NULL;
	}
	/* Tokens spent (grant_next()): the table may not grant. */
	if (t->last_token == UINT64_MAX) {
		grant = false;
	}
	if (op->try_ && (!grant || (l && (l->held || l->nwait)))) {
		struct haq_lock tmp = {.nlen = (uint8_t)op->nlen};

		memcpy(tmp.name, op->name, op->nlen);
		emit(fn, arg, grant ? HAQ_LOCK_EV_BUSY : HAQ_LOCK_EV_NOQUORUM,
		     &tmp, &who, 0);
		return 0;
	}
	if (t->entries >= HAQ_LOCK_ENTRIES_MAX_) {
		struct haq_lock tmp = {.nlen = (uint8_t)op->nlen};

		memcpy(tmp.name, op->name, op->nlen);
		emit(fn, arg, HAQ_LOCK_EV_FULL, &tmp, &who, 0);
		return 0;
	}
	if (!l) {
		l = insert(t, pos, op->name, op->nlen);
		if (!l) {
			return -ENOMEM;
		}
	}
	if (l->nwait == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 4;
		struct haq_lock_entry *p =
			realloc(l->waiters, cap * sizeof(*p));

		if (!p) {
			drop_if_idle(t, pos);
			return -ENOMEM;
		}
		l->waiters = p;
		l->cap = cap;
	}
	l->waiters[l->nwait++] = who;
	t->entries++;
	if (grant) {
		grant_next(t, l, fn, arg);
	}
	return 0;
}

int
haq__lock_release(struct haq_lock_table *t, uint32_t nodeid, uint32_t pid,
		  const struct haq_lock_op *op, bool grant,
		  haq_lock_event_fn fn, void *arg)
{
	struct haq_lock *l;
	size_t pos;

	if (!search(t, op->name, op->nlen, &pos)) {
		return -ENOENT;
	}
	l = &t->locks[pos];
	if (l->held && same(&l->holder, nodeid, pid) &&
	    l->holder.req == op->req) {
		l->held = false;
		t->entries--;
		if (grant) {
			grant_next(t, l, fn, arg);
		}
		drop_if_idle(t, pos);
		return 0;
	}
	for (size_t i = 0; i < l->nwait; i++) {
		if (same(&l->waiters[i], nodeid, pid) &&
		    l->waiters[i].req == op->req) {
			memmove(&l->waiters[i], &l->waiters[i + 1],
				(l->nwait - i - 1) * sizeof(*l->waiters));
			l->nwait--;
			t->entries--;
			drop_if_idle(t, pos);
			return 0;
		}
	}
	return -ENOENT;
}

static bool
member(const struct haq_memb *members, size_t n,
       const struct haq_lock_entry *e)
{
	size_t pos;

	return n && haq__id_search(members, n, sizeof(*members), e->nodeid,
				   e->pid, &pos);
}

/*
 * Idle locks are dropped as the table is compacted in this one pass: one
 * drop_if_idle() per lock would move the rest of the table each time,
 * quadratic in the locks of a leaver (every member, at every view).
 */
void
haq__lock_purge(struct haq_lock_table *t, const struct haq_memb *members,
		size_t n, bool grant, haq_lock_event_fn fn, void *arg)
{
	size_t kept = 0;

	for (size_t i = 0; i < t->n; i++) {
		struct haq_lock *l = &t->locks[i];
		size_t k = 0;

		if (l->held && !member(members, n, &l->holder)) {
			l->held = false;
			t->entries--;
		}
		for (size_t j = 0; j < l->nwait; j++) {
			if (member(members, n, &l->waiters[j])) {
				l->waiters[k++] = l->waiters[j];
			} else {
				t->entries--;
			}
		}
		l->nwait = k;
		if (grant) {
			grant_next(t, l, fn, arg);
		}
		if (!l->held && !l->nwait) {
			free(l->waiters);
			continue;
		}
		if (kept != i) {
			t->locks[kept] = *l;
		}
		kept++;
	}
	t->n = kept;
}

/* ---------------------------------------------------------------- */
/* The encoded table                                                */
/* ---------------------------------------------------------------- */

size_t
haq__lock_encoded_len(const struct haq_lock_table *t)
{
	size_t len = 4;

	for (size_t i = 0; i < t->n; i++) {
		const struct haq_lock *l = &t->locks[i];

		len += 1 + l->nlen + 1 + (l->held ? ENC_HOLDER : 0) + 4 +
		       l->nwait * ENC_WAITER;
	}
	return len;
}

void
haq__lock_encode(const struct haq_lock_table *t, uint8_t *buf)
{
	uint8_t *p = buf;

	haq__put_le32(p, (uint32_t)t->n);
	p += 4;
	for (size_t i = 0; i < t->n; i++) {
		const struct haq_lock *l = &t->locks[i];

		*p++ = l->nlen;
		memcpy(p, l->name, l->nlen);
		p += l->nlen;
		*p++ = l->held;
		if (l->held) {
			haq__put_le32(p, l->holder.nodeid);
			haq__put_le32(p + 4, l->holder.pid);
			haq__put_le64(p + 8, l->holder.req);
			haq__put_le64(p + 16, l->token);
			p += ENC_HOLDER;
		}
		haq__put_le32(p, (uint32_t)l->nwait);
		p += 4;
		for (size_t j = 0; j < l->nwait; j++) {
			const struct haq_lock_entry *w = &l->waiters[j];

			haq__put_le32(p, w->nodeid);
			haq__put_le32(p + 4, w->pid);
			haq__put_le64(p + 8, w->req);
			haq__put_le64(p + 16, w->clock_us);
			p += ENC_WAITER;
		}
	}
}

/* Whether (nodeid, pid) is already in lock l. */
static bool
in_lock(const struct haq_lock *l, uint32_t nodeid, uint32_t pid)
{
	if (l->held && same(&l->holder, nodeid, pid)) {
		return true;
	}
	for (size_t j = 0; j < l->nwait; j++) {
		if (same(&l->waiters[j], nodeid, pid)) {
			return true;
		}
	}
	return false;
}

int
haq__lock_decode(struct haq_lock_table *t, const uint8_t *buf, size_t len,
		 uint64_t last_token)
{
	const uint8_t *p = buf;
	const uint8_t *end = buf + len;
	uint32_t n;

	if (len < 4) {
		return -EBADMSG;
	}
	n = haq__get_le32(p);
	p += 4;
	/* Every lock takes at least 6 bytes: no allocation beyond the frame. */
	if (n > (size_t)(end - p) / 6 || n > HAQ_LOCK_ENTRIES_MAX_) {
		return -EBADMSG;
	}
	t->last_token = last_token;
	for (uint32_t i = 0; i < n; i++) {
		struct haq_lock *l;
		uint32_t nwait;
		size_t nlen;
		size_t pos;
		bool held;

		if (end - p < 1) {
			goto bad;
		}
		nlen = *p++;
		if ((size_t)(end - p) < nlen + 1 ||
		    !haq__lock_name_ok((const char *)p, nlen)) {
			goto bad;
		}
		/* In order and each once: the new one goes last. */
		if (search(t, (const char *)p, nlen, &pos) || pos != t->n) {
			goto bad;
		}
		l = insert(t, pos, (const char *)p, nlen);
		if (!l) {
			haq__lock_table_free(t);
			return -ENOMEM;
		}
		p += nlen;
		if (*p > 1) {
			goto bad;
		}
		held = *p++;
		if (held) {
			if (end - p < ENC_HOLDER) {
				goto bad;
			}
			l->held = true;
			l->holder.nodeid = haq__get_le32(p);
			l->holder.pid = haq__get_le32(p + 4);
			l->holder.req = haq__get_le64(p + 8);
			l->token = haq__get_le64(p + 16);
			p += ENC_HOLDER;
			if (!l->holder.req || !l->token ||
			    l->token > last_token) {
				goto bad;
			}
			t->entries++;
		}
		if (end - p < 4) {
			goto bad;
		}
		nwait = haq__get_le32(p);
		p += 4;
		if (nwait > (size_t)(end - p) / ENC_WAITER ||
		    t->entries + nwait > HAQ_LOCK_ENTRIES_MAX_ ||
		    (!held && !nwait)) {
			goto bad;
		}
		if (nwait) {
			l->waiters = calloc(nwait, sizeof(*l->waiters));
			if (!l->waiters) {
				haq__lock_table_free(t);
				return -ENOMEM;
			}
			l->cap = nwait;
		}
		for (uint32_t j = 0; j < nwait; j++) {
			struct haq_lock_entry w = {
				.nodeid = haq__get_le32(p),
				.pid = haq__get_le32(p + 4),
				.req = haq__get_le64(p + 8),
				.clock_us = haq__get_le64(p + 16),
			};

			p += ENC_WAITER;
			if (!w.req || in_lock(l, w.nodeid, w.pid)) {
				goto bad;
			}
			l->waiters[l->nwait++] = w;
			t->entries++;
		}
	}
	if (p != end) {
		goto bad;
	}
	return 0;
bad:
	haq__lock_table_free(t);
	t->last_token = 0;
	return -EBADMSG;
}

/* ---------------------------------------------------------------- */
/* Frames                                                           */
/* ---------------------------------------------------------------- */

size_t
haq__lock_encode_acquire(uint8_t *buf, uint8_t type, bool try_, uint64_t req,
			 uint64_t clock_us, const char *name, size_t nlen)
{
	memset(buf, 0, HAQ_LOCK_ACQUIRE_HDR);
	buf[0] = type;
	buf[1] = try_ ? HAQ_LOCK_F_TRY : 0;
	buf[2] = (uint8_t)nlen;
	haq__put_le64(buf + 8, req);
	haq__put_le64(buf + 16, clock_us);
	memcpy(buf + HAQ_LOCK_ACQUIRE_HDR, name, nlen);
	return HAQ_LOCK_ACQUIRE_HDR + nlen;
}

size_t
haq__lock_encode_release(uint8_t *buf, uint8_t type, uint64_t req,
			 const char *name, size_t nlen)
{
	memset(buf, 0, HAQ_LOCK_RELEASE_HDR);
	buf[0] = type;
	buf[2] = (uint8_t)nlen;
	haq__put_le64(buf + 8, req);
	memcpy(buf + HAQ_LOCK_RELEASE_HDR, name, nlen);
	return HAQ_LOCK_RELEASE_HDR + nlen;
}

static bool
zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i]) {
			return false;
		}
	}
	return true;
}

int
haq__lock_decode_acquire(const uint8_t *c, size_t len, struct haq_lock_op *op)
{
	size_t nlen;

	if (len < HAQ_LOCK_ACQUIRE_HDR || (c[1] & ~HAQ_LOCK_F_TRY) ||
	    !zero(c + 3, 5)) {
		return -EBADMSG;
	}
	nlen = c[2];
	if (len != HAQ_LOCK_ACQUIRE_HDR + nlen ||
	    !haq__lock_name_ok((const char *)c + HAQ_LOCK_ACQUIRE_HDR, nlen)) {
		return -EBADMSG;
	}
	op->try_ = c[1] & HAQ_LOCK_F_TRY;
	op->req = haq__get_le64(c + 8);
	op->clock_us = haq__get_le64(c + 16);
	op->name = (const char *)c + HAQ_LOCK_ACQUIRE_HDR;
	op->nlen = nlen;
	return op->req ? 0 : -EBADMSG;
}

int
haq__lock_decode_release(const uint8_t *c, size_t len, struct haq_lock_op *op)
{
	size_t nlen;

	if (len < HAQ_LOCK_RELEASE_HDR || c[1] || !zero(c + 3, 5)) {
		return -EBADMSG;
	}
	nlen = c[2];
	if (len != HAQ_LOCK_RELEASE_HDR + nlen ||
	    !haq__lock_name_ok((const char *)c + HAQ_LOCK_RELEASE_HDR, nlen)) {
		return -EBADMSG;
	}
	op->try_ = false;
	op->req = haq__get_le64(c + 8);
	op->clock_us = 0;
	op->name = (const char *)c + HAQ_LOCK_RELEASE_HDR;
	op->nlen = nlen;
	return op->req ? 0 : -EBADMSG;
}

void
haq__lock_encode_sync_hdr(uint8_t *buf, uint8_t type, bool valid,
			  bool restart, uint16_t round, uint64_t view_id,
			  uint64_t last_token)
{
	memset(buf, 0, HAQ_LOCK_SYNC_HDR);
	buf[0] = type;
	buf[1] = (uint8_t)((valid ? HAQ_LOCK_SYNC_VALID : 0) |
			   (restart ? HAQ_LOCK_SYNC_RESTART : 0));
	haq__put_le16(buf + 2, round);
	haq__put_le64(buf + 8, view_id);
	haq__put_le64(buf + 16, last_token);
}

int
haq__lock_decode_sync_hdr(const uint8_t *c, size_t len, bool *valid,
			  bool *restart, uint16_t *round, uint64_t *view_id,
			  uint64_t *last_token)
{
	if (len < HAQ_LOCK_SYNC_HDR ||
	    (c[1] & ~(HAQ_LOCK_SYNC_VALID | HAQ_LOCK_SYNC_RESTART)) ||
	    !zero(c + 4, 4)) {
		return -EBADMSG;
	}
	*valid = c[1] & HAQ_LOCK_SYNC_VALID;
	*restart = c[1] & HAQ_LOCK_SYNC_RESTART;
	*round = haq__get_le16(c + 2);
	*view_id = haq__get_le64(c + 8);
	*last_token = haq__get_le64(c + 16);
	/* An invalid table is told by its header alone. */
	if (!*valid && len != HAQ_LOCK_SYNC_HDR) {
		return -EBADMSG;
	}
	return 0;
}
