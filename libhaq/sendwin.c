/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The send-window rules (sendwin.h).
 */
#include "sendwin.h"

bool
haq__sendwin_admit(size_t count, size_t mem, size_t footprint, size_t limit)
{
	return count == 0 || (mem <= limit && footprint <= limit - mem);
}

bool
haq__sendwin_writable(size_t mem, size_t limit)
{
	return mem <= limit / 2;
}

bool
haq__sendwin_frag_may_send(size_t sent, size_t back, size_t window)
{
	/* back may exceed sent after a resend: nothing waits then. */
	return sent < back || sent - back < window;
}

uint64_t
haq__sendwin_backoff(uint64_t delay, uint64_t min, uint64_t max)
{
	if (delay < min) {
		return min;
	}
	if (delay >= max / 2) {
		return max;
	}
	return delay * 2;
}

uint64_t
haq__sendwin_retry(uint64_t *delay, bool own_out, uint64_t min, uint64_t max)
{
	if (own_out) {
		/*
		 * Their return frees corosync's queue and the dispatch that
		 * takes them tries again: the timer only backs that up, and
		 * once they are back the backoff starts over.
		 */
		*delay = 0;
		return max;
	}
	*delay = haq__sendwin_backoff(*delay, min, max);
	return *delay;
}

bool
haq__sendwin_flush_yield(size_t frames, size_t bytes)
{
	return frames >= HAQ_FLUSH_BUDGET || bytes >= HAQ_FLUSH_BYTES;
}
