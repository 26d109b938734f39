#!/bin/sh
# `make run`: the gateway on its embedded default. A SQLite file under var/ seeded with the
# sample community (etc/sample), one emulated modem (tests/modemsim) on a pseudo-terminal,
# and linlid in the foreground. Ctrl-C stops both.
set -e
cd "$(dirname "$0")/.."
B=${BUILD:-build}
D=var/demo
mkdir -p "$D"
if [ ! -f var/linli.db ]; then
	"$B/linlictl" -d var/linli.db import-all etc/sample
fi
rm -f "$D/modem.sock" "$D/modem.tty"
"$B/modemsim" --link "$PWD/$D/modem.tty" --ctl "$PWD/$D/modem.sock" --airtime-ms 500 --name demo \
	>"$D/modemsim.out" 2>"$D/modemsim.log" &
SIM=$!
trap 'kill $SIM 2>/dev/null; wait $SIM 2>/dev/null' EXIT INT TERM
i=0
until grep -q ready "$D/modemsim.out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 100 ] && { echo "modemsim did not start; see $D/modemsim.log" >&2; exit 1; }
	sleep 0.1
done
cat >"$D/linlid.cfg" <<CFG
log stderr
 logging filter all 1
 logging color 1
 logging print category 1
 logging timestamp 1
 logging level set-all notice
 logging level sms info
 logging level rt info
line vty
 bind 127.0.0.1 4290
gateway
 database $PWD/var/linli.db
 ctrl-bind 127.0.0.1 4291
 help-interval 60
 rules-file $PWD/routes/sms.rules
modem demo
 device $PWD/$D/modem.tty
 connection at
 poll-interval 10
 health-interval 10
CFG
N=$(sqlite3 var/linli.db "SELECT number FROM phone WHERE role='resident' ORDER BY id LIMIT 1")
cat <<MSG

linli demo: linlid with one emulated modem and the sample community (var/linli.db).
In another terminal, text the gateway as resident $N and read its answer:

  sh scripts/text.sh $N 帮助        # deliver an SMS to the emulated modem, wait, print the reply
  $B/modemsim-ctl $PWD/$D/modem.sock sent      # everything the gateway has sent
  telnet 127.0.0.1 4290                         # VTY: show modems, show queue, show sms in
  $B/linlictl -d var/linli.db sms in            # what was received

Ctrl-C stops the gateway.

MSG
"$B/linlid" -c "$D/linlid.cfg"
