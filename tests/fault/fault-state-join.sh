#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# State transfer, a member joins under load: probes 1 and 2 hold a
# replicated state (haq-probe --state: a hash chain over every message
# applied, on a 4 MB seed) and update it from both nodes; probe 3 joins
# the running group and receives the state at its cut (written as fast as
# libhaq's window takes it) while 256-byte updates keep coming. Every
# probe ends holding the same state, which equals the agreed stream
# applied to the seed (haq-check-logs, class "state").
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh disable=SC2016,SC2046
. "$(dirname "$0")/fault-lib.sh"
fault_main 3 120 "$@"

STATE_OPTS=(--state --state-seed 4000000 --size 256)
state_probes_start 2
let_traffic_flow 200 1 2

fault_mark "probe 3 joins under load"
probe_start 3 3 "${STATE_OPTS[@]}"
wait_until 20 "probe 3 to hold the state" holds 3
let_traffic_flow 200 1 2 3
((${#PROBE_PID[@]} == 3)) || fail "a probe is gone"
[[ $(count_state 3 'done [^ ]+ role=receiver') == 1 ]] ||
	fail "probe 3 needed more than one transfer"
[[ $(count_state 3 '(restarted|failed) ') == 0 ]] ||
	fail "a transfer to probe 3 was restarted or failed"

state_stop_all
run_checker
