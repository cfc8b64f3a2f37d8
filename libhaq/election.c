/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The rules of the leader election (election.h) and the codecs of its
 * control frames: pure logic, unit-tested and fuzzed alone.
 */
#include "election.h"
#include "le.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A member's place in the table, or NULL. */
static struct haq_elect_member *
find(const struct haq_election *e, uint32_t nodeid, uint32_t pid)
{
	size_t pos;

	if (!haq__id_search(e->m, e->n, sizeof(*e->m), nodeid, pid, &pos)) {
		return NULL;
	}
	return &e->m[pos];
}

static int
clear_leader(struct haq_election *e)
{
	if (e->nodeid == 0) {
		return 0;
	}
	e->nodeid = 0;
	e->pid = 0;
	e->epoch = 0;
	return HAQ_ELECT_CHANGED;
}

static void
fold_epoch(struct haq_election *e, uint64_t epoch)
{
	if (epoch > e->round_max) {
		e->round_max = epoch;
	}
	if (epoch > e->seen_epoch) {
		e->seen_epoch = epoch;
	}
}

static bool all_synced(const struct haq_election *e);

/*
 * Elect the lowest eligible member that did not just resign, or, once
 * every member has spoken in the round and there is none, the lowest
 * eligible one (a leader that resigned alone, or lost its lease, leads
 * again rather than none). The epoch is above every epoch told in the
 * round and not below the highest wall clock told in it.
 */
static int
elect(struct haq_election *e)
{
	const struct haq_elect_member *c = NULL;
	const struct haq_elect_member *resigned = NULL;
	uint64_t epoch;

	for (size_t i = 0; i < e->n && !c; i++) {
		if (!e->m[i].known || !e->m[i].eligible) {
			continue;
		}
		if (!e->m[i].resigned) {
			c = &e->m[i];
		} else if (!resigned) {
			resigned = &e->m[i];
		}
	}
	if (!c && all_synced(e)) {
		c = resigned;
	}
	if (!c) {
		return 0;
	}
	/*
	 * Not below the round's clock either: the first leadership of a
	 * fresh group may come from an ELIGIBLE after a round that found
	 * nobody eligible.
	 */
	epoch = e->round_max + 1;
	if (e->round_clock > epoch) {
		epoch = e->round_clock;
	}
	e->nodeid = c->nodeid;
	e->pid = c->pid;
	e->epoch = epoch;
	fold_epoch(e, epoch);
	for (size_t i = 0; i < e->n; i++) {
		e->m[i].resigned = false;
	}
	return HAQ_ELECT_CHANGED | HAQ_ELECT_ELECTED;
}

/* FNV-1a, 64 bits, over little-endian words. */
static uint64_t
fnv(uint64_t h, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++) {
		h ^= (v >> (8 * i)) & 0xff;
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t
fnv_list(uint64_t h, const struct haq_memb *m, size_t n)
{
	h = fnv(h, n, 4);
	for (size_t i = 0; i < n; i++) {
		h = fnv(h, m[i].nodeid, 4);
		h = fnv(h, m[i].pid, 4);
	}
	return h;
}

uint64_t
haq__election_view_id(uint64_t ring_seq, const struct haq_memb *members,
		      size_t n)
{
	uint64_t h = fnv(0xcbf29ce484222325ull, ring_seq, 8);

	h = fnv_list(h, members, n);
	return h ? h : 1;
}

int
haq__election_view(struct haq_election *e, uint64_t view_id,
		   const struct haq_memb *members, size_t n, bool quorate)
{
	struct haq_elect_member *m = calloc(n ? n : 1, sizeof(*m));
	int rc = 0;

	if (!m) {
		return -ENOMEM;
	}
	/*
	 * Everything is told again in the round, eligibility too: a joiner
	 * knows only what this round tells, and every member must decide
	 * from the same facts.
	 */
	for (size_t i = 0; i < n; i++) {
		m[i].nodeid = members[i].nodeid;
		m[i].pid = members[i].pid;
	}
	free(e->m);
	e->m = m;
	e->n = n;
	e->decided = false;
	e->claimed = false;
	e->quorate = quorate;
	e->view_id = view_id;
	e->round_max = 0;
	e->round_clock = 0;
	if (!quorate || (e->nodeid && !find(e, e->nodeid, e->pid))) {
		rc = clear_leader(e);
	}
	return rc;
}

/* Whether every member of the view spoke in this round. */
static bool
all_synced(const struct haq_election *e)
{
	for (size_t i = 0; i < e->n; i++) {
		if (!e->m[i].synced) {
			return false;
		}
	}
	return true;
}

/* Whether some member's latest SYNC of the round says "not quorate". */
static bool
any_not_quorate(const struct haq_election *e)
{
	for (size_t i = 0; i < e->n; i++) {
		if (e->m[i].synced && !e->m[i].quorate) {
			return true;
		}
	}
	return false;
}

static bool
all_quorate(const struct haq_election *e)
{
	for (size_t i = 0; i < e->n; i++) {
		if (!e->m[i].synced || !e->m[i].quorate) {
			return false;
		}
	}
	return e->n > 0;
}

int
haq__election_sync(struct haq_election *e, uint32_t nodeid, uint32_t pid,
		   const struct haq_sync *s)
{
	struct haq_elect_member *m = find(e, nodeid, pid);
	bool is_leader = e->nodeid == nodeid && e->pid == pid && nodeid;
	int rc = 0;

	if (!m || s->view_id != e->view_id) {
		return 0; /* not a member of this view, or an older answer */
	}
	m->synced = true;
	m->quorate = s->quorate;
	m->eligible = s->eligible;
	m->known = true;
	fold_epoch(e, s->max_epoch);
	fold_epoch(e, s->epoch);
	if (s->clock_us > e->round_clock) {
		e->round_clock = s->clock_us;
	}
	if (!s->quorate) {
		/* Its partition lost quorum within the ring: no leader. */
		e->decided = false;
		return clear_leader(e);
	}
	if (s->claim) {
		if (!e->claimed && e->quorate && !any_not_quorate(e)) {
			/* The first claim in the round keeps its leadership. */
			e->claimed = true;
			e->decided = true;
			if (!is_leader || e->epoch != s->epoch) {
				e->nodeid = nodeid;
				e->pid = pid;
				e->epoch = s->epoch;
				rc = HAQ_ELECT_CHANGED;
			}
			return rc;
		}
		/* A second claim (the first one holds), or in doubt of quorum. */
	}
	/*
	 * A SYNC without a claim, even the leader's, changes nobody's
	 * leadership by itself: a leader that gives up says so with a
	 * RESIGN, and a member elected in this round may have sent its
	 * SYNC before it was elected. At the round's end, though, a leader
	 * that did not claim is no leader for anybody.
	 */
	if (!e->decided && all_quorate(e)) {
		/* Every member spoke and nobody claimed. */
		e->decided = true;
		rc |= clear_leader(e) | HAQ_ELECT_ROUND_END;
		rc |= elect(e);
	} else if (e->decided && e->nodeid == 0) {
		/* No leader for want of a candidate: this one may be it. */
		rc |= elect(e);
	}
	return rc;
}

int
haq__election_resign(struct haq_election *e, uint32_t nodeid, uint32_t pid,
		     uint64_t epoch)
{
	struct haq_elect_member *m = find(e, nodeid, pid);
	int rc;

	if (!m || epoch == 0) {
		return 0;
	}
	/* Not chosen again by the next election while another can be. */
	m->resigned = true;
	if (e->nodeid != nodeid || e->pid != pid || e->epoch != epoch) {
		return 0; /* not (or no longer) the leader: nothing to hand over */
	}
	rc = clear_leader(e);
	if (e->decided) {
		rc |= elect(e);
	}
	return rc;
}

int
haq__election_eligible(struct haq_election *e, uint32_t nodeid, uint32_t pid,
		       bool eligible)
{
	struct haq_elect_member *m = find(e, nodeid, pid);

	if (!m) {
		return 0;
	}
	m->eligible = eligible;
	m->known = true;
	if (eligible) {
		m->resigned = false;
	}
	if (e->decided && e->nodeid == 0) {
		return elect(e);
	}
	return 0;
}

bool
haq__election_pending(const struct haq_election *e)
{
	return e->quorate && !e->decided;
}

int
haq__election_reset(struct haq_election *e)
{
	int rc = clear_leader(e);

	e->decided = false;
	e->claimed = false;
	e->quorate = false;
	e->round_max = 0;
	e->round_clock = 0;
	free(e->m);
	e->m = NULL;
	e->n = 0;
	return rc;
}

void
haq__election_free(struct haq_election *e)
{
	free(e->m);
	e->m = NULL;
	e->n = 0;
}

/* ---------------------------------------------------------------- */
/* Codecs: little-endian, reserved bits and bytes must be 0           */
/* ---------------------------------------------------------------- */

enum {
	SYNC_QUORATE = 1,
	SYNC_ELIGIBLE = 2,
	SYNC_CLAIM = 4,
	SYNC_FLAGS = 7,
};

static bool
zeros(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i]) {
			return false;
		}
	}
	return true;
}

void
haq__sync_encode(const struct haq_sync *s, uint8_t *buf)
{
	memset(buf, 0, HAQ_SYNC_LEN);
	buf[0] = (uint8_t)((s->quorate ? SYNC_QUORATE : 0) |
			   (s->eligible ? SYNC_ELIGIBLE : 0) |
			   (s->claim ? SYNC_CLAIM : 0));
	haq__put_le64(buf + 8, s->epoch);
	haq__put_le64(buf + 16, s->max_epoch);
	haq__put_le64(buf + 24, s->clock_us);
	haq__put_le64(buf + 32, s->view_id);
}

int
haq__sync_decode(const uint8_t *buf, size_t len, struct haq_sync *s)
{
	if (len != HAQ_SYNC_LEN || (buf[0] & ~SYNC_FLAGS) ||
	    !zeros(buf + 1, 7)) {
		return -EBADMSG;
	}
	s->quorate = buf[0] & SYNC_QUORATE;
	s->eligible = buf[0] & SYNC_ELIGIBLE;
	s->claim = buf[0] & SYNC_CLAIM;
	s->epoch = haq__get_le64(buf + 8);
	s->max_epoch = haq__get_le64(buf + 16);
	s->clock_us = haq__get_le64(buf + 24);
	s->view_id = haq__get_le64(buf + 32);
	/* A claim names its epoch, which the sender has seen; else none. */
	if (s->claim != (s->epoch != 0) || s->epoch > s->max_epoch ||
	    (s->claim && !s->quorate)) {
		return -EBADMSG;
	}
	return 0;
}

void
haq__renew_encode(uint64_t epoch, uint64_t nonce, uint8_t *buf)
{
	haq__put_le64(buf, epoch);
	haq__put_le64(buf + 8, nonce);
}

int
haq__renew_decode(const uint8_t *buf, size_t len, uint64_t *epoch,
		  uint64_t *nonce)
{
	if (len != HAQ_RENEW_LEN) {
		return -EBADMSG;
	}
	*epoch = haq__get_le64(buf);
	*nonce = haq__get_le64(buf + 8);
	return *epoch ? 0 : -EBADMSG;
}

void
haq__resign_encode(uint64_t epoch, uint8_t *buf)
{
	haq__put_le64(buf, epoch);
}

int
haq__resign_decode(const uint8_t *buf, size_t len, uint64_t *epoch)
{
	if (len != HAQ_RESIGN_LEN) {
		return -EBADMSG;
	}
	*epoch = haq__get_le64(buf);
	return *epoch ? 0 : -EBADMSG;
}

void
haq__eligible_encode(bool eligible, uint8_t *buf)
{
	memset(buf, 0, HAQ_ELIGIBLE_LEN);
	buf[0] = eligible ? 1 : 0;
}

int
haq__eligible_decode(const uint8_t *buf, size_t len, bool *eligible)
{
	if (len != HAQ_ELIGIBLE_LEN || buf[0] > 1 || !zeros(buf + 1, 7)) {
		return -EBADMSG;
	}
	*eligible = buf[0];
	return 0;
}
