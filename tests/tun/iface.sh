#!/usr/bin/env bash
# The TUN device and its configuration without `ip`: the tun module creates a
# multiqueue interface with offloads, iface sets MTU, addresses (IPv4 and
# IPv6, twice: the second time is no error) and up through ioctl and
# rtnetlink; `ip` only reads the result.  In a namespace of its own.
set -euo pipefail
TUNCTL=$(realpath "$1")
. "$(dirname "$0")/../lab/lib.sh"

lab_ns N n
mkfifo "$LAB_TMP/in"
ip netns exec "$N" "$TUNCTL" "lt$LAB_ID" 1380 10.66.7.9/16 fd66::7:9/64 <"$LAB_TMP/in" \
	>"$LAB_TMP/out" 2>&1 &
LAB_PIDS+=($!)
exec 3>"$LAB_TMP/in"
wait_for 10 "the interface" grep -q ready "$LAB_TMP/out"
grep -q "queues=2 vnet=1 tso=1" "$LAB_TMP/out" || fail "offloads: $(cat "$LAB_TMP/out")"
link=$(ip -n "$N" -d link show "lt$LAB_ID")
grep -q "mtu 1380" <<<"$link" || fail "mtu: $link"
grep -q "<.*UP.*>" <<<"$link" || fail "not up: $link"
grep -q "multi_queue" <<<"$link" || fail "not multiqueue: $link"
# (Captured first: `ip | grep -q` fails under pipefail when grep exits before ip is done.)
addrs=$(ip -n "$N" addr show "lt$LAB_ID")
grep -q "inet 10.66.7.9/16" <<<"$addrs" || fail "IPv4 address: $addrs"
grep -q "inet6 fd66::7:9/64" <<<"$addrs" || fail "IPv6 address: $addrs"
# Removing an address (as the daemon does when it leaves a party) leaves the others.
echo "del 10.66.7.9/16" >&3
wait_for 10 "the deletion" grep -q "deleted 10.66.7.9/16" "$LAB_TMP/out"
addrs=$(ip -n "$N" addr show "lt$LAB_ID")
! grep -q "inet 10.66.7.9" <<<"$addrs" || fail "IPv4 address still there: $addrs"
grep -q "inet6 fd66::7:9/64" <<<"$addrs" || fail "IPv6 address gone too: $addrs"
exec 3>&-
wait_for 10 "the interface to go" eval '! ip -n "$N" link show "lt$LAB_ID" >/dev/null 2>&1'
echo PASS
