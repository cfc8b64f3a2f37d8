#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# State transfer, corosync restarted mid-transfer, under either side:
# 1. probes 1 and 2 hold the replicated state; probe 3 joins and receives
#    it slowly; a second into the transfer node 3's corosync is stopped
#    (SIGTERM) and started again. The probe survives: libhaq tells it the
#    transfer stopped, reconnects, rejoins (a ring of its own first, where
#    it finds the group empty and holds a state of its own, then the
#    merge), and the state comes again, replacing that one.
# 2. probe 3 is replaced by a fresh probe 3b; a second into its transfer
#    the provider's corosync is stopped and started again: the transfer
#    restarts from another holder, and the provider's probe receives the
#    state again after its reconnect.
# All under load, with compression on (--compress 4096: the state's
# frames go lz4-compressed, issue 14; the other state scenarios send them
# as they are). Every probe ends with the same state, equal to the agreed
# stream applied to the seed, and some frames went compressed.
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh disable=SC2016,SC2046
. "$(dirname "$0")/fault-lib.sh"
fault_main 3 120 "$@"
STATE_OPTS+=(--compress 4096)

# The compressed count of every probe's last counters line, summed.
compressed_total() {
	local label v sum=0
	for label in "${!PROBE_LOG[@]}"; do
		v=$(grep ' counters ' "${PROBE_LOG[$label]}" | tail -n 1 |
			sed -n 's/.* compressed=\([0-9]*\).*/\1/p')
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

state_probes_start 2
let_traffic_flow 100 1 2

probe_start 3 3 "${STATE_OPTS[@]}"
wait_until 20 "a transfer to probe 3" receiving 3
t=$(receiving_transfer 3)
say "transfer $t to probe 3 from probe $(provider_of "$t" || echo '?')"
sleep 1
receiving 3 || fail "the transfer ended before the fault"
fault_mark "stop corosync on node 3 (the receiver's) mid-transfer"
"$H" stop 3
wait_until 20 "probe 3 to lose its connection" log_has 3 ' conn down '
log_has 3 " state (restarted|failed) transfer=$t role=receiver" ||
	fail "probe 3 was not told that transfer $t stopped"
fault_mark "start corosync on node 3"
"$H" start-node 3
wait_until 30 "3-member views everywhere" all_views_are 3 1 2 3
wait_until 30 "probe 3 to hold the state" holds 3
let_traffic_flow 100 1 2 3

say "phase 2: corosync restarted under the provider mid-transfer"
"$H" killprog "${PROBE_PID[3]}" TERM
"$H" waitprog "${PROBE_PID[3]}" 20
unset "PROBE_PID[3]"
wait_until 20 "2-member views" all_views_are 2 1 2
probe_start 3b 3 "${STATE_OPTS[@]}"
wait_until 20 "a transfer to probe 3b" receiving 3b
t=$(receiving_transfer 3b)
prov=$(provider_of "$t") || fail "no provider logged transfer $t"
node=${prov%%[!0-9]*}
say "transfer $t to probe 3b from probe $prov"
sleep 1
receiving 3b || fail "the transfer ended before the fault"
fault_mark "stop corosync on node $node (the provider's) mid-transfer"
"$H" stop "$node"
wait_until 20 "probe $prov to lose its connection" \
	eval "[[ \$(grep -c ' conn down ' \"\${PROBE_LOG[$prov]}\") -ge 1 ]]"
fault_mark "start corosync on node $node"
"$H" start-node "$node"
wait_until 30 "3-member views everywhere" all_views_are 3 1 2 3b
wait_until 30 "every probe to hold the state" all_hold 1 2 3b
log_has 3b " state restarted transfer=$t role=receiver" ||
	fail "probe 3b did not hear transfer $t restarted"
let_traffic_flow 100 1 2 3b

state_stop_all
z=$(compressed_total)
say "state frames sent compressed: $z"
((z > 0)) || fail "no state frame went compressed"
run_checker
