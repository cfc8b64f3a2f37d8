#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Failover benchmark (make bench-failover; not a test). On a 3-node cluster
# with a probe on every node, isolate the leader's node, time how long the
# majority takes to get a new leader, heal, and repeat. For each round it
# prints, from the moment the isolate command returned (the link is down):
#   totem   corosync's own membership change: the totem ring callback of a
#           raw libcpg program (raw-totem) on the new leader's node
#   quorum  libhaq's quorum callback there
#   view    libhaq's view callback there
#   leader  libhaq's leader callback there (is_leader=1): the failover
#   lib     leader - totem: what libhaq adds on top of corosync
#   down    the old leader's step-down (leader callback with no leader)
#   no_leader  leader - down: how long there was no leader at all (negative:
#           two leaders at once, the old one not yet told)
# and the median, min, max and spread over BENCH_REPS rounds (default 7).
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh disable=SC2016,SC2046
. "$(dirname "$0")/fault-lib.sh"
REPS=${BENCH_REPS:-7}
PROBE_RATE=${PROBE_RATE:-50}
fault_main 3 $((REPS * 40 + 120)) "$@"

[[ -x $RAW_TOTEM ]] || fail "$RAW_TOTEM is missing"
for k in 1 2 3; do
	probe_start "$k" "$k"
	"$H" spawn "$k" --log "$LOGDIR/totem-$k.out" -- \
		"$RAW_TOTEM" "$GROUP-totem" "$LOGDIR/totem-$k.log" >/dev/null
done
wait_until 20 "3-member views everywhere" all_views_are 3 1 2 3

# first_after LOG T_US REGEX: realtime (us) of the first line after T_US
# matching REGEX, or empty.
first_after() {
	awk -v t="$2" -v re="$3" '$2 > t && $0 ~ re { print $2; exit }' "$1"
}

# one_leader: all probes name one leader; sets old to its node.
one_leader() {
	local l
	l=$(last_leader 2)
	[[ -n $l ]] || return 1
	read -r _ _ old _ <<<"$l"
	((old != 0)) && all_lead "$old" 1 2 3
}

results=$LOGDIR/failover.tsv
printf 'rep\told\tnew\tisolate_cmd_ms\ttotem_ms\tquorum_ms\tview_ms\tleader_ms\tlib_ms\tdown_ms\tno_leader_ms\n' >"$results"
for ((r = 1; r <= REPS; r++)); do
	old=0
	wait_until 10 "one leader everywhere" one_leader
	let_traffic_flow 50 1 2 3
	# The new leader: the lowest node id of the majority.
	new=1
	while ((new == old)); do new=$((new + 1)); done
	mapfile -t others < <(for k in 1 2 3; do ((k == old)) || echo "$k"; done)
	t0=$(now_us)
	"$H" isolate "$old"
	t1=$(now_us)
	wait_until 30 "node $new to lead" all_lead "$new" "${others[@]}"
	wait_until 30 "node $old to step down" leader_is "$old" 0
	totem=$(first_after "$LOGDIR/totem-$new.log" "$t1" ' totem ')
	quorum=$(first_after "${PROBE_LOG[$new]}" "$t1" ' quorum ')
	view=$(first_after "${PROBE_LOG[$new]}" "$t1" ' view ')
	leader=$(first_after "${PROBE_LOG[$new]}" "$t1" ' leader self=1 ')
	down=$(first_after "${PROBE_LOG[$old]}" "$t1" ' leader self=0 epoch=0 ')
	ms() { [[ -n $1 ]] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (a - b) / 1000 }' || echo nan; }
	line="$r	$old	$new	$(ms "$t1" "$t0")	$(ms "$totem" "$t1")	$(ms "$quorum" "$t1")	$(ms "$view" "$t1")	$(ms "$leader" "$t1")	$(ms "$leader" "$totem")	$(ms "$down" "$t1")	$(ms "$leader" "$down")"
	echo "$line" >>"$results"
	say "round $r: $(tr '\t' ' ' <<<"$line")"
	"$H" heal "$old"
	wait_until 30 "3-member views everywhere" all_views_are 3 1 2 3
done

probe_stop_all
if "$CHECK" -q "$LOGDIR"/probe-*.log >"$LOGDIR/check.txt" 2>&1; then
	say "checker: all guarantees held during the benchmark"
else
	say "checker found violations during the benchmark (see $LOGDIR/check.txt):"
	grep '^VIOLATION' "$LOGDIR/check.txt" || true
fi
python3 - "$results" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
head, rows = rows[0], rows[1:]
cols = head[3:]
print()
print("Failover on a 3-node cluster (token 1000 ms), leader's node isolated,")
print("%d rounds; ms from the isolate command's return (link down):" % len(rows))
print()
print("%-4s " % "rep" + " ".join("%14s" % c for c in cols))
for r in rows:
    print("%-4s " % r[0] + " ".join("%14s" % v for v in r[3:]))
print()
def fmt(vals, f):
    return " ".join("%14.1f" % f(v) if v else "%14s" % "-" for v in vals)
vals = []
for i in range(3, len(head)):
    v = [float(r[i]) for r in rows if r[i] != "nan"]
    vals.append(v)
print("%-4s " % "med" + fmt(vals, statistics.median))
print("%-4s " % "min" + fmt(vals, min))
print("%-4s " % "max" + fmt(vals, max))
print("%-4s " % "sd" + fmt(vals, lambda v: statistics.stdev(v) if len(v) > 1 else 0))
print()
print("totem: corosync's own membership change (raw libcpg totem callback)")
print("leader: libhaq's new-leader callback on the majority; lib = leader - totem")
print("down: the isolated old leader told it is no longer leader;")
print("no_leader = leader - down (negative would mean two leaders at once)")
PY
say "raw results: $results"
