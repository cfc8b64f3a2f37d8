#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The leader's libhaq process is SIGKILLed: the others see it leave
# (procdown) and elect a new leader with a larger epoch at once (every node
# is still in the ring: no takeover delay); then a new probe starts on the
# same node and joins, and leadership stays where it is. Then the logs are
# checked: no two leaders at once (the killed probe led until the kill
# returned), no fail-back, one move.
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh disable=SC2016,SC2046
. "$(dirname "$0")/fault-lib.sh"
fault_main 3 150 "$@"

probes_start 3
wait_until 20 "3-member views everywhere" all_views_are 3 1 2 3
wait_until 10 "a leader on node 1" all_lead 1 1 2 3
read_totem_timing 1
let_traffic_flow 100 1 2 3

fault_mark "SIGKILL the probe on node 1 (the leader)"
probe_kill 1 KILL
wait_until 20 "nodes 2 and 3 to go on without it" \
	eval 'all_views_are 2 2 3 && all_lead 2 2 3'
log_has 2 'left=1/[0-9]+:procdown' || fail "node 2 did not see a procdown"
let_traffic_flow 100 2 3

say "a new probe on node 1"
probe_start 1b 1
wait_until 20 "3-member views everywhere" all_views_are 3 1b 2 3
wait_until 10 "everyone to name node 2 leader" all_lead 2 1b 2 3
let_traffic_flow 100 1b 2 3

say "SIGKILL the probe on node 3 (not the leader)"
probe_kill 3 KILL
wait_until 20 "2-member views" all_views_are 2 1b 2
let_traffic_flow 100 1b 2

probe_stop_all
CHECK_ARGS=(--no-failback --expect-leaderships 2
	--expect-moves 1)
run_checker
