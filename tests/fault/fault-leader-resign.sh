#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The leader resigns (haq_group_resign(), SIGUSR2 to its probe) under a
# message load (three times PROBE_RATE per probe, 1 kB messages, every 50th
# 300 kB: fragmented, so the resignation queues behind whole messages),
# four times in a row: each time the group hands leadership over at the
# resignation's delivery, to the lowest other member (no takeover delay:
# every node is in the ring). A member that does not lead is refused
# (-EPERM) and nothing moves. The logs are checked: no two leaders at once
# (the resigner leads until its call returns), no fail-back, four moves.
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh disable=SC2016,SC2046
. "$(dirname "$0")/fault-lib.sh"
fault_main 3 200 "$@"
LOAD=(--rate $((PROBE_RATE * 3)) --size 1000 --big-every 50
	--big-size 300000 --drain 15000)

probes_start 3 "${LOAD[@]}"
wait_until 20 "3-member views everywhere" all_views_are 3 1 2 3
wait_until 10 "a leader on node 1" all_lead 1 1 2 3
read_totem_timing 1
let_traffic_flow 300 1 2 3

say "SIGUSR2 to probe 3, not the leader: refused"
"$H" killprog "${PROBE_PID[3]}" USR2
wait_until 10 "probe 3 to log its refused resignation" \
	log_has 3 ' resign rc=-1 '
let_traffic_flow 100 1 2 3
all_lead 1 1 2 3 || fail "a refused resignation moved leadership"

resigns=0
for next in 2 1 2 1; do
	old=$(current_leader) || fail "no leader"
	n=$(grep -c ' resign rc=0 ' "${PROBE_LOG[$old]}" || true)
	fault_mark "probe $old (the leader) resigns"
	"$H" killprog "${PROBE_PID[$old]}" USR2
	wait_until 10 "probe $old to resign" \
		eval '(($(grep -c " resign rc=0 " "${PROBE_LOG[$old]}") > n))'
	wait_until 10 "node $next to lead everywhere" all_lead "$next" 1 2 3
	resigns=$((resigns + 1))
	let_traffic_flow 200 1 2 3
done

probe_stop_all
CHECK_ARGS=(--no-failback
	--expect-leaderships $((resigns + 1)) --expect-moves "$resigns")
run_checker
