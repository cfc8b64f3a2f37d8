#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# State transfer, a partition during a transfer, twice, under load:
# 1. probe 3 joins and receives the replicated state slowly from the
#    leader (probe 1); mid-transfer the receiver's node 3 is isolated. Its
#    transfer stops (the provider left its view). Alone, it does not hold
#    the state and does not pretend to: the holders' node left, they may
#    (and do) hold it on in the other partition, so it waits for them and
#    is given no messages; after the heal it receives the state.
# 2. probe 3 is replaced by a fresh probe 3b, which receives the state
#    from probe 1 again; mid-transfer the provider's node 1 is isolated.
#    Nodes 2 and 3 (quorate) restart the transfer from probe 2 (well
#    within HAQ_STATE_STALL of the view); node 1
#    goes on alone; after the heal its state is replaced by the quorate
#    side's.
# Every probe ends with the same state, equal to the agreed stream applied
# to the seed.
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh disable=SC2016,SC2046
. "$(dirname "$0")/fault-lib.sh"
fault_main 3 150 "$@"

state_probes_start 2
let_traffic_flow 100 1 2

say "phase 1: the receiver's node isolated mid-transfer"
probe_start 3 3 "${STATE_OPTS[@]}"
wait_until 20 "a transfer to probe 3" receiving 3
t=$(receiving_transfer 3)
say "transfer $t to probe 3 from probe $(provider_of "$t" || echo '?')"
sleep 1
receiving 3 || fail "the transfer ended before the fault"
fault_mark "isolate node 3 (the receiver's) mid-transfer"
"$H" isolate 3
wait_until 20 "node 3 alone, 1 and 2 together" \
	eval 'all_views_are 2 1 2 && view_size_is 3 1'
log_has 3 " state restarted transfer=$t role=receiver" ||
	fail "probe 3 did not hear transfer $t stop"
let_traffic_flow 50 1 2
holds 3 && fail "probe 3 holds a state of its own while the holders live on"
log_has 3 " state failed " && fail "probe 3 was told the state is lost"
fault_mark "heal node 3"
"$H" heal 3
wait_until 20 "3-member views everywhere" all_views_are 3 1 2 3
wait_until 30 "probe 3 to hold the state" all_hold 1 2 3
let_traffic_flow 100 1 2 3

say "phase 2: the provider's node isolated mid-transfer"
"$H" killprog "${PROBE_PID[3]}" TERM
"$H" waitprog "${PROBE_PID[3]}" 20
unset "PROBE_PID[3]"
wait_until 20 "2-member views" all_views_are 2 1 2
probe_start 3b 3 "${STATE_OPTS[@]}"
wait_until 20 "a transfer to probe 3b" receiving 3b
t=$(receiving_transfer 3b)
prov=$(provider_of "$t") || fail "no provider logged transfer $t"
say "transfer $t to probe 3b from probe $prov"
sleep 1
receiving 3b || fail "the transfer ended before the fault"
node=${prov%%[!0-9]*}
fault_mark "isolate node $node (the provider's) mid-transfer"
"$H" isolate "$node"
wait_until 20 "node $node alone" view_size_is "$prov" 1
wait_until 30 "probe 3b to hold the state" holds 3b
log_has 3b " state restarted transfer=$t role=receiver" ||
	fail "probe 3b did not hear transfer $t restarted"
check_restart_gap 3b
let_traffic_flow 50 1 2 3b
fault_mark "heal node $node"
"$H" heal "$node"
wait_until 20 "3-member views everywhere" all_views_are 3 1 2 3b
wait_until 30 "probe $prov to hold the state again" \
	eval "log_has $prov ' state replace ' && all_hold 1 2 3b"
let_traffic_flow 100 1 2 3b

state_stop_all
run_checker
