#!/usr/bin/env bash
# Local candidates: two members on one LAN behind a router that does not
# hairpin (like most) reach each other directly over the LAN, on each
# other's local candidate, while their STUN-mapped addresses lead nowhere.
#
#          internet (lanrage-stun on 198.51.100.1/.2)
#              |
#          router lr<pid>r1 (port-restricted cone, no hairpinning)
#              | bridge 10.0.1.1/24
#        +-----+------+
#   lr<pid>h1        lr<pid>h1b
#   10.0.1.2         10.0.1.3
set -euo pipefail
lanrage=$1
lanrage_stun=$2
lanrage_punch=$3
here=$(dirname "$0")
source "$here/lab.sh"

lab_init
lab_add_lan_pair 1 port_restricted_cone
lab_start_our_stun "$(dirname "$lanrage_stun")" "$LAB_DIR/stun.log"
for k in a b; do
	(umask 077 && "$lanrage" genkey >"$LAB_DIR/key$k")
	"$lanrage" pubkey <"$LAB_DIR/key$k" >"$LAB_DIR/pub$k"
done
mkdir "$LAB_DIR/rv"
lab_spawn "${LAB}h1" "$LAB_DIR/a.out" "$lanrage_punch" --key "$LAB_DIR/keya" \
	--peer "$(cat "$LAB_DIR/pubb")" --rendezvous "$LAB_DIR/rv" --stun "$STUN_IP1:3478" \
	--port 40000 --timeout 15
a=$LAB_LAST_PID
lab_spawn "${LAB}h1b" "$LAB_DIR/b.out" "$lanrage_punch" --key "$LAB_DIR/keyb" \
	--peer "$(cat "$LAB_DIR/puba")" --rendezvous "$LAB_DIR/rv" --stun "$STUN_IP1:3478" \
	--port 40000 --timeout 15
b=$LAB_LAST_PID
lab_reap "$a"
lab_reap "$b"
for side in a:10.0.1.3 b:10.0.1.2; do
	out=$(grep '^{' "$LAB_DIR/${side%%:*}.out" || true)
	[ "$(jq -r .direct <<<"$out")" = true ] || lab_fail "no direct path: $(cat "$LAB_DIR/${side%%:*}.out")"
	[ "$(jq -r .path <<<"$out")" = "${side#*:}:40000" ] || lab_fail "not the LAN path: $out"
	[ "$(jq -r .path_kind <<<"$out")" = local ] || lab_fail "not a local candidate: $out"
	# Both sent from port 40000: one of them got another outside port.
	[ "$(jq -r .mapped <<<"$out" | cut -d: -f1)" = 203.0.113.6 ] || lab_fail "mapped: $out"
	# The mapped candidate was tried too, and never answered (no hairpinning).
	[ "$(jq -r '.candidates[] | select(.kind == "reflexive") | .pongs' <<<"$out")" = 0 ] ||
		lab_fail "the router hairpins after all: $out"
	echo "ok ${side%%:*}: $(jq -c '{path, path_kind, first_pong_ms, rtt_ms}' <<<"$out")"
done
echo "ok"
