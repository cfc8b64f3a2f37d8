/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file haq-glib.h
 * @brief Drive a libhaq context from a GLib main loop (Pacemaker's loop).
 *
 * Header only: nothing here is exported by libhaq.so, and libhaq never
 * links GLib. Build with the flags of both:
 * `cc prog.c $(pkg-config --cflags --libs libhaq glib-2.0)`.
 *
 * The adapter adds one GSource to a GMainContext. It watches haq_ctx_fd()
 * for G_IO_IN, level-triggered, and calls haq_ctx_dispatch() each time the
 * fd is readable; while it stays readable (more events, or a retry timer
 * that expired) the loop dispatches again on its next iteration, so
 * libhaq's timers and the writable callback run without anything else.
 *
 * Rules:
 * - The context must have been created with a NULL loop
 *   (haq_ctx_new(&ctx, NULL)): a context on a libqb loop is already driven
 *   by that loop.
 * - The context and the GMainContext are used from one thread: every libhaq
 *   callback runs from the GLib iteration on that thread.
 * - Attach a context once. Detach it before haq_ctx_free(); to free the
 *   context from inside one of its callbacks, detach first, then call
 *   haq_ctx_free() (the release is deferred until the callback returns).
 * - The source does not recurse: a nested g_main_context_iteration() run
 *   from inside a libhaq callback does not dispatch the context.
 * - When haq_ctx_dispatch() fails (-ECHILD: the context belongs to the
 *   parent of a fork()), the source stops watching the fd, so that the loop
 *   does not spin on a descriptor nobody drains. It stays attached until
 *   haq_glib_detach(). Call haq_ctx_dispatch() yourself to learn the error.
 */
#ifndef HAQ_HAQ_GLIB_H
#define HAQ_HAQ_GLIB_H

#include <errno.h>
#include <stddef.h>

#include <glib.h>

#include <haq/haq.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @internal
 * @brief The GSource the adapter attaches (not part of the API).
 */
struct haq_glib_impl_source {
	GSource base;    /**< the GLib source */
	haq_ctx_t *ctx;  /**< the context it drives */
	gpointer fd_tag; /**< the watched fd's tag; NULL once it stops */
};

/**
 * @internal
 * @brief The source's dispatch function (not part of the API).
 * @param source the adapter's source.
 * @param callback unused.
 * @param userdata unused.
 * @return G_SOURCE_CONTINUE: the source stays until haq_glib_detach().
 */
static inline gboolean
haq_glib_impl_dispatch(GSource *source, GSourceFunc callback,
		       gpointer userdata)
{
	struct haq_glib_impl_source *s = (struct haq_glib_impl_source *)source;

	(void)callback;
	(void)userdata;
	/*
	 * A callback may have detached and freed the context: touch neither
	 * after a successful dispatch. A failed one ran no callback.
	 */
	if (haq_ctx_dispatch(s->ctx) < 0 && s->fd_tag != NULL) {
		g_source_remove_unix_fd(source, s->fd_tag);
		s->fd_tag = NULL;
	}
	return G_SOURCE_CONTINUE;
}

/**
 * @brief Attach a context to a GLib main context.
 * @param ctx a context created with a NULL loop.
 * @param mc the GMainContext, or NULL for the global default one (the one
 *        g_main_loop_new(NULL, FALSE) runs), as everywhere in GLib.
 * @param source_id where the id of the new source is stored (never 0);
 *        untouched on failure.
 * @return 0, or
 *         -EINVAL ctx or source_id is NULL;
 *         -ECHILD the context belongs to the parent of a fork().
 *
 * The source has G_PRIORITY_DEFAULT; to change it, look it up with
 * g_main_context_find_source_by_id() and call g_source_set_priority().
 */
static inline int
haq_glib_attach(haq_ctx_t *ctx, GMainContext *mc, guint *source_id)
{
	static GSourceFuncs funcs = {NULL, NULL, haq_glib_impl_dispatch,
				     NULL, NULL, NULL};
	struct haq_glib_impl_source *s;
	int fd;

	if (ctx == NULL || source_id == NULL) {
		return -EINVAL;
	}
	fd = haq_ctx_fd(ctx);
	if (fd < 0) {
		return fd;
	}
	s = (struct haq_glib_impl_source *)g_source_new(&funcs, sizeof(*s));
	s->ctx = ctx;
	s->fd_tag = g_source_add_unix_fd(&s->base, fd, G_IO_IN);
	g_source_set_name(&s->base, "libhaq");
	*source_id = g_source_attach(&s->base, mc);
	/* The GMainContext holds the source until it is destroyed. */
	g_source_unref(&s->base);
	return 0;
}

/**
 * @brief Detach a context from a GLib main context.
 * @param mc the GMainContext given to haq_glib_attach() (NULL for the
 *        default one).
 * @param source_id the id haq_glib_attach() stored.
 * @return 0, or
 *         -EINVAL source_id is 0;
 *         -ENOENT mc has no such source (detached already).
 *
 * The context is not dispatched any more; it stays usable and can be
 * attached again or freed. May be called from inside a libhaq callback.
 */
static inline int
haq_glib_detach(GMainContext *mc, guint source_id)
{
	GSource *source;

	if (source_id == 0) {
		return -EINVAL;
	}
	source = g_main_context_find_source_by_id(mc, source_id);
	if (source == NULL) {
		return -ENOENT;
	}
	g_source_destroy(source);
	return 0;
}

#ifdef __cplusplus
}
#endif

#endif /* HAQ_HAQ_GLIB_H */
