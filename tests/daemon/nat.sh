#!/usr/bin/env bash
# Parties across the NAT lab's NAT types, with relays (issues 6 and 7):
#
#   host 1  full cone             host 3  symmetric
#   host 2  port-restricted cone  host 4  symmetric
#
# lanrage-control and two relays (lab-1 on 198.51.100.1, lab-2 on
# 198.51.100.2) in the internet namespace.  Every pair of members pings; the
# pairs that no hole punching can open (symmetric with symmetric or with
# port-restricted) meet on a relay and carry a TCP transfer, and their pings
# keep the priority lane at both ends (the relay keeps the mark); the relay they use
# is killed and they move to the other within seconds; hosts 2 and 3 get IPv6
# and their pair moves from the relay to a direct IPv6 path, and back to the
# relay when host 3 loses its IPv6 address; host 4's NAT is
# relaxed to a full cone and the pair 3-4 moves from the relay to a direct path.
set -euo pipefail
LANRAGED=$(realpath "$1")
LANRAGE=$(realpath "$2")
CONTROL=$(realpath "$3")
RELAY=$(realpath "$4")
LANRAGE_WG=$(realpath "$5")
# shellcheck source=tests/daemon/lib.sh
. "$(dirname "$0")/lib.sh"
# Relays after 2 s without a direct path (3 s by default).
DAEMON_ENV+=(LANRAGE_CONN_RELAY_AFTER_MS=2000)

lab_init
lab_add_host 1 full_cone
lab_add_host 2 port_restricted_cone
lab_add_host 3 symmetric
lab_add_host 4 symmetric
printf 'lab relay secret %s\n' "$LAB" >"$LAB_DIR/relay.secret"
chmod 600 "$LAB_DIR/relay.secret"
control_start --peer-timeout 10s --cleanup-interval 1s --relay-secret-file "$LAB_DIR/relay.secret"

# relay_start N IP METRICS_PORT: relay lab-N registered with the control server.
declare -A RPID
relay_start() {
	lab_spawn "${LAB}i" "$LAB_DIR/relay$1.log" "$RELAY" --relay-secret-file "$LAB_DIR/relay.secret" \
		--listen "$2:51820" --metrics "127.0.0.1:$3" --control "$CONTROL_URL" \
		--relay-id "lab-$1" --region lab
	RPID[$1]=$LAB_LAST_PID
}
relay_count() {
	ip netns exec "${LAB}i" curl -sf "$CONTROL_URL/relays" | jq '.relays | length'
}
step "two relays start and register"
relay_start 1 198.51.100.1 9180
relay_start 2 198.51.100.2 9181
wait_for 20 "both relays registered" eval '[ "$(relay_count)" = 2 ]'

step "four daemons behind four NATs join one party"
for k in 1 2 3 4; do
	daemon_start "$k" "player$k" --control-url "$CONTROL_URL"
done
for k in 1 2 3 4; do
	wait_for 20 "host $k's NAT type" eval '[ "$(cli '"$k"' --json nat | jq -r .type)" != unknown ]'
done
[ "$(cli 3 --json nat | jq -r .type)" = symmetric ] || fail "host 3 is not seen as symmetric"
[ "$(cli 1 --json nat | jq -r .type)" = full_cone ] || fail "host 1 is not seen as full cone"
PARTY=$(cli 1 --json party create "NAT night" | jq -r .party_id)
for k in 2 3 4; do
	cli "$k" party join "$PARTY" >/dev/null || fail "host $k cannot join"
done
declare -A VIP
for k in 1 2 3 4; do
	VIP[$k]=$(vip "$k")
done

step "every pair pings over the virtual LAN"
for a in 1 2 3 4; do
	for b in 1 2 3 4; do
		[ "$a" = "$b" ] && continue
		wait_for 30 "host $a pinging host $b" pings "$a" "${VIP[$b]}"
	done
done
cli 3 peers | tee "$LAB_DIR/peers3.txt"
[ "$(path_of 1 player2)" = direct ] || fail "full cone and port-restricted should be direct"
[ "$(path_of 1 player3)" = direct ] || fail "full cone and symmetric should be direct"
[ "$(path_of 3 player4)" = relay ] || fail "symmetric and symmetric should be relayed"
[ "$(path_of 4 player3)" = relay ] || fail "symmetric and symmetric should be relayed (host 4)"
[ "$(path_of 2 player3)" = relay ] || fail "port-restricted and symmetric should be relayed"
grep -Eq "player4 .* relay \(lab-[12]\)" "$LAB_DIR/peers3.txt" || fail "lanrage peers does not name the relay"
cli 3 --json peers | jq -e '.peers[] | select(.name == "player4") | .candidates |
	(any(.kind == "relay" and .current and .pongs > 0) and
	 any(.kind == "reflexive" and .pings > 0 and .pongs == 0))' >/dev/null ||
	fail "the relayed pair's candidates should show the relay answering and the direct address not"

step "a TCP transfer between the two symmetric NATs, through the relay"
head -c 4000000 /dev/urandom >"$LAB_DIR/blob"
ip netns exec "$(lab_host_ns 4)" timeout 60 nc -l -p 5001 >"$LAB_DIR/blob.got" &
NC_PID=$!
LAB_PIDS+=("$NC_PID")
wait_for 10 "the listener" lab_listening_on "$(lab_host_ns 4)" 5001
ip netns exec "$(lab_host_ns 3)" timeout 60 nc -N "${VIP[4]}" 5001 <"$LAB_DIR/blob" ||
	fail "the transfer through the relay failed"
wait "$NC_PID" || true
cmp -s "$LAB_DIR/blob" "$LAB_DIR/blob.got" || fail "the data arrived damaged or incomplete"

step "pings through the relay keep their priority mark: both ends' priority workers take them in"
# prio_received K: packets host K's priority workers took from the network.
prio_received() {
	ip netns exec "$(lab_host_ns "$1")" env LANRAGE_WG_SOCKET_DIR="$LAB_DIR/wg$1" \
		"$LANRAGE_WG" --stats lanrage0 | sed -n 's/^prio_received=//p'
}
# relay_first: datagrams both relays took in on their priority socket.
relay_first() {
	local n=0 port got
	for port in 9180 9181; do
		got=$(ip netns exec "${LAB}i" curl -sf "http://127.0.0.1:$port/metrics" |
			awk '/^lanrage_relay_priority_packets_total / { print $2 }')
		n=$((n + ${got:-0}))
	done
	echo "$n"
}
for k in 3 4; do
	[ "$(cli "$k" --json status | jq -r .interface.priority_lane)" = open ] ||
		fail "host $k's status does not say its priority lane is open"
done
r3=$(prio_received 3) r4=$(prio_received 4) rr=$(relay_first)
ip netns exec "$(lab_host_ns 3)" ping -c 50 -i 0.02 -W 1 -q "${VIP[4]}" >/dev/null ||
	fail "pings through the relay were lost"
r3=$(($(prio_received 3) - r3)) r4=$(($(prio_received 4) - r4)) rr=$(($(relay_first) - rr))
echo "   of 50 pings and replies, $r4 requests and $r3 replies came in by the priority lane;" \
	"the relay took $rr of the 100 first"
[ "$r4" -ge 50 ] && [ "$r3" -ge 50 ] ||
	fail "relayed pings missed the receiving end's priority lane ($r4 and $r3 of 50)"
[ "$rr" -ge 100 ] || fail "the relay did not take the marked pings first ($rr of 100)"

step "the pair's relay is killed: it moves to the other relay within seconds"
USED=$(cli 3 --json peers | jq -r '.peers[] | select(.name == "player4") | .relay')
case "$USED" in
lab-1) KILL=1 OTHER=lab-2 ;;
lab-2) KILL=2 OTHER=lab-1 ;;
*) fail "the pair 3-4 names no relay: '$USED'" ;;
esac
lab_stop "${RPID[$KILL]}"
relay_of() { cli "$1" --json peers | jq -r --arg n "$2" '.peers[] | select(.name == $n) | .relay'; }
wait_for 20 "host 3 moving to $OTHER" eval '[ "$(relay_of 3 player4)" = "$OTHER" ]'
wait_for 20 "host 4 moving to $OTHER" eval '[ "$(relay_of 4 player3)" = "$OTHER" ]'
wait_for 10 "host 3 pinging host 4 again" pings 3 "${VIP[4]}"
wait_for 10 "host 4 pinging host 3 again" pings 4 "${VIP[3]}"

step "hosts 2 and 3 get IPv6: their pair leaves the relay for a direct IPv6 path"
# Port-restricted and symmetric NATs on IPv4, and the stateful firewalls of
# IPv6 home routers: no NAT to punch, so both sides' probes open the way.
lab_add_ipv6 2
lab_add_ipv6 3
global_of() { cli "$1" --json status | jq -r '.nat.global_endpoint // empty'; }
wait_for 10 "host 2 noticing its new IPv6 address" eval '[ -n "$(global_of 2)" ]'
case "$(global_of 2)" in
"[2001:db8:2::2]:"*) ;;
*) fail "host 2's IPv6 endpoint is '$(global_of 2)', not on 2001:db8:2::2" ;;
esac
wait_for 30 "host 2 reaching host 3 directly" eval '[ "$(path_of 2 player3)" = direct ]'
wait_for 20 "host 3 reaching host 2 directly" eval '[ "$(path_of 3 player2)" = direct ]'
cli 2 --json peers | jq -e '.peers[] | select(.name == "player3") | .candidates |
	any(.current and (.endpoint | startswith("[2001:db8:3::2]:")) and .kind == "ipv6")' \
	>/dev/null || fail "host 2's path to host 3 is not host 3's IPv6 address"
wait_for 5 "a ping over the IPv6 path" pings 2 "${VIP[3]}"
cli 2 peers | grep -E "player3 .*direct \(IPv6\)" >/dev/null ||
	fail "lanrage peers does not show the direct IPv6 path: $(cli 2 peers)"
# Host 1 has no IPv6: it must not probe what it cannot reach.
cli 1 --json peers | jq -e '.peers[] | select(.name == "player2") | .candidates |
	all(.kind != "ipv6")' >/dev/null || fail "host 1 probes host 2's IPv6 address without IPv6"
cli 2 nat | grep -F "IPv6 endpoint:   [2001:db8:2::2]:" >/dev/null ||
	fail "lanrage nat does not show the IPv6 endpoint"

step "host 3 loses its IPv6 address: withdrawn from the party, and the pair back on a relay"
ip -n "$(lab_host_ns 3)" addr del 2001:db8:3::2/64 dev eth
wait_for 10 "host 3 withdrawing its IPv6 endpoint" eval '[ -z "$(global_of 3)" ]'
no_ipv6_candidate() {
	cli 2 --json peers | jq -e '.peers[] | select(.name == "player3") | .candidates |
		all(.kind != "ipv6")' >/dev/null
}
wait_for 10 "host 2 dropping host 3's IPv6 candidate" no_ipv6_candidate
wait_for 30 "host 2 reaching host 3 through a relay again" eval '[ "$(path_of 2 player3)" = relay ]'
wait_for 10 "a ping through the relay" pings 2 "${VIP[3]}"

step "host 4's NAT becomes a full cone: the pair moves to a direct path"
R4=$(lab_router_ns 4)
ip netns exec "$R4" nft flush ruleset
nat_full_cone 10.0.4.2 "$(lab_public_ip 4 full_cone)" | ip netns exec "$R4" nft -f - ||
	fail "new NAT rules"
ip netns exec "$R4" conntrack -F >/dev/null 2>&1 || true
wait_for 60 "host 3 reaching host 4 directly" eval '[ "$(path_of 3 player4)" = direct ]'
wait_for 20 "host 4 reaching host 3 directly" eval '[ "$(path_of 4 player3)" = direct ]'
wait_for 5 "a ping over the direct path" pings 3 "${VIP[4]}"
echo PASS
