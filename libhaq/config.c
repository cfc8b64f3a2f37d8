/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The cmap service: configuration reads and tracked prefixes.
 */
#include "haq-int.h"

#include <corosync/cmap.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct haq_track {
	struct haq_track *next;
	uint64_t id;
	cmap_track_handle_t handle;
	haq_config_fn fn;
	void *userdata;
	char prefix[CMAP_KEYNAME_MAXLEN + 1];
};

struct haq_cmap {
	struct haq_service svc;
	cmap_handle_t handle;
	bool valid;
	struct haq_track *tracks;
	uint64_t next_track_id;
};

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
track_add(struct haq_cmap *cm, struct haq_track *t)
{
	return cmap_track_add(cm->handle, t->prefix,
			      CMAP_TRACK_ADD | CMAP_TRACK_DELETE |
				      CMAP_TRACK_MODIFY | CMAP_TRACK_PREFIX,
			      track_cb, t, &t->handle);
}

static void
cmap_svc_disconnect(struct haq_service *s)
{
	struct haq_cmap *cm = (struct haq_cmap *)s;

	if (!cm->valid) {
		return;
	}
	haq__watch_del(s);
	cmap_finalize(cm->handle);
	cm->valid = false;
}

static int
cmap_svc_connect(struct haq_service *s)
{
	struct haq_cmap *cm = (struct haq_cmap *)s;
	cs_error_t err;
	int fd;
	int rc;

	err = cmap_initialize(&cm->handle);
	if (err != CS_OK) {
		return haq__cs_to_errno(err);
	}
	cm->valid = true;
	if (cmap_fd_get(cm->handle, &fd) != CS_OK) {
		rc = -ENOTCONN;
		goto fail;
	}
	rc = haq__check_server(s->ctx, fd);
	if (rc < 0) {
		goto fail;
	}
	rc = haq__watch_add(s, fd);
	if (rc < 0) {
		goto fail;
	}
	/* After a reconnect, track again what the caller tracked. */
	cmap_context_set(cm->handle, s->ctx);
	for (struct haq_track *t = cm->tracks; t; t = t->next) {
		err = track_add(cm, t);
		if (err != CS_OK) {
			rc = haq__cs_to_errno(err);
			goto fail;
		}
	}
	return 0;
fail:
	cmap_svc_disconnect(s);
	return rc;
}

static int
cmap_svc_dispatch(struct haq_service *s, uint32_t revents)
{
	struct haq_cmap *cm = (struct haq_cmap *)s;

	(void)revents;
	return haq__dispatch_budgeted(s->ctx, cmap_dispatch, cm->handle, s->fd,
				      HAQ_DISPATCH_BUDGET, NULL, NULL);
}

static void
cmap_svc_destroy(struct haq_service *s, bool finalize)
{
	struct haq_cmap *cm = (struct haq_cmap *)s;

	if (finalize) {
		cmap_svc_disconnect(s);
	}
	while (cm->tracks) {
		struct haq_track *t = cm->tracks;

		cm->tracks = t->next;
		free(t);
	}
	s->ctx->cmap = NULL;
	free(cm);
}

static const struct haq_service_ops cmap_ops = {
	.name = "cmap",
	.order = 5,
	.connect = cmap_svc_connect,
	.disconnect = cmap_svc_disconnect,
	.dispatch = cmap_svc_dispatch,
	.destroy = cmap_svc_destroy,
};

int
haq__config_create(haq_ctx_t *ctx, struct haq_service **ret)
{
	struct haq_cmap *cm = calloc(1, sizeof(*cm));

	if (!cm) {
		return -ENOMEM;
	}
	cm->next_track_id = 1;
	haq__service_add(ctx, &cm->svc, &cmap_ops);
	ctx->cmap = cm;
	*ret = &cm->svc;
	return 0;
}

/* The entry guard of every config call: the context, connected. */
static int
config_enter(haq_ctx_t *ctx)
{
	int rc = haq__ctx_enter(ctx, 0);

	if (rc < 0) {
		return rc;
	}
	return ctx->cmap && ctx->cmap->valid ? 0 : -ENOTCONN;
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
	return config_enter(ctx);
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
	err = cmap_get(ctx->cmap->handle, key, &v, &len, type);
	if (err != CS_OK) {
		/* cmap answers CS_ERR_INVALID_PARAM for a value too large. */
		return err == CS_ERR_INVALID_PARAM ? -EPROTOTYPE
						    : haq__cs_result(ctx, err);
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
	err = cmap_get(ctx->cmap->handle, key, NULL, &len, &type);
	if (err != CS_OK) {
		return haq__cs_result(ctx, err);
	}
	if (type != CMAP_VALUETYPE_STRING) {
		return -EPROTOTYPE;
	}
	err = cmap_get_string(ctx->cmap->handle, key, &s);
	if (err != CS_OK) {
		return haq__cs_result(ctx, err);
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
	if (rc == -ENOENT) {
		/* Optional without knet (derived from the address): 0. */
		e->nodeid = 0;
	} else if (rc < 0) {
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

/*
 * The indexes I of the nodelist.node.I.* keys, sorted and unique: they
 * need not be dense, and a node need not have every key.
 */
static int
node_indexes(haq_ctx_t *ctx, unsigned int **ret, size_t *n)
{
	char key[CMAP_KEYNAME_MAXLEN + 1];
	cmap_iter_handle_t it;
	unsigned int *v = NULL;
	size_t cnt = 0;
	cs_error_t err;
	int rc = 0;

	err = cmap_iter_init(ctx->cmap->handle, "nodelist.node.", &it);
	if (err != CS_OK) {
		return haq__cs_result(ctx, err);
	}
	while ((err = cmap_iter_next(ctx->cmap->handle, it, key, NULL,
				     NULL)) == CS_OK) {
		unsigned int idx;
		unsigned int *grown;
		size_t pos = 0;

		if (sscanf(key, "nodelist.node.%u.", &idx) != 1) {
			continue;
		}
		while (pos < cnt && v[pos] < idx) {
			pos++;
		}
		if (pos < cnt && v[pos] == idx) {
			continue;
		}
		grown = realloc(v, (cnt + 1) * sizeof(*v));
		if (!grown) {
			rc = -ENOMEM;
			break;
		}
		v = grown;
		memmove(v + pos + 1, v + pos, (cnt - pos) * sizeof(*v));
		v[pos] = idx;
		cnt++;
	}
	cmap_iter_finalize(ctx->cmap->handle, it);
	if (rc == 0 && err != CS_ERR_NO_SECTIONS) {
		rc = haq__cs_result(ctx, err);
	}
	if (rc < 0) {
		free(v);
		return rc;
	}
	*ret = v;
	*n = cnt;
	return 0;
}

HAQ_EXPORT int
haq_config_nodelist(haq_ctx_t *ctx, haq_nodelist_t **ret)
{
	haq_nodelist_t *list;
	unsigned int *idx = NULL;
	size_t nidx = 0;
	int rc = config_enter(ctx);

	if (rc < 0) {
		return rc;
	}
	if (!ret) {
		return -EINVAL;
	}
	rc = node_indexes(ctx, &idx, &nidx);
	if (rc < 0) {
		return rc;
	}
	list = calloc(1, sizeof(*list));
	if (!list) {
		free(idx);
		return -ENOMEM;
	}
	list->v = calloc(nidx ? nidx : 1, sizeof(*list->v));
	if (!list->v) {
		free(idx);
		free(list);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nidx; i++) {
		struct haq_nodelist_entry *e = &list->v[list->n];

		rc = read_node(ctx, idx[i], e);
		list->n++;
		if (rc < 0) {
			free(idx);
			haq_nodelist_free(list);
			return rc;
		}
	}
	free(idx);
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
	if (ctx && haq__ctx_alive(ctx)) {
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
	int rc;

	if (!ctx || !prefix || !fn) {
		return -EINVAL;
	}
	len = strlen(prefix);
	if (len < 1 || len > CMAP_KEYNAME_MAXLEN) {
		return -EINVAL;
	}
	rc = config_enter(ctx);
	if (rc < 0) {
		return rc;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		return -ENOMEM;
	}
	memcpy(t->prefix, prefix, len + 1);
	t->fn = fn;
	t->userdata = userdata;
	t->id = ctx->cmap->next_track_id++;
	err = track_add(ctx->cmap, t);
	if (err != CS_OK) {
		free(t);
		return haq__cs_result(ctx, err);
	}
	t->next = ctx->cmap->tracks;
	ctx->cmap->tracks = t;
	if (id) {
		*id = t->id;
	}
	return 0;
}

HAQ_EXPORT int
haq_config_untrack(haq_ctx_t *ctx, uint64_t id)
{
	struct haq_track **pp;
	int rc = haq__ctx_enter(ctx, 0);

	if (rc < 0) {
		return rc;
	}
	for (pp = &ctx->cmap->tracks; *pp; pp = &(*pp)->next) {
		struct haq_track *t = *pp;

		if (t->id != id) {
			continue;
		}
		if (ctx->cmap->valid) {
			/* Tracked again at the reconnect if not valid now. */
			cmap_track_delete(ctx->cmap->handle, t->handle);
		}
		*pp = t->next;
		free(t);
		return 0;
	}
	return -ENOENT;
}
