#!/bin/sh
# Text the running demo (`make run`) as NUMBER and print what the gateway answers that number
# (and, after it, what else it sent meanwhile: a dispatch to the grid worker, a notice).
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
# the number as the gateway writes it (E.164; a national 138... number is +86...)
case "$num" in
+*) dest=$num ;;
00*) dest=+${num#00} ;;
*) dest=+86$num ;;
esac
# whole messages only: the list up to its first message whose parts are not all out yet
whole() { "$B/modemsim-ctl" "$S" sent 2>/dev/null | awk -F'\t' '$3 ~ /\// { exit } { print }'; }
before=$(whole | wc -l)
"$B/modemsim-ctl" "$S" deliver "$num" "$*" >/dev/null
echo "sent to the gateway from $num: $*"
i=0
while [ $i -lt 60 ]; do
	[ -S "$S" ] || { echo "the demo stopped" >&2; exit 1; }
	new=$(whole | tail -n +$((before + 1)))
	if echo "$new" | awk -F'\t' -v d="$dest" '$2 == d { f = 1 } END { exit !f }'; then
		sleep 1 # what goes out with the reply (a dispatch) comes within the second
		whole | tail -n +$((before + 1)) | awk -F'\t' -v d="$dest" '
			$2 == d { print "reply to " $2 ": " $5; next }
			{ other[++n] = "also sent to " $2 ": " $5 }
			END { for (i = 1; i <= n; i++) print other[i] }'
		exit 0
	fi
	i=$((i + 1))
	sleep 0.5
done
echo "no reply to $dest within 30 s (a number the database does not know gets none; see linlid's log)"
