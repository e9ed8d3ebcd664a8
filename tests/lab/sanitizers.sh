# shellcheck shell=bash
# sanitizers.sh - sourced by the lab libraries: a failing test shows first what
# AddressSanitizer or UndefinedBehaviorSanitizer said in the logs of the
# programs it started (a crashed daemon otherwise looks like a lost packet).

# lab_sanitizer_reports DIR: the reports in DIR's *.log files, if any, to stderr.
lab_sanitizer_reports() {
	local f
	for f in "$1"/*.log; do
		[ -f "$f" ] || continue
		if grep -q "runtime error:\|ERROR: AddressSanitizer\|ERROR: LeakSanitizer" "$f"; then
			echo "SANITIZER REPORT in $f:" >&2
			grep -m 3 -A 4 "runtime error:\|ERROR: AddressSanitizer\|ERROR: LeakSanitizer" "$f" >&2
		fi
	done
}
