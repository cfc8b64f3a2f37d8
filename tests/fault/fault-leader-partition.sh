#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The leader's node is cut off the network: the majority must elect a new
# leader with a larger epoch, the isolated old leader must step down when it
# loses quorum; after the heal everybody agrees again. Then the logs are
# checked.
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh disable=SC2016,SC2046
. "$(dirname "$0")/fault-lib.sh"
fault_main 3 150 "$@"

probes_start 3
wait_until 20 "3-member views everywhere" all_views_are 3 1 2 3
wait_until 10 "a leader on node 1" all_lead 1 1 2 3
let_traffic_flow 100 1 2 3

say "isolating node 1, the leader's"
"$H" isolate 1
wait_until 20 "node 2 to lead the majority" all_lead 2 2 3
wait_until 10 "node 1 to step down" leader_is 1 0
log_has 1 ' quorum quorate=0' || fail "node 1 never lost quorum"
let_traffic_flow 100 1 2 3

say "healing node 1"
"$H" heal 1
wait_until 20 "3-member views everywhere" all_views_are 3 1 2 3
wait_until 10 "everyone to agree on one leader again" all_lead 1 1 2 3
let_traffic_flow 100 1 2 3

probe_stop_all
run_checker
