#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Lock churn on one lock from every node of 5 (probe 1 holds for 9-12 s,
# the others 100-1000 ms); split 2-2-1 while it is held: no
# partition has quorum, so the holder is told it lost the lock, nobody is
# granted it (TRY requests fail with -EAGAIN, blocking ones wait) until
# the merge, after which the churn goes on everywhere. The logs are checked: never
# two holders of a lock at once, fencing tokens increasing.
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh disable=SC2016,SC2046
. "$(dirname "$0")/fault-lib.sh"
fault_main 5 300 "$@"
# One lock: the others always want the lock the holder had.
LOCK_COUNT=1

all=(1 2 3 4 5)
for k in "${all[@]}"; do
	if ((k == 1)); then
		probe_start "$k" "$k" $(lock_opts 9000-12000)
	else
		probe_start "$k" "$k" $(lock_opts 100-1000)
	fi
	wait_until 20 "probe $k in the group" view_size_is "$k" "$k"
done
wait_until 30 "5-member views everywhere" all_views_are 5 "${all[@]}"
read_totem_timing 1
t0=$(now_us)
wait_until 40 "five lock grants" grants_at_least "$t0" 5

wait_until 60 "probe 1 holding the lock for $((DETECT_MS + 1500)) ms more" \
	eval 'lock_holder $((DETECT_MS + 1500)) 1 >/dev/null'
read -r victim name <<<"$(lock_holder $((DETECT_MS + 1000)) 1)"
[[ -n $victim ]] || fail "the holder let go"
t_split=$(now_us)
fault_mark "partition 1,2 | 3,4 | 5 (probe $victim holds $name)"
"$H" partition 1,2 3,4 5
wait_until 40 "the 2-2-1 views" \
	eval 'all_views_are 2 1 2 3 4 && view_size_is 5 1'
wait_until 20 "probe $victim told it lost $name" lock_lost_since "$victim" "$t_split"
say "probe $victim: $(awk -v t="$t_split" '($3 == "lock_lost" || $3 == "lock_expired") &&
	$2 > t { printf "%s %.1f ms after the split\n", $0, ($2 - t) / 1000; exit }' \
	"${PROBE_LOG[$victim]}" | cut -d' ' -f3-)"
# Every view is now without quorum: no grant anywhere until the merge.
t_nq=$(now_us)
sleep 5
t_merge=$(now_us)
n=$(awk -v a="$t_nq" -v b="$t_merge" '$3 == "lock_granted" && $2 > a && $2 < b' \
	"$LOGDIR"/probe-*.log | wc -l)
say "$n grants while split (must be 0); TRY requests refused for want of quorum: $(awk -v a="$t_split" \
	'$3 == "lock_busy" && $2 > a && / status=-11/' "$LOGDIR"/probe-*.log | wc -l)"
((n == 0)) || fail "$n locks granted in partitions without quorum"

fault_mark "unpartition"
"$H" unpartition
wait_until 40 "5-member views everywhere" all_views_are 5 "${all[@]}"
lock_progress "$t_merge" 5 "the merge"

probe_stop_all
run_checker
