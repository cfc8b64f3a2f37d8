#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# corosync is stopped cleanly (SIGTERM) and restarted under a live probe that
# keeps sending: the probe must reconnect and keep going; what it sent while
# corosync was away is delivered after the rejoin, nothing twice, and what
# might have been lost is reported uncertain. Twice on node 2 (not the
# leader's: leadership stays on node 1), then once under the leader, on
# node 1: node 2 leads after the takeover delay and keeps leading when node
# 1 is back. Then the logs are checked: no two leaders at once, no
# fail-back, one move.
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh disable=SC2016,SC2046
. "$(dirname "$0")/fault-lib.sh"
fault_main 3 150 "$@"
# Every 100th message is 2.5 MB: libhaq fragments it (3 frames), so faults
# also hit messages half sent and half reassembled.
BIG=(--big-every 100 --big-size 2500000 --drain 15000)

probes_start 3 "${BIG[@]}"
wait_until 20 "3-member views everywhere" all_views_are 3 1 2 3
wait_until 10 "a leader on node 1" all_lead 1 1 2 3
read_totem_timing 1
let_traffic_flow 100 1 2 3

fault_mark "stopping corosync on node 2"
"$H" stop 2
wait_until 10 "probe 2 to see the disconnect" log_has 2 ' conn down'
wait_until 20 "nodes 1 and 3 to go on without node 2" all_views_are 2 1 3
sleep 1 # probe 2 keeps queueing meanwhile

say "starting corosync on node 2 again"
"$H" start-node 2
wait_until 30 "probe 2 to reconnect" log_has 2 ' conn up'
wait_until 20 "3-member views everywhere" all_views_are 3 1 2 3
let_traffic_flow 200 1 2 3

# A second round: the reconnect path must work more than once.
say "restarting corosync on node 2 once more"
"$H" stop 2
wait_until 10 "probe 2 to see the second disconnect" \
	eval '(($(grep -c " conn down" "${PROBE_LOG[2]}") >= 2))'
"$H" start-node 2
wait_until 30 "probe 2 to reconnect again" \
	eval '(($(grep -c " conn up" "${PROBE_LOG[2]}") >= 2))'
wait_until 20 "3-member views everywhere" all_views_are 3 1 2 3
wait_until 10 "everyone to name node 1 leader" all_lead 1 1 2 3
let_traffic_flow 200 1 2 3

# Under the leader: stopped cleanly, so the others see node 1 leave at
# once, and node 2 waits only for the takeover delay.
fault_mark "restarting corosync on node 1, the leader's"
"$H" stop 1
wait_until 10 "probe 1 to see the disconnect" log_has 1 ' conn down'
wait_until 30 "node 2 to lead nodes 2 and 3" all_lead 2 2 3
"$H" start-node 1
wait_until 30 "probe 1 to reconnect" log_has 1 ' conn up'
wait_until 20 "3-member views everywhere" all_views_are 3 1 2 3
wait_until 10 "everyone to name node 2 leader" all_lead 2 1 2 3
let_traffic_flow 200 1 2 3

probe_stop_all
CHECK_ARGS=(--no-failback --expect-leaderships 2
	--expect-moves 1)
run_checker
