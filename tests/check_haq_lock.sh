#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# examples/haq-lock on a real 3-node cluster. Every CMD appends
# "start|end|term NODE TOKEN NANOSECONDS" lines (CLOCK_REALTIME: all the
# namespaces share the host's clock) to one log.
#  a. a holder on node 1, a waiter on node 2 started while it holds: the
#     waiter starts only after the holder ended, with a higher token; then
#     nodes 1, 2 and 3 contend 4 times each: no two CMDs ever overlap, and
#     the tokens increase in the order the CMDs ran;
#  b. --nonblock while the lock is held exits 1 at once (and runs nothing);
#     --wait 1 while it is held exits 1 after about a second;
#  c. the holder's node is isolated: its CMD is killed, its haq-lock exits
#     75 (lock lost), and the waiter on node 2 starts only after that;
#  d. CMD's exit status comes back (7, 128+15 for a CMD killed by SIGTERM,
#     127 for a CMD that does not exist); SIGTERM to haq-lock reaches CMD;
#     CMD inherits haq-lock's descriptor 3 and none of corosync's;
#  e. the holder's haq-lock is stopped (SIGSTOP) past its lease: nobody is
#     granted the lock meanwhile; resumed, it exits 75.
# Runs on a 3-node cluster of its own (it isolates a node).
set -euo pipefail
srcdir=${srcdir:-.}
harness=$(readlink -f "${HAQ_CLUSTER:-$srcdir/tests/harness/haq-cluster}")
if [[ ${HAQ_LOCK_INNER:-} != 1 ]]; then
	export HAQ_LOCK_INNER=1
	exec env -u HAQ_CLUSTER_DIR "$harness" run 3 --cmd-timeout 300 -- "$0" "$@"
fi
H=$harness
lock=$PWD/examples/haq-lock
[[ -x $lock ]] || {
	echo "ERROR: $lock was not built (make examples/haq-lock)"
	exit 99
}
group="check-lock-$$"
tmp=$(mktemp -d)
log=$tmp/log
: >"$log"
declare -a pids=()
cleanup() {
	local rc=$? p
	trap - EXIT INT TERM
	for p in "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	# The haq-locks themselves (their CMDs die with them).
	for p in "$tmp"/*.pid; do
		[[ -e $p ]] && { kill -KILL "$(cat "$p")" 2>/dev/null || true; }
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	if ((rc != 0)); then
		echo "--- the CMDs' log"
		cat "$log"
		for f in "$tmp"/*.err; do
			[[ -s $f ]] || continue
			echo "--- $(basename "$f")"
			tail -n 30 "$f"
		done
	fi
	"$H" unpartition >/dev/null 2>&1 || true
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
	echo "FAIL: $*"
	exit 1
}

now() { date +%s%N; }

# The CMD: rec TAG SECONDS [STATUS]. Logs its start, its end (or the
# SIGTERM it got), sleeps, exits STATUS.
cat >"$tmp/rec" <<EOF
#!/bin/sh
echo "start \$1 \$HAQ_LOCK_TOKEN \$(date +%s%N)" >>"$log"
trap 'echo "term \$1 \$HAQ_LOCK_TOKEN \$(date +%s%N)" >>"$log"; exit 143' TERM
sleep "\$2" &
wait \$!
echo "end \$1 \$HAQ_LOCK_TOKEN \$(date +%s%N)" >>"$log"
exit "\${3:-0}"
EOF
chmod +x "$tmp/rec"
rec=$tmp/rec

# Run haq-lock on node K in the background; its pid goes to $tmp/TAG.pid,
# its status and the time it exited to $tmp/TAG.rc. Args: K TAG HAQ-LOCK-ARGS...
start_lock() {
	local k=$1 tag=$2
	shift 2
	ip netns exec "$("$H" ns "$k")" bash -c \
		'"$@" 2>"'"$tmp/$tag.err"'" & echo $! >"'"$tmp/$tag.pid"'"; wait $!
		echo "$? $(date +%s%N)" >"'"$tmp/$tag.rc"'"' \
		bash "$lock" -v "$@" &
	pids+=($!)
}

# Run haq-lock on node K in the foreground; prints its exit status.
run_lock() { # K TAG HAQ-LOCK-ARGS...
	local k=$1 tag=$2 st=0
	shift 2
	ip netns exec "$("$H" ns "$k")" "$lock" -v "$@" 2>"$tmp/$tag.err" || st=$?
	echo "$st"
}

# Wait until LOG has a line matching REGEX (default 30 s).
wait_log() { # REGEX [TIMEOUT_S]
	local i
	for ((i = 0; i < ${2:-30} * 20; i++)); do
		grep -q -- "$1" "$log" && return 0
		sleep 0.05
	done
	fail "no line '$1' in the log after ${2:-30} s"
}

wait_rc() { # TAG [TIMEOUT_S]
	local i
	for ((i = 0; i < ${2:-30} * 20; i++)); do
		[[ -s $tmp/$1.rc ]] && return 0
		sleep 0.05
	done
	fail "haq-lock $1 did not exit in ${2:-30} s"
}

field() { # KIND TAG FIELD(3: token, 4: time)
	awk -v k="$1" -v t="$2" -v f="$3" '$1 == k && $2 == t { print $f; exit }' "$log"
}

# The CMDs' intervals do not overlap; tokens increase in start order.
# Not e-held: SIGKILL ended it (its lease had run out), unlogged.
check_log() {
	python3 - "$log" <<'EOF' || fail "the CMDs' intervals or tokens are wrong (above)"
import sys
ev = [l.split() for l in open(sys.argv[1]) if l.strip()]
runs = {}
for kind, tag, token, t in ev:
    if tag == "e-held":
        continue
    r = runs.setdefault(tag, {"token": int(token)})
    r[kind] = int(t)
bad = False
order = sorted(runs.items(), key=lambda kv: kv[1]["start"])
for (ta, a), (tb, b) in zip(order, order[1:]):
    end = a.get("end", a.get("term"))
    if end is None or b["start"] <= end:
        print("%s [%s, %s] overlaps %s starting %d" % (ta, a["start"], end, tb, b["start"]))
        bad = True
    if b["token"] <= a["token"]:
        print("%s token %d after %s token %d" % (tb, b["token"], ta, a["token"]))
        bad = True
print("%d runs, tokens increasing, no overlap" % len(runs) if not bad else "")
sys.exit(bad)
EOF
}

echo "== a, b: a holder on node 1, a waiter on node 2, --nonblock and --wait on node 3"
start_lock 1 a1 "$group" L -- "$rec" a1 2
wait_log '^start a1 '
t_waiter=$(now)
start_lock 2 a2 "$group" L -- "$rec" a2 0.2
t0=$(now)
st=$(run_lock 3 b-nonblock -n "$group" L -- "$rec" b-nonblock 0)
t1=$(now)
((st == 1)) || fail "--nonblock while held: status $st, expected 1"
((t1 - t0 < 1500000000)) || fail "--nonblock took $(((t1 - t0) / 1000000)) ms"
echo "--nonblock: status 1 after $(((t1 - t0) / 1000000)) ms"
t0=$(now)
st=$(run_lock 3 b-wait -w 1 "$group" L -- "$rec" b-wait 0)
t1=$(now)
((st == 1)) || fail "--wait 1 while held: status $st, expected 1"
((t1 - t0 >= 1000000000 && t1 - t0 < 2500000000)) ||
	fail "--wait 1 took $(((t1 - t0) / 1000000)) ms"
echo "--wait 1: status 1 after $(((t1 - t0) / 1000000)) ms"
grep -q ' b-' "$log" && fail "a CMD ran for --nonblock or --wait"
wait_rc a1
wait_rc a2
read -r st _ <"$tmp/a1.rc"
((st == 0)) || fail "the holder exited $st"
read -r st _ <"$tmp/a2.rc"
((st == 0)) || fail "the waiter exited $st"
a1_end=$(field end a1 4)
a2_start=$(field start a2 4)
((t_waiter < a1_end)) || fail "the waiter was started after the holder ended"
((a2_start > a1_end)) || fail "the waiter started before the holder ended"
(($(field start a2 3) > $(field start a1 3))) || fail "the waiter's token is not higher"
echo "waiter: started $(((a2_start - a1_end) / 1000000)) ms after the holder ended"

echo "== a: nodes 1, 2 and 3 contend, 4 times each"
for k in 1 2 3; do
	(
		for i in 1 2 3 4; do
			ip netns exec "$("$H" ns "$k")" "$lock" -v "$group" L -- \
				"$rec" "c$k-$i" 0.05 2>>"$tmp/c$k.err" &
			echo $! >"$tmp/c$k.pid"
			wait $! || echo "haq-lock c$k-$i exited $?" >>"$tmp/c.fail"
		done
	) &
	pids+=($!)
done
for ((i = 0; i < 600; i++)); do
	(($(grep -c '^end c' "$log") >= 12)) && break
	sleep 0.1
done
[[ -e $tmp/c.fail ]] && fail "$(cat "$tmp/c.fail")"
(($(grep -c '^end c' "$log") == 12)) || fail "not all 12 contending CMDs ran"
check_log

echo "== d: exit statuses, a signal passed on"
st=$(run_lock 2 d7 "$group" L -- "$rec" d7 0 7)
((st == 7)) || fail "CMD exited 7, haq-lock $st"
st=$(run_lock 2 d-term "$group" L -- sh -c 'kill -TERM $$')
((st == 143)) || fail "CMD killed by SIGTERM, haq-lock exited $st (expected 143)"
st=$(run_lock 2 d-none "$group" L -- "$tmp/does-not-exist")
((st == 127)) || fail "a CMD that does not exist: haq-lock exited $st (expected 127)"
start_lock 3 d-sig "$group" L -- "$rec" d-sig 30 0
wait_log '^start d-sig '
kill -TERM "$(cat "$tmp/d-sig.pid")"
wait_rc d-sig
read -r st _ <"$tmp/d-sig.rc"
((st == 143)) || fail "SIGTERM to haq-lock: it exited $st (expected CMD's 143)"
wait_log '^term d-sig '
echo "statuses 7, 143, 127 passed on; SIGTERM reached CMD"
# CMD inherits the descriptors haq-lock was started with, and none of
# corosync's, libqb's or the loop's.
echo inherited >"$tmp/fd3"
out=$(ip netns exec "$("$H" ns 2)" "$lock" "$group" L -- sh -c \
	'cat <&3; ls -l /proc/$$/fd/' 3<"$tmp/fd3" 2>"$tmp/d-fd.err")
grep -qx inherited <<<"$out" || fail "CMD did not get descriptor 3: $out"
if grep -E 'socket:|anon_inode:|/dev/shm/|qb-' <<<"$out"; then
	fail "CMD inherited descriptors of haq-lock's own (above)"
fi
echo "CMD got descriptor 3 and none of haq-lock's own"

echo "== e: the holder is paused past its lease"
# The others see its process as a member all along: nobody is granted the
# lock while it is stopped; resumed, it finds its lease run out, kills CMD
# and exits 75.
start_lock 1 e-held "$group" L -- "$rec" e-held 60
wait_log '^start e-held '
start_lock 2 e-next "$group" L -- "$rec" e-next 0.1
sleep 0.3
kill -STOP "$(cat "$tmp/e-held.pid")"
t_stop=$(now)
sleep 7
t_cont=$(now)
kill -CONT "$(cat "$tmp/e-held.pid")"
wait_rc e-held
read -r st _ <"$tmp/e-held.rc"
((st == 75)) || fail "the paused holder's haq-lock exited $st (expected 75)"
grep -q "lost lock 'L' (the lease ran out)" "$tmp/e-held.err" ||
	fail "the paused holder did not say its lease ran out"
wait_log '^start e-next '
t_next=$(field start e-next 4)
((t_next > t_cont)) || fail "the waiter started while the holder was paused"
echo "stopped 7 s: nobody granted meanwhile; resumed: exit 75, the waiter's" \
	"CMD started $(((t_next - t_cont) / 1000000)) ms after SIGCONT"
wait_rc e-next

echo "== c: the holder's node is isolated"
start_lock 1 c-held "$group" L -- "$rec" c-held 60
wait_log '^start c-held '
start_lock 2 c-next "$group" L -- "$rec" c-next 0.1
sleep 0.5
t_cut=$(now)
"$H" isolate 1
wait_rc c-held 30
read -r st t_exit <"$tmp/c-held.rc"
((st == 75)) || fail "the cut-off holder's haq-lock exited $st (expected 75)"
wait_log '^start c-next ' 30
t_next=$(field start c-next 4)
t_term=$(field term c-held 4)
[[ -n $t_term ]] || fail "the cut-off CMD was not sent SIGTERM"
((t_term < t_next)) || fail "the next CMD started before the cut-off CMD was killed"
((t_exit < t_next)) || fail "the next CMD started before the cut-off haq-lock exited"
echo "cut at 0; holder's CMD killed at +$(((t_term - t_cut) / 1000000)) ms," \
	"its haq-lock exited (75) at +$(((t_exit - t_cut) / 1000000)) ms," \
	"the waiter's CMD started at +$(((t_next - t_cut) / 1000000)) ms"
grep 'lost lock' "$tmp/c-held.err" || true
wait_rc c-next
read -r st _ <"$tmp/c-next.rc"
((st == 0)) || fail "the waiter on node 2 exited $st"
"$H" heal 1
"$H" wait-members 1 3 >/dev/null
"$H" wait-quorate 1 yes >/dev/null
check_log
echo "PASS"
