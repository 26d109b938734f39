#!/bin/sh
# `make bench`: run every benchmark against the optimised build and write bench/RESULTS.md.
# Figures only, never pass/fail. Override sizes with AIRTIME_MS, PER_MODEM, ZERO_N, INBOUND_N, REQUEST_N,
# CONSOLE_REQUESTS, CONSOLE_S, PAINT_REPS, BROADCAST_HOUSEHOLDS, BROADCAST_MODEMS, BROADCAST_TRIALS,
# KILL_N, KILL_K, KILL_SEED, KILL_AIRTIME_MS (bench/NOTES.md has the defaults).
# BENCH_ONLY="smstools killloop ..." runs only those sections (inbound request drain sendpath smsd
# smstools rss sos console broadcast callsetup mixer killloop) and writes $B/RESULTS-only.md instead
# of bench/RESULTS.md (BENCH_OUT=FILE names another file).
# A benchmark that fails is named in RESULTS.md and makes this script exit 1 after writing it.
set -e
B=${1:-build/bench}
cd "$(dirname "$0")/.."
export LINLI_BUILD="$PWD/$B"
AIRTIME_MS=${AIRTIME_MS:-3000} # DOMAIN.md: a modem sends one part every ~2.5-4 s
PER_MODEM=${PER_MODEM:-15}     # parts per modem in each drain point (and for gammu-smsd at AIRTIME_MS)
PATH_PER_MODEM=${PATH_PER_MODEM:-10} # parts per modem in the send-path comparison (own AT+CMGS vs GSM_SendSMS)
ZERO_N=${ZERO_N:-40}           # parts of the zero-air-time runs (linlid's per-send cost, gammu-smsd)
INBOUND_N=${INBOUND_N:-50000}
REQUEST_N=${REQUEST_N:-20000}
CONSOLE_REQUESTS=${CONSOLE_REQUESTS:-100000} # requests in the console's database (issue 11)
CONSOLE_S=${CONSOLE_S:-5}                    # seconds each console path is asked
PAINT_REPS=${PAINT_REPS:-9}                  # page loads for the first paint (median)
BROADCAST_HOUSEHOLDS=${BROADCAST_HOUSEHOLDS:-5000} # the community a notice goes to (issue 12)
BROADCAST_MODEMS=${BROADCAST_MODEMS:-2}
BROADCAST_TRIALS=${BROADCAST_TRIALS:-3}      # SOS alarms idle, and as many while the notice drains
KILL_N=${KILL_N:-80}                         # the kill -9 loop (bench/killloop.py): messages queued
KILL_K=${KILL_K:-10}                         # kill -9 per tool
KILL_SEED=${KILL_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')} # printed in RESULTS.md
KILL_AIRTIME_MS=${KILL_AIRTIME_MS:-500}
BENCH_ONLY=${BENCH_ONLY:-}
if [ -n "$BENCH_ONLY" ]; then
	results=${BENCH_OUT:-$B/RESULTS-only.md}
else
	results=${BENCH_OUT:-bench/RESULTS.md}
fi
# what make fuzz and make soak wrote into the results file, kept when it is written anew
keep_fuzz=$(python3 bench/results_section.py get "$results" Fuzzing)
keep_soak=$(python3 bench/results_section.py get "$results" Soak)
[ -z "$keep_fuzz" ] || keep_fuzz="$keep_fuzz
"
[ -z "$keep_soak" ] || keep_soak="$keep_soak
"
out=$(mktemp)
one=$(mktemp)
failed=""
skipped=""
started=$(date -u +%Y-%m-%dT%H:%MZ)
load=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$(date +%s)

# step CMD...: run one benchmark, show and keep its lines; a failure is recorded, the rest go on
step() {
	echo "bench: $*" >&2
	if ! "$@" >"$one"; then
		failed="$failed
- \`$*\`"
		echo "bench: FAILED: $*" >&2
	fi
	cat "$one"
	cat "$one" >>"$out"
}
# only SECTION: true when BENCH_ONLY is empty or names SECTION
only() {
	[ -z "$BENCH_ONLY" ] && return 0
	case " $BENCH_ONLY " in
	*" $1 "*) return 0 ;;
	esac
	return 1
}
val() { awk -v k="$1" '$1 == k { print $2 }' "$out"; }
# ratio NAME A B UNIT: the line "NAME A/B UNIT" when both figures exist
ratio() {
	a=$(val "$2")
	b=$(val "$3")
	if [ -n "$a" ] && [ -n "$b" ]; then
		awk -v n="$1" -v a="$a" -v b="$b" -v u="$4" 'BEGIN { printf "%s %.3f %s\n", n, a / b, u }' | tee -a "$out"
	fi
}

# PostgreSQL next to SQLite in the same run (issue 14): request_bench and inbound_bench run again on
# a throw-away cluster (tests/pg/cluster.sh, a loopback port), stopped when this script ends
pgdir=""
if only inbound || only request; then
	pgdir=$(mktemp -d /tmp/linli-bench-pg-XXXXXX)
	chmod 755 "$pgdir"
	trap 'sh tests/pg/cluster.sh stop "$pgdir/c" >/dev/null 2>&1; rm -rf "$pgdir"' EXIT
	pgport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	if pgurl=$(sh tests/pg/cluster.sh start "$pgdir/c" "$pgport"); then
		export LINLI_BENCH_PG="${pgurl%/*}/postgres"
	else
		echo "bench: no PostgreSQL cluster: the pg_ rows are left out" >&2
	fi
fi
only inbound && step "$B/bench/inbound_bench" "$INBOUND_N"
ratio pg_vs_sqlite_pipeline_batch_100 pg_pipeline_batch_100 pipeline_batch_100 "PostgreSQL/SQLite inbound pipeline msg/s"
# requests (报事) created end to end, zero air time, against the bare inbox commit of the same messages
only request && step "$B/bench/request_bench" "$REQUEST_N"
only inbound && step python3 bench/modem_bench.py inbound 2000
if only drain; then
	# linlid's fixed cost of one send (its own AT+CMGS by default): a 1-modem drain at zero air time
	step python3 bench/modem_bench.py drain 1 0 "$ZERO_N"
	ovh=$(val drain_1modem_0ms_per_send)
	for n in 1 2 4 8; do
		step python3 bench/modem_bench.py drain $n "$AIRTIME_MS" "$PER_MODEM" $ovh
	done
fi
# the send path (issue 10), both in the same run: linli's own AT+CMGS and libgammu's GSM_SendSMS,
# drain as a fraction of capacity at AIRTIME_MS for 1 and 2 modems, the per-part overhead beyond the
# air time, and the fixed cost at zero air time
if only sendpath; then
	for p in own gammu; do
		step python3 bench/modem_bench.py drain 1 0 "$ZERO_N" 0 $p
		for n in 1 2; do
			step python3 bench/modem_bench.py drain $n "$AIRTIME_MS" "$PATH_PER_MODEM" 0 $p
		done
	done
	for n in 1 2; do
		ratio send_path_own_vs_gammu_${n}modem_${AIRTIME_MS}ms drain_own_${n}modem_${AIRTIME_MS}ms_rate \
			drain_gammu_${n}modem_${AIRTIME_MS}ms_rate "own AT+CMGS/GSM_SendSMS drain rate"
	done
fi
# the references need linlid's one-modem drains of the same run: measured here when the drain
# section is not run (BENCH_ONLY)
linlid_1modem() {
	[ -n "$(val drain_1modem_0ms_rate)" ] || step python3 bench/modem_bench.py drain 1 0 "$ZERO_N"
	[ -n "$(val drain_1modem_${AIRTIME_MS}ms_rate)" ] ||
		step python3 bench/modem_bench.py drain 1 "$AIRTIME_MS" "$PER_MODEM"
}
# the reference: the real gammu-smsd on one emulated modem, as installed and tuned
if only smsd; then
	linlid_1modem
	step python3 bench/smsd_ref.py "$ZERO_N" 0
	step python3 bench/smsd_ref.py "$PER_MODEM" "$AIRTIME_MS"
	for v in default tuned; do
		ratio linlid_vs_smsd_${v}_1modem_0ms drain_1modem_0ms_rate smsd_ref_1modem_0ms_${v}_rate \
			"linlid/gammu-smsd rate, one modem"
		ratio linlid_vs_smsd_${v}_1modem_${AIRTIME_MS}ms drain_1modem_${AIRTIME_MS}ms_rate \
			smsd_ref_1modem_${AIRTIME_MS}ms_${v}_rate "linlid/gammu-smsd rate, one modem"
	done
fi
# the second reference: smstools3 (its own AT code, bench/peers/smsd.conf) on the same emulator
if only smstools; then
	linlid_1modem
	step python3 bench/smstools_ref.py "$ZERO_N" 0
	step python3 bench/smstools_ref.py "$PER_MODEM" "$AIRTIME_MS"
	for t in 0 "$AIRTIME_MS"; do
		ratio linlid_vs_smstools_1modem_${t}ms drain_1modem_${t}ms_rate smstools_ref_1modem_${t}ms_rate \
			"linlid/smstools rate, one modem"
	done
fi
only rss && step python3 bench/modem_bench.py rss 4
# SOS latency (issue 4): +CMTI of the SOS to the first alert accepted, with and without a backlog
SOS_TRIALS=${SOS_TRIALS:-3}
if only sos; then
	for n in 1 4; do
		for bulk in 0 10000; do
			step python3 bench/sos_bench.py $n $bulk "$AIRTIME_MS" "$SOS_TRIALS"
		done
	done
fi
# the staff console (issue 11): the request list over HTTP against GET /api/v1/me, and the page's
# first paint in headless chromium against a one-line page, on CONSOLE_REQUESTS requests
only console && step python3 bench/console_bench.py api "$CONSOLE_REQUESTS" "$CONSOLE_S"
only console && step python3 bench/console_bench.py paint "$CONSOLE_REQUESTS" "$PAINT_REPS"
# a notice to everyone (issue 12): queued how fast, and the SOS latency while it drains against idle
only broadcast && step python3 bench/broadcast_bench.py "$BROADCAST_HOUSEHOLDS" "$BROADCAST_MODEMS" "$AIRTIME_MS" \
	"$BROADCAST_TRIALS"
# the 6995 group call's set-up (issue 5): caller's INVITE at Kamailio -> the nine neighbour INVITEs
# out, against one plain Kamailio relay measured in the same run (bench/callsetup.py)
only callsetup && step python3 bench/callsetup.py "${CALL_N:-20}"
# the kill -9 loop (issue 10): linlid, gammu-smsd and smstools on the same emulator, counted from
# what the modem saw; linlid with store-and-send too when its VTY knows the command
if only killloop; then
	step python3 bench/killloop.py --n "$KILL_N" --k "$KILL_K" --seed "$KILL_SEED" \
		--airtime-ms "$KILL_AIRTIME_MS" linlid gammu-smsd smstools
	if grep -q 'store-and-send' "$B/linlid"; then
		step python3 bench/killloop.py --n "$KILL_N" --k "$KILL_K" --seed "$KILL_SEED" \
			--airtime-ms "$KILL_AIRTIME_MS" --store-and-send linlid
	else
		echo "bench: killloop with store-and-send skipped: $B/linlid has no store-and-send command" >&2
		skipped="$skipped
- the kill -9 loop with \`store-and-send on\` (\`$B/linlid\` has no such command)"
	fi
fi
# the group call mixer (bench/mixer_bench.c): its own section of RESULTS.md
MIXER_S=${MIXER_S:-10}
mix=$(mktemp)
if only mixer; then
	echo "bench: $B/bench/mixer_bench $MIXER_S 50 10" >&2
	if ! "$B/bench/mixer_bench" "$MIXER_S" 50 10 >"$mix"; then
		failed="$failed
- \`$B/bench/mixer_bench $MIXER_S 50 10\`"
	fi
	cat "$mix"
fi
t_end=$(date +%s)

{
	echo "# linli benchmark results"
	echo
	echo "Written by \`make bench\` (bench/run.sh) on $started, in $(((t_end - t_start) / 60)) min."
	echo "Machine: $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); load average at the start $load."
	echo "Software: libgammu $(dpkg-query -W -f='${Version}' libgammu8 2>/dev/null || echo '?'), gammu-smsd $(dpkg-query -W -f='${Version}' gammu-smsd 2>/dev/null || echo 'not installed'), smstools $(dpkg-query -W -f='${Version}' smstools 2>/dev/null || echo 'not installed'), SQLite $(sqlite3 --version 2>/dev/null | cut -d' ' -f1)."
	echo "Command: \`make bench\` (AIRTIME_MS=$AIRTIME_MS PER_MODEM=$PER_MODEM PATH_PER_MODEM=$PATH_PER_MODEM ZERO_N=$ZERO_N INBOUND_N=$INBOUND_N REQUEST_N=$REQUEST_N CONSOLE_REQUESTS=$CONSOLE_REQUESTS CONSOLE_S=$CONSOLE_S PAINT_REPS=$PAINT_REPS BROADCAST_HOUSEHOLDS=$BROADCAST_HOUSEHOLDS BROADCAST_MODEMS=$BROADCAST_MODEMS BROADCAST_TRIALS=$BROADCAST_TRIALS KILL_N=$KILL_N KILL_K=$KILL_K KILL_SEED=$KILL_SEED KILL_AIRTIME_MS=$KILL_AIRTIME_MS${BENCH_ONLY:+ BENCH_ONLY=\"$BENCH_ONLY\"})."
	if [ -n "$failed" ]; then
		echo
		echo "**Failed** (their figures are missing):$failed"
	fi
	if [ -n "$skipped" ]; then
		echo
		echo "Skipped:$skipped"
	fi
	echo
	echo "| figure | value | unit |"
	echo "| --- | --- | --- |"
	awk '{ v=$2; $1=$1; name=$1; $1=""; $2=""; sub(/^ +/, ""); printf "| %s | %s | %s |\n", name, v, $0 }' "$out"
	echo
	cat bench/NOTES.md
	if [ -s "$mix" ]; then
		echo
		echo "## Group call mixer"
		echo
		echo "\`$B/bench/mixer_bench $MIXER_S 50 10\`: 50 concurrent conferences of 10 parties, every party a"
		echo "loopback RTP peer (in a child process) sending a 20 ms PCMU frame every 20 ms, for $MIXER_S s;"
		echo "CPU of the mixer's process (user + system) as a fraction of one core, with the references"
		echo "measured in the same run."
		echo
		echo "| figure | value | unit |"
		echo "| --- | --- | --- |"
		awk '{ v=$2; $1=$1; name=$1; $1=""; $2=""; sub(/^ +/, ""); printf "| %s | %s | %s |\n", name, v, $0 }' "$mix"
		echo
		echo "\`_vs_1x10\` is the cost of 50 conferences over the cost of one (50 if it grew linearly: it grows"
		echo "less, the loop's fixed cost is shared); \`_vs_compute\` is the whole over the bare G.711"
		echo "arithmetic: most of the time goes to one sendto and one recvfrom per packet and the poll loop;"
		echo "\`_delivered\` checks that the peers got every packet the mixer owed them."
	fi
	# the sections `make fuzz` and `make soak` wrote (tests/fuzz/run.sh, tests/soak/soak.py): kept
	printf '%s' "$keep_fuzz"
	printf '%s' "$keep_soak"
} >"$results"
rm -f "$out" "$one" "$mix"
echo "wrote $results"
[ -z "$failed" ]
