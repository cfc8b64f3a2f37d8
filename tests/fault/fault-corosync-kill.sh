#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# corosync of the leader's node is SIGKILLed under its live probe and started
# again: the probe must see a disconnect (not crash), reconnect, rejoin with
# a fresh view and keep sending and delivering; the others see the node go
# and come back; node 2 leads after the detection and the takeover delay,
# and keeps leading when node 1 is back. Then the logs are checked: no two
# leaders at once, no fail-back, one move.
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh disable=SC2016,SC2046
. "$(dirname "$0")/fault-lib.sh"
fault_main 3 150 "$@"
# Every 100th message is 2.5 MB: libhaq fragments it (3 frames), so faults
# also hit messages half sent and half reassembled.
BIG=(--big-every 100 --big-size 2500000 --drain 15000)

probes_start 3 "${BIG[@]}"
wait_until 20 "3-member views everywhere" all_views_are 3 1 2 3
wait_until 10 "a leader on node 1" leader_is 2 1
read_totem_timing 1
let_traffic_flow 100 1 2 3

fault_mark "SIGKILL corosync on node 1"
"$H" kill 1
wait_until 10 "probe 1 to see the disconnect" log_has 1 ' conn down'
wait_until 20 "nodes 2 and 3 to go on without node 1" \
	eval 'all_views_are 2 2 3 && all_lead 2 2 3'
let_traffic_flow 100 2 3

say "starting corosync on node 1 again"
"$H" start-node 1
wait_until 30 "probe 1 to reconnect" log_has 1 ' conn up'
wait_until 20 "3-member views everywhere" all_views_are 3 1 2 3
wait_until 10 "everyone to name node 2 leader" all_lead 2 1 2 3
let_traffic_flow 100 1 2 3
"$H" exec 1 -- true # the node is alive
if ! kill -0 "${PROBE_PID[1]}" 2>/dev/null; then
	fail "probe 1 did not survive"
fi

probe_stop_all
CHECK_ARGS=(--no-failback --expect-leaderships 2
	--expect-moves 1)
run_checker
