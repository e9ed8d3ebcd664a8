# shellcheck shell=bash
# lib.sh - lanraged in the NAT lab (tests/nat/lab.sh): the control server in the
# "internet" namespace, daemons on hosts behind emulated NATs, the CLI to drive them.
#
# Sourced by tests/daemon/*.sh with LANRAGED, LANRAGE, CONTROL (and RELAY) set
# to the binaries.  Every daemon gets its own state directory under $LAB_DIR.

. "$(dirname "${BASH_SOURCE[0]}")/../nat/lab.sh"

CONTROL_IP=$STUN_IP1
CONTROL_URL="http://$CONTROL_IP:8667"
declare -A DPID # host number -> the daemon's PID
# Test settings every daemon gets (docs/DAEMON.md, "Test settings"): heartbeats
# well inside the server's shortened --peer-timeout.
DAEMON_ENV=(LANRAGE_CTL_HEARTBEAT_MS=1000)

# The failure is printed before the logs as well as after: CI shows a part of the output.
fail() {
	echo "FAIL: $* (at ${SECONDS}s; logs follow)" >&2
	lab_sanitizer_reports "$LAB_DIR"
	dump_logs >&2
	lab_fail "$@"
}

step() {
	echo "== [${SECONDS}s] $*"
}

# wait_for SECONDS DESCRIPTION CMD...: polls CMD until it succeeds; fails the test after.
wait_for() {
	local secs=$1 what=$2
	shift 2
	lab_wait "$secs" "$@" || fail "timed out after ${secs}s waiting for: $what"
}

# control_start [FLAGS...]: lanrage-control on $CONTROL_IP:8667, STUN on :3478
# (and 198.51.100.2:3479 for RFC 5780), its database in $LAB_DIR/control.db.
control_start() {
	lab_spawn "${LAB}i" "$LAB_DIR/control.log" "$CONTROL" --listen "$CONTROL_IP" --port 8667 \
		--db "sqlite://$LAB_DIR/control.db" --stun-alternate "$STUN_IP2:3479" "$@"
	# shellcheck disable=SC2034 # for the tests that stop it
	CONTROL_PID=$LAB_LAST_PID
	wait_for 20 "lanrage-control" ip netns exec "${LAB}i" curl -sf "$CONTROL_URL/"
}

# cli K ARGS...: the CLI in host K's namespace, talking to its daemon.
cli() {
	local k=$1
	shift
	ip netns exec "$(lab_host_ns "$k")" "$LANRAGE" --token-file "$LAB_DIR/s$k/api.token" "$@"
}

# daemon_start K NAME [FLAGS...]: lanraged on host K (remote mode unless FLAGS say
# otherwise), its log in $LAB_DIR/d$K.log; waits until its API answers.
daemon_start() {
	local k=$1 name=$2
	shift 2
	mkdir -p "$LAB_DIR/s$k" "$LAB_DIR/wg$k"
	lab_spawn "$(lab_host_ns "$k")" "$LAB_DIR/d$k.log" env LANRAGE_WG_SOCKET_DIR="$LAB_DIR/wg$k" "${DAEMON_ENV[@]}" \
		"$LANRAGED" --state-dir "$LAB_DIR/s$k" --peer-name "$name" --log-level debug "$@"
	DPID[$k]=$LAB_LAST_PID
	wait_for 20 "lanraged on host $k" cli "$k" status
}

daemon_stop() {
	lab_stop "${DPID[$1]}"
}

daemon_kill() {
	kill -9 "${DPID[$1]}" 2>/dev/null || true
	lab_reap "${DPID[$1]}"
}

# vip K: host K's virtual IP as its daemon reports it.
vip() {
	cli "$1" --json status | jq -r '.virtual_ip // empty'
}

# pings K IP: one ICMP echo from host K's namespace to IP answered within a second.
pings() {
	ip netns exec "$(lab_host_ns "$1")" ping -c 1 -W 1 -q "$2" >/dev/null 2>&1
}

# member_count K: how many members host K's daemon lists (itself included).
member_count() {
	cli "$1" --json peers | jq '.peers | length'
}

# path_of K PEER_NAME: "direct", "relay" or "none", as host K sees PEER_NAME.
path_of() {
	cli "$1" --json peers | jq -r --arg n "$2" '.peers[] | select(.name == $n) | .path'
}

# dump_logs: the daemons' and the server's last lines, and what each running
# daemon knows of its peers' paths, after a failure.
dump_logs() {
	local f k
	for f in "$LAB_DIR"/*.log; do
		echo "---- $f"
		tail -n 60 "$f"
	done
	for k in "${!DPID[@]}"; do
		kill -0 "${DPID[$k]}" 2>/dev/null || continue
		echo "---- host $k: lanrage --json peers"
		cli "$k" --json peers 2>&1 | jq -c '.peers[] | {name, state, path, candidates}' 2>&1 || true
	done
}

# lab_listening_on NS PORT: whether a TCP socket listens on PORT in NS.
lab_listening_on() {
	ip netns exec "$1" ss -ltnH "sport = :$2" | grep -q .
}
