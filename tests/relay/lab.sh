#!/usr/bin/env bash
# The relay in a namespace lab: members behind NATs bind with tokens from the
# real control server and talk through lanrage-relay; strangers do not.
#
#        +--------------------------------------------------------------+
#        | "internet" ${LAB}i (no route out; TEST-NET addresses only)   |
#        |  198.51.100.1: lanrage-control :8667 (+ :8668, 1 s tokens)   |
#        |                relay R1 :51820 (metrics 127.0.0.1:9180)      |
#        |  198.51.100.2: relay R2 :51820 (metrics 127.0.0.1:9181),     |
#        |                --max-clients 1, --stale-timeout 2s, its      |
#        |                control server unreachable                    |
#        |  relay R3 on [::]:51823, reached at 198.51.100.2 (metrics     |
#        |                127.0.0.1:9182)                               |
#        +---r1------------r2------------r3-------------------h4--------+
#            |             |             |                     |
#        symmetric      symmetric    port-restricted         no NAT
#        NAT ${LAB}r1   NAT ${LAB}r2  NAT ${LAB}r3            |
#            |             |             |                     |
#        ${LAB}h1: A    ${LAB}h2: B   ${LAB}h3: C             ${LAB}h4: strangers,
#        party P        party P       party Q                 forged/expired
#                                                             tokens, the limit,
#                                                             a blocked source
#
# Usage: lab.sh LANRAGE-RELAY LANRAGE-CONTROL RELAYC LANRAGE (root)
set -euo pipefail
RELAY=$(realpath "$1")
CONTROL=$(realpath "$2")
RELAYC=$(realpath "$3")
CLI=$(realpath "$4")
. "$(dirname "$0")/../nat/lab.sh"

fail() {
	echo "FAIL: $*" >&2
	lab_sanitizer_reports "$LAB_DIR"
	for f in "$LAB_DIR"/*.log; do
		echo "---- $f (last lines)" >&2
		tail -n 15 "$f" >&2
	done
	exit 1
}
step() { echo "== [${SECONDS}s] $*"; }
# wait_for SECONDS WHAT CMD...: polls CMD (re-evaluated each time) until it succeeds.
wait_for() {
	local s=$1 what=$2
	shift 2
	lab_wait "$s" "$@" || fail "timed out after ${s}s waiting for: $what"
}

lab_init
I=${LAB}i
D=$LAB_DIR
lab_add_host 1 symmetric
lab_add_host 2 symmetric
lab_add_host 3 port_restricted_cone
lab_add_host 4 none
H1=$(lab_host_ns 1) H2=$(lab_host_ns 2) H3=$(lab_host_ns 3) H4=$(lab_host_ns 4)
CTL=http://198.51.100.1:8667
R1=198.51.100.1:51820
R2=198.51.100.2:51820

# metric PORT NAME: one sample of the relay's /metrics (NAME may carry labels).
metric() {
	ip netns exec "$I" curl -sf "http://127.0.0.1:$1/metrics" |
		awk -v k="$2" '$1 == k { print $2; found = 1 } END { if (!found) print -1 }'
}
metric_ge() { [ "$(metric "$1" "$2")" -ge "$3" ]; }
# count LOG TAG: how many frames from TAG a relayc has reported so far.
count() {
	{ grep -o "from_tag=$2 seq=[0-9]* len=[0-9]* count=[0-9]*" "$1" || true; } |
		tail -n 1 | sed 's/.*count=//;s/^$/0/'
}
count_ge() { [ "$(count "$1" "$2")" -ge "$3" ]; }
tag_of() { cut -c1-8 "$1"; }
member() { # NS LOG ARGS...: a relayc member in NS
	local ns=$1 log=$2
	shift 2
	lab_spawn "$ns" "$D/$log" "$RELAYC" member --control "$CTL" "$@"
}

step "bad flags and a secret others can read are refused clearly"
printf 'lab relay secret %s\n' "$LAB" >"$D/relay.secret"
chmod 644 "$D/relay.secret"
if "$RELAY" --relay-secret-file "$D/relay.secret" --max-clients 0 2>"$D/flags.err"; then
	fail "--max-clients 0 accepted"
fi
grep -q "bad value for --max-clients: \`0'" "$D/flags.err" || fail "no clear error: $(cat "$D/flags.err")"
if ip netns exec "$I" "$RELAY" --relay-secret-file "$D/relay.secret" --metrics none \
	2>"$D/mode.err"; then
	fail "a world-readable secret was accepted"
fi
grep -q "chmod 600" "$D/mode.err" || fail "no clear error: $(cat "$D/mode.err")"
chmod 600 "$D/relay.secret"
"$RELAY" --help | grep -q -- "--stale-timeout DUR" || fail "--help"

step "control server and relays start; the relays register"
printf '# nobody yet\n' >"$D/block"
lab_spawn "$I" "$D/control.log" "$CONTROL" --listen 198.51.100.1 --port 8667 \
	--port-file "$D/control.port" --db "sqlite://$D/control.db" \
	--relay-secret-file "$D/relay.secret" --stun none
wait_for 20 "the control server" test -s "$D/control.port"
lab_spawn "$I" "$D/r1.log" "$RELAY" --relay-secret-file "$D/relay.secret" --listen "$R1" \
	--control "$CTL" --relay-id lab-1 --region lab --stats-interval 2s --block-file "$D/block"
R1_PID=$LAB_LAST_PID
wait_for 20 "R1's metrics" metric_ge 9180 lanrage_relay_sessions 0
wait_for 20 "lab-1 in GET /relays" eval \
	"ip netns exec $H4 curl -sf $CTL/relays | jq -e '.relays[] | select(.relay_id == \"lab-1\" and .public_ip == \"198.51.100.1\" and .port == 51820 and .region == \"lab\")'"
grep -q "registered with the control server $CTL as lab-1" "$D/r1.log" || fail "no registration log line"
[ "$(metric 9180 lanrage_relay_registered)" = 1 ] || fail "R1 does not report itself registered"
# A second relay on R1's port is refused (its reuseport group would otherwise
# have taken part of R1's traffic, both running as if nothing were wrong).
if ip netns exec "$I" timeout 10 "$RELAY" --relay-secret-file "$D/relay.secret" --listen "$R1" \
	--metrics none 2>"$D/twice.err"; then
	fail "a second relay on R1's port started"
fi
grep -q "cannot listen on UDP $R1: Address already in use" "$D/twice.err" ||
	fail "no clear error for a port in use: $(cat "$D/twice.err")"
grep -q "small marked frames first" "$D/r1.log" || fail "R1 has no priority socket"

step "two members of one party, both behind symmetric NATs, exchange data both ways"
member "$H1" a.log --relay "$R1" --create Friday --party-file "$D/party" --id-file "$D/a.id" \
	--send-to-file "$D/b.id" --save-bind "$D/a.bind"
A_PID=$LAB_LAST_PID
wait_for 20 "party P" test -s "$D/party"
member "$H2" b.log --relay "$R1" --join-file "$D/party" --id-file "$D/b.id" \
	--send-to-file "$D/a.id"
wait_for 20 "A bound" grep -q "^bound relay=$R1" "$D/a.log"
wait_for 20 "B bound" grep -q "^bound relay=$R1" "$D/b.log"
ATAG=$(tag_of "$D/a.id")
BTAG=$(tag_of "$D/b.id")
wait_for 20 "B hearing A" count_ge "$D/b.log" "$ATAG" 20
wait_for 20 "A hearing B" count_ge "$D/a.log" "$BTAG" 20
# Each learnt its NAT's public address from the ack (the symmetric NAT's port is random).
grep -q "^bound relay=$R1 .* observed=203.0.113.6:" "$D/a.log" || fail "A's observed address"
[ "$(metric 9180 lanrage_relay_sessions)" = 2 ] || fail "R1 should hold 2 sessions"

step "a member of another party and an unauthenticated sender get nothing through"
member "$H3" c.log --relay "$R1" --create Other --id-file "$D/c.id" --send-to-file "$D/b.id" \
	--unbind
C_PID=$LAB_LAST_PID
wait_for 20 "C told B is not here" grep -q "^not_here relay=$R1 tag=$BTAG" "$D/c.log"
ip netns exec "$H4" "$RELAYC" raw --relay "$R1" --hex "e0${BTAG}00000000000000000000" \
	--count 20 --wait-ms 1000 >"$D/stranger.log"
grep -q "reply error code=not bound" "$D/stranger.log" || fail "no 'not bound' for a stranger"
replies=$(sed -n 's/^replies //p' "$D/stranger.log")
[ "$replies" -le 2 ] || fail "a stranger drew $replies errors for 20 frames (limit: 1/s)"
wait_for 10 "not_here drops" metric_ge 9180 'lanrage_relay_dropped_total{reason="not_here"}' 5
wait_for 10 "unknown-source drops" metric_ge 9180 \
	'lanrage_relay_dropped_total{reason="unknown_source"}' 20
if grep "^recv " "$D/b.log" | grep -qv "from_tag=$ATAG"; then
	fail "B received a frame from someone other than A: $(grep '^recv ' "$D/b.log" | grep -v "from_tag=$ATAG" | head -3)"
fi
lab_stop "$C_PID"
grep -q "^unbound" "$D/c.log" || fail "C did not unbind"
wait_for 10 "C's unbind" metric_ge 9180 lanrage_relay_unbinds_total 1

step "forged and expired tokens are refused"
member "$H4" forged.log --relay "$R1" --create Forged --forge-token
F_PID=$LAB_LAST_PID
wait_for 20 "the forged token refused" grep -q "^refused relay=$R1 code=refused" "$D/forged.log"
lab_stop "$F_PID"
grep -q "^bound" "$D/forged.log" && fail "a forged token was accepted"
metric_ge 9180 'lanrage_relay_dropped_total{reason="bad_token"}' 1 || fail "bad_token not counted"
lab_spawn "$I" "$D/control2.log" "$CONTROL" --listen 198.51.100.1 --port 8668 \
	--port-file "$D/control2.port" --db "sqlite://$D/control2.db" \
	--relay-secret-file "$D/relay.secret" --stun none --relay-token-ttl 1s
wait_for 20 "the second control server" test -s "$D/control2.port"
lab_spawn "$H4" "$D/expired.log" "$RELAYC" member --control http://198.51.100.1:8668 \
	--relay "$R1" --create Late --bind-delay-ms 2500
E_PID=$LAB_LAST_PID
wait_for 20 "the expired token refused" grep -q "^refused relay=$R1 code=refused" "$D/expired.log"
lab_stop "$E_PID"
metric_ge 9180 'lanrage_relay_dropped_total{reason="expired_token"}' 1 ||
	fail "expired_token not counted"

step "a replayed bind is refused and moves nothing"
wait_for 10 "A's first bind saved" test -s "$D/a.bind"
before=$(count "$D/a.log" "$BTAG")
ip netns exec "$H4" "$RELAYC" raw --relay "$R1" --file "$D/a.bind" --count 3 --wait-ms 500 \
	>"$D/replay.log"
grep -q "^replies 0" "$D/replay.log" || fail "a replayed bind drew an answer: $(cat "$D/replay.log")"
metric_ge 9180 'lanrage_relay_dropped_total{reason="stale_timestamp"}' 3 ||
	fail "the replays were not counted as stale timestamps"
[ "$(metric 9180 lanrage_relay_sessions_moved_total)" = 0 ] || fail "a replay moved a session"
wait_for 10 "A still hearing B" count_ge "$D/a.log" "$BTAG" $((before + 20))

step "NAT rebinding: A moves to a new port, its session follows after one bind"
kill -USR1 "$A_PID"
wait_for 10 "A's hop" grep -q "^hop " "$D/a.log"
wait_for 10 "the session moved" metric_ge 9180 lanrage_relay_sessions_moved_total 1
before_b=$(count "$D/b.log" "$ATAG")
before_a=$(count "$D/a.log" "$BTAG")
wait_for 10 "B hearing A again" count_ge "$D/b.log" "$ATAG" $((before_b + 20))
wait_for 10 "A hearing B again" count_ge "$D/a.log" "$BTAG" $((before_a + 20))
[ "$(metric 9180 lanrage_relay_sessions)" = 2 ] || fail "R1 should still hold 2 sessions"

step "a member measures its way to the relay with STUN on the relay's port"
# One address, no RFC 5780 alternate: the NAT type stays unknown (exit 1), the mapping is known.
ip netns exec "$H2" timeout 60 "$CLI" nat --stun "$R1" --json >"$D/nat.json" || true
jq -e '.mapped | startswith("203.0.113.10:")' "$D/nat.json" >/dev/null ||
	fail "the relay's STUN answer: $(cat "$D/nat.json")"
metric_ge 9180 lanrage_relay_stun_requests_total 1 || fail "STUN requests not counted"

step "a block list reloaded on SIGHUP shuts a source out"
echo "203.0.113.146/32   # host 4" >>"$D/block"
kill -HUP "$R1_PID"
wait_for 10 "the reload" grep -q "SIGHUP: 1 prefixes blocked" "$D/r1.log"
ip netns exec "$H4" "$RELAYC" raw --relay "$R1" --hex "e0${BTAG}00000000000000000000" \
	--count 5 --wait-ms 500 >"$D/blocked.log"
grep -q "^replies 0" "$D/blocked.log" || fail "a blocked source got an answer"
wait_for 10 "blocked drops" metric_ge 9180 'lanrage_relay_dropped_total{reason="blocked"}' 5

step "metrics and the stats line"
code=$(ip netns exec "$I" curl -s -o "$D/404.json" -w '%{http_code}' http://127.0.0.1:9180/nope)
[ "$code" = 404 ] && jq -e .error "$D/404.json" >/dev/null || fail "/nope: $code $(cat "$D/404.json")"
code=$(ip netns exec "$I" curl -s -o "$D/405.json" -w '%{http_code}' -X POST \
	http://127.0.0.1:9180/metrics)
[ "$code" = 405 ] && jq -e .error "$D/405.json" >/dev/null || fail "POST /metrics: $code"
metric_ge 9180 lanrage_relay_forwarded_packets_total 80 || fail "forwarded_packets_total"
metric_ge 9180 lanrage_relay_stun_requests_total 0 || fail "stun_requests_total missing"
wait_for 10 "a stats line" grep -q "stats: 2 sessions; last 2 s: in [0-9]*, forwarded" "$D/r1.log"

step "the client limit; a stale session expires; a relay whose control server is down still serves"
lab_spawn "$I" "$D/r2.log" "$RELAY" --relay-secret-file "$D/relay.secret" --listen "$R2" \
	--metrics 127.0.0.1:9181 --max-clients 1 --stale-timeout 2s --control http://198.51.100.2:9 \
	--relay-id lab-2
wait_for 20 "R2's metrics" metric_ge 9181 lanrage_relay_sessions 0
wait_for 20 "R2 saying its control server is down" grep -q "control server http://198.51.100.2:9 is unreachable" "$D/r2.log"
member "$H4" g.log --relay "$R2" --create Limited
G_PID=$LAB_LAST_PID
wait_for 20 "G bound to R2" grep -q "^bound relay=$R2" "$D/g.log"
member "$H4" h.log --relay "$R2" --create Limited2
H_PID=$LAB_LAST_PID
wait_for 20 "H refused: full" grep -q "^refused relay=$R2 code=full" "$D/h.log"
lab_stop "$H_PID"
metric_ge 9181 'lanrage_relay_dropped_total{reason="full"}' 1 || fail "full not counted"
[ "$(metric 9181 lanrage_relay_registered)" = 0 ] || fail "R2 claims to be registered"
kill -9 "$G_PID"
lab_reap "$G_PID" 2>/dev/null
wait_for 10 "G's session to go stale" metric_ge 9181 lanrage_relay_sessions_stale_total 1
[ "$(metric 9181 lanrage_relay_sessions)" = 0 ] || fail "R2 still holds a session"

step "a relay on the wildcard address answers from the address its members reach"
# 198.51.100.2 is on the internet namespace's loopback; the routing table would
# answer the NATs from a link's address, which their mappings do not know.
R3=198.51.100.2:51823
lab_spawn "$I" "$D/r3.log" "$RELAY" --relay-secret-file "$D/relay.secret" --listen "[::]:51823" \
	--metrics 127.0.0.1:9182 --control http://198.51.100.2:9 --relay-id lab-3 --public-ip 198.51.100.2
R3_PID=$LAB_LAST_PID
wait_for 20 "R3's metrics" metric_ge 9182 lanrage_relay_sessions 0
[ "$(ip -n "$I" route get 203.0.113.6 | sed -n 's/.* src \([^ ]*\).*/\1/p')" != 198.51.100.2 ] ||
	fail "the routing table would answer from 198.51.100.2 anyway: the step shows nothing"
member "$H1" a3.log --relay "$R3" --create Wildcard --party-file "$D/party3" --id-file "$D/a3.id" \
	--send-to-file "$D/b3.id"
wait_for 20 "party W" test -s "$D/party3"
member "$H2" b3.log --relay "$R3" --join-file "$D/party3" --id-file "$D/b3.id" \
	--send-to-file "$D/a3.id"
wait_for 20 "A bound to R3 through its symmetric NAT" grep -q "^bound relay=$R3" "$D/a3.log"
wait_for 20 "B bound to R3" grep -q "^bound relay=$R3" "$D/b3.log"
wait_for 20 "B hearing A through R3" count_ge "$D/b3.log" "$(tag_of "$D/a3.id")" 20
wait_for 20 "A hearing B through R3" count_ge "$D/a3.log" "$(tag_of "$D/b3.id")" 20
lab_stop "$R3_PID"

step "R1 stops cleanly"
lab_stop "$R1_PID"
grep -q "lanrage-relay stopped" "$D/r1.log" || fail "R1 did not stop cleanly"
echo PASS
