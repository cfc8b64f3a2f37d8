#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Leadership rotates: every probe resigns 300 ms after each promotion
# (--resign-after), under twice PROBE_RATE, for about six seconds: some
# twenty handovers in a row, each at the delivery of a resignation. The
# logs are checked: never two leaders at once, never a leader demoted
# without resigning (no fail-back), at least ten moves.
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh disable=SC2016,SC2046
. "$(dirname "$0")/fault-lib.sh"
fault_main 3 120 "$@"

probes_start 3 --rate $((PROBE_RATE * 2)) --resign-after 300
read_totem_timing 1
resigns() {
	cat "${PROBE_LOG[@]}" | grep -c ' resign rc=0 ' || true
}
wait_until 30 "ten resignations" eval '(($(resigns) >= 10))'
let_traffic_flow 200 1 2 3

probe_stop_all
CHECK_ARGS=(--no-failback)
run_checker
n=$(grep -c '^failover ' "$LOGDIR/check.txt" || true)
((n >= 10)) || fail "only $n handovers"
say "$n handovers"
