/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The hold queue: CPG events waiting for their ring's quorum (holdq.h).
 */
#include "holdq.h"

#include <stdlib.h>
#include <string.h>

struct haq_held *
haq__held_new(int kind, size_t len)
{
	struct haq_held *h = malloc(sizeof(*h) + len);

	if (!h) {
		return NULL;
	}
	memset(h, 0, sizeof(*h));
	h->kind = kind;
	h->len = len;
	return h;
}

void
haq__holdq_push(struct haq_holdq *q, struct haq_held *h, uint64_t now)
{
	h->next = NULL;
	if (q->tail) {
		q->tail->next = h;
	} else {
		q->head = h;
		q->since = now;
	}
	q->tail = h;
}

void
haq__holdq_set_ring(struct haq_holdq *q, uint32_t nodeid, uint64_t seq)
{
	for (struct haq_held *h = q->head; h; h = h->next) {
		if (h->kind == HAQ_HELD_VIEW && h->ring_seq == 0) {
			h->ring_nodeid = nodeid;
			h->ring_seq = seq;
		}
	}
}

struct haq_held *
haq__holdq_pop_ready(struct haq_holdq *q, uint64_t done_seq, bool force,
		     uint32_t ring_nodeid, uint64_t ring_seq, uint64_t now)
{
	struct haq_held *h = q->head;

	if (!h) {
		return NULL;
	}
	if (h->kind != HAQ_HELD_FRAME && !force &&
	    !haq__holdq_ready(h->ring_seq, done_seq)) {
		return NULL;
	}
	if (h->kind != HAQ_HELD_FRAME && h->ring_seq == 0) {
		/* Forced out before its ring was seen: the latest. */
		h->ring_nodeid = ring_nodeid;
		h->ring_seq = ring_seq;
	}
	q->head = h->next;
	if (!q->head) {
		q->tail = NULL;
	}
	q->since = now;
	h->next = NULL;
	return h;
}

uint64_t
haq__holdq_deadline(const struct haq_holdq *q, uint64_t hold_ns)
{
	return q->head ? q->since + hold_ns : 0;
}

void
haq__held_free(struct haq_held *h, void (*free_view)(struct haq_view *))
{
	if (h->view && free_view) {
		free_view(h->view);
	}
	free(h);
}

void
haq__holdq_clear(struct haq_holdq *q, void (*free_view)(struct haq_view *))
{
	while (q->head) {
		struct haq_held *h = q->head;

		q->head = h->next;
		haq__held_free(h, free_view);
	}
	q->tail = NULL;
}
