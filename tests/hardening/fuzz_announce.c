/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the second decoder of peer input: the leader's
 * announcement (the payload of a HAQ_CONTROL_EPOCH control frame, decoded
 * by haq__announce_decode()) and the election state it drives
 * (haq__election_announced() between views fed to haq__election_view()).
 *
 * The input is a sequence of operations on one struct haq_election:
 *   op & 3 == 0  a view: one flags byte (bit 0 quorate, bit 1 this
 *                process's own join, bit 2 a new totem ring, bits 3-7 the
 *                member count), then two bytes per member (node id 1..8,
 *                pid 100..355). Members are sorted and made unique, as CPG
 *                delivers them and group.c sorts them.
 *   op & 3 == 1  raw announcement bytes (HAQ_ANNOUNCE_LEN of them, or
 *                fewer at the end of the input) as a peer sent them.
 *   op & 3 == 2  a well-formed announcement: ring (this one or a
 *                neighbour), count (two bytes) and leader (a member index).
 *   op & 3 == 3  the connection was lost: haq__election_reset().
 * After every operation the state's invariants are checked (see
 * check_state()); a violation traps.
 *
 * clang -g -O1 -fsanitize=fuzzer,address,undefined -I libhaq \
 *	tests/hardening/fuzz_announce.c libhaq/election.c
 */
#include "election.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MEMBERS 31

struct model {
	struct haq_election e;
	struct haq_memb members[MAX_MEMBERS];
	size_t n;
	uint64_t ring_seq;
	/*
	 * The largest epoch this member has known in the ring since it
	 * joined the group. A process that leaves and joins again may learn
	 * a smaller count: the group may have emptied and started counting
	 * afresh, a limit election.h documents.
	 */
	uint64_t ring_max_epoch;
	int fresh; /* this process joined (or reset): forget ring_max_epoch */
};

static int
cmp_memb(const void *a, const void *b)
{
	const struct haq_memb *x = a;
	const struct haq_memb *y = b;

	if (x->nodeid != y->nodeid) {
		return x->nodeid < y->nodeid ? -1 : 1;
	}
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static int
in_members(const struct model *m, uint32_t nodeid, uint32_t pid)
{
	for (size_t i = 0; i < m->n; i++) {
		if (m->members[i].nodeid == nodeid &&
		    m->members[i].pid == pid) {
			return 1;
		}
	}
	return 0;
}

/*
 * What every caller relies on:
 *  - a leader is a member of the latest view and is known only to a
 *    synced member; its epoch is (ring << 16) | count and not 0;
 *  - no leader means epoch 0;
 *  - the synced set is sorted, unique and within the view;
 *  - within one ring, each new leadership has a larger epoch than every
 *    earlier one (guarantee 5: epochs strictly increase).
 */
static void
check_state(struct model *m, uint32_t prev_nodeid, uint32_t prev_pid,
	    uint64_t prev_epoch, uint64_t prev_ring)
{
	const struct haq_election *e = &m->e;

	if (e->nodeid == 0) {
		if (e->epoch != 0 || e->pid != 0) {
			__builtin_trap();
		}
	} else {
		if (!e->synced || !in_members(m, e->nodeid, e->pid) ||
		    e->epoch == 0 ||
		    e->epoch != ((e->ring_seq << 16) | (e->count & 0xffff))) {
			__builtin_trap();
		}
	}
	for (size_t i = 0; i < e->nset; i++) {
		if (!in_members(m, e->set[i].nodeid, e->set[i].pid)) {
			__builtin_trap();
		}
		if (i > 0 && cmp_memb(&e->set[i - 1], &e->set[i]) >= 0) {
			__builtin_trap();
		}
	}
	if (e->ring_seq != prev_ring || m->fresh) {
		m->ring_max_epoch = 0;
		m->fresh = 0;
	}
	if (e->nodeid != 0 && (e->nodeid != prev_nodeid || e->pid != prev_pid ||
			       e->epoch != prev_epoch)) {
		/* A new leadership (or a joiner learning the current one). */
		if (e->epoch <= m->ring_max_epoch) {
			__builtin_trap();
		}
		m->ring_max_epoch = e->epoch;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct model m;
	size_t pos = 0;

	memset(&m, 0, sizeof(m));
	m.ring_seq = 4;
	while (pos < size) {
		uint8_t op = data[pos++];
		uint32_t prev_nodeid = m.e.nodeid;
		uint32_t prev_pid = m.e.pid;
		uint64_t prev_epoch = m.e.epoch;
		uint64_t prev_ring = m.e.ring_seq;
		int rc = 0;

		switch (op & 3) {
		case 0: {
			uint8_t flags;
			size_t want, k = 0;

			if (pos >= size) {
				goto out;
			}
			flags = data[pos++];
			want = flags >> 3;
			if (flags & 4) {
				/* corosync's ring ids grow by 4. */
				m.ring_seq += 4;
			}
			m.n = 0;
			while (k < want && size - pos >= 2) {
				m.members[m.n].nodeid = 1 + (data[pos] & 7);
				m.members[m.n].pid = 100 + data[pos + 1];
				m.members[m.n].reason = 0;
				m.n++;
				k++;
				pos += 2;
			}
			qsort(m.members, m.n, sizeof(m.members[0]), cmp_memb);
			/* Unique, as a view's member list is. */
			k = 0;
			for (size_t i = 0; i < m.n; i++) {
				if (k == 0 || cmp_memb(&m.members[k - 1],
						       &m.members[i])) {
					m.members[k++] = m.members[i];
				}
			}
			m.n = k;
			m.fresh = (flags >> 1) & 1;
			rc = haq__election_view(&m.e, m.ring_seq, m.members,
						m.n, flags & 1,
						(flags >> 1) & 1);
			if (rc < 0 && rc != -ENOMEM) {
				__builtin_trap();
			}
			(void)haq__election_should_announce(&m.e, m.members,
							    m.n);
			break;
		}
		case 1: {
			uint8_t raw[HAQ_ANNOUNCE_LEN];
			uint8_t again[HAQ_ANNOUNCE_LEN];
			size_t len = size - pos < HAQ_ANNOUNCE_LEN
					     ? size - pos
					     : HAQ_ANNOUNCE_LEN;
			struct haq_announce a;
			uint8_t *copy = malloc(len ? len : 1);

			if (!copy) {
				goto out;
			}
			/* Exactly len bytes, so ASan sees any over-read. */
			memcpy(copy, data + pos, len);
			pos += len;
			rc = haq__announce_decode(copy, len, &a);
			if (rc == 0) {
				/* Whatever decodes encodes back the same. */
				memcpy(raw, copy, len);
				haq__announce_encode(&a, again);
				if (len != HAQ_ANNOUNCE_LEN ||
				    memcmp(raw, again, len) != 0 ||
				    a.ring_seq == 0 || a.count == 0 ||
				    a.nodeid == 0) {
					__builtin_trap();
				}
				rc = haq__election_announced(&m.e, &a,
							     m.members, m.n);
			} else if (rc != -EBADMSG) {
				__builtin_trap();
			}
			free(copy);
			if (rc < 0 && rc != -EBADMSG && rc != -ENOMEM) {
				__builtin_trap();
			}
			break;
		}
		case 2: {
			struct haq_announce a, b;
			uint8_t buf[HAQ_ANNOUNCE_LEN];
			size_t who;

			if (size - pos < 4) {
				goto out;
			}
			a.ring_seq =
				m.ring_seq + (uint64_t)(data[pos] % 3) * 4 - 4;
			a.count = (uint32_t)data[pos + 1] |
				  (uint32_t)data[pos + 2] << 8;
			who = data[pos + 3];
			pos += 4;
			if (m.n > 0 && who < 128) {
				a.nodeid = m.members[who % m.n].nodeid;
				a.pid = m.members[who % m.n].pid;
			} else {
				a.nodeid = 1 + (who & 7);
				a.pid = 100 + who;
			}
			haq__announce_encode(&a, buf);
			rc = haq__announce_decode(buf, sizeof(buf), &b);
			if (a.ring_seq == 0 || a.count == 0) {
				if (rc != -EBADMSG) {
					__builtin_trap();
				}
				break;
			}
			if (rc != 0 || a.ring_seq != b.ring_seq ||
			    a.count != b.count || a.nodeid != b.nodeid ||
			    a.pid != b.pid) {
				__builtin_trap();
			}
			rc = haq__election_announced(&m.e, &b, m.members, m.n);
			if (rc < 0 && rc != -ENOMEM) {
				__builtin_trap();
			}
			break;
		}
		default:
			(void)haq__election_reset(&m.e);
			m.n = 0;
			m.fresh = 1;
			break;
		}
		check_state(&m, prev_nodeid, prev_pid, prev_epoch, prev_ring);
	}
out:
	haq__election_free(&m.e);
	return 0;
}
