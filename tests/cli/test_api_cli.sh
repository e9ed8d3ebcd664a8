#!/usr/bin/env bash
# `lanrage` over the local API: exit codes a script can trust (2 usage, 3 no
# daemon, 4 no token, 1 refused), --json passing the API's JSON through, the
# human tables, settings stored through the API showing up with their
# sources, and favourites and game profiles kept and removed.  The daemon
# side is tests/daemon/api_stub: the real API, configuration and settings
# database in front of a canned backend, on 127.0.0.1 (it tests the CLI and
# the API, not the daemon).
#
#   lanrage --api 127.0.0.1:PORT --token-file DIR/api.token ...
#        |  HTTP on loopback
#   api_stub (lanraged.conf, settings.db, api.token in DIR)
set -euo pipefail
lanrage=$1
stub=$2
. "$(dirname "$0")/../lab/lib.sh"

dir=$LAB_TMP/state
mkdir -p "$dir"

expect() { # want-exit want-text cmd...
	local want=$1 text=$2 out rc
	shift 2
	set +e
	out=$("$@" 2>&1)
	rc=$?
	set -e
	[ "$rc" -eq "$want" ] || fail "$* exited $rc, want $want: $out"
	grep -qF -- "$text" <<<"$out" || fail "$*: no '$text' in: $out"
}

step "usage errors exit 2, before anything is read"
expect 2 "Usage: lanrage" "$lanrage"
expect 2 "unknown command \`frobnicate'" "$lanrage" frobnicate
expect 2 "Usage: lanrage party create NAME" "$lanrage" party
expect 2 "Usage: lanrage party create NAME" "$lanrage" party create
expect 2 "Usage: lanrage party create NAME" "$lanrage" party create a b
expect 2 "Usage: lanrage ping PEER" "$lanrage" ping
expect 2 "bad or missing value for \`-c'" "$lanrage" ping bob -c 0
expect 2 "bad or missing value for \`-c'" "$lanrage" ping bob -c
expect 2 "Usage: lanrage settings" "$lanrage" settings set mtu
expect 2 "Usage: lanrage status" "$lanrage" status extra
expect 2 "Unable to parse endpoint: \`localhost'" "$lanrage" --api localhost status
expect 2 "--token-file needs a value" "$lanrage" status --token-file
expect 0 "Exit status" "$lanrage" --help
expect 0 "4  the token file cannot be read" "$lanrage" --help

step "no token file: exit 4, naming the file and what to do"
expect 4 "token file $dir/none: No such file or directory" \
	"$lanrage" --token-file "$dir/none" status
expect 4 "is lanraged running" "$lanrage" --token-file "$dir/none" peers

step "start the stub (config file + flags + settings database)"
printf 'peer_name = alice\nrelay = never\n' >"$dir/lanraged.conf"
"$stub" "$dir/port" --state-dir "$dir" --api 127.0.0.1:0 --mtu 1400 >"$LAB_TMP/stub.log" 2>&1 &
LAB_PIDS+=($!)
wait_for 20 "the stub's port file" test -s "$dir/port"
port=$(cat "$dir/port")
[ "$(stat -c %a "$dir/api.token")" = 600 ] || fail "api.token is not mode 600"
lr() { "$lanrage" --api "127.0.0.1:$port" --token-file "$dir/api.token" "$@"; }

step "--json prints the API's JSON as it is"
lr status --json | jq -e '.name == "alice" and .interface.mtu == 1400 and .party == null' >/dev/null ||
	fail "status --json: $(lr status --json)"
lr --json peers | jq -e '.party_id == null and (.peers | length) == 0' >/dev/null || fail "peers --json"
lr nat --json | jq -e '.type == "full_cone"' >/dev/null || fail "nat --json"
lr settings --json | jq -e '.settings.mtu.value == 1400 and .settings.mtu.source == "flag"' \
	>/dev/null || fail "settings --json: $(lr settings --json)"

step "human output"
expect 0 "name:        alice" lr status
expect 0 "priority lane open" lr status
expect 0 "party:       none" lr status
expect 0 "Not in a party." lr peers
expect 0 "public endpoint: 203.0.113.7:51820" lr nat
expect 0 "IPv6 endpoint:   [2001:db8:7::10]:51820" lr nat
expect 0 "NAT:         full_cone, public 203.0.113.7:51820, IPv6 [2001:db8:7::10]:51820" lr status

step "party create prints the id and the line to give friends"
out=$(lr party create "Friday LAN")
id=$(sed -n 's/^ *Party ID: *//p' <<<"$out")
"$lanrage" party-id "$id" >/dev/null || fail "not a party id: '$id' in: $out"
grep -qF "lanrage party join $id" <<<"$out" || fail "no join line: $out"
grep -qF "Your virtual IP: 10.66.0.2" <<<"$out" || fail "no virtual IP: $out"
lr --json status | jq -e --arg id "$id" '.party.party_id == $id and .party.is_host' >/dev/null ||
	fail "status after create"
expect 0 "IPv6:        fd4c:5247:6c61::a42:2" lr status

step "-- ends the options: a party may be called --json"
expect 0 'Party "--json" created.' lr party create -- --json
lr party leave >/dev/null
out=$(lr party create "Friday LAN")
id=$(sed -n 's/^ *Party ID: *//p' <<<"$out")

step "peers: an aligned table, with members' IPv6 addresses"
out=$(lr peers)
head=$(grep -n '^NAME' <<<"$out" | cut -d: -f1)
[ -n "$head" ] || fail "no header: $out"
# Every row's VIRTUAL IP and VIRTUAL IPV6 columns start where the header's do.
col=$(sed -n "${head}p" <<<"$out" | grep -bo 'VIRTUAL IP ' | cut -d: -f1)
col6=$(sed -n "${head}p" <<<"$out" | grep -bo 'VIRTUAL IPV6' | cut -d: -f1)
for n in 2 3 4; do
	row=$(grep -F "10.66.0.$n " <<<"$out")
	at=$(grep -bo "10.66.0.$n " <<<"$row" | head -1 | cut -d: -f1)
	[ "$at" = "$col" ] || fail "column of 10.66.0.$n is $at, header's $col: $out"
	at=$(grep -bo "fd4c:5247:6c61::a42:$n" <<<"$row" | head -1 | cut -d: -f1)
	[ "$at" = "$col6" ] || fail "column of member $n's IPv6 address is $at, header's $col6: $out"
done
grep -E '^bob +10\.66\.0\.3 +fd4c:5247:6c61::a42:3 +connected +direct +12\.5 ms +port_restricted_cone$' <<<"$out" >/dev/null ||
	fail "bob's row: $out"
grep -E '^alice \(you\) ' <<<"$out" >/dev/null || fail "self row: $out"

step "ping: replies exit 0, none exit 1, unknown member exit 1 with the daemon's error"
expect 0 "3 sent, 3 received, 0% loss" lr ping bob -c 3
expect 0 "rtt min/avg/max = 10.00/11.00/12.00 ms" lr ping 10.66.0.3 -c 3
lr ping bob -c 2 --json | jq -e '.received == 2 and (.rtts_ms | length) == 2' >/dev/null ||
	fail "ping --json"
expect 1 "2 sent, 0 received, 100% loss" lr ping carol -c 2
expect 1 "no member \`dave' in the party (HTTP 404)" lr ping dave

step "party join/leave; the daemon's refusals exit 1"
expect 1 "has a typo" lr party join "${id%?}$( [ "${id: -1}" = 0 ] && echo 1 || echo 0)"
expect 1 "no party 0000-0000-0000-0000 (HTTP 404)" lr party join 0000-0000-0000-0000
expect 0 "Left party $id." lr party leave
expect 1 "not in a party (HTTP 409)" lr party leave
lr --json party leave >"$LAB_TMP/leave.json" 2>/dev/null && fail "leave twice succeeded"
jq -e '.error == "not in a party"' "$LAB_TMP/leave.json" >/dev/null || fail "--json error body"
expect 0 "Joined party \"Friday LAN\" ($id)." lr party join "$(tr 'A-Z' 'a-z' <<<"$id" | tr -d -)"

step "settings: stored through the API, with sources"
expect 0 "1400" lr settings get mtu
expect 0 "alice" lr settings get peer_name
expect 1 "no setting \`nope'" lr settings get nope
expect 0 "keepalive_sec stored in the settings database." lr settings set keepalive_sec 15
expect 0 "15" lr settings get keepalive_sec
lr settings --json | jq -e '.settings.keepalive_sec.source == "database" and
	.settings.keepalive_sec.stored == 15' >/dev/null || fail "keepalive_sec after set"
# The file sets relay: stored, but the file wins, and the CLI says so.
expect 0 "the config file sets relay" lr settings set relay always
expect 0 "never" lr settings get relay
expect 1 "mtu: \`100' is not a number from 576 to 9000 (HTTP 400)" lr settings set mtu 100
expect 1 "loopback" lr settings set api 0.0.0.0:8666
expect 1 "setting 'bogus': unknown" lr settings set bogus 1
expect 0 "keepalive_sec removed" lr settings unset keepalive_sec
expect 0 "25" lr settings get keepalive_sec
lr settings | grep -E '^relay +never +file \(stored: always, overridden\)$' >/dev/null ||
	fail "settings table: $(lr settings)"

step "favourites and game profiles: kept through the API, listed, removed"
expect 0 "No favourite servers yet" lr favorites
expect 0 "Added \"Friday server\" (203.0.113.7:27015) as " \
	lr favorites add "Friday server" 203.0.113.7:27015 cs2
fav=$(lr favorites --json | jq -r '.favorites[0].server_id')
lr favorites | grep -E "^ID +NAME +GAME +ADDRESS$" >/dev/null || fail "favourites header: $(lr favorites)"
lr favorites | grep -E "^$fav +Friday server +cs2 +203\.0\.113\.7:27015$" >/dev/null ||
	fail "favourites table: $(lr favorites)"
expect 2 "Usage: lanrage favorites" lr favorites add "Friday server"
expect 1 "(HTTP 400)" lr favorites add "" 203.0.113.7:27015
expect 0 "Removed favourite $fav." lr favorites remove "$fav"
expect 1 "(HTTP 404)" lr favorites remove "$fav"
expect 0 "No game profiles yet" lr profiles
expect 0 'Saved game profile "My Game".' lr profiles set "My Game" '{"fps": 144, "ports": [27015]}' cs2
expect 0 '"fps": 144' lr profiles show "My Game"
lr profiles | grep -E '^My Game +cs2 +[0-9]' >/dev/null || fail "profiles table: $(lr profiles)"
echo '{"fps": 240}' | lr profiles set "My Game" - >/dev/null || fail "profiles set from stdin"
lr profiles show "My Game" --json | jq -e '.profile.fps == 240 and .name == "My Game"' >/dev/null ||
	fail "the profile replaced from stdin: $(lr profiles show "My Game" --json)"
expect 2 "must be a JSON object" lr profiles set x '[1]'
expect 2 "is not JSON" lr profiles set x '{"fps":'
expect 1 'no game profile "nope"' lr profiles show nope
# The name goes percent-encoded in the path: "My Game" is My%20Game there.
expect 0 "Removed game profile My Game." lr profiles remove "My Game"
expect 1 "(HTTP 404)" lr profiles remove "My Game"
expect 0 "No game profiles yet" lr profiles

step "a wrong token is refused (exit 1) and the file named"
printf '%064d\n' 1 >"$dir/wrong.token"
expect 1 "lanraged refused the token in $dir/wrong.token" \
	"$lanrage" --api "127.0.0.1:$port" --token-file "$dir/wrong.token" status

step "ui: the web UI's address with the token, once the daemon takes it"
expect 0 "http://127.0.0.1:$port/#token=$(cat "$dir/api.token")" lr ui
[ "$(lr ui --json | jq -r .url)" = "http://127.0.0.1:$port/#token=$(cat "$dir/api.token")" ] ||
	fail "ui --json: $(lr ui --json)"
expect 1 "lanraged refused the token in $dir/wrong.token" \
	"$lanrage" --api "127.0.0.1:$port" --token-file "$dir/wrong.token" ui
expect 2 "Usage: lanrage ui" lr ui extra
page=$(curl -sf "http://127.0.0.1:$port/") || fail "the stub serves no web UI"
grep -qF '<script src="/app.js"' <<<"$page" || fail "the stub's page is not the web UI: $page"

step "the daemon is gone: exit 3, naming the address"
kill "${LAB_PIDS[-1]}"
wait_for 10 "the stub to exit" eval '! kill -0 '"${LAB_PIDS[-1]}"
expect 3 "cannot reach lanraged at 127.0.0.1:$port: Connection refused (is lanraged running?)" \
	lr status
expect 3 "is lanraged running?" lr party join 0000-0000-0000-0000

step "the stored settings are there after a restart"
rm -f "$dir/port"
"$stub" "$dir/port" --state-dir "$dir" --api 127.0.0.1:0 >"$LAB_TMP/stub2.log" 2>&1 &
LAB_PIDS+=($!)
wait_for 20 "the stub's port file" test -s "$dir/port"
port=$(cat "$dir/port")
lr settings --json | jq -e '.settings.relay.stored == "always" and
	.settings.relay.source == "file" and .settings.mtu.source == "default"' >/dev/null ||
	fail "after restart: $(lr settings --json)"
echo "ok"
