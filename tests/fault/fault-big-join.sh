#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Large messages (libhaq fragments them) in flight while members join: a
# join is a view change, and a message whose fragments straddle it must be
# delivered in one view by all the members of that view, or by none
# (virtual synchrony). Two probes send 3 MB messages back to back while
# probes join on node 3 one after another and stay, so every joiner then
# moves with the others through the next joins. Then the logs are checked.
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh disable=SC2016,SC2046
. "$(dirname "$0")/fault-lib.sh"
fault_main 3 150 "$@"

BIG=(--rate 8 --big-every 2 --big-size 3000000 --drain 15000)
probe_start 1 1 "${BIG[@]}"
probe_start 2 2 "${BIG[@]}"
wait_until 20 "2-member views" all_views_are 2 1 2
let_traffic_flow 10 1 2

joiners=()
for j in 1 2 3 4 5 6; do
	probe_start "j$j" 3 --rate 5
	joiners+=("j$j")
	wait_until 20 "joiner j$j in everybody's view" \
		all_views_are $((2 + j)) 1 2 "${joiners[@]}"
	let_traffic_flow 6 1 2 "${joiners[@]}"
done

probe_stop_all
run_checker
