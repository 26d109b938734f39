#!/bin/sh
# `make bench`: run every benchmark against the optimised build and write bench/RESULTS.md.
# Figures only, never pass/fail. Override sizes with AIRTIME_MS, PER_MODEM, INBOUND_N.
set -e
B=${1:-build/bench}
cd "$(dirname "$0")/.."
export LINLI_BUILD="$PWD/$B"
AIRTIME_MS=${AIRTIME_MS:-1000}
PER_MODEM=${PER_MODEM:-40}
INBOUND_N=${INBOUND_N:-50000}
out=$(mktemp)
{
	"$B/bench/inbound_bench" "$INBOUND_N"
	python3 bench/modem_bench.py inbound 2000
	for n in 1 2 4 8; do
		python3 bench/modem_bench.py drain $n "$AIRTIME_MS" "$PER_MODEM"
	done
	python3 bench/modem_bench.py rss 4
} | tee "$out"
{
	echo "# linli benchmark results"
	echo
	echo "Written by \`make bench\` (bench/run.sh) on $(date -u +%Y-%m-%dT%H:%MZ)."
	echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)."
	echo "Command: \`make bench\` (AIRTIME_MS=$AIRTIME_MS PER_MODEM=$PER_MODEM INBOUND_N=$INBOUND_N)."
	echo
	echo "| figure | value | unit |"
	echo "| --- | --- | --- |"
	awk '{ v=$2; $1=$1; name=$1; $1=""; $2=""; sub(/^ +/, ""); printf "| %s | %s | %s |\n", name, v, $0 }' "$out"
	echo
	cat bench/NOTES.md
} > bench/RESULTS.md
rm -f "$out"
echo "wrote bench/RESULTS.md"
