/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Request/reply bookkeeping: pure logic, unit-tested and fuzzed alone.
 *
 * A request is a control frame in the total order. The members that must
 * answer it are the members of the view in which it is delivered: every
 * member delivers it in the same view (virtual synchrony), so each one
 * knows whether it must answer, and the requester knows whom it waits for.
 * A reply is a control frame too, multicast (CPG has no unicast) with the
 * requester's identity in its first bytes, so that every other member
 * drops it after reading 16 bytes.
 *
 * Frames (control body, all integers little-endian):
 *   REQUEST  0 type | 1 mode | 2..7 zero | 8 id (u64, not 0) | data
 *   REPLY    0 type | 1..3 zero | 4 status (i32, 0 or -errno) |
 *            8 requester nodeid | 12 requester pid | 16 id | data
 *   CANCEL   0 type | 1..7 zero | 8 id
 * Request ids are per requester process; a process that leaves is
 * forgotten by every member, so an id never names two requests at once.
 *
 * Requester side (struct haq_rr_out): the responders are fixed when the
 * request comes back in the agreed stream; each then answers, or leaves
 * (marked, never waited for); joiners are not responders. Responder side
 * (struct haq_rr_table): the requests this process must still answer,
 * under local handles, and a short memory of the handles answered or
 * cancelled, for a clear error on a late reply.
 */
#ifndef HAQ_RR_H
#define HAQ_RR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memb.h"
#include "wire.h"

#define HAQ_RR_REQUEST_HDR 16
#define HAQ_RR_REPLY_HDR 24
#define HAQ_RR_CANCEL_LEN 16
/* Data in one request or reply: one control frame, never fragmented. */
#define HAQ_RR_DATA_MAX (HAQ_DATA_PAYLOAD_MAX - HAQ_RR_REPLY_HDR)
/* Handles answered or cancelled that a late reply is told about. */
#define HAQ_RR_RECENT 64

/* The modes (as enum haq_request_mode of haq.h). */
enum {
	HAQ_RR_NONE = 0,
	HAQ_RR_FIRST = 1,
	HAQ_RR_ALL = 2,
	HAQ_RR_MAJORITY = 3,
};

struct haq_rr_request {
	int mode;
	uint64_t id;
	const uint8_t *data; /* into the frame */
	size_t len;
};

struct haq_rr_reply {
	int status;
	uint32_t nodeid; /* the requester */
	uint32_t pid;
	uint64_t id;
	const uint8_t *data; /* into the frame */
	size_t len;
};

/* Encode a frame's header into buf; the data follows it. */
void haq__rr_encode_request(uint8_t *buf, int mode, uint64_t id);
void haq__rr_encode_reply(uint8_t *buf, int status, uint32_t nodeid,
			  uint32_t pid, uint64_t id);
void haq__rr_encode_cancel(uint8_t *buf, uint64_t id);

/*
 * Decoders of a control body c of len bytes (type byte included): 0, or
 * -EBADMSG for anything malformed (short, wrong type, nonzero reserved
 * bytes, unknown mode, id 0, a positive status or one below -4095).
 */
int haq__rr_decode_request(const uint8_t *c, size_t len,
			   struct haq_rr_request *r);
int haq__rr_decode_reply(const uint8_t *c, size_t len, struct haq_rr_reply *r);
int haq__rr_decode_cancel(const uint8_t *c, size_t len, uint64_t *id);

/*
 * Whether a REPLY body is addressed to (nodeid, pid), from its first 16
 * bytes only: 1 yes, 0 no, -EBADMSG too short to tell.
 */
int haq__rr_reply_for(const uint8_t *c, size_t len, uint32_t nodeid,
		      uint32_t pid);

/* A responder's answer, as the requester knows it. */
enum {
	HAQ_RR_PENDING = 0,
	HAQ_RR_OK = 1,	   /* replied with status 0 */
	HAQ_RR_FAILED = 2, /* replied with an error */
	HAQ_RR_LEFT = 3,   /* left the view without replying */
};

struct haq_rr_resp {
	uint32_t nodeid;
	uint32_t pid;
	int state;
};

/* One request of this process, waiting for its answers. */
struct haq_rr_out {
	uint64_t id;
	int mode;
	bool delivered;	       /* came back: the responders are known */
	struct haq_rr_resp *r; /* sorted by (nodeid, pid) */
	size_t n;
	size_t pending;
	size_t ok;
	size_t failed;
	size_t left;
};

/* A request of mode and id, not yet delivered. */
void haq__rr_out_init(struct haq_rr_out *o, int mode, uint64_t id);
void haq__rr_out_free(struct haq_rr_out *o);

/*
 * The request came back in a view of members (sorted): they are its
 * responders. 0, -EALREADY (delivered before: a duplicate), -ENOMEM.
 */
int haq__rr_out_delivered(struct haq_rr_out *o, const struct haq_memb *members,
			  size_t n);

/*
 * A reply from (nodeid, pid) with status. 0, or -ENOENT (not a
 * responder: the request is not delivered, or the sender joined later),
 * -EALREADY (it answered already, or left).
 */
int haq__rr_out_reply(struct haq_rr_out *o, uint32_t nodeid, uint32_t pid,
		      int status);

/*
 * The next responder that still had to answer and is not in the view of
 * members (sorted): marked as left and returned (1), or 0 when none.
 */
int haq__rr_out_next_leaver(struct haq_rr_out *o,
			    const struct haq_memb *members, size_t n,
			    uint32_t *nodeid, uint32_t *pid);

/*
 * Whether the request is complete: 1 with *result 0 (the mode's answers
 * came) or -EREMOTEIO (they can no longer come: too many responders
 * failed or left), else 0. A request not yet delivered is not complete.
 */
int haq__rr_out_complete(const struct haq_rr_out *o, int *result);

/* A request this process must answer. */
struct haq_rr_in {
	uint64_t handle; /* local, increasing from 1 */
	uint32_t nodeid; /* the requester */
	uint32_t pid;
	uint64_t id; /* the requester's id */
};

struct haq_rr_table {
	struct haq_rr_in *v; /* sorted by handle */
	size_t n;
	size_t cap;
	uint64_t next_handle;
	struct {
		uint64_t handle;
		int why; /* -EALREADY answered, or -ECANCELED */
	} recent[HAQ_RR_RECENT];
	unsigned int recent_pos;
};

void haq__rr_table_init(struct haq_rr_table *t);
void haq__rr_table_free(struct haq_rr_table *t);

/* Take a request of (nodeid, pid) with its id: its handle, or 0 (ENOMEM). */
uint64_t haq__rr_in_add(struct haq_rr_table *t, uint32_t nodeid, uint32_t pid,
			uint64_t id);

/*
 * Find handle: its entry, or NULL with *err: -ECANCELED (cancelled),
 * -EALREADY (answered, or gone too long ago to tell), -ENOENT (never
 * given).
 */
const struct haq_rr_in *haq__rr_in_find(const struct haq_rr_table *t,
					uint64_t handle, int *err);

/* Forget handle, remembering why (-EALREADY or -ECANCELED). */
void haq__rr_in_remove(struct haq_rr_table *t, uint64_t handle, int why);

/* The handle of (nodeid, pid)'s request id, or 0. */
uint64_t haq__rr_in_lookup(const struct haq_rr_table *t, uint32_t nodeid,
			   uint32_t pid, uint64_t id);

/*
 * The next pending request whose requester is not in the view of members
 * (sorted) (n 0: any request): its handle (1, the request is forgotten as
 * cancelled), or 0 when none.
 */
int haq__rr_in_next_orphan(struct haq_rr_table *t,
			   const struct haq_memb *members, size_t n,
			   uint64_t *handle);

#endif /* HAQ_RR_H */
