/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Heap allocation counter for haq-bench.
 *
 * The benchmark binary defines malloc and its relatives, which glibc allows
 * (they interpose on the C library's for every shared object in the process,
 * libhaq, libcpg and libqb included) and forwards each call to glibc's own
 * allocator through its __libc_* entry points. Every call that hands out
 * memory adds one to a counter the benchmark reads before and after a
 * measured interval: allocations per delivered message come out at native
 * speed, with the same flow control as a real run, which a run under
 * valgrind would not have.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "malloc-count.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);
extern void __libc_free(void *p);

static uint64_t allocs;
static uint64_t alloc_bytes;
/* Heap bytes in use (usable sizes) and their high-water mark. */
static int64_t live;
static int64_t live_peak;

uint64_t
bench_alloc_count(void)
{
	return __atomic_load_n(&allocs, __ATOMIC_RELAXED);
}

uint64_t
bench_alloc_bytes(void)
{
	return __atomic_load_n(&alloc_bytes, __ATOMIC_RELAXED);
}

uint64_t
bench_heap_live(void)
{
	return (uint64_t)__atomic_load_n(&live, __ATOMIC_RELAXED);
}

uint64_t
bench_heap_peak(void)
{
	return (uint64_t)__atomic_load_n(&live_peak, __ATOMIC_RELAXED);
}

void
bench_heap_peak_reset(void)
{
	__atomic_store_n(&live_peak, __atomic_load_n(&live, __ATOMIC_RELAXED),
			 __ATOMIC_RELAXED);
}

/*
 * Optional: who allocates. While tracing is on, each allocation's caller
 * (the return address into the code that called malloc) is counted in a
 * small table; bench_alloc_trace_report() names them with dladdr().
 */
#define TRACE_SLOTS 64
static struct {
	void *pc;
	uint64_t n;
} trace[TRACE_SLOTS];
static int tracing;

void
bench_alloc_trace(int on)
{
	tracing = on;
}

static void
trace_pc(void *pc)
{
	for (int i = 0; i < TRACE_SLOTS; i++) {
		if (trace[i].pc == pc || trace[i].pc == NULL) {
			trace[i].pc = pc;
			trace[i].n++;
			return;
		}
	}
}

void
bench_alloc_trace_report(FILE *f)
{
	for (int i = 0; i < TRACE_SLOTS && trace[i].pc; i++) {
		Dl_info di;

		if (dladdr(trace[i].pc, &di) && di.dli_fname) {
			fprintf(f, "alloc-trace %" PRIu64 " %s+0x%lx %s\n",
				trace[i].n, di.dli_fname,
				(unsigned long)((char *)trace[i].pc -
						(char *)di.dli_fbase),
				di.dli_sname ? di.dli_sname : "?");
		} else {
			fprintf(f, "alloc-trace %" PRIu64 " %p\n", trace[i].n,
				trace[i].pc);
		}
	}
}

static void
count(size_t size)
{
	__atomic_add_fetch(&allocs, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&alloc_bytes, size, __ATOMIC_RELAXED);
}

/* The benchmark is single-threaded: a plain high-water mark is enough. */
static void *
track(void *p)
{
	if (p) {
		int64_t now = __atomic_add_fetch(&live,
						 (int64_t)malloc_usable_size(p),
						 __ATOMIC_RELAXED);

		if (now > live_peak) {
			live_peak = now;
		}
	}
	return p;
}

static void
untrack(void *p)
{
	if (p) {
		__atomic_sub_fetch(&live, (int64_t)malloc_usable_size(p),
				   __ATOMIC_RELAXED);
	}
}

void *malloc(size_t size);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t size);
void free(void *p);
void *memalign(size_t align, size_t size);
void *aligned_alloc(size_t align, size_t size);
int posix_memalign(void **ret, size_t align, size_t size);
void *valloc(size_t size);
void *pvalloc(size_t size);

void *
malloc(size_t size)
{
	count(size);
	if (tracing) {
		trace_pc(__builtin_return_address(0));
	}
	return track(__libc_malloc(size));
}

void *
calloc(size_t n, size_t size)
{
	count(n * size);
	if (tracing) {
		trace_pc(__builtin_return_address(0));
	}
	return track(__libc_calloc(n, size));
}

void *
realloc(void *p, size_t size)
{
	void *q;

	/* A realloc that moves or grows a block is an allocation too. */
	count(size);
	if (tracing) {
		trace_pc(__builtin_return_address(0));
	}
	untrack(p);
	q = __libc_realloc(p, size);
	if (!q && size) {
		track(p); /* the old block is still there */
		return NULL;
	}
	return track(q);
}

void
free(void *p)
{
	untrack(p);
	__libc_free(p);
}

void *
memalign(size_t align, size_t size)
{
	count(size);
	return track(__libc_memalign(align, size));
}

void *
aligned_alloc(size_t align, size_t size)
{
	count(size);
	return track(__libc_memalign(align, size));
}

int
posix_memalign(void **ret, size_t align, size_t size)
{
	void *p;

	if (align < sizeof(void *) || (align & (align - 1)) != 0) {
		return EINVAL;
	}
	count(size);
	p = track(__libc_memalign(align, size));
	if (!p && size) {
		return ENOMEM;
	}
	*ret = p;
	return 0;
}

void *
valloc(size_t size)
{
	count(size);
	return track(__libc_memalign(4096, size));
}

void *
pvalloc(size_t size)
{
	count(size);
	return track(__libc_memalign(4096, (size + 4095) & ~(size_t)4095));
}
