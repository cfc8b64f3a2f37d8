# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Documentation (issue 6): section-3 man pages generated from the doxygen
# comments of include/haq/haq.h, the libhaq(3) overview, the section-1 pages
# of the programs, the guides, the haq-status program, and the checks that
# keep the pages, the header, the export map and the library in step.
#
# This fragment is included before the other fragments, and automake refuses
# "+=" on a variable that was never set with "=": so the variables below that
# the top-level Makefile.am does not set (man3_MANS, dist_man_MANS,
# dist_doc_DATA, CLEANFILES) are set here with "=", and a later fragment
# appends to them with "+=".

# ----------------------------------------------------- section-3 man pages
# One page per public function, type, callback and enum of the header, plus
# libhaq(3). They are build output (doc/man3/ in the build tree, never in
# git). A function added to the header needs its page added here:
# tests/doc/man-coverage fails and says so until it is. The list is what
# "doc/haq-man.py --list" prints.
HAQ_MAN3 = \
	doc/man3/haq_config_cluster_name.3 \
	doc/man3/haq_config_event.3 \
	doc/man3/haq_config_fn.3 \
	doc/man3/haq_config_get_string.3 \
	doc/man3/haq_config_get_u32.3 \
	doc/man3/haq_config_get_u64.3 \
	doc/man3/haq_config_nodelist.3 \
	doc/man3/haq_config_track.3 \
	doc/man3/haq_config_untrack.3 \
	doc/man3/haq_connection_fn.3 \
	doc/man3/haq_ctx_dispatch.3 \
	doc/man3/haq_ctx_fd.3 \
	doc/man3/haq_ctx_flags.3 \
	doc/man3/haq_ctx_free.3 \
	doc/man3/haq_ctx_groups.3 \
	doc/man3/haq_ctx_local_nodeid.3 \
	doc/man3/haq_ctx_new.3 \
	doc/man3/haq_ctx_new_flags.3 \
	doc/man3/haq_ctx_run.3 \
	doc/man3/haq_ctx_set_connection_cb.3 \
	doc/man3/haq_ctx_set_log.3 \
	doc/man3/haq_ctx_set_quorum_cb.3 \
	doc/man3/haq_ctx_stop.3 \
	doc/man3/haq_ctx_t.3 \
	doc/man3/haq_group_counter.3 \
	doc/man3/haq_group_ctx.3 \
	doc/man3/haq_group_join.3 \
	doc/man3/haq_group_leader.3 \
	doc/man3/haq_group_leader_state.3 \
	doc/man3/haq_group_leader_timing.3 \
	doc/man3/haq_group_lease.3 \
	doc/man3/haq_group_leave.3 \
	doc/man3/haq_group_lock.3 \
	doc/man3/haq_group_lock_held.3 \
	doc/man3/haq_group_name.3 \
	doc/man3/haq_group_next_id.3 \
	doc/man3/haq_group_queued.3 \
	doc/man3/haq_group_reply.3 \
	doc/man3/haq_group_request.3 \
	doc/man3/haq_group_request_cancel.3 \
	doc/man3/haq_group_resign.3 \
	doc/man3/haq_group_send.3 \
	doc/man3/haq_group_send_zc.3 \
	doc/man3/haq_group_sendv.3 \
	doc/man3/haq_group_set_bundle.3 \
	doc/man3/haq_group_set_compress.3 \
	doc/man3/haq_group_set_eligible.3 \
	doc/man3/haq_group_set_leader_cb.3 \
	doc/man3/haq_group_set_lock_cb.3 \
	doc/man3/haq_group_set_max_message.3 \
	doc/man3/haq_group_set_message_cb.3 \
	doc/man3/haq_group_set_queue_limit.3 \
	doc/man3/haq_group_set_request_cbs.3 \
	doc/man3/haq_group_set_send_failed_cb.3 \
	doc/man3/haq_group_set_state_cbs.3 \
	doc/man3/haq_group_set_uncertain_cb.3 \
	doc/man3/haq_group_set_view_cb.3 \
	doc/man3/haq_group_set_writable_cb.3 \
	doc/man3/haq_group_state_end.3 \
	doc/man3/haq_group_state_held.3 \
	doc/man3/haq_group_state_limit.3 \
	doc/man3/haq_group_state_write.3 \
	doc/man3/haq_group_t.3 \
	doc/man3/haq_group_unlock.3 \
	doc/man3/haq_group_view.3 \
	doc/man3/haq_grouplist_count.3 \
	doc/man3/haq_grouplist_free.3 \
	doc/man3/haq_grouplist_member.3 \
	doc/man3/haq_grouplist_member_count.3 \
	doc/man3/haq_grouplist_name.3 \
	doc/man3/haq_grouplist_t.3 \
	doc/man3/haq_leader_fn.3 \
	doc/man3/haq_leader_state.3 \
	doc/man3/haq_lock_fn.3 \
	doc/man3/haq_log_fn.3 \
	doc/man3/haq_log_priority.3 \
	doc/man3/haq_message_fn.3 \
	doc/man3/haq_nodelist_addr.3 \
	doc/man3/haq_nodelist_addr_count.3 \
	doc/man3/haq_nodelist_count.3 \
	doc/man3/haq_nodelist_free.3 \
	doc/man3/haq_nodelist_node.3 \
	doc/man3/haq_nodelist_t.3 \
	doc/man3/haq_quorum_fn.3 \
	doc/man3/haq_quorum_get.3 \
	doc/man3/haq_quorum_node.3 \
	doc/man3/haq_quorum_node_count.3 \
	doc/man3/haq_quorum_quorate.3 \
	doc/man3/haq_quorum_ring.3 \
	doc/man3/haq_quorum_t.3 \
	doc/man3/haq_quorum_votes.3 \
	doc/man3/haq_reason.3 \
	doc/man3/haq_reason_str.3 \
	doc/man3/haq_release_fn.3 \
	doc/man3/haq_reply_fn.3 \
	doc/man3/haq_request_cancel_fn.3 \
	doc/man3/haq_request_fn.3 \
	doc/man3/haq_request_mode.3 \
	doc/man3/haq_send_failed_fn.3 \
	doc/man3/haq_state_chunk_fn.3 \
	doc/man3/haq_state_limit.3 \
	doc/man3/haq_state_provide_fn.3 \
	doc/man3/haq_state_role.3 \
	doc/man3/haq_state_status.3 \
	doc/man3/haq_state_status_fn.3 \
	doc/man3/haq_state_writable_fn.3 \
	doc/man3/haq_strerror.3 \
	doc/man3/haq_uncertain_fn.3 \
	doc/man3/haq_version.3 \
	doc/man3/haq_version_string.3 \
	doc/man3/haq_view_fn.3 \
	doc/man3/haq_view_joined.3 \
	doc/man3/haq_view_joined_count.3 \
	doc/man3/haq_view_left.3 \
	doc/man3/haq_view_left_count.3 \
	doc/man3/haq_view_member.3 \
	doc/man3/haq_view_member_count.3 \
	doc/man3/haq_view_quorate.3 \
	doc/man3/haq_view_ring.3 \
	doc/man3/haq_view_seq.3 \
	doc/man3/haq_view_t.3 \
	doc/man3/haq_writable_fn.3 \
	doc/man3/libhaq.3

man3_MANS = $(HAQ_MAN3)

# The generator needs only python3 (no doxygen): see the comment at the top
# of doc/haq-man.py for why libqb's doxygen2man is not used.
HAQ_DOC_PY3 = python3
HAQ_MAN_GEN = $(top_srcdir)/doc/haq-man.py
HAQ_MAN_INPUTS = $(HAQ_MAN_GEN) $(top_srcdir)/include/haq/haq.h \
	$(top_srcdir)/libhaq/error.c $(top_srcdir)/doc/libhaq.3.in

# One run writes every page; the stamp stands for all of them. It also
# writes doc/man3.list, the pages this Makefile installs, which
# tests/doc/man-coverage compares with the library and the header.
doc/man3.stamp: $(HAQ_MAN_INPUTS) Makefile
	$(AM_V_GEN)$(MKDIR_P) doc/man3 && \
	$(HAQ_DOC_PY3) $(HAQ_MAN_GEN) --header $(top_srcdir)/include/haq/haq.h \
		--errors $(top_srcdir)/libhaq/error.c \
		--overview $(top_srcdir)/doc/libhaq.3.in \
		--outdir doc/man3 --version $(PACKAGE_VERSION) && \
	for p in $(HAQ_MAN3); do echo "$${p##*/}"; done >doc/man3.list && \
	touch $@

# A page that is missing although the stamp is newer (deleted by hand) is
# made again; one the generator does not make names no item of the header.
$(HAQ_MAN3): doc/man3.stamp
	@test -f $@ || { rm -f doc/man3.stamp && \
		$(MAKE) $(AM_MAKEFLAGS) doc/man3.stamp; }
	@test -f $@ || { echo "$@: include/haq/haq.h has no such item:" \
		"remove the page from HAQ_MAN3 in doc/local.mk" >&2; exit 1; }

# --------------------------------------------------------- programs
bin_PROGRAMS += examples/haq-status
examples_haq_status_SOURCES = examples/haq-status.c
examples_haq_status_LDADD = libhaq/libhaq.la $(QB_LIBS)

# Section-1 pages, written by hand.
dist_man_MANS = doc/haq-status.1 doc/haq-chat.1 doc/haq-leader.1 \
	doc/haq-kv.1 doc/haq-lock.1

# Guides, installed in $(docdir).
dist_doc_DATA = doc/guide.md doc/errors.md

# ------------------------------------------------------------ checks
# man-coverage: every exported symbol and every type of the header has an
#   installed page whose SYNOPSIS agrees with the header.
# symbols: exported symbols == libhaq/libhaq.sym == the header's functions.
# guides: the program in doc/guide.md builds; doc/errors.md has exactly the
#   error codes of the header and haq_strerror(), with its real texts.
# defaults: every value the docs (libhaq(3), errors.md, guide.md, the
#   README, the section-1 pages, the header's comments) state for a
#   numeric constant of the header (HAQ_QUEUE_LIMIT_DEFAULT, ...) is the
#   value the header defines.
# installed-use: make install DESTDIR=..., then build and run a program
#   against the installed tree with nothing but pkg-config.
# haq-status: the program on a 3-node harness cluster, text and JSON.
# api-coverage: every exported function has an invalid-argument case in
#   tests/check_misuse.c (BAD_ARG*), and every context and group entry
#   point is tried in its forked child (CHILD_* in fork_child_calls()).
HAQ_DOC_TESTS = tests/doc/man-coverage tests/doc/symbols tests/doc/guides \
	tests/doc/defaults tests/doc/installed-use tests/doc/haq-status \
	tests/doc/api-coverage
TESTS += $(HAQ_DOC_TESTS)
# A group member for the haq-status test to show.
check_PROGRAMS += tests/doc/group-member
tests_doc_group_member_SOURCES = tests/doc/group-member.c
tests_doc_group_member_LDADD = libhaq/libhaq.la $(QB_LIBS)
# The tests run from the top build directory; automake exports srcdir.
AM_TESTS_ENVIRONMENT += HAQ_DOC_CC='$(CC)'; HAQ_DOC_MAKE='$(MAKE)'; \
	export HAQ_DOC_CC HAQ_DOC_MAKE;

EXTRA_DIST += doc/haq-man.py doc/libhaq.3.in $(HAQ_DOC_TESTS) \
	tests/doc/installed-prog.c tests/doc/lib.sh

CLEANFILES = $(HAQ_MAN3) doc/man3.stamp doc/man3.list
