#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Cold start, twice: every corosync of the cluster is stopped, then all
# corosyncs and all probes are started at the same moment, so the members
# meet while the ring forms (one node, two, then three, or all at once).
# Exactly one leader must come out of each start, with no two leaders at
# any moment, and the second start's epoch must be above the first's (after
# a cold start the epoch comes from the wall clock). The time from the
# start to the first promotion is printed.
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh disable=SC2016,SC2046
. "$(dirname "$0")/fault-lib.sh"
fault_main 3 200 "$@"

read_totem_timing 1
cold_start() { # SUFFIX: probes 1SUFFIX..3SUFFIX
	local k pids=()
	say "stopping every corosync"
	"$H" stop 1 2 3
	fault_mark "cold start: 3 corosyncs and 3 probes at once"
	for k in 1 2 3; do
		"$H" start-node "$k" >"$LOGDIR/start-node-$k$1.out" 2>&1 &
		pids+=($!)
	done
	for k in 1 2 3; do
		probe_start "$k$1" "$k" --connect-timeout 60
	done
	for k in "${pids[@]}"; do
		wait "$k" || fail "a corosync did not start (start-node-*$1.out)"
	done
	wait_until 40 "3-member views everywhere" \
		all_views_are 3 "1$1" "2$1" "3$1"
	wait_until 30 "one leader everywhere" one_leader "1$1" "2$1" "3$1"
	let_traffic_flow 100 "1$1" "2$1" "3$1"
}

cold_start ""
probe_stop_all
cold_start b
probe_stop_all
CHECK_ARGS=(--no-failback --expect-leaderships 2)
run_checker
