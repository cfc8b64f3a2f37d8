#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# demo-failover.sh - fail a web server over between the nodes of a 3-node
# corosync cluster with haq-leader.
#
# Every node runs "haq-leader haqdemo": the group's leader starts a tiny
# web server on port 8080 answering "served by nodeK" (--promote), and a
# process that loses the leadership stops it (--demote). The demo cuts the
# serving node off the network and measures how long the cluster takes to
# answer from another node; the isolated node, having lost quorum, stops
# its own server. Then it heals the network and shows the final state.
#
# Run as root from a built tree (./autogen.sh && ./configure && make),
# with busybox (the web server) and curl (the client) installed:
#     examples/demo-failover.sh
# Everything runs inside the network namespaces of the test harness
# (tests/harness/haq-cluster), on its private addresses; no other traffic.
# Exits 0 when the failover happened and the isolated node demoted.
# DEMO_KEEP=1 keeps the working directory (logs) for a look afterwards.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
harness=$top/tests/harness/haq-cluster
leader_bin=$top/examples/haq-leader
group=haqdemo
port=8080
nodes=3
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
command -v busybox >/dev/null || die "busybox is needed for the web server (apt install busybox)"
# The client that asks the nodes for their page. Not busybox wget: the one
# of Debian 12 (busybox 1.35) segfaults on a refused connection and on any
# fetch inside a network namespace, so the demo would never see a server.
command -v curl >/dev/null || die "curl is needed to ask the nodes for their page (apt install curl)"

work=$(mktemp -d "${TMPDIR:-/tmp}/haq-demo.XXXXXX")
cluster=$work/cluster
export HAQ_CLUSTER_DIR=$cluster

cleanup() {
	local rc=$?
	trap '' INT TERM HUP
	# Stops every haq-leader (each demotes), every corosync, and deletes
	# the namespaces; harmless when the cluster never started.
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

# fetch FROM TO: the page node TO serves, asked from inside node FROM.
fetch() {
	local addr
	addr=$(hc addr "$2")
	hc exec "$1" -- curl -sf --connect-timeout 1 --max-time 2 \
		"http://$addr:$port/" 2>/dev/null
}

# The node cut off from the others, once there is one.
isolated=

# The node to ask node $1's address from: another node that can reach it.
# The isolated node is asked from inside itself: nothing else reaches it.
asker() {
	local k
	if [[ $1 == "$isolated" ]]; then
		echo "$1"
		return
	fi
	for ((k = 1; k <= nodes; k++)); do
		if [[ $k != "$1" && $k != "$isolated" ]]; then
			echo "$k"
			return
		fi
	done
}

# servers NODE...: print "K" for each listed node whose web server answers
# "served by nodeK".
servers() {
	local k from page
	for k in "$@"; do
		from=$(asker "$k")
		if page=$(fetch "$from" "$k") && [[ $page == "served by node$k" ]]; then
			echo "$k"
		fi
	done
}

# wait_single_server NODE...: wait until exactly one of the nodes serves;
# prints it. Fails after $wait_s seconds.
wait_single_server() {
	local deadline s
	deadline=$(($(now_ms) + wait_s * 1000))
	while :; do
		mapfile -t s < <(servers "$@")
		if ((${#s[@]} == 1)); then
			echo "${s[0]}"
			return 0
		fi
		(($(now_ms) < deadline)) || return 1
		sleep 0.2
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

# The last leadership line node K's haq-leader logged.
last_role() {
	grep -E 'leader: this process|follower: leader is|no leader' \
		"$work/haq-leader-node$1.log" | tail -n 1
}

show_servers() {
	local k from page
	for ((k = 1; k <= nodes; k++)); do
		from=$(asker "$k")
		if page=$(fetch "$from" "$k"); then
			info "node$k ($(hc addr "$k"):$port, asked from node$from): $page"
		else
			info "node$k ($(hc addr "$k"):$port, asked from node$from): no answer"
		fi
	done
}

# ---------------------------------------------------------------------------
heading "Starting a $nodes-node corosync cluster"
t0=$(now_ms)
hc start "$nodes" --dir "$cluster" >/dev/null
info "cluster up and quorate in $(secs $(($(now_ms) - t0))) s (state in $cluster)"
for ((k = 1; k <= nodes; k++)); do
	info "node$k: namespace $(hc ns "$k"), address $(hc addr "$k")"
done

# ---------------------------------------------------------------------------
heading "Starting haq-leader $group on every node"
# The promote command starts busybox httpd in the background and notes its
# pid; the demote command stops it. haq-leader runs them one at a time, so
# a demote always ends before a later promote starts.
cat >"$work/promote.sh" <<'EOF'
#!/bin/sh
# promote.sh K DIR PORT: serve DIR/wwwK on PORT, pid in DIR/httpd-nodeK.pid
k=$1 dir=$2 port=$3
busybox httpd -f -p "$port" -h "$dir/www$k" &
echo $! >"$dir/httpd-node$k.pid"
echo "promote.sh: node$k: web server started (pid $!, epoch $HAQ_EPOCH)"
EOF
cat >"$work/demote.sh" <<'EOF'
#!/bin/sh
# demote.sh K DIR: stop the web server promote.sh started on node K.
k=$1 dir=$2
f=$dir/httpd-node$k.pid
[ -f "$f" ] || exit 0
pid=$(cat "$f")
rm -f "$f"
kill "$pid" 2>/dev/null || true
# Wait (boundedly) until it is gone or a zombie: then it answers no more.
i=0
while [ $i -lt 50 ] && [ -e "/proc/$pid" ] &&
	! grep -q '^[0-9]* ([^)]*) Z' "/proc/$pid/stat" 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
echo "demote.sh: node$k: web server stopped (pid $pid, epoch $HAQ_EPOCH)"
EOF
chmod +x "$work/promote.sh" "$work/demote.sh"
declare -A leader_pid
for ((k = 1; k <= nodes; k++)); do
	mkdir -p "$work/www$k"
	echo "served by node$k" >"$work/www$k/index.html"
	leader_pid[$k]=$(hc spawn "$k" --log "$work/haq-leader-node$k.log" -- \
		"$leader_bin" "$group" \
		--promote "$work/promote.sh $k $work $port" \
		--demote "$work/demote.sh $k $work")
	info "node$k: haq-leader pid ${leader_pid[$k]}, log $work/haq-leader-node$k.log"
done
for ((k = 1; k <= nodes; k++)); do
	wait_log "$k" 'leader: this process\|follower: leader is' ||
		die "node$k: haq-leader did not report a leader within $wait_s s"
done

# ---------------------------------------------------------------------------
heading "Which node serves http://ADDRESS:$port/ ?"
serving=$(wait_single_server $(seq 1 "$nodes")) ||
	die "not exactly one node serves after $wait_s s"
show_servers
info "=> node$serving is the leader and serves"

# ---------------------------------------------------------------------------
heading "Isolating node$serving (taking its network link down)"
mapfile -t rest < <(for ((k = 1; k <= nodes; k++)); do [[ $k == "$serving" ]] || echo "$k"; done)
t_iso=$(now_ms)
hc isolate "$serving"
isolated=$serving
info "isolated at $(date +%T.%3N); polling node${rest[0]} and node${rest[1]} every 0.2 s"
if ! new=$(wait_single_server "${rest[@]}"); then
	show_servers
	die "FAILOVER FAILED: no other node served within $wait_s s of the isolation"
fi
t_new=$(now_ms)
failover_ms=$((t_new - t_iso))
info "=> node$new now serves: \"$(fetch "$(asker "$new")" "$new")\""
info "=> failover time (isolation -> new server answering): $(secs "$failover_ms") s"
# Where the time went: haq-leader stamps its lines with the wall clock.
line=$(grep -- 'leader: this process' "$work/haq-leader-node$new.log" | tail -n 1)
if t_lead=$(date -d "${line:0:23}" +%s%3N 2>/dev/null); then
	info "   of which until node$new's haq-leader was told it leads: $(secs $((t_lead - t_iso))) s"
	info "   (corosync's token timeout and membership change, then libhaq's view)"
fi

info "checking the isolated node$serving ..."
if ! wait_log "$serving" 'no leader (not quorate)'; then
	die "node$serving: haq-leader did not log 'no leader (not quorate)' within $wait_s s"
fi
info "node$serving: $(grep -- 'no leader (not quorate)' "$work/haq-leader-node$serving.log" | tail -n 1)"
if ! wait_log "$serving" 'demote: exited with status 0'; then
	die "node$serving: the demote command did not complete within $wait_s s"
fi
info "node$serving: $(grep -- 'demote: exited' "$work/haq-leader-node$serving.log" | tail -n 1)"
# Asked from inside the isolated node itself: the only place that can
# still reach its address.
if page=$(fetch "$serving" "$serving"); then
	die "node$serving still serves after demoting: $page"
fi
info "node$serving: its web server no longer answers (asked from inside node$serving)"

# ---------------------------------------------------------------------------
heading "Healing node$serving"
t_heal=$(now_ms)
hc heal "$serving"
isolated=
for ((k = 1; k <= nodes; k++)); do
	hc wait-members "$k" "$nodes" "$wait_s" || die "node$k: cluster did not re-form"
	hc wait-quorate "$k" yes "$wait_s" || die "node$k: not quorate after the heal"
done
info "cluster whole again after $(secs $(($(now_ms) - t_heal))) s"
final=$(wait_single_server $(seq 1 "$nodes")) ||
	die "not exactly one node serves $wait_s s after the heal"
# Each haq-leader reports the new ring's leader: wait until all agree.
deadline=$(($(now_ms) + wait_s * 1000))
for ((k = 1; k <= nodes; k++)); do
	if ((k == final)); then want='leader: this process'; else want='follower: leader is'; fi
	until [[ $(last_role "$k") == *"$want"* ]]; do
		(($(now_ms) < deadline)) || die "node$k: haq-leader's last word is not '$want'"
		sleep 0.1
	done
done

# ---------------------------------------------------------------------------
heading "Final state"
hc status | sed 's/^./    &/'
echo
show_servers
info "=> node$final serves (after a ring change the lowest node id leads)"

# ---------------------------------------------------------------------------
heading "Logs of the three haq-leader processes"
for ((k = 1; k <= nodes; k++)); do
	printf '\n--- node%d: haq-leader (pid %s) ---\n' "$k" "${leader_pid[$k]}"
	cat "$work/haq-leader-node$k.log"
done

# ---------------------------------------------------------------------------
heading "Summary"
info "node$serving served first; isolated at +0.000 s"
info "node$new answered at +$(secs "$failover_ms") s (failover time)"
info "node$serving lost quorum and stopped its server; after the heal node$final serves"
info "cleaning up (stopping haq-leaders, corosyncs, namespaces)"
