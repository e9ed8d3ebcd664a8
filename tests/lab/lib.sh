# shellcheck shell=bash
# lib.sh - helpers for tests that build their own network namespaces.
#
# Every name carries this shell's PID, so concurrent runs never collide;
# everything created is removed on exit, processes are ended by PID.
# Traffic stays inside the namespaces made here (TEST-NET addresses).

set -euo pipefail

LAB_ID=$$
LAB_NS=()
LAB_PIDS=()
LAB_FILES=()
LAB_TMP=$(mktemp -d "/tmp/lanrage-lab-$LAB_ID.XXXXXX")

lab_cleanup() {
	local pid ns
	for pid in "${LAB_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${LAB_PIDS[@]}"; do
		# Bounded wait: a process that ignores TERM gets KILL after 5 s.
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	done
	for ns in "${LAB_NS[@]}"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -f "${LAB_FILES[@]}" 2>/dev/null || true
	rm -rf "$LAB_TMP"
}
trap lab_cleanup EXIT
[ -n "${LAB_KEEP_LOGS:-}" ] && trap 'cp -r "$LAB_TMP" "$LAB_KEEP_LOGS"; lab_cleanup' EXIT

. "$(dirname "${BASH_SOURCE[0]}")/sanitizers.sh"

fail() {
	echo "FAIL: $*" >&2
	lab_sanitizer_reports "$LAB_TMP"
	exit 1
}

step() {
	echo "== [${SECONDS}s] $*"
}

# lab_ns VAR NAME: creates namespace "lr<pid><NAME>" with loopback up and stores its
# name in VAR.  (Not called as $(...): the subshell would keep the cleanup list.)
lab_ns() {
	local ns="lr${LAB_ID}$2"
	ip netns add "$ns"
	LAB_NS+=("$ns")
	ip -n "$ns" link set lo up
	printf -v "$1" '%s' "$ns"
}

# lab_veth NS1 IF1 ADDR1/LEN NS2 IF2 ADDR2/LEN: a veth pair between two namespaces.
lab_veth() {
	ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
	ip -n "$1" addr add "$3" dev "$2"
	ip -n "$4" addr add "$6" dev "$5"
	ip -n "$1" link set "$2" up
	ip -n "$4" link set "$5" up
}

# lab_bg NS LOG CMD...: runs CMD in NS in the background, output to LOG; sets LAB_LAST_PID.
lab_bg() {
	local ns=$1 log=$2
	shift 2
	ip netns exec "$ns" "$@" >"$log" 2>&1 &
	LAB_LAST_PID=$!
	LAB_PIDS+=("$LAB_LAST_PID")
}

# lab_busy_cores SECONDS: a busy loop on every core, as a game loads the CPU
# (no traffic), for SECONDS at most; lab_idle_cores ends them.
lab_busy_cores() {
	LAB_BUSY=()
	for _ in $(seq "$(nproc)"); do
		timeout "$1" sh -c 'while :; do :; done' &
		LAB_BUSY+=($!)
	done
	LAB_PIDS+=("${LAB_BUSY[@]}")
}
lab_idle_cores() {
	local pid
	kill "${LAB_BUSY[@]}" 2>/dev/null || true
	for pid in "${LAB_BUSY[@]}"; do wait "$pid" 2>/dev/null || true; done
}

# wait_for SECONDS DESCRIPTION CMD...: polls CMD until it succeeds or time runs out.
# Arguments are expanded once: to re-read a value each time, pass
# eval '[ "$(counter)" -gt 0 ]' in single quotes.
wait_for() {
	local deadline=$(($(date +%s%N) + $1 * 1000000000)) what=$2
	shift 2
	until "$@" >/dev/null 2>&1; do
		if [ "$(date +%s%N)" -gt "$deadline" ]; then
			fail "timed out waiting for: $what"
		fi
		sleep 0.05
	done
}

# wait_gone SECONDS PID: waits for a process to exit.
wait_gone() {
	local deadline=$(($(date +%s%N) + $1 * 1000000000))
	while kill -0 "$2" 2>/dev/null; do
		[ "$(date +%s%N)" -gt "$deadline" ] && return 1
		sleep 0.05
	done
	return 0
}

# Keys.
lab_key() { wg genkey; }
lab_pub() { wg pubkey <<<"$1"; }

# lab_listening NS PORT: whether a TCP socket listens on PORT in NS.
lab_listening() {
	ip netns exec "$1" ss -ltnH "sport = :$2" | grep -q .
}
