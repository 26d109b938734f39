#!/bin/sh
# Run each libFuzzer target for a bounded time and summarise (make fuzz):
#   sh tests/fuzz/run.sh BUILD SECONDS NAME...
# Each BUILD/NAME_fuzz starts from a fresh copy of tests/fuzz/corpus/NAME in BUILD/corpus/NAME (the
# tracked seeds are never written), logs to BUILD/logs/NAME.log and leaves a crashing input in
# BUILD/crashes/NAME/. BUILD/RESULTS.txt gets one row per target: the runs
# (stat::number_of_executed_units), the coverage of the last status line (cov: edges, ft:
# features), the corpus size and the crashes. Exits 1 when any target crashed or leaked.
BUILD=$1
S=$2
shift 2
cd "$(dirname "$0")/../.." || exit 1
out="$BUILD/RESULTS.txt"
failed=0
rows=""
for n in "$@"; do
	bin="$BUILD/${n}_fuzz"
	corpus="$BUILD/corpus/$n"
	crashes="$BUILD/crashes/$n"
	log="$BUILD/logs/$n.log"
	rm -rf "$corpus" "$crashes"
	mkdir -p "$corpus" "$crashes" "$BUILD/logs"
	cp tests/fuzz/corpus/"$n"/* "$corpus"/ 2>/dev/null
	echo "fuzz: $n for ${S}s"
	"$bin" -max_total_time="$S" -print_final_stats=1 -timeout=10 -artifact_prefix="$crashes/" \
		"$corpus" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	status=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
	cov=$(echo "$status" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$status" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	files=$(find "$corpus" -type f | wc -l)
	ncrash=$(find "$crashes" -type f | wc -l)
	where="-"
	if [ "$rc" != 0 ] || [ "$ncrash" != 0 ]; then
		failed=1
		where=$(find "$crashes" -type f | head -n 1)
		[ -n "$where" ] || where="$log (exit $rc)"
		echo "fuzz: $n CRASHED: $where (log: $log)"
		grep -m 3 -E '^SUMMARY|ERROR:' "$log" | sed 's/^/    /'
	fi
	rows="$rows$(printf '%-12s %10s %6s %7s %7s %7s  %s' "$n" "${runs:-?}" "${cov:-?}" "${ft:-?}" "$files" "$ncrash" "$where")
"
done
{
	echo "make fuzz: $(date -u '+%Y-%m-%d %H:%M UTC'), ${S} s per target, $(clang --version | head -n 1)"
	printf '%-12s %10s %6s %7s %7s %7s  %s\n' target runs cov ft corpus crashes input
	printf '%s' "$rows"
} >"$out"
cat "$out"
# the Fuzzing section of bench/RESULTS.md (kept by make bench)
{
	echo "Runs per target (libFuzzer's executed units), coverage (cov: edges, ft: features), corpus"
	echo "size and crashes, from $out (tests/fuzz/run.sh):"
	echo
	echo '```'
	cat "$out"
	echo '```'
} | python3 bench/results_section.py set bench/RESULTS.md "Fuzzing (the last \`make fuzz\` in this tree)"
exit $failed
