/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Wire format of libhaq frames and the per-sender receive state
 * (sequence checks and fragment reassembly). Pure logic: no corosync here,
 * so every decoder of peer input can be unit-tested and fuzzed alone.
 *
 * Frame layout, all integers little-endian:
 *   off  size  field
 *     0     4  magic        HAQ_WIRE_MAGIC
 *     4     1  version      HAQ_WIRE_VERSION
 *     5     1  type         enum haq_wire_type
 *     6     2  flags        HAQ_WIRE_F_* (data and fragments), else 0
 *     8     8  incarnation  random per sending context, never 0
 *    16     8  seq          per-sender, per-group message number, from 1
 *   -- fragments only --
 *    24     8  total        length of the whole message
 *    32     8  offset       where this fragment's payload starts
 * The payload follows the header. Every fragment of one message carries the
 * message's seq; a data frame is a whole message; a control frame carries
 * libhaq's own protocol (first payload byte: enum haq_control) and the
 * sender's next seq, which it does not consume: receivers apply no sequence
 * rules to control frames. A bundle frame carries several whole messages
 * with consecutive seqs from the header's on (layout in bundle.h); it is
 * sent only to groups whose every member announced that it decodes them
 * (HAQ_CONTROL_CAPS), since older receivers refuse the type.
 */
#ifndef HAQ_WIRE_H
#define HAQ_WIRE_H

#include <endian.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "le.h"

#define HAQ_WIRE_MAGIC 0x31514148u /* "HAQ1" read as little-endian */
#define HAQ_WIRE_VERSION 1
#define HAQ_WIRE_HDR_LEN 24
#define HAQ_WIRE_FRAG_HDR_LEN 40
/* corosync 3.1.7: cpg_max_atomic_msgsize_get() */
#define HAQ_CPG_ATOMIC_MAX 1047552u
/* Largest payload of one frame: frames never reach libcpg's fragmenter. */
#define HAQ_FRAG_PAYLOAD_MAX (HAQ_CPG_ATOMIC_MAX - HAQ_WIRE_FRAG_HDR_LEN)
#define HAQ_DATA_PAYLOAD_MAX (HAQ_CPG_ATOMIC_MAX - HAQ_WIRE_HDR_LEN)

/*
 * The message's payload is compressed (compress.h): set on a data frame
 * or on every fragment of a message. Sent only to groups whose every
 * member announced HAQ_CAP_LZ4; other flags are reserved and must be 0.
 */
#define HAQ_WIRE_F_COMPRESSED 0x0001u

enum haq_wire_type {
	HAQ_WIRE_DATA = 1,
	HAQ_WIRE_FRAG = 2,
	HAQ_WIRE_CONTROL = 3,
	HAQ_WIRE_BUNDLE = 4,
};

enum haq_control {
	/*
	 * libhaq 0.1-0.2's leader announcement, no longer sent: a member
	 * that sends it runs an election this one does not follow.
	 */
	HAQ_CONTROL_EPOCH_V1 = 1,
	/* The election's frames (election.h). */
	HAQ_CONTROL_SYNC = 2,
	HAQ_CONTROL_RENEW = 3,
	HAQ_CONTROL_RESIGN = 4,
	HAQ_CONTROL_ELIGIBLE = 5,
	/* State transfer's frames (xfer.h). */
	HAQ_CONTROL_XFER_BEGIN = 6,
	HAQ_CONTROL_XFER_CHUNK = 7,
	HAQ_CONTROL_XFER_END = 8,
	HAQ_CONTROL_XFER_ABORT = 9,
	HAQ_CONTROL_XFER_GIVEUP = 10,
	/* 11: reserved for state transfer. */
	/*
	 * What the sender decodes beyond version 1 (LE32 of enum haq_caps
	 * bits after the type byte; longer payloads: later bits, ignored).
	 * Sent after every view.
	 */
	HAQ_CONTROL_CAPS = 12,
	/* Request/reply's frames (rr.h): 20..29. */
	HAQ_CONTROL_RR_FIRST = 20,
	HAQ_CONTROL_RR_REQUEST = 20,
	HAQ_CONTROL_RR_REPLY = 21,
	HAQ_CONTROL_RR_CANCEL = 22,
	HAQ_CONTROL_RR_LAST = 29,
	/* Locks' frames (lock.h): 30..39. */
	HAQ_CONTROL_LOCK_FIRST = 30,
	HAQ_CONTROL_LOCK_ACQUIRE = 30,
	HAQ_CONTROL_LOCK_RELEASE = 31,
	HAQ_CONTROL_LOCK_RENEW = 32,
	HAQ_CONTROL_LOCK_SYNC = 33,
	HAQ_CONTROL_LOCK_LAST = 39,
};

/* Capabilities a member announces with HAQ_CONTROL_CAPS. */
enum haq_caps {
	HAQ_CAP_BUNDLE = 1u << 0,   /* HAQ_WIRE_BUNDLE frames */
	HAQ_CAP_LZ4 = 1u << 1,	    /* HAQ_WIRE_F_COMPRESSED with lz4 */
	HAQ_CAP_LOCK = 1u << 2,	    /* takes part in locks (lock.h) */
	HAQ_CAP_XFER_LZ4 = 1u << 3, /* lz4 CHUNKs (xfer.h) */
};

struct haq_wire_hdr {
	uint8_t type;
	uint16_t flags;
	uint64_t incarnation;
	uint64_t seq;
	uint64_t total;  /* fragments only */
	uint64_t offset; /* fragments only */
};

/*
 * Write the header for h into buf (at least HAQ_WIRE_FRAG_HDR_LEN bytes).
 * Returns the header length: HAQ_WIRE_HDR_LEN or HAQ_WIRE_FRAG_HDR_LEN.
 */
size_t haq__wire_encode(const struct haq_wire_hdr *h, uint8_t *buf);

/* Set the seq of an encoded header (little-endian, as haq__wire_encode). */
static inline void
haq__wire_set_seq(uint8_t *hdr, uint64_t seq)
{
	haq__le64_store(hdr + 16, seq);
}

/*
 * Parse and validate the header of a frame of len bytes. Returns the header
 * length (the payload starts there), or -EBADMSG for anything malformed:
 * short frame, bad magic, unknown version or type, nonzero flags, zero
 * incarnation or seq, empty payload, a fragment whose total is 0, whose
 * offset is not below total, or whose payload runs past total.
 */
int haq__wire_decode(const void *frame, size_t len, struct haq_wire_hdr *h);

/* What a sender has in progress and what it sent last. */
struct haq_peer {
	uint32_t nodeid;
	uint32_t pid;
	uint64_t incarnation;
	uint64_t next_seq; /* the seq expected next; 0 = nothing seen yet */
	uint64_t frag_seq; /* seq of the message being reassembled, 0 none */
	uint64_t skip_seq; /* seq of an oversize message being skipped, 0 none */
	int resync;        /* continuations without a partial are expected */
	uint32_t caps;     /* enum haq_caps it announced (0 until then) */
	uint8_t *buf;      /* reassembly buffer, total bytes */
	size_t total;
	size_t have;
};

/* The receive state of one group: peers sorted by (nodeid, pid). */
struct haq_peers {
	struct haq_peer *v;
	size_t n;
	size_t cap;
	size_t last; /* index of the last sender looked up (a hint) */
};

enum haq_rx_result {
	HAQ_RX_DELIVER = 1, /* a whole message: out->data, out->len */
	HAQ_RX_PENDING = 2, /* a fragment was absorbed; nothing to deliver */
	HAQ_RX_CONTROL = 3, /* a control frame: out->data, out->len */
	HAQ_RX_BUNDLE = 4,  /* out->count messages from out->seq on, in the
			       checked bundle payload out->data, out->len */
};

struct haq_rx {
	const void *data;
	size_t len;
	void *owned;   /* non-NULL: a reassembled buffer the caller free()s */
	uint64_t seq;
	size_t count;  /* messages in a bundle (HAQ_RX_BUNDLE), else 1 */
	uint16_t flags; /* HAQ_WIRE_F_* of a delivered message's frame */
	int gap;       /* 1 when seq skipped ahead of the expected one: this
			  receiver missed messages of the sender */
};

/*
 * Feed one frame received from (nodeid, pid). Continuation fragments whose
 * message start this receiver did not take (the sender was new to it, or a
 * view change dropped the partial: haq__peers_drop_partials()) are dropped
 * quietly (HAQ_RX_PENDING) without consuming their seq, until the sender's
 * next message start. Returns an enum haq_rx_result
 * or a negative errno: -EBADMSG malformed (bad header, fragment out of
 * order or inconsistent with the message in progress, which is then
 * discarded), -EMSGSIZE the message is larger than max_msg (it and its
 * further fragments are dropped), -EALREADY a duplicate (seq already seen),
 * -ENOMEM. A new incarnation of a (nodeid, pid) resets its state. A
 * bundle is checked whole before anything is taken from it, and its
 * messages are consumed at once; the caller applies max_msg to each.
 */
int haq__peers_rx(struct haq_peers *peers, uint32_t nodeid, uint32_t pid,
		  const void *frame, size_t len, size_t max_msg,
		  struct haq_rx *out);

/*
 * Forget a sender that left the view. Returns 1 if a partial message was
 * discarded, else 0.
 */
int haq__peers_remove(struct haq_peers *peers, uint32_t nodeid, uint32_t pid);

/*
 * A view change: every member drops every partial message at the same
 * point of the agreed stream, so a multi-frame message is delivered in the
 * view its first frame was sent in or, sent again, in a later one. Returns
 * the number of partial messages dropped.
 */
size_t haq__peers_drop_partials(struct haq_peers *peers);

/* The seq of the message being reassembled from (nodeid, pid), or 0. */
uint64_t haq__peers_partial(struct haq_peers *peers, uint32_t nodeid,
			    uint32_t pid);

/*
 * Bytes of message seq from (nodeid, pid) reassembled so far: 0 when that
 * is not the sender's partial message (none yet, or dropped).
 */
size_t haq__peers_partial_have(struct haq_peers *peers, uint32_t nodeid,
			       uint32_t pid, uint64_t seq);

/* The state of sender (nodeid, pid), or NULL if none was seen. */
struct haq_peer *haq__peers_get(struct haq_peers *peers, uint32_t nodeid,
				uint32_t pid);

/* Free all receive state. */
void haq__peers_free(struct haq_peers *peers);

#endif /* HAQ_WIRE_H */
