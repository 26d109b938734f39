#!/bin/sh
# The test runner: every unit program in BUILD/unit, then every end-to-end test in tests/e2e.
# A unit test passes when it exits 0 (and, if tests/unit/NAME.ok exists, its stdout matches it).
# Ends with the line "N passed, N failed".
BUILD=${1:-build}
cd "$(dirname "$0")/.." || exit 1
export LINLI_BUILD="$PWD/$BUILD"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
pass=0
fail=0
failed=""
logdir="$BUILD/test-logs"
mkdir -p "$logdir"
run_one() {
	name=$1
	shift
	start=$(date +%s)
	if "$@" >"$logdir/$name.out" 2>"$logdir/$name.err"; then
		ok=1
		if [ -f "tests/unit/$name.ok" ] && ! diff -u "tests/unit/$name.ok" "$logdir/$name.out" >"$logdir/$name.diff"; then
			ok=0
			cat "$logdir/$name.diff"
		fi
	else
		ok=0
	fi
	t=$(($(date +%s) - start))
	if [ $ok = 1 ]; then
		pass=$((pass + 1))
		echo "PASS $name (${t}s)"
	else
		fail=$((fail + 1))
		failed="$failed $name"
		echo "FAIL $name (${t}s)"
		# the failed checks first (they may be far from the end of a long log), then the end
		grep -E '^(FAIL|Traceback)' "$logdir/$name.out" | head -n 20 | sed 's/^/    failed check: /'
		tail -n 30 "$logdir/$name.out" "$logdir/$name.err" | sed 's/^/    /'
	fi
}
only=${LINLI_TESTS:-}
for t in "$BUILD"/unit/*_test; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	[ -n "$only" ] && ! echo "$n" | grep -qE "$only" && continue
	run_one "$n" "$t"
done
# The database's unit tests, and the end-to-end tests whose checks read the database through
# linli.py, again on PostgreSQL (issue 14): each on a fresh database of a throw-away cluster of this
# run (tests/pg/cluster.sh: a temporary folder, a loopback port), stopped at the end. The others
# need the SQLite file itself: test_authz (the file's permissions), test_backup (SQLite's online
# backup), test_db_faults (faults of the file), test_demo (make run's default). tests/e2e/test_pg.py
# and test_district.py make clusters of their own.
PG_UNITS="db_test csv_test call_test http_test notice_test request_extend_test request_http_test \
request_rules_test sos_db_test sos_rules_test"
PG_E2E="test_request test_sos test_sos_escalation test_sos_crash test_crash test_outbound test_inbound \
test_extend test_memo test_open311 test_http test_http_sos test_watch_silent test_locate test_flood test_sip_message \
test_group_call test_broadcast test_errand test_http_requests test_ring test_sos_bulk test_sos_call test_sos_wearer \
test_voice test_vty_auth test_sip_security test_send_path test_store_send test_console_browser test_rtp test_faults \
test_modem_storms test_kamailio_restart test_kill_loop"
# pg_selected TEST FILE: TEST runs again as TEST_pg (its FILE exists, LINLI_TESTS lets it)
pg_selected() {
	[ -e "$2" ] && { [ -z "$only" ] || echo "${1}_pg" | grep -qE "$only"; }
}
pg_units=""
for n in $PG_UNITS; do
	pg_selected "$n" "$BUILD/unit/$n" && pg_units="$pg_units $n"
done
pg_e2e=""
for n in $PG_E2E; do
	pg_selected "$n" "tests/e2e/$n.py" && pg_e2e="$pg_e2e $n"
done
pgurl=""
pgdir=""
if [ -n "$pg_units$pg_e2e" ]; then
	pgdir=$(mktemp -d /tmp/linli-pg-XXXXXX)
	chmod 755 "$pgdir"
	trap 'sh tests/pg/cluster.sh stop "$pgdir/c" >/dev/null 2>&1; rm -rf "$pgdir"' EXIT
	pgport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	if pgurl=$(sh tests/pg/cluster.sh start "$pgdir/c" "$pgport" 2>"$logdir/pg_cluster.err"); then
		for n in $pg_units; do
			LINLI_TEST_PG="${pgurl%/*}/postgres" run_one "${n}_pg" "$BUILD/unit/$n"
		done
	else
		pgurl=""
		fail=$((fail + 1))
		failed="$failed pg_cluster"
		echo "FAIL pg_cluster (no PostgreSQL cluster for the _pg tests)"
		sed 's/^/    /' "$logdir/pg_cluster.err"
	fi
fi
for t in tests/e2e/test_*.py; do
	[ -f "$t" ] || continue
	n=$(basename "$t" .py)
	[ -n "$only" ] && ! echo "$n" | grep -qE "$only" && continue
	run_one "$n" timeout -k 30 ${LINLI_E2E_TIMEOUT:-1500} python3 "$t"
done
if [ -n "$pgurl" ]; then
	for n in $pg_e2e; do
		LINLI_E2E_PG="${pgurl%/*}/postgres" run_one "${n}_pg" timeout -k 30 ${LINLI_E2E_TIMEOUT:-1500} \
			python3 "tests/e2e/$n.py"
	done
fi
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
