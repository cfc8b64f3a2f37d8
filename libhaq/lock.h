/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The lock table: pure logic, unit-tested and fuzzed alone.
 *
 * Every member applies the same operations in the same order (ACQUIRE and
 * RELEASE frames in the total order, the views' leavers, the table
 * adopted from a LOCK_SYNC), so every member holds the same table: who
 * holds each lock, with which fencing token, and who waits, first come
 * first served. Nothing here reads a clock or corosync; the glue
 * (group_lock.c) says whether the table may grant (a quorate view whose
 * table is synced) and tells this process of its own grants.
 *
 * Fencing tokens: every grant's token is above every token granted
 * before in the table's history and not below the requester's wall clock
 * (microseconds) that its ACQUIRE carries, so tokens keep increasing even
 * when every member's table was lost at once. Once the last token is
 * UINT64_MAX the table grants no more (a try is told NOQUORUM).
 *
 * Frames (control body, all integers little-endian):
 *   ACQUIRE  0 type | 1 flags (1: try) | 2 name length | 3..7 zero |
 *            8 request id (u64, not 0) | 16 clock_us | 24 name
 *   RELEASE  0 type | 1 zero | 2 name length | 3..7 zero |
 *            8 request id | 16 name
 *   RENEW    0 type | 1..7 zero | 8 nonce
 *   SYNC     0 type | 1 flags (1: valid, 2: restart) | 2 round (u16) |
 *            4..7 zero | 8 view id | 16 last token |
 *            24 table (valid only: haq__lock_encode())
 *            A view's first round is 0; a restart (quorum came under the
 *            view) names the next round.
 * A name is 1..HAQ_LOCK_NAME_MAX bytes, none of them NUL.
 */
#ifndef HAQ_LOCK_H
#define HAQ_LOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memb.h"

#define HAQ_LOCK_NAME_MAX_ 64
/* Holders and waiters in a table, at most: one SYNC frame carries it. */
#define HAQ_LOCK_ENTRIES_MAX_ 8192u

#define HAQ_LOCK_ACQUIRE_HDR 24
#define HAQ_LOCK_RELEASE_HDR 16
#define HAQ_LOCK_RENEW_LEN 16
#define HAQ_LOCK_SYNC_HDR 24
#define HAQ_LOCK_F_TRY 1u
#define HAQ_LOCK_SYNC_VALID 1u
#define HAQ_LOCK_SYNC_RESTART 2u

/* Who holds or waits: a process and its request. */
struct haq_lock_entry {
	uint32_t nodeid;
	uint32_t pid;
	uint64_t req;
	uint64_t clock_us; /* waiters: the ACQUIRE's clock; holders: 0 */
};

struct haq_lock {
	char name[HAQ_LOCK_NAME_MAX_ + 1];
	uint8_t nlen;
	bool held;
	struct haq_lock_entry holder;
	uint64_t token; /* the holder's */
	struct haq_lock_entry *waiters; /* FIFO */
	size_t nwait;
	size_t cap;
};

struct haq_lock_table {
	struct haq_lock *locks; /* sorted by name (length, then bytes) */
	size_t n;
	size_t cap;
	size_t entries; /* holders and waiters */
	uint64_t last_token;
};

/* What an operation did, for each process concerned. */
enum haq_lock_what {
	HAQ_LOCK_EV_GRANTED = 1, /* the request holds the lock (token) */
	HAQ_LOCK_EV_BUSY = 2,	 /* a try failed: the lock is held */
	HAQ_LOCK_EV_NOQUORUM = 3, /* a try failed: the table may not grant */
	HAQ_LOCK_EV_FULL = 4,	  /* refused: the table is full */
};

struct haq_lock_event {
	int what;
	const char *name; /* NUL-terminated, valid during the call */
	struct haq_lock_entry who;
	uint64_t token;
};

typedef void (*haq_lock_event_fn)(void *arg, const struct haq_lock_event *ev);

/* A decoded ACQUIRE or RELEASE; name points into the frame. */
struct haq_lock_op {
	bool try_;
	uint64_t req;
	uint64_t clock_us;
	const char *name;
	size_t nlen;
};

void haq__lock_table_init(struct haq_lock_table *t);
void haq__lock_table_free(struct haq_lock_table *t);

/*
 * An ACQUIRE by (nodeid, pid). grant: the table may grant now. Events
 * go to fn. Returns 0, -EALREADY (this process holds or waits for the
 * lock already: nothing changes), -ENOMEM (nothing changes).
 */
int haq__lock_acquire(struct haq_lock_table *t, uint32_t nodeid, uint32_t pid,
		      const struct haq_lock_op *op, bool grant,
		      haq_lock_event_fn fn, void *arg);

/*
 * A RELEASE by (nodeid, pid) of its request op->req: releases the lock if
 * that request holds it (the next waiter is granted when grant), or takes
 * the request out of the waiters. Returns 0, or -ENOENT (no such holder
 * or waiter: nothing changes).
 */
int haq__lock_release(struct haq_lock_table *t, uint32_t nodeid, uint32_t pid,
		      const struct haq_lock_op *op, bool grant,
		      haq_lock_event_fn fn, void *arg);

/*
 * Take out every holder and waiter that is not among members (sorted;
 * n 0: all), then, when grant, grant every free lock with a waiter (in
 * name order).
 */
void haq__lock_purge(struct haq_lock_table *t, const struct haq_memb *members,
		     size_t n, bool grant, haq_lock_event_fn fn, void *arg);

/* The lock named name (nlen bytes), or NULL. */
const struct haq_lock *haq__lock_find(const struct haq_lock_table *t,
				      const char *name, size_t nlen);

/* Bytes haq__lock_encode() writes. */
size_t haq__lock_encoded_len(const struct haq_lock_table *t);
void haq__lock_encode(const struct haq_lock_table *t, uint8_t *buf);
/*
 * Decode a table into t (initialised, empty). 0, or -EBADMSG (malformed:
 * short, trailing bytes, bad names, names out of order or repeated, a
 * process twice in one lock, too many entries, a lock with neither holder
 * nor waiters, a holder's token 0 or above last_token, a request 0, a
 * held byte above 1: t is left empty), -ENOMEM. A free lock with
 * waiters is valid: a table that may not grant keeps them.
 */
int haq__lock_decode(struct haq_lock_table *t, const uint8_t *buf, size_t len,
		     uint64_t last_token);

/* Frames (type byte included). Decoders: 0 or -EBADMSG. */
size_t haq__lock_encode_acquire(uint8_t *buf, uint8_t type, bool try_,
				uint64_t req, uint64_t clock_us,
				const char *name, size_t nlen);
size_t haq__lock_encode_release(uint8_t *buf, uint8_t type, uint64_t req,
				const char *name, size_t nlen);
int haq__lock_decode_acquire(const uint8_t *c, size_t len,
			     struct haq_lock_op *op);
int haq__lock_decode_release(const uint8_t *c, size_t len,
			     struct haq_lock_op *op);
void haq__lock_encode_sync_hdr(uint8_t *buf, uint8_t type, bool valid,
			       bool restart, uint16_t round, uint64_t view_id,
			       uint64_t last_token);
int haq__lock_decode_sync_hdr(const uint8_t *c, size_t len, bool *valid,
			      bool *restart, uint16_t *round,
			      uint64_t *view_id, uint64_t *last_token);

/* Whether name (nlen bytes) is a valid lock name. */
bool haq__lock_name_ok(const char *name, size_t nlen);

#endif /* HAQ_LOCK_H */
