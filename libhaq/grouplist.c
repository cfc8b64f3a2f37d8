/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every CPG group of the cluster with its members, for status tools:
 * corosync's group iteration, read once into a sorted snapshot.
 */
#include "haq-int.h"
#include "memb.h"

#include <corosync/cpg.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct haq_grouplist_entry {
	size_t namelen;
	char name[HAQ_GROUP_NAME_MAX + 1];
	size_t n;
	struct haq_memb *members;
};

struct haq_grouplist {
	size_t n;
	struct haq_grouplist_entry *v;
};

static int
cmp_name(const struct haq_grouplist_entry *e, const struct cpg_name *name)
{
	size_t len = name->length;
	int c = memcmp(e->name, name->value, e->namelen < len ? e->namelen : len);

	if (c != 0) {
		return c;
	}
	return (e->namelen > len) - (e->namelen < len);
}

/* The entry for name, inserted in sorted place if new; NULL on ENOMEM. */
static struct haq_grouplist_entry *
entry_for(struct haq_grouplist *l, const struct cpg_name *name)
{
	size_t lo = 0, hi = l->n;
	struct haq_grouplist_entry *v;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_name(&l->v[mid], name);

		if (c == 0) {
			return &l->v[mid];
		}
		if (c < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v) {
		return NULL;
	}
	l->v = v;
	memmove(&v[lo + 1], &v[lo], (l->n - lo) * sizeof(*v));
	memset(&v[lo], 0, sizeof(*v));
	v[lo].namelen = name->length;
	memcpy(v[lo].name, name->value, name->length);
	l->n++;
	return &v[lo];
}

static int
add_member(struct haq_grouplist_entry *e, uint32_t nodeid, uint32_t pid)
{
	struct haq_memb *m = realloc(e->members, (e->n + 1) * sizeof(*m));
	size_t i;

	if (!m) {
		return -ENOMEM;
	}
	e->members = m;
	/* Sorted by (nodeid, pid), as in a view. */
	(void)haq__id_search(m, e->n, sizeof(*m), nodeid, pid, &i);
	memmove(&m[i + 1], &m[i], (e->n - i) * sizeof(*m));
	m[i].nodeid = nodeid;
	m[i].pid = pid;
	m[i].reason = 0;
	e->n++;
	return 0;
}

HAQ_EXPORT void
haq_grouplist_free(haq_grouplist_t *l)
{
	if (!l) {
		return;
	}
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].members);
	}
	free(l->v);
	free(l);
}

HAQ_EXPORT int
haq_ctx_groups(haq_ctx_t *ctx, haq_grouplist_t **ret)
{
	cpg_callbacks_t cb = {0};
	struct cpg_iteration_description_t d;
	cpg_iteration_handle_t it;
	haq_grouplist_t *l;
	cpg_handle_t h;
	cs_error_t err;
	int saved;
	int fd;
	int rc = haq__ctx_enter(ctx, HAQ_NEED_CONNECTED);

	if (rc < 0) {
		return rc;
	}
	if (!ret) {
		return -EINVAL;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		return -ENOMEM;
	}
	saved = haq__netns_enter(ctx);
	err = cpg_initialize(&h, &cb);
	haq__netns_leave(saved);
	if (err != CS_OK) {
		free(l);
		return haq__cs_result(ctx, err);
	}
	/* Ask nothing of a server before it is known to be root's. */
	if (cpg_fd_get(h, &fd) != CS_OK) {
		rc = -ENOTCONN;
		goto out;
	}
	rc = haq__check_server(ctx, fd);
	if (rc < 0) {
		goto out;
	}
	err = cpg_iteration_initialize(h, CPG_ITERATION_ALL, NULL, &it);
	if (err != CS_OK) {
		rc = haq__cs_result(ctx, err);
		goto out;
	}
	while ((err = cpg_iteration_next(it, &d)) == CS_OK) {
		struct haq_grouplist_entry *e;

		if (d.group.length > HAQ_GROUP_NAME_MAX) {
			continue; /* corosync bounds it; never trust it blindly */
		}
		e = entry_for(l, &d.group);
		if (!e || add_member(e, d.nodeid, d.pid) < 0) {
			rc = -ENOMEM;
			break;
		}
	}
	if (rc == 0 && err != CS_ERR_NO_SECTIONS) {
		rc = haq__cs_result(ctx, err);
	}
	cpg_iteration_finalize(it);
out:
	cpg_finalize(h);
	if (rc < 0) {
		haq_grouplist_free(l);
		return rc;
	}
	*ret = l;
	return 0;
}

HAQ_EXPORT size_t
haq_grouplist_count(const haq_grouplist_t *l)
{
	return l ? l->n : 0;
}

HAQ_EXPORT const char *
haq_grouplist_name(const haq_grouplist_t *l, size_t i, size_t *len)
{
	if (!l || i >= l->n) {
		return NULL;
	}
	if (len) {
		*len = l->v[i].namelen;
	}
	return l->v[i].name;
}

HAQ_EXPORT size_t
haq_grouplist_member_count(const haq_grouplist_t *l, size_t i)
{
	if (!l || i >= l->n) {
		return 0;
	}
	return l->v[i].n;
}

HAQ_EXPORT int
haq_grouplist_member(const haq_grouplist_t *l, size_t i, size_t j,
		     uint32_t *nodeid, uint32_t *pid)
{
	if (!l || i >= l->n || j >= l->v[i].n) {
		return -EINVAL;
	}
	if (nodeid) {
		*nodeid = l->v[i].members[j].nodeid;
	}
	if (pid) {
		*pid = l->v[i].members[j].pid;
	}
	return 0;
}
