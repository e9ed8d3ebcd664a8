#!/usr/bin/env bash
# lanrage-control answers STUN (the module issue 5 built) next to its HTTP API.
#
#   ns "s": lanrage-control, HTTP on 198.51.100.10:0, STUN on 198.51.100.10:3478
#           and, for RFC 5780, 198.51.100.11:3479
#   ns "c": lanrage nat and the stock stun client, at 198.51.100.20
#
# Run in namespaces of its own: port 3478 is one per machine.
set -euo pipefail
SERVER=$(realpath "$1")
CLI=$(realpath "$2")
. "$(dirname "$0")/../lab/lib.sh"

lab_ns S s
lab_ns C c
lab_veth "$S" "vs$LAB_ID" 198.51.100.10/24 "$C" "vc$LAB_ID" 198.51.100.20/24
ip -n "$S" addr add 198.51.100.11/24 dev "vs$LAB_ID"

step "the server starts its STUN listener by default, on its HTTP address"
lab_bg "$S" "$LAB_TMP/server.log" "$SERVER" --listen 198.51.100.10 --port 0 \
	--port-file "$LAB_TMP/port" --db "sqlite://$LAB_TMP/c.db" --stun-alternate 198.51.100.11:3479
wait_for 10 "the server" test -s "$LAB_TMP/port"
grep -q "STUN on 198.51.100.10:3478 with RFC 5780" "$LAB_TMP/server.log" ||
	fail "no STUN listener announced: $(cat "$LAB_TMP/server.log")"

step "our client finds its NAT type through it"
ip netns exec "$C" "$CLI" nat --stun 198.51.100.10:3478 --json >"$LAB_TMP/nat.json" ||
	fail "lanrage nat failed: $(cat "$LAB_TMP/nat.json")"
jq -e '.type == "open"' "$LAB_TMP/nat.json" >/dev/null || fail "not open: $(cat "$LAB_TMP/nat.json")"
jq -e '.mapped | startswith("198.51.100.20:")' "$LAB_TMP/nat.json" >/dev/null ||
	fail "wrong mapped endpoint: $(cat "$LAB_TMP/nat.json")"

step "the stock stun client is satisfied"
out=$(ip netns exec "$C" stun 198.51.100.10 2>&1 || true)
grep -q "Open" <<<"$out" || fail "stun client: $out"

step "a second server on the same address fails clearly (the port is taken)"
if ip netns exec "$S" "$SERVER" --listen 198.51.100.10 --port 0 --db "sqlite://$LAB_TMP/d.db" \
	>"$LAB_TMP/second.log" 2>&1; then
	fail "a second STUN listener on 3478 started"
fi
grep -q "cannot start the STUN server" "$LAB_TMP/second.log" ||
	fail "no clear error: $(cat "$LAB_TMP/second.log")"
ip netns exec "$S" "$SERVER" --help | grep -q -- "--stun ADDR:PORT" || fail "--help"
echo PASS
