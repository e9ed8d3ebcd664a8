# shellcheck shell=bash
# pair.sh - sourced after tests/lab/lib.sh: ours in namespace O, wireguard-go in
# T, joined by a veth (VETH_O 203.0.113.1/24, VETH_T 203.0.113.2/24); a key
# pair each (KO/PO, KT/PT; the private keys in $LAB_TMP/ko and kt).
lab_ns O o
lab_ns T t
IF_O="lo${LAB_ID}"
IF_T="lt${LAB_ID}"
VETH_O="vo$LAB_ID"
VETH_T="vt$LAB_ID"
lab_veth "$O" "$VETH_O" 203.0.113.1/24 "$T" "$VETH_T" 203.0.113.2/24
LAB_FILES+=("/var/run/wireguard/$IF_O.sock" "/var/run/wireguard/$IF_T.sock")

KO=$(lab_key)
KT=$(lab_key)
PO=$(lab_pub "$KO")
# shellcheck disable=SC2034 # for the tests that source this
PT=$(lab_pub "$KT")
echo "$KO" >"$LAB_TMP/ko"
echo "$KT" >"$LAB_TMP/kt"

# start_theirs PEER-SETTINGS...: wireguard-go in T, 10.66.0.2/24, UDP 51820,
# the `wg set ... peer "$PO"` settings given.
start_theirs() {
	lab_bg "$T" "$LAB_TMP/theirs.log" env LOG_LEVEL=verbose WG_PROCESS_FOREGROUND=1 \
		wireguard-go "$IF_T"
	wait_for 10 "wireguard-go's UAPI socket" test -S "/var/run/wireguard/$IF_T.sock"
	ip netns exec "$T" wg set "$IF_T" private-key "$LAB_TMP/kt" listen-port 51820 \
		peer "$PO" "$@"
	ip -n "$T" addr add 10.66.0.2/24 dev "$IF_T"
	ip -n "$T" link set "$IF_T" up
}
