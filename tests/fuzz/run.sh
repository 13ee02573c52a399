#!/usr/bin/env bash
# Runs libFuzzer targets (what `make fuzz` and `make check` call):
#
#   tests/fuzz/run.sh build-fuzz/fuzz_yaml [build-fuzz/fuzz_config ...]
#   tests/fuzz/run.sh --check build-fuzz/fuzz_yaml ...
#
# Each target runs FUZZ_SECONDS seconds (default 20) on a copy of its seed
# corpus, tests/fuzz/corpus/<target>/ (<target> = the binary's name, e.g.
# fuzz_yaml), so the tree stays clean; tests/fuzz/corpus/<target>.dict is
# used as a dictionary when present. A crash, leak or timeout makes the
# script exit non-zero; the input that caused it is kept in
# build-fuzz/artifacts/<target>/ to reproduce with `build-fuzz/<target> FILE`.
#
# --check (make check's short run, through tests/run.sh fuzz): every seed of
# the corpus, then FUZZ_CHECK_SECONDS (default 3) of fuzzing, two targets at
# a time; one line per target, "fuzz  NAME  1 passed, 0 failed" (or 0, 1),
# in tests/run.sh's accounting.
set -u
cd "$(dirname "$0")/../.."
check=0
if [ "${1:-}" = --check ]; then
	check=1
	shift
fi
secs=${FUZZ_SECONDS:-20}
[ $check -eq 1 ] && secs=${FUZZ_CHECK_SECONDS:-3}
if [ $# -eq 0 ]; then
	echo "usage: tests/fuzz/run.sh [--check] FUZZ_BINARY..." >&2
	exit 2
fi
tmp=$(mktemp -d /tmp/pt-fuzz.XXXXXX)
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT

# One target: its report into $tmp/NAME.res, its status into $tmp/NAME.rc.
run_one() {
	local bin=$1 name corpus art log rc runs cov opts
	name=$(basename "$bin")
	if [ ! -x "$bin" ]; then
		echo "fuzz $name: $bin is not an executable (did it build? build-fuzz/build.log)" >"$tmp/$name.res"
		echo 1 >"$tmp/$name.rc"
		return
	fi
	corpus="$tmp/$name/corpus"
	art="build-fuzz/artifacts/$name"
	mkdir -p "$corpus" "$art"
	if [ -d "tests/fuzz/corpus/$name" ]; then
		cp -R "tests/fuzz/corpus/$name/." "$corpus/"
	fi
	opts=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536
	      -print_final_stats=1 -close_fd_mask=3 -artifact_prefix="$art/")
	[ -f "tests/fuzz/corpus/$name.dict" ] && opts+=(-dict="tests/fuzz/corpus/$name.dict")
	log="$tmp/$name.log"
	# a hard stop well past the requested time, in case the target hangs
	timeout --kill-after=10 $((secs + 120)) "$bin" "${opts[@]}" "$corpus" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n1)
	if [ "$rc" -ne 0 ]; then
		{
			echo "fuzz $name: FAILED (exit $rc) after ${runs:-?} runs; artifacts in $art/"
			grep -E 'ERROR|SUMMARY|==[0-9]+==|Test unit written|abort|runtime error' "$log" |
				head -20 | sed 's/^/    /'
		} >"$tmp/$name.res"
	else
		echo "fuzz $name: ok, ${runs:-?} runs in ${secs}s, ${cov:-cov: ?}, corpus $(ls "$corpus" | wc -l) files" >"$tmp/$name.res"
	fi
	echo "$rc" >"$tmp/$name.rc"
}

failed=()
if [ $check -eq 1 ]; then
	# two at a time (the machine's budget), reported in order
	pids=()
	for bin in "$@"; do
		run_one "$bin" &
		pids+=($!)
		if [ ${#pids[@]} -ge 2 ]; then
			wait "${pids[0]}"
			pids=("${pids[@]:1}")
		fi
	done
	wait
	for bin in "$@"; do
		name=$(basename "$bin")
		if [ "$(cat "$tmp/$name.rc")" = 0 ]; then
			printf 'fuzz  %-28s %3d passed, %d failed\n' "$name" 1 0
		else
			printf 'fuzz  %-28s %3d passed, %d failed\n' "$name" 0 1
			sed 's/^/    /' "$tmp/$name.res"
			failed+=("$name")
		fi
	done
	[ ${#failed[@]} -eq 0 ]
	exit
fi
for bin in "$@"; do
	name=$(basename "$bin")
	run_one "$bin"
	cat "$tmp/$name.res"
	[ "$(cat "$tmp/$name.rc")" = 0 ] || failed+=("$name")
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: failed: ${failed[*]}"
	exit 1
fi
echo "fuzz: all ${#} targets ok"
