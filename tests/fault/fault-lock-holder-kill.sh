#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Lock churn from every node (haq-probe --locks: two locks, TRY and
# blocking requests, holds of 200-2000 ms); the probe that holds a lock
# is SIGKILLed. Its lock is released when corosync reports the process
# gone and granted on after one renewal interval; the churn goes on, a
# new probe joins on the killed one's node. The logs are checked: never
# two holders of a lock at once (a killed holder holds until the
# "killed" line), fencing tokens increasing.
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh disable=SC2016,SC2046
. "$(dirname "$0")/fault-lib.sh"
fault_main 3 150 "$@"

all=(1 2 3)
probes_start 3 $(lock_opts 200-2000)
wait_until 20 "3-member views everywhere" all_views_are 3 "${all[@]}"
read_totem_timing 1
t0=$(now_us)
wait_until 30 "ten lock grants" grants_at_least "$t0" 10

wait_until 30 "a probe holding a lock for 500 ms more" \
	eval 'lock_holder 500 "${all[@]}" >/dev/null'
read -r victim name <<<"$(lock_holder 300 "${all[@]}")"
[[ -n $victim ]] || fail "the holder let go before the kill"
t_kill=$(now_us)
fault_mark "SIGKILL of probe $victim, the holder of $name"
probe_kill "$victim" KILL
rest=()
for label in "${all[@]}"; do [[ $label == "$victim" ]] || rest+=("$label"); done
wait_until 20 "the others to see probe $victim leave" all_views_are 2 "${rest[@]}"
wait_until 30 "$name granted again after the kill" \
	grants_at_least "$t_kill" 1 "$name"
say "first grant of $name after the kill: $(awk -v t="$t_kill" -v n="$name" \
	'$3 == "lock_granted" && $2 > t && $4 == "name=" n {
		printf "%.1f ms after it\n", ($2 - t) / 1000; exit }' \
	"$LOGDIR"/probe-*.log)"

fault_mark "a new probe on node $victim"
probe_start "${victim}b" "$victim" $(lock_opts 200-2000)
wait_until 20 "3-member views everywhere" \
	all_views_are 3 "${rest[@]}" "${victim}b"
t_new=$(now_us)
wait_until 30 "probe ${victim}b granted a lock" \
	grants_at_least "$t_new" 1 "" "${victim}b"
lock_progress "$t_kill" 10 "the kill"

probe_stop_all
run_checker
