/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file haq-uv.h
 * @brief Drive a libhaq context from a libuv loop.
 *
 * Header only: nothing here is exported by libhaq.so, and libhaq never
 * links libuv. Build with the flags of both:
 * `cc prog.c $(pkg-config --cflags --libs libhaq libuv)`.
 *
 * The adapter runs one uv_poll_t handle, which the caller owns. It watches
 * haq_ctx_fd() for UV_READABLE (libuv polls level-triggered) and calls
 * haq_ctx_dispatch() each time the fd is readable; while it stays readable
 * (more events, or a retry timer that expired) the loop dispatches again on
 * its next iteration, so libhaq's timers and the writable callback run
 * without anything else.
 *
 * Rules:
 * - The context must have been created with a NULL loop
 *   (haq_ctx_new(&ctx, NULL)): a context on a libqb loop is already driven
 *   by that loop.
 * - The context and the uv_loop_t are used from one thread: every libhaq
 *   callback runs from uv_run() there.
 * - Attach a context once per loop (again: -EEXIST). The handle's memory
 *   must stay valid until the close callback given to haq_uv_detach() has
 *   run. handle->data holds the context: do not change it.
 * - Detach before haq_ctx_free(); to free the context from inside one of
 *   its callbacks, detach first, then call haq_ctx_free() (the release is
 *   deferred until the callback returns).
 * - When haq_ctx_dispatch() fails (-ECHILD: the context belongs to the
 *   parent of a fork(); a child that goes on with the parent's loop calls
 *   uv_loop_fork() first), the handle stops polling (uv_poll_stop()), so
 *   that the loop neither spins on a descriptor nobody drains nor stays
 *   alive for it. It stays open until haq_uv_detach(). Call
 *   haq_ctx_dispatch() yourself to learn the error.
 */
#ifndef HAQ_HAQ_UV_H
#define HAQ_HAQ_UV_H

#include <errno.h>
#include <stddef.h>

#include <uv.h>

#include <haq/haq.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @internal
 * @brief The handle's poll callback (not part of the API).
 * @param handle the adapter's handle.
 * @param status 0, or a libuv error (the handle is then stopped already).
 * @param events the events that woke the loop.
 */
static inline void
haq_uv_impl_dispatch(uv_poll_t *handle, int status, int events)
{
	(void)events;
	if (status < 0) {
		return;
	}
	/*
	 * A callback may have detached (the handle is closing) and freed the
	 * context; a failed dispatch ran no callback.
	 */
	if (haq_ctx_dispatch((haq_ctx_t *)handle->data) < 0 &&
	    !uv_is_closing((uv_handle_t *)handle)) {
		uv_poll_stop(handle);
	}
}

/**
 * @brief Attach a context to a libuv loop.
 * @param ctx a context created with a NULL loop.
 * @param loop the loop (uv_default_loop() or one of your own).
 * @param handle an unused uv_poll_t the caller provides (static, on the
 *        heap, or in a structure of its own); it is initialised and
 *        started here. Untouched on failure: nothing to close then.
 * @return 0, or
 *         -EINVAL ctx, loop or handle is NULL;
 *         -ECHILD the context belongs to the parent of a fork();
 *         -EEXIST the context is already attached to this loop;
 *         -ENOMEM and the other errors of uv_poll_init() (libuv's error
 *         codes are negative errno values on Linux).
 */
static inline int
haq_uv_attach(haq_ctx_t *ctx, uv_loop_t *loop, uv_poll_t *handle)
{
	int fd;
	int rc;

	if (ctx == NULL || loop == NULL || handle == NULL) {
		return -EINVAL;
	}
	fd = haq_ctx_fd(ctx);
	if (fd < 0) {
		return fd;
	}
	/* Makes the fd non-blocking: harmless for libhaq's epoll fd. */
	rc = uv_poll_init(loop, handle, fd);
	if (rc < 0) {
		return rc;
	}
	handle->data = ctx;
	/* Cannot fail once the handle is initialised (libuv 1.x on Unix). */
	(void)uv_poll_start(handle, UV_READABLE, haq_uv_impl_dispatch);
	return 0;
}

/**
 * @brief Detach a context from its libuv loop: close the handle.
 * @param handle the handle given to haq_uv_attach().
 * @param close_cb called by the loop once the handle is closed, from a
 *        later uv_run() iteration; from then on its memory may be freed or
 *        reused. NULL if nothing needs to know (a static handle).
 * @return 0, or
 *         -EINVAL handle is NULL;
 *         -EALREADY the handle is closing or closed (detached already).
 *
 * The context is not dispatched any more; it stays usable and can be
 * attached again (with another handle, or this one once closed) or freed.
 * May be called from inside a libhaq callback.
 */
static inline int
haq_uv_detach(uv_poll_t *handle, uv_close_cb close_cb)
{
	if (handle == NULL) {
		return -EINVAL;
	}
	if (uv_is_closing((const uv_handle_t *)handle)) {
		return -EALREADY;
	}
	uv_close((uv_handle_t *)handle, close_cb);
	return 0;
}

#ifdef __cplusplus
}
#endif

#endif /* HAQ_HAQ_UV_H */
