/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one order and search of process identities (nodeid, pid): CPG sorts
 * member lists this way, and so does every list libhaq keeps.
 */
#ifndef HAQ_MEMB_H
#define HAQ_MEMB_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A member of a view or a list: its identity and, in views, why. */
struct haq_memb {
	uint32_t nodeid;
	uint32_t pid;
	int reason;
};

static inline int
haq__id_cmp(uint32_t an, uint32_t ap, uint32_t bn, uint32_t bp)
{
	if (an != bn) {
		return an < bn ? -1 : 1;
	}
	return (ap > bp) - (ap < bp);
}

/* qsort() comparator for struct haq_memb. */
static inline int
haq__memb_cmp(const void *a, const void *b)
{
	const struct haq_memb *x = a;
	const struct haq_memb *y = b;

	return haq__id_cmp(x->nodeid, x->pid, y->nodeid, y->pid);
}

/*
 * Binary search in an array of n elements of stride bytes, sorted by
 * (nodeid, pid), each element starting with uint32_t nodeid then uint32_t
 * pid (struct haq_memb, struct haq_peer). Returns 1 and the index in *pos
 * when present; else 0 and, in *pos, where it would be inserted.
 */
static inline int
haq__id_search(const void *base, size_t n, size_t stride, uint32_t nodeid,
	       uint32_t pid, size_t *pos)
{
	const unsigned char *b = base;
	size_t lo = 0;
	size_t hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t id[2];
		int c;

		memcpy(id, b + mid * stride, sizeof(id));
		c = haq__id_cmp(nodeid, pid, id[0], id[1]);
		if (c == 0) {
			if (pos) {
				*pos = mid;
			}
			return 1;
		}
		if (c < 0) {
			hi = mid;
		} else {
			lo = mid + 1;
		}
	}
	if (pos) {
		*pos = lo;
	}
	return 0;
}

/* Whether (nodeid, pid) is in the sorted list v of n members. */
static inline int
haq__memb_contains(const struct haq_memb *v, size_t n, uint32_t nodeid,
		   uint32_t pid)
{
	return haq__id_search(v, n, sizeof(*v), nodeid, pid, NULL);
}

#endif /* HAQ_MEMB_H */
