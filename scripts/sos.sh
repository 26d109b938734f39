#!/bin/sh
# With the demo running (`make run`): the demo watch (household 1-1-101, 邹丽) raises an SOS
# through the emulated modem; print the alerts as they go out to its contacts, then the first
# contact acknowledges with "1" and what goes out after it (the others told, the watch quieted).
#   sh scripts/sos.sh [WATCH]
set -e
cd "$(dirname "$0")/.."
B=${BUILD:-build}
V=${LINLI_VAR:-var}
S=$V/demo/modem.sock
DB=$V/linli.db
[ -S "$S" ] || { echo "the demo is not running: start it with 'make run' in another terminal" >&2; exit 1; }
WATCH=${1:-$(sqlite3 "$DB" "SELECT number FROM device ORDER BY id LIMIT 1")}
[ -n "$WATCH" ] || { echo "no watch in $DB (the demo adds one when it creates the database)" >&2; exit 1; }
CONTACT=$(sqlite3 "$DB" "SELECT p.number FROM binding b JOIN device d ON d.id = b.device_id
	JOIN phone p ON p.id = b.phone_id WHERE d.number = '$WATCH' AND b.state = 'approved'
	ORDER BY b.step, b.id LIMIT 1")
[ -n "$CONTACT" ] || { echo "watch $WATCH has no approved contact" >&2; exit 1; }
# what the gateway has sent, whole messages only: the list up to its first message whose parts
# are not all out yet ("k/total" in the third field)
whole() { "$B/modemsim-ctl" "$S" sent 2>/dev/null | awk -F'\t' '$3 ~ /\// { exit } { print }'; }
sent() { whole | wc -l; }
# print what the gateway sends after its first $1 messages, for at most $2 s, until one to $3
# goes out; prints the new count last (for the next call); 1 when none to $3 went out
follow() {
	from=$1 left=$(($2 * 2)) want=$3
	while [ $left -gt 0 ]; do
		now=$(sent)
		if [ "$now" -gt "$from" ]; then
			new=$(whole | tail -n $((now - from)))
			echo "$new" | awk -F'\t' '{print "  -> " $2 ": " $5}' >&2
			from=$now
			if [ -n "$want" ] && echo "$new" | awk -F'\t' -v w="$want" '$2 == w { f = 1 } END { exit !f }'; then
				echo "$from"
				return 0
			fi
		fi
		left=$((left - 1))
		sleep 0.5
	done
	echo "$from"
	[ -z "$want" ]
}
n0=$(sent)
# a TK-family watch's alarm (two lines, as the watch sends it)
TEXT="lat: 22.566923 long: 114.051331 speed:0.00 $(date +%d/%m/%y\ %H:%M) F:4.10V,1, Signal:F
help me! imei:359587011016261 05 41.9"
"$B/modemsim-ctl" "$S" deliver "$WATCH" "$TEXT" >/dev/null
echo "the watch $WATCH sent its SOS; the alerts going out:"
if ! n1=$(follow "$n0" 30 "$CONTACT"); then
	echo "no alert to $CONTACT within 30 s: see linlid's output and '$B/linlictl -d $DB incident list'" >&2
	exit 1
fi
n1=$(follow "$n1" 2 "")
echo "$CONTACT acknowledges: replies 1"
"$B/modemsim-ctl" "$S" deliver "$CONTACT" "1" >/dev/null
if ! follow "$n1" 30 "$CONTACT" >/dev/null; then
	echo "no confirmation to $CONTACT within 30 s" >&2
	exit 1
fi
ID=$(sqlite3 "$DB" "SELECT i.id FROM sos_incident i JOIN device d ON d.id = i.device_id WHERE d.number = '$WATCH'
	ORDER BY i.id DESC LIMIT 1")
echo "incident $ID:"
"$B/linlictl" -d "$DB" incident show "$ID" | sed 's/^/  /'
