/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Each adapter header compiles alone (nothing included before it), with
 * -Werror: this file is built once per header (tests/adapters.mk), with
 * HAQ_TEST_GLIB, HAQ_TEST_SDEVENT or HAQ_TEST_UV. The run checks the
 * prototypes and the -EINVAL answers to NULL arguments, which need no
 * corosync.
 */
#if defined(HAQ_TEST_GLIB)
#include <haq/haq-glib.h>
#elif defined(HAQ_TEST_SDEVENT)
#include <haq/haq-sdevent.h>
#elif defined(HAQ_TEST_UV)
#include <haq/haq-uv.h>
#else
#error "build with -DHAQ_TEST_GLIB, -DHAQ_TEST_SDEVENT or -DHAQ_TEST_UV"
#endif

int
main(void)
{
#if defined(HAQ_TEST_GLIB)
	int (*attach)(haq_ctx_t *, GMainContext *, guint *) = haq_glib_attach;
	int (*detach)(GMainContext *, guint) = haq_glib_detach;
	guint id = 0;

	return attach(NULL, NULL, &id) != -EINVAL || id != 0 ||
	       detach(NULL, 0) != -EINVAL;
#elif defined(HAQ_TEST_SDEVENT)
	int (*attach)(haq_ctx_t *, sd_event *, sd_event_source **) =
		haq_sdevent_attach;
	int (*detach)(sd_event_source *) = haq_sdevent_detach;
	sd_event_source *s = NULL;

	return attach(NULL, NULL, &s) != -EINVAL || s != NULL ||
	       detach(NULL) != -EINVAL;
#else
	int (*attach)(haq_ctx_t *, uv_loop_t *, uv_poll_t *) = haq_uv_attach;
	int (*detach)(uv_poll_t *, uv_close_cb) = haq_uv_detach;
	uv_poll_t h;

	return attach(NULL, NULL, &h) != -EINVAL ||
	       detach(NULL, NULL) != -EINVAL;
#endif
}
