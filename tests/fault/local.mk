# SPDX-License-Identifier: LGPL-2.1-or-later
# Fault-injection proof of the guarantees (issue 3): a probe program on
# libhaq, a log checker with its own tests, fault scenarios on harness
# clusters of their own, a failover benchmark, and raw libcpg programs that
# send garbage or time corosync's own membership changes.
# See tests/fault/README.md.

FAULT_BINS = tests/fault/haq-probe tests/fault/raw-garbage \
	tests/fault/raw-totem
check_PROGRAMS += $(FAULT_BINS)

tests_fault_haq_probe_SOURCES = tests/fault/haq-probe.c
tests_fault_haq_probe_CFLAGS = $(AM_CFLAGS)
tests_fault_haq_probe_LDADD = libhaq/libhaq.la $(QB_LIBS)

# The raw programs link libcpg directly: no libhaq in between.
tests_fault_raw_garbage_SOURCES = tests/fault/raw-garbage.c
tests_fault_raw_garbage_CFLAGS = $(AM_CFLAGS) $(CPG_CFLAGS)
tests_fault_raw_garbage_LDADD = $(CPG_LIBS)
tests_fault_raw_totem_SOURCES = tests/fault/raw-totem.c
tests_fault_raw_totem_CFLAGS = $(AM_CFLAGS) $(CPG_CFLAGS)
tests_fault_raw_totem_LDADD = $(CPG_LIBS)

# The checker's own tests: hand-made logs, good and broken.
FAULT_UNIT_TESTS = tests/fault/check-logs-selftest.sh
# Each starts a cluster of its own: 3 nodes (5 for the 2-2-1 split);
# 7 to 45 s each on 2 cores, about four minutes in all.
FAULT_TESTS = \
	tests/fault/fault-partition-heal.sh \
	tests/fault/fault-leader-partition.sh \
	tests/fault/fault-leader-flap.sh \
	tests/fault/fault-leader-resign.sh \
	tests/fault/fault-leader-rotate.sh \
	tests/fault/fault-cold-start.sh \
	tests/fault/fault-corosync-kill.sh \
	tests/fault/fault-corosync-restart.sh \
	tests/fault/fault-corosync-pause.sh \
	tests/fault/fault-probe-kill.sh \
	tests/fault/fault-garbage.sh \
	tests/fault/fault-big-join.sh \
	tests/fault/fault-big-stream.sh \
	tests/fault/fault-split-221.sh \
	tests/fault/fault-leader-agent.sh \
	tests/fault/fault-bundle-flood.sh \
	$(FAULT_STATE_TESTS) \
	$(FAULT_LOCK_CHECK_TESTS)
# State transfer (issue 13), probes with a replicated state under load;
# 10 to 30 s each, about 2.5 minutes in all.
FAULT_STATE_TESTS = \
	tests/fault/fault-state-join.sh \
	tests/fault/fault-state-two-joins.sh \
	tests/fault/fault-state-provider-kill.sh \
	tests/fault/fault-state-partition.sh \
	tests/fault/fault-state-heal.sh \
	tests/fault/fault-state-corosync-restart.sh \
	tests/fault/fault-state-overflow.sh
# Locks (lock churn from every node, every holding checked for overlap;
# make check-fault-lock): 30 to 90 s each. Only the holder's kill and
# isolation are in the default set (CI's time budget); the corosync pause
# and the 5-node 2-2-1 split run with make check-fault-lock.
FAULT_LOCK_CHECK_TESTS = \
	tests/fault/fault-lock-holder-kill.sh \
	tests/fault/fault-lock-holder-isolate.sh
FAULT_LOCK_TESTS = $(FAULT_LOCK_CHECK_TESTS) \
	tests/fault/fault-lock-holder-pause.sh \
	tests/fault/fault-lock-split-221.sh
# Longer (make check-fault-long): a 5-node cluster through a series of
# faults of every kind, one after another.
FAULT_LONG_TESTS = tests/fault/fault-soak.sh

TESTS += $(FAULT_UNIT_TESTS) $(FAULT_TESTS)

EXTRA_DIST += tests/fault/README.md tests/fault/haq-check-logs \
	tests/fault/fault-lib.sh tests/fault/bench-failover.sh \
	$(FAULT_UNIT_TESTS) $(FAULT_TESTS) $(FAULT_LOCK_TESTS) \
	$(FAULT_LONG_TESTS) \
	tests/fault/testlogs tests/fault/LIBRARY-BUGS.txt

# Only the fault scenarios (and the checker's tests), building only what
# they need.
check-fault: $(FAULT_BINS) examples/haq-leader
	$(MAKE) $(AM_MAKEFLAGS) check-TESTS \
		TESTS="$(FAULT_UNIT_TESTS) $(FAULT_TESTS)"

# Only the state transfer scenarios (and the checker's tests).
check-fault-state: $(FAULT_BINS)
	$(MAKE) $(AM_MAKEFLAGS) check-TESTS \
		TESTS="$(FAULT_UNIT_TESTS) $(FAULT_STATE_TESTS)"

# The lock scenarios not in the default set still need automake's .log
# rules: listed under a conditional that is never true.
if HAQ_NEVER
TESTS += $(FAULT_LOCK_TESTS)
endif

# Only the lock scenarios (and the checker's tests).
check-fault-lock: $(FAULT_BINS)
	$(MAKE) $(AM_MAKEFLAGS) check-TESTS \
		TESTS="$(FAULT_UNIT_TESTS) $(FAULT_LOCK_TESTS)"

# Not in TESTS (so no harness rule exists for it): run directly; the
# output is also kept in tests/fault/logs/.
check-fault-long: $(FAULT_BINS)
	@mkdir -p tests/fault/logs
	@for t in $(FAULT_LONG_TESTS); do \
	  out=tests/fault/logs/`basename $$t .sh`.out; \
	  { $(AM_TESTS_ENVIRONMENT) \
	    HAQ_FAULT_BUILDDIR=$(abs_top_builddir)/tests/fault \
	    $(srcdir)/$$t; echo $$? >$$out.rc; } 2>&1 | tee $$out; \
	  rc=`cat $$out.rc`; rm -f $$out.rc; \
	  if test "$$rc" -ne 0; then echo "FAIL: $$t"; exit 1; fi; \
	  echo "PASS: $$t"; \
	done

# Not a test: time from isolating the leader's node to the new leader's
# callback on the majority side, beside corosync's own membership change.
# BENCH_REPS=N sets the repetitions (default 7).
bench-failover: $(FAULT_BINS)
	HAQ_CLUSTER=$(abs_top_srcdir)/tests/harness/haq-cluster \
	HAQ_FAULT_BUILDDIR=$(abs_top_builddir)/tests/fault \
		$(top_srcdir)/tests/fault/bench-failover.sh

clean-local: clean-local-fault
clean-local-fault:
	-rm -rf tests/fault/logs

.PHONY: check-fault check-fault-state check-fault-lock check-fault-long bench-failover clean-local-fault
