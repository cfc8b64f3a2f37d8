# SPDX-License-Identifier: LGPL-2.1-or-later
# Hardening: API misuse tests, valgrind, sanitizers, fuzzing, encrypted
# clusters, access control and leftover-resource checks. Scripts and helper
# programs live in tests/hardening/ (see tests/hardening/README.md).

# ---------------------------------------------------------------- misuse
# Runs on the shared cluster (HAQ_CLUSTER_DIR) and starts a private 2-node
# cluster of its own for the tests that stop or kill corosync.
check_PROGRAMS += tests/check_misuse
TESTS += tests/check_misuse
tests_check_misuse_SOURCES = tests/check_misuse.c tests/check_common.h
tests_check_misuse_CFLAGS = $(TEST_CFLAGS)
tests_check_misuse_LDADD = libhaq/libhaq.la $(TEST_LIBS)

# --------------------------------------------------------------- fuzzing
# The libFuzzer targets, replayed over their whole corpus (seeds and kept
# crash inputs) with the ordinary compiler: regressions fail "make check".
# tests/hardening/run-fuzz SECONDS fuzzes them with clang.
HARDENING_REPLAY = tests/hardening/fuzz_wire_replay \
	tests/hardening/fuzz_election_replay tests/hardening/fuzz_xfer_replay \
	tests/hardening/fuzz_bundle_replay \
	tests/hardening/fuzz_compress_replay tests/hardening/fuzz_rr_replay \
	tests/hardening/fuzz_lock_replay
check_PROGRAMS += $(HARDENING_REPLAY)
TESTS += $(HARDENING_REPLAY)
tests_hardening_fuzz_wire_replay_SOURCES = tests/hardening/fuzz-replay.c \
	tests/fuzz_wire.c libhaq/wire.c libhaq/bundle.c
tests_hardening_fuzz_wire_replay_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS='"$(abs_top_srcdir)/tests/fuzz-corpus/wire"'
tests_hardening_fuzz_bundle_replay_SOURCES = \
	tests/hardening/fuzz-replay.c tests/hardening/fuzz_bundle.c \
	libhaq/bundle.c libhaq/wire.c
tests_hardening_fuzz_bundle_replay_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS='"$(abs_top_srcdir)/tests/fuzz-corpus/bundle"'
tests_hardening_fuzz_compress_replay_SOURCES = \
	tests/hardening/fuzz-replay.c tests/hardening/fuzz_compress.c \
	libhaq/compress.c
tests_hardening_fuzz_compress_replay_CPPFLAGS = $(AM_CPPFLAGS) \
	$(LZ4_CFLAGS) \
	-DFUZZ_CORPUS='"$(abs_top_srcdir)/tests/fuzz-corpus/compress"'
tests_hardening_fuzz_compress_replay_LDADD = $(LZ4_LIBS)
tests_hardening_fuzz_election_replay_SOURCES = \
	tests/hardening/fuzz-replay.c tests/hardening/fuzz_election.c \
	libhaq/election.c
tests_hardening_fuzz_election_replay_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS='"$(abs_top_srcdir)/tests/fuzz-corpus/election"'
tests_hardening_fuzz_xfer_replay_SOURCES = tests/hardening/fuzz-replay.c \
	tests/hardening/fuzz_xfer.c tests/xfer_sim.h libhaq/xfer.c
tests_hardening_fuzz_xfer_replay_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS='"$(abs_top_srcdir)/tests/fuzz-corpus/xfer"'
tests_hardening_fuzz_rr_replay_SOURCES = \
	tests/hardening/fuzz-replay.c tests/hardening/fuzz_rr.c libhaq/rr.c
tests_hardening_fuzz_rr_replay_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS='"$(abs_top_srcdir)/tests/fuzz-corpus/rr"'
tests_hardening_fuzz_lock_replay_SOURCES = \
	tests/hardening/fuzz-replay.c tests/hardening/fuzz_lock.c libhaq/lock.c
tests_hardening_fuzz_lock_replay_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS='"$(abs_top_srcdir)/tests/fuzz-corpus/lock"'

# ---------------------------------------------------------------- valgrind
# The unit tests and the integration tests that share the 3-node cluster,
# under memcheck: zero errors and zero definite or indirect leaks, or fail.
# Uses HAQ_CLUSTER_DIR when set, else starts one cluster for the whole run.
HARDENING_MEMCHECK_TESTS = $(UNIT_TESTS) $(HARDENING_REPLAY) \
	tests/check_ctx tests/check_group tests/check_leader tests/check_config \
	tests/check_misuse tests/check_inject tests/check_state \
	tests/check_reqrep tests/check_locks

check-valgrind: libhaq/libhaq.la $(HARDENING_MEMCHECK_TESTS)
if HAVE_VALGRIND
	$(AM_V_at)HAQ_CLUSTER=$(abs_top_srcdir)/tests/harness/haq-cluster \
		$(top_srcdir)/tests/hardening/run-suite --mode valgrind \
		--valgrind $(VALGRIND) --builddir $(abs_top_builddir) \
		--logdir $(abs_top_builddir)/tests/hardening-logs/valgrind \
		$(HARDENING_MEMCHECK_TESTS)
else
	@echo "check-valgrind: valgrind was not found by configure" >&2; exit 1
endif
.PHONY: check-valgrind

# ------------------------------------------------------------ access control
# tests/hardening/run-access: -EACCES for a user corosync does not allow,
# uidgid entries, and -EPERM for a corosync that does not run as root.
# Linked without a libtool wrapper (-no-install): it runs as another user.
check_PROGRAMS += tests/hardening/haq-access-probe
tests_hardening_haq_access_probe_SOURCES = tests/hardening/haq-access-probe.c
tests_hardening_haq_access_probe_LDADD = libhaq/libhaq.la $(QB_LIBS)
tests_hardening_haq_access_probe_LDFLAGS = $(AM_LDFLAGS) -no-install

check-access: tests/hardening/haq-access-probe
	$(AM_V_at)HAQ_CLUSTER=$(abs_top_srcdir)/tests/harness/haq-cluster \
		$(top_srcdir)/tests/hardening/run-access \
		--builddir $(abs_top_builddir)
.PHONY: check-access

# ------------------------------------------------------------ encryption
# tests/hardening/run-crypto: the shared-cluster tests on an encrypted
# cluster, then check_crypto (a node with a wrong authkey stays out).
check_PROGRAMS += tests/hardening/check_crypto
tests_hardening_check_crypto_SOURCES = tests/hardening/check_crypto.c \
	tests/check_common.h
tests_hardening_check_crypto_CFLAGS = $(TEST_CFLAGS)
tests_hardening_check_crypto_LDADD = libhaq/libhaq.la $(TEST_LIBS)

check-crypto: tests/check_ctx tests/check_group tests/check_config \
		tests/check_misuse tests/hardening/check_crypto
	$(AM_V_at)HAQ_CLUSTER=$(abs_top_srcdir)/tests/harness/haq-cluster \
		$(top_srcdir)/tests/hardening/run-crypto \
		--builddir $(abs_top_builddir)
.PHONY: check-crypto

# ------------------------------------------------ sanitizers, fuzzing, all
# Out-of-tree ASan+UBSan build in a temporary directory (the source tree is
# never written to), running the unit and shared-cluster tests there.
check-sanitized:
	$(AM_V_at)HAQ_CLUSTER=$(abs_top_srcdir)/tests/harness/haq-cluster \
		$(top_srcdir)/tests/hardening/run-sanitized
.PHONY: check-sanitized

# clang -fsanitize=fuzzer,address,undefined, HARDENING_FUZZ_SECONDS in all.
HARDENING_FUZZ_SECONDS = 60
check-fuzz:
	$(AM_V_at)$(top_srcdir)/tests/hardening/run-fuzz \
		$(HARDENING_FUZZ_SECONDS)
.PHONY: check-fuzz

# Everything above, under the leftover-resource check (make -k: one
# failure does not hide the others).
check-hardening:
	$(AM_V_at)$(top_srcdir)/tests/hardening/check-resources -- \
		$(MAKE) $(AM_MAKEFLAGS) -k check-valgrind check-sanitized \
		check-fuzz check-crypto check-access
.PHONY: check-hardening

# Scripts and data (the C sources are distributed as _SOURCES).
EXTRA_DIST += tests/hardening/README.md \
	tests/hardening/run-suite tests/hardening/run-sanitized \
	tests/hardening/run-fuzz tests/hardening/run-crypto \
	tests/hardening/run-access tests/hardening/check-resources \
	tests/hardening/valgrind.supp tests/hardening/lsan.supp
