#!/usr/bin/env bash
# The test runner behind `make check`: unit tests (cmocka binaries), a short
# run of every fuzz target, then the integration tests (root + network
# namespaces). Its last line is "N passed, N failed[, N skipped]".
#
#   tests/run.sh            everything
#   tests/run.sh unit       unit tests only
#   tests/run.sh fuzz       the fuzz targets' short run only
#   tests/run.sh integration [NAME...]
#
# Unit tests run under valgrind (a leak or a memory error fails the binary)
# when it is installed and the build is not a sanitizer build (VALGRIND=0
# turns it off, VALGRIND=1 insists).
#
# Unit: each build/tests/test_* binary; each cmocka case counts (a case
# that calls cmocka's skip() counts as skipped, not passed).
# Fuzz: each tests/fuzz/fuzz_*.c's build-fuzz/ binary (make check builds
# them with clang) over its seed corpus plus a few seconds of fuzzing
# (tests/fuzz/run.sh --check): one pass or one failure per target, a target
# that did not build a failure; without clang, one skip.
# Integration: each tests/integration/test_*.sh; each line it prints that
# starts with "PASS: ", "FAIL: " or "SKIP: " counts; a script that exits
# non-zero without printing a FAIL counts as one failure.
#
# PETREL_REGEN_GOLDEN is unset here: inherited from the environment it would
# turn every golden-file check into a rewrite that passes. Regenerate the
# golden files by running a unit binary by hand with it set.
set -u
unset PETREL_REGEN_GOLDEN
cd "$(dirname "$0")/.."
B=${B:-build}
what=${1:-all}
[ $# -gt 0 ] && shift
pass=0 fail=0 skip=0
failed_names=()

run_unit() {
	local t out rc p f k use_vg=${VALGRIND:-auto}
	if [ "$use_vg" = auto ]; then
		use_vg=0
		case "$B" in *san*) ;; *) command -v valgrind >/dev/null && use_vg=1 ;; esac
	fi
	[ "$use_vg" = 1 ] && echo "unit tests under valgrind (VALGRIND=0 to skip it)" 
	for t in "$B"/tests/test_*; do
		[ -x "$t" ] || continue
		if [ "$use_vg" = 1 ]; then
			out=$(CMOCKA_MESSAGE_OUTPUT=stdout timeout 900 valgrind -q \
				--leak-check=full --errors-for-leak-kinds=definite,indirect \
				--error-exitcode=99 --trace-children=no "$t" 2>&1)
		else
			out=$(CMOCKA_MESSAGE_OUTPUT=stdout timeout 300 "$t" 2>&1)
		fi
		rc=$?
		p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -n1)
		f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -n1)
		k=$(printf '%s\n' "$out" | sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' | tail -n1)
		p=${p:-0} f=${f:-0} k=${k:-0}
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
		pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + k))
		if [ "$f" -gt 0 ]; then
			failed_names+=("unit:$(basename "$t")")
			printf '%s\n' "$out" | grep -E 'FAIL|ERROR|error|Assert' | head -20
		fi
		if [ "$k" -gt 0 ]; then
			printf 'unit  %-28s %3d passed, %d failed, %d skipped\n' "$(basename "$t")" "$p" "$f" "$k"
			printf '%s\n' "$out" | grep -E '^\[  SKIPPED \] [a-z_0-9]+$' | sort -u | sed 's/^/    /'
		else
			printf 'unit  %-28s %3d passed, %d failed\n' "$(basename "$t")" "$p" "$f"
		fi
	done
}

run_fuzz() {
	local s n out t0 p f bins=()
	if ! command -v "${FUZZ_CC:-clang}" >/dev/null 2>&1; then
		echo "SKIP: fuzz targets need clang (libFuzzer); not installed"
		skip=$((skip + 1))
		return
	fi
	for s in tests/fuzz/fuzz_*.c; do
		[ -f "$s" ] && bins+=("build-fuzz/$(basename "$s" .c)")
	done
	[ ${#bins[@]} -gt 0 ] || return
	t0=$(date +%s)
	out=$(tests/fuzz/run.sh --check "${bins[@]}" 2>&1)
	printf '%s\n' "$out"
	p=$(printf '%s\n' "$out" | grep -c '^fuzz .* 1 passed, 0 failed$')
	f=$(printf '%s\n' "$out" | grep -c '^fuzz .* 0 passed, 1 failed$')
	pass=$((pass + p)) fail=$((fail + f))
	for n in $(printf '%s\n' "$out" | sed -n 's/^fuzz  *\([a-z_0-9]*\) .* 0 passed, 1 failed$/\1/p'); do
		failed_names+=("fuzz:$n")
	done
	echo "fuzz: ${#bins[@]} targets in $(( $(date +%s) - t0 )) s"
}

run_integration() {
	local s out rc p f k name
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: integration tests need root (network namespaces)"
		skip=$((skip + 1))
		return
	fi
	for s in tests/integration/test_*.sh; do
		[ -f "$s" ] || continue
		name=$(basename "$s" .sh)
		if [ $# -gt 0 ]; then
			local want=0 w
			for w in "$@"; do [ "$w" = "$name" ] && want=1; done
			[ $want -eq 1 ] || continue
		fi
		out=$(B="$B" timeout 600 bash "$s" 2>&1)
		rc=$?
		p=$(printf '%s\n' "$out" | grep -c '^PASS: ')
		f=$(printf '%s\n' "$out" | grep -c '^FAIL: ')
		k=$(printf '%s\n' "$out" | grep -c '^SKIP: ')
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			f=1
			out="$out
FAIL: $name exited $rc"
		fi
		pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + k))
		printf 'integ %-28s %3d passed, %d failed, %d skipped\n' "$name" "$p" "$f" "$k"
		if [ "$f" -gt 0 ]; then
			failed_names+=("integration:$name")
			printf '%s\n' "$out" | tail -40 | sed 's/^/    /'
		fi
		printf '%s\n' "$out" | grep '^SKIP: ' | sed 's/^/    /'
	done
}

case "$what" in
unit) run_unit ;;
fuzz) run_fuzz ;;
integration) run_integration "$@" ;;
all) run_unit; run_fuzz; run_integration ;;
*) echo "usage: tests/run.sh [unit|fuzz|integration [NAME...]]" >&2; exit 2 ;;
esac

[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]}"
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
