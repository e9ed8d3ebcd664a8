#!/usr/bin/env bash
# Local mode, no server anywhere: two lanraged on one LAN share a discovery
# directory (the seeds' discovery.json) and form a party through it.
#   create, join, ping both ways over the virtual IPs, both listed, the
#   status says local; a member with IPv6 off on lanrage0 is IPv4 only and
#   says so; a restart rejoins with the same virtual IP; a leave reaches the
#   other through the file.
set -euo pipefail
LANRAGED=$(realpath "$1")
LANRAGE=$(realpath "$2")
# shellcheck source=tests/daemon/lib.sh
. "$(dirname "$0")/lib.sh"

lab_init
# Hosts 1 (10.0.1.2) and 1b (10.0.1.3) on one LAN behind a router.
lab_add_lan_pair 1 port_restricted_cone
DISC=$LAB_DIR/discovery

step "two daemons with no control server, one discovery directory"
daemon_start 1 alice --discovery-dir "$DISC"
daemon_start 1b bob --discovery-dir "$DISC"
[ "$(cli 1 --json status | jq -r .control.mode)" = local ] || fail "not in local mode"

# Bob's machine has IPv6 turned off on lanrage0: his party is IPv4 only, and says so.
ip netns exec "$(lab_host_ns 1b)" sysctl -qw net.ipv6.conf.lanrage0.disable_ipv6=1

step "alice creates a party in the shared file; bob joins it"
PARTY=$(cli 1 --json party create "LAN night" | jq -r .party_id)
[ -n "$PARTY" ] && [ "$PARTY" != null ] || fail "no party id"
jq -e --arg p "$PARTY" '.. | objects | select(.party_id? == $p)' "$DISC/discovery.json" >/dev/null ||
	fail "the party is not in $DISC/discovery.json"
cli 1b party join "$PARTY" >/dev/null || fail "bob cannot join"
A=$(vip 1)
B=$(vip 1b)
[[ "$A" == 10.66.* && "$B" == 10.66.* && "$A" != "$B" ]] || fail "virtual IPs: '$A' '$B'"

step "they ping each other over the virtual LAN"
wait_for 15 "alice pinging bob" pings 1 "$B"
wait_for 15 "bob pinging alice" pings 1b "$A"
[ "$(path_of 1 bob)" = direct ] || fail "alice does not reach bob directly"
[ "$(member_count 1b)" = 2 ] || fail "bob does not list two members"
[ "$(cli 1b --json status | jq -r .virtual_ip6)" = null ] ||
	fail "bob claims an IPv6 address with IPv6 off: $(cli 1b --json status | jq .virtual_ip6)"
grep -q "the party is IPv4 only here" "$LAB_DIR/d1b.log" || fail "bob's log does not say the party is IPv4 only"
[[ "$(cli 1 --json status | jq -r .virtual_ip6)" == fd4c:5247:6c61::* ]] ||
	fail "alice has no IPv6 address: $(cli 1 --json status | jq .virtual_ip6)"
# Her members' IPv6 addresses are hers to show; bob's table has no such column.
out=$(cli 1 peers)
grep -qE "^bob +$B +fd4c:5247:6c61::[0-9a-f:]+ " <<<"$out" || fail "alice's peers lack bob's IPv6 address: $out"
out=$(cli 1b peers)
grep -q "VIRTUAL IPV6" <<<"$out" && fail "bob, with IPv6 off, shows an IPv6 column: $out"
grep -qE "^alice +$A +" <<<"$out" || fail "bob's peers: $out"
# Without a server nobody can keep a member out: the shared file is everyone's.
out=$(cli 1 party kick bob 2>&1) && fail "a kick without a coordination server: $out"
grep -q "needs a coordination server" <<<"$out" || fail "the refused kick does not say why: $out"
[ "$(member_count 1)" = 2 ] || fail "the refused kick removed bob anyway"
out=$(cli 1 party bans 2>&1) && fail "a list of removed members without a coordination server: $out"
grep -q "needs a coordination server" <<<"$out" || fail "the refused list does not say why: $out"

step "alice restarts: she rejoins with the same virtual IP"
daemon_stop 1
daemon_start 1 alice --discovery-dir "$DISC"
wait_for 15 "alice back in the party" eval '[ "$(vip 1)" = "$A" ]'
wait_for 15 "bob pinging alice again" pings 1b "$A"

step "bob leaves: alice drops him"
cli 1b party leave >/dev/null || fail "bob cannot leave"
wait_for 15 "alice dropping bob" eval '[ "$(member_count 1)" = 1 ]'
echo PASS
