#!/usr/bin/env bash
# `lanrage nat`, `lanrage-stun` and `lanrage-punch` refuse bad input clearly
# (exit 2, quoting it) before touching the network; `lanrage nat` against a
# loopback port where nobody listens says "unknown" and why.
set -euo pipefail
lanrage=$1
lanrage_stun=$2
lanrage_punch=$3
fail() { echo "FAIL: $*" >&2; exit 1; }

expect() { # want-exit want-text cmd...
	local want=$1 text=$2 out rc
	shift 2
	set +e
	out=$("$@" 2>&1)
	rc=$?
	set -e
	[ "$rc" -eq "$want" ] || fail "$* exited $rc, want $want: $out"
	grep -qF -- "$text" <<<"$out" || fail "$*: no '$text' in: $out"
}

expect 2 "Usage: lanrage nat" "$lanrage" nat --bogus
expect 0 "RFC 5780" "$lanrage" nat --help
expect 2 "Unable to parse endpoint: \`1.2.3.4:99999'" "$lanrage" nat --stun 1.2.3.4:99999
expect 2 "Unable to parse endpoint: \`[::1'" "$lanrage" nat --stun "[::1"
expect 2 "Unable to parse endpoint: \`a b'" "$lanrage" nat --stun "a b"
expect 2 "bad or missing value for \`--rto'" "$lanrage" nat --stun 127.0.0.1 --rto 0
expect 2 "bad or missing value for \`--attempts'" "$lanrage" nat --stun 127.0.0.1 --attempts 17
expect 2 "Unable to parse IP address: \`nowhere'" "$lanrage" nat --stun 127.0.0.1 --bind nowhere

# Nobody on this loopback port: unknown, with the reason, in bounded time.
expect 1 "reason:          no answer from 127.0.0.1:9 after 2 requests" \
	"$lanrage" nat --stun 127.0.0.1:9 --rto 50 --attempts 2
out=$("$lanrage" nat --stun 127.0.0.1:9 --rto 50 --attempts 1 --json || true)
[ "$(jq -r .type <<<"$out")" = unknown ] || fail "json: $out"
[ "$(jq -r '.tests[0].outcome' <<<"$out")" = "no answer" ] || fail "json: $out"

expect 2 "Unable to parse endpoint: \`198.51.100.2'" "$lanrage_stun" --alternate 198.51.100.2
expect 2 "must differ from" "$lanrage_stun" --listen 127.0.0.1:3478 --alternate 127.0.0.1:3479
expect 2 "Usage: lanrage-punch" "$lanrage_punch"
expect 2 "bad or missing value for \`--timeout'" "$lanrage_punch" --timeout 0
echo "ok"
