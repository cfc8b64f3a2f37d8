#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# corosync of node 2 (not the leader's) is frozen (SIGSTOP) long enough to be
# expelled, then resumed: a stall, as from swapping or a VM pause. Its probe
# must come back into one view with the others and everybody must agree on
# one leader; the probe's sends during the stall must not be lost. Then
# the logs are checked.
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh disable=SC2016,SC2046
. "$(dirname "$0")/fault-lib.sh"
fault_main 3 150 "$@"

probes_start 3
wait_until 20 "3-member views everywhere" all_views_are 3 1 2 3
wait_until 10 "a leader on node 1" all_lead 1 1 2 3
let_traffic_flow 100 1 2 3

say "freezing corosync on node 2"
"$H" pause 2
wait_until 20 "nodes 1 and 3 to go on without node 2" \
	eval 'all_views_are 2 1 3 && all_lead 1 1 3'
let_traffic_flow 100 1 3

say "resuming corosync on node 2"
"$H" resume 2
wait_until 20 "3-member views everywhere" all_views_are 3 1 2 3
wait_until 10 "everyone to name node 1 leader" all_lead 1 1 2 3
let_traffic_flow 200 1 2 3

probe_stop_all
run_checker
