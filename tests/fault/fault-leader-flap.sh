#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The leader's link flaps: five times the current leader's node is cut off
# (veth down) and healed, alternately for 1 s (shorter than corosync's
# token timeout: the ring survives, nothing may move) and for 5 s (longer
# than corosync's detection, token + consensus: the majority elects a new
# leader, which is promoted after the takeover delay, even though the old
# node is back by then). The logs are checked with zero tolerance for two
# leaders at once, no fail-back, and exactly one move per long flap.
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh disable=SC2016,SC2046
. "$(dirname "$0")/fault-lib.sh"
fault_main 3 200 "$@"

FLAPS=(1 5 1 5 1) # seconds down
long=0

probes_start 3
wait_until 20 "3-member views everywhere" all_views_are 3 1 2 3
wait_until 10 "a leader on node 1" all_lead 1 1 2 3
read_totem_timing 1
let_traffic_flow 100 1 2 3

for down in "${FLAPS[@]}"; do
	old=$(current_leader) || fail "no leader before a flap"
	fault_mark "flap: node $old (the leader's) down for $down s"
	"$H" isolate "$old"
	sleep "$down"
	"$H" heal "$old"
	if ((down * 1000 < TOKEN_MS)); then
		# The ring must survive: same views, same leader.
		sleep 1
		wait_until 20 "3-member views everywhere" all_views_are 3 1 2 3
		all_lead "$old" 1 2 3 ||
			fail "a ${down} s flap (token ${TOKEN_MS} ms) moved leadership"
	else
		long=$((long + 1))
		# The new leader: the lowest node id of the majority.
		new=1
		while ((new == old)); do new=$((new + 1)); done
		wait_until 30 "3-member views everywhere" all_views_are 3 1 2 3
		wait_until 30 "node $new to lead everywhere" all_lead "$new" 1 2 3
	fi
	let_traffic_flow 100 1 2 3
done

probe_stop_all
CHECK_ARGS=(--no-failback --expect-moves "$long")
run_checker
