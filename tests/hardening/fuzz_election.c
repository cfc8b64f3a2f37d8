/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the leader election (libhaq/election.c): the
 * decoders of its control frames, and the rules driven in several
 * members at once.
 *
 * Six processes, each with its own struct haq_election, live in
 * partitions: a partition is the set of processes that got the same view
 * (same view id), and every frame a member sends is delivered to every
 * process of its partition, in the order of the input, as the agreed
 * stream delivers it. At most one partition is quorate at a time (the
 * quorum is sound); the members behave as libhaq/group_leader.c makes
 * them: after each view each owes one SYNC (what it knew right after the
 * view), a quorum change makes every member say so, a leader resigns its
 * own epoch; a SYNC still owed when the next view comes is dropped (the
 * member owes a new one). The input is a sequence of operations, one
 * byte each (low 3 bits: the kind; args = the other 5 bits, who =
 * args % 6, flag = (args / 6) & 1):
 *   0  a view: one more byte, bits 0-5 the processes of the new partition,
 *      bit 6 quorate (granted when no other partition is), bit 7 whether
 *      the members it takes from other partitions leave them quorate; the
 *      rest of each partition it takes members from gets a view too
 *   1, 2  who's SYNC of the round, if it owes one (flag bit 0: a leader
 *      that gave its lease up does not claim)
 *   3  who's partition changes its quorum verdict to flag bit 0 (every
 *      member sends a SYNC saying so)
 *   4  who resigns: its own epoch when it leads (flag bit 0: a stale
 *      epoch instead)
 *   5  who says ELIGIBLE flag bit 0
 *   6  who is cut off from corosync: haq__election_reset() (flag bit 0:
 *      it restarts with no memory at all); its partition gets a view
 *   7  a raw control frame: one more byte (bits 0-1: SYNC, RENEW,
 *      RESIGN, ELIGIBLE; bits 2-7: its length), then that many bytes,
 *      copied into a buffer of exactly that length so ASan sees any
 *      over-read; what decodes must encode back to the same bytes; a
 *      SYNC, RESIGN or ELIGIBLE that decodes is delivered from who (a
 *      forged SYNC ends the epoch checks of this input)
 *
 * After every operation, for every process (see check_event() and
 * check_agree()): a leader is a member of its view with epoch != 0, no
 * leader means epoch 0 and pid 0; the HAQ_ELECT_* bits say what changed;
 * processes of one partition (they processed the same events since the
 * view that made it) agree on whether the round is decided (and
 * pending) and, when it is, on the leader and its epoch; a new leadership that
 *is not a claim has an epoch above every epoch that process has seen (its own
 *memory, the SYNCs delivered to it, the leaders it named) and above every epoch
 * elected before anywhere. A violation traps.
 *
 * clang -g -O1 -fsanitize=fuzzer,address,undefined -I libhaq \
 *	tests/hardening/fuzz_election.c libhaq/election.c
 */
#include "election.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant: say which, then trap (libFuzzer keeps the input). */
static void
fail(const char *what, int line)
{
	fprintf(stderr, "fuzz_election.c:%d: broken: %s\n", line, what);
	__builtin_trap();
}

#define REQUIRE(cond)                                                          \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fail(#cond, __LINE__);                                 \
		}                                                              \
	} while (0)

#define NPROC 6

/* Sorted by (nodeid, pid), as views list them; node 1 runs two. */
static const struct haq_memb ids[NPROC] = {{1, 50, 0},	{1, 100, 0},
					   {2, 200, 0}, {3, 300, 0},
					   {4, 400, 0}, {5, 500, 0}};

struct proc {
	struct haq_election e;
	unsigned vid;  /* its partition's view, 0: none */
	bool quorate;  /* its partition's verdict */
	bool eligible; /* what it says of itself */
	bool owes;     /* its SYNC of the round is not delivered yet */
	struct haq_sync round_sync; /* that SYNC, as it was sent */
	uint64_t seen;		    /* the largest epoch it has seen */
};

struct world {
	struct proc p[NPROC];
	unsigned next_vid;
	uint64_t clock_us;
	uint64_t elected_max; /* the largest epoch elected before this event */
	uint64_t elected_now; /* ...and by it, in any member */
	bool forged;	      /* a forged SYNC was delivered */
};

/* The leader a process names, to see what an event changed. */
struct named {
	uint32_t nodeid;
	uint32_t pid;
	uint64_t epoch;
};

static struct named
named_now(const struct haq_election *e)
{
	struct named n = {e->nodeid, e->pid, e->epoch};

	return n;
}

static bool
is_self(const struct proc *p, int i)
{
	return p->e.nodeid == ids[i].nodeid && p->e.pid == ids[i].pid;
}

static uint64_t
max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/*
 * What one event did to process i: before is what it named, rc what the
 * call returned; claim is the SYNC delivered by this event if it was a
 * claim, from (nodeid, pid).
 */
static void
check_event(struct world *w, int i, struct named before, int rc,
	    const struct haq_sync *claim, uint32_t nodeid, uint32_t pid)
{
	struct proc *p = &w->p[i];
	const struct haq_election *e = &p->e;
	bool changed = e->nodeid != before.nodeid || e->pid != before.pid ||
		       e->epoch != before.epoch;
	bool fresh;

	REQUIRE(rc >= 0);
	if (e->nodeid == 0) {
		REQUIRE(e->pid == 0 && e->epoch == 0);
	} else {
		bool member = false;

		REQUIRE(e->epoch != 0);
		for (int k = 0; k < NPROC; k++) {
			if (w->p[k].vid == p->vid && p->vid &&
			    ids[k].nodeid == e->nodeid &&
			    ids[k].pid == e->pid) {
				member = true;
			}
		}
		REQUIRE(member);
	}
	/* The bits say what happened. */
	REQUIRE(changed == ((rc & HAQ_ELECT_CHANGED) != 0));
	REQUIRE(!(rc & HAQ_ELECT_ELECTED) || (changed && e->nodeid != 0));
	fresh = changed && e->nodeid != 0 &&
		!(claim && e->nodeid == nodeid && e->pid == pid &&
		  e->epoch == claim->epoch);
	REQUIRE(fresh == ((rc & HAQ_ELECT_ELECTED) != 0));
	if (fresh && !w->forged) {
		/* Epochs strictly increase across leaderships. */
		REQUIRE(e->epoch > p->seen);
		REQUIRE(e->epoch > w->elected_max);
	}
	if (changed) {
		p->seen = max_u64(p->seen, e->epoch);
	}
	if (fresh) {
		w->elected_now = max_u64(w->elected_now, e->epoch);
	}
}

/* An event was delivered to every process it concerned. */
static void
end_event(struct world *w)
{
	w->elected_max = max_u64(w->elected_max, w->elected_now);
}

/*
 * The processes of one partition processed the same events since its
 * view: they agree on whether the round is decided, and then on the
 * leader and its epoch (before that, those that knew the leader name it
 * and the others nobody).
 */
static void
check_agree(const struct world *w)
{
	for (int i = 0; i < NPROC; i++) {
		for (int k = i + 1; k < NPROC; k++) {
			const struct haq_election *a = &w->p[i].e;
			const struct haq_election *b = &w->p[k].e;

			if (!w->p[i].vid || w->p[i].vid != w->p[k].vid) {
				continue;
			}
			REQUIRE(a->decided == b->decided);
			REQUIRE(haq__election_pending(a) ==
				haq__election_pending(b));
			if (a->decided) {
				REQUIRE(a->nodeid == b->nodeid);
				REQUIRE(a->pid == b->pid);
				REQUIRE(a->epoch == b->epoch);
			}
		}
	}
}

/* Deliver a SYNC from process from to its partition. */
static void
deliver_sync(struct world *w, int from, const struct haq_sync *s)
{
	unsigned vid = w->p[from].vid;

	for (int i = 0; i < NPROC; i++) {
		struct proc *p = &w->p[i];
		struct named before = named_now(&p->e);
		int rc;

		if (!vid || p->vid != vid) {
			continue;
		}
		p->seen = max_u64(p->seen, max_u64(s->epoch, s->max_epoch));
		rc = haq__election_sync(&p->e, ids[from].nodeid, ids[from].pid,
					s);
		check_event(w, i, before, rc, s->claim ? s : NULL,
			    ids[from].nodeid, ids[from].pid);
	}
	end_event(w);
}

/* What process i says now, as group_leader.c's send_sync() builds it. */
static struct haq_sync
sync_now(const struct world *w, int i, bool quorate)
{
	const struct proc *p = &w->p[i];
	struct haq_sync s = {
		.quorate = quorate,
		.eligible = p->eligible,
		.claim = quorate && is_self(p, i),
		.max_epoch = max_u64(p->e.seen_epoch, p->e.epoch),
		.clock_us = w->clock_us,
		.view_id = p->e.view_id,
	};

	s.epoch = s.claim ? p->e.epoch : 0;
	return s;
}

/* Frames of a process are delivered in the order it sent them. */
static void
flush(struct world *w, int i)
{
	if (w->p[i].owes) {
		w->p[i].owes = false;
		deliver_sync(w, i, &w->p[i].round_sync);
	}
}

/*
 * A view of the processes in mask, a new partition. Returns false when
 * out of memory (the input is abandoned).
 */
static bool
give_view(struct world *w, unsigned mask, bool quorate)
{
	struct haq_memb v[NPROC];
	unsigned vid = ++w->next_vid;
	size_t n = 0;

	for (int i = 0; i < NPROC; i++) {
		if (mask & (1u << i)) {
			v[n++] = ids[i];
			w->p[i].vid = vid;
			w->p[i].quorate = quorate;
		}
	}
	for (int i = 0; i < NPROC; i++) {
		struct proc *p = &w->p[i];
		struct named before = named_now(&p->e);
		int rc;

		if (!(mask & (1u << i))) {
			continue;
		}
		/* The model's view numbers are its view identities. */
		rc = haq__election_view(&p->e, vid, v, n, quorate);
		if (rc == -ENOMEM) {
			return false;
		}
		check_event(w, i, before, rc, NULL, 0, 0);
		/* Sent at once; delivered when the input says. */
		p->round_sync = sync_now(w, i, quorate);
		p->owes = true;
	}
	end_event(w);
	return true;
}

/* Whether a partition other than those in except is quorate. */
static bool
other_quorate(const struct world *w, unsigned except)
{
	for (int i = 0; i < NPROC; i++) {
		if (w->p[i].vid && !(except & (1u << i)) && w->p[i].quorate) {
			return true;
		}
	}
	return false;
}

static unsigned
partition_of(const struct world *w, unsigned vid)
{
	unsigned mask = 0;

	for (int i = 0; i < NPROC; i++) {
		if (vid && w->p[i].vid == vid) {
			mask |= 1u << i;
		}
	}
	return mask;
}

static bool
op_view(struct world *w, uint8_t arg)
{
	unsigned mask = arg & 0x3f;
	unsigned touched = mask;
	unsigned rest[NPROC];
	bool rest_q[NPROC];
	size_t nrest = 0;
	bool quorate;

	if (!mask) {
		return true; /* nobody: no view */
	}
	/* The partitions it takes members from, and what is left of them. */
	for (int i = 0; i < NPROC; i++) {
		unsigned part = partition_of(w, w->p[i].vid);

		if (!(mask & (1u << i)) || !part || (touched & part & ~mask)) {
			continue; /* not in a view, or that one is counted */
		}
		touched |= part;
		if (part & ~mask) {
			rest_q[nrest] = w->p[i].quorate && (arg & 0x80);
			rest[nrest++] = part & ~mask;
		}
	}
	quorate = (arg & 0x40) && !other_quorate(w, touched);
	if (!give_view(w, mask, quorate)) {
		return false;
	}
	for (size_t k = 0; k < nrest; k++) {
		if (!give_view(w, rest[k], rest_q[k] && !quorate)) {
			return false;
		}
	}
	return true;
}

/* who's partition gets quorum (or loses it) within its ring. */
static void
op_quorum(struct world *w, int who, bool quorate)
{
	unsigned part = partition_of(w, w->p[who].vid);
	struct haq_sync says[NPROC];

	if (!part || w->p[who].quorate == quorate ||
	    (quorate && other_quorate(w, part))) {
		return;
	}
	for (int i = 0; i < NPROC; i++) {
		if (part & (1u << i)) {
			w->p[i].quorate = quorate;
			flush(w, i);
		}
	}
	for (int i = 0; i < NPROC; i++) {
		if (part & (1u << i)) {
			says[i] = sync_now(w, i, quorate);
		}
	}
	/* Delivered starting from who, as the order of the ring has it. */
	for (int k = 0; k < NPROC; k++) {
		int i = (who + k) % NPROC;

		if (part & (1u << i)) {
			deliver_sync(w, i, &says[i]);
		}
	}
}

static void
deliver_resign(struct world *w, int from, uint64_t epoch)
{
	unsigned vid = w->p[from].vid;

	for (int i = 0; i < NPROC; i++) {
		struct proc *p = &w->p[i];
		struct named before = named_now(&p->e);
		int rc;

		if (!vid || p->vid != vid) {
			continue;
		}
		rc = haq__election_resign(&p->e, ids[from].nodeid,
					  ids[from].pid, epoch);
		check_event(w, i, before, rc, NULL, 0, 0);
	}
	end_event(w);
}

static void
deliver_eligible(struct world *w, int from, bool eligible)
{
	unsigned vid = w->p[from].vid;

	w->p[from].eligible = eligible;
	for (int i = 0; i < NPROC; i++) {
		struct proc *p = &w->p[i];
		struct named before = named_now(&p->e);
		int rc;

		if (!vid || p->vid != vid) {
			continue;
		}
		rc = haq__election_eligible(&p->e, ids[from].nodeid,
					    ids[from].pid, eligible);
		check_event(w, i, before, rc, NULL, 0, 0);
	}
	end_event(w);
}

static void
op_resign(struct world *w, int who, bool stale)
{
	struct proc *p = &w->p[who];
	uint64_t epoch;

	if (!p->vid) {
		return;
	}
	flush(w, who);
	if (is_self(p, who) && !stale) {
		epoch = p->e.epoch;
	} else if (p->e.epoch > 1) {
		epoch = p->e.epoch - 1;
	} else {
		epoch = p->seen;
	}
	if (epoch) {
		deliver_resign(w, who, epoch);
	}
}

static bool
op_cut_off(struct world *w, int who, bool wipe)
{
	struct proc *p = &w->p[who];
	unsigned rest = partition_of(w, p->vid) & ~(1u << who);
	bool quorate = p->quorate;
	struct named before = named_now(&p->e);
	int rc;

	rc = haq__election_reset(&p->e);
	p->vid = 0;
	p->quorate = false;
	p->owes = false;
	check_event(w, who, before, rc, NULL, 0, 0);
	end_event(w);
	REQUIRE(p->e.nodeid == 0 && p->e.n == 0);
	if (wipe) {
		haq__election_free(&p->e);
		memset(&p->e, 0, sizeof(p->e));
		p->seen = 0;
		p->eligible = true;
	}
	return !rest || give_view(w, rest, quorate);
}

/*
 * Raw bytes as a peer sent them. Returns the bytes used, or 0 at the end
 * of the input.
 */
static size_t
op_raw(struct world *w, int who, const uint8_t *data, size_t size)
{
	size_t len;
	uint8_t *copy;
	uint8_t again[HAQ_SYNC_LEN];
	int type;

	if (size < 1) {
		return 0;
	}
	type = data[0] & 3;
	len = data[0] >> 2;
	if (len > size - 1) {
		len = size - 1;
	}
	copy = malloc(len ? len : 1);
	if (!copy) {
		return 1 + len;
	}
	memcpy(copy, data + 1, len);
	switch (type) {
	case 0: {
		struct haq_sync s;

		if (haq__sync_decode(copy, len, &s) < 0) {
			break;
		}
		haq__sync_encode(&s, again);
		/* Whatever decodes encodes back the same, and makes sense. */
		REQUIRE(len == HAQ_SYNC_LEN);
		REQUIRE(memcmp(copy, again, len) == 0);
		REQUIRE(s.claim == (s.epoch != 0));
		REQUIRE(s.epoch <= s.max_epoch);
		REQUIRE(!s.claim || s.quorate);
		if (w->p[who].vid) {
			flush(w, who);
			w->forged = true;
			deliver_sync(w, who, &s);
		}
		break;
	}
	case 1: {
		uint64_t epoch;
		uint64_t nonce;

		if (haq__renew_decode(copy, len, &epoch, &nonce) < 0) {
			break;
		}
		haq__renew_encode(epoch, nonce, again);
		REQUIRE(len == HAQ_RENEW_LEN);
		REQUIRE(memcmp(copy, again, len) == 0);
		REQUIRE(epoch != 0);
		break;
	}
	case 2: {
		uint64_t epoch;

		if (haq__resign_decode(copy, len, &epoch) < 0) {
			break;
		}
		haq__resign_encode(epoch, again);
		REQUIRE(len == HAQ_RESIGN_LEN);
		REQUIRE(memcmp(copy, again, len) == 0);
		REQUIRE(epoch != 0);
		if (w->p[who].vid) {
			flush(w, who);
			deliver_resign(w, who, epoch);
		}
		break;
	}
	default: {
		bool eligible;

		if (haq__eligible_decode(copy, len, &eligible) < 0) {
			break;
		}
		haq__eligible_encode(eligible, again);
		REQUIRE(len == HAQ_ELIGIBLE_LEN);
		REQUIRE(memcmp(copy, again, len) == 0);
		if (w->p[who].vid) {
			flush(w, who);
			deliver_eligible(w, who, eligible);
		}
		break;
	}
	}
	free(copy);
	return 1 + len;
}

/*
 * FUZZ_ELECTION_TRACE=1 prints every operation and what each process
 * names after it: the way to read a crash input.
 */
static void
trace(const struct world *w, size_t at, uint8_t op)
{
	static int on = -1;

	if (on < 0) {
		on = getenv("FUZZ_ELECTION_TRACE") != NULL;
	}
	if (!on) {
		return;
	}
	fprintf(stderr, "@%zu op %u (kind %u who %u flag %u):\n", at, op,
		op & 7u, (op >> 3) % NPROC, ((op >> 3) / NPROC) & 1u);
	for (int i = 0; i < NPROC; i++) {
		const struct proc *p = &w->p[i];

		fprintf(stderr,
			"  %u/%u view %u%s%s: leader %u/%u epoch %llu%s, seen "
			"%llu\n",
			ids[i].nodeid, ids[i].pid, p->vid,
			p->quorate ? " quorate" : "", p->owes ? " owes" : "",
			p->e.nodeid, p->e.pid, (unsigned long long)p->e.epoch,
			p->e.decided ? " decided" : "",
			(unsigned long long)p->seen);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct world w;
	size_t pos = 0;

	memset(&w, 0, sizeof(w));
	for (int i = 0; i < NPROC; i++) {
		w.p[i].eligible = true;
	}
	w.clock_us = 1000;
	while (pos < size) {
		size_t at = pos;
		uint8_t op = data[pos++];
		unsigned args = op >> 3;
		int who = (int)(args % NPROC);
		bool flag = (args / NPROC) & 1;

		/* The one wall clock moves on: senders stamp their SYNCs. */
		w.clock_us++;
		switch (op & 7) {
		case 0:
			if (pos >= size) {
				goto out;
			}
			if (!op_view(&w, data[pos++])) {
				goto out;
			}
			break;
		case 1:
		case 2:
			if (w.p[who].owes) {
				w.p[who].owes = false;
				if (flag) {
					/* Its lease ran out: no claim. */
					w.p[who].round_sync.claim = false;
					w.p[who].round_sync.epoch = 0;
				}
				deliver_sync(&w, who, &w.p[who].round_sync);
			}
			break;
		case 3:
			op_quorum(&w, who, flag);
			break;
		case 4:
			op_resign(&w, who, flag);
			break;
		case 5:
			if (w.p[who].vid) {
				flush(&w, who);
				deliver_eligible(&w, who, flag);
			}
			break;
		case 6:
			if (!op_cut_off(&w, who, flag)) {
				goto out;
			}
			break;
		default: {
			size_t used = op_raw(&w, who, data + pos, size - pos);

			if (!used) {
				goto out;
			}
			pos += used;
			break;
		}
		}
		trace(&w, at, op);
		check_agree(&w);
	}
out:
	for (int i = 0; i < NPROC; i++) {
		haq__election_free(&w.p[i].e);
	}
	return 0;
}
