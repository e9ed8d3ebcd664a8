#!/usr/bin/env bash
# Parties that really work, end to end: lanrage-control and three lanraged in
# namespaces of the NAT lab (public hosts), driven with the lanrage CLI.
#   create, two joins, every pair pings over the virtual IPs; LAN games'
#   broadcasts and multicasts, IPv4 and IPv6, reach the others; a member leaves
#   and vanishes from the others; a member killed with SIGKILL is removed after
#   the (shortened) stale timeout; a daemon restarts and rejoins with the same
#   virtual IP; the control server is killed and the tunnels keep carrying
#   traffic, then it comes back and the daemons carry on.
set -euo pipefail
LANRAGED=$(realpath "$1")
LANRAGE=$(realpath "$2")
CONTROL=$(realpath "$3")
# shellcheck source=tests/daemon/lib.sh
. "$(dirname "$0")/lib.sh"

lab_init
for k in 1 2 3; do
	lab_add_host "$k" none
done
control_start --peer-timeout 4s --cleanup-interval 1s
# A connection without a path fails after 3 s and is cleaned up 2 s later.
DAEMON_ENV+=(LANRAGE_CONN_FAILED_MS=3000 LANRAGE_CONN_CLEANUP_MS=2000)

step "three daemons start"
for k in 1 2 3; do
	daemon_start "$k" "player$k" --control-url "$CONTROL_URL"
done

step "player1 creates a party; player2 and player3 join it"
cli 1 --json party create "Friday LAN" >"$LAB_DIR/create.json" || fail "create: $(cat "$LAB_DIR/create.json")"
PARTY=$(jq -r .party_id "$LAB_DIR/create.json")
[[ "$PARTY" =~ ^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$ ]] || fail "party id: $PARTY"
cli 2 party join "$PARTY" >"$LAB_DIR/join2.txt" || fail "join 2: $(cat "$LAB_DIR/join2.txt")"
# A lowercase id without dashes is the same party.
cli 3 party join "$(tr -d - <<<"${PARTY,,}")" >/dev/null || fail "join 3"
declare -A VIP
for k in 1 2 3; do
	VIP[$k]=$(vip "$k")
	[[ "${VIP[$k]}" == 10.66.* ]] || fail "host $k has no virtual IP: '${VIP[$k]}'"
done
[ "${VIP[1]}" != "${VIP[2]}" ] && [ "${VIP[2]}" != "${VIP[3]}" ] && [ "${VIP[1]}" != "${VIP[3]}" ] ||
	fail "virtual IPs collide: ${VIP[*]}"

step "every pair pings over the virtual LAN"
for a in 1 2 3; do
	for b in 1 2 3; do
		[ "$a" = "$b" ] && continue
		wait_for 10 "host $a pinging host $b (${VIP[$b]})" pings "$a" "${VIP[$b]}"
	done
done
for k in 1 2 3; do
	wait_for 10 "host $k listing three members" eval '[ "$(member_count '"$k"')" = 3 ]'
done
cli 1 peers | tee "$LAB_DIR/peers.txt"
grep -q "player2.*connected.*direct" "$LAB_DIR/peers.txt" || fail "player2 not connected directly"
cli 1 --json ping player3 -c 3 >"$LAB_DIR/ping.json" || fail "lanrage ping: $(cat "$LAB_DIR/ping.json")"
jq -e '.received == 3 and .path == "direct"' "$LAB_DIR/ping.json" >/dev/null ||
	fail "lanrage ping: $(cat "$LAB_DIR/ping.json")"

step "LAN discovery: player1's broadcasts and multicasts reach player2 and player3"
# A game's server announces itself the ways LAN games do; the others listen on
# the wildcard address, as a game's browser does.
LISTENERS=() LISTENERS6=()
for k in 2 3; do
	lab_spawn "$(lab_host_ns "$k")" "$LAB_DIR/bcast$k.txt" socat -u UDP-RECV:4445,reuseaddr -
	LISTENERS+=("$LAB_LAST_PID")
	lab_spawn "$(lab_host_ns "$k")" "$LAB_DIR/mcast$k.txt" \
		socat -u UDP-RECV:4446,reuseaddr,ip-add-membership=239.255.66.1:lanrage0 -
	LISTENERS+=("$LAB_LAST_PID")
	# As Minecraft's LAN browser: joins 224.0.2.60 without naming an interface.
	lab_spawn "$(lab_host_ns "$k")" "$LAB_DIR/mc$k.txt" \
		socat -u UDP-RECV:4447,reuseaddr,ip-add-membership=224.0.2.60:0.0.0.0 -
	LISTENERS+=("$LAB_LAST_PID")
done
udp_listening() { ip netns exec "$(lab_host_ns "$1")" ss -lunH "sport = :$2" | grep -q .; }
for k in 2 3; do
	wait_for 10 "host $k listening" udp_listening "$k" 4445
	wait_for 10 "host $k listening" udp_listening "$k" 4446
	wait_for 10 "host $k listening" udp_listening "$k" 4447
done
announce() { # DEST PORT TEXT [SOCAT-OPTIONS]: one datagram from player1
	echo "$3" | ip netns exec "$(lab_host_ns 1)" socat -u - "UDP-DATAGRAM:$1:$2,broadcast${4:-}"
}
heard() { grep -q "$2" "$LAB_DIR/$1"; }
announce 10.66.255.255 4445 "subnet-broadcast from ${VIP[1]}"
announce 255.255.255.255 4445 "limited-broadcast from ${VIP[1]}" ",bind=${VIP[1]}"
# From the wildcard address: the kernel's choice of interface is the route lanraged added.
announce 255.255.255.255 4445 "wildcard-broadcast"
announce 239.255.66.1 4446 "multicast from ${VIP[1]}" ",ip-multicast-if=${VIP[1]}"
# A Minecraft world's announcement: to 224.0.2.60 from the wildcard address (lan_multicast).
announce 224.0.2.60 4447 "[MOTD]party world[/MOTD]"
for k in 2 3; do
	wait_for 10 "host $k hearing the subnet broadcast" heard "bcast$k.txt" subnet-broadcast
	wait_for 10 "host $k hearing the limited broadcast" heard "bcast$k.txt" limited-broadcast
	wait_for 10 "host $k hearing the wildcard's broadcast" heard "bcast$k.txt" wildcard-broadcast
	wait_for 10 "host $k hearing the multicast" heard "mcast$k.txt" multicast
	wait_for 10 "host $k hearing the Minecraft-style announcement" heard "mc$k.txt" "party world"
done
for pid in "${LISTENERS[@]}"; do
	lab_stop "$pid"
done

step "IPv6: addresses derived from the virtual IPs; ff02:: multicast reaches every member"
# v6_of IPV4 PREFIX: the address lanraged derives (ipam_v6_of): 10.66.191.3 -> PREFIXa42:bf03.
v6_of() {
	local a b c d
	IFS=. read -r a b c d <<<"$1"
	printf '%s%x:%x' "$2" $((a * 256 + b)) $((c * 256 + d))
}
for k in 1 2 3; do
	addrs=$(ip -n "$(lab_host_ns "$k")" -6 -o addr show dev lanrage0)
	grep -qF " $(v6_of "${VIP[$k]}" fd4c:5247:6c61::)/64 " <<<"$addrs" ||
		fail "host $k lacks its unique-local IPv6 address: $addrs"
	grep -qF " $(v6_of "${VIP[$k]}" fe80::)/64 " <<<"$addrs" ||
		fail "host $k lacks its link-local IPv6 address: $addrs"
	[ "$(grep -c ' fe80::' <<<"$addrs")" = 1 ] ||
		fail "host $k has a link-local address of the kernel's too (a game's multicast could leave from it): $addrs"
done
[ "$(cli 2 --json status | jq -r .virtual_ip6)" = "$(v6_of "${VIP[2]}" fd4c:5247:6c61::)" ] ||
	fail "player2's status: virtual_ip6 $(cli 2 --json status | jq .virtual_ip6)"
cli 2 status | grep -qF "IPv6:        $(v6_of "${VIP[2]}" fd4c:5247:6c61::)" ||
	fail "lanrage status does not show the IPv6 address: $(cli 2 status)"
wait_for 15 "player1 pinging player2's IPv6 address" pings 1 "$(v6_of "${VIP[2]}" fd4c:5247:6c61::)"
wait_for 15 "player3 pinging player1's IPv6 address" pings 3 "$(v6_of "${VIP[1]}" fd4c:5247:6c61::)"
# The kernel of every member answers an echo to all nodes (ff02::1), from its link-local address.
all_nodes_answer() {
	local out
	out=$(ip netns exec "$(lab_host_ns 1)" ping -6 -c 2 -i 0.3 -w 3 ff02::1%lanrage0 2>&1) || true
	grep -qF "from $(v6_of "${VIP[2]}" fe80::)%" <<<"$out" && grep -qF "from $(v6_of "${VIP[3]}" fe80::)%" <<<"$out"
}
wait_for 15 "player2 and player3 answering an echo to ff02::1 on lanrage0" all_nodes_answer
# A game's announcement to ff02::1, heard by the others on the wildcard address.
for k in 2 3; do
	lab_spawn "$(lab_host_ns "$k")" "$LAB_DIR/mcast6_$k.txt" socat -u UDP6-RECV:4448,reuseaddr -
	LISTENERS6+=("$LAB_LAST_PID")
done
for k in 2 3; do
	wait_for 10 "host $k listening" udp_listening "$k" 4448
done
echo "IPv6 world from player1" | ip netns exec "$(lab_host_ns 1)" \
	socat -u - "UDP6-DATAGRAM:[ff02::1]:4448,so-bindtodevice=lanrage0"
for k in 2 3; do
	wait_for 10 "host $k hearing the IPv6 multicast" heard "mcast6_$k.txt" "IPv6 world"
done
for pid in "${LISTENERS6[@]}"; do
	lab_stop "$pid"
done

step "the network between player1 and player2 fails: failed, cleaned up, and back when it heals"
P1=$(lab_public_ip 1 none)
P2=$(lab_public_ip 2 none)
ip netns exec "${LAB}i" nft -f - <<NFT || fail "cannot cut the link"
table ip cut {
	chain forward {
		type filter hook forward priority -10; policy accept;
		ip saddr $P1 ip daddr $P2 drop
		ip saddr $P2 ip daddr $P1 drop
	}
}
NFT
state_of() { cli "$1" --json peers | jq -r --arg n "$2" '.peers[] | select(.name == $n) | .state'; }
wait_for 20 "player1 seeing player2 failed" eval '[ "$(state_of 1 player2)" = failed ]'
wait_for 10 "player1 cleaning player2 up" grep -q "player2 .*cleaned up, next try in" "$LAB_DIR/d1.log"
! pings 1 "${VIP[2]}" || fail "a ping got through a cut link"
pings 1 "${VIP[3]}" || fail "player3 suffered from the cut between 1 and 2"
ip netns exec "${LAB}i" nft delete table ip cut
wait_for 20 "player1 reconnected to player2" eval '[ "$(state_of 1 player2)" = connected ]'
wait_for 10 "player1 pinging player2 again" pings 1 "${VIP[2]}"

step "player3 leaves: the others drop it within seconds"
cli 3 party leave >/dev/null || fail "leave"
for k in 1 2; do
	wait_for 10 "host $k dropping player3" eval '[ "$(member_count '"$k"')" = 2 ]'
done
! pings 1 "${VIP[3]}" || fail "player3's old address still answers through the tunnel"
[ -z "$(vip 3)" ] || fail "player3 kept its virtual IP after leaving"
left6=$(ip -n "$(lab_host_ns 3)" -6 -o addr show dev lanrage0)
[ -z "$left6" ] || fail "player3 kept IPv6 addresses after leaving: $left6"
! pings 1 "$(v6_of "${VIP[3]}" fd4c:5247:6c61::)" || fail "player3's old IPv6 address still answers"

step "player2 is killed (SIGKILL): removed after the stale timeout"
daemon_kill 2
wait_for 20 "host 1 dropping the dead player2" eval '[ "$(member_count 1)" = 1 ]'

step "player2 restarts and rejoins its party with the same virtual IP"
daemon_start 2 player2 --control-url "$CONTROL_URL"
wait_for 15 "player2 back in the party" eval '[ "$(vip 2)" = "${VIP[2]}" ]'
wait_for 10 "player1 pinging the restarted player2" pings 1 "${VIP[2]}"
wait_for 10 "player2 pinging player1" pings 2 "${VIP[1]}"

step "the control server dies: the tunnel keeps carrying traffic"
lab_stop "$CONTROL_PID"
wait_for 10 "player1 seeing the control server down" \
	eval '[ "$(cli 1 --json status | jq -r .control.link)" != up ]'
for _ in 1 2 3 4 5; do
	pings 1 "${VIP[2]}" || fail "the tunnel stopped with the control server"
	pings 2 "${VIP[1]}" || fail "the tunnel stopped with the control server"
done

step "the control server comes back: the daemons carry on"
control_start --peer-timeout 4s --cleanup-interval 1s
for k in 1 2; do
	wait_for 20 "host $k reconnecting" eval '[ "$(cli '"$k"' --json status | jq -r .control.link)" = up ]'
done
step "player3 joins again after the restart and reaches everyone"
cli 3 party join "$PARTY" >/dev/null || fail "join 3 after the server came back"
for k in 1 2; do
	wait_for 10 "host 3 pinging host $k" pings 3 "${VIP[$k]}"
	wait_for 10 "host $k pinging host 3" pings "$k" "$(vip 3)"
done

step "the host removes player3: out at once, told why, and not let back in"
VIP3=$(vip 3)
out=$(cli 2 party kick player3 2>&1) && fail "player2, not the host, removed a member: $out"
grep -q "only the party's host (player1)" <<<"$out" || fail "a non-host's kick: $out"
out=$(cli 1 party kick player1 2>&1) && fail "the host kicked itself: $out"
grep -q "party leave" <<<"$out" || fail "kicking oneself: $out"
cli 1 party kick player3 | grep -q "Removed player3" || fail "the host's kick"
wait_for 10 "player3 out of the party" eval '[ -z "$(vip 3)" ]'
cli 3 status | grep -q "party:       none: the host removed us from party $PARTY" ||
	fail "player3's status does not say why: $(cli 3 status)"
for k in 1 2; do
	wait_for 10 "host $k dropping player3" eval '[ "$(member_count '"$k"')" = 2 ]'
done
! pings 1 "$VIP3" || fail "player3's old address still answers through the tunnel"
out=$(cli 3 party join "$PARTY" 2>&1) && fail "player3 joined again after its removal: $out"
grep -q "removed you" <<<"$out" || fail "the refused join does not say why: $out"

step "the host lists whom it removed, and lets player3 back in by name: it joins again"
ID3=$(cli 3 --json status | jq -r .peer_id)
out=$(cli 1 party bans)
grep -qE "^player3 +$ID3 +20[0-9-]+T" <<<"$out" || fail "the host's list of removed members: $out"
[ "$(cli 1 --json party bans | jq -r '.removed | map(.name) | join(",")')" = player3 ] ||
	fail "the list as JSON: $(cli 1 --json party bans)"
out=$(cli 2 party bans 2>&1) && fail "player2, not the host, sees the removed members: $out"
grep -q "only the party's host (player1)" <<<"$out" || fail "a non-host's list: $out"
out=$(cli 2 party unban "$ID3" 2>&1) && fail "player2, not the host, let player3 back in: $out"
out=$(cli 1 party unban "no one" 2>&1) && fail "unbanned a name nobody had: $out"
grep -q "nobody called \`no one' was removed" <<<"$out" || fail "an unknown name's unban: $out"
out=$(cli 1 party unban player2 2>&1) && fail "unbanned player2, who was never removed: $out"
grep -q "peer player2 was not removed" <<<"$out" || fail "unbanning one never removed: $out"
cli 1 party unban player3 | grep -q "$ID3 may join the party again" || fail "the host's unban"
cli 1 party bans | grep -q "Nobody was removed" || fail "the list after the unban: $(cli 1 party bans)"
cli 3 party join "$PARTY" >/dev/null || fail "player3 cannot join after the unban"
wait_for 10 "host 1 pinging player3 again" pings 1 "$(vip 3)"

step "player2, stopped, is removed meanwhile: restarted, it gives the party up instead of retrying"
daemon_stop 2
cli 1 party kick player2 | grep -q "Removed player2" || fail "kicking the stopped player2"
daemon_start 2 player2 --control-url "$CONTROL_URL"
wait_for 15 "player2 giving the party up" eval \
	'cli 2 status | grep -q "party:       none: the host of party $PARTY removed you"'
[ -z "$(vip 2)" ] || fail "player2 kept its virtual IP"
echo PASS
