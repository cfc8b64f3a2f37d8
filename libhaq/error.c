/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One table maps corosync's cs_error_t to errno values, and one function
 * turns any libhaq error into a sentence a person can act on.
 */
#include "haq-int.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

int
haq__cs_to_errno(cs_error_t err)
{
	switch (err) {
	case CS_OK:
		return 0;
	case CS_ERR_LIBRARY:
		/* The IPC connection failed or broke: corosync is gone. */
		return -ENOTCONN;
	case CS_ERR_VERSION:
		return -EPROTO;
	case CS_ERR_INIT:
		return -ENOTCONN;
	case CS_ERR_TIMEOUT:
		return -ETIMEDOUT;
	case CS_ERR_TRY_AGAIN:
		return -EAGAIN;
	case CS_ERR_INVALID_PARAM:
		return -EINVAL;
	case CS_ERR_NO_MEMORY:
		return -ENOMEM;
	case CS_ERR_BAD_HANDLE:
		return -EBADF;
	case CS_ERR_BUSY:
		return -EBUSY;
	case CS_ERR_ACCESS:
	case CS_ERR_SECURITY:
		return -EACCES;
	case CS_ERR_NOT_EXIST:
	case CS_ERR_NAME_NOT_FOUND:
		return -ENOENT;
	case CS_ERR_NAME_TOO_LONG:
		return -ENAMETOOLONG;
	case CS_ERR_EXIST:
		return -EEXIST;
	case CS_ERR_NO_SPACE:
	case CS_ERR_NO_RESOURCES:
		return -ENOSPC;
	case CS_ERR_INTERRUPT:
		return -EINTR;
	case CS_ERR_NOT_SUPPORTED:
		return -ENOTSUP;
	case CS_ERR_BAD_OPERATION:
	case CS_ERR_BAD_FLAGS:
		return -EINVAL;
	case CS_ERR_FAILED_OPERATION:
		return -EIO;
	case CS_ERR_MESSAGE_ERROR:
		return -EBADMSG;
	case CS_ERR_QUEUE_FULL:
	case CS_ERR_QUEUE_NOT_AVAILABLE:
		return -ENOBUFS;
	case CS_ERR_TOO_BIG:
		return -EMSGSIZE;
	case CS_ERR_NO_SECTIONS:
	case CS_ERR_CONTEXT_NOT_FOUND:
		return -ENOENT;
	case CS_ERR_TOO_MANY_GROUPS:
		return -ENOSPC;
	}
	return -EIO;
}

HAQ_EXPORT const char *
haq_strerror(int err)
{
	/* -INT_MIN does not fit an int, and it is no errno value anyway. */
	if (err == INT_MIN) {
		return "unknown error";
	}
	if (err > 0) {
		err = -err;
	}
	switch (-err) {
	case 0:
		return "success";
	case ECONNREFUSED:
		return "corosync is not running on this node (or not in this "
		       "network namespace): start it, e.g. 'systemctl start "
		       "corosync'";
	case ENOTCONN:
		return "the connection to corosync was lost: libhaq reconnects "
		       "by itself; retry after the connection callback";
	case EACCES:
		return "corosync refused this user: run as root, or allow the "
		       "user or group with a file in /etc/corosync/uidgid.d/ "
		       "(uidgid { uid: NAME }) and reload corosync";
	case EINVAL:
		return "invalid argument (a NULL pointer, a zero length, or a "
		       "value out of range)";
	case ENAMETOOLONG:
		return "the name is too long (a group name above 128 bytes, "
		       "a lock name above 64)";
	case EEXIST:
		return "this process has already joined a group of that name "
		       "on this node (through this or another context)";
	case EMSGSIZE:
		return "the message is larger than the group's maximum message "
		       "size (see haq_group_set_max_message)";
	case ENOBUFS:
		return "the send queue is full: wait for the writable "
		       "callback, or raise the limit with "
		       "haq_group_set_queue_limit";
	case EAGAIN:
		return "corosync is busy (flow control or membership change): "
		       "try again later";
	case ENOMEM:
		return "out of memory";
	case EMFILE:
		return "out of file descriptors for this process";
	case ENOENT:
		return "not found (no such key, group, leader or tracking)";
	case EPROTOTYPE:
		return "the configuration key has another type than asked for";
	case EBUSY:
		return "not allowed from inside a libhaq callback, while a "
		       "state transfer of this process is under way, or while "
		       "this process has lock requests; or the lock is held";
	case EPERM:
		return "the corosync IPC server is not running as root: "
		       "refusing to trust it (HAQ_CTX_ANY_SERVER_UID allows it)";
	case ECHILD:
		return "this context belongs to the parent process: after "
		       "fork() create a new context in the child";
	case ETIMEDOUT:
		return "timed out (corosync did not answer in time, or a "
		       "request's timeout ran out)";
	case EPROTO:
		return "corosync speaks an incompatible protocol version";
	case EBADF:
		return "corosync does not know this handle (it was finalized "
		       "or corosync restarted)";
	case ENOSPC:
		return "out of room (corosync's resources for this request, or "
		       "the group's lock table)";
	case EINTR:
		return "interrupted by a membership change: try again";
	case ENOTSUP:
		return "not supported (by this corosync, or with the test "
		       "switch HAQ_TEST_NO_CAPS)";
	case EBADMSG:
		return "a malformed message was received and dropped";
	case EIO:
		return "corosync reported a failed operation";
	case EALREADY:
		return "already done (the state callbacks were set, the "
		       "state transfer was ended, the request was replied "
		       "to, or the lock is held or asked for)";
	case EISCONN:
		return "the group had its first view already: set the state "
		       "callbacks right after haq_group_join()";
	case ESTALE:
		return "that state transfer is not under way here (it was "
		       "restarted, failed, or is not this process's)";
	case EFBIG:
		return "the state is larger than the group's maximum state "
		       "size (see haq_group_state_limit)";
	case EHOSTDOWN:
		return "the member left or disconnected (a state provider: "
		       "another one starts again from a new cut)";
	case ECONNRESET:
		return "a healed partition restarted the state transfer";
	case ECANCELED:
		return "the request was withdrawn (cancelled by its requester, "
		       "or the requester left)";
	case ENOSYS:
		return "the member does not answer requests (no request "
		       "callback)";
	case EREMOTEIO:
		return "the request's answers can no longer come (too many "
		       "responders replied with an error or left)";
	case ENOLCK:
		return "the lock is lost: this process's partition lost quorum";
	case ETIME:
		return "the lease of this process's locks ran out: corosync "
		       "did not carry its renewals in time";
	case ENODATA:
		return "no member holds the group's state any more: each "
		       "member keeps what it has";
	}
	return "unknown error";
}
