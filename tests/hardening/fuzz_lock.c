/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the lock table (libhaq/lock.c): the decoders of
 * its frames (ACQUIRE, RELEASE, the SYNC header) and of an encoded table,
 * and the table they drive.
 *
 * One member's table, in a view of up to six processes (node i + 1, pid
 * 100 (i + 1)), and whether the table may grant (as group_lock.c: a view
 * that may not grant holds grants back, one that may grants every free
 * lock with a waiter). The input is a sequence of operations, one byte
 * each (low 3 bits: the kind; args = the other 5 bits, who = args % 6):
 *   0  an ACQUIRE by who: one more byte, bits 0-2 the name (one of
 *      eight, the longest allowed among them), bit 3 try, bits 4-5 the
 *      clock: 0, a little above the last token (bits 6-7), the next 8
 *      input bytes, a real wall clock; a new request id
 *   1  a RELEASE: one more byte; bit 7 clear and a table not empty: of
 *      entry args of lock (bits 0-6) % locks (it must succeed); else by
 *      who of request (bits 0-6) of name (bits 0-2)
 *   2  a raw ACQUIRE: one more byte (its length), then that many bytes,
 *      copied into a buffer of exactly that length; what decodes must
 *      encode back to the same bytes, and is applied from who
 *   3  a raw RELEASE (as 2)
 *   4  a view: one more byte, bit i: node i + 1 is in it; the table may
 *      grant after it when args is odd; leavers are purged
 *   5  a raw table: 8 bytes of last token, two bytes of length (le16,
 *      below 2048), that many bytes; what decodes must encode back to the
 *      same bytes and hold every promise below; adopted when args is odd
 *      (then purged as after a view, as group_lock.c's settle())
 *   6  a raw SYNC (as 5, without the 8 bytes): the header decoded and
 *      encoded back; a valid one's table as 5, with its last token
 *   7  the table adopted through its own encoding (the last token raised
 *      by args when args is odd)
 * After every operation, checked against the table before it: an acquire
 * says -EALREADY exactly when the process was in the lock; a release
 * succeeds exactly when the request was the holder or a waiter; a refusal
 * (BUSY, NOQUORUM, FULL) answers the asker and changes nothing; at most
 * one grant per lock, to a waiter (or the asker), only when the holder
 * before went, with a token above the last token before and not below the
 * waiter's clock; the table's promises (names in order and once, no idle
 * lock, a process once per lock, holders' tokens in 1..last token,
 * entries the sum); no free lock with waiters while the table may grant
 * (unless its tokens are spent); its encoding decodes to the same table.
 * A violation traps. A full table (HAQ_LOCK_ENTRIES_MAX_) is check_lock's:
 * filling one makes an input a hundred times slower, and the fuzzer found
 * less in the same time.
 *
 * clang -g -O1 -fsanitize=fuzzer,address,undefined -I include -I libhaq \
 *	tests/hardening/fuzz_lock.c libhaq/lock.c
 */
#include "lock.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what, int line)
{
	fprintf(stderr, "fuzz_lock.c:%d: broken: %s\n", line, what);
	__builtin_trap();
}

#define REQUIRE(cond)                                                          \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fail(#cond, __LINE__);                                 \
		}                                                              \
	} while (0)

#define NMEMB 6
/* Frame type bytes: the decoders do not look at them. */
#define T_ACQUIRE 30
#define T_RELEASE 31
#define T_SYNC 33

static const char *const names[8] = {
	"a",
	"b",
	"c",
	"aa",
	"lock",
	"\xff",
	"\x7f\x01",
	"0123456789012345678901234567890123456789012345678901234567890123",
};

struct ev {
	int what;
	char name[HAQ_LOCK_NAME_MAX_ + 1];
	struct haq_lock_entry who;
	uint64_t token;
};

struct world {
	struct haq_lock_table t;
	struct haq_memb view[NMEMB];
	size_t nview;
	bool grant;
	uint64_t next_req;
	/* The events of the current operation. */
	struct ev *ev;
	size_t nev;
	size_t evcap;
};

static void
collect(void *arg, const struct haq_lock_event *e)
{
	struct world *w = arg;
	struct ev *v;

	REQUIRE(e->name && strlen(e->name) <= HAQ_LOCK_NAME_MAX_);
	if (w->nev == w->evcap) {
		size_t cap = w->evcap ? 2 * w->evcap : 16;
		struct ev *p = realloc(w->ev, cap * sizeof(*p));

		REQUIRE(p);
		w->ev = p;
		w->evcap = cap;
	}
	v = &w->ev[w->nev++];
	v->what = e->what;
	strcpy(v->name, e->name);
	v->who = e->who;
	v->token = e->token;
}

static const struct haq_lock *
find(const struct haq_lock_table *t, const char *name)
{
	return haq__lock_find(t, name, strlen(name));
}

static bool
same_id(const struct haq_lock_entry *e, uint32_t nodeid, uint32_t pid)
{
	return e->nodeid == nodeid && e->pid == pid;
}

/* Every promise of lock.h about a table. */
static void
check_table(const struct haq_lock_table *t, bool grant)
{
	size_t entries = 0;

	REQUIRE(t->n <= t->cap);
	REQUIRE(t->n || !t->entries);
	for (size_t i = 0; i < t->n; i++) {
		const struct haq_lock *l = &t->locks[i];

		REQUIRE(haq__lock_name_ok(l->name, l->nlen));
		REQUIRE(l->name[l->nlen] == '\0');
		if (i) {
			const struct haq_lock *p = &t->locks[i - 1];

			REQUIRE(p->nlen < l->nlen ||
				(p->nlen == l->nlen &&
				 memcmp(p->name, l->name, l->nlen) < 0));
		}
		REQUIRE(l->held || l->nwait);
		REQUIRE(l->nwait <= l->cap);
		if (l->held) {
			REQUIRE(l->holder.req != 0);
			REQUIRE(l->token != 0 && l->token <= t->last_token);
			entries++;
		}
		if (grant && t->last_token != UINT64_MAX) {
			REQUIRE(l->held);
		}
		for (size_t j = 0; j < l->nwait; j++) {
			const struct haq_lock_entry *e = &l->waiters[j];

			REQUIRE(e->req != 0);
			REQUIRE(!l->held ||
				!same_id(&l->holder, e->nodeid, e->pid));
			for (size_t k = 0; k < j; k++) {
				REQUIRE(!same_id(&l->waiters[k], e->nodeid,
						 e->pid));
			}
			entries++;
		}
		REQUIRE(haq__lock_find(t, l->name, l->nlen) == l);
	}
	REQUIRE(entries == t->entries);
	REQUIRE(entries <= HAQ_LOCK_ENTRIES_MAX_);
}

/* t's encoding, which must decode to a table that encodes the same. */
static uint8_t *
encode(const struct haq_lock_table *t, size_t *len)
{
	uint8_t *b;

	*len = haq__lock_encoded_len(t);
	b = malloc(*len);
	REQUIRE(b);
	haq__lock_encode(t, b);
	return b;
}

/* A copy of t through its encoding, checked equal to t. */
static void
copy_table(struct haq_lock_table *dst, const struct haq_lock_table *t)
{
	size_t len;
	size_t len2;
	uint8_t *b = encode(t, &len);
	uint8_t *b2;

	haq__lock_table_init(dst);
	REQUIRE(haq__lock_decode(dst, b, len, t->last_token) == 0);
	REQUIRE(dst->n == t->n && dst->entries == t->entries &&
		dst->last_token == t->last_token);
	b2 = encode(dst, &len2);
	REQUIRE(len2 == len && memcmp(b, b2, len) == 0);
	for (size_t i = 0; i < t->n; i++) {
		/* A free lock's token is stale: not encoded, not read. */
		REQUIRE(dst->locks[i].held == t->locks[i].held &&
			(!t->locks[i].held ||
			 dst->locks[i].token == t->locks[i].token) &&
			dst->locks[i].nwait == t->locks[i].nwait);
	}
	free(b);
	free(b2);
}

static bool
same_table(const struct haq_lock_table *a, const struct haq_lock_table *b)
{
	size_t alen;
	size_t blen;
	uint8_t *ab = encode(a, &alen);
	uint8_t *bb = encode(b, &blen);
	bool same = alen == blen && !memcmp(ab, bb, alen) &&
		    a->last_token == b->last_token;

	free(ab);
	free(bb);
	return same;
}

static const struct haq_lock_entry *
waiter_of(const struct haq_lock_table *t, const char *name,
	  const struct haq_lock_entry *who)
{
	const struct haq_lock *l = find(t, name);

	for (size_t i = 0; l && i < l->nwait; i++) {
		if (same_id(&l->waiters[i], who->nodeid, who->pid) &&
		    l->waiters[i].req == who->req) {
			return &l->waiters[i];
		}
	}
	return NULL;
}

/* The events of one operation, against the table before it. */
static void
check_events(const struct world *w, const struct haq_lock_table *before,
	     const struct haq_lock_entry *asker)
{
	const struct haq_lock_table *after = &w->t;
	uint64_t last = before->last_token;
	const char *prev = NULL;

	for (size_t i = 0; i < w->nev; i++) {
		const struct ev *e = &w->ev[i];
		const struct haq_lock *was = find(before, e->name);
		const struct haq_lock *now = find(after, e->name);
		const struct haq_lock_entry *wt;
		uint64_t clock_us;

		if (e->what != HAQ_LOCK_EV_GRANTED) {
			REQUIRE(e->what == HAQ_LOCK_EV_BUSY ||
				e->what == HAQ_LOCK_EV_NOQUORUM ||
				e->what == HAQ_LOCK_EV_FULL);
			REQUIRE(asker && w->nev == 1 && e->token == 0);
			REQUIRE(!memcmp(&e->who, asker, sizeof(*asker)));
			REQUIRE(same_table(before, after));
			continue;
		}
		/* One grant per lock, in name order (a purge's). */
		if (prev) {
			size_t pn = strlen(prev);
			size_t en = strlen(e->name);

			REQUIRE(pn < en ||
				(pn == en && memcmp(prev, e->name, en) < 0));
		}
		prev = e->name;
		wt = waiter_of(before, e->name, &e->who);
		if (wt) {
			clock_us = wt->clock_us;
		} else {
			REQUIRE(asker &&
				!memcmp(&e->who, asker,
					sizeof(*asker) - sizeof(uint64_t)));
			clock_us = asker->clock_us;
		}
		REQUIRE(e->who.clock_us == 0);
		REQUIRE(e->token > last && e->token >= clock_us);
		last = e->token;
		if (was && was->held) {
			REQUIRE(!same_id(&was->holder, e->who.nodeid,
					 e->who.pid));
		}
		REQUIRE(now && now->held && now->token == e->token &&
			same_id(&now->holder, e->who.nodeid, e->who.pid) &&
			now->holder.req == e->who.req);
	}
	REQUIRE(after->last_token == last);
}

static void
begin(struct world *w, struct haq_lock_table *before)
{
	copy_table(before, &w->t);
	w->nev = 0;
}

static void
end(struct world *w, struct haq_lock_table *before,
    const struct haq_lock_entry *asker)
{
	check_events(w, before, asker);
	haq__lock_table_free(before);
	w->nev = 0;
}

static bool
in_lock(const struct haq_lock *l, uint32_t nodeid, uint32_t pid)
{
	if (!l) {
		return false;
	}
	if (l->held && same_id(&l->holder, nodeid, pid)) {
		return true;
	}
	for (size_t i = 0; i < l->nwait; i++) {
		if (same_id(&l->waiters[i], nodeid, pid)) {
			return true;
		}
	}
	return false;
}

static void
do_acquire(struct world *w, uint32_t nodeid, uint32_t pid,
	   const struct haq_lock_op *op)
{
	struct haq_lock_table before;
	struct haq_lock_entry asker = {nodeid, pid, op->req, op->clock_us};
	char name[HAQ_LOCK_NAME_MAX_ + 1];
	const struct haq_lock *was;
	const struct haq_lock *now;
	int rc;

	memcpy(name, op->name, op->nlen);
	name[op->nlen] = '\0';
	begin(w, &before);
	was = find(&before, name);
	rc = haq__lock_acquire(&w->t, nodeid, pid, op, w->grant, collect, w);
	REQUIRE(rc == 0 || rc == -EALREADY);
	REQUIRE((rc == -EALREADY) == in_lock(was, nodeid, pid));
	if (rc == -EALREADY) {
		REQUIRE(w->nev == 0 && same_table(&before, &w->t));
	} else if (w->nev == 0 ||
		   w->ev[w->nev - 1].what == HAQ_LOCK_EV_GRANTED) {
		/* Taken: it holds, or waits last. */
		now = find(&w->t, name);
		REQUIRE(now);
		REQUIRE((now->held && same_id(&now->holder, nodeid, pid) &&
			 now->holder.req == op->req) ||
			(now->nwait && !memcmp(&now->waiters[now->nwait - 1],
					       &asker, sizeof(asker))));
		REQUIRE(w->t.entries == before.entries + 1);
		REQUIRE(!op->try_ || w->nev == 1);
	}
	end(w, &before, &asker);
}

static void
do_release(struct world *w, uint32_t nodeid, uint32_t pid,
	   const struct haq_lock_op *op)
{
	struct haq_lock_table before;
	char name[HAQ_LOCK_NAME_MAX_ + 1];
	const struct haq_lock *was;
	bool there = false;
	int rc;

	memcpy(name, op->name, op->nlen);
	name[op->nlen] = '\0';
	begin(w, &before);
	was = find(&before, name);
	if (was) {
		there = was->held && same_id(&was->holder, nodeid, pid) &&
			was->holder.req == op->req;
		for (size_t i = 0; i < was->nwait; i++) {
			there |= same_id(&was->waiters[i], nodeid, pid) &&
				 was->waiters[i].req == op->req;
		}
	}
	rc = haq__lock_release(&w->t, nodeid, pid, op, w->grant, collect, w);
	REQUIRE(rc == 0 || rc == -ENOENT);
	REQUIRE((rc == 0) == there);
	if (rc) {
		REQUIRE(w->nev == 0 && same_table(&before, &w->t));
	} else {
		REQUIRE(!in_lock(find(&w->t, name), nodeid, pid));
		REQUIRE(w->t.entries == before.entries - 1);
	}
	end(w, &before, NULL);
}

static void
do_purge(struct world *w)
{
	struct haq_lock_table before;

	begin(w, &before);
	haq__lock_purge(&w->t, w->view, w->nview, w->grant, collect, w);
	for (size_t i = 0; i < w->t.n; i++) {
		const struct haq_lock *l = &w->t.locks[i];
		size_t pos;

		if (l->held) {
			REQUIRE(haq__id_search(
				w->view, w->nview, sizeof(*w->view),
				l->holder.nodeid, l->holder.pid, &pos));
		}
		for (size_t j = 0; j < l->nwait; j++) {
			REQUIRE(haq__id_search(
				w->view, w->nview, sizeof(*w->view),
				l->waiters[j].nodeid, l->waiters[j].pid, &pos));
		}
	}
	end(w, &before, NULL);
}

/* Adopt t (decoded), then purge as after a settled round. */
static void
adopt(struct world *w, struct haq_lock_table *t)
{
	haq__lock_table_free(&w->t);
	w->t = *t;
	haq__lock_table_init(t);
	do_purge(w);
}

static void
set_view(struct world *w, unsigned int mask)
{
	w->nview = 0;
	for (unsigned int i = 0; i < NMEMB; i++) {
		if (mask & (1u << i)) {
			w->view[w->nview].nodeid = i + 1;
			w->view[w->nview].pid = 100 * (i + 1);
			w->view[w->nview].reason = 0;
			w->nview++;
		}
	}
}

/*
 * A raw frame of the next *len input bytes (fewer when the input ends), in
 * a buffer of exactly that size.
 */
static uint8_t *
take_raw(const uint8_t *data, size_t size, size_t *pos, size_t *len)
{
	uint8_t *buf;

	if (*len > size - *pos) {
		*len = size - *pos;
	}
	buf = malloc(*len ? *len : 1);
	REQUIRE(buf);
	memcpy(buf, data + *pos, *len);
	*pos += *len;
	return buf;
}

static uint64_t
take_u64(const uint8_t *data, size_t size, size_t *pos)
{
	uint8_t b[8] = {0};
	size_t n = size - *pos < 8 ? size - *pos : 8;

	memcpy(b, data + *pos, n);
	*pos += n;
	return haq__get_le64(b);
}

static size_t
take_len16(const uint8_t *data, size_t size, size_t *pos)
{
	size_t len = 0;

	if (*pos < size) {
		len = data[(*pos)++];
	}
	if (*pos < size) {
		len |= (size_t)data[(*pos)++] << 8;
	}
	return len & 2047;
}

/* A raw encoded table; adopted when wanted and it decodes. */
static void
raw_table(struct world *w, const uint8_t *b, size_t len, uint64_t last,
	  bool take)
{
	struct haq_lock_table t;
	int rc;

	haq__lock_table_init(&t);
	rc = haq__lock_decode(&t, b, len, last);
	REQUIRE(rc == 0 || rc == -EBADMSG);
	if (rc < 0) {
		REQUIRE(t.n == 0 && t.entries == 0 && !t.locks &&
			t.last_token == 0);
		return;
	}
	REQUIRE(t.last_token == last);
	check_table(&t, false);
	{
		size_t elen;
		uint8_t *e = encode(&t, &elen);

		REQUIRE(elen == len && memcmp(e, b, len) == 0);
		free(e);
	}
	if (take) {
		adopt(w, &t);
	}
	haq__lock_table_free(&t);
}

static void
raw_acquire(struct world *w, const uint8_t *c, size_t len, uint32_t who)
{
	struct haq_lock_op op;
	uint8_t again[HAQ_LOCK_ACQUIRE_HDR + 255];

	if (haq__lock_decode_acquire(c, len, &op) < 0) {
		return;
	}
	REQUIRE(op.req != 0 && haq__lock_name_ok(op.name, op.nlen));
	REQUIRE(len == HAQ_LOCK_ACQUIRE_HDR + op.nlen);
	REQUIRE(haq__lock_encode_acquire(again, c[0], op.try_, op.req,
					 op.clock_us, op.name, op.nlen) == len);
	REQUIRE(memcmp(again, c, len) == 0);
	do_acquire(w, who + 1, 100 * (who + 1), &op);
}

static void
raw_release(struct world *w, const uint8_t *c, size_t len, uint32_t who)
{
	struct haq_lock_op op;
	uint8_t again[HAQ_LOCK_RELEASE_HDR + 255];

	if (haq__lock_decode_release(c, len, &op) < 0) {
		return;
	}
	REQUIRE(op.req != 0 && haq__lock_name_ok(op.name, op.nlen));
	REQUIRE(!op.try_ && op.clock_us == 0);
	REQUIRE(len == HAQ_LOCK_RELEASE_HDR + op.nlen);
	REQUIRE(haq__lock_encode_release(again, c[0], op.req, op.name,
					 op.nlen) == len);
	REQUIRE(memcmp(again, c, len) == 0);
	do_release(w, who + 1, 100 * (who + 1), &op);
}

static void
raw_sync(struct world *w, const uint8_t *c, size_t len, bool take)
{
	uint8_t again[HAQ_LOCK_SYNC_HDR];
	uint64_t view_id;
	uint64_t last;
	uint16_t round;
	bool restart;
	bool valid;

	if (haq__lock_decode_sync_hdr(c, len, &valid, &restart, &round,
				      &view_id, &last) < 0) {
		return;
	}
	REQUIRE(len >= HAQ_LOCK_SYNC_HDR);
	REQUIRE(valid || len == HAQ_LOCK_SYNC_HDR);
	haq__lock_encode_sync_hdr(again, c[0], valid, restart, round, view_id,
				  last);
	REQUIRE(memcmp(again, c, HAQ_LOCK_SYNC_HDR) == 0);
	if (valid) {
		raw_table(w, c + HAQ_LOCK_SYNC_HDR, len - HAQ_LOCK_SYNC_HDR,
			  last, take);
	}
}

/* An ACQUIRE by who made from the input, through its frame. */
static void
op_acquire(struct world *w, const uint8_t *data, size_t size, size_t *pos,
	   uint32_t who)
{
	uint8_t frame[HAQ_LOCK_ACQUIRE_HDR + HAQ_LOCK_NAME_MAX_];
	struct haq_lock_op op;
	const char *name;
	uint64_t clock_us;
	size_t len;
	uint8_t b;

	if (*pos >= size) {
		return;
	}
	b = data[(*pos)++];
	name = names[b & 7];
	switch ((b >> 4) & 3) {
	case 0:
		clock_us = 0;
		break;
	case 1:
		clock_us = w->t.last_token + (b >> 6);
		break;
	case 2:
		clock_us = take_u64(data, size, pos);
		break;
	default:
		clock_us = 1700000000000000ull + w->next_req;
		break;
	}
	len = haq__lock_encode_acquire(frame, T_ACQUIRE, b & 8, w->next_req++,
				       clock_us, name, strlen(name));
	REQUIRE(haq__lock_decode_acquire(frame, len, &op) == 0);
	REQUIRE(op.clock_us == clock_us && op.try_ == !!(b & 8));
	do_acquire(w, who + 1, 100 * (who + 1), &op);
}

/* A RELEASE made from the input, through its frame. */
static void
op_release(struct world *w, const uint8_t *data, size_t size, size_t *pos,
	   unsigned int args)
{
	uint8_t frame[HAQ_LOCK_RELEASE_HDR + HAQ_LOCK_NAME_MAX_];
	char name[HAQ_LOCK_NAME_MAX_ + 1];
	struct haq_lock_entry e;
	struct haq_lock_op op;
	size_t len;
	uint8_t b;

	if (*pos >= size) {
		return;
	}
	b = data[(*pos)++];
	if (!(b & 0x80) && w->t.n) {
		const struct haq_lock *l = &w->t.locks[(b & 0x7f) % w->t.n];
		size_t k = args % (l->nwait + (l->held ? 1 : 0));

		e = l->held ? (k ? l->waiters[k - 1] : l->holder)
			    : l->waiters[k];
		memcpy(name, l->name, l->nlen + 1);
	} else {
		uint32_t who = args % NMEMB;

		e.nodeid = who + 1;
		e.pid = 100 * (who + 1);
		e.req = (b & 0x7f) ? (b & 0x7f) : 1;
		strcpy(name, names[b & 7]);
	}
	len = haq__lock_encode_release(frame, T_RELEASE, e.req, name,
				       strlen(name));
	REQUIRE(haq__lock_decode_release(frame, len, &op) == 0);
	do_release(w, e.nodeid, e.pid, &op);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct world w;
	size_t pos = 0;

	memset(&w, 0, sizeof(w));
	haq__lock_table_init(&w.t);
	w.next_req = 1;
	w.grant = true;
	set_view(&w, 0x3f);
	while (pos < size) {
		uint8_t op = data[pos++];
		unsigned int args = op >> 3;
		uint32_t who = args % NMEMB;
		uint8_t *raw;
		size_t len;

		switch (op & 7) {
		case 0:
			op_acquire(&w, data, size, &pos, who);
			break;
		case 1:
			op_release(&w, data, size, &pos, args);
			break;
		case 2:
		case 3:
			if (pos >= size) {
				break;
			}
			len = data[pos++];
			raw = take_raw(data, size, &pos, &len);
			if ((op & 7) == 2) {
				raw_acquire(&w, raw, len, who);
			} else {
				raw_release(&w, raw, len, who);
			}
			free(raw);
			break;
		case 4:
			if (pos >= size) {
				break;
			}
			set_view(&w, data[pos++]);
			w.grant = args & 1;
			do_purge(&w);
			break;
		case 5: {
			uint64_t last = take_u64(data, size, &pos);

			len = take_len16(data, size, &pos);
			raw = take_raw(data, size, &pos, &len);
			raw_table(&w, raw, len, last, args & 1);
			free(raw);
			break;
		}
		case 6:
			len = take_len16(data, size, &pos);
			raw = take_raw(data, size, &pos, &len);
			raw_sync(&w, raw, len, args & 1);
			free(raw);
			break;
		default: {
			struct haq_lock_table c;

			copy_table(&c, &w.t);
			if ((args & 1) && c.last_token <= UINT64_MAX - args) {
				c.last_token += args;
			}
			adopt(&w, &c);
			break;
		}
		}
		check_table(&w.t, w.grant);
		{
			struct haq_lock_table c;

			copy_table(&c, &w.t);
			haq__lock_table_free(&c);
		}
	}
	haq__lock_table_free(&w.t);
	free(w.ev);
	return 0;
}
