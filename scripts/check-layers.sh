#!/bin/sh
# The layers of linli, checked from the #include lines (make check-layers; part of make test):
#   modem/            includes only modem/
#   db/               includes only db/
#   gateway/core/     includes gateway/core/, db/, modem/
#   gateway/FEATURE/  (sos, request, call, sip) includes its own folder, gateway/core/, db/, modem/:
#                     features reach each other only through callbacks set in gateway/wire.c
#   gateway/*.c       (linlid, linlictl, wire) may include anything
# Prints every forbidden include as FILE:LINE: and exits 1 if there is one.
cd "$(dirname "$0")/.." || exit 2
for f in modem/*.[ch] db/*.[ch] gateway/*/*.[ch]; do
	[ -f "$f" ] || continue
	dir=$(dirname "$f")
	case "$dir" in
	modem) allow="modem/" ;;
	db) allow="db/" ;;
	gateway/core) allow="gateway/core/ db/ modem/" ;;
	gateway/*) allow="$dir/ gateway/core/ db/ modem/" ;;
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
if [ -s "${TMPDIR:-/tmp}/check-layers.$$" ]; then
	rm -f "${TMPDIR:-/tmp}/check-layers.$$"
	exit 1
fi
rm -f "${TMPDIR:-/tmp}/check-layers.$$"
echo "check-layers: modem, db, core and features keep to their layers"
