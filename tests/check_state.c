/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Integration tests of state transfer on a real 3-node corosync cluster.
 * Each member replicates one state: the concatenation of every message it
 * applied, in the agreed order. A member that holds the state applies the
 * messages delivered to it; a joiner receives the state at its cut and
 * then the messages after it. Every test ends with every member's state
 * equal, byte for byte, under a steady load from all members.
 */
#include "check_common.h"

#include <haq/haq.h>

#define N 3

struct member {
	haq_ctx_t *ctx;
	haq_group_t *g;
	uint32_t nodeid;
	int node;
	/* The replicated state, and the one being received. */
	uint8_t *state;
	size_t len;
	size_t cap;
	uint8_t *incoming;
	size_t inlen;
	size_t incap;
	/* The provider's side: the transfer and how far it wrote. */
	uint64_t wid;
	size_t wcut; /* the state's length at the cut */
	size_t woff;
	bool wpaused;
	/* What the status callback said. */
	int begins, replaces, dones, restarts, fails, pdones, pfails;
	int last_error;
	int fail_error; /* the error of the last HAQ_STATE_FAILED */
	uint64_t sent;
	bool slow; /* the provider writes 16 KiB per loop turn */
	bool drop_provider; /* leave the group at the first write */
	bool stuck;         /* asked to provide, writes nothing (a ghost) */
	int fail_with;      /* asked to provide, ends with this error */
	int wfbig;          /* writes refused with -EFBIG */
};

static void
grow(uint8_t **buf, size_t *cap, size_t need)
{
	if (need <= *cap) {
		return;
	}
	while (*cap < need) {
		*cap = *cap ? *cap * 2 : 65536;
	}
	*buf = realloc(*buf, *cap);
	ck_assert_ptr_nonnull(*buf);
}

static void
append(uint8_t **buf, size_t *len, size_t *cap, const void *data, size_t n)
{
	grow(buf, cap, *len + n);
	memcpy(*buf + *len, data, n);
	*len += n;
}

static void
on_message(haq_group_t *g, uint32_t nodeid, uint32_t pid, const void *data,
	   size_t len, void *ud)
{
	struct member *m = ud;

	(void)g;
	(void)nodeid;
	(void)pid;
	/* libhaq gives messages only to a member that holds the state. */
	ck_assert_int_ne(haq_group_state_held(m->g), 0);
	append(&m->state, &m->len, &m->cap, data, len);
}

static void
write_some(struct member *m)
{
	size_t budget = m->slow ? 16384 : SIZE_MAX;

	while (m->wid && m->woff < m->wcut && budget) {
		size_t n = m->wcut - m->woff;
		ssize_t rc;

		if (n > budget) {
			n = budget;
		}
		rc = haq_group_state_write(m->g, m->wid, m->state + m->woff, n);
		if (rc == -EAGAIN) {
			m->wpaused = true;
			return;
		}
		if (rc == -EFBIG) {
			/* Past its own limit: libhaq ended the transfer. */
			m->wfbig++;
			ck_assert_int_eq(haq_group_state_write(m->g, m->wid,
							       "x", 1),
					 -EALREADY);
			m->wid = 0;
			return;
		}
		ck_assert_int_gt(rc, 0);
		m->woff += (size_t)rc;
		budget -= (size_t)rc;
		if ((size_t)rc < n) {
			m->wpaused = true;
			return;
		}
	}
	if (m->wid && m->woff == m->wcut) {
		ck_assert_int_eq(haq_group_state_end(m->g, m->wid, 0), 0);
		/* Ended: a second end or write is refused. */
		ck_assert_int_eq(haq_group_state_end(m->g, m->wid, 0),
				 -EALREADY);
		ck_assert_int_eq(haq_group_state_write(m->g, m->wid, "x", 1),
				 -EALREADY);
		m->wid = 0;
	}
}

static void
on_provide(haq_group_t *g, uint64_t transfer, void *ud)
{
	struct member *m = ud;

	(void)g;
	if (m->drop_provider) {
		ck_assert_int_eq(haq_group_leave(m->g), 0);
		m->g = NULL;
		return;
	}
	if (m->stuck) {
		return;
	}
	if (m->fail_with) {
		ck_assert_int_eq(haq_group_state_end(m->g, transfer,
						     m->fail_with),
				 0);
		return;
	}
	m->wid = transfer;
	m->wcut = m->len; /* append-only: the prefix is the state at the cut */
	m->woff = 0;
	m->wpaused = false;
	write_some(m);
}

static void
on_writable(haq_group_t *g, uint64_t transfer, void *ud)
{
	struct member *m = ud;

	(void)g;
	ck_assert_uint_eq(transfer, m->wid);
	m->wpaused = false;
	if (!m->slow) {
		write_some(m);
	}
}

static void
on_chunk(haq_group_t *g, uint64_t transfer, const void *data, size_t len,
	 void *ud)
{
	struct member *m = ud;

	(void)g;
	(void)transfer;
	ck_assert_int_eq(haq_group_state_held(m->g), 0);
	append(&m->incoming, &m->inlen, &m->incap, data, len);
}

static void
on_status(haq_group_t *g, uint64_t transfer, int role, int status, int error,
	  void *ud)
{
	struct member *m = ud;

	(void)g;
	(void)transfer;
	if (getenv("HAQ_TEST_LOG")) {
		fprintf(stderr, "[node %d] transfer %llx role %d status %d %s\n",
			m->node, (unsigned long long)transfer, role, status,
			haq_strerror(error));
	}
	m->last_error = error;
	if (role == HAQ_STATE_PROVIDER) {
		if (status == HAQ_STATE_DONE) {
			m->pdones++;
		} else {
			m->pfails++;
			m->wid = 0;
		}
		return;
	}
	switch (status) {
	case HAQ_STATE_BEGIN:
	case HAQ_STATE_REPLACE:
		*(status == HAQ_STATE_BEGIN ? &m->begins : &m->replaces) += 1;
		m->inlen = 0;
		break;
	case HAQ_STATE_DONE:
		m->dones++;
		/* Switch to the new state. */
		free(m->state);
		m->state = m->incoming;
		m->len = m->inlen;
		m->cap = m->incap;
		m->incoming = NULL;
		m->inlen = m->incap = 0;
		break;
	case HAQ_STATE_RESTARTED:
		m->restarts++;
		m->inlen = 0;
		break;
	default:
		m->fails++;
		m->fail_error = error;
		m->inlen = 0;
		break;
	}
}

static void
log_stderr(haq_ctx_t *ctx, int priority, const char *message, void *ud)
{
	(void)ctx;
	fprintf(stderr, "[%u %d] %s\n", *(uint32_t *)ud, priority, message);
}

static void
member_new(struct member *m, int node)
{
	memset(m, 0, sizeof(*m));
	m->node = node;
	cluster_enter_node(node);
	ck_assert_int_eq(haq_ctx_new(&m->ctx, NULL), 0);
	ck_assert_int_eq(haq_ctx_local_nodeid(m->ctx, &m->nodeid), 0);
	if (getenv("HAQ_TEST_LOG")) {
		haq_ctx_set_log(m->ctx, log_stderr, &m->nodeid);
	}
}

static void
member_join(struct member *m, const char *name)
{
	ck_assert_int_eq(haq_group_join(m->ctx, name, &m->g), 0);
	ck_assert_int_eq(haq_group_set_message_cb(m->g, on_message, m), 0);
	ck_assert_int_eq(haq_group_set_state_cbs(m->g, on_provide, on_writable,
						 on_chunk, on_status, m),
			 0);
	ck_assert_int_eq(haq_group_set_state_cbs(m->g, on_provide, on_writable,
						 on_chunk, on_status, m),
			 -EALREADY);
}

static void
member_free(struct member *m)
{
	if (m->ctx) {
		haq_ctx_free(m->ctx);
	}
	free(m->state);
	free(m->incoming);
	memset(m, 0, sizeof(*m));
}

/* One turn of every member: dispatch, then a slow provider writes. */
static void
turn(struct member *m, int n, int wait_ms)
{
	struct pollfd p[N];

	for (int i = 0; i < n; i++) {
		p[i].fd = m[i].ctx ? haq_ctx_fd(m[i].ctx) : -1;
		p[i].events = POLLIN;
	}
	poll(p, (nfds_t)n, wait_ms);
	for (int i = 0; i < n; i++) {
		if (!m[i].ctx) {
			continue;
		}
		ck_assert_int_ge(haq_ctx_dispatch(m[i].ctx), 0);
		if (m[i].wid && !m[i].wpaused) {
			write_some(&m[i]);
		}
	}
}

/* Each member that holds the state sends one numbered update. */
static void
load(struct member *m, int n)
{
	for (int i = 0; i < n; i++) {
		char msg[64];
		int len;

		if (!m[i].g) {
			continue;
		}
		len = snprintf(msg, sizeof(msg), "[%u:%llu]", m[i].nodeid,
			       (unsigned long long)++m[i].sent);
		(void)haq_group_send(m[i].g, msg, (size_t)len);
	}
}

static bool
all_hold(struct member *m, int n)
{
	for (int i = 0; i < n; i++) {
		if (m[i].g && haq_group_state_held(m[i].g) != 1) {
			return false;
		}
	}
	return true;
}

/* Run with load until every member holds, then quiet until equal. */
static bool
converge(struct member *m, int n, int load_ms, int timeout_ms)
{
	uint64_t start = test_now_ms();
	uint64_t end = start + (uint64_t)timeout_ms;

	while (test_now_ms() < start + (uint64_t)load_ms) {
		load(m, n);
		turn(m, n, 2);
	}
	while (test_now_ms() < end) {
		bool equal = all_hold(m, n);
		const struct member *ref = NULL;

		for (int i = 0; i < n && equal; i++) {
			if (!m[i].g) {
				continue;
			}
			if (ref && (ref->len != m[i].len ||
				    memcmp(ref->state, m[i].state, m[i].len))) {
				equal = false;
			}
			ref = &m[i];
		}
		if (equal) {
			/* Stable: nothing in flight changes it. */
			size_t q = 0;

			for (int i = 0; i < n; i++) {
				size_t b = 0;

				if (m[i].g) {
					(void)haq_group_queued(m[i].g, &b, NULL);
				}
				q += b;
			}
			if (q == 0) {
				return true;
			}
		}
		turn(m, n, 20);
	}
	for (int i = 0; i < n; i++) {
		fprintf(stderr,
			"member %d: held %d len %zu begins %d replaces %d "
			"dones %d restarts %d fails %d pdones %d pfails %d "
			"last error %s\n",
			i + 1, m[i].g ? haq_group_state_held(m[i].g) : -9,
			m[i].len, m[i].begins, m[i].replaces, m[i].dones,
			m[i].restarts, m[i].fails, m[i].pdones, m[i].pfails,
			haq_strerror(m[i].last_error));
	}
	return false;
}

/* The first member alone holds; the state grows to size bytes. */
static void
seed(struct member *m, size_t size)
{
	while (m->len < size) {
		uint8_t block[4096];

		for (size_t i = 0; i < sizeof(block); i++) {
			block[i] = (uint8_t)(m->len + i * 7);
		}
		append(&m->state, &m->len, &m->cap, block, sizeof(block));
	}
}

static void
wait_held(struct member *m, int n, int who)
{
	uint64_t end = test_now_ms() + 10000;

	while (test_now_ms() < end && haq_group_state_held(m[who].g) != 1) {
		turn(m, n, 20);
	}
	ck_assert_int_eq(haq_group_state_held(m[who].g), 1);
}

/* A joiner gets the state at its cut, under load, and stays equal. */
START_TEST(test_join_under_load)
{
	struct member m[N];
	char name[64];

	unique_group(name, sizeof(name), "state-join");
	for (int i = 0; i < N; i++) {
		member_new(&m[i], i + 1);
	}
	member_join(&m[0], name);
	wait_held(m, N, 0);
	seed(&m[0], 3u << 20);
	for (int i = 1; i < N; i++) {
		member_join(&m[i], name);
		ck_assert_int_eq(haq_group_state_held(m[i].g), 0);
		/* Load before and during the transfer. */
		for (int k = 0; k < 50; k++) {
			load(m, i + 1);
			turn(m, i + 1, 2);
		}
	}
	ck_assert(converge(m, N, 2000, 30000));
	/* One transfer each, or one shared by both joiners. */
	ck_assert_int_ge(m[0].pdones + m[1].pdones, 1);
	ck_assert_int_le(m[0].pdones + m[1].pdones, 2);
	ck_assert_int_eq(m[1].dones, 1);
	ck_assert_int_eq(m[2].dones, 1);
	ck_assert_int_eq(m[1].begins + m[2].begins, 2);
	ck_assert_int_eq(m[1].restarts + m[2].restarts, 0);
	for (int i = 1; i < N; i++) {
		uint64_t covered = 0;

		ck_assert_int_eq(haq_group_counter(m[i].g,
						   HAQ_COUNTER_STATE_COVERED,
						   &covered),
				 0);
	}
	for (int i = 0; i < N; i++) {
		member_free(&m[i]);
	}
}
END_TEST

/* Like seed(), with text that compresses: JSON-like records. */
static void
seed_json(struct member *m, size_t size)
{
	while (m->len < size) {
		char rec[256];
		int n = snprintf(rec, sizeof(rec),
				 "{\"id\": %zu, \"name\": \"resource-%zu\", "
				 "\"node\": \"node%zu.example.org\", "
				 "\"state\": \"%s\", \"score\": %zu},\n",
				 m->len, m->len % 97, m->len % 5,
				 m->len % 3 ? "started" : "stopped",
				 m->len * 31 % 1000);

		append(&m->state, &m->len, &m->cap, rec, (size_t)n);
	}
}

static uint64_t
counter(struct member *m, int which)
{
	uint64_t v = 0;

	ck_assert_int_eq(haq_group_counter(m->g, which, &v), 0);
	return v;
}

/*
 * Compression on (haq_group_set_compress()) and a state that compresses:
 * the joiners receive it byte for byte, and the CHUNKs went compressed
 * (HAQ_COUNTER_COMPRESSED of the provider; the updates are too small to
 * be). With old_member the second member, the first joiner, announces no
 * capability and refuses compressed frames (as libhaq 0.3 does,
 * HAQ_TEST_NO_CAPS): nothing goes compressed, and the transfers are the
 * same (a compressed CHUNK would be malformed to it and stop them).
 */
static void
join_compressed(bool old_member)
{
	struct member m[N];
	char name[64];
	uint64_t compressed = 0;

	unique_group(name, sizeof(name), "state-lz4");
	for (int i = 0; i < N; i++) {
		member_new(&m[i], i + 1);
	}
	member_join(&m[0], name);
	ck_assert_int_eq(haq_group_set_compress(m[0].g, 4096), 0);
	wait_held(m, N, 0);
	seed_json(&m[0], 3u << 20);
	for (int i = 1; i < N; i++) {
		if (old_member && i == 1) {
			setenv("HAQ_TEST_NO_CAPS", "1", 1);
		}
		member_join(&m[i], name);
		unsetenv("HAQ_TEST_NO_CAPS");
		ck_assert_int_eq(haq_group_set_compress(m[i].g, 4096), 0);
		for (int k = 0; k < 50; k++) {
			load(m, i + 1);
			turn(m, i + 1, 2);
		}
	}
	ck_assert(converge(m, N, 1000, 30000));
	ck_assert_uint_ge(m[0].len, 3u << 20);
	ck_assert_int_eq(m[1].dones, 1);
	ck_assert_int_eq(m[2].dones, 1);
	ck_assert_int_eq(m[1].restarts + m[2].restarts, 0);
	ck_assert_int_eq(m[1].fails + m[2].fails, 0);
	for (int i = 0; i < N; i++) {
		compressed += counter(&m[i], HAQ_COUNTER_COMPRESSED);
		ck_assert_uint_eq(counter(&m[i], HAQ_COUNTER_MALFORMED), 0);
	}
	if (old_member) {
		ck_assert_uint_eq(compressed, 0);
	} else {
		/* 3 MiB in CHUNKs of about 1 MiB, to each joiner or both. */
		ck_assert_uint_ge(compressed, 3);
	}
	for (int i = 0; i < N; i++) {
		member_free(&m[i]);
	}
}

START_TEST(test_join_compressed)
{
	join_compressed(false);
}
END_TEST

START_TEST(test_join_compressed_old_member)
{
	join_compressed(true);
}
END_TEST

/*
 * A compressed CHUNK whose header holds and whose block does not
 * decompress (the provider's first one goes a byte short: the test switch
 * HAQ_TEST_XFER_CUT): the receiver counts it malformed and gives the
 * transfer up (HAQ_STATE_FAILED, -EBADMSG), the provider's transfer ends
 * as usual, and the receiver gets the state byte for byte at the next
 * one.
 */
START_TEST(test_chunk_does_not_decompress)
{
	struct member m[N];
	char name[64];

	unique_group(name, sizeof(name), "state-cut");
	for (int i = 0; i < N; i++) {
		member_new(&m[i], i + 1);
	}
	setenv("HAQ_TEST_XFER_CUT", "1", 1);
	member_join(&m[0], name);
	unsetenv("HAQ_TEST_XFER_CUT");
	ck_assert_int_eq(haq_group_set_compress(m[0].g, 4096), 0);
	wait_held(m, N, 0);
	seed_json(&m[0], 2u << 20);
	member_join(&m[1], name);
	ck_assert(converge(m, 2, 500, 30000));
	ck_assert_int_eq(m[1].fails, 1);
	ck_assert_int_eq(m[1].fail_error, -EBADMSG);
	ck_assert_int_eq(m[1].dones, 1);
	ck_assert_uint_ge(counter(&m[1], HAQ_COUNTER_MALFORMED), 1);
	ck_assert_uint_eq(counter(&m[0], HAQ_COUNTER_MALFORMED), 0);
	ck_assert_uint_ge(counter(&m[0], HAQ_COUNTER_COMPRESSED), 2);
	ck_assert_int_ge(m[0].pdones, 1);
	for (int i = 0; i < N; i++) {
		member_free(&m[i]);
	}
}
END_TEST

/* The provider leaves at its cut: another one restarts the transfer. */
START_TEST(test_provider_leaves)
{
	struct member m[N];
	char name[64];

	unique_group(name, sizeof(name), "state-prov");
	for (int i = 0; i < N; i++) {
		member_new(&m[i], i + 1);
	}
	member_join(&m[0], name);
	wait_held(m, N, 0);
	seed(&m[0], 1u << 20);
	member_join(&m[1], name);
	ck_assert(converge(m, 2, 200, 20000));
	/* Whoever is asked next walks away at its cut. */
	m[0].drop_provider = true;
	m[1].drop_provider = true;
	member_join(&m[2], name);
	{
		uint64_t end = test_now_ms() + 20000;

		while (test_now_ms() < end && m[0].g && m[1].g) {
			load(m, N);
			turn(m, N, 5);
		}
	}
	ck_assert(!m[0].g || !m[1].g);
	m[0].drop_provider = false;
	m[1].drop_provider = false;
	ck_assert(converge(m, N, 1000, 30000));
	ck_assert_int_ge(m[2].dones, 1);
	for (int i = 0; i < N; i++) {
		member_free(&m[i]);
	}
}
END_TEST

/* A slow transfer with a small buffer under load: -ENOBUFS, then again. */
START_TEST(test_receiver_overflow)
{
	struct member m[2];
	char name[64];
	uint64_t end;

	unique_group(name, sizeof(name), "state-ovf");
	for (int i = 0; i < 2; i++) {
		member_new(&m[i], i + 1);
	}
	member_join(&m[0], name);
	wait_held(m, 2, 0);
	seed(&m[0], 8u << 20);
	m[0].slow = true;
	ck_assert_int_eq(haq_group_join(m[1].ctx, name, &m[1].g), 0);
	ck_assert_int_eq(haq_group_set_message_cb(m[1].g, on_message, &m[1]),
			 0);
	ck_assert_int_eq(haq_group_state_limit(m[1].g, HAQ_STATE_BUFFER,
					       1u << 20),
			 0);
	ck_assert_int_eq(haq_group_state_limit(m[1].g, HAQ_STATE_BUFFER, 5),
			 -EINVAL);
	ck_assert_int_eq(haq_group_set_state_cbs(m[1].g, on_provide,
						 on_writable, on_chunk,
						 on_status, &m[1]),
			 0);
	/* 4 KiB messages as fast as the queue takes them. */
	end = test_now_ms() + 30000;
	while (test_now_ms() < end && !m[1].fails) {
		static char big[4096];

		(void)haq_group_send(m[0].g, big, sizeof(big));
		turn(m, 2, 0);
	}
	ck_assert_int_ge(m[1].fails, 1);
	ck_assert_int_eq(m[1].last_error, -ENOBUFS);
	m[0].slow = false;
	ck_assert(converge(m, 2, 200, 30000));
	for (int i = 0; i < 2; i++) {
		member_free(&m[i]);
	}
}
END_TEST

/* Two holders and a joiner; the holder asked first misbehaves. */
static void
second_provider_takes_over(bool stuck, int expect_error)
{
	struct member m[N];
	char name[64];

	unique_group(name, sizeof(name), stuck ? "state-stuck" : "state-err");
	for (int i = 0; i < N; i++) {
		member_new(&m[i], i + 1);
	}
	member_join(&m[0], name);
	ck_assert_int_eq(haq_group_state_limit(m[0].g, HAQ_STATE_STALL, 1000),
			 0);
	wait_held(m, N, 0);
	seed(&m[0], 1u << 20);
	member_join(&m[1], name);
	ck_assert_int_eq(haq_group_state_limit(m[1].g, HAQ_STATE_STALL, 1000),
			 0);
	ck_assert(converge(m, 2, 200, 20000));
	/* The first asked is the leader: it misbehaves. */
	{
		uint32_t leader = 0;
		int who;

		ck_assert_int_ge(haq_group_leader(m[0].g, &leader, NULL, NULL),
				 0);
		ck_assert_uint_ne(leader, 0);
		who = leader == m[0].nodeid ? 0 : 1;
		ck_assert_uint_eq(leader, m[who].nodeid);
		m[who].stuck = stuck;
		m[who].fail_with = stuck ? 0 : -EIO;
	}
	member_join(&m[2], name);
	ck_assert_int_eq(haq_group_state_limit(m[2].g, HAQ_STATE_STALL, 1000),
			 0);
	{
		uint64_t end = test_now_ms() + 20000;

		while (test_now_ms() < end && !m[2].restarts) {
			load(m, N);
			turn(m, N, 5);
		}
	}
	ck_assert_int_eq(m[2].restarts, 1);
	ck_assert_int_eq(m[2].last_error, expect_error);
	m[0].stuck = m[1].stuck = false;
	m[0].fail_with = m[1].fail_with = 0;
	ck_assert(converge(m, N, 500, 30000));
	ck_assert_int_eq(m[2].dones, 1);
	for (int i = 0; i < N; i++) {
		member_free(&m[i]);
	}
}

/* A provider that never writes is passed over after the stall time. */
START_TEST(test_provider_stalls)
{
	second_provider_takes_over(true, -ETIMEDOUT);
}
END_TEST

/* A provider that ends with an error hands the transfer to another. */
START_TEST(test_provider_fails)
{
	second_provider_takes_over(false, -EIO);
}
END_TEST

/* The only holder leaves at its cut: the joiner starts from nothing. */
START_TEST(test_state_lost)
{
	struct member m[2];
	char name[64];
	uint64_t end;

	unique_group(name, sizeof(name), "state-lost");
	for (int i = 0; i < 2; i++) {
		member_new(&m[i], i + 1);
	}
	member_join(&m[0], name);
	wait_held(m, 2, 0);
	seed(&m[0], 1u << 20);
	m[0].drop_provider = true;
	member_join(&m[1], name);
	end = test_now_ms() + 20000;
	while (test_now_ms() < end && !m[1].fails) {
		turn(m, 2, 5);
	}
	ck_assert_ptr_null(m[0].g);
	ck_assert_int_eq(m[1].fails, 1);
	ck_assert_int_eq(m[1].last_error, -ENODATA);
	ck_assert_int_eq(haq_group_state_held(m[1].g), 1);
	for (int i = 0; i < 2; i++) {
		member_free(&m[i]);
	}
}
END_TEST

/* Two joiners share one transfer; one leaves in the middle of it. */
START_TEST(test_receiver_leaves)
{
	struct member m[N];
	char name[64];
	uint64_t end;

	unique_group(name, sizeof(name), "state-rleave");
	for (int i = 0; i < N; i++) {
		member_new(&m[i], i + 1);
	}
	member_join(&m[0], name);
	wait_held(m, N, 0);
	seed(&m[0], 4u << 20);
	m[0].slow = true;
	member_join(&m[1], name);
	member_join(&m[2], name);
	end = test_now_ms() + 20000;
	while (test_now_ms() < end && (!m[1].inlen || !m[2].inlen)) {
		load(m, N);
		turn(m, N, 2);
	}
	/* Both receive the one stream: joins within the settle time. */
	ck_assert_int_eq(m[1].begins, 1);
	ck_assert_int_eq(m[2].begins, 1);
	member_free(&m[1]);
	m[0].slow = false;
	ck_assert(converge(m, N, 500, 30000));
	ck_assert_int_eq(m[2].dones, 1);
	ck_assert_int_eq(m[2].restarts, 0);
	ck_assert_int_eq(m[0].pdones, 1);
	ck_assert_int_eq(m[0].pfails, 0);
	for (int i = 0; i < N; i++) {
		member_free(&m[i]);
	}
}
END_TEST

/* HAQ_STATE_MAX_SIZE on the provider's side, then on the receiver's. */
START_TEST(test_max_size)
{
	struct member m[2];
	char name[64];
	uint64_t end;

	unique_group(name, sizeof(name), "state-max");
	for (int i = 0; i < 2; i++) {
		member_new(&m[i], i + 1);
	}
	member_join(&m[0], name);
	ck_assert_int_eq(haq_group_state_limit(m[0].g, HAQ_STATE_MAX_SIZE,
					       1u << 20),
			 0);
	wait_held(m, 2, 0);
	seed(&m[0], 2u << 20);
	member_join(&m[1], name);
	end = test_now_ms() + 20000;
	while (test_now_ms() < end && !m[1].restarts) {
		turn(m, 2, 5);
	}
	ck_assert_int_ge(m[0].wfbig, 1);
	ck_assert_int_eq(m[1].restarts, 1);
	ck_assert_int_eq(m[1].last_error, -EFBIG);
	ck_assert_int_eq(haq_group_state_held(m[1].g), 0);
	member_free(&m[1]);
	/* Now the receiver's limit. */
	ck_assert_int_eq(haq_group_state_limit(m[0].g, HAQ_STATE_MAX_SIZE,
					       1u << 30),
			 0);
	member_new(&m[1], 2);
	ck_assert_int_eq(haq_group_join(m[1].ctx, name, &m[1].g), 0);
	ck_assert_int_eq(haq_group_set_message_cb(m[1].g, on_message, &m[1]),
			 0);
	ck_assert_int_eq(haq_group_state_limit(m[1].g, HAQ_STATE_MAX_SIZE,
					       1u << 20),
			 0);
	ck_assert_int_eq(haq_group_set_state_cbs(m[1].g, on_provide,
						 on_writable, on_chunk,
						 on_status, &m[1]),
			 0);
	end = test_now_ms() + 20000;
	while (test_now_ms() < end && !m[1].fails) {
		turn(m, 2, 5);
	}
	ck_assert_int_eq(m[1].fails, 1);
	ck_assert_int_eq(m[1].last_error, -EFBIG);
	ck_assert_int_eq(haq_group_state_held(m[1].g), 0);
	for (int i = 0; i < 2; i++) {
		member_free(&m[i]);
	}
}
END_TEST

/* Bad calls. */
START_TEST(test_misuse)
{
	struct member m;
	char name[64];

	unique_group(name, sizeof(name), "state-misuse");
	member_new(&m, 1);
	ck_assert_int_eq(haq_group_join(m.ctx, name, &m.g), 0);
	ck_assert_int_eq(haq_group_state_held(m.g), -EINVAL);
	ck_assert_int_eq(haq_group_set_state_cbs(m.g, NULL, on_writable,
						 on_chunk, on_status, &m),
			 -EINVAL);
	ck_assert_int_eq(haq_group_state_write(m.g, 1, "x", 1), -EINVAL);
	ck_assert_int_eq(haq_group_set_state_cbs(m.g, on_provide, on_writable,
						 on_chunk, on_status, &m),
			 0);
	ck_assert_int_eq(haq_group_state_write(m.g, 1, "x", 1), -ESTALE);
	ck_assert_int_eq(haq_group_state_end(m.g, 1, 0), -ESTALE);
	ck_assert_int_eq(haq_group_state_end(m.g, 1, 5), -EINVAL);
	ck_assert_int_eq(haq_group_state_limit(m.g, 99, 1), -EINVAL);
	ck_assert_int_eq(haq_group_state_limit(m.g, HAQ_STATE_STALL, 10),
			 -EINVAL);
	wait_held(&m, 1, 0);
	/* Too late for a process that is a member already. */
	{
		haq_group_t *g2;

		ck_assert_int_eq(haq_group_join(m.ctx, "state-misuse-2", &g2),
				 0);
		while (!haq_group_view(g2)) {
			turn(&m, 1, 20);
		}
		ck_assert_int_eq(haq_group_set_state_cbs(g2, on_provide,
							 on_writable, on_chunk,
							 on_status, &m),
				 -EISCONN);
	}
	member_free(&m);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("state");

	ADD_TCASE(s, test_join_under_load, 120);
	ADD_TCASE(s, test_join_compressed, 120);
	ADD_TCASE(s, test_join_compressed_old_member, 120);
	ADD_TCASE(s, test_chunk_does_not_decompress, 120);
	ADD_TCASE(s, test_provider_leaves, 120);
	ADD_TCASE(s, test_receiver_overflow, 120);
	ADD_TCASE(s, test_provider_stalls, 120);
	ADD_TCASE(s, test_provider_fails, 120);
	ADD_TCASE(s, test_state_lost, 60);
	ADD_TCASE(s, test_max_size, 60);
	ADD_TCASE(s, test_receiver_leaves, 120);
	ADD_TCASE(s, test_misuse, 60);
	return run_suite(s);
}
