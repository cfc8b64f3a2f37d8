#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Only large messages (1.5 MB, two frames each), back to back and faster
# than the cluster carries them, while the view changes under them: two
# joins, a member killed, a node cut off. A view change that cuts a message
# between its frames makes its sender send it again; the checker proves
# order, no gaps, no duplicates and agreement in every view. (No heal: see
# README.md on what corosync does with messages in flight at a merge.)
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh disable=SC2016,SC2046
. "$(dirname "$0")/fault-lib.sh"
fault_main 3 180 "$@"
BIG=(--rate 40 --big-every 1 --big-size 1500000 --drain 20000)
probe_start 1 1 "${BIG[@]}"
wait_until 20 "probe 1 in the group" view_size_is 1 1
probe_start 2 2 "${BIG[@]}"
wait_until 20 "2-member views" all_views_are 2 1 2
let_traffic_flow 20 1 2
joiners=()
for j in 1 2; do
	probe_start "j$j" 3 --rate 20
	joiners+=("j$j")
	wait_until 20 "joiner j$j in everybody's view" \
		all_views_are $((2 + j)) 1 2 "${joiners[@]}"
	let_traffic_flow 10 1 2 "${joiners[@]}"
done
probe_kill j1 KILL
wait_until 20 "j1 gone" all_views_are 3 1 2 j2
let_traffic_flow 10 1 2 j2
say "isolating node 3"
"$H" isolate 3
wait_until 20 "node 3 apart" all_views_are 2 1 2
let_traffic_flow 10 1 2
cuts=$(cat "$LOGDIR"/probe-*.log | grep -c 'was cut by a view change' || true)
say "messages cut by a view change and sent again: $cuts"
probe_stop_all
run_checker
