/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * haq-state-bench: state transfer's speed, loop holding and memory, one
 * process per node (run-state-bench drives it).
 *
 *   --role provider   joins first (so it holds the state), fills a state
 *                     of --size bytes and provides it to every transfer
 *                     until SIGTERM; prints one RESULT line per transfer
 *   --role holder     joins, receives whatever state there is, and stays
 *                     (a member that holds without providing)
 *   --role receiver   joins at --start-at (CLOCK_REALTIME ns, so several
 *                     receivers join together), receives the state, prints
 *                     one RESULT line and exits; with --size it has the
 *                     memory for that state ready (touched) before it
 *                     joins
 *
 * A provider's state is incompressible bytes, or with --text JSON-like
 * records (compressible); --compress BYTES calls haq_group_set_compress()
 * (the provider's RESULT then says how many frames went compressed).
 *
 * The state goes as an 8-byte little-endian length, then the bytes; a
 * receiver allocates the length once, so its peak memory is the state
 * plus what libhaq holds. Times: the longest haq_ctx_dispatch() call
 * (callbacks included: the time the loop was held), the same less the
 * time the thread waited for a core during it (held: what the call
 * itself took, on a machine shared with corosync and the other nodes),
 * and the longest haq_group_state_write() call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <haq/haq.h>

#define PROG "haq-state-bench"

struct sb {
	haq_ctx_t *ctx;
	haq_group_t *g;
	int role; /* 0 provider, 1 holder, 2 receiver */
	uint64_t size;
	uint8_t *state;
	size_t compress; /* --compress: haq_group_set_compress() */
	/* provider */
	uint64_t wid;
	uint64_t woff; /* of 8 + size */
	uint64_t cut_ns;
	uint64_t max_write_ns;
	int transfers;
	/* receiver */
	uint8_t hdr[8];
	uint64_t got;
	uint64_t total;
	uint8_t *in;
	uint64_t incap; /* a receiver's buffer, touched before it joins */
	uint64_t begin_ns;
	uint64_t done_ns;
	uint64_t id;
	int restarts;
	bool done;
	long rss_base_kb;
	uint64_t max_dispatch_ns;
	uint64_t max_held_ns; /* the longest dispatch less its wait for a core */
	uint64_t max_cb_ns;
	int status_error;
};

static volatile sig_atomic_t stop;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Nanoseconds this thread waited for a core (the second field of
 * /proc/thread-self/schedstat); 0 when unknown. Wall time minus the wait
 * is the time a call really held the loop, on a shared machine.
 */
static uint64_t
waited_ns(void)
{
	unsigned long long run = 0;
	unsigned long long wait = 0;
	FILE *f = fopen("/proc/thread-self/schedstat", "r");

	if (!f) {
		return 0;
	}
	if (fscanf(f, "%llu %llu", &run, &wait) != 2) {
		wait = 0;
	}
	fclose(f);
	return wait;
}

static long
status_kb(const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f) {
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) == 0) {
			v = strtol(line + klen, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static void
die(const char *what, int rc)
{
	fprintf(stderr, PROG ": %s: %s\n", what, haq_strerror(rc));
	exit(1);
}

/* Write from woff on until the window fills or everything is out. */
static void
write_more(struct sb *b)
{
	while (b->wid && b->woff < 8 + b->size) {
		const uint8_t *p;
		size_t n;
		uint64_t t0;
		ssize_t rc;

		if (b->woff < 8) {
			uint8_t h[8];

			for (int i = 0; i < 8; i++) {
				h[i] = (uint8_t)(b->size >> (8 * i));
			}
			p = h + b->woff;
			n = 8 - b->woff;
			t0 = now_ns();
			rc = haq_group_state_write(b->g, b->wid, p, n);
		} else {
			p = b->state + (b->woff - 8);
			n = 8 + b->size - b->woff;
			t0 = now_ns();
			rc = haq_group_state_write(b->g, b->wid, p, n);
		}
		if (now_ns() - t0 > b->max_write_ns) {
			b->max_write_ns = now_ns() - t0;
		}
		if (rc == -EAGAIN) {
			return;
		}
		if (rc < 0) {
			die("haq_group_state_write", (int)rc);
		}
		b->woff += (uint64_t)rc;
		if ((size_t)rc < n) {
			return;
		}
	}
	if (b->wid) {
		int rc = haq_group_state_end(b->g, b->wid, 0);

		if (rc < 0) {
			die("haq_group_state_end", rc);
		}
		b->wid = 0;
	}
}

static void
on_provide(haq_group_t *g, uint64_t transfer, void *ud)
{
	struct sb *b = ud;

	(void)g;
	if (b->role != 0) {
		/* Only the bench's provider has a state worth sending. */
		(void)haq_group_state_end(g, transfer, 0);
		return;
	}
	b->wid = transfer;
	b->woff = 0;
	b->cut_ns = now_ns();
	b->max_write_ns = 0;
	b->max_dispatch_ns = 0;
	b->max_held_ns = 0;
	write_more(b);
}

static void
on_writable(haq_group_t *g, uint64_t transfer, void *ud)
{
	struct sb *b = ud;

	(void)g;
	(void)transfer;
	write_more(b);
}

static void
on_chunk(haq_group_t *g, uint64_t transfer, const void *data, size_t len,
	 void *ud)
{
	struct sb *b = ud;
	const uint8_t *p = data;
	uint64_t t0 = now_ns();

	(void)g;
	(void)transfer;
	while (len && b->got < 8) {
		b->hdr[b->got++] = *p++;
		len--;
		if (b->got == 8) {
			b->total = 0;
			for (int i = 0; i < 8; i++) {
				b->total |= (uint64_t)b->hdr[i] << (8 * i);
			}
			if (b->total > b->incap) {
				free(b->in);
				b->in = malloc(b->total);
				b->incap = b->total;
				if (!b->in) {
					die("malloc", -ENOMEM);
				}
			}
		}
	}
	if (len) {
		if (b->got - 8 + len > b->total) {
			die("state longer than announced", -EBADMSG);
		}
		memcpy(b->in + (b->got - 8), p, len);
		b->got += len;
	}
	if (now_ns() - t0 > b->max_cb_ns) {
		b->max_cb_ns = now_ns() - t0;
	}
}

static void
on_status(haq_group_t *g, uint64_t transfer, int role, int status, int error,
	  void *ud)
{
	struct sb *b = ud;

	if (role == HAQ_STATE_PROVIDER) {
		if (status == HAQ_STATE_DONE && b->role == 0) {
			uint64_t z = 0;

			b->transfers++;
			(void)haq_group_counter(g, HAQ_COUNTER_COMPRESSED, &z);
			printf("RESULT role=provider transfer=%llx size=%llu "
			       "secs=%.3f max_dispatch_us=%.1f "
			       "max_held_us=%.1f max_write_us=%.1f "
			       "compress=%zu compressed=%llu\n",
			       (unsigned long long)transfer,
			       (unsigned long long)b->size,
			       (double)(now_ns() - b->cut_ns) / 1e9,
			       (double)b->max_dispatch_ns / 1e3,
			       (double)b->max_held_ns / 1e3,
			       (double)b->max_write_ns / 1e3, b->compress,
			       (unsigned long long)z);
			fflush(stdout);
		} else if (status != HAQ_STATE_DONE) {
			b->wid = 0;
		}
		return;
	}
	switch (status) {
	case HAQ_STATE_BEGIN:
	case HAQ_STATE_REPLACE:
		b->id = transfer;
		b->got = 0;
		b->begin_ns = now_ns();
		b->max_dispatch_ns = 0;
		b->max_held_ns = 0;
		b->max_cb_ns = 0;
		break;
	case HAQ_STATE_DONE:
		b->done_ns = now_ns();
		b->done = true;
		break;
	default:
		b->restarts++;
		b->status_error = error;
		b->got = 0;
		break;
	}
}

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
loop_once(struct sb *b, int ms)
{
	struct pollfd p = {.fd = haq_ctx_fd(b->ctx), .events = POLLIN};
	uint64_t t0;
	int rc;

	uint64_t w0;
	uint64_t wall;
	uint64_t waited;

	poll(&p, 1, ms);
	w0 = waited_ns();
	t0 = now_ns();
	rc = haq_ctx_dispatch(b->ctx);
	wall = now_ns() - t0;
	waited = waited_ns() - w0;
	if (wall > b->max_dispatch_ns) {
		b->max_dispatch_ns = wall;
	}
	if (wall - (waited < wall ? waited : wall) > b->max_held_ns) {
		b->max_held_ns = wall - (waited < wall ? waited : wall);
	}
	if (rc < 0) {
		die("haq_ctx_dispatch", rc);
	}
}

static uint64_t
parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 10);

	switch (*end) {
	case 'k':
	case 'K':
		return v << 10;
	case 'm':
	case 'M':
		return v << 20;
	case 'g':
	case 'G':
		return v << 30;
	default:
		return v;
	}
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"role", required_argument, NULL, 'r'},
		{"size", required_argument, NULL, 's'},
		{"group", required_argument, NULL, 'g'},
		{"start-at", required_argument, NULL, 'S'},
		{"timeout", required_argument, NULL, 't'},
		{"text", no_argument, NULL, 'x'},
		{"compress", required_argument, NULL, 'z'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct sb b = {0};
	const char *group = "haq-state-bench";
	uint64_t start_at = 0;
	uint64_t deadline;
	int timeout = 300;
	bool text = false;
	int c;
	int rc;

	while ((c = getopt_long(argc, argv, "r:s:g:S:t:xz:h", opts, NULL)) !=
	       -1) {
		switch (c) {
		case 'r':
			b.role = !strcmp(optarg, "provider") ? 0
				 : !strcmp(optarg, "holder") ? 1
				 : !strcmp(optarg, "receiver") ? 2
								: -1;
			break;
		case 's':
			b.size = parse_size(optarg);
			break;
		case 'g':
			group = optarg;
			break;
		case 'S':
			start_at = strtoull(optarg, NULL, 10);
			break;
		case 't':
			timeout = atoi(optarg);
			break;
		case 'x':
			text = true;
			break;
		case 'z':
			b.compress = (size_t)parse_size(optarg);
			break;
		default:
			fprintf(c == 'h' ? stdout : stderr,
				"usage: " PROG " --role provider|holder|receiver "
				"[--size BYTES] [--group NAME] "
				"[--start-at REALTIME_NS] [--timeout S] "
				"[--text] [--compress BYTES]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (b.role < 0 || (b.role == 0 && !b.size)) {
		fprintf(stderr, PROG ": need --role, and --size for a provider\n");
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	if (b.role == 0 && text) {
		/* JSON-like records, touched before anything is measured. */
		uint64_t i = 0;

		b.state = malloc(b.size + 256);
		if (!b.state) {
			die("malloc", -ENOMEM);
		}
		while (i < b.size) {
			i += (uint64_t)snprintf(
				(char *)b.state + i, 256,
				"{\"id\": %llu, \"name\": \"resource-%llu\", "
				"\"node\": \"node%llu.example.org\", "
				"\"state\": \"%s\", \"score\": %llu},\n",
				(unsigned long long)i,
				(unsigned long long)(i % 97),
				(unsigned long long)(i % 5),
				i % 3 ? "started" : "stopped",
				(unsigned long long)(i * 31 % 1000));
		}
	} else if (b.role == 0) {
		/* Incompressible bytes, touched before anything is measured. */
		uint64_t x = 0x9e3779b97f4a7c15ull;

		b.state = malloc(b.size);
		if (!b.state) {
			die("malloc", -ENOMEM);
		}
		for (uint64_t i = 0; i < b.size; i += 8) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			memcpy(b.state + i, &x,
			       b.size - i < 8 ? b.size - i : 8);
		}
	}
	if (start_at) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull +
			       (uint64_t)ts.tv_nsec;
		if (start_at > now) {
			uint64_t d = start_at - now;
			struct timespec w = {.tv_sec = (time_t)(d / 1000000000ull),
					     .tv_nsec = (long)(d % 1000000000ull)};

			nanosleep(&w, NULL);
		}
	}
	b.rss_base_kb = status_kb("VmRSS:");
	if (b.role == 2 && b.size) {
		/*
		 * A receiver that knows what comes has its memory ready: the
		 * copies then measure libhaq, not first-touch page faults.
		 * Still counted in its peak memory (the base is before).
		 */
		b.in = malloc(b.size);
		if (!b.in) {
			die("malloc", -ENOMEM);
		}
		memset(b.in, 0, b.size);
		b.incap = b.size;
	}
	rc = haq_ctx_new(&b.ctx, NULL);
	if (rc < 0) {
		die("haq_ctx_new", rc);
	}
	rc = haq_group_join(b.ctx, group, &b.g);
	if (rc < 0) {
		die("haq_group_join", rc);
	}
	rc = haq_group_set_state_cbs(b.g, on_provide, on_writable, on_chunk,
				     on_status, &b);
	if (rc < 0) {
		die("haq_group_set_state_cbs", rc);
	}
	if (b.compress) {
		rc = haq_group_set_compress(b.g, b.compress);
		if (rc < 0) {
			die("haq_group_set_compress", rc);
		}
	}
	if (b.size > (1ull << 30)) {
		(void)haq_group_state_limit(b.g, HAQ_STATE_MAX_SIZE,
					    b.size + 8);
	}
	deadline = now_ns() + (uint64_t)timeout * 1000000000ull;
	while (!stop && now_ns() < deadline) {
		loop_once(&b, 100);
		if (b.role == 0 && haq_group_state_held(b.g) == 1 &&
		    !b.transfers && !b.cut_ns) {
			static bool said;

			if (!said) {
				said = true;
				printf("READY\n");
				fflush(stdout);
			}
		}
		if (b.role == 1 && haq_group_state_held(b.g) == 1) {
			static bool said;

			if (!said) {
				said = true;
				printf("READY\n");
				fflush(stdout);
			}
		}
		if (b.role == 2 && b.done) {
			break;
		}
	}
	if (b.role == 2) {
		long hwm = status_kb("VmHWM:");
		double secs = (double)(b.done_ns - b.begin_ns) / 1e9;

		printf("RESULT role=receiver transfer=%llx size=%llu secs=%.3f "
		       "MB_s=%.2f max_dispatch_us=%.1f max_held_us=%.1f "
		       "max_chunk_cb_us=%.1f "
		       "peak_extra_kb=%ld restarts=%d status=%s\n",
		       (unsigned long long)b.id,
		       (unsigned long long)(b.got > 8 ? b.got - 8 : 0),
		       b.done ? secs : -1.0,
		       b.done ? (double)(b.got - 8) / 1e6 / secs : 0.0,
		       (double)b.max_dispatch_ns / 1e3,
		       (double)b.max_held_ns / 1e3,
		       (double)b.max_cb_ns / 1e3, hwm - b.rss_base_kb,
		       b.restarts, b.done ? "ok" : "timeout");
	}
	haq_ctx_free(b.ctx);
	free(b.state);
	free(b.in);
	return b.role == 2 && !b.done ? 1 : 0;
}
