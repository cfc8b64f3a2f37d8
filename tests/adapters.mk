# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Event-loop adapters: header-only helpers that drive a context (created
# with a NULL loop) from a GLib, sd-event or libuv loop, and their tests.
# The headers are installed whatever configure found: they cost nothing
# until a program includes one. libhaq.so exports nothing for them (see
# tests/doc/symbols), and their documentation is the headers themselves and
# doc/guide.md: the section-3 pages cover include/haq/haq.h only.

haqinclude_HEADERS += include/haq/haq-glib.h include/haq/haq-sdevent.h \
	include/haq/haq-uv.h

# tests/check_adapters: one integration test program for the three loops
# (on the shared 3-node cluster, see tests/with-cluster), always built. It
# tests each loop configure found; a loop that is missing is a note, or,
# with --enable-adapter-tests (CI), a failure that names the package.
ADAPTER_TEST_CFLAGS =
ADAPTER_TEST_LIBS =
# Each header compiles alone, in C and in C++, and its attach and detach
# refuse NULL arguments with -EINVAL (no corosync needed).
ADAPTER_HEADER_TESTS =
if HAVE_GLIB
ADAPTER_TEST_CFLAGS += -DHAQ_TEST_GLIB=1 $(GLIB_CFLAGS)
ADAPTER_TEST_LIBS += $(GLIB_LIBS)
ADAPTER_HEADER_TESTS += tests/check_header_glib tests/check_header_glib_cxx
endif
if HAVE_SDEVENT
ADAPTER_TEST_CFLAGS += -DHAQ_TEST_SDEVENT=1 $(SYSTEMD_CFLAGS)
ADAPTER_TEST_LIBS += $(SYSTEMD_LIBS)
ADAPTER_HEADER_TESTS += tests/check_header_sdevent \
	tests/check_header_sdevent_cxx
endif
if HAVE_UV
ADAPTER_TEST_CFLAGS += -DHAQ_TEST_UV=1 $(UV_CFLAGS)
ADAPTER_TEST_LIBS += $(UV_LIBS)
ADAPTER_HEADER_TESTS += tests/check_header_uv tests/check_header_uv_cxx
endif
if REQUIRE_ADAPTER_TESTS
ADAPTER_TEST_CFLAGS += -DHAQ_REQUIRE_ADAPTER_TESTS=1
endif

check_PROGRAMS += tests/check_adapters $(ADAPTER_HEADER_TESTS)
TESTS += tests/check_adapters $(ADAPTER_HEADER_TESTS)
# Under memcheck too (make check-valgrind).
HARDENING_MEMCHECK_TESTS += tests/check_adapters

tests_check_adapters_SOURCES = tests/check_adapters.c tests/check_common.h
tests_check_adapters_CFLAGS = $(TEST_CFLAGS) $(ADAPTER_TEST_CFLAGS)
tests_check_adapters_LDADD = libhaq/libhaq.la $(TEST_LIBS) \
	$(ADAPTER_TEST_LIBS)

# One source per language, built once per header.
ADAPTER_HEADER_C = tests/check_adapter_header.c
ADAPTER_HEADER_CXX = tests/check_adapter_header_cxx.cc
ADAPTER_HEADER_CFLAGS = $(AM_CFLAGS) -Werror
ADAPTER_HEADER_CXXFLAGS = $(QB_CFLAGS) -Wall -Wextra -Werror
tests_check_header_glib_SOURCES = $(ADAPTER_HEADER_C)
tests_check_header_glib_CFLAGS = $(ADAPTER_HEADER_CFLAGS) -DHAQ_TEST_GLIB=1 \
	$(GLIB_CFLAGS)
tests_check_header_glib_LDADD = libhaq/libhaq.la $(GLIB_LIBS)
tests_check_header_glib_cxx_SOURCES = $(ADAPTER_HEADER_CXX)
tests_check_header_glib_cxx_CXXFLAGS = $(ADAPTER_HEADER_CXXFLAGS) \
	-DHAQ_TEST_GLIB=1 $(GLIB_CFLAGS)
tests_check_header_glib_cxx_LDADD = libhaq/libhaq.la $(GLIB_LIBS)
tests_check_header_sdevent_SOURCES = $(ADAPTER_HEADER_C)
tests_check_header_sdevent_CFLAGS = $(ADAPTER_HEADER_CFLAGS) \
	-DHAQ_TEST_SDEVENT=1 $(SYSTEMD_CFLAGS)
tests_check_header_sdevent_LDADD = libhaq/libhaq.la $(SYSTEMD_LIBS)
tests_check_header_sdevent_cxx_SOURCES = $(ADAPTER_HEADER_CXX)
tests_check_header_sdevent_cxx_CXXFLAGS = $(ADAPTER_HEADER_CXXFLAGS) \
	-DHAQ_TEST_SDEVENT=1 $(SYSTEMD_CFLAGS)
tests_check_header_sdevent_cxx_LDADD = libhaq/libhaq.la $(SYSTEMD_LIBS)
tests_check_header_uv_SOURCES = $(ADAPTER_HEADER_C)
tests_check_header_uv_CFLAGS = $(ADAPTER_HEADER_CFLAGS) -DHAQ_TEST_UV=1 \
	$(UV_CFLAGS)
tests_check_header_uv_LDADD = libhaq/libhaq.la $(UV_LIBS)
tests_check_header_uv_cxx_SOURCES = $(ADAPTER_HEADER_CXX)
tests_check_header_uv_cxx_CXXFLAGS = $(ADAPTER_HEADER_CXXFLAGS) \
	-DHAQ_TEST_UV=1 $(UV_CFLAGS)
tests_check_header_uv_cxx_LDADD = libhaq/libhaq.la $(UV_LIBS)

# A distribution tarball carries every header test's source, even those
# this configure does not build.
EXTRA_DIST += $(ADAPTER_HEADER_C) $(ADAPTER_HEADER_CXX)
