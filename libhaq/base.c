/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What every file leans on and that calls nothing else of libhaq: the
 * version, the process id and the clock, logging, the network namespace
 * of the context and the credentials of corosync's IPC server.
 */
#include "haq-int.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <qb/qblog.h>

HAQ_EXPORT unsigned int
haq_version(void)
{
	return HAQ_VERSION_HEX;
}

HAQ_EXPORT const char *
haq_version_string(void)
{
	return PACKAGE_VERSION;
}

/*
 * The fork check runs on every send and dispatch, and getpid() is a system
 * call (glibc stopped caching it in 2.25): keep the pid, and forget it in a
 * child, as systemd's getpid_cached() does. The fast path is inline
 * (haq-int.h).
 */
pid_t haq__cached_pid;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void
forget_pid(void)
{
	__atomic_store_n(&haq__cached_pid, 0, __ATOMIC_RELAXED);
}

static void
register_atfork(void)
{
	(void)pthread_atfork(NULL, NULL, forget_pid);
}

pid_t
haq__getpid_slow(void)
{
	pid_t pid;

	pthread_once(&atfork_once, register_atfork);
	pid = getpid();
	__atomic_store_n(&haq__cached_pid, pid, __ATOMIC_RELAXED);
	return pid;
}

uint64_t
haq__now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void
haq__log_at(haq_ctx_t *ctx, int priority, const char *function,
	    const char *file, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ctx->log_fn) {
		ctx->log_fn(ctx, priority, msg, ctx->log_ud);
		return;
	}
	/* The record names the library's function and line that logged. */
	qb_log_from_external_source(function, file, "%s", (uint8_t)priority,
				    (uint32_t)line, 0, msg);
}

/*
 * corosync's IPC sockets are abstract, so they live in a network
 * namespace: a connection made later (a join, a reconnect) must be made in
 * the namespace the context was created in, even if the thread has moved
 * since (a test driving several nodes from one process does). Returns the
 * descriptor to restore with haq__netns_leave(), or -1 when no switch was
 * needed or possible.
 */
int
haq__netns_enter(haq_ctx_t *ctx)
{
	struct stat want, cur;
	int saved;

	if (ctx->netns_fd < 0 || fstat(ctx->netns_fd, &want) < 0) {
		return -1;
	}
	saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (saved < 0) {
		return -1;
	}
	if (fstat(saved, &cur) == 0 && cur.st_ino == want.st_ino &&
	    cur.st_dev == want.st_dev) {
		close(saved);
		return -1;
	}
	if (setns(ctx->netns_fd, CLONE_NEWNET) < 0) {
		haq__log(ctx, HAQ_LOG_WARNING,
			 "cannot return to the context's network namespace: %s",
			 strerror(errno));
		close(saved);
		return -1;
	}
	return saved;
}

void
haq__netns_leave(int saved)
{
	if (saved >= 0) {
		(void)setns(saved, CLONE_NEWNET);
		close(saved);
	}
}

/*
 * The IPC server must be root's corosync: anyone can bind an abstract
 * socket name first and pose as it (Pacemaker checks the same).
 */
int
haq__check_server(haq_ctx_t *ctx, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (ctx->flags & HAQ_CTX_ANY_SERVER_UID) {
		return 0;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		return -errno;
	}
	if (cred.uid != 0) {
		haq__log(ctx, HAQ_LOG_ERR,
			 "refusing corosync IPC server pid %d running as uid %u "
			 "(not root)",
			 (int)cred.pid, (unsigned int)cred.uid);
		return -EPERM;
	}
	return 0;
}
