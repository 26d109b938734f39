#!/bin/sh
# With the demo running (`make run`): the demo's first resident dials 6995 (through Kamailio,
# as a softphone would, scripts/demo_phones.py) and stays on the line for SECONDS; prints who
# joins as it happens and the call's legs at the end.
#   sh scripts/call.sh [SECONDS]
set -e
cd "$(dirname "$0")/.."
B=${BUILD:-build}
V=${LINLI_VAR:-var}
DB=$V/linli.db
[ -S "$V/demo/modem.sock" ] || { echo "the demo is not running: start it with 'make run' in another terminal" >&2; exit 1; }
N=$(sqlite3 "$DB" "SELECT number FROM phone WHERE role='resident' ORDER BY id LIMIT 1")
exec python3 scripts/demo_phones.py --proxy 127.0.0.1:${SIP_PORT:-5060} --db "$DB" --build "$B" call "$N" \
	--seconds "${1:-25}"
