#!/usr/bin/env bash
# Runs libFuzzer targets (what `make fuzz` calls):
#
#   tests/fuzz/run.sh build-fuzz/fuzz_yaml [build-fuzz/fuzz_config ...]
#
# Each target runs FUZZ_SECONDS seconds (default 20) on a copy of its seed
# corpus, tests/fuzz/corpus/<target>/ (<target> = the binary's name, e.g.
# fuzz_yaml), so the tree stays clean; tests/fuzz/corpus/<target>.dict is
# used as a dictionary when present. A crash, leak or timeout makes the
# script exit non-zero; the input that caused it is kept in
# build-fuzz/artifacts/<target>/ to reproduce with `build-fuzz/<target> FILE`.
set -u
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-20}
if [ $# -eq 0 ]; then
	echo "usage: tests/fuzz/run.sh FUZZ_BINARY..." >&2
	exit 2
fi
tmp=$(mktemp -d /tmp/pt-fuzz.XXXXXX)
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT

failed=()
for bin in "$@"; do
	name=$(basename "$bin")
	if [ ! -x "$bin" ]; then
		echo "fuzz $name: $bin is not an executable" >&2
		failed+=("$name")
		continue
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
		echo "fuzz $name: FAILED (exit $rc) after ${runs:-?} runs; artifacts in $art/"
		grep -E 'ERROR|SUMMARY|==[0-9]+==|Test unit written|abort' "$log" | head -20 | sed 's/^/    /'
		failed+=("$name")
	else
		echo "fuzz $name: ok, ${runs:-?} runs in ${secs}s, ${cov:-cov: ?}, corpus $(ls "$corpus" | wc -l) files"
	fi
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: failed: ${failed[*]}"
	exit 1
fi
echo "fuzz: all ${#} targets ok"
