/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file haq-sdevent.h
 * @brief Drive a libhaq context from a systemd sd-event loop.
 *
 * Header only: nothing here is exported by libhaq.so, and libhaq never
 * links libsystemd. Build with the flags of both:
 * `cc prog.c $(pkg-config --cflags --libs libhaq libsystemd)`.
 *
 * The adapter adds one I/O event source to an sd_event loop. It watches
 * haq_ctx_fd() for EPOLLIN, level-triggered, and calls haq_ctx_dispatch()
 * each time the fd is readable; while it stays readable (more events, or a
 * retry timer that expired) the loop dispatches again on its next
 * iteration, so libhaq's timers and the writable callback run without
 * anything else.
 *
 * Rules:
 * - The context must have been created with a NULL loop
 *   (haq_ctx_new(&ctx, NULL)): a context on a libqb loop is already driven
 *   by that loop.
 * - The context and the sd_event loop are used from one thread: every
 *   libhaq callback runs from sd_event_run() or sd_event_loop() there.
 * - Attach a context once per loop (again: -EEXIST). Detach it before
 *   haq_ctx_free(); to free the context from inside one of its callbacks,
 *   detach first, then call haq_ctx_free() (the release is deferred until
 *   the callback returns).
 * - When haq_ctx_dispatch() fails, the handler returns the error, and
 *   sd-event does what it does with any failing handler: it turns the
 *   source off (SD_EVENT_OFF), or, after
 *   sd_event_source_set_exit_on_failure(source, 1), exits the loop with
 *   that error. The source stays allocated until haq_sdevent_detach().
 *   (After a fork(), sd-event itself refuses the parent's loop with -ECHILD,
 *   and haq_sdevent_attach() refuses the parent's context the same way.)
 */
#ifndef HAQ_HAQ_SDEVENT_H
#define HAQ_HAQ_SDEVENT_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

#include <systemd/sd-event.h>

#include <haq/haq.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @internal
 * @brief The source's handler (not part of the API).
 * @param source the adapter's source.
 * @param fd haq_ctx_fd() of the context.
 * @param revents the events that woke the loop.
 * @param userdata the context.
 * @return 0, or haq_ctx_dispatch()'s error.
 */
static inline int
haq_sdevent_impl_dispatch(sd_event_source *source, int fd, uint32_t revents,
			  void *userdata)
{
	int rc = haq_ctx_dispatch((haq_ctx_t *)userdata);

	(void)source;
	(void)fd;
	(void)revents;
	return rc < 0 ? rc : 0;
}

/**
 * @brief Attach a context to an sd-event loop.
 * @param ctx a context created with a NULL loop.
 * @param e the loop (for the thread's default loop: sd_event_default()).
 * @param ret where the new event source is stored; untouched on failure.
 *        Set its priority with sd_event_source_set_priority() if needed.
 * @return 0, or
 *         -EINVAL ctx, e or ret is NULL;
 *         -ECHILD the context (or the loop) belongs to the parent of a
 *                 fork();
 *         -EEXIST the context is already attached to this loop;
 *         -ENOMEM and the other errors of sd_event_add_io().
 */
static inline int
haq_sdevent_attach(haq_ctx_t *ctx, sd_event *e, sd_event_source **ret)
{
	sd_event_source *source = NULL;
	int fd;
	int rc;

	if (ctx == NULL || e == NULL || ret == NULL) {
		return -EINVAL;
	}
	fd = haq_ctx_fd(ctx);
	if (fd < 0) {
		return fd;
	}
	rc = sd_event_add_io(e, &source, fd, EPOLLIN, haq_sdevent_impl_dispatch,
			     ctx);
	if (rc < 0) {
		return rc;
	}
	/* Only a name for debugging: a failure here changes nothing. */
	(void)sd_event_source_set_description(source, "libhaq");
	*ret = source;
	return 0;
}

/**
 * @brief Detach a context from its sd-event loop and free the source.
 * @param source the source haq_sdevent_attach() stored; invalid after
 *        the call (detaching twice is a use after free).
 * @return 0, or -EINVAL if source is NULL.
 *
 * The context is not dispatched any more; it stays usable and can be
 * attached again or freed. May be called from inside a libhaq callback.
 */
static inline int
haq_sdevent_detach(sd_event_source *source)
{
	if (source == NULL) {
		return -EINVAL;
	}
	(void)sd_event_source_disable_unref(source);
	return 0;
}

#ifdef __cplusplus
}
#endif

#endif /* HAQ_HAQ_SDEVENT_H */
