#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A flood of small messages from every member, bundling on (the default),
# through a partition and a corosync restart (issue 14). Every probe sends
# FLOOD_BURST messages of 64..200 bytes at each of FLOOD_RATE ticks a
# second, so several wait at once and libhaq bundles them. Node 3 (not the
# leader's) is cut off and healed, then corosync is stopped (SIGTERM) and
# started again under node 2's live probe. Then every probe is quieted
# (SIGHUP) and the stream left to settle before they stop. The checker
# judges total order, FIFO, gaps, loss, virtual synchrony, uncertain
# ranges and leadership (one leadership, no fail-back), and with
# --expect-bundled that every probe sent messages in bundles, with
# --same-final that all delivered the same sequence in the final view.
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh disable=SC2016,SC2046
. "$(dirname "$0")/fault-lib.sh"
fault_main 3 150 "$@"
FLOOD_RATE=${FLOOD_RATE:-100}
FLOOD_BURST=${FLOOD_BURST:-8}
FLOOD=(--rate "$FLOOD_RATE" --burst "$FLOOD_BURST" --size 64 --size-max 200
	--drain 15000)

# The probe's last counters line's bundled= value (0 before any).
bundled() {
	local line
	line=$(grep ' counters ' "${PROBE_LOG[$1]}" 2>/dev/null | tail -n 1) ||
		true
	line=${line##* bundled=}
	line=${line%% *}
	echo "${line:-0}"
}

bundling() {
	(($(bundled "$1") > 0))
}

probes_start 3 "${FLOOD[@]}"
wait_until 20 "3-member views everywhere" all_views_are 3 1 2 3
wait_until 10 "a leader on node 1" all_lead 1 1 2 3
read_totem_timing 1
let_traffic_flow 4000 1 2 3
# Counters are logged every 5 s: SIGUSR1 asks for them now.
for k in 1 2 3; do "$H" killprog "${PROBE_PID[$k]}" USR1; done
wait_until 10 "bundles from every probe" eval 'bundling 1 && bundling 2 && bundling 3'
say "bundled so far: $(bundled 1), $(bundled 2), $(bundled 3)"

fault_mark "isolating node 3"
"$H" isolate 3
wait_until 20 "node 3 alone, 1 and 2 together" \
	eval 'all_views_are 2 1 2 && view_size_is 3 1'
let_traffic_flow 4000 1 2 3

say "healing node 3"
"$H" heal 3
wait_until 20 "3-member views everywhere" all_views_are 3 1 2 3
wait_until 10 "everyone to name node 1 leader" all_lead 1 1 2 3
let_traffic_flow 4000 1 2 3

fault_mark "stopping corosync on node 2"
"$H" stop 2
wait_until 10 "probe 2 to see the disconnect" log_has 2 ' conn down'
wait_until 20 "nodes 1 and 3 to go on without node 2" all_views_are 2 1 3
sleep 1 # probe 2 keeps queueing meanwhile
say "starting corosync on node 2 again"
"$H" start-node 2
wait_until 30 "probe 2 to reconnect" log_has 2 ' conn up'
wait_until 20 "3-member views everywhere" all_views_are 3 1 2 3
wait_until 10 "everyone to name node 1 leader" all_lead 1 1 2 3
let_traffic_flow 4000 1 2 3

# The same final view everywhere, then quiet: the stream settles before
# anyone stops, so every probe's final sequence is complete.
for k in 1 2 3; do "$H" killprog "${PROBE_PID[$k]}" HUP; done
_deliveries_settle 1 2 3
all_views_are 3 1 2 3 || fail "a view changed while the stream settled"
probe_stop_all
say "bundled at the end: $(bundled 1), $(bundled 2), $(bundled 3)"
CHECK_ARGS=(--no-failback --expect-leaderships 1 --expect-bundled
	--same-final)
run_checker
