/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The rules of the leader election (election.h) and the codec of the
 * leader's announcement: pure logic, unit-tested and fuzzed alone.
 */
#include "election.h"
#include "le.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int
set_assign(struct haq_election *e, const struct haq_memb *members, size_t n)
{
	struct haq_memb *v = NULL;

	if (n > 0) {
		v = malloc(n * sizeof(*v));
		if (!v) {
			return -ENOMEM;
		}
		memcpy(v, members, n * sizeof(*v));
	}
	free(e->set);
	e->set = v;
	e->nset = n;
	return 0;
}

/* Keep only the synced members still in the view. */
static void
set_intersect(struct haq_election *e, const struct haq_memb *members,
	      size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < e->nset; i++) {
		if (haq__memb_contains(members, n, e->set[i].nodeid, e->set[i].pid)) {
			e->set[k++] = e->set[i];
		}
	}
	e->nset = k;
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
	return 1;
}

/* Apply the rules to a synced member. Returns 1 when something changed. */
static int
choose(struct haq_election *e, const struct haq_memb *members, size_t n,
       int quorate)
{
	uint32_t nodeid = 0;
	uint32_t pid = 0;

	if (quorate && n > 0) {
		if (e->nodeid && haq__memb_contains(members, n, e->nodeid, e->pid)) {
			return 0; /* the leader stays */
		}
		if (e->count >= HAQ_EPOCH_COUNT_MAX) {
			/*
			 * The ring's epochs are used up: electing again would
			 * reuse one. No leader until the next ring change.
			 */
		} else if (e->nset > 0) {
			nodeid = e->set[0].nodeid;
			pid = e->set[0].pid;
		} else {
			nodeid = members[0].nodeid;
			pid = members[0].pid;
		}
	}
	if (nodeid == e->nodeid && pid == e->pid) {
		return 0;
	}
	e->nodeid = nodeid;
	e->pid = pid;
	if (nodeid == 0) {
		e->epoch = 0;
	} else {
		e->count++;
		e->epoch = (e->ring_seq << 16) | e->count;
	}
	return 1;
}

int
haq__election_view(struct haq_election *e, uint64_t ring_seq,
		   const struct haq_memb *members, size_t n, int quorate,
		   int self_joining)
{
	int changed = 0;

	if (ring_seq != e->ring_seq || self_joining) {
		if (ring_seq != e->ring_seq) {
			e->ring_seq = ring_seq;
			e->count = 0;
		}
		changed = clear_leader(e);
		/* A joiner alone had nobody to learn the count from. */
		e->synced = !self_joining || n == 1;
		if (e->synced) {
			if (set_assign(e, members, n) < 0) {
				return -ENOMEM;
			}
		} else {
			e->nset = 0;
		}
	} else {
		set_intersect(e, members, n);
	}
	if (!e->synced) {
		return changed | clear_leader(e);
	}
	return changed | choose(e, members, n, quorate);
}

int
haq__election_should_announce(const struct haq_election *e,
			      const struct haq_memb *members, size_t n)
{
	if (!e->synced || e->nodeid == 0) {
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (!haq__memb_contains(e->set, e->nset, members[i].nodeid,
			      members[i].pid)) {
			return 1;
		}
	}
	return 0;
}

int
haq__election_announced(struct haq_election *e, const struct haq_announce *a,
			const struct haq_memb *members, size_t n)
{
	int changed = 0;

	if (a->ring_seq != e->ring_seq || a->count == 0 || a->nodeid == 0) {
		return 0; /* from another ring: stale */
	}
	if (!e->synced) {
		e->synced = 1;
		e->count = a->count;
		if (haq__memb_contains(members, n, a->nodeid, a->pid)) {
			e->nodeid = a->nodeid;
			e->pid = a->pid;
			e->epoch = (e->ring_seq << 16) | e->count;
			changed = 1;
		}
	}
	/* Everyone who delivered this knows the count now. */
	if (set_assign(e, members, n) < 0) {
		return -ENOMEM;
	}
	return changed;
}

int
haq__election_reset(struct haq_election *e)
{
	int changed = clear_leader(e);

	e->ring_seq = 0;
	e->count = 0;
	e->synced = 0;
	e->nset = 0;
	return changed;
}

void
haq__election_free(struct haq_election *e)
{
	free(e->set);
	e->set = NULL;
	e->nset = 0;
}

void
haq__announce_encode(const struct haq_announce *a, uint8_t *buf)
{
	haq__put_le64(buf, a->ring_seq);
	haq__put_le32(buf + 8, a->count);
	haq__put_le32(buf + 12, a->nodeid);
	haq__put_le32(buf + 16, a->pid);
	haq__put_le32(buf + 20, 0); /* reserved */
}

int
haq__announce_decode(const uint8_t *buf, size_t len, struct haq_announce *a)
{
	if (len != HAQ_ANNOUNCE_LEN) {
		return -EBADMSG;
	}
	a->ring_seq = haq__get_le64(buf);
	a->count = haq__get_le32(buf + 8);
	a->nodeid = haq__get_le32(buf + 12);
	a->pid = haq__get_le32(buf + 16);
	if (a->ring_seq == 0 || a->count == 0 ||
	    a->count > HAQ_EPOCH_COUNT_MAX || a->nodeid == 0 ||
	    haq__get_le32(buf + 20) != 0) {
		return -EBADMSG;
	}
	return 0;
}
