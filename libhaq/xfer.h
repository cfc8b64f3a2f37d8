/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * State transfer from the agreed stream: pure logic, unit-tested alone.
 *
 * Every member applies the same events in the same order (views, and the
 * transfer frames in the total order), so the members that share a
 * history hold the same table: who holds the state (S), whose status is
 * unknown since a healed partition (U), which holders were passed over in
 * this view (X), and the transfer under way with its receivers (R).
 *
 * - A transfer starts at its BEGIN: the cut. The first BEGIN delivered
 *   for the current view while no transfer runs is taken; it names the
 *   holders as its sender knows them, and every other member of the view
 *   is a receiver. Everyone then knows who holds the state, so a joiner
 *   (which knew nothing) and the two sides of a heal (which knew
 *   different things) agree from the cut on.
 * - Its provider sends CHUNKs (numbered from 0) and an END, in order; a
 *   CHUNK out of order or an END with an error stops it for everyone, at
 *   the same point, and passes the provider over for the view.
 * - A view without the provider, and every healed partition (a view with
 *   members that came with their node), stops it too: the sides of a
 *   heal know different transfers, and what they decide from then on
 *   must rest only on what both sides see.
 * - ABORT (a member saw no progress for the stall time) passes the
 *   provider over; GIVEUP (a receiver's buffer overflowed, or the state
 *   outgrew its limit) takes its sender out of the receivers only, or,
 *   delivered after the END it raced with, out of the holders again.
 * - Who offers (haq__xfer_bid_rank()): holders only, one at a time: the
 *   leader when it holds the state, else the lowest holder not passed
 *   over; the others in turn, each after one more stall time, so that a
 *   stalled member delays a transfer but cannot stop it. When the leader
 *   came with a healed partition its side offers; this side's holders
 *   offer a stall time later, which matters only when that side holds
 *   nothing. When no member of the view holds the state and none that
 *   did may live on elsewhere (every holder left, or its process went
 *   down; not its node, which may come back with the state), any member
 *   that knows says so (an EMPTY BEGIN): everyone keeps what it has and
 *   holds it.
 *
 * Nothing here waits for every member: a transfer needs its provider
 * only, and a member that does not answer is passed over in turn.
 */
#ifndef HAQ_XFER_H
#define HAQ_XFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memb.h"
#include "wire.h"

/* Bytes of one control frame's body before a CHUNK's data. */
#define HAQ_XFER_BEGIN_FIXED 24
#define HAQ_XFER_CHUNK_HDR 24
#define HAQ_XFER_END_LEN 32
#define HAQ_XFER_ABORT_LEN 16
#define HAQ_XFER_GIVEUP_LEN 16
/* Data bytes of one CHUNK (as written, before any compression). */
#define HAQ_XFER_CHUNK_MAX (HAQ_DATA_PAYLOAD_MAX - 1 - HAQ_XFER_CHUNK_HDR)
/*
 * A CHUNK's header is its transfer id, its index and its flags (LE64
 * each). HAQ_XFER_CHUNK_LZ4: the data is a compressed payload
 * (compress.h) of at most HAQ_XFER_CHUNK_MAX bytes once decompressed.
 * Sent only while every member of the view announced HAQ_CAP_XFER_LZ4
 * (and HAQ_CAP_LZ4): a build without it refuses any flag (the field was
 * reserved, zero).
 */
#define HAQ_XFER_CHUNK_LZ4 1u
/* Members a BEGIN may name (corosync allows far fewer processes). */
#define HAQ_XFER_MEMBERS_MAX 65536u

enum {
	HAQ_XFER_FLAG_EMPTY = 1, /* no member holds the state */
};

/* A BEGIN, decoded; holders points into the frame (8 bytes each). */
struct haq_xfer_begin {
	uint64_t id;
	uint64_t view_id;
	uint32_t flags;
	uint32_t nholders;
	const uint8_t *holders; /* nholders (nodeid, pid), little-endian */
};

struct haq_xfer_end {
	uint64_t id;
	uint64_t chunks; /* CHUNKs sent */
	uint64_t bytes;  /* their data bytes */
	int32_t error;   /* 0, or the provider's negative errno */
};

struct haq_xfer {
	uint32_t self_nodeid;
	uint32_t self_pid;
	bool known; /* S is known: false for a joiner until its first cut */
	uint64_t view_id;
	struct haq_memb *S; /* holders in the view, sorted */
	size_t ns;
	struct haq_memb *U; /* status unknown: came with a healed partition,
			       or were there before this joiner */
	size_t nu;
	struct haq_memb *X; /* holders passed over in this view */
	size_t nx;
	struct haq_memb *M; /* holders (or unknown) whose node left: they may
			       live on in another partition */
	size_t nm;
	/* The transfer under way: id 0 when none. */
	uint64_t id;
	uint32_t prov_nodeid;
	uint32_t prov_pid;
	struct haq_memb *R; /* its receivers in the view, not given up */
	size_t nr;
	uint64_t next_index; /* the CHUNK expected next */
	uint64_t bytes;      /* data bytes of its CHUNKs so far */
	/* This process's part in it. */
	bool self_receives;
	bool self_provides;
};

/* What an event did (bits); error says why a transfer stopped. */
enum {
	HAQ_XFER_STOPPED = 1,  /* the transfer under way stopped (error) */
	HAQ_XFER_STARTED = 2,  /* a BEGIN was taken: a transfer starts */
	HAQ_XFER_DONE = 4,     /* its END came: the receivers hold the state */
	HAQ_XFER_EMPTY = 8,    /* an EMPTY BEGIN: every member holds now */
	HAQ_XFER_DELIVER = 16, /* a CHUNK for this process */
	HAQ_XFER_IGNORED = 32, /* not for the transfer under way: dropped */
};

struct haq_xfer_result {
	int bits;
	int error;    /* HAQ_XFER_STOPPED: -EHOSTDOWN, -ECONNRESET, ... */
	bool was_receiver; /* HAQ_XFER_STOPPED/EMPTY: this process was one */
	bool was_provider; /* HAQ_XFER_STOPPED: this process was it */
	bool replace;      /* HAQ_XFER_STARTED: this receiver held the state */
	const uint8_t *data; /* HAQ_XFER_DELIVER */
	size_t len;
	/*
	 * HAQ_XFER_DELIVER of a CHUNK sent compressed: data and len are
	 * its compressed payload (compress.h), raw_len the length it
	 * claims once decompressed (1..HAQ_XFER_CHUNK_MAX, counted in the
	 * transfer's bytes); the receiver decompresses it.
	 */
	bool compressed;
	size_t raw_len;
};

/* Set up for process (nodeid, pid), knowing nothing. */
void haq__xfer_init(struct haq_xfer *x, uint32_t nodeid, uint32_t pid);

/*
 * A view: its identity, its members sorted, the members that joined (with
 * reasons, HAQ_REASON_*), and whether it is this process's first view
 * since it joined. Returns 0 or -ENOMEM; r says what stopped.
 */
int haq__xfer_view(struct haq_xfer *x, uint64_t view_id,
		   const struct haq_memb *members, size_t n,
		   const struct haq_memb *joined, size_t njoined, bool first,
		   struct haq_xfer_result *r);
/*
 * The same, knowing who left and why: holders whose node left (reason
 * HAQ_REASON_NODEDOWN) may hold the state in another partition, so
 * nobody says it is lost (haq__xfer_lost()) while any of them may come
 * back. haq__xfer_view() is this with nobody known to have left so.
 */
int haq__xfer_view_left(struct haq_xfer *x, uint64_t view_id,
			const struct haq_memb *members, size_t n,
			const struct haq_memb *joined, size_t njoined,
			const struct haq_memb *left, size_t nleft, bool first,
			struct haq_xfer_result *r);

/*
 * The transfer frames from member (nodeid, pid) of the view (members
 * sorted), body after the control type byte. -EBADMSG for a frame that
 * does not parse (dropped, counted by the caller), -ENOMEM, else 0 with
 * r telling what it did.
 */
int haq__xfer_on_begin(struct haq_xfer *x, uint32_t nodeid, uint32_t pid,
		       const uint8_t *body, size_t len,
		       const struct haq_memb *members, size_t n,
		       struct haq_xfer_result *r);
/*
 * A CHUNK above max_bytes in all stops nothing: the caller gives up. A
 * compressed CHUNK whose payload header does not hold (compress.h: the
 * codec, a length 1..HAQ_XFER_CHUNK_MAX, a block long enough for it) is
 * -EBADMSG, like any CHUNK that does not parse: every member decides it
 * alike, from the bytes alone, and the next CHUNK is out of order.
 */
int haq__xfer_on_chunk(struct haq_xfer *x, uint32_t nodeid, uint32_t pid,
		       const uint8_t *body, size_t len,
		       struct haq_xfer_result *r);
int haq__xfer_on_end(struct haq_xfer *x, uint32_t nodeid, uint32_t pid,
		     const uint8_t *body, size_t len,
		     struct haq_xfer_result *r);
int haq__xfer_on_abort(struct haq_xfer *x, uint32_t nodeid, uint32_t pid,
		       const uint8_t *body, size_t len,
		       struct haq_xfer_result *r);
int haq__xfer_on_giveup(struct haq_xfer *x, uint32_t nodeid, uint32_t pid,
			const uint8_t *body, size_t len,
			struct haq_xfer_result *r);

/* This process holds the state. */
bool haq__xfer_holds(const struct haq_xfer *x);

/* Some member of the view needs the state and no transfer runs. */
bool haq__xfer_needed(const struct haq_xfer *x,
		      const struct haq_memb *members, size_t n);

/*
 * When this process offers (sends a BEGIN): -1 never (now), else after
 * that many stall times. leader: the group's leader as this process knows
 * it (nodeid 0: none); pending: a quorate round still deciding it.
 */
int haq__xfer_bid_rank(const struct haq_xfer *x,
		       const struct haq_memb *members, size_t n,
		       uint32_t leader_nodeid, uint32_t leader_pid,
		       bool pending);

/* No member of the view holds the state, and this process knows it. */
bool haq__xfer_lost(const struct haq_xfer *x);

/* Cut off from corosync: forget everything (the rejoin starts afresh). */
void haq__xfer_reset(struct haq_xfer *x, struct haq_xfer_result *r);
void haq__xfer_free(struct haq_xfer *x);

/* Encoders (bodies after the control type byte) and decoders. */
size_t haq__xfer_begin_len(uint32_t nholders);
void haq__xfer_begin_encode(uint64_t id, uint64_t view_id, uint32_t flags,
			    const struct haq_memb *holders, uint32_t n,
			    uint8_t *buf);
int haq__xfer_begin_decode(const uint8_t *buf, size_t len,
			   struct haq_xfer_begin *b);
/* flags: 0, or HAQ_XFER_CHUNK_LZ4. */
void haq__xfer_chunk_hdr_encode(uint64_t id, uint64_t index, uint32_t flags,
				uint8_t *buf);
void haq__xfer_end_encode(const struct haq_xfer_end *e, uint8_t *buf);
int haq__xfer_end_decode(const uint8_t *buf, size_t len,
			 struct haq_xfer_end *e);
/* ABORT and GIVEUP: the transfer's id and an errno. */
void haq__xfer_abort_encode(uint64_t id, int32_t error, uint8_t *buf);
int haq__xfer_abort_decode(const uint8_t *buf, size_t len, uint64_t *id,
			   int32_t *error);

#endif /* HAQ_XFER_H */
