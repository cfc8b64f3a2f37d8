/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Request/reply bookkeeping (rr.h): the frames, the answers a request of
 * this process waits for, and the requests this process must answer.
 */
#include "rr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"

void
haq__rr_encode_request(uint8_t *buf, int mode, uint64_t id)
{
	memset(buf, 0, HAQ_RR_REQUEST_HDR);
	buf[0] = HAQ_CONTROL_RR_REQUEST;
	buf[1] = (uint8_t)mode;
	haq__put_le64(buf + 8, id);
}

void
haq__rr_encode_reply(uint8_t *buf, int status, uint32_t nodeid, uint32_t pid,
		     uint64_t id)
{
	memset(buf, 0, HAQ_RR_REPLY_HDR);
	buf[0] = HAQ_CONTROL_RR_REPLY;
	haq__put_le32(buf + 4, (uint32_t)status);
	haq__put_le32(buf + 8, nodeid);
	haq__put_le32(buf + 12, pid);
	haq__put_le64(buf + 16, id);
}

void
haq__rr_encode_cancel(uint8_t *buf, uint64_t id)
{
	memset(buf, 0, HAQ_RR_CANCEL_LEN);
	buf[0] = HAQ_CONTROL_RR_CANCEL;
	haq__put_le64(buf + 8, id);
}

static bool
zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i]) {
			return false;
		}
	}
	return true;
}

int
haq__rr_decode_request(const uint8_t *c, size_t len, struct haq_rr_request *r)
{
	if (len < HAQ_RR_REQUEST_HDR || c[0] != HAQ_CONTROL_RR_REQUEST ||
	    c[1] > HAQ_RR_MAJORITY || !zero(c + 2, 6)) {
		return -EBADMSG;
	}
	r->mode = c[1];
	r->id = haq__get_le64(c + 8);
	if (!r->id) {
		return -EBADMSG;
	}
	r->data = c + HAQ_RR_REQUEST_HDR;
	r->len = len - HAQ_RR_REQUEST_HDR;
	return 0;
}

int
haq__rr_reply_for(const uint8_t *c, size_t len, uint32_t nodeid, uint32_t pid)
{
	if (len < 16) {
		return -EBADMSG;
	}
	return haq__get_le32(c + 8) == nodeid && haq__get_le32(c + 12) == pid;
}

int
haq__rr_decode_reply(const uint8_t *c, size_t len, struct haq_rr_reply *r)
{
	int32_t status;

	if (len < HAQ_RR_REPLY_HDR || c[0] != HAQ_CONTROL_RR_REPLY ||
	    !zero(c + 1, 3)) {
		return -EBADMSG;
	}
	status = (int32_t)haq__get_le32(c + 4);
	if (status > 0 || status < -4095) {
		return -EBADMSG;
	}
	r->status = status;
	r->nodeid = haq__get_le32(c + 8);
	r->pid = haq__get_le32(c + 12);
	r->id = haq__get_le64(c + 16);
	if (!r->id) {
		return -EBADMSG;
	}
	r->data = c + HAQ_RR_REPLY_HDR;
	r->len = len - HAQ_RR_REPLY_HDR;
	return 0;
}

int
haq__rr_decode_cancel(const uint8_t *c, size_t len, uint64_t *id)
{
	if (len != HAQ_RR_CANCEL_LEN || c[0] != HAQ_CONTROL_RR_CANCEL ||
	    !zero(c + 1, 7)) {
		return -EBADMSG;
	}
	*id = haq__get_le64(c + 8);
	return *id ? 0 : -EBADMSG;
}

/* ---------------------------------------------------------------- */

void
haq__rr_out_init(struct haq_rr_out *o, int mode, uint64_t id)
{
	memset(o, 0, sizeof(*o));
	o->mode = mode;
	o->id = id;
}

void
haq__rr_out_free(struct haq_rr_out *o)
{
	free(o->r);
	o->r = NULL;
	o->n = 0;
}

int
haq__rr_out_delivered(struct haq_rr_out *o, const struct haq_memb *members,
		      size_t n)
{
	if (o->delivered) {
		return -EALREADY;
	}
	if (n) {
		o->r = calloc(n, sizeof(*o->r));
		if (!o->r) {
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < n; i++) {
		o->r[i].nodeid = members[i].nodeid;
		o->r[i].pid = members[i].pid;
		o->r[i].state = HAQ_RR_PENDING;
	}
	o->n = n;
	o->pending = n;
	o->delivered = true;
	return 0;
}

int
haq__rr_out_reply(struct haq_rr_out *o, uint32_t nodeid, uint32_t pid,
		  int status)
{
	size_t i;

	if (!o->delivered ||
	    !haq__id_search(o->r, o->n, sizeof(*o->r), nodeid, pid, &i)) {
		return -ENOENT;
	}
	if (o->r[i].state != HAQ_RR_PENDING) {
		return -EALREADY;
	}
	o->pending--;
	if (status == 0) {
		o->r[i].state = HAQ_RR_OK;
		o->ok++;
	} else {
		o->r[i].state = HAQ_RR_FAILED;
		o->failed++;
	}
	return 0;
}

int
haq__rr_out_next_leaver(struct haq_rr_out *o, const struct haq_memb *members,
			size_t n, uint32_t *nodeid, uint32_t *pid)
{
	if (!o->delivered || !o->pending) {
		return 0;
	}
	for (size_t i = 0; i < o->n; i++) {
		struct haq_rr_resp *r = &o->r[i];

		if (r->state == HAQ_RR_PENDING &&
		    !haq__memb_contains(members, n, r->nodeid, r->pid)) {
			r->state = HAQ_RR_LEFT;
			o->pending--;
			o->left++;
			*nodeid = r->nodeid;
			*pid = r->pid;
			return 1;
		}
	}
	return 0;
}

int
haq__rr_out_complete(const struct haq_rr_out *o, int *result)
{
	if (!o->delivered) {
		return 0;
	}
	switch (o->mode) {
	case HAQ_RR_FIRST:
		if (o->ok) {
			*result = 0;
			return 1;
		}
		break;
	case HAQ_RR_MAJORITY:
		if (o->ok * 2 > o->n) {
			*result = 0;
			return 1;
		}
		if ((o->ok + o->pending) * 2 <= o->n) {
			*result = -EREMOTEIO;
			return 1;
		}
		return 0;
	case HAQ_RR_ALL:
		if (!o->pending) {
			*result = 0;
			return 1;
		}
		return 0;
	default:
		*result = 0;
		return 1;
	}
	if (!o->pending) {
		*result = -EREMOTEIO;
		return 1;
	}
	return 0;
}

/* ---------------------------------------------------------------- */

void
haq__rr_table_init(struct haq_rr_table *t)
{
	memset(t, 0, sizeof(*t));
	t->next_handle = 1;
}

void
haq__rr_table_free(struct haq_rr_table *t)
{
	free(t->v);
	haq__rr_table_init(t);
}

uint64_t
haq__rr_in_add(struct haq_rr_table *t, uint32_t nodeid, uint32_t pid,
	       uint64_t id)
{
	struct haq_rr_in *e;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 8;
		void *v = realloc(t->v, cap * sizeof(*t->v));

		if (!v) {
			return 0;
		}
		t->v = v;
		t->cap = cap;
	}
	e = &t->v[t->n++];
	e->handle = t->next_handle++;
	e->nodeid = nodeid;
	e->pid = pid;
	e->id = id;
	return e->handle;
}

static bool
find_index(const struct haq_rr_table *t, uint64_t handle, size_t *pos)
{
	size_t lo = 0;
	size_t hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->v[mid].handle == handle) {
			*pos = mid;
			return true;
		}
		if (t->v[mid].handle < handle) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return false;
}

const struct haq_rr_in *
haq__rr_in_find(const struct haq_rr_table *t, uint64_t handle, int *err)
{
	size_t i;

	if (handle && find_index(t, handle, &i)) {
		return &t->v[i];
	}
	if (!handle || handle >= t->next_handle) {
		*err = -ENOENT;
		return NULL;
	}
	*err = -EALREADY;
	for (i = 0; i < HAQ_RR_RECENT; i++) {
		if (t->recent[i].handle == handle) {
			*err = t->recent[i].why;
			break;
		}
	}
	return NULL;
}

static void
remove_at(struct haq_rr_table *t, size_t i, int why)
{
	t->recent[t->recent_pos].handle = t->v[i].handle;
	t->recent[t->recent_pos].why = why;
	t->recent_pos = (t->recent_pos + 1) % HAQ_RR_RECENT;
	memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof(*t->v));
	t->n--;
}

void
haq__rr_in_remove(struct haq_rr_table *t, uint64_t handle, int why)
{
	size_t i;

	if (find_index(t, handle, &i)) {
		remove_at(t, i, why);
	}
}

uint64_t
haq__rr_in_lookup(const struct haq_rr_table *t, uint32_t nodeid, uint32_t pid,
		  uint64_t id)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct haq_rr_in *e = &t->v[i];

		if (e->id == id && e->nodeid == nodeid && e->pid == pid) {
			return e->handle;
		}
	}
	return 0;
}

int
haq__rr_in_next_orphan(struct haq_rr_table *t, const struct haq_memb *members,
		       size_t n, uint64_t *handle)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct haq_rr_in *e = &t->v[i];

		if (!n || !haq__memb_contains(members, n, e->nodeid, e->pid)) {
			*handle = e->handle;
			remove_at(t, i, -ECANCELED);
			return 1;
		}
	}
	return 0;
}
