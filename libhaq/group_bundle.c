/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The capabilities each member announces in the agreed stream after
 * every view (HAQ_CONTROL_CAPS), and the settings they gate: whether this
 * process may send bundles now, or compressed messages (every member of
 * the view announced that it decodes them). Packing and compressing are
 * the send path's (group_tx.c), unpacking the receive path's
 * (group_rx.c), the codecs bundle.c's and compress.c's.
 */
#include "group.h"

#include <errno.h>
#include <stdlib.h>

/* What this build decodes. */
#define HAQ_CAPS_OURS                                                          \
	((uint32_t)(HAQ_CAP_BUNDLE | HAQ_CAP_LZ4 | HAQ_CAP_LOCK |              \
		    HAQ_CAP_XFER_LZ4))
/* A CAPS frame: the type byte and LE32 caps. */
#define HAQ_CAPS_LEN 5

/*
 * The largest message bundled now (0: none), the smallest compressed, and
 * the largest that haq_group_send() may hand straight to corosync.
 */
void
haq__caps_update(struct haq_group *g)
{
	g->bundle_small =
		g->bundle_max && g->bundle_peers_ok && !g->caps_off
			? g->bundle_max / 2
			: 0;
	g->compress_from = g->compress_min && g->lz4_peers_ok && !g->caps_off
				   ? g->compress_min
				   : SIZE_MAX;
	g->direct_max = g->max_message < g->compress_from - 1
				? g->max_message
				: g->compress_from - 1;
	/*
	 * State transfer's CHUNKs have a capability of their own: builds
	 * that decode compressed messages but not compressed CHUNKs exist.
	 */
	g->xfer_compress_from =
		g->compress_from != SIZE_MAX && g->xfer_lz4_peers_ok
			? g->compress_from
			: SIZE_MAX;
}

/* Whether every member of the view announced capability cap. */
static bool
all_have(struct haq_group *g, uint32_t cap)
{
	if (!g->have_view) {
		return false;
	}
	for (size_t i = 0; i < g->view.nmembers; i++) {
		const struct haq_memb *m = &g->view.members[i];
		struct haq_peer *p;

		if (haq__is_self(g, m->nodeid, m->pid)) {
			continue;
		}
		p = haq__peers_get(&g->peers, m->nodeid, m->pid);
		if (!p || !(p->caps & cap)) {
			return false;
		}
	}
	return true;
}

void
haq__bundle_init(struct haq_group *g)
{
	const char *off = getenv("HAQ_TEST_NO_CAPS");

	/*
	 * A test switch: this process announces nothing, sends no bundle
	 * and refuses the ones it receives, as libhaq 0.3 does (a mixed
	 * group without an old build at hand).
	 */
	g->caps_off = off && *off && *off != '0';
	g->bundle_max = HAQ_BUNDLE_DEFAULT;
	g->compress_min = 0;
	haq__caps_update(g);
}

/*
 * A new view: members that joined announce again (a new process under a
 * known (nodeid, pid) may be another build), and so does this process,
 * for them. Until they did, nothing is bundled.
 */
void
haq__bundle_view(struct haq_group *g)
{
	uint8_t buf[HAQ_CAPS_LEN];

	for (size_t i = 0; i < g->view.njoined; i++) {
		struct haq_peer *p = haq__peers_get(
			&g->peers, g->view.joined[i].nodeid,
			g->view.joined[i].pid);

		if (p) {
			p->caps = 0;
		}
	}
	g->bundle_peers_ok = all_have(g, HAQ_CAP_BUNDLE);
	g->lz4_peers_ok = all_have(g, HAQ_CAP_LZ4);
	g->xfer_lz4_peers_ok = all_have(g, HAQ_CAP_XFER_LZ4);
	haq__caps_update(g);
	if (g->caps_off || !g->joined) {
		return;
	}
	buf[0] = HAQ_CONTROL_CAPS;
	haq__put_le32(buf + 1, HAQ_CAPS_OURS);
	if (haq__tx_control_now(g, buf, sizeof(buf)) < 0) {
		haq__log(g->ctx, HAQ_LOG_ERR,
			 "group %s: out of memory for a capability frame",
			 g->name);
	}
}

/* A HAQ_CONTROL_CAPS frame from member (nodeid, pid), in the agreed order. */
void
haq__bundle_caps(struct haq_group *g, uint32_t nodeid, uint32_t pid,
		 const uint8_t *data, size_t len)
{
	struct haq_peer *p;

	if (len < HAQ_CAPS_LEN) {
		g->counters[HAQ_COUNTER_MALFORMED]++;
		haq__log(g->ctx, HAQ_LOG_DEBUG,
			 "group %s: dropped a malformed capability frame of "
			 "%zu bytes from %u/%u",
			 g->name, len, nodeid, pid);
		return;
	}
	p = haq__peers_get(&g->peers, nodeid, pid);
	if (!p) {
		return; /* the receive path made it: out of memory */
	}
	p->caps = haq__get_le32(data + 1);
	if (!g->bundle_peers_ok || !g->lz4_peers_ok || !g->xfer_lz4_peers_ok) {
		g->bundle_peers_ok = all_have(g, HAQ_CAP_BUNDLE);
		g->lz4_peers_ok = all_have(g, HAQ_CAP_LZ4);
		g->xfer_lz4_peers_ok = all_have(g, HAQ_CAP_XFER_LZ4);
		haq__caps_update(g);
	}
	haq__lock_caps(g);
}

HAQ_EXPORT int
haq_group_set_bundle(haq_group_t *g, size_t bytes)
{
	int rc = haq__group_enter(g, 0);

	if (rc < 0) {
		return rc;
	}
	if (bytes != 0 &&
	    (bytes < HAQ_BUNDLE_MIN || bytes > HAQ_MESSAGE_FRAME_MAX)) {
		return -EINVAL;
	}
	if (bytes != g->bundle_max) {
		/* Built again at the new size when next needed. */
		free(g->bundle_buf);
		g->bundle_buf = NULL;
	}
	g->bundle_max = bytes;
	haq__caps_update(g);
	return 0;
}

HAQ_EXPORT int
haq_group_set_compress(haq_group_t *g, size_t threshold)
{
	int rc = haq__group_enter(g, 0);

	if (rc < 0) {
		return rc;
	}
	if (threshold != 0 && threshold < HAQ_COMPRESS_MIN) {
		return -EINVAL;
	}
	g->compress_min = threshold;
	haq__caps_update(g);
	return 0;
}
