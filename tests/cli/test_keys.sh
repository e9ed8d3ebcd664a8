#!/usr/bin/env bash
# The CLI's key commands agree with the stock `wg` (wireguard-tools) both ways.
set -euo pipefail
lanrage=$1
fail() { echo "FAIL: $*" >&2; exit 1; }

for _ in 1 2 3 4 5; do
	ours=$("$lanrage" genkey)
	[ "$("$lanrage" pubkey <<<"$ours")" = "$(wg pubkey <<<"$ours")" ] || fail "pubkey of our key differs from wg's"
	theirs=$(wg genkey)
	[ "$("$lanrage" pubkey <<<"$theirs")" = "$(wg pubkey <<<"$theirs")" ] || fail "pubkey of wg's key differs"
done

# Bad input: a clear error, exit 1, and the input is not echoed.
if out=$("$lanrage" pubkey <<<"c2VjcmV0LWJ1dC1icm9rZW4=" 2>&1); then fail "bad key accepted"; fi
grep -q "not a valid key" <<<"$out" || fail "no clear error: $out"
grep -q "c2VjcmV0" <<<"$out" && fail "error echoes the key"

# Party ids: generated ones check out, typed forms normalise, typos are caught.
id=$("$lanrage" party-id)
[ "$("$lanrage" party-id "$(tr 'A-Z' 'a-z' <<<"$id" | tr -d -)")" = "$id" ] || fail "normalise"
# One mistyped symbol (the first) is always caught.
if [ "${id:0:1}" = A ]; then bad="B${id:1}"; else bad="A${id:1}"; fi
if out=$("$lanrage" party-id "$bad" 2>&1); then fail "typo not caught"; fi
grep -q "has a typo" <<<"$out" || fail "no clear typo error: $out"

# Usage errors exit 2.
set +e
"$lanrage" >/dev/null 2>&1; [ $? -eq 2 ] || fail "no-arg exit code"
"$lanrage" frobnicate >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown command exit code"
set -e
echo "ok"
