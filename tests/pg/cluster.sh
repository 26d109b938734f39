#!/bin/sh
# A throw-away PostgreSQL cluster for the tests (issue 14): its own folder, a loopback port, trust
# authentication for the superuser "linli" on 127.0.0.1 and the folder's socket only, stopped by
# its PID file. PostgreSQL will not run as root: as root the cluster belongs to the "postgres"
# user the Debian package creates.
#   cluster.sh start DIR PORT   initdb (first time) and start; prints the URL of database "linli"
#   cluster.sh stop DIR         stop it (fast shutdown)
#   cluster.sh createdb DIR PORT NAME   a fresh database NAME (dropped first if it exists)
set -e
BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
if [ ! -x "$BIN/pg_ctl" ]; then
	echo "cluster.sh: no PostgreSQL server found (apt-get install postgresql)" >&2
	exit 2
fi
as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}
cmd=$1
dir=$2
case "$dir" in
/*) ;;
*) dir=$PWD/$dir ;;
esac
cd / # the cluster's user may not enter the caller's folder
case "$cmd" in
start)
	port=$3
	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown postgres "$dir"
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		as_owner "$BIN/initdb" -D "$dir/data" -U linli --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
			{ cat "$dir/initdb.log" >&2; exit 1; }
	fi
	as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" start >/dev/null ||
		{ tail -n 20 "$dir/server.log" >&2; exit 1; }
	as_owner "$BIN/psql" -h 127.0.0.1 -p "$port" -U linli -d postgres -qAtc \
		"SELECT 1 FROM pg_database WHERE datname = 'linli'" | grep -q 1 ||
		as_owner "$BIN/createdb" -h 127.0.0.1 -p "$port" -U linli linli
	echo "postgresql://linli@127.0.0.1:$port/linli"
	;;
createdb)
	port=$3
	name=$4
	as_owner "$BIN/dropdb" -h 127.0.0.1 -p "$port" -U linli --if-exists "$name"
	as_owner "$BIN/createdb" -h 127.0.0.1 -p "$port" -U linli "$name"
	echo "postgresql://linli@127.0.0.1:$port/$name"
	;;
stop)
	[ -f "$dir/data/postmaster.pid" ] || exit 0
	as_owner "$BIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
	;;
*)
	echo "usage: cluster.sh start DIR PORT | createdb DIR PORT NAME | stop DIR" >&2
	exit 2
	;;
esac
