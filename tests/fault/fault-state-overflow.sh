#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# State transfer, the receiver's buffer overflows: probes 1 and 2 hold the
# replicated state, and a loader probe on node 2 adds 4 KiB updates at
# 400/s (1.6 MB/s); probe 3 joins with the smallest buffer libhaq allows
# (--state-buffer 1 MiB) and receives the state slowly (3 s), so the
# messages it must keep outgrow the buffer: it hears FAILED -ENOBUFS. The
# loader then stops sending (SIGHUP), and probe 3 completes at a later
# transfer under the ordinary load. Every probe ends with the same state,
# equal to the agreed stream applied to the seed.
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh disable=SC2016,SC2046
. "$(dirname "$0")/fault-lib.sh"
fault_main 3 120 "$@"

state_probes_start 2
probe_start L 2 "${STATE_OPTS[@]}" --rate 400 --size 4096
wait_until 20 "the loader to hold the state" holds L
let_traffic_flow 200 1 2 L

fault_mark "probe 3 joins with a 1 MiB buffer under 1.6 MB/s of updates"
probe_start 3 3 "${STATE_OPTS[@]}" --state-buffer 1048576
wait_until 30 "probe 3 to fail with ENOBUFS" \
	log_has 3 ' state failed [^ ]+ role=receiver error=-105 '
fault_mark "the loader stops sending"
"$H" killprog "${PROBE_PID[L]}" HUP
wait_until 30 "probe 3 to hold the state" holds 3
let_traffic_flow 100 1 2 3

state_stop_all
run_checker
