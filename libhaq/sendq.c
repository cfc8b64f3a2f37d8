/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The send queue: messages accepted by a send call that corosync has not
 * taken yet. An entry owns a copy of its payload, so the caller's buffers
 * are free when the send call returns, or borrows the caller's buffer
 * (haq_group_send_zc()) and gives it back through the release callback.
 */
#include "sendq.h"

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

/* The large block kept for reuse is freed: something else is queued. */
static void
big_drop(struct haq_sendq *q)
{
	free(q->big);
	q->big = NULL;
}

static void
append(struct haq_sendq *q, struct haq_sendq_entry *e)
{
	e->next = NULL;
	e->sent = 0;
	e->refused = false;
	if (q->tail) {
		q->tail->next = e;
	} else {
		q->head = e;
	}
	q->tail = e;
	q->bytes += e->len;
	q->mem += haq__sendq_footprint(e->cap);
	q->count++;
	if (!e->control) {
		q->user_bytes += e->len;
		q->user_count++;
	}
}

int
haq__sendq_push(struct haq_sendq *q, uint8_t type, bool control,
		uint64_t seq, const struct iovec *iov, size_t iovcnt,
		size_t len)
{
	struct haq_sendq_entry *e = q->cache;
	size_t off = 0;

	if (q->big) {
		if (q->count == 0 && q->big->cap >= len &&
		    q->big->cap / 2 <= len) {
			e = q->big;
			q->big = NULL;
			goto fill;
		}
		big_drop(q);
	}
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
fill:
	e->seq = seq;
	e->len = len;
	e->type = type;
	e->wflags = 0;
	e->control = control;
	e->ext = NULL;
	e->release = NULL;
	e->release_ud = NULL;
	for (size_t i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len) {
			memcpy(e->data + off, iov[i].iov_base, iov[i].iov_len);
			off += iov[i].iov_len;
		}
	}
	append(q, e);
	return 0;
}

int
haq__sendq_push_urgent(struct haq_sendq *q, uint8_t type, uint64_t seq,
		       const struct iovec *iov, size_t iovcnt, size_t len)
{
	struct haq_sendq_entry *prev = q->tail;
	struct haq_sendq_entry *e;
	int rc = haq__sendq_push(q, type, true, seq, iov, iovcnt, len);

	if (rc < 0 || !prev) {
		return rc; /* or alone in the queue: first already */
	}
	/* Take it off the tail... */
	e = q->tail;
	prev->next = NULL;
	q->tail = prev;
	/* ...and put it first, or second behind a message partly handed. */
	if (q->head->sent > 0) {
		e->next = q->head->next;
		q->head->next = e;
		if (q->tail == q->head) {
			q->tail = e;
		}
	} else {
		e->next = q->head;
		q->head = e;
	}
	return 0;
}

int
haq__sendq_push_borrowed(struct haq_sendq *q, uint8_t type, uint64_t seq,
			 const void *data, size_t len, haq_release_fn release,
			 void *userdata)
{
	struct haq_sendq_entry *e;

	if (q->big) {
		big_drop(q);
	}
	/* Lent bytes count against the limit too: trim the cache for them. */
	while (q->cache && q->mem + q->cache_mem + haq__sendq_footprint(len) >
				   q->limit) {
		cache_drop_head(q);
	}
	e = malloc(sizeof(*e));
	if (!e) {
		return -ENOMEM;
	}
	/* Counted as if copied: the limit bounds the bytes held back. */
	e->cap = len;
	e->seq = seq;
	e->len = len;
	e->type = type;
	e->wflags = 0;
	e->control = false;
	e->ext = data;
	e->release = release;
	e->release_ud = userdata;
	append(q, e);
	return 0;
}

int
haq__sendq_push_lent_control(struct haq_sendq *q, uint8_t type, uint64_t seq,
			     const void *data, size_t len,
			     haq_release_fn release, void *userdata)
{
	int rc = haq__sendq_push_borrowed(q, type, seq, data, len, release,
					  userdata);

	if (rc == 0) {
		/* libhaq's own: out of the caller's counts. */
		q->tail->control = true;
		q->user_bytes -= len;
		q->user_count--;
	}
	return rc;
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
	if (!e->control) {
		q->user_bytes -= e->len;
		q->user_count--;
	}
	if (e->ext) {
		/* Given back; the entry itself is too small to keep. */
		if (e->release) {
			e->release((void *)e->ext, e->release_ud);
		}
		free(e);
		return;
	}
	if (q->cache_mem + fp <= HAQ_SENDQ_CACHE_MAX &&
	    q->mem + q->cache_mem + fp <= q->limit) {
		e->next = q->cache;
		q->cache = e;
		q->cache_mem += fp;
		return;
	}
	if (fp > q->limit && !q->head && !q->cache && !q->big) {
		/*
		 * A message above the limit, which only an empty queue takes,
		 * and the queue is empty: keep its block for the next one.
		 */
		q->big = e;
		return;
	}
	free(e);
}

size_t
haq__sendq_clear(struct haq_sendq *q)
{
	size_t n = q->user_count;

	while (q->head) {
		haq__sendq_pop(q);
	}
	while (q->cache) {
		cache_drop_head(q);
	}
	if (q->big) {
		big_drop(q);
	}
	return n;
}
