#!/usr/bin/env bash
# Interop with coturn: the stock `stun` client confirms every lab NAT against
# coturn (so the nftables emulations are what they claim), and `lanrage nat`
# classifies every one of them correctly against coturn.
# Topology: tests/nat/lab.sh, hosts 1-5 = none, full cone, restricted cone,
# port-restricted cone, symmetric; coturn on 198.51.100.1 and .2, ports 3478/3479.
set -euo pipefail
lanrage=$1
here=$(dirname "$0")
source "$here/lab.sh"

lab_init
lab_add_all_types
lab_start_coturn "$LAB_DIR/coturn.log"

lab_check_all lab_check_stund || lab_fail "the stock stun client disagrees with a lab NAT (coturn)"
lab_check_all lab_check_ours "$lanrage" "$STUN_IP1:3478" || lab_fail "lanrage nat vs coturn"
echo "ok"
