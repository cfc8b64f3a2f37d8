/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file haq.h
 * @brief libhaq: totally ordered group messaging, membership views, quorum
 * and configuration from corosync, behind one small event-driven API.
 *
 * Threading: a context and everything under it (groups, views, quorum
 * snapshots) belong to one thread. Every callback runs from
 * haq_ctx_dispatch(), called by the caller's loop. Leaving a group or
 * freeing the context from inside a callback is allowed; the release is
 * deferred until the callback returns.
 *
 * Errors: every fallible call returns 0 (or a count) on success and a
 * negative errno value on failure; haq_strerror() says what to do about it.
 * A call that fails never invokes a callback for that call.
 *
 * Buffers: data handed to a callback (messages, views, quorum snapshots,
 * keys) is borrowed and valid only until the callback returns. Data passed
 * to a send call is the caller's again when the call returns.
 *
 * fork(): a context belongs to the process that created it. In a forked
 * child every call on the context or its groups that returns an int fails
 * with -ECHILD (haq_group_name(), haq_group_ctx() and haq_group_view()
 * return NULL, haq_group_next_id() 0), so the child cannot steal the
 * parent's corosync events; haq_ctx_free() is safe there and releases
 * only the child's memory and descriptors. A child creates its own
 * context.
 *
 * Order of callbacks (libhaq(3) has the whole list): a view callback comes
 * before the leader callback it causes. When the connection to corosync is
 * lost, the connection callback reports 0 first, then each group reports
 * "no leader" and then the ids of its messages of unknown fate. The
 * connection callback's 1 comes when the connections are back, before the
 * groups' fresh views.
 *
 * The library never prints: it logs through haq_ctx_set_log().
 */
#ifndef HAQ_HAQ_H
#define HAQ_HAQ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <qb/qbloop.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Major version of the headers this program was compiled with. */
#define HAQ_VERSION_MAJOR 0
/** Minor version of the headers this program was compiled with. */
#define HAQ_VERSION_MINOR 5
/** Patch version of the headers this program was compiled with. */
#define HAQ_VERSION_PATCH 0
/** Compile-time version as one number: (major << 16) | (minor << 8) | patch. */
#define HAQ_VERSION_HEX \
	((HAQ_VERSION_MAJOR << 16) | (HAQ_VERSION_MINOR << 8) | HAQ_VERSION_PATCH)

/** Longest group name in bytes (the terminating NUL is not counted). */
#define HAQ_GROUP_NAME_MAX 128
/** Default largest message a group sends or reassembles: 64 MiB. */
#define HAQ_MESSAGE_MAX_DEFAULT (64u * 1024u * 1024u)
/** Default bound on the bytes a group queues for sending: 8 MiB. */
#define HAQ_QUEUE_LIMIT_DEFAULT (8u * 1024u * 1024u)
/** Default bound on one bundle of small messages: 64 KiB. */
#define HAQ_BUNDLE_DEFAULT (64u * 1024u)
/** Smallest bound haq_group_set_bundle() takes (other than 0, off). */
#define HAQ_BUNDLE_MIN 64u
/** Smallest threshold haq_group_set_compress() takes (other than 0, off). */
#define HAQ_COMPRESS_MIN 256u
/**
 * The largest message that goes out in one frame (1,047,528 bytes):
 * larger ones travel in fragments, and haq_group_send_zc() spares them a
 * copy into the send queue.
 */
#define HAQ_MESSAGE_FRAME_MAX 1047528u

/** A connection to the local corosync: one per process and thread. */
typedef struct haq_ctx haq_ctx_t;
/** One joined process group. */
typedef struct haq_group haq_group_t;
/** One agreed membership view of a group (borrowed). */
typedef struct haq_view haq_view_t;
/** One quorum state snapshot (borrowed). */
typedef struct haq_quorum haq_quorum_t;
/** A node list read from the configuration (owned by the caller). */
typedef struct haq_nodelist haq_nodelist_t;
/** A snapshot of every CPG group of the cluster (owned by the caller). */
typedef struct haq_grouplist haq_grouplist_t;

/**
 * @brief Run-time version of the library.
 * @return (major << 16) | (minor << 8) | patch, as HAQ_VERSION_HEX.
 */
unsigned int haq_version(void);

/**
 * @brief Run-time version of the library as a string such as "0.1.0".
 * @return a static string; never NULL.
 */
const char *haq_version_string(void);

/**
 * @brief Describe an error returned by any libhaq call.
 * @param err a negative errno value returned by libhaq (a positive value
 *            is treated as its negation).
 * @return a static sentence saying what happened and what to do; never NULL.
 */
const char *haq_strerror(int err);

/* ------------------------------------------------------------------ */
/* Context                                                            */
/* ------------------------------------------------------------------ */

/** Priorities given to the log callback (the syslog values). */
enum haq_log_priority {
	HAQ_LOG_ERR = 3,     /**< an error the library could not recover from */
	HAQ_LOG_WARNING = 4, /**< something went wrong and was handled */
	HAQ_LOG_NOTICE = 5,  /**< a normal but significant event (reconnect) */
	HAQ_LOG_INFO = 6,    /**< membership and quorum changes */
	HAQ_LOG_DEBUG = 7,   /**< detail for developers */
};

/**
 * @brief Receives the library's log messages.
 * @param ctx the context that logs.
 * @param priority one of enum haq_log_priority.
 * @param message the text, without a trailing newline; borrowed.
 * @param userdata as given to haq_ctx_set_log().
 *
 * Runs on the context's thread. It must not call back into the library.
 */
typedef void (*haq_log_fn)(haq_ctx_t *ctx, int priority, const char *message,
			   void *userdata);

/**
 * @brief Receives connection changes to the local corosync.
 * @param ctx the context.
 * @param connected 0 when the connection to corosync was lost (every group
 *        stops delivering; the context reconnects with backoff), 1 when it
 *        is back (every group's join has been sent again; each group
 *        reports a fresh view later, once corosync confirms its rejoin).
 * @param userdata as given to haq_ctx_set_connection_cb().
 *
 * Order: on a lost connection this callback (0) runs first; then, group
 * by group, the leader callback with no leader (if the group had one) and
 * the uncertain callback with the ids whose fate is unknown (if any). The
 * 1 comes before any group's fresh view: do not expect a view to be there
 * yet.
 *
 * May call any libhaq function, haq_ctx_free() included.
 */
typedef void (*haq_connection_fn)(haq_ctx_t *ctx, int connected,
				  void *userdata);

/**
 * @brief Connect to the local corosync and create a context.
 * @param ret where the new context is stored; untouched on failure.
 * @param loop a libqb loop to attach to, or NULL to drive the context with
 *        haq_ctx_fd() and haq_ctx_dispatch() from any other loop, or with
 *        haq_ctx_run().
 * @return 0 on success, or
 *         -EINVAL  ret is NULL;
 *         -ECONNREFUSED corosync is not running in this network namespace;
 *         -ETIMEDOUT corosync accepts connections but does not answer
 *                  within 2 s (stopped with SIGSTOP, or overloaded): the
 *                  call never waits longer for it;
 *         -EACCES  corosync does not allow this user (see uidgid.d);
 *         -EPERM   the IPC server is not running as root;
 *         -ENOMEM  out of memory;
 *         -EMFILE  out of file descriptors.
 */
int haq_ctx_new(haq_ctx_t **ret, qb_loop_t *loop);

/** Flags of haq_ctx_new_flags(). */
enum haq_ctx_flags {
	/**
	 * Talk to a corosync that does not run as root. By default libhaq
	 * checks the credentials of the IPC server it connects to and refuses
	 * (-EPERM) one whose user is not root, as Pacemaker does: anything
	 * able to bind corosync's abstract socket names could pose as it.
	 */
	HAQ_CTX_ANY_SERVER_UID = 1u << 0,
};

/**
 * @brief haq_ctx_new() with flags.
 * @param ret where the new context is stored; untouched on failure.
 * @param loop a libqb loop, or NULL (as for haq_ctx_new()).
 * @param flags a bitwise or of enum haq_ctx_flags, or 0.
 * @return as haq_ctx_new(), and
 *         -EINVAL an unknown flag;
 *         -EPERM  the IPC server is not running as root (see
 *                 HAQ_CTX_ANY_SERVER_UID).
 */
int haq_ctx_new_flags(haq_ctx_t **ret, qb_loop_t *loop, unsigned int flags);

/**
 * @brief Leave every group, disconnect and free the context.
 * @param ctx the context, or NULL (then nothing happens).
 *
 * Queued messages that were not yet handed to corosync are discarded.
 * Inside a callback the release is deferred until the callback returns,
 * and while haq_ctx_run() runs (called from another callback of the same
 * libqb loop) until haq_ctx_run() returns; no further callback runs.
 *
 * Safe in a forked child of the process that created the context: there
 * it releases only this process's memory and descriptors, and never
 * touches the parent's corosync connections (no leave, no finalize).
 */
void haq_ctx_free(haq_ctx_t *ctx);

/**
 * @brief Set the log callback.
 * @param ctx the context.
 * @param fn the callback, or NULL to log through libqb's qb_log (the
 *        default).
 * @param userdata passed to fn.
 * @return 0, or -EINVAL if ctx is NULL, -ECHILD in a forked child.
 */
int haq_ctx_set_log(haq_ctx_t *ctx, haq_log_fn fn, void *userdata);

/**
 * @brief Set the connection callback.
 * @param ctx the context.
 * @param fn the callback, or NULL for none.
 * @param userdata passed to fn.
 * @return 0, or -EINVAL if ctx is NULL, -ECHILD in a forked child.
 */
int haq_ctx_set_connection_cb(haq_ctx_t *ctx, haq_connection_fn fn,
			      void *userdata);

/**
 * @brief The one file descriptor to watch when not using a libqb loop.
 * @param ctx the context.
 * @return a descriptor that polls readable (POLLIN) when
 *         haq_ctx_dispatch() has work, or -EINVAL, -ECHILD (a forked
 *         child). It stays the same for the life of the context, across
 *         reconnects. Do not close it, read it or write to it.
 *
 * The loop contract: watch the descriptor for POLLIN (level-triggered),
 * call haq_ctx_dispatch() when it is readable, and call it again while it
 * stays readable; each call does a bounded share of the work. Everything
 * of the context is behind this one descriptor: the corosync connections
 * and the retry timers too (flow control retries, the join timeout, the
 * reconnect backoff, the wait for a view's quorum state). A program that
 * stops dispatching stops those timers: a sender waiting for room (the
 * writable callback) must keep dispatching, or that callback never
 * comes.
 */
int haq_ctx_fd(haq_ctx_t *ctx);

/**
 * @brief Process pending events without blocking and run their callbacks.
 * @param ctx the context.
 * @return the number of events processed (>= 0; 0 if none was pending),
 *         or
 *         -EINVAL ctx is NULL;
 *         -EBUSY called from inside a callback;
 *         -ECHILD the context belongs to the parent of a fork().
 *
 * The callbacks of corosync's events run from here (with a libqb loop,
 * from the dispatch the loop calls); only haq_release_fn and haq_log_fn
 * may also run from other calls. Work is bounded per call, so one busy group cannot starve
 * the loop: call it when haq_ctx_fd() is readable and again while it
 * stays readable. The retry timers (flow control, reconnect) fire from
 * here too: a sender waiting for the writable callback must keep calling
 * it. Never blocks.
 */
int haq_ctx_dispatch(haq_ctx_t *ctx);

/**
 * @brief Run the loop until haq_ctx_stop().
 * @param ctx the context.
 * @return 0 after haq_ctx_stop(), or -EINVAL, -EBUSY (inside a callback,
 *         or haq_ctx_run() already runs), -ECHILD (a forked child).
 *
 * With a libqb loop this runs qb_loop_run() on it; without one it polls
 * haq_ctx_fd() and dispatches.
 */
int haq_ctx_run(haq_ctx_t *ctx);

/**
 * @brief Make haq_ctx_run() return once the current callback returns.
 * @param ctx the context.
 * @return 0, or -EINVAL, -ECHILD (a forked child).
 */
int haq_ctx_stop(haq_ctx_t *ctx);

/**
 * @brief This node's corosync node id.
 * @param ctx the context.
 * @param nodeid where the id is stored.
 * @return 0, or -EINVAL, -ECHILD (a forked child).
 */
int haq_ctx_local_nodeid(haq_ctx_t *ctx, uint32_t *nodeid);

/* ------------------------------------------------------------------ */
/* Groups                                                             */
/* ------------------------------------------------------------------ */

/** Why a member joined or left a view (corosync's CPG reasons). */
enum haq_reason {
	HAQ_REASON_JOIN = 1,     /**< the process joined the group */
	HAQ_REASON_LEAVE = 2,    /**< the process left the group */
	HAQ_REASON_NODEDOWN = 3, /**< its node left the cluster membership */
	HAQ_REASON_NODEUP = 4,   /**< its node joined the cluster membership */
	HAQ_REASON_PROCDOWN = 5, /**< the process died or disconnected */
};

/**
 * @brief A short name for a reason ("join", "leave", "nodedown", "nodeup",
 *        "procdown", or "unknown").
 * @param reason one of enum haq_reason.
 * @return a static string; never NULL.
 */
const char *haq_reason_str(int reason);

/**
 * @brief Receives one message delivered to a group, in the agreed order.
 * @param group the group.
 * @param nodeid the sender's node id.
 * @param pid the sender's process id.
 * @param data the message; borrowed until the callback returns.
 * @param len its length in bytes (at least 1).
 * @param userdata as given to haq_group_set_message_cb().
 *
 * May call any libhaq function: sending, leaving the group (deferred) and
 * freeing the context (deferred) included.
 */
typedef void (*haq_message_fn)(haq_group_t *group, uint32_t nodeid,
			       uint32_t pid, const void *data, size_t len,
			       void *userdata);

/**
 * @brief Receives each new view of a group.
 * @param group the group.
 * @param view the new view; borrowed until the callback returns.
 * @param userdata as given to haq_group_set_view_cb().
 *
 * The view is reported once the quorum state of the same totem ring is
 * known, so haq_view_quorate() and haq_quorum_get() agree with it.
 * It comes before the leader callback it causes. A totem ring change that
 * leaves the group's member list as it was gives no view (the election is
 * still evaluated again: see haq_leader_fn). After a reconnect each group
 * reports a fresh view once corosync confirms its rejoin, which is after
 * the connection callback's 1.
 * May call any libhaq function.
 */
typedef void (*haq_view_fn)(haq_group_t *group, const haq_view_t *view,
			    void *userdata);

/**
 * @brief Called when a group whose send failed with -ENOBUFS has room again.
 * @param group the group.
 * @param userdata as given to haq_group_set_writable_cb().
 */
typedef void (*haq_writable_fn)(haq_group_t *group, void *userdata);

/**
 * @brief Called when libhaq no longer needs a buffer given to
 *        haq_group_send_zc().
 * @param data the buffer, as given.
 * @param userdata as given to haq_group_send_zc().
 *
 * Runs inside a libhaq call: a dispatch, haq_group_send_zc() itself (a
 * message handed to corosync at once, which took a copy), haq_group_leave()
 * or haq_ctx_free(). A buffer pool must be ready for the release running
 * before haq_group_send_zc() returns: mark the buffer lent before the call,
 * not after it. It may free or reuse the buffer; it must not call libhaq
 * functions.
 */
typedef void (*haq_release_fn)(void *data, void *userdata);

/**
 * @brief Called when the group's leader or its epoch changes.
 * @param group the group.
 * @param is_leader 1 when this process is now the leader, else 0.
 * @param epoch the leadership's fencing token (0 when there is no leader):
 *        it strictly increases with each new leadership, over the group's
 *        history (see haq_group_leader() for what that rests on).
 * @param nodeid the leader's node id (0 when there is no leader).
 * @param pid the leader's process id (0 when there is no leader).
 * @param userdata as given to haq_group_set_leader_cb().
 *
 * Every member names the same leader at the same point of the agreed
 * stream (see haq_group_leader()): leadership is sticky. A leader keeps
 * its leadership and its epoch through every view change after which it
 * is still a member of a quorate partition (joins, merges and heals,
 * other members leaving, other nodes failing): no callback runs for it.
 * A new leader is elected only when there is none: the lowest eligible
 * (nodeid, pid) of the view (haq_group_set_eligible()). After any view
 * change, members that do not know the leader (a joiner, the side of a
 * heal that had none) name none until the leader's word reaches them
 * through the agreed stream (milliseconds on a quiet LAN; 12-180 ms was
 * measured under load and seconds on a slow link).
 *
 * is_leader is 1 only while this process holds a lease (haq_group_lease()):
 * a leader cut off from the quorate partition demotes itself (is_leader 0)
 * before any other member can be told it leads. Guarantee: at no moment
 * are two processes leaders (is_leader 1 and not yet told 0), provided
 * every leader's process runs and the clocks of the nodes advance at the
 * same rate. With two_node, or a quorum policy that lets two partitions
 * be quorate at once, this cannot hold; the epoch still tells the
 * leaderships apart, so a resource that checks it refuses the older.
 *
 * nodeid 0 means one of two things, which haq_group_leader_state() tells
 * apart from inside the callback: HAQ_LEADER_NONE, there is no leader
 * (the partition is not quorate, no member is eligible, or this process
 * is disconnected from corosync), or HAQ_LEADER_PENDING, the partition is
 * quorate and this process waits for the agreed word on its leader (or, as
 * the new leader, for the takeover delay of haq_group_leader_timing()).
 *
 * Order: the callback runs when the verdict changes (and once for the
 * first verdict after the join, even "no leader"). A view callback
 * comes before the leader callback it causes. On a lost connection it
 * runs (no leader) after the connection callback's 0 and before the
 * group's uncertain callback. It does not run for this process's own
 * haq_group_resign(), haq_group_leave() or haq_ctx_free(): the caller
 * knows.
 */
typedef void (*haq_leader_fn)(haq_group_t *group, int is_leader,
			      uint64_t epoch, uint32_t nodeid, uint32_t pid,
			      void *userdata);

/**
 * @brief Told which messages may or may not have been delivered.
 * @param group the group.
 * @param first_id the id of the first such message.
 * @param last_id the id of the last one (inclusive).
 * @param userdata as given to haq_group_set_uncertain_cb().
 *
 * When the connection to corosync breaks, the messages already handed to
 * corosync whose self-delivery had not come back may have reached some,
 * all or none of the members. libhaq does not resend them (that could
 * deliver them twice); it reports their ids here, after the disconnect:
 * after the connection callback's 0 and the group's leader callback with
 * no leader. Messages still queued are not affected: they are sent after
 * the rejoin.
 * Message ids count the group's accepted sends from 1: see
 * haq_group_next_id().
 */
typedef void (*haq_uncertain_fn)(haq_group_t *group, uint64_t first_id,
				  uint64_t last_id, void *userdata);

/**
 * @brief Called when corosync refused messages with an error that no retry
 *        can cure: they were not delivered to anyone.
 * @param group the group.
 * @param first_id id of the first refused message (see
 *        haq_group_next_id()).
 * @param last_id id of the last one (the range has no holes).
 * @param error the negative errno corosync's answer maps to.
 * @param userdata as given to haq_group_set_send_failed_cb().
 *
 * Runs from haq_ctx_dispatch(), never inside a send call. The messages
 * after the range go on in order. Without this callback the refusal is
 * only logged (HAQ_LOG_ERR).
 */
typedef void (*haq_send_failed_fn)(haq_group_t *group, uint64_t first_id,
				   uint64_t last_id, int error,
				   void *userdata);

/**
 * @brief Join a process group.
 * @param ctx the context.
 * @param name the group name: 1..HAQ_GROUP_NAME_MAX bytes followed by a NUL.
 *        Its bytes without the NUL form the CPG group name, so "g" here is
 *        the CPG group of length 1.
 * @param ret where the group is stored.
 * @return 0 (the join is confirmed later by the first view), or
 *         -EINVAL a NULL argument or an empty name;
 *         -ENAMETOOLONG the name is longer than HAQ_GROUP_NAME_MAX;
 *         -EEXIST this context, or another context of this process on
 *                 the same node, already joined that name (corosync
 *                 allows one join per process and group);
 *         -ENOTCONN corosync went away (retry after the connection callback);
 *         -EPERM the IPC server is not running as root (see
 *                HAQ_CTX_ANY_SERVER_UID);
 *         -ECHILD the context belongs to the parent of a fork();
 *         -EACCES, -ENOMEM, -EMFILE.
 *
 * Messages sent before the first view are queued and sent once the join is
 * confirmed. Set the callbacks before returning to the loop.
 */
int haq_group_join(haq_ctx_t *ctx, const char *name, haq_group_t **ret);

/**
 * @brief Leave a group and free it.
 * @param group the group.
 * @return the number of queued messages that had not been handed to
 *         corosync and are discarded (0 when the queue was empty), or
 *         -EINVAL, -ECHILD (a forked child).
 *
 * Queued messages are handed to corosync first, as far as it takes them
 * (messages that only waited to be bundled go out, in bundles).
 *
 * Inside a callback the release is deferred; no further callback runs for
 * the group. The group pointer is invalid after the call.
 */
int haq_group_leave(haq_group_t *group);

/**
 * @brief Set the message callback.
 * @param group the group.
 * @param fn the callback, or NULL for none.
 * @param userdata passed to fn.
 * @return 0, or -EINVAL if group is NULL, -ECHILD in a forked child.
 */
int haq_group_set_message_cb(haq_group_t *group, haq_message_fn fn,
			     void *userdata);

/**
 * @brief Set the view callback.
 * @param group the group.
 * @param fn the callback, or NULL for none.
 * @param userdata passed to fn.
 * @return 0, or -EINVAL if group is NULL, -ECHILD in a forked child.
 */
int haq_group_set_view_cb(haq_group_t *group, haq_view_fn fn, void *userdata);

/**
 * @brief Set the callback that tells when a full queue has room again.
 * @param group the group.
 * @param fn the callback, or NULL for none.
 * @param userdata passed to fn.
 * @return 0, or -EINVAL if group is NULL, -ECHILD in a forked child.
 */
int haq_group_set_writable_cb(haq_group_t *group, haq_writable_fn fn,
			      void *userdata);

/**
 * @brief Set the leadership callback.
 * @param group the group.
 * @param fn the callback, or NULL for none.
 * @param userdata passed to fn.
 * @return 0, or -EINVAL if group is NULL, -ECHILD in a forked child.
 */
int haq_group_set_leader_cb(haq_group_t *group, haq_leader_fn fn,
			    void *userdata);

/**
 * @brief Set the callback for messages of unknown fate after a disconnect.
 * @param group the group.
 * @param fn the callback, or NULL for none.
 * @param userdata passed to fn.
 * @return 0, or -EINVAL if group is NULL, -ECHILD in a forked child.
 */
int haq_group_set_uncertain_cb(haq_group_t *group, haq_uncertain_fn fn,
			       void *userdata);

/**
 * @brief Set the callback for messages corosync refused for good.
 * @param group the group.
 * @param fn the callback, or NULL to remove it.
 * @param userdata passed to fn.
 * @return 0, or -EINVAL (NULL group, or a group already left), -ECHILD
 *         (called in a forked child).
 */
int haq_group_set_send_failed_cb(haq_group_t *group, haq_send_failed_fn fn,
				 void *userdata);

/**
 * @brief The id the next accepted message of this group will get.
 * @param group the group.
 * @return the id (the first message sent on a group is 1, each accepted
 *         send adds one, across reconnects), or 0 if group is NULL or in a
 *         forked child.
 */
uint64_t haq_group_next_id(const haq_group_t *group);

/**
 * @brief Send a message to every member of the group, self included.
 * @param group the group.
 * @param data the message (copied or sent before the call returns).
 * @param len 1..the group's maximum message size bytes.
 * @return 0 when accepted: it will be delivered to every member that stays
 *         in the view, in the agreed order, or
 *         -EINVAL a NULL argument or len 0;
 *         -EMSGSIZE len is above the group's maximum message size
 *                   (see haq_group_set_max_message());
 *         -ENOBUFS the send queue is full: the writable callback runs
 *                  when there is room;
 *         -ECHILD the context belongs to the parent of a fork().
 *
 * While corosync is away (between the connection callback's 0 and 1) sends
 * are queued like any other, within the queue limit, and go out after the
 * rejoin.
 */
int haq_group_send(haq_group_t *group, const void *data, size_t len);

/**
 * @brief Send one message gathered from several buffers.
 * @param group the group.
 * @param iov the buffers, any number of them.
 * @param iovcnt the number of buffers.
 * @return as haq_group_send().
 */
int haq_group_sendv(haq_group_t *group, const struct iovec *iov,
		    size_t iovcnt);

/**
 * @brief Send a message without copying it: the group borrows the buffer.
 * @param group the group.
 * @param data the message; it must stay valid and unchanged until release
 *        is called.
 * @param len 1..the group's maximum message size bytes.
 * @param release called once, when libhaq no longer needs data: a message
 *        of one frame once corosync has taken it (possibly before this
 *        call returns), a larger one once it has come back whole, or when
 *        it is discarded (haq_group_leave(), haq_ctx_free(), refused by
 *        corosync). NULL: nothing is called.
 * @param userdata passed to release.
 * @return as haq_group_send(). On an error release is not called and the
 *         buffer stays the caller's.
 *
 * For large messages: the call takes constant time whatever len is, where
 * haq_group_send() copies the message first (worth it above
 * HAQ_MESSAGE_FRAME_MAX). The queue limit counts the borrowed bytes like
 * copied ones.
 *
 * The release callback may run inside this call, before it returns: when
 * corosync took the message (and with it a copy) at once. A buffer pool
 * must be ready for that: count the buffer as lent before the call (and
 * take it back if the call fails: release is not called then), and let
 * the release put it back whenever it runs.
 */
int haq_group_send_zc(haq_group_t *group, void *data, size_t len,
		      haq_release_fn release, void *userdata);

/**
 * @brief Bound the bytes the group queues for sending.
 * @param group the group.
 * @param bytes the bound on the memory queued messages hold (at least 1);
 *        an empty queue takes any one message up to the maximum size, and
 *        keeps the memory of such a message once it has gone, for the
 *        next one, until anything else is queued or the group is left.
 * @return 0, or -EINVAL (bytes is 0), -ECHILD (a forked child).
 */
int haq_group_set_queue_limit(haq_group_t *group, size_t bytes);

/**
 * @brief Set the largest message the group sends and reassembles.
 * @param group the group.
 * @param bytes 1..SIZE_MAX/2; default
 *        HAQ_MESSAGE_MAX_DEFAULT. Larger incoming messages are dropped and
 *        counted.
 * @return 0, or -EINVAL, -ECHILD (a forked child).
 */
int haq_group_set_max_message(haq_group_t *group, size_t bytes);

/**
 * @brief Bound the bundles of small messages the group sends, or turn
 *        bundling off.
 * @param group the group.
 * @param bytes 0 to turn bundling off, or HAQ_BUNDLE_MIN..
 *        HAQ_MESSAGE_FRAME_MAX: the most bytes of messages (with one to
 *        four bytes of framing each) one bundle carries. Default
 *        HAQ_BUNDLE_DEFAULT.
 * @return 0, or -EINVAL (NULL group, a group already left, or bytes
 *         out of range), -ECHILD (a forked child).
 *
 * When several messages of the group wait to be handed to corosync (it
 * pushed back, or several frames of this process are on their way
 * through the agreed stream already), they go out as one CPG message
 * and every member delivers them one by one, in order, exactly as if
 * they had been sent apart: the same ids, callbacks, total order and
 * per-sender order. Nothing waits to fill a bundle: a message sent while
 * few of this process's frames are out goes alone, at once. Only
 * messages of at most half the bound are bundled; fragmented messages,
 * haq_group_send_zc() buffers and libhaq's own frames are never in a
 * bundle and never overtaken by one.
 *
 * Bundles are sent only while every member of the view announced that
 * it decodes them: a group with a member running libhaq 0.3 or older
 * sends every message alone. Such a member that joins while bundles are
 * on their way may receive the last few ones, which it drops (counted
 * as malformed).
 *
 * The bound is this process's: each member bounds the bundles it sends;
 * a member receives bundles of any size up to one frame.
 */
int haq_group_set_bundle(haq_group_t *group, size_t bytes);

/**
 * @brief Compress the group's large messages, or stop compressing them.
 * @param group the group.
 * @param threshold 0 (the default: off), or HAQ_COMPRESS_MIN or more:
 *        messages of at least this many bytes are compressed (lz4).
 * @return 0, or -EINVAL (NULL group, a group already left, or a
 *         threshold from 1 to HAQ_COMPRESS_MIN - 1), -ECHILD (a forked
 *         child).
 *
 * A message is compressed only when that saves at least 1/16 of it: a
 * sample of its start is tried first, so data that does not compress
 * (already compressed or encrypted) costs little and goes as it is. The
 * compressed copy is what is queued: haq_group_send_zc() gives its
 * buffer back once it is compressed. Receivers deliver the message as it
 * was sent; one whose stated size is above their own maximum message size
 * (haq_group_set_max_message()) is dropped before anything is allocated
 * for it (HAQ_COUNTER_OVERSIZE), one that does not decompress is dropped
 * as malformed.
 *
 * Messages are compressed only while every member of the view announced
 * that it decodes them: a group with a member running libhaq 0.3 or
 * older sends them as they are. The setting is this process's: each
 * member decides for the messages it sends, and, as a state transfer's
 * provider, for the frames of the state it writes (haq_group_state_write()).
 */
int haq_group_set_compress(haq_group_t *group, size_t threshold);

/**
 * @brief How much the group has queued: not yet handed to corosync, or,
 *        for a message of several frames, not yet delivered back whole
 *        (it is sent again if a view change cuts it).
 * @param group the group.
 * @param bytes where the byte count is stored, or NULL.
 * @param messages where the message count is stored, or NULL.
 * @return 0, or -EINVAL, -ECHILD (a forked child).
 */
int haq_group_queued(const haq_group_t *group, size_t *bytes,
		     size_t *messages);

/**
 * @brief The group's name as given to haq_group_join().
 * @param group the group.
 * @return the name, or NULL if group is NULL or in a forked child.
 */
const char *haq_group_name(const haq_group_t *group);

/**
 * @brief The context a group belongs to.
 * @param group the group.
 * @return the context, or NULL if group is NULL or in a forked child.
 */
haq_ctx_t *haq_group_ctx(const haq_group_t *group);

/**
 * @brief The group's current view.
 * @param group the group.
 * @return the view, valid until the next callback, or NULL before the first
 *         view (or if group is NULL, or in a forked child).
 */
const haq_view_t *haq_group_view(const haq_group_t *group);

/**
 * @brief The group's current leader.
 * @param group the group.
 * @param nodeid where the leader's node id is stored, or NULL.
 * @param pid where the leader's process id is stored, or NULL.
 * @param epoch where the leadership's epoch is stored, or NULL.
 * @return 1 if this process is the leader, 0 if another member is,
 *         -ENOENT if there is no leader (no view yet, not quorate, no
 *                 member eligible, or disconnected),
 *         -EAGAIN if this process waits for the agreed word on the leader
 *                 (see haq_group_leader_state()),
 *         -EINVAL, -ECHILD (a forked child).
 *
 * What the epoch's monotonicity rests on: a new leadership takes an epoch
 * above every epoch the members of its quorate partition have seen (each
 * member tells its highest in the agreed stream), and at least one member
 * of any quorate partition was in the previous one, as quorum needs a
 * majority of the same votes. When every member's memory is lost at
 * once (all processes restarted, with corosync's ring ids wiped or not),
 * the epoch is taken from the wall clock instead: the first leadership
 * after such a cold start has an epoch of at least the electing members'
 * CLOCK_REALTIME in microseconds, so epochs stay increasing as long as
 * the restart takes longer than the clocks' offset between the nodes and
 * the group had fewer than a million leaderships per second.
 */
int haq_group_leader(const haq_group_t *group, uint32_t *nodeid,
		     uint32_t *pid, uint64_t *epoch);

/** What this process knows of its group's leader (haq_group_leader_state()). */
enum haq_leader_state {
	/** No leader: not quorate, not joined, or disconnected. */
	HAQ_LEADER_NONE = 0,
	/**
	 * Quorate, and this process waits for the agreed word on its leader
	 * (after a view change it was not part of the leader's side of),
	 * or it was elected and waits for its takeover delay.
	 */
	HAQ_LEADER_PENDING = 1,
	/** A leader is known: haq_group_leader() names it. */
	HAQ_LEADER_KNOWN = 2,
};

/**
 * @brief Whether the group has a leader, and whether this process knows it.
 * @param group the group.
 * @return an enum haq_leader_state, or -EINVAL (NULL group, or a group
 *         already left), -ECHILD (called in a forked child).
 *
 * Tells apart the two meanings of nodeid 0 in the leader callback (and
 * of haq_group_leader()'s -ENOENT and -EAGAIN); may be called from any
 * callback.
 */
int haq_group_leader_state(const haq_group_t *group);

/**
 * @brief Step down as leader, once this process's service has stopped.
 * @param group the group.
 * @return 0: from this call on, this process is not the leader
 *         (haq_group_lease() answers 0); its resignation follows its
 *         messages already queued through the agreed stream, and at its
 *         delivery the group elects another eligible member (this one
 *         again, with a new epoch, only if no other is eligible: to step
 *         down for good, call haq_group_set_eligible(group, 0) first),
 *         -EPERM this process is not the leader (another member leads,
 *                there is none, or it was not told yet),
 *         -ENOMEM, -EINVAL (NULL group, or a group already left),
 *         -ECHILD (a forked child), -ENOTCONN (disconnected: then this
 *         process is not the leader anyway).
 *
 * This is the handover without overlap: call it after the service
 * stopped; the next leader is told only after the resignation is
 * delivered. The leader callback does not run for the caller.
 */
int haq_group_resign(haq_group_t *group);

/**
 * @brief Say whether this process may be elected leader.
 * @param group the group.
 * @param eligible 1 (the default) or 0.
 * @return 0, or -EINVAL (NULL group, a group already left, or eligible
 *         not 0 or 1), -ECHILD (a forked child), -ENOMEM.
 *
 * The flag travels through the agreed stream, so every member applies it
 * at the same point; it may be set before the join completes (the join
 * then starts with it) and is kept across reconnects. An ineligible
 * member is never elected; a leader that becomes ineligible stays leader
 * until it resigns (haq_group_resign()), and a member becoming eligible
 * again never takes leadership from a leader: a flapping health check
 * does not move leadership back and forth. When a quorate group has no
 * leader because no member was eligible, the first member to become
 * eligible is elected.
 */
int haq_group_set_eligible(haq_group_t *group, int eligible);

/**
 * @brief Until when this process may act as the group's leader.
 * @param group the group.
 * @param deadline where the CLOCK_MONOTONIC time in nanoseconds is stored
 *        (0 when this process is not the leader), or NULL.
 * @return 1 if this process is the leader and its lease runs until
 *         *deadline, 0 if it is not the leader, -EINVAL, -ECHILD.
 *
 * The leader renews its lease by seeing its own renewals come back
 * through corosync; a leader cut off from its partition, or whose
 * corosync stalls, demotes itself when the lease runs out, before any
 * other member can be told it leads (haq_group_leader_timing()). A
 * process that may itself have been paused (a long callback, a stopped
 * VM) checks the deadline against clock_gettime(CLOCK_MONOTONIC) before
 * acting as leader.
 */
int haq_group_lease(const haq_group_t *group, uint64_t *deadline);

/**
 * The values of haq_group_leader_timing(), in milliseconds. T and C are
 * read from cmap (runtime.config.totem.token, which already includes
 * token_coefficient for each node beyond two, and
 * runtime.config.totem.consensus) when the group is joined and at every
 * ring change; the others follow from them.
 */
enum haq_group_leader_timing {
	HAQ_TIMING_TOKEN = 0,  /**< T: corosync's token timeout in force */
	HAQ_TIMING_CONSENSUS,  /**< C: corosync's consensus timeout */
	HAQ_TIMING_DETECT,     /**< T + C: how long corosync takes to drop a
				    silent node */
	HAQ_TIMING_NODES,      /**< nodes in corosync's nodelist (a count) */
	HAQ_TIMING_RENEW,      /**< I = T / 4: how often the leader renews */
	HAQ_TIMING_LEASE,      /**< L = I + T + C + T / 2: outlives the ring
				    change after another node fails */
	HAQ_TIMING_TAKEOVER,   /**< D = 2 I + L - C: how long a member elected
				    while nodes are missing waits */
	HAQ_TIMING_MARGIN,     /**< D + C - (I + L) = I: in the worst case,
				    by how much the old lease ran out first */
};

/**
 * @brief The group's lease and takeover timing, from corosync's own.
 * @param group the group.
 * @param which one of enum haq_group_leader_timing.
 * @param value where the value is stored (milliseconds; a count for
 *        HAQ_TIMING_NODES).
 * @return 0, or -EINVAL (NULL argument, unknown which, a group already
 *         left), -ECHILD (a forked child), -EAGAIN (not read from
 *         corosync yet: before the join completed).
 *
 * Why these values: the leader's last renewal that came back was made at
 * most I before it last held corosync's token, and every other node held
 * the token within T before that, so no other partition forms sooner
 * than C after that moment. A member elected after a ring change that
 * left nodes of the nodelist out waits D before it is told it leads, so
 * the old leader's lease (L from its last renewal, with one more
 * renewal in flight) has run out at least the margin before; with every
 * node of the nodelist in the ring no other partition can exist, and
 * nobody waits. The lease outlives the ring change that follows another
 * node's failure (T + C), so a leader in the quorate partition keeps its
 * leadership through it. Failover after a leader's node is cut off takes
 * about HAQ_TIMING_DETECT + HAQ_TIMING_TAKEOVER.
 *
 * When the leader's process vanishes from the group (a view with it left
 * as HAQ_REASON_PROCDOWN) its successor is told after HAQ_TIMING_RENEW:
 * corosync says "procdown" for a process that died, but also for one
 * whose corosync was stopped cleanly under it, which runs on and is told
 * it lost its connection as soon as its loop sees it closed. A leader
 * that resigns, leaves or frees its context hands over at once.
 */
int haq_group_leader_timing(const haq_group_t *group, int which,
			    uint32_t *value);

/*
 * State transfer. Total order keeps replicas equal only when they start
 * equal: a process that joins a group with members, and the members of
 * a healed partition that lost (see haq_group_set_state_cbs()), receive
 * the group's state from one provider, at a cut in the agreed stream.
 */

/** Which side of a state transfer a status callback speaks for. */
enum haq_state_role {
	HAQ_STATE_PROVIDER = 1, /**< this process sends its state */
	HAQ_STATE_RECEIVER = 2, /**< this process receives the state */
};

/** What happened to a state transfer (haq_state_status_fn). */
enum haq_state_status {
	HAQ_STATE_BEGIN = 1,   /**< receiver: a transfer to this process
				    starts at a cut; chunks follow */
	HAQ_STATE_REPLACE = 2, /**< receiver: as HAQ_STATE_BEGIN, and the state
				    this process held is being replaced (its
				    side of a healed partition lost) */
	HAQ_STATE_DONE = 3,    /**< complete: a receiver now holds the group's
				    state; the messages after the cut follow */
	HAQ_STATE_RESTARTED = 4, /**< abandoned (error says why): a receiver
				      discards what it got; a new transfer
				      from a new cut follows */
	HAQ_STATE_FAILED = 5,  /**< failed (error says why) */
};

/** Default of HAQ_STATE_MAX_SIZE: 1 GiB. */
#define HAQ_STATE_MAX_SIZE_DEFAULT (1024ull * 1024 * 1024)
/** Default of HAQ_STATE_BUFFER: 64 MiB. */
#define HAQ_STATE_BUFFER_DEFAULT (64ull * 1024 * 1024)
/** Default of HAQ_STATE_STALL, in milliseconds: 10000. */
#define HAQ_STATE_STALL_DEFAULT_MS 10000

/** The limits of haq_group_state_limit(). */
enum haq_state_limit {
	HAQ_STATE_MAX_SIZE = 0, /**< bytes of state a provider may write and a
				     receiver accepts
				     (HAQ_STATE_MAX_SIZE_DEFAULT) */
	HAQ_STATE_BUFFER,       /**< bytes of messages a receiver keeps while
				     its transfer runs
				     (HAQ_STATE_BUFFER_DEFAULT) */
	HAQ_STATE_STALL,        /**< milliseconds without progress after which
				     a transfer is restarted from another
				     provider (HAQ_STATE_STALL_DEFAULT_MS) */
};

/**
 * @brief Asks this process for the group's state, at the cut.
 * @param group the group.
 * @param transfer the transfer's id, for haq_group_state_write() and
 *        haq_group_state_end().
 * @param userdata as given to haq_group_set_state_cbs().
 *
 * Runs at the cut itself: every message delivered before this call is in
 * the state, none delivered after it. Take the state as it is now (copy
 * it, or keep it unchanged until it is written), then write it with
 * haq_group_state_write() and finish with haq_group_state_end(), now or
 * from later callbacks; messages keep being delivered meanwhile.
 */
typedef void (*haq_state_provide_fn)(haq_group_t *group, uint64_t transfer,
				     void *userdata);

/**
 * @brief Called when a provider whose haq_group_state_write() failed with
 *        -EAGAIN may write again.
 * @param group the group.
 * @param transfer the transfer.
 * @param userdata as given to haq_group_set_state_cbs().
 */
typedef void (*haq_state_writable_fn)(haq_group_t *group, uint64_t transfer,
				      void *userdata);

/**
 * @brief Receives the next piece of the state, in the provider's order.
 * @param group the group.
 * @param transfer the transfer (as told by HAQ_STATE_BEGIN or
 *        HAQ_STATE_REPLACE).
 * @param data the bytes; borrowed until the callback returns.
 * @param len their length (at least 1).
 * @param userdata as given to haq_group_set_state_cbs().
 *
 * Pieces do not keep the provider's write boundaries. Build the new
 * state apart from the old one and switch at HAQ_STATE_DONE: a restart
 * throws the pieces away.
 */
typedef void (*haq_state_chunk_fn)(haq_group_t *group, uint64_t transfer,
				   const void *data, size_t len,
				   void *userdata);

/**
 * @brief Tells a provider or a receiver what became of a transfer.
 * @param group the group.
 * @param transfer the transfer.
 * @param role one of enum haq_state_role.
 * @param status one of enum haq_state_status.
 * @param error 0, or why a transfer was restarted or failed:
 *        -EHOSTDOWN the provider left or disconnected, -ETIMEDOUT it made
 *        no progress for HAQ_STATE_STALL (it is not asked again in this
 *        view), -ECONNRESET a healed partition started the decision anew,
 *        -EBADMSG the provider sent frames out of order (or, to this
 *        receiver only, a compressed frame that does not decompress:
 *        HAQ_STATE_FAILED, it receives again at the next transfer),
 *        -EFBIG more than
 *        HAQ_STATE_MAX_SIZE, -ENOBUFS this receiver's buffer of messages
 *        overflowed (the messages it held are covered by the next
 *        transfer's state, which follows), -ENODATA no member holds the
 *        group's state any more (every member that did left: each member
 *        keeps what it has and holds it from now on), -ENOTCONN this
 *        process lost its connection (it rejoins and receives again), or
 *        a provider's own error given to haq_group_state_end().
 * @param userdata as given to haq_group_set_state_cbs().
 *
 * A receiver hears HAQ_STATE_BEGIN or HAQ_STATE_REPLACE, its chunks, and
 * then exactly one of DONE, RESTARTED or FAILED; after DONE the messages
 * delivered after the cut follow, in order. One FAILED comes without a
 * BEGIN: -ENODATA, under the id of the offer that said no member holds
 * the state any more (every holder left before this process received
 * it); this process then holds what it has (nothing, for a joiner). A provider hears DONE when
 * its end came back through the agreed stream, RESTARTED or FAILED when
 * the transfer stopped first (its writes then fail with -ESTALE).
 */
typedef void (*haq_state_status_fn)(haq_group_t *group, uint64_t transfer,
				    int role, int status, int error,
				    void *userdata);

/**
 * @brief Take part in the group's state transfer, as provider and receiver.
 * @param group the group, joined and not yet past its first view: call
 *        this right after haq_group_join().
 * @param provide asks this process for its state (required).
 * @param writable room to write again (required).
 * @param chunk receives the state (required).
 * @param status tells each side what became of a transfer (required).
 * @param userdata passed to the four callbacks.
 * @return 0, or -EINVAL (NULL group or callback, a group already left),
 *         -ECHILD (a forked child), -EALREADY (set before), -EBUSY (a
 *         transfer of this process is under way), -EISCONN (the group
 *         already had its first view: a process must be ready to receive
 *         before it is a member).
 *
 * Every member of a group that uses state transfer calls this. A member
 * that does not (or runs libhaq before 0.4, which drops the transfer's
 * frames and counts them in HAQ_COUNTER_MALFORMED) is counted as holding
 * the state but never offers it: when it would be the provider, the next
 * holder offers after HAQ_STATE_STALL. The rules, all
 * decided from the agreed stream so every member draws the same
 * conclusion, and none waiting for every member to answer:
 *
 * - Who holds the state: the first member of an empty group; every
 *   receiver whose transfer is DONE. A process that joins a group with
 *   members receives; until its cut, messages it is delivered are
 *   covered by the state and are not given to it (counted as
 *   HAQ_COUNTER_STATE_COVERED).
 * - Who provides: the leader (haq_group_leader()) when it holds the
 *   state; else, while the group has no leader, the holder with the
 *   lowest (nodeid, pid). A holder that stalls or fails is passed over
 *   for the rest of the view, in turn. One transfer at a time: receivers
 *   that join while one runs get the next one; every receiver of the
 *   view at the cut shares one multicast stream.
 * - After a healed partition: the side that held quorum (its leader kept
 *   leadership) provides, and the other side's members receive
 *   (HAQ_STATE_REPLACE). Where no side held quorum, the side of the
 *   leader the healed group elects wins; and in a group that still has
 *   no quorum, the side whose provider's offer comes first in the agreed
 *   order. A side that holds no state never wins: the other side's
 *   holders offer after HAQ_STATE_STALL. Until its cut a losing member
 *   delivers messages as before; the state replaces what it made of
 *   them.
 * - Faults: a provider that leaves, disconnects, stalls or fails is
 *   replaced and the transfer restarts from a new cut (receivers discard
 *   what they got, and what they held); a receiver that leaves affects
 *   nobody. When every holder is gone, the state is lost only if each
 *   left or its process went down: receivers hear HAQ_STATE_FAILED with
 *   -ENODATA and hold what they have. A holder whose node left the view
 *   may hold the state on in another partition: receivers wait for it
 *   (or for a new process of its node, which shows it gone). A receiver keeps the messages delivered after its cut, up to
 *   HAQ_STATE_BUFFER bytes; past it, it fails with -ENOBUFS, and receives
 *   again at the next transfer, which starts when this one ends.
 */
int haq_group_set_state_cbs(haq_group_t *group, haq_state_provide_fn provide,
			    haq_state_writable_fn writable,
			    haq_state_chunk_fn chunk,
			    haq_state_status_fn status, void *userdata);

/**
 * @brief Write the next bytes of this process's state (provider).
 * @param group the group.
 * @param transfer the transfer given to the provide callback.
 * @param data the bytes (copied).
 * @param len their length (0 is allowed and takes nothing).
 * @return the bytes taken, from 1 to len (fewer than len when the
 *         transfer's window filled: write the rest after the writable
 *         callback), 0 for len 0; or -EAGAIN (the window is full: the
 *         writable callback follows), -ESTALE (the transfer was restarted,
 *         failed, or is not this process's), -EALREADY (ended already),
 *         -EFBIG (past HAQ_STATE_MAX_SIZE: the transfer ends with this
 *         error), -EINVAL (NULL data with len, NULL group, a group already
 *         left, or haq_group_set_state_cbs() not called), -ECHILD,
 *         -ENOMEM.
 *
 * Never blocks: the bytes are copied into frames of up to one CPG
 * message (about 1 MiB), which go out behind the messages queued before
 * them, a few frames at a time. A frame goes out when it is full, or at
 * once while none of this transfer is out, so small writes are gathered
 * only while the stream is busy. When the group compresses
 * (haq_group_set_compress()), a frame of at least the threshold goes
 * compressed if that saves 1/16 of it (counted in
 * HAQ_COUNTER_COMPRESSED); receivers get the bytes as written. A
 * compressed frame that does not decompress is counted malformed, and
 * the receiver gives that transfer up (HAQ_STATE_FAILED, -EBADMSG).
 */
ssize_t haq_group_state_write(haq_group_t *group, uint64_t transfer,
			      const void *data, size_t len);

/**
 * @brief End this process's state transfer (provider).
 * @param group the group.
 * @param transfer the transfer given to the provide callback.
 * @param error 0 when the whole state was written; a negative errno
 *        when the provider cannot give it (receivers then hear
 *        HAQ_STATE_RESTARTED with it, and another provider is asked).
 * @return 0, or -ESTALE, -EALREADY, -EINVAL (error positive, NULL group,
 *         a group already left), -ECHILD, -ENOMEM.
 *
 * The end follows the last byte written; the provider hears
 * HAQ_STATE_DONE when it came back through the agreed stream.
 */
int haq_group_state_end(haq_group_t *group, uint64_t transfer, int error);

/**
 * @brief Set one of the group's state transfer limits.
 * @param group the group.
 * @param which one of enum haq_state_limit.
 * @param value the new value: HAQ_STATE_MAX_SIZE 1 byte to 2^48 bytes,
 *        HAQ_STATE_BUFFER at least 1 MiB, HAQ_STATE_STALL 100 ms to one
 *        hour.
 * @return 0, or -EINVAL (out of range, unknown which, NULL group, a
 *         group already left), -ECHILD, -EBUSY (a transfer of this
 *         process is under way).
 */
int haq_group_state_limit(haq_group_t *group, int which, uint64_t value);

/**
 * @brief Whether this process holds the group's state.
 * @param group the group.
 * @return 1 holds it, 0 does not yet (waiting for or receiving a
 *         transfer), -EINVAL (NULL group, a group already left, or
 *         haq_group_set_state_cbs() not called), -ECHILD.
 */
int haq_group_state_held(const haq_group_t *group);

/*
 * Request/reply. A request goes to every member of the group in the
 * agreed order; the members of the view in which it is delivered (the
 * requester included) are the ones that answer, and every member knows
 * whether it must. Replies go back to the requester only.
 */

/** How many answers a request waits for (haq_group_request()). */
enum haq_request_mode {
	HAQ_REQUEST_NONE = 0,     /**< none: the request is sent and forgotten;
				       members are given request 0 and do not
				       reply */
	HAQ_REQUEST_FIRST = 1,    /**< the first reply with status 0 */
	HAQ_REQUEST_ALL = 2,      /**< a reply from every responder (or its
				       leaving) */
	HAQ_REQUEST_MAJORITY = 3, /**< replies with status 0 from more than half
				       of the responders */
};

/**
 * Bytes of data in one request or one reply, at most: one CPG message
 * less libhaq's headers (1047504). The group's maximum message size
 * (haq_group_set_max_message()) lowers it when smaller.
 */
#define HAQ_REQUEST_DATA_MAX 1047504u

/**
 * @brief Called on every member that must answer a request.
 * @param group the group.
 * @param request the handle to give haq_group_reply(), local to this
 *        process; 0 for a request of mode HAQ_REQUEST_NONE (no reply).
 * @param nodeid the requester's node id.
 * @param pid the requester's process id.
 * @param data the request's data; borrowed until the callback returns.
 * @param len its length (may be 0).
 * @param userdata as given to haq_group_set_request_cbs().
 *
 * Reply now or later, from this or any other callback of the context,
 * with haq_group_reply(). Every request delivered to this process comes
 * here, in the agreed order with the group's messages, its own requests
 * included.
 */
typedef void (*haq_request_fn)(haq_group_t *group, uint64_t request,
			       uint32_t nodeid, uint32_t pid, const void *data,
			       size_t len, void *userdata);

/**
 * @brief Tells a member that a request it has not answered is withdrawn.
 * @param group the group.
 * @param request the handle given to the request callback.
 * @param reason -ECANCELED (the requester cancelled it), -EHOSTDOWN (the
 *        requester left the group, or its node or process went down),
 *        -ENOTCONN (this process lost its connection to corosync).
 * @param userdata as given to haq_group_set_request_cbs().
 *
 * A reply to the request after this fails with -ECANCELED.
 */
typedef void (*haq_request_cancel_fn)(haq_group_t *group, uint64_t request,
				      int reason, void *userdata);

/**
 * @brief Gives the requester one answer to its request, and then its end.
 * @param group the group.
 * @param request the id haq_group_request() gave.
 * @param nodeid the responder's node id; 0 for the final call.
 * @param pid the responder's process id; 0 for the final call.
 * @param status for a responder: 0, the negative errno it replied with
 *        (-ENOSYS: it has no request callback), or -EHOSTDOWN (it
 *        left the group, or its node or process went down, before it
 *        replied). For the final call: 0 (the mode's answers came),
 *        -EREMOTEIO (they can no longer come: too many responders replied
 *        with an error or left), -ETIMEDOUT (the timeout ran out first),
 *        -ENOTCONN (this process lost its connection to corosync).
 * @param data the reply's data (NULL for a leaver and the final call);
 *        borrowed until the callback returns.
 * @param len its length.
 * @param userdata as given to haq_group_request().
 *
 * Called once per responder that replies or leaves, until the request is
 * complete, then once with nodeid 0 (corosync never uses node id 0);
 * nothing is called for it afterwards (later replies are dropped). A
 * request is complete in mode HAQ_REQUEST_FIRST at its first reply with
 * status 0, in HAQ_REQUEST_ALL when every responder replied or left, in
 * HAQ_REQUEST_MAJORITY when more than half of the responders replied
 * with status 0. Any call of the context may be made from inside, the
 * request's own haq_group_request_cancel() included (then no final call).
 */
typedef void (*haq_reply_fn)(haq_group_t *group, uint64_t request,
			     uint32_t nodeid, uint32_t pid, int status,
			     const void *data, size_t len, void *userdata);

/**
 * @brief Answer the group's requests.
 * @param group the group.
 * @param on_request called for each request this process must answer, or
 *        NULL: every request is then answered at once with -ENOSYS.
 * @param on_cancel called when a request not yet answered is withdrawn,
 *        or NULL.
 * @param userdata passed to both.
 * @return 0, or -EINVAL (NULL group, a group already left, on_cancel
 *         without on_request), -ECHILD (a forked child).
 *
 * May be called at any time, again to replace the callbacks; requests
 * delivered before the first call are answered with -ENOSYS. Every
 * member of the group must run libhaq 0.4 or later: an older one drops
 * requests (it counts them in HAQ_COUNTER_MALFORMED) and never answers,
 * so a request waiting for it ends by its timeout.
 */
int haq_group_set_request_cbs(haq_group_t *group, haq_request_fn on_request,
			      haq_request_cancel_fn on_cancel, void *userdata);

/**
 * @brief Send a request to the group.
 * @param group the group.
 * @param mode one of enum haq_request_mode.
 * @param data the request's data (copied); NULL when len is 0.
 * @param len its length: at most HAQ_REQUEST_DATA_MAX and the group's
 *        maximum message size.
 * @param timeout_ms milliseconds after which the request ends with
 *        -ETIMEDOUT; 0 for none (it ends when its answers came, or the
 *        responders left).
 * @param on_reply receives the answers and the end (required, except in
 *        mode HAQ_REQUEST_NONE, where it is ignored).
 * @param userdata passed to on_reply.
 * @param request where the request's id is stored, or NULL.
 * @return 0, or -EINVAL (NULL group, unknown mode, no on_reply where one
 *         is needed, NULL data with len, a group already left), -ECHILD
 *         (a forked child), -EMSGSIZE (len too large), -ENOBUFS (the
 *         group's send queue is full: the writable callback follows),
 *         -ENOMEM. A call that fails never calls on_reply.
 *
 * The request goes out behind the messages sent before it, and is
 * delivered in order with them. Its responders are the members of the
 * view it is delivered in: members that join later are not waited for,
 * and a responder that leaves before it replied is reported at once with
 * -EHOSTDOWN. When this process leaves the group (or frees its context),
 * its requests are cancelled at the members that had not answered (they
 * hear -EHOSTDOWN) and on_reply is not called for them again. Sent
 * before the join is confirmed, it waits for it (as messages do). A
 * request, and each reply, is one CPG message: libhaq's control frames
 * stand outside the message sequence that fragmentation relies on, so
 * they are never fragmented, hence the limit on their data.
 */
int haq_group_request(haq_group_t *group, int mode, const void *data,
		      size_t len, uint32_t timeout_ms, haq_reply_fn on_reply,
		      void *userdata, uint64_t *request);

/**
 * @brief Reply to a request (responder).
 * @param group the group.
 * @param request the handle given to the request callback.
 * @param status 0, or a negative errno for the requester to see.
 * @param data the reply's data (copied); NULL when len is 0.
 * @param len its length: at most HAQ_REQUEST_DATA_MAX and the group's
 *        maximum message size.
 * @return 0, or -EINVAL (NULL group, request 0, status positive or below
 *         -4095, NULL data with len, a group already left), -ENOENT (no
 *         such request was given to this process), -EALREADY (replied
 *         already), -ECANCELED (the request was withdrawn: the cancel
 *         callback told so), -EMSGSIZE (len too large), -ENOBUFS (the send
 *         queue is full: the request stays pending, reply again after the
 *         writable callback), -ECHILD, -ENOMEM.
 *
 * May be called from any callback of the context or outside them. The
 * reply goes out behind the messages this process sent before it, so
 * the requester has delivered them when its reply callback runs. It goes
 * to every member (CPG has no unicast); the others drop it from its
 * first bytes.
 */
int haq_group_reply(haq_group_t *group, uint64_t request, int status,
		    const void *data, size_t len);

/**
 * @brief Cancel a request of this process.
 * @param group the group.
 * @param request the id haq_group_request() gave.
 * @return 0 (the reply callback is not called for it again), or -EINVAL
 *         (NULL group, request 0, a group already left), -ENOENT (not
 *         pending: complete, cancelled, or never sent), -ECHILD,
 *         -ENOMEM.
 *
 * The members that had not answered are told (their cancel callback
 * runs with -ECANCELED) and their replies are refused.
 */
int haq_group_request_cancel(haq_group_t *group, uint64_t request);

/*
 * Locks. Named locks within a group, held by processes: every member
 * applies the same acquires and releases, in the total order, to the same
 * lock table, so every member agrees who holds what, with no lock server.
 */

/** Bytes of a lock name, at most (a name may not be empty). */
#define HAQ_LOCK_NAME_MAX 64

/** Holders and waiters in one group's lock table, at most. */
#define HAQ_LOCK_ENTRIES_MAX 8192u

/** haq_group_lock() flag: fail at once (-EBUSY) if the lock is held. */
#define HAQ_LOCK_TRY 1u

/**
 * @brief Tells this process what became of its lock request.
 * @param group the group.
 * @param name the lock's name (borrowed until the callback returns).
 * @param status 0: this process holds the lock from now on, with token;
 *        the others end the request, or the holding:
 *        -EBUSY (a HAQ_LOCK_TRY request: the lock is held or waited for),
 *        -EAGAIN (a HAQ_LOCK_TRY request: the partition is not quorate),
 *        -ENOSPC (the group's lock table is full: HAQ_LOCK_ENTRIES_MAX
 *                holders and waiters),
 *        -ENOLCK (the lock is lost: this process's partition lost quorum;
 *                also a grant not yet told, in that case),
 *        -ETIME (the lock is lost: this process's lease ran out, its
 *               corosync did not carry its renewals in time),
 *        -ENOTCONN (the lock is lost: the connection to corosync was).
 * @param token the fencing token of the grant (status 0), else 0: every
 *        grant's token is above every token granted before in the group
 *        and not below the requester's CLOCK_REALTIME in microseconds
 *        when it asked; hand it to whatever the lock protects, which
 *        refuses a token below the highest it saw.
 * @param userdata as given to haq_group_set_lock_cb().
 *
 * A lost lock is released: nothing more to do (haq_group_unlock() says
 * -ENOENT). A request that waits is not ended by a lost quorum or a lost
 * connection: it waits on, and is granted once the partition is quorate.
 * Guarantee: at no moment do two processes hold one lock (told 0 and not
 * told a loss or calling haq_group_unlock() since), under the conditions
 * of haq_group_leader()'s guarantee; a process that may have been paused
 * checks haq_group_lock_held()'s deadline before acting.
 */
typedef void (*haq_lock_fn)(haq_group_t *group, const char *name, int status,
			    uint64_t token, void *userdata);

/**
 * @brief Set the callback that tells this process of its locks.
 * @param group the group.
 * @param fn the callback; NULL only while this process has no request.
 * @param userdata passed to fn.
 * @return 0, or -EINVAL (NULL group, a group already left), -EBUSY (fn
 *         NULL while requests are held or wait), -ECHILD (a forked child).
 *
 * Every member of libhaq 0.5 or later keeps the group's lock table,
 * whether it calls this or not. May be called at any time, again to
 * replace the callback.
 */
int haq_group_set_lock_cb(haq_group_t *group, haq_lock_fn fn, void *userdata);

/**
 * @brief Ask for a lock.
 * @param group the group.
 * @param name the lock's name: 1 to HAQ_LOCK_NAME_MAX bytes, a C string.
 * @param flags 0 (wait until granted, first come first served), or
 *        HAQ_LOCK_TRY (granted at once, or fail with -EBUSY).
 * @return 0: the request is sent; the lock callback tells its end, -EINVAL
 *         (NULL group, a group already left, NULL or empty name, unknown
 *         flags, no lock callback set), -ENAMETOOLONG (name above
 *         HAQ_LOCK_NAME_MAX bytes), -EALREADY (this process holds this
 *         lock or asked for it already), -ENOBUFS (the send queue is
 *         full: retry from the writable callback), -ENOTSUP (the test
 *         switch HAQ_TEST_NO_CAPS is set), -ECHILD (a forked child),
 *         -ENOMEM.
 *
 * The request goes out behind the messages sent before it and is
 * applied at every member at the same point of the agreed stream. Locks
 * are granted only in a quorate partition. After a view change a round of
 * one message per member (its table) runs before requests are applied
 * again, so joiners and the sides of a healed partition hold the table
 * of the partition that was quorate; when no member held a valid table
 * (a cold start, or no partition quorate) the table starts empty and its
 * tokens go on from the highest known. This process is told of a grant
 * after the takeover delay of haq_group_leader_timing() when a node left
 * the ring within that delay (its holder may think it holds the lock
 * until its lease runs out), after HAQ_TIMING_RENEW when a process went
 * down, else at once. A holder renews its lease every HAQ_TIMING_RENEW
 * through corosync. A lock is released when its holder calls
 * haq_group_unlock(), leaves the group, or its process dies (at once),
 * or when its node leaves the ring (its successor waits the takeover
 * delay). Every member of the group must run libhaq 0.5 or later for a
 * table to start empty; older members that announce their capabilities
 * (0.4) are not waited for.
 */
int haq_group_lock(haq_group_t *group, const char *name, unsigned int flags);

/**
 * @brief Release a lock, or withdraw a request that waits.
 * @param group the group.
 * @param name the lock's name.
 * @return 0 (this process does not hold the lock from this call on; the
 *         release follows its messages already queued through the agreed
 *         stream; no callback runs for the request), -ENOENT (this process
 *         neither holds nor asked for the lock: never, released already,
 *         or told of its loss or end), -EINVAL, -ENAMETOOLONG (as
 *         haq_group_lock()), -ECHILD, -ENOMEM.
 */
int haq_group_unlock(haq_group_t *group, const char *name);

/**
 * @brief Whether this process holds a lock, and until when for sure.
 * @param group the group.
 * @param name the lock's name.
 * @param token where the grant's fencing token is stored (0 when not
 *        held), or NULL.
 * @param deadline where the CLOCK_MONOTONIC time in nanoseconds until
 *        which the holding's lease runs is stored (0 when not held), or
 *        NULL.
 * @return 1 held, 0 not held (never, waiting, lost, or the lease ran out
 *         and the loss is about to be told), -EINVAL, -ENAMETOOLONG,
 *         -ECHILD.
 */
int haq_group_lock_held(const haq_group_t *group, const char *name,
			uint64_t *token, uint64_t *deadline);

/** Counters of one group, for observability. */
enum haq_group_counter {
	HAQ_COUNTER_SENT = 0,      /**< messages handed to corosync */
	HAQ_COUNTER_DELIVERED,     /**< messages delivered to the callback */
	HAQ_COUNTER_RETRIES,       /**< CS_ERR_TRY_AGAIN answers retried */
	HAQ_COUNTER_MALFORMED,     /**< frames from peers dropped as malformed */
	HAQ_COUNTER_OVERSIZE,      /**< incoming messages above the size cap */
	HAQ_COUNTER_PARTIAL_DROPPED, /**< partial messages of departed senders */
	HAQ_COUNTER_SEQ_GAPS,      /**< messages of a sender this member missed
				        while connected (should stay 0) */
	HAQ_COUNTER_JOIN_RETRIES,  /**< joins not confirmed in time: the group
				        was joined again on a fresh handle */
	HAQ_COUNTER_LEASE_EXPIRED, /**< leaderships this process gave up
				        because its lease ran out */
	HAQ_COUNTER_STATE_COVERED, /**< messages not given to this process
					because the state it receives covers
					them */
	HAQ_COUNTER_STATE_FOREIGN, /**< state transfer frames dropped because
					they belong to no transfer this process
					follows (a joiner sees the end of the
					one before its cut; a stale offer; a
					frame from a member that does not
					provide it) */
	HAQ_COUNTER_BUNDLED,       /**< messages handed to corosync inside
				        bundles (haq_group_set_bundle()) */
	HAQ_COUNTER_COMPRESSED,    /**< messages, and state transfer
					frames, sent compressed
				        (haq_group_set_compress()) */
	HAQ_COUNTER_RR_MALFORMED,  /**< request/reply frames dropped as
					malformed (also a reply from a member
					that was not asked, or answered
					twice) */
	HAQ_COUNTER_LOCK_MALFORMED, /**< lock frames dropped as malformed */
};

/**
 * @brief Read one counter of a group.
 * @param group the group.
 * @param counter one of enum haq_group_counter.
 * @param value where the value is stored.
 * @return 0, or -EINVAL (NULL argument or unknown counter), -ECHILD (a
 *         forked child).
 */
int haq_group_counter(const haq_group_t *group, int counter,
		      uint64_t *value);

/**
 * @brief Read every CPG group of the cluster with its members (what
 *        corosync-cpgtool shows), for status tools.
 * @param ctx the context.
 * @param ret where the snapshot is stored; free it with
 *        haq_grouplist_free(). Groups are sorted by name (bytes), members
 *        by (nodeid, pid).
 * @return 0, or -EINVAL, -ENOTCONN, -EACCES, -ENOMEM, -ECHILD, or
 *         -EAGAIN corosync is busy with a membership change: try again
 *                 later (from a timer).
 *
 * Makes a synchronous round trip to corosync: not for a hot path.
 */
int haq_ctx_groups(haq_ctx_t *ctx, haq_grouplist_t **ret);

/**
 * @brief Free a group list (NULL is allowed).
 * @param list the list, or NULL.
 */
void haq_grouplist_free(haq_grouplist_t *list);

/**
 * @brief Number of groups in the list.
 * @param list the list.
 * @return the count (0 if list is NULL).
 */
size_t haq_grouplist_count(const haq_grouplist_t *list);

/**
 * @brief The name of one group.
 * @param list the list.
 * @param i 0..haq_grouplist_count()-1.
 * @param len where the name's length in bytes is stored, or NULL. Groups
 *        made by other programs may hold any bytes, NUL included.
 * @return the name, NUL-terminated, owned by the list; NULL if out of
 *         range.
 */
const char *haq_grouplist_name(const haq_grouplist_t *list, size_t i,
			       size_t *len);

/**
 * @brief Number of members of one group.
 * @param list the list.
 * @param i the group, 0..haq_grouplist_count()-1.
 * @return the count (0 if list is NULL or i out of range).
 */
size_t haq_grouplist_member_count(const haq_grouplist_t *list, size_t i);

/**
 * @brief One member of one group.
 * @param list the list.
 * @param i the group, 0..haq_grouplist_count()-1.
 * @param j the member, 0..haq_grouplist_member_count()-1.
 * @param nodeid, pid where the values are stored, or NULL each.
 * @return 0, or -EINVAL.
 */
int haq_grouplist_member(const haq_grouplist_t *list, size_t i, size_t j,
			 uint32_t *nodeid, uint32_t *pid);

/* ------------------------------------------------------------------ */
/* Views                                                              */
/* ------------------------------------------------------------------ */

/**
 * @brief The totem ring this view was formed in.
 * @param view the view.
 * @param ring_nodeid where the ring representative's node id is stored, or
 *        NULL.
 * @param ring_seq where the ring sequence number is stored, or NULL.
 * @return 0, or -EINVAL.
 */
int haq_view_ring(const haq_view_t *view, uint32_t *ring_nodeid,
		  uint64_t *ring_seq);

/**
 * @brief The per-group sequence of this view as seen by this process.
 * @param view the view.
 * @return 1 for the first view after joining, increasing by one per view;
 *         0 if view is NULL.
 */
uint64_t haq_view_seq(const haq_view_t *view);

/**
 * @brief Whether the partition was quorate for this view's ring.
 * @param view the view.
 * @return 1 quorate, 0 not, -EINVAL.
 *
 * The verdict is votequorum's for this very ring, never a later ring's: a
 * ring that was overtaken before votequorum gave its verdict (a node that
 * formed a ring alone and was merged again at once) is reported not
 * quorate, and elects no leader. The quorum state haq_quorum_get() gives
 * during the callback may then already be the later ring's.
 */
int haq_view_quorate(const haq_view_t *view);

/**
 * @brief Number of members, sorted by (nodeid, pid) identically on every
 *        member.
 * @param view the view.
 * @return the count (0 if view is NULL).
 */
size_t haq_view_member_count(const haq_view_t *view);

/**
 * @brief One member of the view.
 * @param view the view.
 * @param i 0..haq_view_member_count()-1.
 * @param nodeid where its node id is stored, or NULL.
 * @param pid where its process id is stored, or NULL.
 * @return 0, or -EINVAL (NULL view, index out of range).
 */
int haq_view_member(const haq_view_t *view, size_t i, uint32_t *nodeid,
		    uint32_t *pid);

/**
 * @brief Number of members that joined with this view.
 * @param view the view.
 * @return the count (0 if view is NULL).
 */
size_t haq_view_joined_count(const haq_view_t *view);

/**
 * @brief One member that joined with this view, and why.
 * @param view the view.
 * @param i 0..haq_view_joined_count()-1.
 * @param nodeid, pid, reason where the values are stored, or NULL each.
 * @return 0, or -EINVAL.
 */
int haq_view_joined(const haq_view_t *view, size_t i, uint32_t *nodeid,
		    uint32_t *pid, int *reason);

/**
 * @brief Number of members that left with this view.
 * @param view the view.
 * @return the count (0 if view is NULL).
 */
size_t haq_view_left_count(const haq_view_t *view);

/**
 * @brief One member that left with this view, and why.
 * @param view the view.
 * @param i 0..haq_view_left_count()-1.
 * @param nodeid, pid, reason where the values are stored, or NULL each.
 * @return 0, or -EINVAL.
 */
int haq_view_left(const haq_view_t *view, size_t i, uint32_t *nodeid,
		  uint32_t *pid, int *reason);

/* ------------------------------------------------------------------ */
/* Quorum                                                             */
/* ------------------------------------------------------------------ */

/**
 * @brief Receives each change of the quorum state.
 * @param ctx the context.
 * @param quorum the new state; borrowed until the callback returns.
 * @param userdata as given to haq_ctx_set_quorum_cb().
 */
typedef void (*haq_quorum_fn)(haq_ctx_t *ctx, const haq_quorum_t *quorum,
			      void *userdata);

/**
 * @brief Set the quorum callback.
 * @param ctx the context.
 * @param fn the callback, or NULL for none.
 * @param userdata passed to fn.
 * @return 0, or -EINVAL if ctx is NULL, -ECHILD in a forked child.
 */
int haq_ctx_set_quorum_cb(haq_ctx_t *ctx, haq_quorum_fn fn, void *userdata);

/**
 * @brief The current quorum state.
 * @param ctx the context.
 * @param ret where the snapshot pointer is stored; it is valid until the
 *        next callback or dispatch.
 * @return 0, -EINVAL, -ECHILD (a forked child), or -EAGAIN while corosync
 *         has not reported it yet.
 */
int haq_quorum_get(haq_ctx_t *ctx, const haq_quorum_t **ret);

/**
 * @brief Whether this partition is quorate.
 * @param quorum the snapshot.
 * @return 1 quorate, 0 not, -EINVAL.
 */
int haq_quorum_quorate(const haq_quorum_t *quorum);

/**
 * @brief The totem ring the state belongs to.
 * @param quorum the snapshot.
 * @param ring_nodeid, ring_seq where the values are stored, or NULL each.
 * @return 0, or -EINVAL.
 */
int haq_quorum_ring(const haq_quorum_t *quorum, uint32_t *ring_nodeid,
		    uint64_t *ring_seq);

/**
 * @brief Vote totals of the partition.
 * @param quorum the snapshot.
 * @param expected_votes, total_votes, quorum_votes where the values are
 *        stored, or NULL each: the votes expected in the whole cluster,
 *        the votes present in this partition, and the votes needed.
 * @return 0, or -EINVAL.
 */
int haq_quorum_votes(const haq_quorum_t *quorum, uint32_t *expected_votes,
		     uint32_t *total_votes, uint32_t *quorum_votes);

/**
 * @brief Number of nodes that are members of this partition (a quorum
 *        device counts as node id 0).
 * @param quorum the snapshot.
 * @return the count (0 if quorum is NULL).
 */
size_t haq_quorum_node_count(const haq_quorum_t *quorum);

/**
 * @brief One member node, in ascending node id order.
 * @param quorum the snapshot.
 * @param i 0..haq_quorum_node_count()-1.
 * @param nodeid, votes where the values are stored, or NULL each.
 * @return 0, or -EINVAL.
 */
int haq_quorum_node(const haq_quorum_t *quorum, size_t i, uint32_t *nodeid,
		    uint32_t *votes);

/* ------------------------------------------------------------------ */
/* Configuration (cmap)                                               */
/* ------------------------------------------------------------------ */

/** What happened to a tracked configuration key. */
enum haq_config_event {
	HAQ_CONFIG_ADDED = 1,   /**< the key was created */
	HAQ_CONFIG_CHANGED = 2, /**< its value changed */
	HAQ_CONFIG_DELETED = 3, /**< the key was deleted */
};

/**
 * @brief Receives changes below a tracked key prefix.
 * @param ctx the context.
 * @param key the key that changed; borrowed.
 * @param event one of enum haq_config_event.
 * @param userdata as given to haq_config_track().
 */
typedef void (*haq_config_fn)(haq_ctx_t *ctx, const char *key, int event,
			      void *userdata);

/**
 * @brief Read a string key.
 * @param ctx the context.
 * @param key the key, such as "totem.cluster_name".
 * @param value where a newly allocated copy is stored; free() it.
 * @return 0, or -EINVAL, -ENOENT (no such key), -EPROTOTYPE (the key is
 *         not a string), -ENOTCONN, -ENOMEM, -ECHILD (a forked child).
 */
int haq_config_get_string(haq_ctx_t *ctx, const char *key, char **value);

/**
 * @brief Read an unsigned integer key of up to 32 bits.
 * @param ctx the context.
 * @param key the key, such as "totem.token".
 * @param value where the value is stored.
 * @return 0, or -EINVAL, -ENOENT, -EPROTOTYPE (not an unsigned integer of
 *         at most 32 bits), -ENOTCONN, -ECHILD (a forked child).
 */
int haq_config_get_u32(haq_ctx_t *ctx, const char *key, uint32_t *value);

/**
 * @brief Read an unsigned integer key of up to 64 bits.
 * @param ctx the context.
 * @param key the key, such as "totem.token".
 * @param value where the value is stored.
 * @return 0, or -EINVAL, -ENOENT, -EPROTOTYPE, -ENOTCONN, -ECHILD (a
 *         forked child).
 */
int haq_config_get_u64(haq_ctx_t *ctx, const char *key, uint64_t *value);

/**
 * @brief The cluster's name (totem.cluster_name).
 * @param ctx the context.
 * @param name where a newly allocated copy is stored; free() it.
 * @return as haq_config_get_string().
 */
int haq_config_cluster_name(haq_ctx_t *ctx, char **name);

/**
 * @brief Read the configured node list (nodelist.node.*).
 * @param ctx the context.
 * @param ret where the list is stored; free it with haq_nodelist_free().
 * @return 0, or -EINVAL, -ENOTCONN, -ENOMEM, -ECHILD (a forked child).
 */
int haq_config_nodelist(haq_ctx_t *ctx, haq_nodelist_t **ret);

/**
 * @brief Free a node list (NULL is allowed).
 * @param list the list, or NULL.
 */
void haq_nodelist_free(haq_nodelist_t *list);

/**
 * @brief Number of nodes in the list, sorted by node id.
 * @param list the list.
 * @return the count (0 if list is NULL).
 */
size_t haq_nodelist_count(const haq_nodelist_t *list);

/**
 * @brief One node of the list.
 * @param list the list.
 * @param i 0..haq_nodelist_count()-1.
 * @param nodeid where the node id is stored, or NULL; 0 for an entry the
 *        configuration gives no nodeid (possible without knet, where
 *        corosync derives it from the address). Every entry of the
 *        nodelist is listed, whatever its index.
 * @param name where the node's name (or NULL when it has none) is stored,
 *        or NULL; the string belongs to the list.
 * @return 0, or -EINVAL.
 */
int haq_nodelist_node(const haq_nodelist_t *list, size_t i, uint32_t *nodeid,
		      const char **name);

/**
 * @brief Number of ring addresses of one node.
 * @param list the list.
 * @param i the node, 0..haq_nodelist_count()-1.
 * @return the count (0 if list is NULL or i out of range).
 */
size_t haq_nodelist_addr_count(const haq_nodelist_t *list, size_t i);

/**
 * @brief One ring address of one node, as written in the configuration.
 * @param list the list.
 * @param i the node, 0..haq_nodelist_count()-1.
 * @param j the address, 0..haq_nodelist_addr_count()-1.
 * @return the address, owned by the list, or NULL if out of range.
 */
const char *haq_nodelist_addr(const haq_nodelist_t *list, size_t i,
			      size_t j);

/**
 * @brief Track changes to every key that starts with prefix.
 * @param ctx the context.
 * @param prefix the key prefix, such as "nodelist." (1..255 bytes).
 * @param fn the callback (not NULL).
 * @param userdata passed to fn.
 * @param id where an id for haq_config_untrack() is stored, or NULL.
 * @return 0, or -EINVAL, -ENOTCONN, -ENOMEM, -ECHILD (a forked child).
 */
int haq_config_track(haq_ctx_t *ctx, const char *prefix, haq_config_fn fn,
		     void *userdata, uint64_t *id);

/**
 * @brief Stop tracking.
 * @param ctx the context.
 * @param id as returned by haq_config_track().
 * @return 0, or -EINVAL, -ENOENT (no such tracking), -ECHILD (a forked
 *         child).
 */
int haq_config_untrack(haq_ctx_t *ctx, uint64_t id);

#ifdef __cplusplus
}
#endif

#endif /* HAQ_HAQ_H */
