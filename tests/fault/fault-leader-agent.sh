#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# haq-leader as a resource manager: an OCF agent (ocf:heartbeat:Dummy,
# through a wrapper that records when each start and stop began and ended)
# on every node of a 3-node cluster.
#  1. A missing agent and bad command lines give a clear error.
#  2. Exactly one node runs the resource.
#  3. SIGTERM to the leader's haq-leader: another node starts it, and only
#     after the old node's stop finished (stop before start).
#  4. The leader's monitor fails (its Dummy state file removed): it stops
#     the resource, resigns, and another node starts it after that stop.
#  5. The leader's monitor hangs: it is killed at --monitor-timeout, and the
#     resource moves the same way.
#  6. A failed stop blocks: the leader keeps the leadership (nobody else
#     starts a second copy); SIGTERM runs the stop again, and once it
#     succeeds the resource moves.
#  7. The leader's monitor returns 42, not an OCF exit code: it says so,
#     stops the resource, resigns, and a new haq-leader takes over.
#  8. A start fails (on node 3, elected when node 1's monitor fails): it
#     stops, resigns, and node 1, healthy again, takes the resource back.
#  9. Shell commands: --monitor fails twice in a row on the leader
#     (--monitor-failures 2): it demotes, resigns, another node promotes.
# 10. ocf:heartbeat:IPaddr2 with an unused address of the harness's private
#     subnet: exactly one node holds it; SIGTERM to its haq-leader moves it,
#     never on two nodes at once.
# Throughout, the records show no two copies running at once.
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh disable=SC2016
. "$(dirname "$0")/fault-lib.sh"

DUMMY=/usr/lib/ocf/resource.d/heartbeat/Dummy
if [[ -z ${HAQ_FAULT_INNER:-} && ! -x $DUMMY ]]; then
	echo "$FAULT_NAME: SKIP: $DUMMY is missing (apt install resource-agents)"
	exit 77
fi
fault_main 3 90 "$@"

LEADER_BIN=${HAQ_LEADER_BIN:-$FAULT_BUILDDIR/../../examples/haq-leader}
[[ -x $LEADER_BIN ]] || fail "$LEADER_BIN is missing: run make"
D=$LOGDIR/agent
mkdir -p "$D/ocf/resource.d/haqtest"
# A private OCF_ROOT: haq-leader must find the agent through it.
ln -s /usr/lib/ocf/lib "$D/ocf/lib"
RECORD=$D/actions.log
: >"$RECORD"
cat >"$D/ocf/resource.d/haqtest/Wrap" <<'EOF'
#!/bin/sh
# Dummy, with each start and stop recorded in $OCF_RESKEY_record as
# "TIME NODE ACTION begin|end [RC]"; a monitor hangs while the file
# $OCF_RESKEY_hang exists; a stop takes $OCF_RESKEY_stop_delay seconds more,
# and fails while the file $OCF_RESKEY_stopfail exists; a start fails
# while $OCF_RESKEY_startfail exists; a monitor returns 42 while the file
# $OCF_RESKEY_weird exists.
act=$1 node=$OCF_RESKEY_node record=$OCF_RESKEY_record
if [ "$act" = monitor ] && [ -e "$OCF_RESKEY_hang" ]; then
	sleep 60
fi
if [ "$act" = monitor ] && [ -e "$OCF_RESKEY_weird" ]; then
	exit 42
fi
case $act in start | stop)
	echo "$(date +%s.%N) $node $act begin timeout=$OCF_RESKEY_CRM_meta_timeout instance=$OCF_RESOURCE_INSTANCE" >>"$record"
esac
[ "$act" = stop ] && sleep "${OCF_RESKEY_stop_delay:-0}"
if [ "$act" = stop ] && [ -e "$OCF_RESKEY_stopfail" ]; then
	echo "Wrap: stop fails on purpose" >&2
	rc=1
elif [ "$act" = start ] && [ -e "$OCF_RESKEY_startfail" ]; then
	echo "Wrap: start fails on purpose" >&2
	rc=1
else
	OCF_ROOT=/usr/lib/ocf /usr/lib/ocf/resource.d/heartbeat/Dummy "$act"
	rc=$?
fi
case $act in start | stop)
	echo "$(date +%s.%N) $node $act end $rc" >>"$record"
esac
exit $rc
EOF
chmod +x "$D/ocf/resource.d/haqtest/Wrap"

declare -A LPID=() LLOG=() SLOG=()
# leader_start K [RUN]: haq-leader with the wrapper agent on node K (its
# RUNth start there; the log has the number).
leader_start() {
	local k=$1
	LLOG[$k]=$LOGDIR/haq-leader-$k${2:+-$2}.log
	"$H" spawn "$k" --log "${LLOG[$k]}" -- env OCF_ROOT="$D/ocf" \
		sh -c '"$0" "$@"; echo "haq-leader exit status $?"' \
		"$LEADER_BIN" "$GROUP" --agent ocf:haqtest:Wrap \
		--instance dummy --monitor-interval 0.5 --monitor-timeout 2 \
		--stop-timeout 10 \
		state="$D/node$k.state" node="$k" record="$RECORD" \
		hang="$D/hang$k" stopfail="$D/stopfail$k" weird="$D/weird$k" \
		startfail="$D/startfail$k" \
		stop_delay=0.5 \
		>/dev/null
	wait_until 10 "haq-leader to start on node $k" \
		grep -q 'starting: group' "${LLOG[$k]}"
	LPID[$k]=$(sed -n 's/.*starting: group .*, pid \([0-9]*\)$/\1/p' \
		"${LLOG[$k]}" | head -n 1)
	say "haq-leader on node $k: pid ${LPID[$k]}"
}

# The nodes whose Dummy state file exists (the resource runs there).
running() {
	local k out=
	for k in 1 2 3; do
		[[ -e $D/node$k.state ]] && out+="$k "
	done
	echo "${out% }"
}

# one_runs_on SET: exactly one node runs it, one of SET ("2 3").
ONE=
one_runs_on() {
	local r
	r=$(running)
	[[ -n $r && $r != *" "* && " $1 " == *" $r "* ]] || return 1
	ONE=$r
}

# Time (s.ns) of the last "NODE ACTION PHASE" record.
when() {
	awk -v n="$1" -v a="$2" -v p="$3" '$2 == n && $3 == a && $4 == p { t = $1 } END { print t }' "$RECORD"
}

# stop_before_start OLD NEW: OLD's last stop ended (successfully) before
# NEW's last start began, and no start overlapped with a running copy.
stop_before_start() {
	local old=$1 new=$2 t_stop t_start
	t_stop=$(when "$old" stop end)
	t_start=$(when "$new" start begin)
	[[ -n $t_stop && -n $t_start ]] || fail "no stop of node $old or no start of node $new recorded"
	awk -v a="$t_stop" -v b="$t_start" 'BEGIN { exit !(a < b) }' ||
		fail "node $new started at $t_start before node $old's stop ended at $t_stop"
	say "stop before start: node $old's stop ended $(awk -v a="$t_stop" -v b="$t_start" 'BEGIN { printf "%.3f", b - a }') s before node $new's start began"
}

# No two copies ever ran at once: replay the records.
no_overlap() {
	awk '$3 == "start" && $4 == "begin" { n++; if (n > 1) { print "overlap at " $1; bad = 1 } }
	     $3 == "stop" && $4 == "end" && $5 == 0 { if (n > 0) n-- }
	     END { exit bad }' "$RECORD" || fail "two copies ran at once: $RECORD"
}

say "1. bad input first (no cluster needed)"
out=$("$LEADER_BIN" "$GROUP" --agent ocf:haqtest:Missing 2>&1) && fail "a missing agent was accepted"
[[ $out == *"agent ocf:haqtest:Missing is not installed"* ]] || fail "unclear error for a missing agent: $out"
say "missing agent: $out"
out=$(OCF_ROOT=$D/ocf "$LEADER_BIN" "$GROUP" --agent ocf:haqtest:Missing 2>&1) && fail "a missing agent was accepted"
[[ $out == *"$D/ocf/resource.d/haqtest/Missing: No such file"* ]] || fail "OCF_ROOT not used: $out"
for bad in "--agent heartbeat:Dummy" "--agent ocf:heartbeat:Dummy =x" \
	"--agent ocf:heartbeat:Dummy state=a state=b" "--monitor-interval 1" \
	"--monitor true --monitor-failures 0" "--monitor true --monitor-timeout -1" \
	"--agent ocf:heartbeat:Dummy --demote true" "x=y" \
	"--agent ocf:heartbeat:Dummy --instance ../x" "--instance x"; do
	rc=0
	# shellcheck disable=SC2086
	out=$("$LEADER_BIN" "$GROUP" $bad 2>&1) || rc=$?
	((rc == 2)) || fail "'$bad': exit status $rc, not 2"
	say "'$bad': $out"
done

say "2. haq-leader with ocf:haqtest:Wrap (Dummy) on every node"
for k in 1 2 3; do leader_start "$k"; done
wait_until 20 "exactly one node to run the resource" one_runs_on "1 2 3"
first=$ONE
grep -q 'leader: this process' "${LLOG[$first]}" || fail "node $first runs it but does not lead"
grep -q "timeout=20000 instance=dummy" "$RECORD" || fail "OCF_RESKEY_CRM_meta_timeout or the instance not passed: $(cat "$RECORD")"
sleep 1.5
one_runs_on "$first" || fail "the resource moved or doubled: $(running)"
say "node $first runs the resource, alone"

say "3. SIGTERM to node $first's haq-leader"
kill -TERM "${LPID[$first]}"
rest=$(for k in 1 2 3; do ((k == first)) || printf '%s ' "$k"; done)
wait_until 20 "another node to run the resource" one_runs_on "${rest% }"
second=$ONE
wait_until 10 "node $first's haq-leader to exit" grep -q 'haq-leader exit status' "${LLOG[$first]}"
grep -q 'haq-leader exit status 0' "${LLOG[$first]}" || fail "node $first: $(grep 'exit status' "${LLOG[$first]}")"
stop_before_start "$first" "$second"

say "4. the monitor fails on node $second (its Dummy state file removed)"
third=$(for k in ${rest}; do ((k == second)) || echo "$k"; done)
rm -f "$D/node$second.state"
wait_until 20 "node $third to run the resource" one_runs_on "$third"
grep -q 'monitor: FAILED' "${LLOG[$second]}" || fail "node $second logged no monitor failure"
grep -q 'resigned: the service stopped here first' "${LLOG[$second]}" || fail "node $second did not resign"
stop_before_start "$second" "$third"
eligible_again() {
	grep -q 'eligible: the monitor passed' < <(sed -n '/resigned/,$p' "${LLOG[$1]}")
}
wait_until 10 "node $second to be eligible again" eligible_again "$second"

say "5. the monitor hangs on node $third"
touch "$D/hang$third"
wait_until 20 "node $second to run the resource" one_runs_on "$second"
grep -q 'monitor: TIMED OUT' "${LLOG[$third]}" || fail "node $third: no monitor timeout logged"
grep -q 'resigned: the service stopped here first' "${LLOG[$third]}" || fail "node $third did not resign"
stop_before_start "$third" "$second"
rm -f "$D/hang$third"
no_overlap
wait_until 10 "node $third to be eligible again" eligible_again "$third"

say "6. the stop fails on node $second"
touch "$D/stopfail$second"
rm -f "$D/node$second.state"
wait_until 10 "node $second to block" grep -q 'BLOCKED' "${LLOG[$second]}"
grep -q 'This process keeps the leadership' "${LLOG[$second]}" || fail "node $second: $(grep BLOCKED "${LLOG[$second]}")"
sleep 2
[[ -z $(running) ]] || fail "node $(running) started the resource while node $second was blocked"
t_block=$(when "$second" stop begin)
awk -v t="$t_block" '$1 > t && $3 == "start" { exit 1 }' "$RECORD" ||
	fail "a node started the resource while node $second was blocked"
say "node $second blocked; nobody else started the resource in 2 s"
rm -f "$D/stopfail$second"
kill -TERM "${LPID[$second]}"
wait_until 20 "node $third to run the resource" one_runs_on "$third"
wait_until 10 "node $second's haq-leader to exit" grep -q 'haq-leader exit status' "${LLOG[$second]}"
grep -q 'haq-leader exit status 0' "${LLOG[$second]}" || fail "node $second: $(grep 'exit status' "${LLOG[$second]}")"
grep -q 'running the demote again' "${LLOG[$second]}" || fail "node $second did not retry the demote"
stop_before_start "$second" "$third"

say "7. a new haq-leader on node 1; node $third's monitor returns 42"
leader_start 1 2
wait_until 10 "node 1 to be eligible" grep -q 'eligible: the monitor passed' "${LLOG[1]}"
touch "$D/weird$third"
wait_until 20 "node 1 to run the resource" one_runs_on 1
grep -q 'monitor: FAILED (1 of 1 in a row): exited with status 42 (not an OCF exit code)' "${LLOG[$third]}" ||
	fail "node $third: the unknown exit code was not reported clearly"
stop_before_start "$third" 1
rm -f "$D/weird$third"
wait_until 10 "node $third to be eligible again" eligible_again "$third"

say "8. node $third's start will fail; node 1's monitor fails"
touch "$D/startfail$third"
rm -f "$D/node1.state"
promote_failed() {
	grep -q 'promote: exited with status 1 (generic error) after .* (FAILED)' "${LLOG[$third]}" &&
		grep -q 'resigned' < <(sed -n '/the promote failed: demoting, then resigning/,$p' "${LLOG[$third]}")
}
wait_until 20 "node $third's start to fail and node $third to resign" promote_failed
wait_until 20 "node 1 to run the resource again" one_runs_on 1
t_fail=$(when "$third" stop end)
t_back=$(when 1 start begin)
awk -v a="$t_fail" -v b="$t_back" 'BEGIN { exit !(a < b) }' ||
	fail "node 1 started at $t_back before node $third's stop (after its failed start) ended at $t_fail"
rm -f "$D/startfail$third"
no_overlap
say "node $third's start failed, it stopped and resigned; node 1 runs the resource again"

say "stopping: SIGTERM to node $third's haq-leader, SIGHUP to node 1's (the leader's)"
kill -TERM "${LPID[$third]}"
kill -HUP "${LPID[1]}"
for k in "$third" 1; do
	wait_until 20 "node $k's haq-leader to exit" grep -q 'haq-leader exit status' "${LLOG[$k]}"
	grep -q 'haq-leader exit status 0' "${LLOG[$k]}" || fail "node $k: $(grep 'exit status' "${LLOG[$k]}")"
done
[[ -z $(running) ]] || fail "the resource still runs on $(running) after every haq-leader stopped"
no_overlap
say "actions:"
sed 's/^/    /' "$RECORD"

# Milliseconds since the epoch of a haq-leader log line.
line_ms() {
	date -d "${1:0:23}" +%s%3N
}

say "9. shell commands with --monitor on every node"
for k in 1 2 3; do
	SLOG[$k]=$LOGDIR/haq-leader-sh-$k.log
	"$H" spawn "$k" --log "${SLOG[$k]}" -- "$LEADER_BIN" "$GROUP-sh" \
		--promote "touch $D/sh$k" --demote "sleep 0.3; rm $D/sh$k" \
		--monitor "test ! -e $D/sick$k" --monitor-interval 0.3 \
		--monitor-failures 2 >/dev/null
done
sh_running() {
	local k out=
	for k in 1 2 3; do [[ -e $D/sh$k ]] && out+="$k "; done
	[[ -n $out && ${out% } != *" "* ]] || return 1
	ONE=${out% }
}
wait_until 20 "exactly one node to run the shell service" sh_running
a=$ONE
touch "$D/sick$a"
wait_until 20 "another node to run the shell service" eval 'sh_running && [[ $ONE != "$a" ]]'
b=$ONE
grep -q 'monitor: FAILED (2 of 2 in a row)' "${SLOG[$a]}" || fail "node $a: no second monitor failure logged"
grep -q 'resigned: the service stopped here first' "${SLOG[$a]}" || fail "node $a did not resign"
t_stop=$(line_ms "$(grep 'demote: exited with status 0' "${SLOG[$a]}" | tail -n 1)")
t_start=$(line_ms "$(grep 'promote: running' "${SLOG[$b]}" | tail -n 1)")
((t_stop <= t_start)) || fail "node $b promoted at $t_start before node $a's demote ended at $t_stop"
say "node $a's demote ended $((t_start - t_stop)) ms before node $b's promote began"
grep -v -e ' view ' -e ' quorum: ' "${SLOG[$a]}" | sed 's/^/    /'

say "10. ocf:heartbeat:IPaddr2 on every node"
addr1=$("$H" addr 1)
vip=${addr1%.*}.100
declare -A VLOG=() NS=()
for k in 1 2 3; do
	NS[$k]=$("$H" ns "$k")
	VLOG[$k]=$LOGDIR/haq-leader-vip-$k.log
	mkdir -p "$D/rsctmp$k"
	"$H" spawn "$k" --log "${VLOG[$k]}" -- env HA_RSCTMP="$D/rsctmp$k" \
		"$LEADER_BIN" "$GROUP-vip" --agent ocf:heartbeat:IPaddr2 \
		--monitor-interval 0.5 ip="$vip" cidr_netmask=24 nic=eth0 >/dev/null
done
# The nodes holding the address; records any sample with two.
holders() {
	local k out=
	for k in 1 2 3; do
		[[ -n $(ip -n "${NS[$k]}" -o -4 addr show to "$vip/32") ]] && out+="$k "
	done
	[[ $out != *" "*" "* ]] || echo "$(date +%T.%3N) $out" >>"$D/vip-overlaps"
	echo "${out% }"
}
vip_on() {
	local h
	h=$(holders)
	[[ -n $h && $h != *" "* && " $1 " == *" $h "* ]] || return 1
	ONE=$h
}
wait_until 20 "exactly one node to hold $vip" vip_on "1 2 3"
v1=$ONE
wait_until 10 "node $v1's haq-leader to start" grep -q 'starting: group' "${VLOG[$v1]}"
vpid=$(sed -n 's/.*starting: group .*, pid \([0-9]*\)$/\1/p' "${VLOG[$v1]}" | head -n 1)
say "node $v1 holds $vip; SIGTERM to its haq-leader (pid $vpid)"
kill -TERM "$vpid"
vrest=$(for k in 1 2 3; do ((k == v1)) || printf '%s ' "$k"; done)
wait_until 20 "another node to hold $vip" vip_on "${vrest% }"
[[ ! -e $D/vip-overlaps ]] || fail "$vip was on two nodes at once: $(cat "$D/vip-overlaps")"
say "node $ONE holds $vip now; never on two nodes at once"
grep -v -e ' view ' -e ' quorum: ' "${VLOG[$v1]}" | sed 's/^/    /'
say "PASS"
