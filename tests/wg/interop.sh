#!/usr/bin/env bash
# Interop: our lanrage-wg against wireguard-go (Debian), both configured with the stock `wg`.
#
#   ns "o" (ours)                              ns "t" (theirs)
#   +------------------------+      veth      +------------------------+
#   | lanrage-wg  IF_O       |----------------| wireguard-go  IF_T     |
#   | 10.66.0.1/24           | 203.0.113.1/24 | 10.66.0.2/24           |
#   | UDP 51820              | 203.0.113.2/24 | UDP 51820              |
#   +------------------------+                +------------------------+
#
# Shows: pings both ways, IPv4 and IPv6 inside the tunnel; a 50 MB TCP
# transfer each way with matching checksums; the handshake started from either
# side; `wg showconf` and `wg syncconf` against ours; ours restarted in the
# middle of a session recovers; a wrong public key gets no traffic through; a
# replayed data packet is dropped and counted.
set -euo pipefail
OURS=$(realpath "$1")
WGTEST=$(realpath "$2")
. "$(dirname "$0")/../lab/lib.sh"
. "$(dirname "$0")/pair.sh"

stat_o() { ip netns exec "$O" "$OURS" --stats "$IF_O" | sed -n "s/^$1=//p"; }
ping_o() { ip netns exec "$O" ping -c "${1:-3}" -i 0.2 -W 2 10.66.0.2 >/dev/null; }
ping_t() { ip netns exec "$T" ping -c "${1:-3}" -i 0.2 -W 2 10.66.0.1 >/dev/null; }

start_ours() {
	lab_bg "$O" "$LAB_TMP/ours.log" env LOG_LEVEL=debug "$OURS" -f "$IF_O"
	OURS_PID=$LAB_LAST_PID
	wait_for 10 "our UAPI socket" test -S "/var/run/wireguard/$IF_O.sock"
	ip netns exec "$O" wg set "$IF_O" private-key "$LAB_TMP/ko" listen-port 51820 \
		peer "$PT" endpoint 203.0.113.2:51820 allowed-ips 10.66.0.2/32,fd66::2/128
	ip -n "$O" addr add 10.66.0.1/24 dev "$IF_O"
	ip -n "$O" addr add fd66::1/64 dev "$IF_O" nodad
	ip -n "$O" link set "$IF_O" up
}

step "start both, configured with wg"
start_ours
start_theirs endpoint 203.0.113.1:51820 allowed-ips 10.66.0.1/32,fd66::1/128
ip -n "$T" addr add fd66::2/64 dev "$IF_T" nodad
ip netns exec "$O" wg show "$IF_O" | grep -q "peer: $PT" || fail "wg show lists no peer"
[ "$(ip netns exec "$O" wg show "$IF_O" public-key)" = "$PO" ] || fail "wg derives another public key"

step "handshake started by ours; ping both ways"
ping_o 3 || fail "ping ours -> wireguard-go"
[ "$(stat_o hs_initiation_sent)" -ge 1 ] || fail "ours did not initiate"
[ "$(stat_o hs_response_received)" -ge 1 ] || fail "ours got no response"
ping_t 3 || fail "ping wireguard-go -> ours"
ip netns exec "$T" wg show "$IF_T" latest-handshakes | awk '{ exit !($2 > 0) }' ||
	fail "wireguard-go reports no handshake"
ip netns exec "$O" ping -6 -c 3 -i 0.2 -W 2 fd66::2 >/dev/null || fail "IPv6 ping ours -> wireguard-go"
ip netns exec "$T" ping -6 -c 3 -i 0.2 -W 2 fd66::1 >/dev/null || fail "IPv6 ping wireguard-go -> ours"

step "wg showconf and wg syncconf against ours"
ip netns exec "$O" wg showconf "$IF_O" >"$LAB_TMP/conf"
grep -q "^PrivateKey = $(cat "$LAB_TMP/ko")$" "$LAB_TMP/conf" || fail "showconf: private key"
grep -q "^ListenPort = 51820$" "$LAB_TMP/conf" || fail "showconf: listen port"
grep -q "^PublicKey = $PT$" "$LAB_TMP/conf" || fail "showconf: peer"
grep -q "^AllowedIPs = 10.66.0.2/32, fd66::2/128$" "$LAB_TMP/conf" || fail "showconf: allowed IPs"
# syncconf applies only the difference: an extra allowed IP appears, the session stays.
sed 's|^AllowedIPs = .*|AllowedIPs = 10.66.0.2/32, fd66::2/128, 192.0.2.0/24|' "$LAB_TMP/conf" \
	>"$LAB_TMP/conf2"
before_hs=$(ip netns exec "$O" wg show "$IF_O" latest-handshakes | awk '{ print $2 }')
ip netns exec "$O" wg syncconf "$IF_O" "$LAB_TMP/conf2"
ip netns exec "$O" wg show "$IF_O" allowed-ips | grep -q "192.0.2.0/24" || fail "syncconf not applied"
[ "$(ip netns exec "$O" wg show "$IF_O" latest-handshakes | awk '{ print $2 }')" = "$before_hs" ] ||
	fail "syncconf restarted the session"
ping_o 2 || fail "ping after syncconf"
ip netns exec "$O" wg syncconf "$IF_O" "$LAB_TMP/conf"
ip netns exec "$O" wg show "$IF_O" allowed-ips | grep -q "192.0.2.0/24" && fail "syncconf did not remove"


step "handshake started by wireguard-go"
# Fresh sessions on both sides: remove and re-add the peers.
ip netns exec "$O" wg set "$IF_O" peer "$PT" remove
ip netns exec "$T" wg set "$IF_T" peer "$PO" remove
ip netns exec "$O" wg set "$IF_O" peer "$PT" endpoint 203.0.113.2:51820 \
	allowed-ips 10.66.0.2/32,fd66::2/128
ip netns exec "$T" wg set "$IF_T" peer "$PO" endpoint 203.0.113.1:51820 \
	allowed-ips 10.66.0.1/32,fd66::1/128
before=$(stat_o hs_initiation_received)
ping_t 3 || fail "ping wireguard-go -> ours after re-adding peers"
[ "$(stat_o hs_initiation_received)" -gt "$before" ] || fail "wireguard-go did not initiate"
[ "$(stat_o hs_response_sent)" -ge 1 ] || fail "ours did not respond"
ping_o 3 || fail "ping ours -> wireguard-go in the responder's session"

step "50 MB TCP each way, checksums match"
head -c 50000000 /dev/urandom >"$LAB_TMP/data"
want=$(sha256sum <"$LAB_TMP/data" | cut -d' ' -f1)
transfer() { # from-ns to-ns to-addr
	rm -f "$LAB_TMP/recv"
	lab_bg "$2" "$LAB_TMP/recv" nc -l -N 10.66.0.$3 5001
	local rx=$LAB_LAST_PID
	wait_for 10 "the receiver listening" lab_listening "$2" 5001
	ip netns exec "$1" timeout 120 nc -N "10.66.0.$3" 5001 <"$LAB_TMP/data" ||
		fail "sending to 10.66.0.$3 failed"
	wait_gone 60 "$rx" || fail "the receiver did not finish"
	[ "$(sha256sum <"$LAB_TMP/recv" | cut -d' ' -f1)" = "$want" ] ||
		fail "checksum mismatch sending to 10.66.0.$3 ($(stat -c %s "$LAB_TMP/recv") bytes arrived)"
}
transfer "$O" "$T" 2
transfer "$T" "$O" 1

step "a replayed data packet is dropped and counted"
lab_bg "$T" "$LAB_TMP/tcpdump.log" tcpdump -i "$VETH_T" -w "$LAB_TMP/cap.pcap" -U -c 20 \
	"udp and src host 203.0.113.2 and dst port 51820 and udp[8] = 4"
dump=$LAB_LAST_PID
wait_for 10 "tcpdump capturing" grep -q "listening on" "$LAB_TMP/tcpdump.log"
ping_t 5 || fail "ping during capture"
ip netns exec "$T" ping -c 30 -i 0.05 -W 1 10.66.0.1 >/dev/null || true
wait_gone 10 "$dump" || fail "tcpdump captured too little"
# shellcheck disable=SC2034 # read in the eval below
replay_before=$(stat_o rx_replay)
ip netns exec "$T" "$WGTEST" replay "$LAB_TMP/cap.pcap" 203.0.113.1:51820 >"$LAB_TMP/replay.out"
replayed=$(sed -n 's/^replayed=//p' "$LAB_TMP/replay.out")
[ "$replayed" -ge 1 ] || fail "nothing replayed"
wait_for 5 "the replays counted" eval '[ "$(stat_o rx_replay)" -ge $((replay_before + replayed)) ]'
echo "   $replayed replayed packets dropped, rx_replay=$(stat_o rx_replay)"
ping_t 2 || fail "the session broke after the replays"

step "ours restarted mid-session recovers"
lab_bg "$T" "$LAB_TMP/ping.log" ping -i 0.2 -w 60 10.66.0.1
background_ping=$LAB_LAST_PID
kill "$OURS_PID"
wait_gone 10 "$OURS_PID" || fail "ours did not stop on SIGTERM"
test ! -e "/var/run/wireguard/$IF_O.sock" || fail "ours left its socket behind"
start_ours
# wireguard-go still holds the old session; it must notice and handshake anew.
wait_for 40 "wireguard-go reaching the restarted ours" ping_t 1
ping_o 2 || fail "ping ours -> wireguard-go after the restart"
kill "$background_ping"
wait_gone 5 "$background_ping" || fail "the background ping did not stop"

step "a wrong public key gets nothing through"
KX=$(lab_key)
PX=$(lab_pub "$KX")
bad_mac=$(stat_o hs_bad_mac)
ip netns exec "$T" wg set "$IF_T" peer "$PO" remove
ip netns exec "$T" wg set "$IF_T" peer "$PX" endpoint 203.0.113.1:51820 allowed-ips 10.66.0.1/32
if ping_t 3; then fail "traffic passed with a wrong key for ours"; fi
[ "$(stat_o hs_bad_mac)" -gt "$bad_mac" ] || fail "ours did not count the misaddressed handshakes"
ip netns exec "$O" wg set "$IF_O" peer "$PT" remove
ip netns exec "$O" wg set "$IF_O" peer "$PX" endpoint 203.0.113.2:51820 allowed-ips 10.66.0.2/32
if ping_o 3; then fail "traffic passed with a wrong key for wireguard-go"; fi
ip netns exec "$O" wg show "$IF_O" latest-handshakes | awk '{ exit !($2 == 0) }' ||
	fail "a handshake completed with the wrong key"

echo "PASS"
