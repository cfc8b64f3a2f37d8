#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Bad input: a raw libcpg program joins the probes' group and sends garbage
# frames (random bytes, truncated headers, bad magic, fragments claiming
# huge totals, fragments that do not fit together). The probes must keep
# delivering, deliver none of it, not crash, and count exactly the frames
# libhaq's wire rules call malformed or oversize. Then the logs are checked.
# shellcheck source-path=SCRIPTDIR source=fault-lib.sh disable=SC2016,SC2046
. "$(dirname "$0")/fault-lib.sh"
fault_main 3 150 "$@"

[[ -x $RAW_GARBAGE ]] || fail "$RAW_GARBAGE is missing"
probes_start 3
wait_until 20 "3-member views everywhere" all_views_are 3 1 2 3
let_traffic_flow 100 1 2 3

say "garbage from a raw CPG member on node 3"
out=$("$H" exec 3 -- "$RAW_GARBAGE" --group "$GROUP" --rounds 200) ||
	fail "raw-garbage failed: $out"
say "$out"
# raw-garbage: sent=N self_delivered=N malformed=A oversize=B ignored=C
#              control=D open_partials=1
field() { sed -E "s/.* $1=([0-9]+).*/\\1/" <<<"$out"; }
malformed=$(field malformed)
oversize=$(field oversize)
control=$(field control)
wait_until 20 "the raw member to be gone" all_views_are 3 1 2 3
let_traffic_flow 200 1 2 3
for k in 1 2 3; do
	kill -0 "${PROBE_PID[$k]}" 2>/dev/null || fail "probe $k died"
done

probe_stop_all
for k in 1 2 3; do
	c=$(grep ' counters ' "${PROBE_LOG[$k]}" | tail -n 1)
	say "probe $k: $c"
	m=$(sed -E 's/.* malformed=([0-9]+).*/\1/' <<<"$c")
	o=$(sed -E 's/.* oversize=([0-9]+).*/\1/' <<<"$c")
	p=$(sed -E 's/.* partial=([0-9]+).*/\1/' <<<"$c")
	# Control frames are ignored today; a stricter library may count them.
	((m >= malformed && m <= malformed + control)) ||
		fail "probe $k counted $m malformed frames, expected $malformed (+ up to $control control frames)"
	((o == oversize)) ||
		fail "probe $k counted $o oversize messages, expected $oversize"
	((p >= 1)) ||
		fail "probe $k did not drop the message the raw member left open"
done
# Not one garbage frame may reach the application ("foreign" lines fail the
# checker).
run_checker
