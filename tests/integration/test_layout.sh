#!/usr/bin/env bash
#
# The tree's layout rules (issue 9), computed from the sources; no
# namespaces, no binaries:
#
#   - no include circle: between folders (common/ -> model/ -> ...), nor
#     between modules (a .c and its .h are one module), nor between files;
#   - common/ includes nothing above it;
#   - a datastore key ("/petrel/...) is spelled only in model/keys.h;
#   - no product source file over 900 lines.
#
#   product folders: every top-level folder with .c/.h files, except tests/
#   (tests, benchmarks, fuzzers and tools may include anything)
#
# Offenders in files other helpers are still moving (KNOWN below) print as
# INFO lines, not FAIL; remove an entry once its file is fixed, so the rule
# holds from then on.
#
set -u
. "$(dirname "$0")/../lib.sh"
cd "$PT_ROOT" || exit 1

LIMIT=900
# Files still being reshaped by other areas: reported, not failed (none now;
# an entry is a regex of paths, e.g. '^(a/b\.c|c/d\.c) ').
KNOWN_LONG='^$'
KNOWN_COMMON_UP='^$'

TMP=$(mktemp -d /tmp/pt-layout.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
mapfile -t SRCS < <(find . -path ./tests -prune -o -path './build*' -prune -o \
	-path ./.git -prune -o -type f \( -name '*.c' -o -name '*.h' \) -print |
	sed 's|^\./||' | grep '/' | sort)
check "the product sources are found" test "${#SRCS[@]}" -gt 50

# One edge per line: "from to" (files), from the #include "..." lines.
EDGES="$TMP/edges"
for f in "${SRCS[@]}"; do
	sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
	while read -r inc; do
		if [ -f "$inc" ]; then
			echo "$f $inc"
		elif [ -f "$(dirname "$f")/$inc" ]; then
			echo "$f $(dirname "$f")/$inc"
		fi
	done
done >"$EDGES"
check "include lines are read" test -s "$EDGES"

# cycles FROM_TO_FILE: prints each cycle found (as "a -> b -> a") once,
# by a depth-first search over the graph the lines "from to" give.
cycles() {
	awk '
	{ if ($1 != $2 && !seen[$1 " " $2]++) { adj[$1] = adj[$1] " " $2; node[$1]; node[$2] } }
	function dfs(u,    n, i, v, a, k, cyc) {
		state[u] = 1; stack[++sp] = u
		n = split(adj[u], a, " ")
		for (i = 1; i <= n; i++) {
			v = a[i]
			if (state[v] == 1) {
				cyc = v
				for (k = sp; k >= 1 && stack[k] != v; k--) ;
				cyc = ""
				for (; k <= sp; k++) cyc = cyc stack[k] " -> "
				print cyc v
			} else if (!state[v]) {
				dfs(v)
			}
		}
		state[u] = 2; sp--
	}
	END { for (u in node) if (!state[u]) dfs(u) }' "$1" | sort -u
}

# --- folders
# (the known reaching-up files of common/ are left out here, and listed below)
folder_cycles=$(awk -v k="$KNOWN_COMMON_UP" '$1 !~ k { split($1, a, "/"); split($2, b, "/");
	if (a[1] != b[1]) print a[1], b[1] }' "$EDGES" | cycles /dev/stdin)
if [ -z "$folder_cycles" ]; then
	pass "no include circle between folders"
else
	fail "no include circle between folders" "$(echo "$folder_cycles" | tr '\n' ';')"
fi

# --- files (a header that, through others, includes itself)
file_cycles=$(cycles "$EDGES")
if [ -z "$file_cycles" ]; then
	pass "no include circle between files"
else
	fail "no include circle between files" "$(echo "$file_cycles" | tr '\n' ';')"
fi

# --- modules: x.c and x.h are one node (model/ipamblock), and a private
# header x_impl.h or x_int.h belongs to module x (model/res_impl.h: model/res)
modules() { sed 's/\.[ch]\( \|$\)/\1/g; s/_\(impl\|int\)\( \|$\)/\2/g' "$1"; }
mod_cycles=$(modules "$EDGES" | cycles /dev/stdin)
if [ -z "$mod_cycles" ]; then
	pass "no include circle between modules (a .c and its .h)"
else
	fail "no include circle between modules (a .c and its .h)" "$(echo "$mod_cycles" | tr '\n' ';')"
fi

# --- common/ depends on nothing above it
common_up=$(awk '$1 ~ /^common\// && $2 !~ /^common\// { print $1 " includes " $2 }' "$EDGES")
bad_up=$(echo "$common_up" | grep . | awk -v k="$KNOWN_COMMON_UP" '$1 !~ k')
info_up=$(echo "$common_up" | grep . | awk -v k="$KNOWN_COMMON_UP" '$1 ~ k')
if [ -z "$bad_up" ]; then
	pass "common/ includes nothing above it (but the known ones)"
else
	fail "common/ includes nothing above it" "$(echo "$bad_up" | tr '\n' ';')"
fi
[ -n "$info_up" ] && echo "$info_up" | sed 's/^/INFO: common\/ reaching up (its area is moving it): /'
check "common/config.c includes nothing above common/" \
	sh -c "! grep -E '^#include \"(model|datastore|ipam|felix|policy|cli|cni|bgpconf)/' common/config.c"

# --- the key space has one owner
spelled=$(grep -n '"/petrel/' "${SRCS[@]}" | grep -v '^model/keys\.h:')
if [ -z "$spelled" ]; then
	pass "\"/petrel/ spelled only in model/keys.h"
else
	fail "\"/petrel/ spelled only in model/keys.h" "$(echo "$spelled" | tr '\n' ';')"
fi
check "model/keys.h spells the key root" grep -q '"/petrel/"' model/keys.h

# --- no product source file over LIMIT lines
long=$(wc -l "${SRCS[@]}" | awk -v m="$LIMIT" '$2 != "total" && $1 > m { print $2 " (" $1 " lines)" }')
bad_long=$(echo "$long" | grep . | grep -Ev "$KNOWN_LONG")
info_long=$(echo "$long" | grep . | grep -E "$KNOWN_LONG")
if [ -z "$bad_long" ]; then
	pass "no source file over $LIMIT lines"
else
	fail "no source file over $LIMIT lines" "$(echo "$bad_long" | tr '\n' ';')"
fi
[ -n "$info_long" ] && echo "$info_long" | sed "s/^/INFO: over $LIMIT lines (its area is splitting it): /"

# --- the rules' own detectors work (each finds a planted offender)
tmpd=$TMP/planted
mkdir -p "$tmpd"
printf 'a/x.h b/y.h\nb/y.h a/x.h\n' >"$tmpd/e"
if [ -n "$(cycles "$tmpd/e")" ]; then
	pass "the circle detector finds a planted circle a/x.h <-> b/y.h"
else
	fail "the circle detector finds a planted circle" "none found"
fi
printf 'a/x.c b/y.h\nb/y.c a/x.h\n' >"$tmpd/e"
check "the module circle detector finds a planted one (a/x.c <-> b/y.c)" \
	test -n "$(modules "$tmpd/e" | cycles /dev/stdin)"
check "the file circle detector does not see it as a file circle" \
	test -z "$(cycles "$tmpd/e")"
printf 'a/x.h b/y.h\nb/y.h c/z.h\n' >"$tmpd/e"
check "the circle detector finds none in a chain" test -z "$(cycles "$tmpd/e")"

pt_end
