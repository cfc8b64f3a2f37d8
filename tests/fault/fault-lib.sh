# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash disable=SC2034
# (SC2034: variables here are used by the scenarios that source the file.)
#
# Shared by the fault scenario tests: sourced, never run. A scenario script
# calls fault_main N TIMEOUT "$@" first; outside a cluster that re-runs the
# script inside a fresh N-node harness cluster of its own ("haq-cluster run",
# which always destroys it), inside it returns and the scenario goes on.
#
# Probe logs, the checker's report and the corosync logs are kept in
# tests/fault/logs/NAME/ of the build tree (the last run of each scenario).

set -euo pipefail

FAULT_SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Tests run from the top build directory (automake); allow an override.
FAULT_BUILDDIR=${HAQ_FAULT_BUILDDIR:-$PWD/tests/fault}
FAULT_BUILDDIR=$(cd "$FAULT_BUILDDIR" 2>/dev/null && pwd || echo "$FAULT_BUILDDIR")
PROBE=$FAULT_BUILDDIR/haq-probe
RAW_GARBAGE=$FAULT_BUILDDIR/raw-garbage
RAW_TOTEM=$FAULT_BUILDDIR/raw-totem
CHECK=$FAULT_SRCDIR/haq-check-logs
H=${HAQ_CLUSTER:-$FAULT_SRCDIR/../harness/haq-cluster}
FAULT_NAME=$(basename "$0" .sh)
# Messages per second each probe sends.
PROBE_RATE=${PROBE_RATE:-100}
GROUP=fault-$FAULT_NAME

# Probe bookkeeping: label -> pid, label -> log.
declare -A PROBE_PID=()
declare -A PROBE_LOG=()

say() {
	printf '%s [%s] %s\n' "$(date +%T.%3N)" "$FAULT_NAME" "$*"
}

fail() {
	say "FAIL: $*"
	exit 1
}

# Realtime in microseconds (the probes' second column).
now_us() {
	local t=${EPOCHREALTIME/[!0-9]/}
	echo "$t"
}

fault_main() { # NODES TIMEOUT ARGS...
	local nodes=$1 timeout=$2
	shift 2
	if [[ -n ${HAQ_FAULT_INNER:-} ]]; then
		LOGDIR=$HAQ_FAULT_LOGDIR
		say "cluster of $HAQ_CLUSTER_NODES nodes at $HAQ_CLUSTER_DIR"
		read_mono_offset
		trap 'on_exit' EXIT
		return 0
	fi
	if [[ $(id -u) != 0 ]]; then
		echo "$FAULT_NAME: SKIP: needs root (network namespaces)"
		exit 77
	fi
	if ! command -v corosync >/dev/null; then
		echo "$FAULT_NAME: SKIP: corosync is not installed"
		exit 77
	fi
	for p in "$PROBE" "$CHECK"; do
		[[ -x $p ]] || fail "$p is missing: run make check (or make $p)"
	done
	LOGDIR=$FAULT_BUILDDIR/logs/$FAULT_NAME
	rm -rf "$LOGDIR"
	mkdir -p "$LOGDIR"
	# Always a cluster of our own, even if HAQ_CLUSTER_DIR names one.
	exec env -u HAQ_CLUSTER_DIR HAQ_FAULT_INNER=1 HAQ_FAULT_LOGDIR="$LOGDIR" \
		HAQ_CLUSTER="$H" HAQ_FAULT_BUILDDIR="$FAULT_BUILDDIR" \
		"$H" run "$nodes" --cmd-timeout "$timeout" \
		--keep-logs "$LOGDIR/cluster" -- "$0" "$@"
}

on_exit() {
	local rc=$? label
	# Whatever happened, no probe outlives the scenario (the harness
	# would kill them with the cluster, but without a clean log end).
	for label in "${!PROBE_PID[@]}"; do
		"$H" killprog "${PROBE_PID[$label]}" TERM >/dev/null 2>&1 || true
	done
	if ((rc != 0)); then
		for label in "${!PROBE_PID[@]}"; do
			"$H" waitprog "${PROBE_PID[$label]}" 20 >/dev/null 2>&1 ||
				true
		done
		# A scenario that failed before its end still gets the
		# checker's verdict on what happened until then.
		if [[ ! -f $LOGDIR/check.txt ]] &&
			compgen -G "$LOGDIR/probe-*.log" >/dev/null; then
			say "the checker on the logs so far:"
			local args=(--leader-overlap)
			if _lock_checked; then args+=(--lock-overlap); fi
			"$CHECK" "${args[@]}" "$LOGDIR"/probe-*.log \
				>"$LOGDIR/check.txt" 2>&1 ||
				true
			cat "$LOGDIR/check.txt"
		fi
		say "logs kept in $LOGDIR"
	fi
}

# probe_start LABEL NODE [probe options]: start a probe on NODE.
probe_start() {
	local label=$1 node=$2 log pid
	shift 2
	log=$LOGDIR/probe-$label.log
	pid=$("$H" spawn "$node" --log "$LOGDIR/probe-$label.out" -- \
		"$PROBE" --log "$log" --group "$GROUP" --rate "$PROBE_RATE" "$@")
	PROBE_PID[$label]=$pid
	PROBE_LOG[$label]=$log
	say "probe $label on node $node: pid $pid"
}

# probes_start N [probe options]: start probes 1..N on nodes 1..N, each
# once the one before is in the group. The leader is the member that has
# been in the group longest, so probe 1 leads (and, after any ring change,
# the lowest node id does).
probes_start() {
	local n=$1 k
	shift
	for ((k = 1; k <= n; k++)); do
		probe_start "$k" "$k" "$@"
		wait_until 20 "probe $k in the group" view_size_is "$k" "$k"
	done
}

# CLOCK_MONOTONIC in microseconds (the probes' first column): the
# realtime clock minus the offset between the two, read once at the start
# (bash reads only the realtime clock).
MONO_OFFSET=
read_mono_offset() {
	MONO_OFFSET=$(python3 -c 'import time
r = time.clock_gettime_ns(time.CLOCK_REALTIME) // 1000
m = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
print(r - m)')
}

# probe_kill LABEL SIGNAL: signal a probe (KILL: it is gone for good; its
# log gets a "killed" line with the time the kill command returned, when
# the process had stopped running: the checker ends its leadership there).
probe_kill() {
	local real mono log=${PROBE_LOG[$1]}
	"$H" killprog "${PROBE_PID[$1]}" "$2"
	if [[ $2 == KILL ]]; then
		real=$(now_us)
		mono=$((real - MONO_OFFSET))
		"$H" waitprog "${PROBE_PID[$1]}" 10
		unset "PROBE_PID[$1]"
		# After a half-written last line, start a line of our own.
		if [[ -s $log && $(tail -c 1 "$log" | od -An -c | tr -d ' ') != '\n' ]]; then
			echo >>"$log"
		fi
		echo "$mono $real killed signal=KILL" >>"$log"
	fi
}

# Stop every probe with SIGTERM and wait until each has written its end.
# The leader stops last, so the shutdown hands leadership to nobody (a
# leader that leaves resigns, and another member would lead for the
# moment until it stops too).
probe_stop_all() {
	local label leaders=() others=() l
	for label in "${!PROBE_PID[@]}"; do
		l=$(last_leader "$label")
		if [[ ${l%% *} == 1 ]]; then
			leaders+=("$label")
		else
			others+=("$label")
		fi
	done
	_probes_stop "${others[@]}"
	_probes_stop "${leaders[@]}"
}

_probes_stop() {
	local label
	for label in "$@"; do
		"$H" killprog "${PROBE_PID[$label]}" TERM
	done
	for label in "$@"; do
		"$H" waitprog "${PROBE_PID[$label]}" 20 ||
			fail "probe $label did not stop"
		unset "PROBE_PID[$label]"
	done
}

# The probe that leads now (its last leader line says self=1), or nothing.
current_leader() {
	local label l
	for label in "${!PROBE_PID[@]}"; do
		l=$(last_leader "$label")
		if [[ ${l%% *} == 1 ]]; then
			echo "$label"
			return 0
		fi
	done
	return 1
}

# one_leader LABEL...: a running probe is told it leads, and every named
# probe names a leader on its node (labels start with the node number).
one_leader() {
	local l
	l=$(current_leader) || return 1
	all_lead "${l%%[!0-9]*}" "$@"
}

# corosync's token and consensus timeouts in force on node K (ms, from
# cmap): sets TOKEN_MS, CONSENSUS_MS, DETECT_MS (their sum: how long
# corosync takes to drop a silent node).
read_totem_timing() {
	local k=${1:-1}
	TOKEN_MS=$("$H" exec "$k" -- corosync-cmapctl -g runtime.config.totem.token |
		sed 's/.*= //')
	CONSENSUS_MS=$("$H" exec "$k" -- corosync-cmapctl -g runtime.config.totem.consensus |
		sed 's/.*= //')
	DETECT_MS=$((TOKEN_MS + CONSENSUS_MS))
}

# fault_mark TEXT: note the moment a fault is injected (for the failover
# report: the first promotion after it).
fault_mark() {
	echo "$(now_us) $*" >>"$LOGDIR/faults.txt"
	say "$*"
}

# wait_until TIMEOUT_S DESCRIPTION COMMAND...: poll COMMAND every 0.1 s.
wait_until() {
	local timeout=$1 what=$2 deadline
	shift 2
	deadline=$(($(date +%s%3N) + timeout * 1000))
	until "$@"; do
		if (($(date +%s%3N) >= deadline)); then
			fail "timeout (${timeout} s) waiting for $what"
		fi
		sleep 0.1
	done
}

# Number of members in the last view a probe logged (0 before any).
last_view_size() {
	local line
	line=$(grep ' view ' "${PROBE_LOG[$1]}" 2>/dev/null | tail -n 1) || true
	[[ -n $line ]] || {
		echo 0
		return
	}
	line=${line##* members=}
	line=${line%% *}
	awk -F, '{ print NF }' <<<"$line"
}

# view_size_is LABEL N: the probe's last view has N members.
view_size_is() {
	[[ $(last_view_size "$1") == "$2" ]]
}

# all_views_are N LABEL...: every named probe's last view has N members.
all_views_are() {
	local n=$1 label
	shift
	for label in "$@"; do
		view_size_is "$label" "$n" || return 1
	done
}

# The last leader line of a probe: "self epoch node pid", or empty.
last_leader() {
	local line
	line=$(grep ' leader self=' "${PROBE_LOG[$1]}" 2>/dev/null | tail -n 1) ||
		true
	[[ -n $line ]] || return 0
	sed -E 's/.* leader self=([0-9]+) epoch=([0-9]+) node=([0-9]+) pid=([0-9]+).*/\1 \2 \3 \4/' \
		<<<"$line"
}

# leader_is LABEL NODE: the probe's last leader line names a leader on NODE
# (0: no leader).
leader_is() {
	local l
	l=$(last_leader "$1")
	[[ -n $l ]] || return 1
	read -r _ _ node _ <<<"$l"
	[[ $node == "$2" ]]
}

# all_lead NODE LABEL...: every named probe names a leader on NODE (0: none).
all_lead() {
	local node=$1 label
	shift
	for label in "$@"; do
		leader_is "$label" "$node" || return 1
	done
}

# log_has LABEL REGEX: the probe's log has a line matching REGEX.
log_has() {
	grep -Eq -- "$2" "${PROBE_LOG[$1]}" 2>/dev/null
}

# Messages a probe delivered so far.
deliveries() {
	grep -c ' deliver ' "${PROBE_LOG[$1]}" 2>/dev/null || true
}

# Wait until every probe has delivered at least COUNT more messages.
let_traffic_flow() { # COUNT LABEL...
	local count=$1 label
	shift
	declare -A base=()
	for label in "$@"; do
		base[$label]=$(deliveries "$label")
	done
	for label in "$@"; do
		wait_until 30 "probe $label to deliver $count messages" \
			_delivered_more "$label" $((base[$label] + count))
	done
}

_delivered_more() {
	(($(deliveries "$1") >= $2))
}

# Run the checker over every probe log of the scenario, with zero
# tolerance for two leaders at once (CHECK_ARGS: extra options).
CHECK_ARGS=()
run_checker() {
	local rc=0 args=(--leader-overlap "${CHECK_ARGS[@]}")
	if _lock_checked; then args+=(--lock-overlap); fi
	say "checking the logs: $CHECK ${args[*]} $LOGDIR/probe-*.log"
	"$CHECK" "${args[@]}" "$LOGDIR"/probe-*.log >"$LOGDIR/check.txt" 2>&1 ||
		rc=$?
	cat "$LOGDIR/check.txt"
	report_failovers
	if grep -q ' state config ' "$LOGDIR"/probe-*.log; then
		report_state
	fi
	if _lock_checked; then
		report_locks
	fi
	((rc == 0)) || fail "the checker found violations (exit $rc)"
	say "PASS"
}

# Print each failover the checker found (the old leadership's end, by
# demotion, resignation or death, to the new leader's promotion), and for
# each fault marked the time from the fault to the first promotion after
# it, next to corosync's detection time and libhaq's takeover delay. Also
# kept in $LOGDIR/failover.txt.
report_failovers() {
	local takeover
	[[ -n ${DETECT_MS:-} ]] || read_totem_timing 1 2>/dev/null || true
	takeover=$(grep -h -o ' timing .*' "$LOGDIR"/probe-*.log 2>/dev/null |
		tail -n 1 | sed -nE 's/.* takeover=([0-9]+).*/\1/p')
	{
		echo "corosync: token ${TOKEN_MS:-?} ms + consensus ${CONSENSUS_MS:-?} ms = detection ${DETECT_MS:-?} ms; libhaq takeover delay ${takeover:-?} ms"
		grep '^failover ' "$LOGDIR/check.txt" |
			sed -E 's/^failover from=([^ ]+) epoch=[0-9]+ cause=([^ ]+) to=([^ ]+) epoch=[0-9]+ gap_ms=([-0-9.]+) lease_margin_ms=([^ ]+).*/failover \1 -> \3: \2 to promotion \4 ms (old lease ran out \5 ms before)/' || true
		if [[ -f $LOGDIR/faults.txt ]]; then
			python3 - "$LOGDIR/faults.txt" "$LOGDIR"/probe-*.log <<'PY'
import sys
faults = [l.rstrip("\n").split(" ", 1) for l in open(sys.argv[1])]
proms = []
for path in sys.argv[2:]:
    for line in open(path, errors="replace"):
        p = line.split(" ")
        if len(p) > 3 and p[2] == "leader" and p[3] == "self=1":
            proms.append((int(p[1]), path.rsplit("/", 1)[-1]))
proms.sort()
for i, (t, what) in enumerate(faults):
    t = int(t)
    nxt = int(faults[i + 1][0]) if i + 1 < len(faults) else None
    p = [x for x in proms if x[0] > t and (nxt is None or x[0] < nxt)]
    if p:
        print("fault '%s' -> first promotion (%s) %.1f ms" %
              (what, p[0][1], (p[0][0] - t) / 1000.0))
    else:
        print("fault '%s' -> no promotion %s" % (what, "before the next fault" if nxt else "after it"))
PY
		fi
	} >"$LOGDIR/failover.txt"
	while read -r line; do say "$line"; done <"$LOGDIR/failover.txt"
}

# ---------------------------------------------------------------------
# Replicated state (the fault-state-* scenarios; haq-probe --state).

# Options of every state probe: a seed of STATE_SEED bytes written at
# STATE_SLOW bytes/s, so that a transfer lasts long enough to be hit.
STATE_SEED=${STATE_SEED:-1500000}
STATE_SLOW=${STATE_SLOW:-500000}
STATE_OPTS=(--state --state-seed "$STATE_SEED" --slow-provider "$STATE_SLOW")

# The probe's last line that changed whether it holds the state (seed,
# held, a receiver's begin or replace, lost), as the word after "state".
_state_last() {
	grep -E ' state (seed|held|lost|replace|begin [^ ]+ role=receiver)' \
		"${PROBE_LOG[$1]}" 2>/dev/null | tail -n 1 |
		sed -E 's/^[0-9]+ [0-9]+ state ([a-z]+).*/\1/'
}

# holds LABEL: the probe holds the state (as it last logged).
holds() {
	local w
	w=$(_state_last "$1")
	[[ $w == seed || $w == held ]]
}

# all_hold LABEL...: every named probe holds the state.
all_hold() {
	local label
	for label in "$@"; do
		holds "$label" || return 1
	done
}

# receiving LABEL: a transfer to the probe began and has not ended.
receiving() {
	local line
	line=$(grep -E ' state (begin|replace|done|restarted|failed) [^ ]+ role=receiver' \
		"${PROBE_LOG[$1]}" 2>/dev/null | tail -n 1)
	[[ $line =~ \ state\ (begin|replace)\  ]]
}

# The transfer id of the probe's last receiver line.
receiving_transfer() {
	grep -E ' state (begin|replace) transfer=[^ ]+ role=receiver' \
		"${PROBE_LOG[$1]}" | tail -n 1 | sed -E 's/.* transfer=([^ ]+).*/\1/'
}

# The label of the probe that provides transfer ID (its cut line).
provider_of() {
	local label
	for label in "${!PROBE_LOG[@]}"; do
		if grep -q " state begin transfer=$1 role=provider" \
			"${PROBE_LOG[$label]}" 2>/dev/null; then
			echo "$label"
			return 0
		fi
	done
	return 1
}

# count_state LABEL REGEX: lines of the probe's log matching " state REGEX".
count_state() {
	grep -Ec -- " state $2" "${PROBE_LOG[$1]}" 2>/dev/null || true
}

# state_probes_start N [probe options]: start probes 1..N with a state,
# each once the one before is in the group and holds the state.
state_probes_start() {
	local n=$1 k
	shift
	for ((k = 1; k <= n; k++)); do
		probe_start "$k" "$k" "${STATE_OPTS[@]}" "$@"
		wait_until 20 "probe $k in the group" view_size_is "$k" "$k"
		wait_until 30 "probe $k to hold the state" holds "$k"
	done
}

# Wait until no probe delivers anything new for a second.
_deliveries_settle() {
	local label sum=-1 prev=-2
	until ((sum == prev)); do
		prev=$sum
		sum=0
		for label in "$@"; do
			sum=$((sum + $(deliveries "$label")))
		done
		sleep 1
	done
}

# state_stop_all: every running probe stops sending (SIGHUP), the stream
# settles with every probe holding the state, then all stop (SIGTERM):
# the final states are taken at the same point of the agreed stream.
state_stop_all() {
	local label labels=("${!PROBE_PID[@]}")
	wait_until 40 "every probe to hold the state" all_hold "${labels[@]}"
	for label in "${labels[@]}"; do
		"$H" killprog "${PROBE_PID[$label]}" HUP
	done
	_deliveries_settle "${labels[@]}"
	wait_until 20 "every probe to hold the state" all_hold "${labels[@]}"
	probe_stop_all
}

# The transfers the checker found, and each probe's state changes as a
# receiver: status(error)[ms since its begin], and for a begin after a
# restart or failure {ms after it}; kept in $LOGDIR/state.txt.
report_state() {
	local label
	{
		grep -E '^(transfer|state final) ' "$LOGDIR/check.txt" || true
		for label in $(printf '%s\n' "${!PROBE_LOG[@]}" | sort); do
			printf 'probe %s:' "$label"
			awk '$3 == "state" && ($4 == "seed" || $4 == "held" ||
			     $4 == "lost" || $0 ~ / role=receiver /) {
				e = ""; ms = ""
				for (i = 5; i <= NF; i++) {
					if ($i ~ /^error=/) e = substr($i, 7)
					if ($i ~ /^ms=/) ms = substr($i, 4)
				}
				printf " %s", $4
				if (($4 == "begin" || $4 == "replace") && stop)
					printf "{%.0f ms after}", ($1 - stop) / 1000
				stop = 0
				if ($4 == "restarted" || $4 == "failed") stop = $1
				if (e != "" && e != "0") printf "(%s)", e
				if (ms != "") printf "[%s ms]", ms
			}' "${PROBE_LOG[$label]}"
			echo
		done
	} >"$LOGDIR/state.txt"
	while read -r line; do say "$line"; done <"$LOGDIR/state.txt"
}

# probes_start_together LABEL:NODE... -- [probe options]: start probes on
# their nodes at the same moment (the spawns run in parallel).
probes_start_together() {
	local specs=() s label node log
	while (($#)) && [[ $1 != -- ]]; do
		specs+=("$1")
		shift
	done
	(($#)) && shift
	for s in "${specs[@]}"; do
		label=${s%%:*} node=${s#*:}
		log=$LOGDIR/probe-$label.log
		"$H" spawn "$node" --log "$LOGDIR/probe-$label.out" -- \
			"$PROBE" --log "$log" --group "$GROUP" \
			--rate "$PROBE_RATE" "$@" >"$LOGDIR/.pid-$label" &
	done
	wait
	for s in "${specs[@]}"; do
		label=${s%%:*}
		PROBE_PID[$label]=$(<"$LOGDIR/.pid-$label")
		PROBE_LOG[$label]=$LOGDIR/probe-$label.log
		rm -f "$LOGDIR/.pid-$label"
		say "probe $label on node ${s#*:}: pid ${PROBE_PID[$label]}"
	done
}

# restart_gap_ms LABEL: ms from the probe's last transfer that restarted
# or failed (as receiver) to the begin of the next one (empty: none).
restart_gap_ms() {
	awk '$3 == "state" && / role=receiver / {
		if ($4 == "restarted" || $4 == "failed") { stop = $1 }
		else if (($4 == "begin" || $4 == "replace") && stop) {
			gap = ($1 - stop) / 1000; stop = 0
		}
	} END { if (gap != "") printf "%.0f\n", gap }' "${PROBE_LOG[$1]}"
}

# check_restart_gap LABEL: the transfer that replaced a stopped one began
# well within HAQ_STATE_STALL (10 s): the next provider offers as soon as
# it is its turn (LIBRARY-BUGS.txt 7).
check_restart_gap() {
	local gap
	gap=$(restart_gap_ms "$1")
	[[ -n $gap ]] || fail "probe $1: no transfer after a restart"
	say "probe $1: the next transfer began $gap ms after the restart"
	((gap < 5000)) || fail "probe $1 waited $gap ms for the restart"
}

# ---------------------------------------------------------------------
# Locks (the fault-lock-* scenarios; haq-probe --locks).

# Lock churn options: LOCK_COUNT locks, holds of LOCK_HOLD ms, pauses up
# to LOCK_PAUSE ms; the probes of a lock scenario send LOCK_RATE messages
# a second besides (the lock frames ride the same stream).
LOCK_COUNT=${LOCK_COUNT:-2}
LOCK_PAUSE=${LOCK_PAUSE:-300}
LOCK_RATE=${LOCK_RATE:-20}
lock_opts() { # HOLD_RANGE: the probe options of lock churn
	echo --rate "$LOCK_RATE" --locks "$LOCK_COUNT" --lock-hold "$1" \
		--lock-pause "$LOCK_PAUSE"
}

# The checker judges locks (--lock-overlap) when a probe churned them.
_lock_checked() {
	grep -qs ' lock config ' "$LOGDIR"/probe-*.log
}

# CLOCK_MONOTONIC now, in microseconds (the probes' first column).
now_mono_us() {
	echo $(($(now_us) - MONO_OFFSET))
}

# lock_holding LABEL MIN_MS: the probe holds a lock (its last lock line
# is a grant) and means to hold it MIN_MS ms more at least; prints the
# lock's name.
lock_holding() {
	local line mono name hold
	line=$(grep -E ' lock_(granted|release|lost|expired) ' \
		"${PROBE_LOG[$1]}" 2>/dev/null | tail -n 1) || true
	[[ $line == *" lock_granted "* ]] || return 1
	mono=${line%% *}
	name=$(sed -E 's/.* name=([^ ]+).*/\1/' <<<"$line")
	hold=$(sed -E 's/.* hold_ms=([0-9]+).*/\1/' <<<"$line")
	((mono + hold * 1000 - $(now_mono_us) >= $2 * 1000)) || return 1
	echo "$name"
}

# lock_holder MIN_MS LABEL...: the first named probe that holds a lock
# for MIN_MS ms more at least; prints "LABEL NAME".
lock_holder() {
	local min=$1 label name
	shift
	for label in "$@"; do
		if name=$(lock_holding "$label" "$min"); then
			echo "$label $name"
			return 0
		fi
	done
	return 1
}

# lock_grants_since REAL_US [NAME [LABEL...]]: grants (of lock NAME, to
# the named probes; all when not given) logged after REAL_US.
lock_grants_since() {
	local t=$1 name=${2:-} labels=("${@:3}") files=() label
	if ((${#labels[@]})); then
		for label in "${labels[@]}"; do files+=("${PROBE_LOG[$label]}"); done
	else
		files=("$LOGDIR"/probe-*.log)
	fi
	awk -v t="$t" -v name="$name" '$3 == "lock_granted" && $2 > t &&
		(name == "" || $4 == "name=" name) { n++ } END { print n + 0 }' \
		"${files[@]}"
}

# lock_lost_since LABEL REAL_US: the probe was told it lost a lock it
# held (or found its holding expired) after REAL_US.
lock_lost_since() {
	awk -v t="$2" '($3 == "lock_lost" && / held=1/ || $3 == "lock_expired") &&
		$2 > t { n++ } END { exit n ? 0 : 1 }' "${PROBE_LOG[$1]}"
}

# lock_progress REAL_US N WHAT: wait for N grants since REAL_US (30 s).
lock_progress() {
	wait_until 30 "$2 lock grants since $3" grants_at_least "$1" "$2"
	say "$(lock_grants_since "$1") lock grants since $3"
}

# grants_at_least REAL_US N [NAME [LABEL...]]: N grants or more since
# REAL_US (of lock NAME, to the named probes), as lock_grants_since counts.
grants_at_least() {
	(($(lock_grants_since "$1" "${3:-}" "${@:4}") >= $2))
}

# no_lock_loss LABEL...: the named probes (of a partition that stays
# quorate and connected throughout) were never told they lost a lock.
no_lock_loss() {
	local label bad
	for label in "$@"; do
		bad=$(grep -E ' lock_(lost .* held=1|expired )' "${PROBE_LOG[$label]}" |
			head -n 1) || true
		[[ -z $bad ]] ||
			fail "probe $label, always quorate and connected, was told it lost a lock: $bad"
	done
	say "no holder of probes $* was told a loss"
}

# The checker's lock figures, and the handovers after a loss.
report_locks() {
	{
		grep -E '^(locks:|  lock overlaps|  min gap between holders|lock_handover )' \
			"$LOGDIR/check.txt" || true
	} >"$LOGDIR/locks.txt"
	while read -r line; do say "$line"; done <"$LOGDIR/locks.txt"
}
