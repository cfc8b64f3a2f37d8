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

int
haq__sendq_push(struct haq_sendq *q, uint8_t type, uint64_t seq,
		const struct iovec *iov, size_t iovcnt, size_t len)
{
	struct haq_sendq_entry *e;
	size_t off = 0;

	e = malloc(sizeof(*e) + len);
	if (!e) {
		return -ENOMEM;
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
	q->count++;
	return 0;
}

void
haq__sendq_pop(struct haq_sendq *q)
{
	struct haq_sendq_entry *e = q->head;

	if (!e) {
		return;
	}
	q->head = e->next;
	if (!q->head) {
		q->tail = NULL;
	}
	q->bytes -= e->len;
	q->count--;
	free(e);
}

size_t
haq__sendq_clear(struct haq_sendq *q)
{
	size_t n = q->count;

	while (q->head) {
		haq__sendq_pop(q);
	}
	return n;
}
