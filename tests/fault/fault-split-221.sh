#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A 5-node cluster split 2-2-1: no partition has quorum, so nobody may be
# leader anywhere (the leader steps down when it loses quorum); each part
# keeps delivering inside itself. Then the split is undone and everybody
# merges: with every node in the ring at once node 1 is elected again
# without delay; when corosync merges in steps (3,4 and 5 first: quorate
# with nodes missing) node 3 is elected after the takeover delay and keeps
# leadership through the last merge. The logs are checked: no two leaders
# at once, no fail-back, exactly two leaderships.
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh disable=SC2016,SC2046
. "$(dirname "$0")/fault-lib.sh"
fault_main 5 300 "$@"

all=(1 2 3 4 5)
probes_start 5
wait_until 30 "5-member views everywhere" all_views_are 5 "${all[@]}"
wait_until 10 "a leader on node 1" leader_is 5 1
read_totem_timing 1
let_traffic_flow 100 "${all[@]}"

fault_mark "partition 1,2 | 3,4 | 5"
"$H" partition 1,2 3,4 5
wait_until 40 "the 2-2-1 views" \
	eval 'all_views_are 2 1 2 3 4 && view_size_is 5 1'
wait_until 10 "no leader anywhere" all_lead 0 "${all[@]}"
let_traffic_flow 100 "${all[@]}"

fault_mark "unpartition"
"$H" unpartition
wait_until 40 "5-member views everywhere" all_views_are 5 "${all[@]}"
wait_until 30 "one leader everywhere" one_leader "${all[@]}"
let_traffic_flow 100 "${all[@]}"

probe_stop_all
CHECK_ARGS=(--no-failback --expect-leaderships 2)
run_checker
