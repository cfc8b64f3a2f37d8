#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The leader's node is cut off the network (veth down): the isolated old
# leader steps down when it loses quorum (its lease would end it anyway),
# the majority elects node 2 and promotes it only after the takeover delay,
# with a larger epoch; after the heal leadership stays on node 2 (sticky:
# no fail-back). The logs are checked with zero tolerance for two leaders
# at once, no fail-back, and exactly one move.
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh disable=SC2016,SC2046
. "$(dirname "$0")/fault-lib.sh"
fault_main 3 150 "$@"

probes_start 3
wait_until 20 "3-member views everywhere" all_views_are 3 1 2 3
wait_until 10 "a leader on node 1" all_lead 1 1 2 3
read_totem_timing 1
let_traffic_flow 100 1 2 3

fault_mark "isolating node 1, the leader's"
"$H" isolate 1
wait_until 10 "node 1 to step down" leader_is 1 0
log_has 1 ' quorum quorate=0' || fail "node 1 never lost quorum"
wait_until 30 "node 2 to lead the majority" all_lead 2 2 3
let_traffic_flow 100 1 2 3

fault_mark "healing node 1"
"$H" heal 1
wait_until 20 "3-member views everywhere" all_views_are 3 1 2 3
wait_until 10 "everyone to name node 2 leader (no fail-back)" all_lead 2 1 2 3
let_traffic_flow 200 1 2 3

probe_stop_all
CHECK_ARGS=(--no-failback --expect-leaderships 2
	--expect-moves 1)
run_checker
