/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The hold queue (holdq.c): CPG events of a group held back, in order,
 * until the quorum state of their totem ring has arrived, so that a view
 * is never reported with a stale quorum verdict. Pure logic, unit-tested
 * without corosync.
 *
 * corosync hands a configuration change of a ring change (and the first
 * one after a join) over before the totem change that names the new ring:
 * such a view waits with ring 0 and takes the ring of the next totem
 * change. Frames behind a held view wait too, to keep the agreed order.
 */
#ifndef HAQ_HOLDQ_H
#define HAQ_HOLDQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum haq_held_kind {
	HAQ_HELD_FRAME = 1, /* a message frame, copied */
	HAQ_HELD_VIEW,      /* a CPG configuration change */
	HAQ_HELD_TOTEM,     /* a totem ring change */
};

struct haq_view;

struct haq_held {
	struct haq_held *next;
	int kind;
	bool ring_change;     /* HAQ_HELD_VIEW: part of a totem ring change */
	uint32_t ring_nodeid; /* the ring it belongs to; seq 0: not known */
	uint64_t ring_seq;
	struct haq_view *view; /* HAQ_HELD_VIEW: owned by the entry */
	uint32_t ring_nodes;   /* HAQ_HELD_TOTEM: nodes in the ring */
	uint32_t nodeid;       /* HAQ_HELD_FRAME: the sender */
	uint32_t pid;
	size_t len;
	uint8_t data[]; /* HAQ_HELD_FRAME: the raw frame */
};

struct haq_holdq {
	struct haq_held *head;
	struct haq_held *tail;
	uint64_t since; /* when the head started waiting (monotonic ns) */
};

/* Whether an event of ring ring_seq may go, the quorum of done_seq known. */
static inline bool
haq__holdq_ready(uint64_t ring_seq, uint64_t done_seq)
{
	return ring_seq != 0 && done_seq >= ring_seq;
}

/*
 * The quorum verdicts of the last few rings, as votequorum gave them: a
 * view or totem change carries the verdict of its own ring only. votequorum
 * may report two rings before CPG reports the first; a ring whose verdict
 * never came (a node that formed a ring alone and was merged again before
 * votequorum spoke of it) is not quorate: a later ring's verdict says
 * nothing of it.
 */
#define HAQ_VERDICTS 16

struct haq_verdicts {
	uint64_t ring[HAQ_VERDICTS];
	int quorate[HAQ_VERDICTS];
	unsigned int next;
};

static inline void
haq__verdicts_add(struct haq_verdicts *v, uint64_t ring_seq, int quorate)
{
	unsigned int i = v->next++ % HAQ_VERDICTS;

	v->ring[i] = ring_seq;
	v->quorate[i] = quorate;
}

/* The verdict for ring_seq: 1 or 0, and 0 when none is known. */
static inline int
haq__verdicts_get(const struct haq_verdicts *v, uint64_t ring_seq)
{
	if (ring_seq == 0) {
		return 0;
	}
	/* Newest first: a ring reported twice keeps its latest verdict. */
	for (unsigned int k = 0; k < HAQ_VERDICTS && k < v->next; k++) {
		unsigned int i = (v->next - 1 - k) % HAQ_VERDICTS;

		if (v->ring[i] == ring_seq) {
			return v->quorate[i];
		}
	}
	return 0;
}

static inline bool
haq__holdq_empty(const struct haq_holdq *q)
{
	return q->head == NULL;
}

/* A new entry of len frame bytes (0 for views and totem changes). */
struct haq_held *haq__held_new(int kind, size_t len);

/* Append h; now starts the wait if the queue was empty. */
void haq__holdq_push(struct haq_holdq *q, struct haq_held *h, uint64_t now);

/* A totem change named ring (nodeid, seq): views waiting for it take it. */
void haq__holdq_set_ring(struct haq_holdq *q, uint32_t nodeid, uint64_t seq);

/*
 * Take the head if it may go: a frame always; a view or totem change once
 * its ring's quorum state arrived (done_seq), or when force is set (the
 * wait timed out: a view still without a ring takes the latest one,
 * ring_nodeid/ring_seq). Returns NULL when the head must wait or the
 * queue is empty. now restarts the wait for the next entry.
 */
struct haq_held *haq__holdq_pop_ready(struct haq_holdq *q, uint64_t done_seq,
				      bool force, uint32_t ring_nodeid,
				      uint64_t ring_seq, uint64_t now);

/* When the head's wait of hold_ns runs out, 0 when nothing waits. */
uint64_t haq__holdq_deadline(const struct haq_holdq *q, uint64_t hold_ns);

/* Free one entry; free_view (may be NULL) releases its view. */
void haq__held_free(struct haq_held *h, void (*free_view)(struct haq_view *));

/* Drop every entry. */
void haq__holdq_clear(struct haq_holdq *q,
		      void (*free_view)(struct haq_view *));

#endif /* HAQ_HOLDQ_H */
