#!/bin/sh
# run.sh BUILD_DIR [MODE...] - instructions per message of the SPSC (and MPMC) hot paths,
# counted by callgrind (deterministic, unlike wall time on a busy machine):
# builds spsc_icount.c against BUILD_DIR/libshmbus.a (build it in Release
# first: cmake --build BUILD_DIR --target shmbus_static), runs each mode
# with N and 2N messages and prints (Ir(2N) - Ir(N)) / N, so that setup
# costs cancel out.  Needs valgrind.  Modes: see spsc_icount.c (default:
# ideal zc zc8 copy blk burst mpmc).
set -eu
[ $# -ge 1 ] || { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
build=$(cd "$1" && pwd)
shift
src=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# The public headers only (version.h is generated into BUILD_DIR/include),
# as an installed client would build.
# shellcheck disable=SC2046 # pkg-config prints a list of words
${CC:-cc} -O2 -std=c11 -D_GNU_SOURCE -I"$src/include" \
	-I"$build/include" -I"$src/bench" \
	"$src/bench/icount/spsc_icount.c" "$build/libshmbus.a" \
	$(pkg-config --libs liburcu-bp liburcu-cds jansson) -lpthread -o "$out/icount"
n=100000
ir() {
	log=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$out/icount" "$1" "$2" 2>&1) ||
		{ printf '%s\n' "$log" | grep -v '^==' >&2; echo "run.sh: mode $1 failed" >&2; exit 1; }
	printf '%s\n' "$log" | sed -n 's/.*Collected : //p'
}
[ $# -gt 0 ] || set -- ideal zc zc8 copy blk burst mpmc
for m in "$@"; do
	a=$(ir "$m" $n)
	b=$(ir "$m" $((2 * n)))
	echo "$m: $(((b - a) / n)) instructions per message"
done
