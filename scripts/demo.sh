#!/bin/sh
# `make run`: the gateway on its embedded default. A SQLite file under var/ seeded with the
# sample community (etc/sample), one emulated modem (tests/modemsim) on a pseudo-terminal,
# Kamailio with routes/kamailio.cfg on 127.0.0.1:5060 (when installed), and linlid in the
# foreground, with a few emulated neighbours of the first resident's group that answer the 6995
# group call (scripts/demo_phones.py). Ctrl-C stops them all.
#
# Where it keeps its files and which loopback ports it uses can be changed (the end-to-end test
# tests/e2e/test_demo.py runs it on free ports in a temporary folder):
#   LINLI_VAR=var SIP_PORT=5060 EVAPI_PORT=8448 UA_PORT=5070 VTY_PORT=4290 CTRL_PORT=4291 HTTP_PORT=8080
set -e
cd "$(dirname "$0")/.."
B=${BUILD:-build}
V=${LINLI_VAR:-var}
DB=$V/linli.db
D=$V/demo
SIP_PORT=${SIP_PORT:-5060}
EVAPI_PORT=${EVAPI_PORT:-8448}
UA_PORT=${UA_PORT:-5070}
VTY_PORT=${VTY_PORT:-4290}
CTRL_PORT=${CTRL_PORT:-4291}
HTTP_PORT=${HTTP_PORT:-8080}
mkdir -p "$D"
case "$V" in /*) ;; *) V=$PWD/$V DB=$PWD/$DB D=$PWD/$D ;; esac
# the demo watch of household 1-1-101 (邹丽) and its two family contacts, bound and approved:
# scripts/sos.sh makes it raise an SOS (added to an older var/linli.db too)
WATCH=+8613912340001
FAMILY="+8613700000001 +8613700000002"
if [ ! -f "$DB" ]; then
	"$B/linlictl" -d "$DB" import-all etc/sample
fi
if [ -z "$(sqlite3 "$DB" "SELECT 1 FROM device WHERE number = '$WATCH'")" ]; then
	"$B/linlictl" -d "$DB" device add $WATCH --household 1-1-101 --person 邹丽 --dialect tk >/dev/null
	for f in $FAMILY; do
		"$B/linlictl" -d "$DB" bind add $WATCH "$f" --step 1 >/dev/null
		"$B/linlictl" -d "$DB" bind approve $WATCH "$f" >/dev/null
	done
fi
rm -f "$D/modem.sock" "$D/modem.tty"
"$B/modemsim" --link "$D/modem.tty" --ctl "$D/modem.sock" --airtime-ms 500 --name demo \
	>"$D/modemsim.out" 2>"$D/modemsim.log" &
SIM=$!
KAM=
NB=
LID=
trap 'kill $LID $NB $SIM $KAM 2>/dev/null; wait $LID $NB $SIM $KAM 2>/dev/null' EXIT
trap 'exit 0' INT TERM
i=0
until grep -q ready "$D/modemsim.out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 100 ] && { echo "modemsim did not start; see $D/modemsim.log" >&2; exit 1; }
	sleep 0.1
done
# Kamailio at the SIP edge: SIP 127.0.0.1:5060, evapi 127.0.0.1:8448 for linlid, the group call
# to linlid's user agent at 127.0.0.1:5070. The first resident and the other households of its
# group get SIP accounts (password demo): the resident for a softphone, the others for the
# emulated neighbours.
N=$(sqlite3 "$DB" "SELECT number FROM phone WHERE role='resident' ORDER BY id LIMIT 1")
# its group's other households: their primary phones, in household order
NEIGHBOURS=$(sqlite3 "$DB" "SELECT p.number FROM household h JOIN phone p ON p.id = h.primary_phone_id
	WHERE h.grp_id = (SELECT h2.grp_id FROM phone p2 JOIN household h2 ON h2.id = p2.household_id
	WHERE p2.number = '$N') AND p.number <> '$N' ORDER BY h.id")
EVAPI=
if command -v kamailio >/dev/null 2>&1 || [ -x /usr/sbin/kamailio ]; then
	"$B/linlictl" -d "$DB" stats >/dev/null # brings an older file to the current schema
	for n in $N $NEIGHBOURS; do
		sqlite3 "$DB" "INSERT OR REPLACE INTO subscriber (username, domain, password) VALUES ('$n', '', 'demo');"
	done
	sqlite3 "$DB" "DELETE FROM address WHERE grp = 2 AND tag = 'linli';
		INSERT INTO address (grp, ip_addr, port, tag) VALUES (2, '127.0.0.1', $UA_PORT, 'linli');"
	mkdir -p "$D/kamailio"
	# the evapi secret: Kamailio takes it from its environment, linlid from its config (mode 600)
	SECRET=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
	LINLI_EVAPI_SECRET=$SECRET PATH="$PATH:/usr/sbin" kamailio -f routes/kamailio.cfg -DD -E -m 64 -M 8 -Y "$D/kamailio" \
		-P "$D/kamailio/kamailio.pid" --substdef="!DBFILE!$DB!g" -A SIP_PORT=$SIP_PORT \
		-A "EVAPI_BIND=\"127.0.0.1:$EVAPI_PORT\"" -A "LINLI_UA=\"127.0.0.1:$UA_PORT\"" \
		-A 'SHORT_CODE="6995"' -A 'VOICE_CODE="6996"' \
		>"$D/kamailio.log" 2>&1 &
	KAM=$!
	# linlid would connect at once and retry; wait (5 s at most) until Kamailio's evapi listens
	i=0
	until python3 -c 'import socket; socket.create_connection(("127.0.0.1", '$EVAPI_PORT'), 0.2).close()' 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 50 ] || ! kill -0 $KAM 2>/dev/null; then
			echo "Kamailio is not listening yet; see $D/kamailio.log (linlid keeps retrying)" >&2
			break
		fi
		sleep 0.1
	done
	EVAPI=" evapi 127.0.0.1 $EVAPI_PORT
 evapi-secret $SECRET
 sip-bind 127.0.0.1 $UA_PORT
 sip-proxy 127.0.0.1 $SIP_PORT
 voice-code 6996
 recordings-dir $V/recordings
 prompts-dir $PWD/$B/prompts"
	# the neighbours: two answer and press 1 and speak, one answers and never presses 1 (a
	# voicemail), the rest ring and never answer; log in $D/neighbours.log
	set -- $NEIGHBOURS
	SPECS=
	i=0
	for n in "$@"; do
		case $i in 0 | 1) m=join ;; 2) m=voicemail ;; *) m=noanswer ;; esac
		SPECS="$SPECS $n:$m"
		i=$((i + 1))
	done
	if [ -n "$SPECS" ]; then
		python3 scripts/demo_phones.py --proxy 127.0.0.1:$SIP_PORT --db "$DB" --build "$B" neighbours $SPECS \
			>"$D/neighbours.log" 2>&1 &
		NB=$!
	fi
else
	echo "kamailio is not installed: running without the SIP side" >&2
fi
# the VTY's password, made once and kept (mode 600): `write`, `rules-file` and `sms send` are
# not for every local user
if [ ! -s "$D/vty-password" ]; then
	(umask 077 && od -An -tx1 -N8 /dev/urandom | tr -d ' \n' >"$D/vty-password")
fi
VTYPW=$(cat "$D/vty-password")
rm -f "$D/linlid.cfg"
(umask 077 && : >"$D/linlid.cfg")
cat >>"$D/linlid.cfg" <<CFG
password $VTYPW
enable password $VTYPW
log stderr
 logging filter all 1
 logging color 1
 logging print category 1
 logging timestamp 1
 logging level set-all notice
 logging level sms info
 logging level rt info
line vty
 bind 127.0.0.1 $VTY_PORT
 login
gateway
 database $DB
 ctrl-bind 127.0.0.1 $CTRL_PORT
 help-interval 60
 rules-file $PWD/routes/sms.rules
 http-bind 127.0.0.1 $HTTP_PORT
 http-root $PWD/www
$EVAPI
modem demo
 device $D/modem.tty
 connection at
 poll-interval 10
 health-interval 10
CFG
cat <<MSG

linli demo: linlid with one emulated modem and the sample community ($DB).
In another terminal, text the gateway as resident $N and read its answer:

  sh scripts/text.sh $N 帮助        # deliver an SMS to the emulated modem, wait, print the reply
  sh scripts/sos.sh                             # the demo watch raises an SOS: the alerts and the
                                                # acknowledgement, as they go out
  sh scripts/call.sh                            # $N dials 6995: who joins the group call
  $B/modemsim-ctl $D/modem.sock sent      # everything the gateway has sent
  telnet 127.0.0.1 $VTY_PORT                         # VTY: show modems, show queue, show calls
                                                # (password, also for enable: $D/vty-password)
  $B/linlictl -d $DB sms in            # what was received

SIP (Kamailio on 127.0.0.1:$SIP_PORT, log $D/kamailio.log): a softphone registers as $N,
password demo, and texts sip:linli@127.0.0.1 (e.g. 报事 楼道灯坏了); the answer comes back as
a SIP MESSAGE. Dialling 6995 from it starts the group call: linlid's user agent on
127.0.0.1:$UA_PORT rings the other households of its group through Kamailio; two emulated
neighbours answer, press 1 and speak, one answers and never presses 1, the others do not
answer ($D/neighbours.log). Dialling 6996 is the voice line: after the prompt and the beep,
say what is wrong and hang up (or press #); the recording becomes a request ($V/recordings/),
the grid worker is texted and the staff console plays it.

The staff console: make a token once (it is printed once), then open http://127.0.0.1:$HTTP_PORT/
and log in with it, or call the API (docs/console-api.md) with it:

  $B/linlictl -d $DB token create 13900139101 --role operator
  curl -H "Authorization: Bearer TOKEN" http://127.0.0.1:$HTTP_PORT/api/v1/modems

Ctrl-C stops the gateway.

MSG
"$B/linlid" -c "$D/linlid.cfg" &
LID=$!
wait $LID
