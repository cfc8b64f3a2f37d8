/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "election.h"

int
haq__election_update(struct haq_election *e, uint64_t ring_seq,
		     const struct haq_memb *members, size_t n, int quorate)
{
	uint32_t nodeid = 0;
	uint32_t pid = 0;

	if (ring_seq != e->ring_seq) {
		/* A new ring starts a new series of leaderships. */
		e->ring_seq = ring_seq;
		e->count = 0;
		if (e->nodeid != 0) {
			/*
			 * Even the same leader gets a fresh epoch in a new
			 * ring: the partition it led may have been merged
			 * with one that moved on without it.
			 */
			e->nodeid = 0;
			e->pid = 0;
			e->epoch = 0;
			if (!(quorate && n > 0)) {
				return 1;
			}
		}
	}
	if (quorate && n > 0) {
		nodeid = members[0].nodeid;
		pid = members[0].pid;
	}
	if (nodeid == e->nodeid && pid == e->pid && (nodeid == 0 || e->epoch)) {
		return 0;
	}
	e->nodeid = nodeid;
	e->pid = pid;
	if (nodeid == 0) {
		e->epoch = 0;
	} else {
		e->count++;
		e->epoch = (ring_seq << 16) | (e->count & 0xffff);
	}
	return 1;
}
