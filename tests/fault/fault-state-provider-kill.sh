#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# State transfer, the provider SIGKILLed mid-transfer: probes 1 and 2 hold
# the replicated state, probe 3 joins and receives it from the leader
# (probe 1), slowly (STATE_SLOW bytes/s); a second into the transfer the
# provider's process is SIGKILLed. Probe 3 must hear the transfer
# restarted (-EHOSTDOWN), discard what it got, and receive the state from
# probe 2 at a new cut; all under load from every node. Then a new probe
# joins on node 1 and receives it too. Every probe ends with the same
# state, equal to the agreed stream applied to the seed.
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh disable=SC2016,SC2046
. "$(dirname "$0")/fault-lib.sh"
fault_main 3 120 "$@"

state_probes_start 2
let_traffic_flow 100 1 2

probe_start 3 3 "${STATE_OPTS[@]}"
wait_until 20 "a transfer to probe 3" receiving 3
t=$(receiving_transfer 3)
prov=$(provider_of "$t") || fail "no provider logged transfer $t"
say "transfer $t to probe 3 from probe $prov"
sleep 1
receiving 3 || fail "the transfer ended before the fault"
fault_mark "SIGKILL the provider (probe $prov) mid-transfer"
probe_kill "$prov" KILL
wait_until 30 "probe 3 to hold the state" holds 3
log_has 3 " state restarted transfer=$t role=receiver error=-112 " ||
	fail "probe 3 did not hear transfer $t restarted (-EHOSTDOWN)"
check_restart_gap 3
let_traffic_flow 100 2 3

probe_start 1b 1 "${STATE_OPTS[@]}"
wait_until 30 "probe 1b to hold the state" holds 1b
let_traffic_flow 100 1b 2 3

state_stop_all
run_checker
