#!/bin/sh
# `make run`: the gateway on its embedded default. A SQLite file under var/ seeded with the
# sample community (etc/sample), one emulated modem (tests/modemsim) on a pseudo-terminal,
# Kamailio with routes/kamailio.cfg on 127.0.0.1:5060 (when installed), and linlid in the
# foreground. Ctrl-C stops them all.
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
KAM=
trap 'kill $SIM $KAM 2>/dev/null; wait $SIM $KAM 2>/dev/null' EXIT INT TERM
i=0
until grep -q ready "$D/modemsim.out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 100 ] && { echo "modemsim did not start; see $D/modemsim.log" >&2; exit 1; }
	sleep 0.1
done
# Kamailio at the SIP edge: SIP 127.0.0.1:5060, evapi 127.0.0.1:8448 for linlid, the group call
# to linlid's user agent at 127.0.0.1:5070. The first resident gets a SIP account (password demo).
N=$(sqlite3 var/linli.db "SELECT number FROM phone WHERE role='resident' ORDER BY id LIMIT 1")
EVAPI=
if command -v kamailio >/dev/null 2>&1 || [ -x /usr/sbin/kamailio ]; then
	"$B/linlictl" -d var/linli.db stats >/dev/null # brings an older file to the current schema
	sqlite3 var/linli.db "INSERT OR REPLACE INTO subscriber (username, domain, password) VALUES ('$N', '', 'demo');
		INSERT INTO address (grp, ip_addr, port, tag) SELECT 2, '127.0.0.1', 5070, 'linli'
		WHERE NOT EXISTS (SELECT 1 FROM address WHERE grp = 2);"
	mkdir -p "$D/kamailio"
	# the evapi secret: Kamailio takes it from its environment, linlid from its config (mode 600)
	SECRET=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
	LINLI_EVAPI_SECRET=$SECRET PATH="$PATH:/usr/sbin" kamailio -f routes/kamailio.cfg -DD -E -m 64 -M 8 -Y "$PWD/$D/kamailio" \
		-P "$PWD/$D/kamailio/kamailio.pid" --substdef="!DBFILE!$PWD/var/linli.db!g" \
		>"$D/kamailio.log" 2>&1 &
	KAM=$!
	# linlid would connect at once and retry; wait (5 s at most) until Kamailio's evapi listens
	i=0
	until python3 -c 'import socket; socket.create_connection(("127.0.0.1", 8448), 0.2).close()' 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 50 ] || ! kill -0 $KAM 2>/dev/null; then
			echo "Kamailio is not listening yet; see $D/kamailio.log (linlid keeps retrying)" >&2
			break
		fi
		sleep 0.1
	done
	EVAPI=" evapi 127.0.0.1 8448
 evapi-secret $SECRET
 sip-bind 127.0.0.1 5070
 sip-proxy 127.0.0.1 5060
 prompts-dir $PWD/$B/prompts"
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
 bind 127.0.0.1 4290
 login
gateway
 database $PWD/var/linli.db
 ctrl-bind 127.0.0.1 4291
 help-interval 60
 rules-file $PWD/routes/sms.rules
 http-bind 127.0.0.1 8080
 http-root $PWD/www
$EVAPI
modem demo
 device $PWD/$D/modem.tty
 connection at
 poll-interval 10
 health-interval 10
CFG
cat <<MSG

linli demo: linlid with one emulated modem and the sample community (var/linli.db).
In another terminal, text the gateway as resident $N and read its answer:

  sh scripts/text.sh $N 帮助        # deliver an SMS to the emulated modem, wait, print the reply
  $B/modemsim-ctl $PWD/$D/modem.sock sent      # everything the gateway has sent
  telnet 127.0.0.1 4290                         # VTY: show modems, show queue, show sms in
                                                # (password, also for enable: $D/vty-password)
  $B/linlictl -d var/linli.db sms in            # what was received

SIP (Kamailio on 127.0.0.1:5060, log $D/kamailio.log): a softphone registers as $N,
password demo, and texts sip:linli@127.0.0.1 (e.g. 报事 楼道灯坏了); the answer comes back as
a SIP MESSAGE. Dialling 6995 from it starts the group call (linlid's user agent on
127.0.0.1:5070 rings the other households of its group through Kamailio).

The staff console: make a token once (it is printed once), then open http://127.0.0.1:8080/
and log in with it, or call the API (docs/console-api.md) with it:

  $B/linlictl -d var/linli.db token create 13900139101 --role operator
  curl -H "Authorization: Bearer TOKEN" http://127.0.0.1:8080/api/v1/modems

Ctrl-C stops the gateway.

MSG
"$B/linlid" -c "$D/linlid.cfg"
