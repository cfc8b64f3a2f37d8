/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HAQ_BENCH_MALLOC_COUNT_H
#define HAQ_BENCH_MALLOC_COUNT_H

#include <stdint.h>
#include <stdio.h>

/* Heap allocations made by the whole process so far (malloc-count.c). */
uint64_t bench_alloc_count(void);
/* Bytes requested by those allocations. */
uint64_t bench_alloc_bytes(void);
/* Heap bytes in use now (usable sizes). */
uint64_t bench_heap_live(void);
/* Highest heap use since the start or the last reset. */
uint64_t bench_heap_peak(void);
/* Start a new high-water mark from the current use. */
void bench_heap_peak_reset(void);
/* Count the callers of allocations while on (HAQ_BENCH_ALLOC_TRACE=1). */
void bench_alloc_trace(int on);
/* Print the callers counted, one "alloc-trace COUNT OBJECT+OFFSET" line. */
void bench_alloc_trace_report(FILE *f);

#endif
