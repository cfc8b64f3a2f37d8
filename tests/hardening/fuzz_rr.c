/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for request/reply (libhaq/rr.c): the decoders of its
 * frames (REQUEST, REPLY, CANCEL) and the bookkeeping they drive, on both
 * sides at once.
 *
 * This process is member 0 of a view of up to six members (node i + 1,
 * pid 100 (i + 1)). It keeps up to eight requests of its own (struct
 * haq_rr_out) and the table of requests it must answer (struct
 * haq_rr_table). The input is a sequence of operations, one byte each
 * (low 3 bits: the kind; args = the other 5 bits, who = args % 6):
 *   0  a request of its own, mode args % 4 (a slot is reused when full)
 *   1  request args % 8 comes back: its responders are the view
 *   2  a raw REPLY: one more byte (its length, 0..63), then that many
 *      bytes, copied into a buffer of exactly that length; from who; what
 *      decodes must encode back to the same header, and is applied to the
 *      request whose id it names when it is for this process
 *   3  a view: one more byte, bits 0-5 the members (member 0 always in)
 *   4  a raw REQUEST (as 2): what decodes is taken from who
 *   5  a raw CANCEL (as 2) from who
 *   6  this process replies to handle args (or an older one)
 *   7  this process loses its connection: every request ends, every
 *      request it must answer is withdrawn
 * After every operation: each request's counts add up to its responders;
 * complete stays complete and says 0 or -EREMOTEIO; the table's handles
 * increase and every one of them is found. A violation traps.
 *
 * clang -g -O1 -fsanitize=fuzzer,address,undefined -I libhaq \
 *	tests/hardening/fuzz_rr.c libhaq/rr.c
 */
#include "rr.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what, int line)
{
	fprintf(stderr, "fuzz_rr.c:%d: broken: %s\n", line, what);
	__builtin_trap();
}

#define REQUIRE(cond)                                                          \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fail(#cond, __LINE__);                                 \
		}                                                              \
	} while (0)

#define NMEMB 6
#define NOUT 8

struct slot {
	bool used;
	bool done;
	int result;
	struct haq_rr_out o;
};

struct world {
	struct haq_memb view[NMEMB];
	size_t nview;
	struct slot out[NOUT];
	uint64_t next_id;
	struct haq_rr_table in;
};

static void
set_view(struct world *w, unsigned int mask)
{
	w->nview = 0;
	for (unsigned int i = 0; i < NMEMB; i++) {
		if (i == 0 || (mask & (1u << i))) {
			w->view[w->nview].nodeid = i + 1;
			w->view[w->nview].pid = 100 * (i + 1);
			w->view[w->nview].reason = 0;
			w->nview++;
		}
	}
}

static void
check_out(struct slot *s)
{
	struct haq_rr_out *o = &s->o;
	int result = 1;
	int c;

	if (!s->used) {
		return;
	}
	REQUIRE(o->pending + o->ok + o->failed + o->left == o->n);
	if (o->delivered) {
		size_t counts[4] = {0};

		for (size_t i = 0; i < o->n; i++) {
			REQUIRE(o->r[i].state >= HAQ_RR_PENDING &&
				o->r[i].state <= HAQ_RR_LEFT);
			counts[o->r[i].state]++;
			if (i) {
				REQUIRE(haq__id_cmp(o->r[i - 1].nodeid,
						    o->r[i - 1].pid,
						    o->r[i].nodeid,
						    o->r[i].pid) < 0);
			}
		}
		REQUIRE(counts[HAQ_RR_PENDING] == o->pending &&
			counts[HAQ_RR_OK] == o->ok &&
			counts[HAQ_RR_FAILED] == o->failed &&
			counts[HAQ_RR_LEFT] == o->left);
	}
	c = haq__rr_out_complete(o, &result);
	if (s->done) {
		/*
		 * Complete stays complete with the same verdict, answers
		 * after it notwithstanding (the glue forgets a request there).
		 */
		REQUIRE(c == 1);
		REQUIRE(result == s->result);
	} else if (c) {
		REQUIRE(result == 0 || result == -EREMOTEIO);
		REQUIRE(o->delivered);
		s->done = true;
		s->result = result;
	}
	if (c && result == -EREMOTEIO) {
		REQUIRE(o->mode != HAQ_RR_ALL && o->mode != HAQ_RR_NONE);
	}
}

static void
check_table(const struct haq_rr_table *t)
{
	REQUIRE(t->n <= t->cap);
	for (size_t i = 0; i < t->n; i++) {
		int err = 0;

		REQUIRE(t->v[i].handle < t->next_handle);
		if (i) {
			REQUIRE(t->v[i - 1].handle < t->v[i].handle);
		}
		REQUIRE(haq__rr_in_find(t, t->v[i].handle, &err) == &t->v[i]);
	}
}

/* A raw frame of the next input bytes, in a buffer of exactly its size. */
static uint8_t *
take_raw(const uint8_t *data, size_t size, size_t *pos, size_t *len)
{
	uint8_t *buf;

	if (*pos >= size) {
		return NULL;
	}
	*len = data[(*pos)++] & 63;
	if (*len > size - *pos) {
		*len = size - *pos;
	}
	buf = malloc(*len ? *len : 1);
	if (!buf) {
		return NULL;
	}
	memcpy(buf, data + *pos, *len);
	*pos += *len;
	return buf;
}

static struct slot *
find_slot(struct world *w, uint64_t id)
{
	for (int i = 0; i < NOUT; i++) {
		if (w->out[i].used && w->out[i].o.id == id) {
			return &w->out[i];
		}
	}
	return NULL;
}

static void
op_reply_frame(struct world *w, const uint8_t *c, size_t len, int who)
{
	struct haq_rr_reply r;
	uint8_t again[HAQ_RR_REPLY_HDR];
	int is_for = haq__rr_reply_for(c, len, 1, 100);
	struct slot *s;

	if (haq__rr_decode_reply(c, len, &r) < 0) {
		return;
	}
	REQUIRE(is_for >= 0);
	REQUIRE(r.len == len - HAQ_RR_REPLY_HDR);
	haq__rr_encode_reply(again, r.status, r.nodeid, r.pid, r.id);
	REQUIRE(memcmp(again, c, HAQ_RR_REPLY_HDR) == 0);
	REQUIRE(is_for == (r.nodeid == 1 && r.pid == 100));
	if (!is_for) {
		return;
	}
	s = find_slot(w, r.id);
	if (s && !s->done) {
		int rc =
			haq__rr_out_reply(&s->o, (uint32_t)who + 1,
					  100u * ((uint32_t)who + 1), r.status);

		REQUIRE(rc == 0 || rc == -ENOENT || rc == -EALREADY);
	}
}

static void
op_request_frame(struct world *w, const uint8_t *c, size_t len, int who)
{
	struct haq_rr_request r;
	uint8_t again[HAQ_RR_REQUEST_HDR];

	if (haq__rr_decode_request(c, len, &r) < 0) {
		return;
	}
	REQUIRE(r.mode >= HAQ_RR_NONE && r.mode <= HAQ_RR_MAJORITY);
	REQUIRE(r.id != 0 && r.len == len - HAQ_RR_REQUEST_HDR);
	haq__rr_encode_request(again, r.mode, r.id);
	REQUIRE(memcmp(again, c, HAQ_RR_REQUEST_HDR) == 0);
	if (r.mode != HAQ_RR_NONE && w->in.n < 4096) {
		uint64_t before = w->in.next_handle;
		uint64_t h = haq__rr_in_add(&w->in, (uint32_t)who + 1,
					    100u * ((uint32_t)who + 1), r.id);

		REQUIRE(h == 0 || h == before);
	}
}

static void
op_cancel_frame(struct world *w, const uint8_t *c, size_t len, int who)
{
	uint64_t id;
	uint64_t h;
	uint8_t again[HAQ_RR_CANCEL_LEN];
	int err = 0;

	if (haq__rr_decode_cancel(c, len, &id) < 0) {
		return;
	}
	REQUIRE(id != 0 && len == HAQ_RR_CANCEL_LEN);
	haq__rr_encode_cancel(again, id);
	REQUIRE(memcmp(again, c, HAQ_RR_CANCEL_LEN) == 0);
	h = haq__rr_in_lookup(&w->in, (uint32_t)who + 1,
			      100u * ((uint32_t)who + 1), id);
	if (h) {
		haq__rr_in_remove(&w->in, h, -ECANCELED);
		REQUIRE(haq__rr_in_find(&w->in, h, &err) == NULL);
		REQUIRE(err == -ECANCELED);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct world w;
	size_t pos = 0;

	memset(&w, 0, sizeof(w));
	w.next_id = 1;
	haq__rr_table_init(&w.in);
	set_view(&w, 0x3f);
	while (pos < size) {
		uint8_t op = data[pos++];
		unsigned int args = op >> 3;
		int who = (int)(args % NMEMB);
		uint8_t *raw;
		size_t len;

		switch (op & 7) {
		case 0: {
			struct slot *s = &w.out[w.next_id % NOUT];

			if (s->used) {
				haq__rr_out_free(&s->o);
			}
			memset(s, 0, sizeof(*s));
			s->used = true;
			haq__rr_out_init(&s->o, (int)(args % 4), w.next_id++);
			break;
		}
		case 1: {
			struct slot *s = &w.out[args % NOUT];

			if (s->used) {
				int rc = haq__rr_out_delivered(&s->o, w.view,
							       w.nview);

				REQUIRE(rc == 0 || rc == -EALREADY);
			}
			break;
		}
		case 3: {
			uint64_t h;

			if (pos >= size) {
				break;
			}
			set_view(&w, data[pos++]);
			for (int i = 0; i < NOUT; i++) {
				uint32_t n, p;

				while (w.out[i].used &&
				       haq__rr_out_next_leaver(&w.out[i].o,
							       w.view, w.nview,
							       &n, &p)) {
					REQUIRE(!haq__memb_contains(
						w.view, w.nview, n, p));
				}
			}
			while (haq__rr_in_next_orphan(&w.in, w.view, w.nview,
						      &h)) {
			}
			for (size_t i = 0; i < w.in.n; i++) {
				REQUIRE(haq__memb_contains(w.view, w.nview,
							   w.in.v[i].nodeid,
							   w.in.v[i].pid));
			}
			break;
		}
		case 2:
		case 4:
		case 5:
			raw = take_raw(data, size, &pos, &len);
			if (!raw) {
				break;
			}
			if ((op & 7) == 2) {
				op_reply_frame(&w, raw, len, who);
			} else if ((op & 7) == 4) {
				op_request_frame(&w, raw, len, who);
			} else {
				op_cancel_frame(&w, raw, len, who);
			}
			free(raw);
			break;
		case 6: {
			uint64_t h = w.in.next_handle > args
					     ? w.in.next_handle - args - 1
					     : 0;
			int err = 0;
			const struct haq_rr_in *e =
				haq__rr_in_find(&w.in, h, &err);

			if (e) {
				haq__rr_in_remove(&w.in, h, -EALREADY);
				REQUIRE(!haq__rr_in_find(&w.in, h, &err));
				REQUIRE(err == -EALREADY);
			} else {
				REQUIRE(err == -ENOENT || err == -EALREADY ||
					err == -ECANCELED);
			}
			break;
		}
		default: {
			uint64_t h;

			for (int i = 0; i < NOUT; i++) {
				if (w.out[i].used) {
					haq__rr_out_free(&w.out[i].o);
				}
				w.out[i].used = false;
			}
			while (haq__rr_in_next_orphan(&w.in, NULL, 0, &h)) {
			}
			REQUIRE(w.in.n == 0);
			break;
		}
		}
		for (int i = 0; i < NOUT; i++) {
			check_out(&w.out[i]);
		}
		check_table(&w.in);
	}
	for (int i = 0; i < NOUT; i++) {
		if (w.out[i].used) {
			haq__rr_out_free(&w.out[i].o);
		}
	}
	haq__rr_table_free(&w.in);
	return 0;
}
