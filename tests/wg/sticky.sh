#!/usr/bin/env bash
# Sticky source: on a host with several addresses, ours answers a peer from
# the address the peer sent to, as kernel WireGuard does.  The routing table
# would pick another one, which a NAT or a stateful firewall in front of the
# peer drops (IPv6 hosts with temporary addresses meet this every day).
#
#   ns "o" (ours)                                  ns "t" (wireguard-go, firewalled)
#   +----------------------------+      veth      +---------------------------+
#   | lanrage-wg  10.66.0.1      |----------------| wireguard-go  10.66.0.2   |
#   | 203.0.113.1 + .3 (second)  |                | 203.0.113.2               |
#   | 2001:db8::1 and ::100      |                | 2001:db8::2               |
#   +----------------------------+                | UDP in: replies only      |
#                                                 +---------------------------+
#
# Shows: the peer reaches ours through the second address, IPv4 and IPv6,
# though the routing table's source is the first (checked, so that the test
# can fail); and when that address goes away, ours sends from another rather
# than not at all, and the session carries on.
set -euo pipefail
OURS=$(realpath "$1")
. "$(dirname "$0")/../lab/lib.sh"
. "$(dirname "$0")/pair.sh"
ip -n "$O" addr add 203.0.113.3/24 dev "$VETH_O"
ip -n "$O" addr add 2001:db8::1/64 dev "$VETH_O" nodad
ip -n "$O" addr add 2001:db8::100/64 dev "$VETH_O" nodad
ip -n "$T" addr add 2001:db8::2/64 dev "$VETH_T" nodad

# The source the routing table gives ours towards the peer: the first address.
route_src() { ip -n "$O" route get "$1" | sed -n 's/.* src \([^ ]*\).*/\1/p'; }
[ "$(route_src 203.0.113.2)" = 203.0.113.1 ] || fail "IPv4 source is $(route_src 203.0.113.2), not .1"
# IPv6 picks one of ours' two by its own rules: the peer uses the other.
case $(route_src 2001:db8::2) in
2001:db8::1) V6_SECOND=2001:db8::100 ;;
2001:db8::100) V6_SECOND=2001:db8::1 ;;
*) fail "IPv6 source is $(route_src 2001:db8::2), neither of ours" ;;
esac

# The peer's side lets in only UDP that answers what it sent (conntrack).
ip netns exec "$T" nft -f - <<'EOF'
table inet lab {
	chain in {
		type filter hook input priority 0; policy accept;
		udp dport 51820 ct state established accept
		udp dport 51820 counter drop
	}
}
EOF
dropped() { ip netns exec "$T" nft list chain inet lab in | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'; }

step "start both; only the peer knows where the other is (ours' second address)"
lab_bg "$O" "$LAB_TMP/ours.log" env LOG_LEVEL=debug "$OURS" -f "$IF_O"
wait_for 10 "our UAPI socket" test -S "/var/run/wireguard/$IF_O.sock"
ip netns exec "$O" wg set "$IF_O" private-key "$LAB_TMP/ko" listen-port 51820 \
	peer "$PT" allowed-ips 10.66.0.2/32
ip -n "$O" addr add 10.66.0.1/24 dev "$IF_O"
ip -n "$O" link set "$IF_O" up
start_theirs endpoint 203.0.113.3:51820 allowed-ips 10.66.0.1/32

step "IPv4: the handshake and pings both ways through 203.0.113.3"
ip netns exec "$T" ping -c 3 -i 0.2 -W 2 10.66.0.1 >/dev/null ||
	fail "no ping from the peer through ours' second address (firewall drops: $(dropped))"
ip netns exec "$O" ping -c 3 -i 0.2 -W 2 10.66.0.2 >/dev/null || fail "no ping from ours to the peer"
[ "$(dropped)" = 0 ] || fail "the peer's firewall dropped $(dropped) datagrams from a wrong source"
ip netns exec "$O" wg show "$IF_O" endpoints | grep -q "203.0.113.2:51820" ||
	fail "ours did not learn the peer's endpoint"

step "IPv6: the peer moves to ours' second IPv6 address, the session follows"
ip netns exec "$T" wg set "$IF_T" peer "$PO" endpoint "[$V6_SECOND]:51820"
ip netns exec "$T" ping -c 3 -i 0.2 -W 2 10.66.0.1 >/dev/null ||
	fail "no ping through ours' second IPv6 address (firewall drops: $(dropped))"
ip netns exec "$O" wg show "$IF_O" endpoints | grep -q "\[2001:db8::2\]:51820" ||
	fail "ours did not follow the peer to IPv6"
ip netns exec "$O" ping -c 3 -i 0.2 -W 2 10.66.0.2 >/dev/null || fail "no ping from ours over IPv6"
[ "$(dropped)" = 0 ] || fail "the peer's firewall dropped $(dropped) datagrams from a wrong source"

step "the address ours answers from goes away: ours sends from another, the peer follows"
ip netns exec "$T" wg set "$IF_T" peer "$PO" endpoint 203.0.113.3:51820
ip netns exec "$T" ping -c 3 -i 0.2 -W 2 10.66.0.1 >/dev/null || fail "no ping back on IPv4"
ip netns exec "$T" nft delete table inet lab
ip -n "$O" addr del 203.0.113.3/24 dev "$VETH_O"
ip netns exec "$O" ping -c 3 -i 0.2 -W 2 10.66.0.2 >/dev/null ||
	fail "ours fell silent when its source address went away"
ip netns exec "$T" wg show "$IF_T" endpoints | grep -q "203.0.113.1:51820" ||
	fail "the peer did not move to ours' remaining address"
ip netns exec "$T" ping -c 3 -i 0.2 -W 2 10.66.0.1 >/dev/null || fail "no ping from the peer afterwards"
step "ok"
