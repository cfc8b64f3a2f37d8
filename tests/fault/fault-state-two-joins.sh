#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# State transfer, two joins at once, twice, under load: probe 1 holds the
# replicated state and updates it.
# 1. probes 2 and 3 start at the same moment on nodes 2 and 3: both
#    receive the state (in one transfer when both joined before the cut,
#    else one after the other).
# 2. while a slow transfer to probe 4 (node 2) runs, probes 5 and 6 join
#    at once (nodes 3 and 1): they must share the next transfer, one
#    multicast stream for both.
# Every probe ends with the same state, equal to the agreed stream applied
# to the seed.
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh disable=SC2016,SC2046
. "$(dirname "$0")/fault-lib.sh"
fault_main 3 120 "$@"

state_probes_start 1
let_traffic_flow 100 1

fault_mark "probes 2 and 3 join at once"
probes_start_together 2:2 3:3 -- "${STATE_OPTS[@]}"
wait_until 20 "3-member views everywhere" all_views_are 3 1 2 3
wait_until 30 "probes 2 and 3 to hold the state" all_hold 2 3
t2=$(receiving_transfer 2)
t3=$(receiving_transfer 3)
if [[ $t2 == "$t3" ]]; then
	say "one transfer ($t2) for both joiners"
else
	say "two transfers: $t2 to probe 2, $t3 to probe 3"
fi
let_traffic_flow 100 1 2 3

probe_start 4 2 "${STATE_OPTS[@]}"
wait_until 20 "a transfer to probe 4" receiving 4
fault_mark "probes 5 and 6 join at once during the transfer to probe 4"
probes_start_together 5:3 6:1 -- "${STATE_OPTS[@]}"
receiving 4 || fail "the transfer to probe 4 ended before the joins"
wait_until 20 "6-member views everywhere" all_views_are 6 1 2 3 4 5 6
wait_until 40 "every probe to hold the state" all_hold 1 2 3 4 5 6
t5=$(receiving_transfer 5)
t6=$(receiving_transfer 6)
[[ $t5 == "$t6" ]] || fail "probes 5 and 6 got transfers $t5 and $t6, not one"
say "one transfer ($t5) for probes 5 and 6"
let_traffic_flow 100 1 2 3 4 5 6
for l in 2 3 4 5 6; do
	[[ $(count_state "$l" '(restarted|failed) ') == 0 ]] ||
		fail "a transfer to probe $l was restarted or failed"
done

state_stop_all
run_checker
