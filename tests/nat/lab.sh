# shellcheck shell=bash
# lab.sh - the NAT lab: network namespaces and nftables NATs, sourced by the tests and bench.
#
#                  +------------------------------------------------------+
#                  | "internet"  ${LAB}i   (IPv4 forwarding, no default   |
#                  |  route: nothing leaves the lab)                      |
#                  |  lo: 198.51.100.1/32, 198.51.100.2/32 = STUN server  |
#                  |      (lanrage-stun --alternate, or coturn)           |
#                  +--r1-------r2------ ... -------rK-------------hK------+
#          203.0.113.(4k+1)/30 |        |                          |     203.0.113.(128+4k+1)/30
#                              |        |                          |
#          203.0.113.(4k+2) wan|     wan|                          | eth  203.0.113.(128+4k+2)
#                 +------------+--+  +--+-----------+        +-----+---------+
#                 | router ${LAB}rk|  | router ...   |        | host ${LAB}hk |
#                 | nftables NAT  |  |              |        | type "none":  |
#                 | (see nat_*)   |  |              |        | no NAT at all |
#                 +------------+--+  +--------------+        +---------------+
#                   10.0.k.1 lan|
#                               |
#                   10.0.k.2 eth|
#                 +-------------+-+
#                 | host ${LAB}hk |
#                 +---------------+
#
# LAB is "lr<pid>": every namespace name carries the shell's PID, so concurrent
# runs never collide.  Links are veth pairs created inside the lab's own
# namespaces ("ip -n"), so no interface ever exists in the machine's namespace
# and their short names (wan, lan, eth, rK, hK) cannot clash with anything.
# Nothing is connected to a real interface and there is no route out: the
# internet namespace has no default route, and only TEST-NET addresses exist.
#
# NAT emulations (RFC 4787 terms; docs/NAT.md explains each rule):
#   none                  host on a public address, no router
#   full_cone             EIM (masquerade keeps the port) + EIF: a set of the
#                         ports the host sent from; inbound to them is DNATed
#   restricted_cone       EIM + ADF: a set of (remote IP . port) the host sent
#                         to/from; inbound from such an IP to such a port is DNATed
#   port_restricted_cone  EIM + APDF: masquerade alone (conntrack replies only)
#   symmetric             APDM: masquerade fully-random (a fresh random port per
#                         remote endpoint) + APDF
# Every router drops whatever arrives on wan for itself, so an unsolicited
# packet never confirms a conntrack entry or draws an ICMP error.

LAB="lr$$"
LAB_PIDS=()
LAB_NS=()
LAB_DIR=""
LAB_TYPES=(none full_cone restricted_cone port_restricted_cone symmetric)
STUN_IP1=198.51.100.1
STUN_IP2=198.51.100.2

lab_log() {
	echo "lab: $*" >&2
}

. "$(dirname "${BASH_SOURCE[0]}")/../lab/sanitizers.sh"

lab_fail() {
	echo "FAIL: $*" >&2
	lab_sanitizer_reports "$LAB_DIR"
	exit 1
}

# Runs "$@" until it succeeds or $1 seconds pass; polls every 50 ms.
lab_wait() {
	local deadline=$(($(date +%s%N) + $1 * 1000000000))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s%N)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

lab_cleanup() {
	local pid ns
	for pid in "${LAB_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${LAB_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	LAB_PIDS=()
	for ns in "${LAB_NS[@]}"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	LAB_NS=()
	# LAB_KEEP=1 keeps the logs for a look after a failure.
	[ -z "$LAB_DIR" ] || [ -n "${LAB_KEEP:-}" ] || rm -rf "$LAB_DIR"
}

lab_ns_add() {
	ip netns add "$1" || lab_fail "cannot create namespace $1"
	LAB_NS+=("$1")
	ip -n "$1" link set lo up
}

# Starts a program in a namespace in the background; its PID goes to LAB_PIDS
# (ip netns exec execs the program, so the PID is the program's).
# Usage: lab_spawn NS LOGFILE CMD...
lab_spawn() {
	local ns=$1 log=$2
	shift 2
	ip netns exec "$ns" "$@" >"$log" 2>&1 &
	LAB_PIDS+=($!)
	LAB_LAST_PID=$!
}

# Stops one program started with lab_spawn, by PID.
lab_stop() {
	kill "$1" 2>/dev/null || true
	lab_reap "$1"
}

# Waits for one program started with lab_spawn to end by itself.
lab_reap() {
	local pid=$1 p keep=()
	wait "$pid" 2>/dev/null || true
	for p in "${LAB_PIDS[@]}"; do
		[ "$p" = "$pid" ] || keep+=("$p")
	done
	LAB_PIDS=("${keep[@]}")
}

lab_init() {
	[ "$(id -u)" -eq 0 ] || lab_fail "the NAT lab needs root (network namespaces)"
	trap lab_cleanup EXIT
	trap 'exit 130' INT TERM
	LAB_DIR=$(mktemp -d /tmp/lanrage-lab.XXXXXX)
	lab_ns_add "${LAB}i"
	ip netns exec "${LAB}i" sysctl -qw net.ipv4.ip_forward=1
	ip -n "${LAB}i" addr add "$STUN_IP1/32" dev lo
	ip -n "${LAB}i" addr add "$STUN_IP2/32" dev lo
}

lab_host_ns() {
	echo "${LAB}h$1"
}

lab_router_ns() {
	echo "${LAB}r$1"
}

# The public address of host k (its router's wan, or its own for "none").
lab_public_ip() {
	local k=$1 type=$2
	if [ "$type" = none ]; then
		echo "203.0.113.$((128 + 4 * k + 2))"
	else
		echo "203.0.113.$((4 * k + 2))"
	fi
}

# Adds host k (1-30) behind a NAT of the given type.
lab_add_host() {
	local k=$1 type=$2
	local inet="${LAB}i" router="${LAB}r$k" host="${LAB}h$k"
	local wan_ip lan_net="10.0.$k"

	lab_ns_add "$host"
	if [ "$type" = none ]; then
		wan_ip=$(lab_public_ip "$k" none)
		ip -n "$inet" link add "h$k" type veth peer name eth netns "$host"
		ip -n "$inet" addr add "203.0.113.$((128 + 4 * k + 1))/30" dev "h$k"
		ip -n "$inet" link set "h$k" up
		ip -n "$host" addr add "$wan_ip/30" dev eth
		ip -n "$host" link set eth up
		ip -n "$host" route add default via "203.0.113.$((128 + 4 * k + 1))"
		return
	fi

	lab_ns_add "$router"
	wan_ip=$(lab_public_ip "$k" "$type")
	ip netns exec "$router" sysctl -qw net.ipv4.ip_forward=1
	ip -n "$inet" link add "r$k" type veth peer name wan netns "$router"
	ip -n "$inet" addr add "203.0.113.$((4 * k + 1))/30" dev "r$k"
	ip -n "$inet" link set "r$k" up
	ip -n "$router" addr add "$wan_ip/30" dev wan
	ip -n "$router" link set wan up
	ip -n "$router" route add default via "203.0.113.$((4 * k + 1))"

	ip -n "$router" link add lan type veth peer name eth netns "$host"
	ip -n "$router" addr add "$lan_net.1/24" dev lan
	ip -n "$router" link set lan up
	ip -n "$host" addr add "$lan_net.2/24" dev eth
	ip -n "$host" link set eth up
	ip -n "$host" route add default via "$lan_net.1"

	"nat_$type" "$lan_net.2" "$wan_ip" | ip netns exec "$router" nft -f - ||
		lab_fail "nftables rules for $type"
}

# Gives host k (added with lab_add_host behind a NAT) IPv6 as a home router
# does: the host 2001:db8:k::2/64 on the router's LAN, routed through the
# router (2001:db8:ff:k::2 on wan) with no translation, behind the stateful
# firewall IPv6 routers ship: anything out, in only replies (conntrack; APDF
# in RFC 4787 terms).  2001:db8::/32 is IPv6's documentation range.
lab_add_ipv6() {
	local k=$1
	local inet="${LAB}i" router="${LAB}r$k" host="${LAB}h$k"

	ip netns exec "$inet" sysctl -qw net.ipv6.conf.all.forwarding=1
	ip netns exec "$router" sysctl -qw net.ipv6.conf.all.forwarding=1
	ip -n "$inet" addr add "2001:db8:ff:$k::1/64" dev "r$k" nodad
	ip -n "$router" addr add "2001:db8:ff:$k::2/64" dev wan nodad
	ip -n "$inet" route add "2001:db8:$k::/64" via "2001:db8:ff:$k::2"
	ip -n "$router" route add default via "2001:db8:ff:$k::1"
	ip -n "$router" addr add "2001:db8:$k::1/64" dev lan nodad
	ip -n "$host" addr add "2001:db8:$k::2/64" dev eth nodad
	ip -n "$host" route add default via "2001:db8:$k::1"
	ip netns exec "$router" nft -f - <<EOF || lab_fail "IPv6 firewall rules"
table ip6 lab6 {
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "wan" meta l4proto != ipv6-icmp drop
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		iifname "lan" oifname "wan" accept
		iifname "wan" oifname "lan" ct state established,related accept
		iifname "wan" oifname "lan" icmpv6 type { packet-too-big, destination-unreachable, time-exceeded } accept
	}
}
EOF
}

# Two hosts on one LAN (a bridge in the router): ${LAB}hK at 10.0.K.2 and
# ${LAB}hKb at 10.0.K.3, behind a NAT of the given type (port_restricted_cone
# or symmetric: the full and restricted cones DNAT to one host).
# Like most home routers, ours do not hairpin: the hosts reach each other only
# on the LAN.
lab_add_lan_pair() {
	local k=$1 type=$2
	local inet="${LAB}i" router="${LAB}r$k" wan_ip h n=2

	lab_ns_add "$router"
	wan_ip=$(lab_public_ip "$k" "$type")
	ip netns exec "$router" sysctl -qw net.ipv4.ip_forward=1
	ip -n "$inet" link add "r$k" type veth peer name wan netns "$router"
	ip -n "$inet" addr add "203.0.113.$((4 * k + 1))/30" dev "r$k"
	ip -n "$inet" link set "r$k" up
	ip -n "$router" addr add "$wan_ip/30" dev wan
	ip -n "$router" link set wan up
	ip -n "$router" route add default via "203.0.113.$((4 * k + 1))"
	ip -n "$router" link add lan type bridge
	ip -n "$router" addr add "10.0.$k.1/24" dev lan
	ip -n "$router" link set lan up
	for h in "${LAB}h$k" "${LAB}h${k}b"; do
		lab_ns_add "$h"
		ip -n "$router" link add "p$n" type veth peer name eth netns "$h"
		ip -n "$router" link set "p$n" master lan
		ip -n "$router" link set "p$n" up
		ip -n "$h" addr add "10.0.$k.$n/24" dev eth
		ip -n "$h" link set eth up
		ip -n "$h" route add default via "10.0.$k.1"
		n=$((n + 1))
	done
	"nat_$type" "" "$wan_ip" | ip netns exec "$router" nft -f - ||
		lab_fail "nftables rules for $type"
}

# The part every router shares: forward out freely, in only what NAT let in;
# drop everything addressed to the router itself from outside.
nat_common() {
	cat <<EOF
table ip lab {
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "wan" drop
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		iifname "lan" oifname "wan" accept
		iifname "lan" oifname "lan" accept
		iifname "wan" oifname "lan" ct state established,related accept
		iifname "wan" oifname "lan" ct status dnat accept
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan" masquerade $2
	}
$1
}
EOF
}

# Port-restricted cone: Linux masquerade keeps the source port when it can, so
# the mapping is endpoint-independent; conntrack lets in only replies from the
# exact remote address and port (APDF).
nat_port_restricted_cone() {
	nat_common "" ""
}

# Symmetric: a random port for every new remote endpoint (APDM), APDF as above.
nat_symmetric() {
	nat_common "" "fully-random"
}

# Full cone: EIM as above; every port the host has sent from (within 120 s)
# takes UDP from anyone (EIF), mapped back to the same port on the host.
nat_full_cone() {
	local host=$1
	nat_common "	set mapped {
		type inet_service; flags timeout;
	}
	chain from_lan {
		type filter hook prerouting priority filter; policy accept;
		iifname \"lan\" ip saddr $host update @mapped { udp sport timeout 120s }
	}
	chain to_lan {
		type nat hook prerouting priority dstnat; policy accept;
		iifname \"wan\" udp dport @mapped dnat to $host
	}" ""
}

# Restricted cone: EIM as above; a port takes UDP from any port of an address
# the host has sent to from that port (ADF).
nat_restricted_cone() {
	local host=$1
	nat_common "	set contacted {
		type ipv4_addr . inet_service; flags timeout;
	}
	chain from_lan {
		type filter hook prerouting priority filter; policy accept;
		iifname \"lan\" ip saddr $host update @contacted { ip daddr . udp sport timeout 120s }
	}
	chain to_lan {
		type nat hook prerouting priority dstnat; policy accept;
		iifname \"wan\" ip saddr . udp dport @contacted dnat to $host
	}" ""
}

# Builds hosts 1..5, one per NAT type in LAB_TYPES order (host k has type k-1).
lab_add_all_types() {
	local k=1 t
	for t in "${LAB_TYPES[@]}"; do
		lab_add_host "$k" "$t"
		k=$((k + 1))
	done
}

# Starts lanrage-stun with both addresses in the internet namespace and waits
# for its four sockets.  Usage: lab_start_our_stun BINDIR LOG
lab_start_our_stun() {
	lab_spawn "${LAB}i" "$2" "$1/lanrage-stun" --listen "$STUN_IP1:3478" \
		--alternate "$STUN_IP2:3479"
	LAB_STUN_PID=$LAB_LAST_PID
	lab_wait 20 grep -q "listening on" "$2" || lab_fail "lanrage-stun did not start: $(cat "$2")"
}

# Starts coturn (STUN only) on both addresses, RFC 5780 on, and waits until it
# listens on all four address/port pairs.  Usage: lab_start_coturn LOG
lab_start_coturn() {
	local log=$1 conf="$LAB_DIR/coturn.conf"
	cat >"$conf" <<EOF
listening-ip=$STUN_IP1
listening-ip=$STUN_IP2
listening-port=3478
alt-listening-port=3479
stun-only
no-cli
no-tls
no-dtls
fingerprint
log-file=stdout
simple-log
pidfile=$conf.pid
EOF
	lab_spawn "${LAB}i" "$log" turnserver -c "$conf"
	# shellcheck disable=SC2034 # for the tests that stop it
	LAB_STUN_PID=$LAB_LAST_PID
	lab_wait 30 lab_coturn_ready || lab_fail "coturn did not start: $(tail -20 "$log")"
}

lab_coturn_ready() {
	local ss
	ss=$(ip netns exec "${LAB}i" ss -Hlun)
	for a in "$STUN_IP1:3478" "$STUN_IP1:3479" "$STUN_IP2:3478" "$STUN_IP2:3479"; do
		grep -qF "$a " <<<"$ss" || return 1
	done
}

# What the stock `stun` client (stun-client 0.97) prints for each lab NAT type.
lab_stund_expect() {
	case $1 in
	none) echo "Primary: Open" ;;
	full_cone) echo "Primary: Independent Mapping, Independent Filter" ;;
	restricted_cone) echo "Primary: Independent Mapping, Address Dependent Filter" ;;
	port_restricted_cone) echo "Primary: Independent Mapping, Port Dependent Filter" ;;
	symmetric) echo "Primary: Dependent Mapping" ;;
	esac
}

# Runs the stock `stun` client from host k against the lab's STUN server and
# checks its verdict for the host's NAT type.  Prints "ok" or the failure.
lab_check_stund() {
	local k=$1 type=$2 out want
	want=$(lab_stund_expect "$type")
	out=$(timeout 60 ip netns exec "$(lab_host_ns "$k")" stun "$STUN_IP1" 2>&1 | grep Primary)
	case $out in
	"$want"*) echo "ok stund $type: $out" ;;
	*) echo "FAIL stund $type: want '$want', got '${out:-nothing}'" ;;
	esac
}

# Runs `lanrage nat --json` from host k and checks type and mapped address.
# Usage: lab_check_ours K TYPE LANRAGE SERVER
lab_check_ours() {
	local k=$1 type=$2 lanrage=$3 server=$4 out got mapped ip want=$2
	ip=$(lab_public_ip "$k" "$type")
	[ "$type" != none ] || want=open
	out=$(ip netns exec "$(lab_host_ns "$k")" "$lanrage" nat --stun "$server" --json 2>&1)
	got=$(jq -r .type <<<"$out" 2>/dev/null)
	mapped=$(jq -r .mapped <<<"$out" 2>/dev/null)
	if [ "$got" = "$want" ] && [ "${mapped%:*}" = "$ip" ]; then
		echo "ok lanrage nat $type: mapped $mapped in $(jq -r .elapsed_ms <<<"$out") ms"
	else
		echo "FAIL lanrage nat $type: want $want from $ip, got: $out"
	fi
}

# Runs a check for every host of lab_add_all_types at once; fails on any FAIL.
# Usage: lab_check_all FUNCTION ARGS...
lab_check_all() {
	local fn=$1 k=1 t pids=() failed=0
	shift
	for t in "${LAB_TYPES[@]}"; do
		"$fn" "$k" "$t" "$@" >"$LAB_DIR/check.$fn.$k" 2>&1 &
		pids+=($!)
		k=$((k + 1))
	done
	for k in "${!pids[@]}"; do
		wait "${pids[$k]}" || true
		cat "$LAB_DIR/check.$fn.$((k + 1))"
		grep -q '^ok' "$LAB_DIR/check.$fn.$((k + 1))" || failed=1
	done
	return "$failed"
}
