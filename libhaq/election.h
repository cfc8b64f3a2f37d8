/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Leader election from the agreed view: pure logic, unit-tested alone.
 *
 * The leader is the lowest (nodeid, pid) of the view's members, and there
 * is one only while the partition is quorate. Every member holds the same
 * sorted member list (CPG guarantees it) and the same quorum verdict for
 * the view's ring (libhaq reports a view only with it), so every member
 * names the same leader without exchanging a message.
 *
 * The epoch is (ring_seq << 16) | n, where n counts the leaderships begun
 * in this totem ring. Totem ring sequence numbers grow across the cluster's
 * history (corosync persists them), and only a quorate partition elects, so
 * an epoch is never claimed twice: each new leadership gets a larger one.
 */
#ifndef HAQ_ELECTION_H
#define HAQ_ELECTION_H

#include <stddef.h>
#include <stdint.h>

struct haq_memb {
	uint32_t nodeid;
	uint32_t pid;
	int reason;
};

struct haq_election {
	uint64_t ring_seq; /* ring of the last view fed in */
	uint32_t count;    /* leaderships begun in that ring */
	uint32_t nodeid;   /* the leader, 0 when there is none */
	uint32_t pid;
	uint64_t epoch;    /* 0 when there is no leader */
};

/*
 * Feed a view (members sorted by (nodeid, pid)) and its quorum verdict.
 * Returns 1 when the leader or its epoch changed, else 0.
 */
int haq__election_update(struct haq_election *e, uint64_t ring_seq,
			 const struct haq_memb *members, size_t n,
			 int quorate);

#endif /* HAQ_ELECTION_H */
