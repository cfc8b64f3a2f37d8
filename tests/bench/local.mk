# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Benchmarks (issue 4): libhaq against a plain libcpg client on a real
# corosync cluster. "make" builds the benchmark; "make check" does not run
# it; "make bench" runs it (root: it starts clusters with the harness) and
# writes doc/performance.md. BENCH_ARGS=--quick for a short run.

# The top-level Makefile.am sets no noinst_PROGRAMS, and automake refuses
# "+=" on a variable never set: the benchmark is an EXTRA_PROGRAMS entry
# that "all" builds through all-local (a prerequisite-only rule, which merges
# with any other fragment's all-local).
EXTRA_PROGRAMS = tests/bench/haq-bench tests/bench/haq-state-bench \
	tests/bench/haq-rr-bench tests/bench/haq-lock-bench
all-local: tests/bench/haq-bench$(EXEEXT) tests/bench/haq-state-bench$(EXEEXT) \
	tests/bench/haq-rr-bench$(EXEEXT) tests/bench/haq-lock-bench$(EXEEXT)
tests_bench_haq_lock_bench_SOURCES = tests/bench/haq-lock-bench.c
tests_bench_haq_lock_bench_LDADD = libhaq/libhaq.la
tests_bench_haq_lock_bench_LDFLAGS = $(AM_LDFLAGS) -no-install
tests_bench_haq_rr_bench_SOURCES = tests/bench/haq-rr-bench.c
tests_bench_haq_rr_bench_LDADD = libhaq/libhaq.la
tests_bench_haq_rr_bench_LDFLAGS = $(AM_LDFLAGS) -no-install
tests_bench_haq_state_bench_SOURCES = tests/bench/haq-state-bench.c
tests_bench_haq_state_bench_LDADD = libhaq/libhaq.la
tests_bench_haq_state_bench_LDFLAGS = $(AM_LDFLAGS) -no-install
tests_bench_haq_bench_SOURCES = tests/bench/haq-bench.c \
	tests/bench/malloc-count.c tests/bench/malloc-count.h
tests_bench_haq_bench_CFLAGS = $(AM_CFLAGS) $(CPG_CFLAGS)
tests_bench_haq_bench_LDADD = libhaq/libhaq.la $(CPG_LIBS) $(QB_LIBS)
# A real executable with the build tree in its run path (no libtool wrapper
# script), so valgrind and strace see the benchmark itself.
tests_bench_haq_bench_LDFLAGS = $(AM_LDFLAGS) -no-install

EXTRA_DIST += tests/bench/run-bench tests/bench/run-state-bench \
	tests/bench/codec-bench.c tests/bench/run-rr-bench \
	tests/bench/run-lock-bench tests/bench/README.md

BENCH_ARGS =
.PHONY: bench
bench: tests/bench/haq-bench$(EXEEXT)
	$(abs_top_srcdir)/tests/bench/run-bench \
		--bench $(abs_top_builddir)/tests/bench/haq-bench \
		--harness $(abs_top_srcdir)/tests/harness/haq-cluster \
		--doc $(abs_top_srcdir)/doc $(BENCH_ARGS)
	$(MAKE) $(AM_MAKEFLAGS) bench-state bench-rr bench-lock

# State transfer (issue 13): doc/performance-state.md.
STATE_BENCH_ARGS =
.PHONY: bench-state
bench-state: tests/bench/haq-bench$(EXEEXT) tests/bench/haq-state-bench$(EXEEXT)
	$(abs_top_srcdir)/tests/bench/run-state-bench \
		--bench-dir $(abs_top_builddir)/tests/bench \
		--harness $(abs_top_srcdir)/tests/harness/haq-cluster \
		--out $(abs_top_srcdir)/doc/performance-state.md $(STATE_BENCH_ARGS)

# Request/reply (issue 15): doc/performance-rr.md.
RR_BENCH_ARGS =
.PHONY: bench-rr
bench-rr: tests/bench/haq-rr-bench$(EXEEXT)
	$(abs_top_srcdir)/tests/bench/run-rr-bench \
		--bench-dir $(abs_top_builddir)/tests/bench \
		--harness $(abs_top_srcdir)/tests/harness/haq-cluster \
		--out $(abs_top_srcdir)/doc/performance-rr.md $(RR_BENCH_ARGS)

# Locks: doc/performance-locks.md (its measured part; the analysis below
# it is written by hand).
LOCK_BENCH_ARGS =
.PHONY: bench-lock
bench-lock: tests/bench/haq-lock-bench$(EXEEXT)
	$(abs_top_srcdir)/tests/bench/run-lock-bench \
		--bench-dir $(abs_top_builddir)/tests/bench \
		--harness $(abs_top_srcdir)/tests/harness/haq-cluster \
		--out $(abs_top_builddir)/tests/bench/performance-locks-measured.md \
		$(LOCK_BENCH_ARGS)

# EXTRA_PROGRAMS are not removed by "make clean" on their own.
clean-local: clean-bench
.PHONY: clean-bench
clean-bench:
	-rm -f tests/bench/haq-bench$(EXEEXT) tests/bench/haq-state-bench$(EXEEXT) \
		tests/bench/haq-rr-bench$(EXEEXT) tests/bench/haq-lock-bench$(EXEEXT) \
		tests/bench/performance-locks-measured.md
