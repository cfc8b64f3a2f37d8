/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * raw-totem: corosync's own view of membership changes, with no libhaq in
 * between. It joins a CPG group on raw libcpg and logs, in haq-probe's line
 * format (MONO_US REAL_US EVENT ...), every totem ring change
 *     totem ring=N.SEQ nodes=a,b,...
 * and every configuration change of the group
 *     confchg members=n/p,... left=n/p:reason,... joined=...
 * at the moment libcpg hands it over. The failover benchmark compares these
 * times with libhaq's view and leader callbacks. Stops on SIGTERM/SIGINT.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <corosync/cpg.h>

static FILE *out;
static volatile sig_atomic_t stop;

static uint64_t
clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void
stamp(void)
{
	fprintf(out, "%" PRIu64 " %" PRIu64 " ", clock_us(CLOCK_MONOTONIC),
		clock_us(CLOCK_REALTIME));
}

static void
list(const char *key, const struct cpg_address *a, size_t n, int reasons)
{
	fprintf(out, " %s=", key);
	if (n == 0) {
		fputc('-', out);
	}
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "%s%u/%u", i ? "," : "", a[i].nodeid, a[i].pid);
		if (reasons) {
			fprintf(out, ":%u", a[i].reason);
		}
	}
}

static void
deliver_cb(cpg_handle_t h, const struct cpg_name *name, uint32_t nodeid,
	   uint32_t pid, void *msg, size_t len)
{
	(void)h;
	(void)name;
	(void)nodeid;
	(void)pid;
	(void)msg;
	(void)len;
}

static void
confchg_cb(cpg_handle_t h, const struct cpg_name *name,
	   const struct cpg_address *members, size_t nmembers,
	   const struct cpg_address *left, size_t nleft,
	   const struct cpg_address *joined, size_t njoined)
{
	(void)h;
	(void)name;
	stamp();
	fputs("confchg", out);
	list("members", members, nmembers, 0);
	list("left", left, nleft, 1);
	list("joined", joined, njoined, 1);
	fputc('\n', out);
	fflush(out);
}

static void
totem_cb(cpg_handle_t h, struct cpg_ring_id ring_id, uint32_t n,
	 const uint32_t *nodes)
{
	(void)h;
	stamp();
	fprintf(out, "totem ring=%u.%" PRIx64 " nodes=", ring_id.nodeid,
		ring_id.seq);
	for (uint32_t i = 0; i < n; i++) {
		fprintf(out, "%s%u", i ? "," : "", nodes[i]);
	}
	fputc('\n', out);
	fflush(out);
}

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int
main(int argc, char **argv)
{
	cpg_model_v1_data_t model = {
		.model = CPG_MODEL_V1,
		.cpg_deliver_fn = deliver_cb,
		.cpg_confchg_fn = confchg_cb,
		.cpg_totem_confchg_fn = totem_cb,
		.flags = CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF,
	};
	struct cpg_name group;
	cpg_handle_t handle;
	cs_error_t err;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: raw-totem GROUP LOGFILE\n");
		return 2;
	}
	out = fopen(argv[2], "a");
	if (!out || strlen(argv[1]) == 0 ||
	    strlen(argv[1]) > CPG_MAX_NAME_LENGTH) {
		fprintf(stderr, "raw-totem: bad arguments\n");
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	group.length = (uint32_t)strlen(argv[1]);
	memcpy(group.value, argv[1], group.length);
	err = cpg_model_initialize(&handle, CPG_MODEL_V1,
				   (cpg_model_data_t *)&model, NULL);
	if (err != CS_OK) {
		fprintf(stderr, "raw-totem: cpg_model_initialize: %d\n", err);
		return 1;
	}
	while ((err = cpg_join(handle, &group)) == CS_ERR_TRY_AGAIN) {
		usleep(10000);
	}
	if (err != CS_OK || cpg_fd_get(handle, &fd) != CS_OK) {
		fprintf(stderr, "raw-totem: cpg_join: %d\n", err);
		return 1;
	}
	stamp();
	fprintf(out, "start pid=%d group=%s\n", (int)getpid(), argv[1]);
	fflush(out);
	while (!stop) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		if (poll(&p, 1, 200) < 0) {
			if (errno == EINTR) {
				continue;
			}
			break;
		}
		if (p.revents) {
			err = cpg_dispatch(handle, CS_DISPATCH_ALL);
			if (err != CS_OK && err != CS_ERR_TRY_AGAIN) {
				stamp();
				fprintf(out, "exit error=%d\n", err);
				return 1;
			}
		}
	}
	cpg_finalize(handle);
	stamp();
	fprintf(out, "exit\n");
	fclose(out);
	return 0;
}
