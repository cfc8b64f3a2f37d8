/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Leader election from the agreed stream: pure logic, unit-tested alone.
 *
 * Every member applies the same events in the same order (views, and the
 * members' control frames in the total order), so every member holds the
 * same table and names the same leader with the same epoch at the same
 * point of the stream. Nothing here reads a clock or corosync.
 *
 * - Rounds. Every view change starts a round: each member sends one SYNC
 *   (struct haq_sync) saying what it knows: whether it holds leadership
 *   (a claim, with its epoch), the highest epoch it has seen, whether it
 *   is eligible, whether its partition is quorate, and its wall clock.
 *   Everything is told again in each round, eligibility too, so a joiner
 *   and an old member decide from the same facts. Members that knew the
 *   leader keep naming it while it is in the view; the others (a joiner,
 *   the side of a heal that had none) name nobody until the round says.
 * - A SYNC names the view it answers: one sent before its sender saw the
 *   current view (and delivered after it) is ignored.
 * - Sticky. The first claim delivered in a round decides it, while the
 *   view is quorate and no member's latest SYNC doubts it: the claimant
 *   keeps its leadership and its epoch. No other member is elected while
 *   a leader claims.
 * - Election. When every member of the view has sent its SYNC, all say
 *   quorate and nobody claimed, a leader that did not claim is nobody's
 *   leader any more, and the lowest eligible (nodeid, pid) is elected.
 *   Every new leadership's epoch is above every epoch told in the round
 *   and not below the highest wall clock (microseconds) told in it:
 *   epochs keep increasing even when every member's memory is lost.
 * - Within a decided round: a RESIGN from the leader (voluntary, or its
 *   lease ran out) elects another eligible member, the resigner again
 *   only if no other is once everyone spoke; an ELIGIBLE updates its
 *   sender, and elects when the group had no leader for want of a
 *   candidate, and so does a SYNC that makes one known; a SYNC saying
 *   "not quorate" clears the leader, and the round decides again once
 *   every member's latest SYNC says quorate (a quorum change within a
 *   ring). A SYNC without a claim deposes nobody by itself: a member
 *   elected in the round may have sent it before it was elected.
 * - A view that is not quorate has no leader.
 *
 * Waiting for every member's SYNC happens only when there is no leader to
 * keep; a member whose process stalls delays only that election.
 */
#ifndef HAQ_ELECTION_H
#define HAQ_ELECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memb.h"

/* What a member says after each view change (a SYNC control frame). */
struct haq_sync {
	bool quorate;  /* its partition is quorate, by its own verdict */
	bool eligible; /* it may be elected */
	bool claim;    /* it holds leadership (epoch) and keeps it */
	uint64_t epoch;     /* the claimed leadership's epoch, else 0 */
	uint64_t max_epoch; /* the highest epoch it has seen */
	uint64_t clock_us;  /* its CLOCK_REALTIME when it sent this */
	uint64_t view_id; /* the view it answers (haq__election_view_id()):
			     a SYNC sent before its sender saw the current
			     view is stale and ignored */
};

/* One member of the current view, as the agreed stream told of it. */
struct haq_elect_member {
	uint32_t nodeid;
	uint32_t pid;
	bool synced;   /* its SYNC of this round was delivered */
	bool quorate;  /* as its latest SYNC says */
	bool eligible; /* as its latest SYNC or ELIGIBLE says */
	bool known;    /* eligible is known (a SYNC or ELIGIBLE came) */
	bool resigned; /* resigned (or gave up): not the next one elected */
};

struct haq_election {
	/* The leader (0 when none) and its epoch. */
	uint32_t nodeid;
	uint32_t pid;
	uint64_t epoch;
	bool decided; /* the round decided: a claim, or an election */
	bool claimed; /* a claim was taken in this round */
	bool quorate; /* the view's quorum verdict */
	uint64_t view_id; /* the current view's identity */
	/* Highest epoch told in this round (SYNCs, the leader's). */
	uint64_t round_max;
	uint64_t round_clock;
	struct haq_elect_member *m; /* the view's members, sorted */
	size_t n;
	/* This process's own memory, told in its SYNCs. */
	uint64_t seen_epoch;
};

/* What an event did (bits). */
enum {
	HAQ_ELECT_CHANGED = 1,  /* the leader or its epoch changed */
	HAQ_ELECT_ELECTED = 2,  /* a new leadership began (not a claim) */
	HAQ_ELECT_ROUND_END = 4 /* a round ended without a claim: whoever is
				   elected from now on may follow a leader
				   that vanished */
};

/*
 * The identity of a view, the same at every member: a hash of its ring
 * and its sorted member list. Not of the joined and left lists: corosync
 * may hand one ring change to one member as two configuration changes
 * and to another as one, with other lists but the same members at the
 * end. A member list that recurs within one ring (a process leaving and
 * joining again with the same pid) has the same identity again: a SYNC
 * delayed across both changes would then count, with what its sender
 * knew a moment earlier.
 */
uint64_t haq__election_view_id(uint64_t ring_seq,
			       const struct haq_memb *members, size_t n);

/*
 * A view (its identity, members sorted by (nodeid, pid), its quorum
 * verdict). Starts a round. Returns HAQ_ELECT_* bits, or -ENOMEM.
 */
int haq__election_view(struct haq_election *e, uint64_t view_id,
		       const struct haq_memb *members, size_t n, bool quorate);

/* A SYNC from member (nodeid, pid). Returns HAQ_ELECT_* bits. */
int haq__election_sync(struct haq_election *e, uint32_t nodeid, uint32_t pid,
		       const struct haq_sync *s);

/* A RESIGN of leadership epoch from (nodeid, pid). */
int haq__election_resign(struct haq_election *e, uint32_t nodeid,
			 uint32_t pid, uint64_t epoch);

/* An ELIGIBLE from (nodeid, pid). */
int haq__election_eligible(struct haq_election *e, uint32_t nodeid,
			   uint32_t pid, bool eligible);

/*
 * Whether the round waits for SYNCs: the view is quorate, nobody claimed
 * yet and not every member has spoken. Nobody is named meanwhile by the
 * members that did not know the leader.
 */
bool haq__election_pending(const struct haq_election *e);

/* Cut off from corosync: nothing known but this process's memory. */
int haq__election_reset(struct haq_election *e);

void haq__election_free(struct haq_election *e);

/* The control frames of the election (after the control type byte). */
#define HAQ_SYNC_LEN 40
#define HAQ_RENEW_LEN 16
#define HAQ_RESIGN_LEN 8
#define HAQ_ELIGIBLE_LEN 8

void haq__sync_encode(const struct haq_sync *s, uint8_t *buf);
int haq__sync_decode(const uint8_t *buf, size_t len, struct haq_sync *s);
void haq__renew_encode(uint64_t epoch, uint64_t nonce, uint8_t *buf);
int haq__renew_decode(const uint8_t *buf, size_t len, uint64_t *epoch,
		      uint64_t *nonce);
void haq__resign_encode(uint64_t epoch, uint8_t *buf);
int haq__resign_decode(const uint8_t *buf, size_t len, uint64_t *epoch);
void haq__eligible_encode(bool eligible, uint8_t *buf);
int haq__eligible_decode(const uint8_t *buf, size_t len, bool *eligible);

#endif /* HAQ_ELECTION_H */
