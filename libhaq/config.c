/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Configuration reads and tracking through cmap.
 */
#include "haq-int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct haq_nodelist_entry {
	uint32_t nodeid;
	char *name;
	size_t naddrs;
	char **addrs;
};

struct haq_nodelist {
	size_t n;
	struct haq_nodelist_entry *v;
};

static void track_cb(cmap_handle_t cmap, cmap_track_handle_t th, int32_t event,
		     const char *key, struct cmap_notify_value new_value,
		     struct cmap_notify_value old_value, void *user_data);

static cs_error_t
track_add(haq_ctx_t *ctx, struct haq_track *t)
{
	return cmap_track_add(ctx->cmap, t->prefix,
			      CMAP_TRACK_ADD | CMAP_TRACK_DELETE |
				      CMAP_TRACK_MODIFY | CMAP_TRACK_PREFIX,
			      track_cb, t, &t->handle);
}

int
haq__config_connect(haq_ctx_t *ctx)
{
	cs_error_t err;
	int rc;

	err = cmap_initialize(&ctx->cmap);
	if (err != CS_OK) {
		return haq__cs_to_errno(err);
	}
	ctx->cmap_valid = true;
	if (cmap_fd_get(ctx->cmap, &ctx->cmap_fd) != CS_OK) {
		haq__config_disconnect(ctx);
		return -ENOTCONN;
	}
	rc = haq__check_server(ctx, ctx->cmap_fd);
	if (rc < 0) {
		haq__config_disconnect(ctx);
		return rc;
	}
	ctx->cmap_watch.kind = HAQ_WATCH_CMAP;
	ctx->cmap_watch.obj = ctx;
	rc = haq__watch_add(ctx, ctx->cmap_fd, &ctx->cmap_watch);
	if (rc < 0) {
		haq__config_disconnect(ctx);
		return rc;
	}
	/* After a reconnect, track again what the caller tracked. */
	cmap_context_set(ctx->cmap, ctx);
	for (struct haq_track *t = ctx->tracks; t; t = t->next) {
		err = track_add(ctx, t);
		if (err != CS_OK) {
			haq__config_disconnect(ctx);
			return haq__cs_to_errno(err);
		}
	}
	return 0;
}

void
haq__config_disconnect(haq_ctx_t *ctx)
{
	if (!ctx->cmap_valid) {
		return;
	}
	if (ctx->cmap_fd >= 0) {
		haq__watch_del(ctx, ctx->cmap_fd);
	}
	cmap_finalize(ctx->cmap);
	ctx->cmap_valid = false;
	ctx->cmap_fd = -1;
}

void
haq__config_free_tracks(haq_ctx_t *ctx)
{
	while (ctx->tracks) {
		struct haq_track *t = ctx->tracks;

		ctx->tracks = t->next;
		free(t);
	}
}

void
haq__config_dispatch(haq_ctx_t *ctx)
{
	cs_error_t err = cmap_dispatch(ctx->cmap, CS_DISPATCH_ONE_NONBLOCKING);

	if (err != CS_OK && err != CS_ERR_TRY_AGAIN) {
		haq__connection_lost(ctx);
	}
}

/* Validate a key: cmap keys are 3..255 bytes. */
static int
check_key(haq_ctx_t *ctx, const char *key)
{
	size_t len;

	if (!ctx || !key) {
		return -EINVAL;
	}
	len = strlen(key);
	if (len < CMAP_KEYNAME_MINLEN || len > CMAP_KEYNAME_MAXLEN) {
		return -EINVAL;
	}
	if (ctx->owner_pid != haq__getpid()) {
		return -ECHILD;
	}
	if (!ctx->cmap_valid) {
		return -ENOTCONN;
	}
	return 0;
}

static int
get_typed(haq_ctx_t *ctx, const char *key, cmap_value_types_t *type,
	  uint64_t *u)
{
	union {
		uint8_t u8;
		uint16_t u16;
		uint32_t u32;
		uint64_t u64;
	} v;
	size_t len = sizeof(v);
	cs_error_t err;

	memset(&v, 0, sizeof(v));
	err = cmap_get(ctx->cmap, key, &v, &len, type);
	if (err == CS_ERR_LIBRARY) {
		haq__connection_lost(ctx);
	}
	if (err != CS_OK) {
		/* cmap answers CS_ERR_INVALID_PARAM for a value too large. */
		return err == CS_ERR_INVALID_PARAM ? -EPROTOTYPE
						    : haq__cs_to_errno(err);
	}
	switch (*type) {
	case CMAP_VALUETYPE_UINT8:
		*u = v.u8;
		break;
	case CMAP_VALUETYPE_UINT16:
		*u = v.u16;
		break;
	case CMAP_VALUETYPE_UINT32:
		*u = v.u32;
		break;
	case CMAP_VALUETYPE_UINT64:
		*u = v.u64;
		break;
	default:
		return -EPROTOTYPE;
	}
	return 0;
}

HAQ_EXPORT int
haq_config_get_u32(haq_ctx_t *ctx, const char *key, uint32_t *value)
{
	cmap_value_types_t type;
	uint64_t u;
	int rc = check_key(ctx, key);

	if (rc < 0) {
		return rc;
	}
	if (!value) {
		return -EINVAL;
	}
	rc = get_typed(ctx, key, &type, &u);
	if (rc < 0) {
		return rc;
	}
	if (type == CMAP_VALUETYPE_UINT64) {
		return -EPROTOTYPE;
	}
	*value = (uint32_t)u;
	return 0;
}

HAQ_EXPORT int
haq_config_get_u64(haq_ctx_t *ctx, const char *key, uint64_t *value)
{
	cmap_value_types_t type;
	int rc = check_key(ctx, key);

	if (rc < 0) {
		return rc;
	}
	if (!value) {
		return -EINVAL;
	}
	return get_typed(ctx, key, &type, value);
}

HAQ_EXPORT int
haq_config_get_string(haq_ctx_t *ctx, const char *key, char **value)
{
	cmap_value_types_t type;
	size_t len = 0;
	cs_error_t err;
	char *s;
	int rc = check_key(ctx, key);

	if (rc < 0) {
		return rc;
	}
	if (!value) {
		return -EINVAL;
	}
	/* Ask for the type and size first: cmap_get_string hides the type. */
	err = cmap_get(ctx->cmap, key, NULL, &len, &type);
	if (err == CS_ERR_LIBRARY) {
		haq__connection_lost(ctx);
	}
	if (err != CS_OK) {
		return haq__cs_to_errno(err);
	}
	if (type != CMAP_VALUETYPE_STRING) {
		return -EPROTOTYPE;
	}
	err = cmap_get_string(ctx->cmap, key, &s);
	if (err != CS_OK) {
		return haq__cs_to_errno(err);
	}
	*value = s;
	return 0;
}

HAQ_EXPORT int
haq_config_cluster_name(haq_ctx_t *ctx, char **name)
{
	return haq_config_get_string(ctx, "totem.cluster_name", name);
}

static int
cmp_entry(const void *a, const void *b)
{
	const struct haq_nodelist_entry *x = a;
	const struct haq_nodelist_entry *y = b;

	return (x->nodeid > y->nodeid) - (x->nodeid < y->nodeid);
}

/* Read nodelist.node.I: its nodeid, name and ringX_addr keys. */
static int
read_node(haq_ctx_t *ctx, unsigned int i, struct haq_nodelist_entry *e)
{
	char key[CMAP_KEYNAME_MAXLEN + 1];
	int rc;

	snprintf(key, sizeof(key), "nodelist.node.%u.nodeid", i);
	rc = haq_config_get_u32(ctx, key, &e->nodeid);
	if (rc < 0) {
		return rc;
	}
	snprintf(key, sizeof(key), "nodelist.node.%u.name", i);
	rc = haq_config_get_string(ctx, key, &e->name);
	if (rc == -ENOENT) {
		e->name = NULL;
	} else if (rc < 0) {
		return rc;
	}
	/* knet allows up to 8 links: ring0_addr .. ring7_addr. */
	for (unsigned int r = 0; r < 8; r++) {
		char *addr;
		char **grown;

		snprintf(key, sizeof(key), "nodelist.node.%u.ring%u_addr", i, r);
		rc = haq_config_get_string(ctx, key, &addr);
		if (rc == -ENOENT) {
			continue;
		}
		if (rc < 0) {
			return rc;
		}
		grown = realloc(e->addrs, (e->naddrs + 1) * sizeof(*grown));
		if (!grown) {
			free(addr);
			return -ENOMEM;
		}
		e->addrs = grown;
		e->addrs[e->naddrs++] = addr;
	}
	return 0;
}

static void
entry_free(struct haq_nodelist_entry *e)
{
	free(e->name);
	for (size_t j = 0; j < e->naddrs; j++) {
		free(e->addrs[j]);
	}
	free(e->addrs);
}

HAQ_EXPORT void
haq_nodelist_free(haq_nodelist_t *list)
{
	if (!list) {
		return;
	}
	for (size_t i = 0; i < list->n; i++) {
		entry_free(&list->v[i]);
	}
	free(list->v);
	free(list);
}

HAQ_EXPORT int
haq_config_nodelist(haq_ctx_t *ctx, haq_nodelist_t **ret)
{
	haq_nodelist_t *list;
	int rc;

	if (!ctx || !ret) {
		return -EINVAL;
	}
	if (ctx->owner_pid != haq__getpid()) {
		return -ECHILD;
	}
	if (!ctx->cmap_valid) {
		return -ENOTCONN;
	}
	list = calloc(1, sizeof(*list));
	if (!list) {
		return -ENOMEM;
	}
	/* Indexes are dense from 0: stop at the first missing nodeid. */
	for (unsigned int i = 0;; i++) {
		struct haq_nodelist_entry e = {0};
		struct haq_nodelist_entry *grown;

		rc = read_node(ctx, i, &e);
		if (rc == -ENOENT && e.name == NULL && e.naddrs == 0) {
			break;
		}
		if (rc < 0) {
			entry_free(&e);
			haq_nodelist_free(list);
			return rc;
		}
		grown = realloc(list->v, (list->n + 1) * sizeof(*grown));
		if (!grown) {
			entry_free(&e);
			haq_nodelist_free(list);
			return -ENOMEM;
		}
		list->v = grown;
		list->v[list->n++] = e;
	}
	qsort(list->v, list->n, sizeof(*list->v), cmp_entry);
	*ret = list;
	return 0;
}

HAQ_EXPORT size_t
haq_nodelist_count(const haq_nodelist_t *list)
{
	return list ? list->n : 0;
}

HAQ_EXPORT int
haq_nodelist_node(const haq_nodelist_t *list, size_t i, uint32_t *nodeid,
		  const char **name)
{
	if (!list || i >= list->n) {
		return -EINVAL;
	}
	if (nodeid) {
		*nodeid = list->v[i].nodeid;
	}
	if (name) {
		*name = list->v[i].name;
	}
	return 0;
}

HAQ_EXPORT size_t
haq_nodelist_addr_count(const haq_nodelist_t *list, size_t i)
{
	if (!list || i >= list->n) {
		return 0;
	}
	return list->v[i].naddrs;
}

HAQ_EXPORT const char *
haq_nodelist_addr(const haq_nodelist_t *list, size_t i, size_t j)
{
	if (!list || i >= list->n || j >= list->v[i].naddrs) {
		return NULL;
	}
	return list->v[i].addrs[j];
}

static void
track_cb(cmap_handle_t cmap, cmap_track_handle_t th, int32_t event,
	 const char *key, struct cmap_notify_value new_value,
	 struct cmap_notify_value old_value, void *user_data)
{
	struct haq_track *t = user_data;
	haq_ctx_t *ctx;
	int ev;

	(void)cmap;
	(void)th;
	(void)new_value;
	(void)old_value;
	if (!t->fn) {
		return; /* untracked from inside an earlier callback */
	}
	switch (event) {
	case CMAP_TRACK_ADD:
		ev = HAQ_CONFIG_ADDED;
		break;
	case CMAP_TRACK_DELETE:
		ev = HAQ_CONFIG_DELETED;
		break;
	default:
		ev = HAQ_CONFIG_CHANGED;
		break;
	}
	cmap_context_get(cmap, (const void **)&ctx);
	if (ctx && !ctx->free_requested) {
		t->fn(ctx, key, ev, t->userdata);
	}
}

HAQ_EXPORT int
haq_config_track(haq_ctx_t *ctx, const char *prefix, haq_config_fn fn,
		 void *userdata, uint64_t *id)
{
	struct haq_track *t;
	cs_error_t err;
	size_t len;

	if (!ctx || !prefix || !fn) {
		return -EINVAL;
	}
	len = strlen(prefix);
	if (len < 1 || len > CMAP_KEYNAME_MAXLEN) {
		return -EINVAL;
	}
	if (ctx->owner_pid != haq__getpid()) {
		return -ECHILD;
	}
	if (!ctx->cmap_valid) {
		return -ENOTCONN;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		return -ENOMEM;
	}
	memcpy(t->prefix, prefix, len + 1);
	t->fn = fn;
	t->userdata = userdata;
	t->id = ctx->next_track_id++;
	err = track_add(ctx, t);
	if (err != CS_OK) {
		free(t);
		return haq__cs_to_errno(err);
	}
	t->next = ctx->tracks;
	ctx->tracks = t;
	if (id) {
		*id = t->id;
	}
	return 0;
}

HAQ_EXPORT int
haq_config_untrack(haq_ctx_t *ctx, uint64_t id)
{
	struct haq_track **pp;

	if (!ctx) {
		return -EINVAL;
	}
	for (pp = &ctx->tracks; *pp; pp = &(*pp)->next) {
		struct haq_track *t = *pp;

		if (t->id != id) {
			continue;
		}
		if (ctx->cmap_valid) {
			cmap_track_delete(ctx->cmap, t->handle);
		}
		*pp = t->next;
		free(t);
		return 0;
	}
	return -ENOENT;
}
