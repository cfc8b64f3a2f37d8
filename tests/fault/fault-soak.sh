#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Soak (make check-fault-long): a 5-node cluster with a probe on every node
# goes through a series of faults of every kind, one after another -
# isolating a node and the leader's node, SIGKILL and SIGTERM of corosync,
# freezing corosync (SIGSTOP), SIGKILL of a probe (a new one replaces it),
# splits 2-2-1 and 3-2, every corosync killed at once - each followed by
# recovery and traffic. Then the
# logs of all probes, replaced ones included, are checked together.
# SOAK_ROUNDS=N (default 18: every fault twice, on different nodes).
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh disable=SC2016,SC2046
. "$(dirname "$0")/fault-lib.sh"
ROUNDS=${SOAK_ROUNDS:-18}
fault_main 5 $((ROUNDS * 60 + 120)) "$@"

NODES=5
declare -A CUR=() # node -> label of its current probe
declare -A GEN=() # node -> probes started there
start_on() {
	local k=$1 label
	GEN[$k]=$((${GEN[$k]:-0} + 1))
	label=$k
	((GEN[$k] == 1)) || label=$k-${GEN[$k]}
	probe_start "$label" "$k"
	CUR[$k]=$label
}
labels() {
	local k
	for k in $(seq 1 $NODES); do echo "${CUR[$k]}"; done
}
# sizes_are "S1 S2 ... S5": node K's probe has a view of SK members.
sizes_are() {
	local k=1 s
	for s in $1; do
		view_size_is "${CUR[$k]}" "$s" || return 1
		k=$((k + 1))
	done
}
whole() {
	wait_until 60 "$NODES-member views everywhere" \
		all_views_are $NODES $(labels)
	wait_until 40 "one leader everywhere" \
		eval 'l=$(last_leader "${CUR[1]}") && [[ -n $l ]] && read -r _ _ ldr _ <<<"$l" && ((ldr != 0)) && all_lead "$ldr" $(labels)'
}
leader_node() {
	local l
	l=$(last_leader "${CUR[1]}")
	read -r _ _ ldr _ <<<"$l"
	echo "$ldr"
}
others_of() { # K: labels of the probes on the other nodes
	local k
	for k in $(seq 1 $NODES); do ((k == $1)) || echo "${CUR[$k]}"; done
}
declare -A DOWNS=() # label -> disconnects seen before a full restart
conn_downs() {
	grep -c ' conn down' "${PROBE_LOG[$1]}" || true
}
all_saw_down() {
	local l
	for l in $(labels); do
		(($(conn_downs "$l") > ${DOWNS[$l]})) || return 1
	done
}
cut_off() { # K: wait until node K is alone and the others are together
	local k=$1
	wait_until 30 "node $k cut off" \
		eval 'view_size_is "${CUR[$k]}" 1 && all_views_are $((NODES - 1)) $(others_of $k)'
}

for k in $(seq 1 $NODES); do start_on "$k"; done
whole
let_traffic_flow 100 $(labels)

faults=(isolate corosync-kill probe-kill split-221 leader-isolate pause
	corosync-stop split-32 cluster-restart)
for ((r = 0; r < ROUNDS; r++)); do
	f=${faults[r % ${#faults[@]}]}
	k=$(((r * 2) % NODES + 1))
	say "round $((r + 1))/$ROUNDS: $f (node $k)"
	case $f in
	isolate)
		"$H" isolate "$k"
		cut_off "$k"
		wait_until 10 "node $k without a leader" leader_is "${CUR[$k]}" 0
		"$H" heal "$k"
		;;
	leader-isolate)
		k=$(leader_node)
		say "the leader is on node $k"
		"$H" isolate "$k"
		cut_off "$k"
		# Detection and the takeover delay: ~13 s with 5 nodes.
		wait_until 30 "a new leader on the majority" \
			eval '! leader_is "$(others_of $k | head -n 1)" "$k" && ! leader_is "$(others_of $k | head -n 1)" 0'
		"$H" heal "$k"
		;;
	corosync-kill | corosync-stop)
		if [[ $f == corosync-kill ]]; then "$H" kill "$k"; else "$H" stop "$k"; fi
		wait_until 20 "the others without node $k" \
			all_views_are $((NODES - 1)) $(others_of "$k")
		let_traffic_flow 50 $(others_of "$k")
		"$H" start-node "$k"
		;;
	pause)
		"$H" pause "$k"
		wait_until 20 "the others without node $k" \
			all_views_are $((NODES - 1)) $(others_of "$k")
		let_traffic_flow 50 $(others_of "$k")
		"$H" resume "$k"
		;;
	probe-kill)
		probe_kill "${CUR[$k]}" KILL
		wait_until 20 "the others without probe ${CUR[$k]}" \
			all_views_are $((NODES - 1)) $(others_of "$k")
		start_on "$k"
		;;
	split-221)
		"$H" partition 1,2 3,4 5
		wait_until 40 "the 2-2-1 views" sizes_are "2 2 2 2 1"
		wait_until 10 "no leader anywhere" all_lead 0 $(labels)
		let_traffic_flow 50 $(labels)
		"$H" unpartition
		;;
	cluster-restart)
		# Every corosync at once: epochs must still increase (corosync
		# keeps its ring sequence in its state directory).
		for l in $(labels); do DOWNS[$l]=$(conn_downs "$l"); done
		"$H" kill $(seq 1 $NODES)
		wait_until 20 "every probe to see the disconnect" all_saw_down
		for n in $(seq 1 $NODES); do "$H" start-node "$n"; done
		;;
	split-32)
		"$H" partition 1,4,5 2,3
		wait_until 40 "the 3-2 views" sizes_are "3 2 2 3 3"
		# Sticky: a leader of the majority keeps it; else node 1 is
		# elected there, after the takeover delay.
		wait_until 30 "a leader on the majority only" \
			eval 'l=$(leader_node) && [[ $l == [145] ]] && all_lead "$l" ${CUR[1]} ${CUR[4]} ${CUR[5]} && all_lead 0 ${CUR[2]} ${CUR[3]}'
		let_traffic_flow 50 $(labels)
		"$H" unpartition
		;;
	esac
	whole
	let_traffic_flow 100 $(labels)
done

probe_stop_all
run_checker
