#!/bin/sh
# Text the running demo (`make run`) as NUMBER and print what the gateway answers.
#   sh scripts/text.sh +8613800138001 帮助
set -e
cd "$(dirname "$0")/.."
B=${BUILD:-build}
V=${LINLI_VAR:-var}
case "$V" in /*) ;; *) V=$PWD/$V ;; esac
S=$V/demo/modem.sock
[ $# -ge 2 ] || { echo "usage: $0 NUMBER TEXT..." >&2; exit 2; }
[ -S "$S" ] || { echo "the demo is not running: start it with 'make run' in another terminal" >&2; exit 1; }
num=$1
shift
before=$("$B/modemsim-ctl" "$S" sent | wc -l)
"$B/modemsim-ctl" "$S" deliver "$num" "$*" >/dev/null
echo "sent to the gateway from $num: $*"
i=0
while [ $i -lt 60 ]; do
	now=$("$B/modemsim-ctl" "$S" sent 2>/dev/null | wc -l) || true
	[ -S "$S" ] || { echo "the demo stopped" >&2; exit 1; }
	if [ "$now" -gt "$before" ]; then
		"$B/modemsim-ctl" "$S" sent | tail -n $((now - before)) | awk -F'\t' '{print "reply to " $2 ": " $5}'
		exit 0
	fi
	i=$((i + 1))
	sleep 0.5
done
echo "no reply within 30 s (a number the database does not know gets none; see linlid's log)"
