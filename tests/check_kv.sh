#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# haq-kv on a real 3-node cluster: updates in the agreed order and state
# transfer to joiners, under load.
#  1. haq-kv on node 1 alone holds the state; 1000 keys are set;
#  2. haq-kv starts on nodes 2 and 3 while node 1 keeps setting keys (and
#     overwriting some) until both receive the state and hold it;
#  3. all three set keys (200 of them on all three at once, with values
#     that depend on the agreed order), set keys of their own and delete
#     keys, at the same time;
#  4. two rounds of "sync" (the second starts after every member's first
#     came back, so it is ordered after every update), then "dump": the
#     three dumps are equal, their checksums equal and agree with the
#     entries, and a reference model of the updates says which keys exist
#     with which values (the keys all three set: one of the three values,
#     the same on every node); then "quit": exit status 0.
#  5. corosync is killed on node 3 and started again while node 1 sets
#     keys: haq-kv on node 3 reconnects and receives the state again; more
#     updates from nodes 2 and 3, sync, dump: equal again, and the model's;
#  6. node 3 is cut off (not quorate) and applies updates alone while node 1
#     updates too; at the heal node 3 receives node 1's state (a replace):
#     node 3's updates are gone, node 1's are everywhere, the model's;
#  7. in another group, tests/kv-peer provides four malformed states, then a
#     valid one: haq-kv says why each time, leaves, joins again, and ends
#     with the valid one; kv-peer's malformed updates are dropped, counted,
#     and the valid one after them is applied.
# Runs on a 3-node cluster of its own (it kills a corosync).
# HAQ_TEST_LOG=1: haq-kv prints libhaq's debug log on its stderr, which is
# shown on failure with the rest of its stderr.
set -euo pipefail
srcdir=${srcdir:-.}
harness=$(readlink -f "${HAQ_CLUSTER:-$srcdir/tests/harness/haq-cluster}")
# It kills a corosync: always on a cluster of its own.
if [[ ${HAQ_KV_INNER:-} != 1 ]]; then
	export HAQ_KV_INNER=1
	exec env -u HAQ_CLUSTER_DIR "$harness" run 3 --cmd-timeout 600 -- "$0" "$@"
fi
H=$harness
kv=$PWD/examples/haq-kv
peer=$PWD/tests/kv-peer
for p in "$kv" "$peer"; do
	[[ -x $p ]] || {
		echo "ERROR: $p was not built (make ${p#"$PWD"/})"
		exit 99
	}
done
group="check-kv-$$"
verbose=()
[[ -n ${HAQ_TEST_LOG:-} ]] && verbose=(-vv)
# HAQ_KV_WRAPPER="valgrind -q": a command that runs each haq-kv.
read -r -a wrapper <<<"${HAQ_KV_WRAPPER:-}"

tmp=$(mktemp -d)
declare -a pids=() fds=() cats=()
writer=
cleanup() {
	local rc=$? p
	trap - EXIT INT TERM
	[[ -n $writer ]] && kill "$writer" 2>/dev/null
	for p in "${cats[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	[[ -n $writer ]] && { wait "$writer" 2>/dev/null || true; }
	if ((rc != 0)); then
		for k in 1 2 3; do
			[[ -f $tmp/err$k ]] || continue
			echo "--- stderr of haq-kv on node $k (last 60 lines)"
			tail -n 60 "$tmp/err$k"
		done
		if [[ -f $tmp/peer.err ]]; then
			echo "--- stderr of kv-peer"
			tail -n 20 "$tmp/peer.err"
		fi
	fi
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

# Start haq-kv on node K, its standard input a FIFO kept open on fds[K].
start_kv() { # K
	local k=$1 fd
	mkfifo "$tmp/in$k"
	ip netns exec "$("$H" ns "$k")" "${wrapper[@]}" "$kv" --group "$group" --dump \
		"${verbose[@]}" <"$tmp/in$k" >>"$tmp/out$k" 2>"$tmp/err$k" &
	pids[k]=$!
	exec {fd}>"$tmp/in$k"
	fds[k]=$fd
}

say() { # K LINE...
	local k=$1
	shift
	printf '%s\n' "$@" >&"${fds[k]}"
}

# Wait until node K's output has COUNT lines equal to LINE.
wait_lines() { # K LINE COUNT [TIMEOUT_S]
	local k=$1 line=$2 count=$3 limit=$((${4:-60} * 10)) i n
	for ((i = 0; i < limit; i++)); do
		n=$(grep -cx -- "$line" "$tmp/out$k" || true)
		((n >= count)) && return 0
		kill -0 "${pids[k]}" 2>/dev/null || fail "haq-kv on node $k exited (waiting for '$line')"
		sleep 0.1
	done
	fail "node $k: no ${count}th '$line' line after ${4:-60} s"
}

# The dumps in node K's output against a reference model: what the
# updates imply, in any agreed order. Args: STAGE (0: steps 1-4, 1: and
# step 5, 2: and step 6), DUMPS (how many each output holds).
cat >"$tmp/model.py" <<'EOF'
import sys

tmp = sys.argv[1]
nkeys = int(sys.argv[2])
stage = int(sys.argv[3])
ndumps = int(sys.argv[4])


def fnv(table):
    h = 0xCBF29CE484222325
    for k in sorted(table, key=lambda s: s.encode()):
        for b in k.encode() + b"\0" + table[k].encode() + b"\0":
            h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def dumps(k):
    """Every dump in node k's output: (entries, checksum) in order."""
    out, cur = [], None
    for line in open("%s/out%d" % (tmp, k)).read().splitlines():
        if line in ("held", "synced"):
            cur = None
        elif line.startswith("checksum "):
            out.append((cur or [], line.split()[1]))
            cur = None
        else:
            cur = (cur or []) + [line]
    return out


# The reference: what the updates imply, in any agreed order.
model = {}
for j in range(nkeys):
    model["k%d" % j] = "v%d" % j
for j in range(900, 1000):
    model["k%d" % j] = "w%d" % j
for k in (1, 2, 3):
    for i in range(300):
        model["own-%d-%d" % (k, i)] = "o%d-%d" % (k, i)
    for i in range(200):
        model.pop("k%d" % (3 * i + k - 1), None)
shared = {"shared-%d" % i for i in range(200)}
if stage >= 1:
    for i in range(200):
        model["during-%d" % i] = "d%d" % i
    for i in range(100):
        model["after-2-%d" % i] = "a%d" % i
        model["after-3-%d" % i] = "a%d" % i
        model.pop("own-3-%d" % i, None)
if stage >= 2:
    for i in range(50):
        model["majority-%d" % i] = "M%d" % i
        model.pop("after-2-%d" % i, None)

bad = False
sums = {}
for k in (1, 2, 3):
    d = dumps(k)
    if len(d) != ndumps:
        print("node %d: %d dumps, expected %d" % (k, len(d), ndumps))
        bad = True
        continue
    for n, (lines, csum) in enumerate(d):
        table = dict(l.split(" ", 1) for l in lines)
        keys = [l.split(" ", 1)[0] for l in lines]
        if keys != sorted(keys, key=lambda s: s.encode()):
            print("node %d dump %d: keys not sorted" % (k, n))
            bad = True
        if fnv(table) != csum:
            print("node %d dump %d: checksum %s, entries give %s" % (k, n, csum, fnv(table)))
            bad = True
        want = dict(model)
        for s in shared:
            v = table.get(s)
            if v not in ("from-1", "from-2", "from-3"):
                print("node %d: %s is %r" % (k, s, v))
                bad = True
            want[s] = v
        if table != want:
            extra = sorted(set(table) - set(want))[:5]
            missing = sorted(set(want) - set(table))[:5]
            diff = sorted(x for x in set(want) & set(table) if want[x] != table[x])[:5]
            print("node %d dump %d: %d keys, model %d; extra %s missing %s different %s"
                  % (k, n, len(table), len(want), extra, missing, diff))
            bad = True
        sums[(k, n)] = csum
    print("node %d: %d keys, checksum %s" % (k, len(d[0][0]), d[0][1]))
if len(set(sums.values())) != 1:
    print("checksums differ: %s" % sums)
    bad = True
print("model: %d keys" % (len(model) + len(shared)))
sys.exit(1 if bad else 0)
EOF
check_dumps() { # STAGE DUMPS
	python3 "$tmp/model.py" "$tmp" "$nkeys" "$1" "$2" || fail "the dumps disagree (above)"
}

echo "== node 1 alone: 1000 keys"
start_kv 1
say 1 wait-held
wait_lines 1 held 1
seq 0 999 | awk '{ print "set k" $1 " v" $1 }' >&"${fds[1]}"
say 1 sync
wait_lines 1 synced 1

echo "== nodes 2 and 3 join while node 1 keeps setting keys"
# 20 keys every 30 ms, until both joiners hold the state and at least
# 2000 keys were set: the joins and the transfers happen under it. It also
# overwrites k900..k999, one per batch. The keys it set: $tmp/nwritten.
(
	b=0
	while ((b < 100)) || [[ ! -e $tmp/stop ]]; do
		for ((i = b * 20; i < b * 20 + 20; i++)); do
			echo "set k$((1000 + i)) v$((1000 + i))"
		done
		((b < 100)) && echo "set k$((900 + b)) w$((900 + b))"
		b=$((b + 1))
		sleep 0.03
	done >&"${fds[1]}"
	echo $((b * 20)) >"$tmp/nwritten"
) &
writer=$!
start_kv 2
start_kv 3
say 2 wait-held
say 3 wait-held
wait_lines 2 held 1
wait_lines 3 held 1
touch "$tmp/stop"
wait "$writer" || fail "the writer to node 1 failed"
writer=
nkeys=$((1000 + $(cat "$tmp/nwritten")))
echo "node 1 set $nkeys keys in all"
for k in 2 3; do
	n=$(sed -n 's/^haq-kv: state: done, \([0-9]*\) keys.*/\1/p' "$tmp/err$k" | tail -n 1)
	[[ -n $n ]] || fail "node $k holds the state without a completed transfer"
	((n < nkeys)) || echo "(node $k received the state after the last update: no load)"
done
grep -q '^haq-kv: state: provided' "$tmp/err1" || fail "node 1 never provided the state"
for k in 1 2 3; do
	sed -n "s/^haq-kv: state: /node $k: state: /p" "$tmp/err$k"
done

echo "== all three set, overwrite and delete at once"
for k in 1 2 3; do
	{
		for ((i = 0; i < 300; i++)); do
			echo "set own-$k-$i o$k-$i"
			((i < 200)) && echo "set shared-$i from-$k"
			((i < 200)) && echo "del k$((3 * i + k - 1))"
		done
		echo sync
	} >"$tmp/cmds$k"
done
for k in 1 2 3; do
	cat "$tmp/cmds$k" >&"${fds[k]}" &
	cats+=($!)
done
for p in "${cats[@]}"; do
	wait "$p" || fail "writing the commands failed (did a haq-kv exit?)"
done
cats=()
wait_lines 1 synced 2
wait_lines 2 synced 1
wait_lines 3 synced 1
echo "== second sync round, then dump"
say 1 sync
say 2 sync
say 3 sync
wait_lines 1 synced 3
wait_lines 2 synced 2
wait_lines 3 synced 2
for k in 1 2 3; do
	say "$k" dump
done
for k in 1 2 3; do
	wait_lines "$k" "checksum [0-9a-f]*" 1
done

echo "== compare with the reference model"
check_dumps 0 1
for k in 1 2 3; do
	: >"$tmp/out$k" # appended to: the next lines start at 0
done

echo "== corosync killed on node 3 and started again, node 1 sets keys meanwhile"
"$H" kill 3
grep_wait() { # K REGEX [TIMEOUT_S]
	local i
	for ((i = 0; i < ${3:-60} * 10; i++)); do
		grep -q -- "$2" "$tmp/err$1" && return 0
		sleep 0.1
	done
	fail "node $1: no line '$2' on stderr after ${3:-60} s"
}
grep_wait 3 '^haq-kv: lost the connection to corosync; reconnecting$'
for ((i = 0; i < 200; i++)); do
	echo "set during-$i d$i"
done >&"${fds[1]}"
"$H" start-node 3
"$H" wait-members 1 3
"$H" wait-members 3 3
grep_wait 3 '^haq-kv: reconnected to corosync$'
# The state received after the reconnect (a plain join, or a replace if
# node 3 formed a ring of its own for a moment).
for ((i = 0; i < 600; i++)); do
	awk '/^haq-kv: reconnected to corosync$/ { r = 1 }
		r && /^haq-kv: state: done, / { f = 1 } END { exit !f }' \
		"$tmp/err3" && break
	sleep 0.1
done
sed -n '/^haq-kv: reconnected/,$p' "$tmp/err3" | grep '^haq-kv: \(state\|view\)' ||
	true
awk '/^haq-kv: reconnected to corosync$/ { r = 1 }
	r && /^haq-kv: state: done, / { f = 1 } END { exit !f }' "$tmp/err3" ||
	fail "node 3 did not receive the state after its reconnect"
say 3 wait-held
wait_lines 3 held 1
for ((i = 0; i < 100; i++)); do
	echo "set after-2-$i a$i"
done >&"${fds[2]}"
for ((i = 0; i < 100; i++)); do
	echo "set after-3-$i a$i"
	echo "del own-3-$i"
done >&"${fds[3]}"
for round in 1 2; do
	for k in 1 2 3; do
		say "$k" sync
	done
	for k in 1 2 3; do
		wait_lines "$k" synced "$round"
	done
done
for k in 1 2 3; do
	say "$k" dump
done
for k in 1 2 3; do
	wait_lines "$k" "checksum [0-9a-f]*" 1
done
check_dumps 1 1
for k in 1 2 3; do
	: >"$tmp/out$k"
done

echo "== node 3 cut off; both sides update; healed: node 3's state is replaced"
"$H" isolate 3
"$H" wait-quorate 3 no
"$H" wait-members 1 2
nerr3=$(wc -l <"$tmp/err3")
# Node 3 alone still holds its state and applies its own updates...
for ((i = 0; i < 50; i++)); do
	echo "set minority-$i m$i"
done >&"${fds[3]}"
say 3 sync "get minority-0"
wait_lines 3 synced 1
wait_lines 3 "value m0" 1
for ((i = 0; i < 50; i++)); do
	echo "set majority-$i M$i"
	echo "del after-2-$i"
done >&"${fds[1]}"
say 1 sync
wait_lines 1 synced 1
"$H" heal 3
"$H" wait-members 3 3
"$H" wait-members 1 3
# ...which the quorate side's state replaces at the heal.
for ((i = 0; i < 600; i++)); do
	grep -q '^haq-kv: state: done, ' < <(tail -n +"$((nerr3 + 1))" "$tmp/err3") && break
	sleep 0.1
done
tail -n +"$((nerr3 + 1))" "$tmp/err3" | grep '^haq-kv: \(state\|view\)' || true
grep -q '^haq-kv: state: replaced after a heal' < <(tail -n +"$((nerr3 + 1))" "$tmp/err3") ||
	fail "node 3's state was not replaced after the heal"
grep -q '^haq-kv: state: done, ' < <(tail -n +"$((nerr3 + 1))" "$tmp/err3") ||
	fail "node 3 did not receive the state after the heal"
for round in 2 3; do
	for k in 1 2 3; do
		say "$k" sync
	done
	for k in 1 2 3; do
		wait_lines "$k" synced "$((round - (k == 2 ? 1 : 0)))"
	done
done
for k in 1 2 3; do
	say "$k" dump
done
for k in 1 2 3; do
	wait_lines "$k" "checksum [0-9a-f]*" 1
done

echo "== quit"
for k in 1 2 3; do
	say "$k" quit
	fd=${fds[k]}
	exec {fd}>&-
done
for k in 1 2 3; do
	st=0
	for ((i = 0; i < 300; i++)); do
		kill -0 "${pids[k]}" 2>/dev/null || break
		sleep 0.1
	done
	wait "${pids[k]}" || st=$?
	((st == 0)) || fail "haq-kv on node $k exited with status $st"
	pids[k]=
done
echo "== compare with the reference model (the dump command, at exit)"
check_dumps 2 2

echo "== a malformed state and malformed updates (tests/kv-peer)"
# kv-peer holds the state of a fresh group and provides it; its first four
# states are malformed: each time haq-kv says why, leaves, joins again and
# receives the next one; the fifth is valid. Then kv-peer's malformed updates are dropped
# and counted, and the valid one after them is applied.
bad="$group-bad"
ip netns exec "$("$H" ns 1)" "$peer" "$bad" >"$tmp/peer.out" 2>"$tmp/peer.err" &
pids[4]=$!
for ((i = 0; i < 300; i++)); do
	grep -qx ready "$tmp/peer.out" 2>/dev/null && break
	kill -0 "${pids[4]}" 2>/dev/null || fail "kv-peer exited: $(cat "$tmp/peer.err")"
	sleep 0.1
done
grep -qx ready "$tmp/peer.out" || fail "kv-peer never held the state"
group=$bad
rm -f "$tmp/out2" "$tmp/err2" "$tmp/in2"
start_kv 2
say 2 wait-held
wait_lines 2 held 1
grep '^haq-kv: state: malformed' "$tmp/err2" || true
want="an entry with a bad key or value length
keys out of order
the checksum does not match the entries
the state ended early"
got=$(sed -n 's/^haq-kv: state: malformed state in transfer [0-9a-f]* after [0-9]* bytes: \(.*\); leaving the group and joining it again$/\1/p' "$tmp/err2")
[[ $got == "$want" ]] || fail "haq-kv did not report the 4 malformed states in turn"
(($(grep -cx "haq-kv: joined group '$bad' again" "$tmp/err2") == 4)) ||
	fail "haq-kv did not join again 4 times"
grep -qx "provided 5" "$tmp/peer.out" || fail "kv-peer did not provide 5 times"
say 2 dump
wait_lines 2 "checksum [0-9a-f]*" 1
[[ $(grep -v -x -e held "$tmp/out2") == "peer-key ok"$'\n'"checksum 3868d1849ffd7dc9" ]] ||
	fail "after the second transfer: $(cat "$tmp/out2")"
kill -USR1 "${pids[4]}"
for ((i = 0; i < 300; i++)); do
	(($(grep -c '^haq-kv: dropped a malformed update' "$tmp/err2") >= 7)) && break
	sleep 0.1
done
grep '^haq-kv: dropped' "$tmp/err2"
(($(grep -c '^haq-kv: dropped a malformed update' "$tmp/err2") == 7)) ||
	fail "haq-kv did not drop the 7 malformed updates"
say 2 "get junk-end"
wait_lines 2 "value ok" 1 10
say 2 quit
fd=${fds[2]}
exec {fd}>&-
st=0
wait "${pids[2]}" || st=$?
pids[2]=
((st == 0)) || fail "haq-kv exited with status $st after the malformed updates"
grep -qx "haq-kv: 7 malformed update(s) from peers were dropped" "$tmp/err2" ||
	fail "haq-kv did not count the dropped updates"
echo "PASS"
