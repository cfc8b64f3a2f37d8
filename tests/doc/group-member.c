/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A helper of tests/doc/haq-status: join the groups named on the command
 * line and stay in them until killed, so that haq-status has members to
 * show. Prints "joined NAME" once each group's first view has arrived.
 */
#include <stdio.h>
#include <string.h>

#include <haq/haq.h>

static void
on_view(haq_group_t *group, const haq_view_t *view, void *userdata)
{
	(void)userdata;
	if (haq_view_seq(view) == 1) {
		printf("joined %s\n", haq_group_name(group));
		fflush(stdout);
	}
}

int
main(int argc, char **argv)
{
	haq_ctx_t *ctx;
	int rc;

	if (argc < 2) {
		fprintf(stderr, "usage: group-member GROUP...\n");
		return 2;
	}
	rc = haq_ctx_new(&ctx, NULL);
	if (rc < 0) {
		fprintf(stderr, "group-member: %s\n", haq_strerror(rc));
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		haq_group_t *g;

		rc = haq_group_join(ctx, argv[i], &g);
		if (rc < 0) {
			fprintf(stderr, "group-member: join %s: %s\n", argv[i],
				haq_strerror(rc));
			return 1;
		}
		haq_group_set_view_cb(g, on_view, NULL);
	}
	/* Until killed: the group list must show this process. */
	rc = haq_ctx_run(ctx);
	fprintf(stderr, "group-member: %s\n", haq_strerror(rc));
	return 1;
}
