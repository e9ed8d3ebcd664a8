#!/usr/bin/env bash
# The Debian packages (cmake/Packaging.cmake): built with cpack from this build
# tree, then checked as a user would meet them: their names, what they depend
# on (every dependency a Debian package that exists here), their files,
# maintainer scripts and conffiles; the systemd units as systemd reads them;
# and the programs unpacked from them: a lanraged from the package creates a
# party in a network namespace of its own, driven by the packaged CLI.
#
# Usage: test_package.sh BUILD_DIR
set -euo pipefail
BUILD=$(realpath "$1")
# shellcheck source=tests/daemon/lib.sh
. "$(dirname "$0")/../daemon/lib.sh"

lab_init
PKG=$LAB_DIR/pkg
ROOT=$LAB_DIR/root

step "cpack builds both packages"
(cd "$BUILD" && cpack -B "$PKG") >"$LAB_DIR/cpack.log" 2>&1 || {
	cat "$LAB_DIR/cpack.log" >&2
	fail "cpack failed"
}
CLIENT=$(ls "$PKG"/lanrage_*_*.deb)
SERVER=$(ls "$PKG"/lanrage-server_*_*.deb)
[ "$(dpkg-deb --field "$CLIENT" Package)" = lanrage ] || fail "client package name"
[ "$(dpkg-deb --field "$SERVER" Package)" = lanrage-server ] || fail "server package name"

step "every dependency is a Debian package (installed here, where the programs were built)"
for deb in "$CLIENT" "$SERVER"; do
	deps=$(dpkg-deb --field "$deb" Depends)
	[ -n "$deps" ] || fail "$(basename "$deb") declares no dependencies"
	for lib in libevent libsodium libjansson libsqlite3; do
		grep -q "$lib" <<<"$deps" || fail "$(basename "$deb") does not depend on $lib: $deps"
	done
	for name in $(tr ',' '\n' <<<"$deps" | awk '{ print $1 }'); do
		dpkg-query -W -f '${Status}\n' "$name" 2>/dev/null | grep -q "install ok installed" ||
			fail "$(basename "$deb") depends on $name, which is not an installed package"
	done
done
grep -q libgcrypt <<<"$(dpkg-deb --field "$CLIENT" Depends)" || fail "the daemon needs libgcrypt"

step "their files"
dpkg-deb --contents "$CLIENT" | awk '{ print $6 }' >"$LAB_DIR/client.files"
dpkg-deb --contents "$SERVER" | awk '{ print $6 }' >"$LAB_DIR/server.files"
for f in ./usr/sbin/lanraged ./usr/bin/lanrage ./usr/bin/lanrage-wg \
	./usr/lib/systemd/system/lanraged.service ./usr/share/doc/lanrage/DAEMON.md; do
	grep -qxF "$f" "$LAB_DIR/client.files" || fail "lanrage lacks $f"
done
for f in ./usr/bin/lanrage-control ./usr/bin/lanrage-relay ./usr/bin/lanrage-stun \
	./usr/lib/systemd/system/lanrage-control.service \
	./usr/lib/systemd/system/lanrage-relay.service ./etc/default/lanrage-control \
	./etc/default/lanrage-relay; do
	grep -qxF "$f" "$LAB_DIR/server.files" || fail "lanrage-server lacks $f"
done
if grep -q "^./usr/local" "$LAB_DIR/client.files" "$LAB_DIR/server.files"; then
	fail "files under /usr/local in a package"
fi

step "maintainer scripts parse, conffiles exist"
for deb in "$CLIENT" "$SERVER"; do
	ctl=$LAB_DIR/ctl-$(basename "$deb" .deb)
	dpkg-deb --control "$deb" "$ctl"
	for s in postinst prerm postrm; do
		[ -x "$ctl/$s" ] || fail "$(basename "$deb"): no executable $s"
		sh -n "$ctl/$s" || fail "$(basename "$deb"): $s does not parse"
	done
done
while read -r f; do
	grep -qxF ".$f" "$LAB_DIR/server.files" || fail "conffile $f is not in the package"
done <"$LAB_DIR/ctl-$(basename "$SERVER" .deb)/conffiles"

step "systemd reads the units without a complaint"
dpkg -x "$CLIENT" "$ROOT"
dpkg -x "$SERVER" "$ROOT"
mkdir -p "$LAB_DIR/units"
for u in "$ROOT"/usr/lib/systemd/system/*.service; do
	# Their programs where the package would put them: here, in the unpacked tree.
	sed "s|=/usr/|=$ROOT/usr/|" "$u" >"$LAB_DIR/units/$(basename "$u")"
done
if command -v systemd-analyze >/dev/null; then
	out=$(systemd-analyze verify "$LAB_DIR"/units/*.service 2>&1) || fail "systemd-analyze: $out"
	[ -z "$out" ] || fail "systemd-analyze complains: $out"
else
	echo "systemd-analyze not installed: the units are not checked"
fi

step "the packaged programs run: lanraged makes a party, the packaged CLI drives it"
for p in usr/sbin/lanraged usr/bin/lanrage usr/bin/lanrage-control usr/bin/lanrage-relay; do
	"$ROOT/$p" --version >/dev/null || fail "$p --version failed"
done
LANRAGED=$ROOT/usr/sbin/lanraged
LANRAGE=$ROOT/usr/bin/lanrage
lab_add_host 1 none
daemon_start 1 packaged --discovery-dir "$LAB_DIR/discovery"
cli 1 party create "From the package" >/dev/null || fail "party create"
wait_for 10 "a virtual IP" eval '[ -n "$(vip 1)" ]'
cli 1 status | grep -q "From the package" || fail "lanrage status does not show the party"
echo PASS
