/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * codec-bench: lz4 against zstd on state-like JSON text and on random
 * bytes, one core (doc/performance-notes.md, issue 14). Not built by the
 * Makefile (zstd is no dependency of libhaq):
 *   cc -O2 -o codec-bench tests/bench/codec-bench.c -llz4 -lzstd
 *   ./codec-bench [BYTES]
 */
#include <lz4.h>
#include <zstd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng = 88172645463325252ull;
static uint64_t xr(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

static size_t json(char *b, size_t cap) {
	static const char *st[] = {"active", "standby", "failed", "stopped", "promoting"};
	size_t n = 0; unsigned id = 0;
	n += snprintf(b + n, cap - n, "{\"resources\":[");
	while (n + 400 < cap) {
		n += snprintf(b + n, cap - n,
			"{\"id\":%u,\"name\":\"rsc-%u\",\"node\":\"node%u.example.net\",\"state\":\"%s\","
			"\"score\":%d,\"last_change\":%llu,\"attrs\":{\"cpu\":%.3f,\"mem_kb\":%llu,\"fail_count\":%u}},",
			id, id, (unsigned)(xr() % 16), st[xr() % 5], (int)(xr() % 2000) - 1000,
			1796313460000000ull + xr() % 100000000ull, (double)(xr() % 100000) / 1000.0,
			(unsigned long long)(xr() % 16000000), (unsigned)(xr() % 4));
		id++;
	}
	n += snprintf(b + n, cap - n, "{}]}");
	return n;
}

int main(int argc, char **argv) {
	size_t size = argc > 1 ? strtoul(argv[1], 0, 0) : 4u << 20;
	char *src = malloc(size), *dst = malloc(ZSTD_compressBound(size) + LZ4_compressBound(size)), *back = malloc(size);
	for (int kind = 0; kind < 2; kind++) {
		size_t n;
		if (kind == 0) { n = json(src, size); memset(src + n, ' ', size - n); n = size; }
		else { for (size_t i = 0; i < size; i += 8) { uint64_t v = xr(); memcpy(src + i, &v, size - i < 8 ? size - i : 8); } n = size; }
		for (int codec = 0; codec < 4; codec++) {
			const char *name = codec == 0 ? "lz4" : codec == 1 ? "zstd-1" : codec == 2 ? "zstd-3" : "zstd--1";
			int reps = 10; size_t c = 0; double t0 = now();
			for (int r = 0; r < reps; r++) {
				if (codec == 0) c = LZ4_compress_default(src, dst, n, LZ4_compressBound(n));
				else c = ZSTD_compress(dst, ZSTD_compressBound(n), src, n, codec == 1 ? 1 : codec == 2 ? 3 : -1);
			}
			double tc = (now() - t0) / reps; t0 = now();
			for (int r = 0; r < reps; r++) {
				if (codec == 0) LZ4_decompress_safe(dst, back, c, n);
				else ZSTD_decompress(back, n, dst, c);
			}
			double td = (now() - t0) / reps;
			printf("%-6s %-8s %zu -> %zu (ratio %.2f) compress %.0f MB/s decompress %.0f MB/s ok=%d\n",
			       kind ? "random" : "json", name, n, c, (double)n / c, n / tc / 1e6, n / td / 1e6, memcmp(src, back, n) == 0);
		}
	}
	return 0;
}
