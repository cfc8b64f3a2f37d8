/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Leader election from the agreed view: pure logic, unit-tested alone.
 *
 * Every member holds the same sorted member list (CPG guarantees it), the
 * same quorum verdict for the view's ring (libhaq reports a view only with
 * it) and the same stream of views and messages, so every member that
 * follows the rules below names the same leader with the same epoch.
 *
 * - Only a quorate partition has a leader.
 * - A totem ring change starts afresh: the leader is the lowest
 *   (nodeid, pid), leadership number 1 of the ring.
 * - Within a ring the leader stays while it is a member: a join is not a
 *   leadership change. When it leaves (or quorum returns), the next one is
 *   the lowest member of the "synced" set: members known to know the
 *   ring's leadership count.
 * - A process that joins within a ring cannot know how many leaderships
 *   the ring has had, so it claims nothing and names no leader until the
 *   leader's announcement (HAQ_CONTROL_EPOCH) reaches it in the agreed
 *   stream. The leader announces after every view with such joiners and
 *   whenever its leadership starts. Every member delivering the
 *   announcement knows the count, so all present members become synced.
 *   A process alone in its group knows there was nobody to learn from.
 *
 * The epoch is (ring_seq << 16) | n, n counting the leaderships of the
 * ring. Totem ring sequence numbers grow over the cluster's history
 * (corosync persists them) and only a quorate partition elects, so each
 * new leadership has a larger epoch than every earlier one. One limit: a
 * group that empties completely and is formed again within one ring
 * starts counting afresh.
 */
#ifndef HAQ_ELECTION_H
#define HAQ_ELECTION_H

#include <stddef.h>
#include <stdint.h>

#include "memb.h"


struct haq_election {
	uint64_t ring_seq; /* ring of the last view fed in */
	uint32_t count;    /* leaderships begun in that ring */
	uint32_t nodeid;   /* the leader, 0 when there is none (or unknown) */
	uint32_t pid;
	uint64_t epoch;    /* 0 when there is no leader */
	int synced;        /* this member knows the ring's count */
	struct haq_memb *set; /* the synced members, sorted */
	size_t nset;
};

/* What a leader announces (the payload of HAQ_CONTROL_EPOCH). */
struct haq_announce {
	uint64_t ring_seq;
	uint32_t count;
	uint32_t nodeid;
	uint32_t pid;
};

#define HAQ_ANNOUNCE_LEN 24 /* encoded size, after the control type byte */
/* Leaderships per totem ring: the low 16 bits of the epoch. */
#define HAQ_EPOCH_COUNT_MAX 0xffffu

/*
 * Feed a view (members sorted by (nodeid, pid)) and its quorum verdict.
 * self_joining: this view is this process's own join. Returns 1 when the
 * leader or its epoch changed, 0 if not, -ENOMEM.
 */
int haq__election_view(struct haq_election *e, uint64_t ring_seq,
		       const struct haq_memb *members, size_t n, int quorate,
		       int self_joining);

/*
 * Whether this member, as leader, should announce now: it leads and some
 * member is not known to be synced.
 */
int haq__election_should_announce(const struct haq_election *e,
				  const struct haq_memb *members, size_t n);

/*
 * An announcement was delivered while members (sorted) formed the view.
 * Returns 1 when the leader or its epoch changed (a joiner learnt it),
 * 0 if not, -ENOMEM.
 */
int haq__election_announced(struct haq_election *e,
			    const struct haq_announce *a,
			    const struct haq_memb *members, size_t n);

/* The connection to corosync is gone: no leader, nothing known. */
int haq__election_reset(struct haq_election *e);

void haq__election_free(struct haq_election *e);

/* Encode/decode an announcement (little-endian, HAQ_ANNOUNCE_LEN bytes). */
void haq__announce_encode(const struct haq_announce *a, uint8_t *buf);
int haq__announce_decode(const uint8_t *buf, size_t len,
			 struct haq_announce *a);

#endif /* HAQ_ELECTION_H */
