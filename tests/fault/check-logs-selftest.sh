#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The checker's own tests: feed haq-check-logs hand-made logs (testlogs/) -
# good runs that must pass, and runs broken on purpose (reordered,
# duplicate, gap, FIFO, loss, virtual synchrony, two leaders for an epoch,
# a leader without quorum or connection, epochs going back, two leaders
# overlapping by a fraction of a millisecond, a fail-back after a heal, a
# leader past its lease, a replicated state that differs or is delivered
# to while not held, two holders of a lock at once, a lock token going
# back, ...) that must fail with the expected violation class.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
check=$here/haq-check-logs
failed=0
n=0

for dir in "$here"/testlogs/*/; do
	[[ -f $dir/expect ]] || continue
	case_=$(basename "$dir")
	expect=$(<"$dir/expect")
	n=$((n + 1))
	args=()
	if [[ -f $dir/args ]]; then
		read -ra args <"$dir/args"
	fi
	out=$("$check" "${args[@]}" "$dir"/*.log 2>&1)
	rc=$?
	if [[ $expect == OK ]]; then
		if ((rc == 0)); then
			echo "PASS: $case_ accepted"
		else
			echo "FAIL: $case_ must pass, checker exited $rc:"
			echo "$out"
			failed=$((failed + 1))
		fi
	elif ((rc != 1)); then
		echo "FAIL: $case_ must fail with $expect, checker exited $rc:"
		echo "$out"
		failed=$((failed + 1))
	elif ! grep -q "^VIOLATION $expect:" <<<"$out"; then
		echo "FAIL: $case_ must report $expect, reported:"
		echo "$out"
		failed=$((failed + 1))
	else
		echo "PASS: $case_ rejected: $(grep -A1 "^VIOLATION $expect:" <<<"$out" | tail -n 1 | sed 's/^  - //')"
	fi
done

# Usage errors and unreadable input are not verdicts.
n=$((n + 2))
"$check" >/dev/null 2>&1
rc=$?
if ((rc == 2)); then echo "PASS: no arguments -> 2"; else
	echo "FAIL: no arguments gave $rc"
	failed=$((failed + 1))
fi
"$check" "$here/testlogs/no-such-file.log" >/dev/null 2>&1
rc=$?
if ((rc == 2)); then echo "PASS: missing file -> 2"; else
	echo "FAIL: missing file gave $rc"
	failed=$((failed + 1))
fi

echo "$((n - failed))/$n checker tests passed"
((failed == 0))
