#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# One node (not the leader's) is cut off the network and healed, with a
# probe on every node; then the logs are checked.
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh disable=SC2016,SC2046
. "$(dirname "$0")/fault-lib.sh"
fault_main 3 150 "$@"

probes_start 3
wait_until 20 "3-member views everywhere" all_views_are 3 1 2 3
wait_until 10 "a leader on node 1" leader_is 1 1
let_traffic_flow 100 1 2 3

say "isolating node 3"
"$H" isolate 3
wait_until 20 "node 3 alone, 1 and 2 together" \
	eval 'all_views_are 2 1 2 && view_size_is 3 1'
wait_until 10 "node 3 to have no leader" leader_is 3 0
log_has 3 ' quorum quorate=0' || fail "node 3 never lost quorum"
let_traffic_flow 100 1 2 3

say "healing node 3"
"$H" heal 3
wait_until 20 "3-member views everywhere" all_views_are 3 1 2 3
wait_until 10 "everyone to name node 1 leader" all_lead 1 1 2 3
let_traffic_flow 100 1 2 3

probe_stop_all
CHECK_ARGS=(--no-failback --expect-leaderships 1)
run_checker
