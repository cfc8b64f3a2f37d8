/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for state transfer (libhaq/xfer.c): the decoders of its
 * frames, and its rules driven in several members at once.
 *
 * Six processes, each with its own struct haq_xfer, live in partitions,
 * as tests/xfer_sim.h models them (read it first): every frame a member
 * sends is delivered to every member of its partition, in the order of
 * the input. The input is a sequence of operations, one byte each (low 3
 * bits: the kind; args = the other 5 bits, who = args % 6, how = args / 6,
 * 0 to 5):
 *   0  a view: one more byte, bits 0-5 the processes of the new partition
 *      (processes that were not members join); the rest of each
 *      partition it takes members from gets a view too
 *   1  who is cut off from corosync (haq__xfer_reset()); its partition
 *      gets a view without it
 *   2  who offers, if the rules let it (a BEGIN, or an EMPTY one)
 *   3  who's writer sends a CHUNK of 1 + how * 3 bytes (how 5: numbered
 *      one too far, how 4: the previous number again, how 3: compressed,
 *      claiming 20 times as many bytes)
 *   4  who's writer ends (how 1: with an error, 2: a byte too many,
 *      3: a CHUNK too few)
 *   5  who aborts the transfer it sees (how odd: gives up as a receiver)
 *   6  who's oldest frame not delivered yet is delivered
 *   7  a forged frame: one more byte (bits 0-2: BEGIN, CHUNK, END, ABORT,
 *      GIVEUP, or raw bytes of one of them: 5 BEGIN, 6 END, 7 ABORT;
 *      bits 3-7: a length, twice that for a BEGIN), then for raw bytes
 *      that many bytes (copied into a buffer of exactly that length so
 *      ASan sees any over-read; what decodes must encode back to the
 *      same bytes), else
 *      four bytes of arguments: a frame made with who's view id and
 *      transfer, wrong where the arguments say (a CHUNK may be
 *      compressed, with a payload header right or wrong). Delivered from
 *      who to its partition; agreement is no longer checked for this input
 *      (a forged frame may name a transfer some members never saw begin)
 *
 * After every event, for every member, the invariants of xfer_sim.h
 * (sim_check(), sim_check_agree()); and while no partition healed and
 * nothing was forged, some member of every partition knows who holds the
 * state (else nobody would ever offer). A violation traps.
 *
 * clang -g -O1 -fsanitize=fuzzer,address,undefined -I include -I libhaq \
 *	tests/hardening/fuzz_xfer.c libhaq/xfer.c
 */
#include <stdio.h>

static void fuzz_fail(const char *what, int line);

#define SIM_REQUIRE(cond)                                                      \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fuzz_fail(#cond, __LINE__);                            \
		}                                                              \
	} while (0)

#include "../xfer_sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant: say which, then trap (libFuzzer keeps the input). */
static void
fuzz_fail(const char *what, int line)
{
	fprintf(stderr, "xfer_sim.h/fuzz_xfer.c:%d: broken: %s\n", line, what);
	__builtin_trap();
}

static bool
someone_knows(const struct sim *s)
{
	for (int i = 0; i < SIM_NPROC; i++) {
		bool known = false;

		if (!s->p[i].alive) {
			continue;
		}
		for (int k = 0; k < SIM_NPROC; k++) {
			known = known || (s->p[k].alive &&
					  s->p[k].view == s->p[i].view &&
					  s->p[k].x.known);
		}
		if (!known) {
			return false;
		}
	}
	return true;
}

/* Raw bytes of a frame: what decodes encodes back the same. */
static void
check_codec(int type, const uint8_t *b, size_t len)
{
	uint8_t out[HAQ_XFER_END_LEN];

	if (type == SIM_BEGIN) {
		struct haq_xfer_begin d;
		struct haq_memb *h;
		uint8_t *again;

		if (haq__xfer_begin_decode(b, len, &d) < 0) {
			return;
		}
		SIM_REQUIRE(len == haq__xfer_begin_len(d.nholders));
		h = malloc((d.nholders ? d.nholders : 1) * sizeof(*h));
		again = malloc(len);
		if (!h || !again) {
			free(h);
			free(again);
			return;
		}
		for (uint32_t i = 0; i < d.nholders; i++) {
			h[i].nodeid = haq__get_le32(d.holders + 8 * (size_t)i);
			h[i].pid = haq__get_le32(d.holders + 8 * (size_t)i + 4);
			SIM_REQUIRE(h[i].nodeid != 0);
			SIM_REQUIRE(!i || haq__memb_cmp(&h[i - 1], &h[i]) < 0);
		}
		haq__xfer_begin_encode(d.id, d.view_id, d.flags, h, d.nholders,
				       again);
		SIM_REQUIRE(memcmp(again, b, len) == 0);
		free(h);
		free(again);
	} else if (type == SIM_END) {
		struct haq_xfer_end e;

		if (haq__xfer_end_decode(b, len, &e) < 0) {
			return;
		}
		SIM_REQUIRE(e.id && e.error <= 0 && e.bytes >= e.chunks);
		haq__xfer_end_encode(&e, out);
		SIM_REQUIRE(memcmp(out, b, len) == 0);
	} else {
		uint64_t id;
		int32_t error;

		if (haq__xfer_abort_decode(b, len, &id, &error) < 0) {
			return;
		}
		SIM_REQUIRE(id && error < 0);
		haq__xfer_abort_encode(id, error, out);
		SIM_REQUIRE(memcmp(out, b, len) == 0);
	}
}

/* Operation 7: returns the input bytes used, 0 when there are too few. */
static size_t
op_forged(struct sim *s, int who, const uint8_t *d, size_t left, bool *oom)
{
	const struct sim_proc *p = &s->p[who];
	unsigned sel;
	int type;
	uint8_t f[SIM_BODY_MAX];
	size_t len;

	if (left < 1) {
		return 0;
	}
	sel = d[0];
	type = sel & 7;
	if (type >= SIM_NTYPES) {
		/* Raw bytes of a BEGIN, an END or an ABORT (GIVEUP's codec). */
		static const int raw_type[] = {SIM_BEGIN, SIM_END, SIM_ABORT};
		size_t n = sel >> 3;
		uint8_t *b;

		if (type == 5) {
			n *= 2; /* room for a few holders */
		}
		if (left < 1 + n) {
			return 0;
		}
		b = malloc(n ? n : 1);
		if (!b) {
			return 0;
		}
		memcpy(b, d + 1, n);
		type = raw_type[type - SIM_NTYPES];
		check_codec(type, b, n);
		s->forged = true;
		*oom = !sim_deliver_bytes(s, who, type, b, n);
		free(b);
		return 1 + n;
	}
	/* Made from who's table, wrong where the arguments say. */
	if (left < 5) {
		return 0;
	}
	memset(f, 0, sizeof(f));
	{
		unsigned a = d[1], b = d[2], c = d[3], e = d[4];
		uint64_t id = (a & 1) ? p->x.id : (uint64_t)(a >> 1);

		switch (type) {
		case SIM_BEGIN: {
			struct haq_memb h[SIM_NPROC];
			uint32_t n = 0;

			for (int i = 0; i < SIM_NPROC; i++) {
				if (b & (1u << i)) {
					h[n++] = sim_ids[i];
				}
			}
			haq__xfer_begin_encode(
				id ? id : 1,
				p->x.view_id + (uint64_t)(c % 3) - 1,
				n ? 0 : HAQ_XFER_FLAG_EMPTY, h, n, f);
			len = haq__xfer_begin_len(n);
			break;
		}
		case SIM_CHUNK:
			/* e bit 7: compressed (bit 6 an unknown flag too),
			 * with a payload header whose codec (bit 5) or
			 * length (bit 4: 0, else beyond one chunk when
			 * bit 3) may be wrong. */
			haq__xfer_chunk_hdr_encode(
				id, (p->x.next_index + b) % (c | 1),
				(e & 0x80) ? HAQ_XFER_CHUNK_LZ4 |
						     ((e & 0x40) ? 2u : 0u)
					   : 0,
				f);
			len = HAQ_XFER_CHUNK_HDR + 1 + e % 16;
			if (e & 0x80) {
				uint8_t *z = f + HAQ_XFER_CHUNK_HDR;

				z[0] = (e & 0x20) ? 2 : HAQ_CODEC_LZ4;
				haq__put_le64(z + 1,
					      (e & 0x10) ? 0
					      : (e & 0x8)
						      ? HAQ_XFER_CHUNK_MAX + 1
						      : 1 + 40 * (e % 8));
				len += HAQ_COMPRESS_HDR_LEN;
			}
			break;
		case SIM_END: {
			struct haq_xfer_end en = {
				.id = id ? id : 1,
				.chunks = p->x.next_index + (b & 3) - 1,
				.bytes = p->x.bytes + (c & 3) - 1,
				.error = (e & 1) ? -(int32_t)(e >> 1) - 1 : 0,
			};

			if (en.bytes < en.chunks) {
				en.bytes = en.chunks;
			}
			haq__xfer_end_encode(&en, f);
			len = HAQ_XFER_END_LEN;
			break;
		}
		default:
			haq__xfer_abort_encode(id ? id : 1, -(int32_t)b - 1, f);
			len = HAQ_XFER_ABORT_LEN;
			break;
		}
	}
	s->forged = true;
	*oom = !sim_deliver_bytes(s, who, type, f, len);
	return 5;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sim s;
	size_t pos = 0;

	sim_init(&s);
	while (pos < size) {
		uint8_t op = data[pos++];
		unsigned args = op >> 3;
		int who = (int)(args % SIM_NPROC);
		unsigned how = args / SIM_NPROC;
		bool ok = true;

		switch (op & 7) {
		case 0: {
			unsigned mask;

			if (pos >= size) {
				goto out;
			}
			mask = data[pos++] & ((1u << SIM_NPROC) - 1);
			ok = sim_view(&s, mask ? mask : 1u << who);
			break;
		}
		case 1:
			ok = sim_leave(&s, who);
			break;
		case 2:
			sim_offer(&s, who);
			break;
		case 3:
			sim_write(&s, who, 1 + how * 3,
				  how == 5   ? 1
				  : how == 4 ? -1
					     : 0,
				  how == 3);
			break;
		case 4:
			sim_end(&s, who, how == 1 ? -EIO : 0,
				how == 2   ? 1
				: how == 3 ? -1
					   : 0);
			break;
		case 5:
			sim_stop(&s, who, how & 1);
			break;
		case 6:
			ok = sim_deliver(&s, who);
			break;
		default: {
			bool oom = false;
			size_t used = op_forged(&s, who, data + pos, size - pos,
						&oom);

			if (!used || oom) {
				goto out;
			}
			pos += used;
			break;
		}
		}
		if (!ok) {
			goto out; /* out of memory */
		}
		if (!s.heals && !s.forged) {
			SIM_REQUIRE(someone_knows(&s));
		}
	}
out:
	sim_free(&s);
	return 0;
}
