#!/usr/bin/env bash
# Our STUN server (lanrage-stun): the stock `stun` client classifies every lab
# NAT against it exactly as against coturn; `lanrage nat` does too.  Then the
# unknowns: no server, and a server without an alternate address (no RFC 5780).
# Garbage sent at the server is dropped and counted, never answered.
# Topology: tests/nat/lab.sh, hosts 1-5 = none, full cone, restricted cone,
# port-restricted cone, symmetric; lanrage-stun on 198.51.100.1:3478 with the
# alternate 198.51.100.2:3479.
set -euo pipefail
lanrage=$1
lanrage_stun=$2
here=$(dirname "$0")
source "$here/lab.sh"

lab_init
lab_add_all_types
lab_start_our_stun "$(dirname "$lanrage_stun")" "$LAB_DIR/stun.log"
main_stun=$LAB_STUN_PID

lab_check_all lab_check_stund || lab_fail "the stock stun client vs lanrage-stun"
lab_check_all lab_check_ours "$lanrage" "$STUN_IP1:3478" || lab_fail "lanrage nat vs lanrage-stun"

# Nobody listening: "unknown" with the reason, within the configured schedule
# (3 requests, RTO 100 ms: 0.3 s + 16 x 0.1 s).
port_restricted=$(lab_host_ns 4)
start=$(date +%s%N)
set +e
out=$(ip netns exec "$port_restricted" "$lanrage" nat --stun "$STUN_IP1:3999" --rto 100 \
	--attempts 3 --json)
rc=$?
set -e
ms=$((($(date +%s%N) - start) / 1000000))
[ "$rc" -eq 1 ] || lab_fail "no server: exit $rc, want 1: $out"
[ "$(jq -r .type <<<"$out")" = unknown ] || lab_fail "no server: $out"
jq -r .reason <<<"$out" | grep -q "no answer from $STUN_IP1:3999 after 3 requests" ||
	lab_fail "no server: no reason: $out"
[ "$ms" -lt 15000 ] || lab_fail "no server: took $ms ms"
echo "ok no server: unknown after $ms ms: $(jq -r .reason <<<"$out")"

# A server without an alternate: the mapping, but the type is unknown behind a
# NAT (and "open" without one), saying why.
lab_spawn "${LAB}i" "$LAB_DIR/single.log" "$lanrage_stun" --listen "$STUN_IP1:3480"
lab_wait 20 grep -q "listening on" "$LAB_DIR/single.log" || lab_fail "single-address server"
set +e
out=$(ip netns exec "$port_restricted" "$lanrage" nat --stun "$STUN_IP1:3480" --json)
set -e
[ "$(jq -r .type <<<"$out")" = unknown ] || lab_fail "single server: $out"
[ "$(jq -r .mapped <<<"$out")" != null ] || lab_fail "single server: no mapped address: $out"
jq -r .reason <<<"$out" | grep -q "does not support RFC 5780" || lab_fail "single server: $out"
echo "ok single-address server: $(jq -r .reason <<<"$out")"
out=$(ip netns exec "$(lab_host_ns 1)" "$lanrage" nat --stun "$STUN_IP1:3480" --json)
[ "$(jq -r .type <<<"$out")" = open ] || lab_fail "single server, no NAT: $out"
echo "ok single-address server, no NAT: open"

# Garbage: dropped and counted by reason, and the server still answers after.
ip netns exec "$(lab_host_ns 1)" bash -c "
	printf 'not stun at all, not stun at all' >/dev/udp/$STUN_IP1/3478
	printf '\x00\x01\x00\x04\x21\x12\xa4\x42012345678901\x00\x20\x00' >/dev/udp/$STUN_IP1/3478"
lab_check_ours 1 none "$lanrage" "$STUN_IP1:3478" | grep -q '^ok' || lab_fail "server after garbage"
lab_stop "$main_stun"
grep -q "2 malformed" "$LAB_DIR/stun.log" || lab_fail "garbage not counted: $(tail -1 "$LAB_DIR/stun.log")"
echo "ok garbage dropped and counted: $(tail -1 "$LAB_DIR/stun.log")"
echo "ok"
