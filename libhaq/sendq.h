/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The send queue (sendq.c): messages accepted by a send call and not yet
 * fully handed to corosync. Pure logic, unit-tested without corosync.
 */
#ifndef HAQ_SENDQ_H
#define HAQ_SENDQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <haq/haq.h>

/* One message accepted by a send call and not yet fully sent. */
struct haq_sendq_entry {
	struct haq_sendq_entry *next;
	uint64_t seq;
	size_t len;  /* payload bytes */
	size_t cap;  /* payload bytes the block can hold (reused blocks) */
	size_t sent; /* payload bytes handed to corosync (fragments) */
	/* A borrowed payload (haq_group_send_zc()) instead of data[]. */
	const uint8_t *ext;
	haq_release_fn release;
	void *release_ud;
	uint8_t type;
	uint16_t wflags; /* HAQ_WIRE_F_* of its frames (wire.h) */
	/* libhaq's own frame, not the caller's: not in the caller's counts. */
	bool control;
	/* Fragmented, and this process could not take it back: see flush(). */
	bool refused;
	uint8_t data[];
};

/* The payload of a queue entry, copied or borrowed. */
static inline const uint8_t *
haq__sendq_data(const struct haq_sendq_entry *e)
{
	return e->ext ? e->ext : e->data;
}

struct haq_sendq {
	struct haq_sendq_entry *head;
	struct haq_sendq_entry *tail;
	size_t bytes; /* payload bytes queued */
	size_t count;
	/* The caller's messages alone (no control frames). */
	size_t user_bytes;
	size_t user_count;
	/*
	 * Memory the queue holds: its blocks with their headers and malloc's
	 * bookkeeping (mem), and freed blocks kept for reuse (cache,
	 * cache_mem). mem + cache_mem stays within limit (0: keep no cache).
	 */
	size_t mem;
	size_t limit;
	struct haq_sendq_entry *cache;
	size_t cache_mem;
	/*
	 * One freed block too large for the cache (a message above the
	 * limit, which only an empty queue takes), kept while the queue is
	 * empty for the next such message: a fresh block that size is
	 * mmap'd and every page of it faults on the copy. It goes before
	 * anything else is queued, so the queue never holds more than the
	 * one message above the limit it took.
	 */
	struct haq_sendq_entry *big;
};

/*
 * Queue a copy of iov (len bytes in all) as message seq of wire type; a
 * control frame is libhaq's own. 0 or -ENOMEM.
 */
int haq__sendq_push(struct haq_sendq *q, uint8_t type, bool control,
		    uint64_t seq, const struct iovec *iov, size_t iovcnt,
		    size_t len);
/*
 * Queue a copy of one of libhaq's own control frames first: ahead of
 * every message, or right behind one partly handed to corosync. Control
 * frames stand outside the message sequence, so this keeps every rule of
 * the queue. 0 or -ENOMEM.
 */
int haq__sendq_push_urgent(struct haq_sendq *q, uint8_t type, uint64_t seq,
			   const struct iovec *iov, size_t iovcnt, size_t len);
/* Queue the caller's buffer itself; release gives it back when popped. */
int haq__sendq_push_borrowed(struct haq_sendq *q, uint8_t type, uint64_t seq,
			     const void *data, size_t len,
			     haq_release_fn release, void *userdata);
/* Queue one of libhaq's own frames from a buffer it lends: no copy. */
int haq__sendq_push_lent_control(struct haq_sendq *q, uint8_t type,
				 uint64_t seq, const void *data, size_t len,
				 haq_release_fn release, void *userdata);
void haq__sendq_pop(struct haq_sendq *q);
/* Memory one queued message of len bytes holds. */
size_t haq__sendq_footprint(size_t len);
/* Drop everything; returns the caller's messages dropped. */
size_t haq__sendq_clear(struct haq_sendq *q);

#endif /* HAQ_SENDQ_H */
