/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The send queue: messages accepted by haq_group_sendv() that corosync has
 * not taken yet. Each entry owns a copy of its payload, so the caller's
 * buffers are free when the send call returns.
 */
#include "haq-int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* malloc's own bookkeeping per block, counted so the limit bounds memory. */
#define SENDQ_MALLOC_OVERHEAD 16
/*
 * Freed blocks kept for reuse, at most this many bytes (and always within
 * the queue limit): under push-back every message goes through the queue,
 * and a reused block costs neither an allocation nor, for a large message,
 * first-touch page faults while the caller's loop waits.
 */
#define HAQ_SENDQ_CACHE_MAX (32u * 1024u * 1024u)

size_t
haq__sendq_footprint(size_t len)
{
	return sizeof(struct haq_sendq_entry) + len + SENDQ_MALLOC_OVERHEAD;
}

static void
cache_drop_head(struct haq_sendq *q)
{
	struct haq_sendq_entry *e = q->cache;

	q->cache = e->next;
	q->cache_mem -= haq__sendq_footprint(e->cap);
	free(e);
}

int
haq__sendq_push(struct haq_sendq *q, uint8_t type, uint64_t seq,
		const struct iovec *iov, size_t iovcnt, size_t len)
{
	struct haq_sendq_entry *e = q->cache;
	size_t off = 0;

	/* The most recently freed block, if it fits without much waste. */
	if (e && e->cap >= len && e->cap / 2 <= len) {
		q->cache = e->next;
		q->cache_mem -= haq__sendq_footprint(e->cap);
	} else {
		while (q->cache && q->mem + q->cache_mem +
					   haq__sendq_footprint(len) >
				   q->limit) {
			cache_drop_head(q);
		}
		e = malloc(sizeof(*e) + len);
		if (!e) {
			return -ENOMEM;
		}
		e->cap = len;
	}
	e->next = NULL;
	e->seq = seq;
	e->len = len;
	e->sent = 0;
	e->type = type;
	for (size_t i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len) {
			memcpy(e->data + off, iov[i].iov_base, iov[i].iov_len);
			off += iov[i].iov_len;
		}
	}
	if (q->tail) {
		q->tail->next = e;
	} else {
		q->head = e;
	}
	q->tail = e;
	q->bytes += len;
	q->mem += haq__sendq_footprint(e->cap);
	q->count++;
	return 0;
}

void
haq__sendq_pop(struct haq_sendq *q)
{
	struct haq_sendq_entry *e = q->head;
	size_t fp;

	if (!e) {
		return;
	}
	q->head = e->next;
	if (!q->head) {
		q->tail = NULL;
	}
	fp = haq__sendq_footprint(e->cap);
	q->bytes -= e->len;
	q->mem -= fp;
	q->count--;
	if (q->cache_mem + fp <= HAQ_SENDQ_CACHE_MAX &&
	    q->mem + q->cache_mem + fp <= q->limit) {
		e->next = q->cache;
		q->cache = e;
		q->cache_mem += fp;
		return;
	}
	free(e);
}

size_t
haq__sendq_clear(struct haq_sendq *q)
{
	size_t n = q->count;

	while (q->head) {
		haq__sendq_pop(q);
	}
	while (q->cache) {
		cache_drop_head(q);
	}
	return n;
}
