#!/usr/bin/env bash
# Runs the control API tests (test_control_api) against one backend.
#   run.sh sqlite     TEST_BINARY SERVER_BINARY
#   run.sh postgresql TEST_BINARY SERVER_BINARY
# For postgresql it makes a private cluster (initdb in a temp dir owned by the
# postgres user, listening only on a unix socket in that dir), runs the tests
# against it, and stops it by its PID (pg_ctl reads postmaster.pid) on exit.
set -euo pipefail
backend=$1
test_bin=$2
export LANRAGE_CONTROL=$3

scratch=$(mktemp -d /tmp/lanrage-control-test-XXXXXX)
pgdir=""
cleanup() {
	if [ -n "$pgdir" ] && [ -f "$pgdir/data/postmaster.pid" ]; then
		runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1 || true
	fi
	[ -n "$pgdir" ] && rm -rf "$pgdir"
	rm -rf "$scratch"
}
trap cleanup EXIT
export TMPDIR=$scratch

case $backend in
sqlite)
	export LANRAGE_TEST_DB=sqlite
	;;
postgresql)
	pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
	pgdir=$(mktemp -d /tmp/lanrage-pg-XXXXXX)
	chown postgres: "$pgdir"
	runuser -u postgres -- "$pgbin/initdb" -D "$pgdir/data" -A trust -U postgres --no-sync \
		>"$pgdir/initdb.log" 2>&1 || { cat "$pgdir/initdb.log"; exit 1; }
	# No TCP at all; the socket lives in our own directory, so no port can collide.
	runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/postgres.log" -w -t 60 \
		-o "-c listen_addresses='' -k $pgdir -p 5432 -c max_connections=100" start >/dev/null ||
		{ cat "$pgdir/postgres.log"; exit 1; }
	export LANRAGE_TEST_DB="postgresql://postgres@/postgres?host=$pgdir&port=5432"
	;;
*)
	echo "run.sh: unknown backend $backend" >&2
	exit 2
	;;
esac

set +e
"$test_bin"
rc=$?
if [ $rc -ne 0 ]; then
	for log in "$scratch"/lanrage-control-*/server.log; do
		[ -f "$log" ] || continue
		echo "---- $log (last lines)"
		tail -n 30 "$log"
	done
fi
exit $rc
