#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# State transfer after a heal: three probes hold the replicated state and
# update it; node 3 is isolated and both sides go on updating (nodes 1
# and 2, quorate, and node 3 alone, which still holds its state and
# applies its own updates). At the heal the sides' states differ: the
# quorate side's state replaces node 3's ("state replace"), and every
# probe ends with the same state, equal to the agreed stream applied to
# the seed; node 3's updates of the split are in no final state.
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh disable=SC2016,SC2046
. "$(dirname "$0")/fault-lib.sh"
fault_main 3 120 "$@"

state_probes_start 3
let_traffic_flow 100 1 2 3

fault_mark "isolate node 3"
"$H" isolate 3
wait_until 20 "node 3 alone, 1 and 2 together" \
	eval 'all_views_are 2 1 2 && view_size_is 3 1'
holds 3 || fail "probe 3 lost its state when it was cut off"
say "updates on both sides"
let_traffic_flow 200 1 2 3

fault_mark "heal node 3"
"$H" heal 3
wait_until 20 "3-member views everywhere" all_views_are 3 1 2 3
wait_until 30 "probe 3 to hold the replaced state" \
	eval "log_has 3 ' state replace ' && all_hold 1 2 3"
for l in 1 2; do
	[[ $(count_state "$l" 'replace ') == 0 ]] ||
		fail "probe $l (quorate side) had its state replaced"
done
let_traffic_flow 100 1 2 3

state_stop_all
run_checker
