# shellcheck shell=bash
# bench/pair.sh - two namespaces joined by a veth pair, and a tunnel between
# them: ours or wireguard-go, both configured with `wg`.  Sourced by
# bench/tunnel and bench/udp-cost after tests/lab/lib.sh, with OURS set.
#
#   ns A: 203.0.113.1 (raw), 10.66.0.1 (tunnel)    ns B: .2 and 10.66.0.2
#
# Sets A, B, IFA, IFB; start_tunnel sets PA and PB, the two tunnel processes.

lab_ns A a
lab_ns B b
lab_veth "$A" "va$LAB_ID" 203.0.113.1/24 "$B" "vb$LAB_ID" 203.0.113.2/24
KA=$(lab_key)
KB=$(lab_key)
echo "$KA" >"$LAB_TMP/ka"
echo "$KB" >"$LAB_TMP/kb"
IFA="ba$LAB_ID"
IFB="bb$LAB_ID"
LAB_FILES+=("/var/run/wireguard/$IFA.sock" "/var/run/wireguard/$IFB.sock")

# start_tunnel ours|wggo [VAR=VALUE...]: the settings go to ours only
# (LOG_LEVEL_OURS=debug in the environment shows what ours logs).
start_tunnel() {
	local impl=$1
	shift
	if [ "$impl" = ours ]; then
		lab_bg "$A" "$LAB_TMP/a.log" env LOG_LEVEL=${LOG_LEVEL_OURS:-error} "$@" "$OURS" -f "$IFA"
		PA=$LAB_LAST_PID
		lab_bg "$B" "$LAB_TMP/b.log" env LOG_LEVEL=${LOG_LEVEL_OURS:-error} "$@" "$OURS" -f "$IFB"
		PB=$LAB_LAST_PID
	else
		lab_bg "$A" "$LAB_TMP/a.log" env LOG_LEVEL=error WG_PROCESS_FOREGROUND=1 wireguard-go "$IFA"
		PA=$LAB_LAST_PID
		lab_bg "$B" "$LAB_TMP/b.log" env LOG_LEVEL=error WG_PROCESS_FOREGROUND=1 wireguard-go "$IFB"
		PB=$LAB_LAST_PID
	fi
	wait_for 10 "sockets" test -S "/var/run/wireguard/$IFA.sock" -a -S "/var/run/wireguard/$IFB.sock"
	ip netns exec "$A" wg set "$IFA" private-key "$LAB_TMP/ka" listen-port 51820 \
		peer "$(lab_pub "$KB")" endpoint 203.0.113.2:51820 allowed-ips 10.66.0.2/32
	ip netns exec "$B" wg set "$IFB" private-key "$LAB_TMP/kb" listen-port 51820 \
		peer "$(lab_pub "$KA")" endpoint 203.0.113.1:51820 allowed-ips 10.66.0.1/32
	ip -n "$A" addr add 10.66.0.1/24 dev "$IFA"
	ip -n "$B" addr add 10.66.0.2/24 dev "$IFB"
	ip -n "$A" link set "$IFA" up
	ip -n "$B" link set "$IFB" up
	wait_for 10 "the tunnel" ip netns exec "$A" ping -c 1 -W 1 10.66.0.2
}

stop_tunnel() {
	kill "$PA" "$PB"
	wait_gone 10 "$PA" && wait_gone 10 "$PB"
}
