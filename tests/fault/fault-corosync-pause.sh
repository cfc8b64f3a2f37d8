#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# corosync frozen (SIGSTOP) and resumed: a stall, as from swapping or a VM
# pause.
# 1. node 2 (not the leader's), long enough to be expelled: its probe must
#    come back into one view with the others, leadership stays on node 1,
#    and the probe's sends during the stall must not be lost;
# 2. node 1, the leader's, for twice corosync's detection time: nothing
#    reaches its probe, so only the lease can demote it, and it must do so
#    before node 2 is promoted (zero overlap); node 2 keeps leadership after
#    the resume;
# 3. node 2, the leader's now, for a time between the detection and the
#    lease: the others elect while the old lease still runs, and the old
#    leader comes back before its lease ran out.
# Then the logs are checked: no two leaders at once, no fail-back.
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh disable=SC2016,SC2046
. "$(dirname "$0")/fault-lib.sh"
fault_main 3 200 "$@"

probes_start 3
wait_until 20 "3-member views everywhere" all_views_are 3 1 2 3
wait_until 10 "a leader on node 1" all_lead 1 1 2 3
read_totem_timing 1
let_traffic_flow 100 1 2 3

fault_mark "freezing corosync on node 2 (not the leader's)"
"$H" pause 2
wait_until 20 "nodes 1 and 3 to go on without node 2" \
	eval 'all_views_are 2 1 3 && all_lead 1 1 3'
let_traffic_flow 100 1 3

fault_mark "resuming corosync on node 2"
"$H" resume 2
wait_until 20 "3-member views everywhere" all_views_are 3 1 2 3
wait_until 10 "everyone to name node 1 leader" all_lead 1 1 2 3
let_traffic_flow 200 1 2 3

# LEADER_PAUSE_MS overrides the pause (default: twice the detection).
pause_ms=${LEADER_PAUSE_MS:-$((2 * DETECT_MS))}
fault_mark "freezing corosync on node 1 (the leader's) for $pause_ms ms"
"$H" pause 1
sleep "$(awk -v ms="$pause_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
fault_mark "resuming corosync on node 1"
"$H" resume 1
# The checker judges when (leader-lease: no later than the lease deadline
# the probe logged; leader-overlap: before node 2's promotion).
wait_until 10 "probe 1 to be demoted by its lease" log_has 1 ' demoted expired=1'
wait_until 30 "3-member views everywhere" all_views_are 3 1 2 3
wait_until 20 "everyone to name node 2 leader" all_lead 2 1 2 3
let_traffic_flow 200 1 2 3

lease_ms=$(grep -h -o ' timing .*' "${PROBE_LOG[1]}" | tail -n 1 |
	sed -nE 's/.* lease=([0-9]+).*/\1/p')
pause_ms=$(((DETECT_MS + lease_ms) / 2))
fault_mark "freezing corosync on node 2 (the leader's) for $pause_ms ms (detection $DETECT_MS, lease $lease_ms)"
"$H" pause 2
sleep "$(awk -v ms="$pause_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
fault_mark "resuming corosync on node 2"
"$H" resume 2
wait_until 30 "3-member views everywhere" all_views_are 3 1 2 3
wait_until 20 "one leader everywhere" one_leader 1 2 3
let_traffic_flow 200 1 2 3

probe_stop_all
CHECK_ARGS=(--no-failback)
run_checker
