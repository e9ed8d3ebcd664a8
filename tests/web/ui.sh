#!/usr/bin/env bash
# lanraged's web UI in a real browser: Debian's chromium, driven by
# playwright-core (tests/web/ui.test.mjs), against two real daemons on one
# emulated LAN, on a coordination server in the lab's internet (so that the
# host may remove a member).  The browser runs inside alice's namespace, so
# it reaches her loopback and nothing outside the lab.
set -euo pipefail
LANRAGED=$(realpath "$1")
LANRAGE=$(realpath "$2")
CONTROL=$(realpath "$3")
WEB=$(dirname "$(realpath "$0")")
# shellcheck source=tests/daemon/lib.sh
. "$(dirname "$0")/../daemon/lib.sh"

[ -d "$WEB/node_modules/playwright-core" ] ||
	lab_fail "playwright-core is not installed in $WEB (scripts/setup --tests installs it)"
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] ||
	lab_fail "no chromium at ${CHROMIUM:-/usr/bin/chromium} (scripts/setup --tests installs it)"

lab_init
lab_add_lan_pair 1 port_restricted_cone

step "alice and bob on a coordination server"
# Alice has an IPv6 global address too: the NAT card shows it.
ip -n "$(lab_host_ns 1)" addr add 2001:db8:1::2/64 dev eth nodad
control_start
daemon_start 1 alice --control-url "$CONTROL_URL"
daemon_start 1b bob --control-url "$CONTROL_URL"
URL=$(cli 1 --json ui | jq -r .url)
[[ "$URL" == http://127.0.0.1:8666/#token=* ]] || fail "lanrage ui printed '$URL'"
OUT=$(cli 1 ui) || fail "lanrage ui failed"
grep -qF "$URL" <<<"$OUT" || fail "lanrage ui does not print the address: $OUT"

step "the browser drives alice's page"
UI_URL=$URL LANRAGE=$LANRAGE NS_ALICE=$(lab_host_ns 1) NS_BOB=$(lab_host_ns 1b) \
	TOKEN_ALICE=$LAB_DIR/s1/api.token TOKEN_BOB=$LAB_DIR/s1b/api.token \
	ALICE_PID=${DPID[1]} OUT_DIR=$LAB_DIR SHOT_DIR=${SHOT_DIR:-} \
	timeout 240 ip netns exec "$(lab_host_ns 1)" node "$WEB/ui.test.mjs" ||
	fail "the browser test failed (above)"
echo PASS
