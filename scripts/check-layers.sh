#!/bin/sh
# The layers of linli, checked from the #include lines (make check-layers; part of make test):
#   util/             includes only util/ (UTF-8: every layer may include it)
#   modem/            includes only modem/ and util/
#   db/               includes only db/ and util/
#   gateway/core/     includes gateway/core/, db/, modem/, util/
#   gateway/FEATURE/  (sos, request, call, sip) includes its own folder, gateway/core/, db/, modem/, util/:
#                     features reach each other only through callbacks set in gateway/wire.c
#   gateway/*.c       (linlid, linlictl, wire) may include anything
# and, inside db/, that only db/db.c and db/db_backup.c call SQLite (sqlite3_*, SQLITE_*): the
# other db/*.c read rows through struct db_row and db_col_* (the way to a second engine, issue 14),
# and that only db/db_pg.c calls libpq (PostgreSQL: nothing outside it knows the engine).
# Prints every forbidden include as FILE:LINE: and exits 1 if there is one.
cd "$(dirname "$0")/.." || exit 2
for f in util/*.[ch] modem/*.[ch] db/*.[ch] gateway/*/*.[ch]; do
	[ -f "$f" ] || continue
	dir=$(dirname "$f")
	case "$dir" in
	util) allow="util/" ;;
	modem) allow="modem/ util/" ;;
	db) allow="db/ util/" ;;
	gateway/core) allow="gateway/core/ db/ modem/ util/" ;;
	gateway/*) allow="$dir/ gateway/core/ db/ modem/ util/" ;;
	*) continue ;;
	esac
	grep -n '^#include "' "$f" | while IFS= read -r line; do
		inc=$(echo "$line" | sed 's/^[0-9]*:#include "\([^"]*\)".*/\1/')
		ok=0
		for a in $allow; do
			case "$inc" in "$a"*) ok=1 ;; esac
		done
		[ $ok = 1 ] && continue
		echo "$f:${line%%:*}: $dir/ may not include $inc (allowed: $allow)"
		echo x >>"${TMPDIR:-/tmp}/check-layers.$$"
	done
done
for f in db/*.c; do
	case "$f" in db/db.c | db/db_backup.c) continue ;; esac
	grep -n 'sqlite3\|SQLITE_' "$f" | while IFS= read -r line; do
		echo "$f:${line%%:*}: only db/db.c and db/db_backup.c call SQLite (use struct db_row, db_col_*)"
		echo x >>"${TMPDIR:-/tmp}/check-layers.$$"
	done
done
for f in util/*.[ch] modem/*.[ch] db/*.[ch] gateway/*.[ch] gateway/*/*.[ch]; do
	[ -f "$f" ] || continue
	[ "$f" = db/db_pg.c ] && continue
	grep -n 'libpq-fe\.h\|\bPQ[a-z][A-Za-z]*(\|PGconn\|PGresult' "$f" | while IFS= read -r line; do
		echo "$f:${line%%:*}: only db/db_pg.c calls libpq"
		echo x >>"${TMPDIR:-/tmp}/check-layers.$$"
	done
done
if [ -s "${TMPDIR:-/tmp}/check-layers.$$" ]; then
	rm -f "${TMPDIR:-/tmp}/check-layers.$$"
	exit 1
fi
rm -f "${TMPDIR:-/tmp}/check-layers.$$"
echo "check-layers: modem, db, core and features keep to their layers"
