#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# demo-failover.sh - move a floating IP address between the nodes of a
# corosync cluster with haq-leader and the OCF agent ocf:heartbeat:IPaddr2.
#
# Nodes 1-3 each run a tiny web server on port 8080 answering "served by
# nodeK", and "haq-leader haqdemo --agent ocf:heartbeat:IPaddr2 ip=VIP":
# the group's leader holds the floating address VIP (the agent's start),
# the others do not. Node 4 runs no haq-leader: it is the client, asking
# http://VIP:8080/ every 0.2 s throughout, while a sampler looks into every
# node every 0.1 s for which of them hold VIP.
#
# The demo cuts the leader's node off the network: it loses quorum and
# removes VIP (the agent's stop), and another node takes VIP over. Then it
# heals the network: VIP stays where it is (leadership is sticky: no
# fail-back). It prints the client's answers with timestamps and counts
# the overlaps: samples where two nodes held VIP at once (0 expected).
#
# Run as root from a built tree (./autogen.sh && ./configure && make), with
# resource-agents, busybox (the web server) and curl (the client):
#     examples/demo-failover.sh
# Everything runs inside the network namespaces of the test harness
# (tests/harness/haq-cluster), on its private subnet: VIP is an unused
# address of it; no other traffic.
# Exits 0 when VIP moved once, never was on two nodes at once, and did not
# move back after the heal. DEMO_KEEP=1 keeps the working directory (logs).

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
harness=$top/tests/harness/haq-cluster
leader_bin=$top/examples/haq-leader
ipaddr2=${OCF_ROOT:-/usr/lib/ocf}/resource.d/heartbeat/IPaddr2
group=haqdemo
port=8080
# Nodes 1..servers run haq-leader; the last node is the client.
servers=3
nodes=$((servers + 1))
client=$nodes
# How long each wait of the demo may take, in seconds.
wait_s=20

step=0
heading() {
	step=$((step + 1))
	printf '\n=== %d. %s\n' "$step" "$*"
}

info() {
	printf '    %s\n' "$*"
}

die() {
	printf 'demo-failover: error: %s\n' "$*" >&2
	exit 1
}

# Milliseconds since the epoch.
now_ms() {
	local t=${EPOCHREALTIME/[^0-9]/}
	echo $((10#$t / 1000))
}

# Seconds with three decimals from a millisecond count.
secs() {
	printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000))
}

((EUID == 0)) || die "must be run as root (the harness creates network namespaces)"
[[ -x $harness ]] || die "no harness at $harness"
[[ -x $leader_bin ]] ||
	die "$leader_bin is not built: run ./autogen.sh && ./configure && make in $top"
[[ -x $ipaddr2 ]] || die "$ipaddr2 is missing (apt install resource-agents)"
command -v busybox >/dev/null || die "busybox is needed for the web server (apt install busybox)"
# The client. Not busybox wget: the one of Debian 12 (busybox 1.35)
# segfaults on a refused connection and on any fetch inside a network
# namespace.
command -v curl >/dev/null || die "curl is needed for the client (apt install curl)"

work=$(mktemp -d "${TMPDIR:-/tmp}/haq-demo.XXXXXX")
cluster=$work/cluster
export HAQ_CLUSTER_DIR=$cluster
bg_pids=()

cleanup() {
	local rc=$? p
	trap '' INT TERM HUP
	for p in "${bg_pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	# Stops every haq-leader (each removes VIP if it holds it), every
	# web server and corosync, and deletes the namespaces; harmless when
	# the cluster never started.
	HAQ_QUIET=1 "$harness" destroy >/dev/null 2>&1 || true
	if [[ ${DEMO_KEEP:-0} == 1 ]]; then
		printf 'demo-failover: kept %s\n' "$work" >&2
	else
		rm -rf "$work"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

hc() {
	HAQ_QUIET=1 "$harness" "$@"
}

# The nodes that hold VIP now, on one line ("" for none).
holders() {
	local k out=
	for ((k = 1; k <= servers; k++)); do
		if [[ -n $(ip -n "${ns[$k]}" -o -4 addr show to "$vip/32" 2>/dev/null) ]]; then
			out+="$k "
		fi
	done
	echo "${out% }"
}

# wait_holder SET: wait until exactly one node holds VIP, one of SET
# ("2 3"); prints it. Fails after $wait_s seconds.
wait_holder() {
	local deadline h
	deadline=$(($(now_ms) + wait_s * 1000))
	while :; do
		h=$(holders)
		if [[ -n $h && $h != *" "* && " $1 " == *" $h "* ]]; then
			echo "$h"
			return 0
		fi
		(($(now_ms) < deadline)) || return 1
		sleep 0.1
	done
}

# wait_log NODE PATTERN: wait until node NODE's haq-leader logged PATTERN.
wait_log() {
	local deadline
	deadline=$(($(now_ms) + wait_s * 1000))
	until grep -q -- "$2" "$work/haq-leader-node$1.log" 2>/dev/null; do
		(($(now_ms) < deadline)) || return 1
		sleep 0.1
	done
}

# The client's answers, one line per run of equal answers:
# "HH:MM:SS.mmm - HH:MM:SS.mmm  ANSWER (N times)".
answers() {
	awk '
		function flush() { if (n) printf "    %s - %s  %s (%d time%s)\n", first, last, ans, n, n == 1 ? "" : "s" }
		{ t = $1; $1 = ""; a = substr($0, 2)
		  if (a != ans) { flush(); ans = a; first = t; n = 0 }
		  last = t; n++ }
		END { flush() }' "$work/client.log"
}

# ---------------------------------------------------------------------------
heading "Starting a $nodes-node corosync cluster"
t0=$(now_ms)
hc start "$nodes" --dir "$cluster" >/dev/null
info "cluster up and quorate in $(secs $(($(now_ms) - t0))) s (state in $cluster)"
declare -A ns
for ((k = 1; k <= nodes; k++)); do
	ns[$k]=$(hc ns "$k")
	info "node$k: namespace ${ns[$k]}, address $(hc addr "$k")$( ((k == client)) && echo " (the client)")"
done
# The floating address: .100 of the harness's private /24, unused there.
a1=$(hc addr 1)
vip=${a1%.*}.100
for ((k = 1; k <= nodes; k++)); do
	[[ $(hc addr "$k") != "$vip" ]] || die "$vip is a node's address"
done
info "floating address (VIP): $vip/24 on eth0"

# ---------------------------------------------------------------------------
heading "Starting a web server and haq-leader $group on nodes 1-$servers"
declare -A leader_pid
for ((k = 1; k <= servers; k++)); do
	mkdir -p "$work/www$k" "$work/rsctmp$k"
	echo "served by node$k" >"$work/www$k/index.html"
	hc spawn "$k" --log "$work/httpd-node$k.log" -- \
		busybox httpd -f -p "$port" -h "$work/www$k" >/dev/null
	# HA_RSCTMP: the agent's run-time files (send_arp's pid file), one
	# directory per node, since the nodes share one file system.
	leader_pid[$k]=$(hc spawn "$k" --log "$work/haq-leader-node$k.log" -- \
		env HA_RSCTMP="$work/rsctmp$k" \
		"$leader_bin" "$group" --agent ocf:heartbeat:IPaddr2 \
		--monitor-interval 1 \
		ip="$vip" cidr_netmask=24 nic=eth0)
	info "node$k: haq-leader pid ${leader_pid[$k]}, log $work/haq-leader-node$k.log"
done
info "haq-leader $group --agent ocf:heartbeat:IPaddr2 --monitor-interval 1 ip=$vip cidr_netmask=24 nic=eth0"
first=$(wait_holder "$(seq -s ' ' 1 "$servers")") ||
	die "not exactly one node holds $vip after $wait_s s (holders: $(holders))"
info "=> node$first is the leader and holds $vip"

# The sampler and the client run from here to the end.
(
	while :; do
		echo "$(date +%T.%3N) $(holders)"
		sleep 0.1
	done
) >"$work/holders.log" 2>/dev/null &
bg_pids+=($!)
(
	while :; do
		t=$(date +%T.%3N)
		a=$(ip netns exec "${ns[$client]}" curl -sf --connect-timeout 0.5 \
			--max-time 1 "http://$vip:$port/" 2>/dev/null) || a="(no answer)"
		echo "$t $a"
		sleep 0.2
	done
) >"$work/client.log" 2>/dev/null &
bg_pids+=($!)
sleep 1.5

# ---------------------------------------------------------------------------
heading "Isolating node$first (taking its network link down)"
mapfile -t rest < <(for ((k = 1; k <= servers; k++)); do ((k == first)) || echo "$k"; done)
t_iso=$(now_ms)
hc isolate "$first"
info "isolated at $(date +%T.%3N); the client (node$client) asks http://$vip:$port/ every 0.2 s"
if ! new=$(wait_holder "${rest[*]}"); then
	die "FAILOVER FAILED: no other node holds $vip $wait_s s after the isolation (holders: $(holders))"
fi
info "=> node$new holds $vip after $(secs $(($(now_ms) - t_iso))) s"
wait_log "$first" 'no leader (not quorate)' ||
	die "node$first: haq-leader did not log 'no leader (not quorate)'"
wait_log "$first" 'demote: exited with status 0' ||
	die "node$first: the agent's stop did not complete"
info "node$first: $(grep -- 'no leader (not quorate)' "$work/haq-leader-node$first.log" | tail -n 1)"
info "node$first: $(grep -- 'demote: exited' "$work/haq-leader-node$first.log" | tail -n 1)"
info "node$new:  $(grep -- 'promote: exited' "$work/haq-leader-node$new.log" | tail -n 1)"
# Wait until the client hears the new node.
deadline=$(($(now_ms) + wait_s * 1000))
until tail -n 1 "$work/client.log" | grep -q "served by node$new"; do
	(($(now_ms) < deadline)) || die "the client never heard node$new"
	sleep 0.1
done
failover_ms=$(($(now_ms) - t_iso))
info "=> the client hears \"served by node$new\" $(secs "$failover_ms") s after the isolation"

# ---------------------------------------------------------------------------
heading "Healing node$first"
t_heal=$(now_ms)
hc heal "$first"
for ((k = 1; k <= nodes; k++)); do
	hc wait-members "$k" "$nodes" "$wait_s" || die "node$k: cluster did not re-form"
done
info "cluster whole again after $(secs $(($(now_ms) - t_heal))) s; watching for 4 s"
sleep 4
[[ $(holders) == "$new" ]] || die "after the heal $vip is on '$(holders)', not on node$new"
info "=> $vip stays on node$new (no fail-back)"
for ((k = 1; k <= servers; k++)); do
	info "node$k: $(grep -E 'leader: this process|follower: leader is|no leader' \
		"$work/haq-leader-node$k.log" | tail -n 1 | cut -c12-)"
done

# ---------------------------------------------------------------------------
heading "What the client heard (asking every 0.2 s, throughout)"
answers
moves=$(awk '{ $1 = ""; print }' "$work/client.log" | grep -v 'no answer' | uniq | wc -l)
overlaps=$(awk 'NF > 2' "$work/holders.log" | wc -l)
samples=$(wc -l <"$work/holders.log")
info "holder samples: $samples, with two or more holders at once: $overlaps"
last_old=$(awk -v k="$first" '{ for (i = 2; i <= NF; i++) if ($i == k) t = $1 } END { print t }' "$work/holders.log")
first_new=$(awk -v k="$new" '{ for (i = 2; i <= NF; i++) if ($i == k) { print $1; exit } }' "$work/holders.log")
info "last sample with $vip on node$first: $last_old; first on node$new: $first_new"
if ((overlaps > 0)); then
	awk 'NF > 2' "$work/holders.log" | head -n 5 | sed 's/^/    overlap: /'
fi

# ---------------------------------------------------------------------------
heading "Logs of the haq-leader processes (views and quorum lines left out)"
for ((k = 1; k <= servers; k++)); do
	printf '\n--- node%d: haq-leader (pid %s) ---\n' "$k" "${leader_pid[$k]}"
	grep -v -e ' view [0-9]* ring ' -e ' quorum: ' "$work/haq-leader-node$k.log" || true
done

# ---------------------------------------------------------------------------
heading "Summary"
info "node$first held $vip first; isolated at +0.000 s"
info "node$new answered the client at +$(secs "$failover_ms") s (failover time)"
info "node$first lost quorum and removed $vip; after the heal $vip stayed on node$new"
info "distinct answers in a row: $moves (2 = one move); overlaps: $overlaps"
((overlaps == 0)) || die "$vip was on two nodes at once in $overlaps samples"
((moves == 2)) || die "the service moved $((moves - 1)) times, not once"
info "cleaning up (stopping haq-leaders, web servers, corosyncs, namespaces)"
