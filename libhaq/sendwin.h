/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The send-window rules (sendwin.c): when a message is accepted, when a
 * waiting writer is told there is room, how far a fragmented message may
 * run ahead of what came back, how long a retry waits, and when a flush
 * yields to the loop. Pure arithmetic, unit-tested without corosync.
 */
#ifndef HAQ_SENDWIN_H
#define HAQ_SENDWIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Frames one flush hands to corosync before yielding to the loop. */
#define HAQ_FLUSH_BUDGET 256
/* Bytes one flush hands to corosync before yielding (keeps the loop live). */
#define HAQ_FLUSH_BYTES (2u * 1024u * 1024u)

/*
 * Whether a message whose queue footprint is footprint fits: the limit
 * bounds the memory the queue holds, headers included, and an empty queue
 * (count 0) takes any message up to the maximum size.
 */
bool haq__sendwin_admit(size_t count, size_t mem, size_t footprint,
			size_t limit);

/* Whether a writer waiting for room is told: when half the limit is free. */
bool haq__sendwin_writable(size_t mem, size_t limit);

/*
 * Whether a fragmented message may hand corosync another frame: at most
 * window bytes out beyond what came back (sent - back), because a frame
 * corosync refuses has been copied to it already and is copied again at
 * every retry.
 */
bool haq__sendwin_frag_may_send(size_t sent, size_t back, size_t window);

/* The next retry delay after a push-back: min, then doubling up to max. */
uint64_t haq__sendwin_backoff(uint64_t delay, uint64_t min, uint64_t max);

/*
 * How long to wait before trying again after corosync pushed back, the
 * backoff kept in *delay. With frames of ours out (own_out), the retry is
 * when they come back: self-delivery is what frees room in corosync, and
 * the dispatch that takes them flushes the queue. The timer is then only a
 * fallback (max), and the backoff starts over from min. With none out,
 * nothing of ours is coming to wake us: min, then doubling up to max.
 */
uint64_t haq__sendwin_retry(uint64_t *delay, bool own_out, uint64_t min,
			    uint64_t max);

/* Whether a flush that handed frames and bytes so far must yield. */
bool haq__sendwin_flush_yield(size_t frames, size_t bytes);

#endif /* HAQ_SENDWIN_H */
