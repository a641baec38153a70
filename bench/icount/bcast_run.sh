#!/bin/sh
# bcast_run.sh BUILD_DIR - instructions per message of the broadcast ring's
# producer path (shmbus_bcast_push) and subscriber path (shmbus_bcast_pop),
# reliable and lossy, counted by callgrind with --toggle-collect on each call
# (bcast_icount.c; as run.sh: Ir(2N) - Ir(N) over N).  Build BUILD_DIR in
# Release first: cmake --build BUILD_DIR --target shmbus_static.  Needs
# valgrind.
set -eu
[ $# -ge 1 ] || { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# shellcheck disable=SC2046 # pkg-config prints a list of words
${CC:-cc} -O2 -std=c11 -D_GNU_SOURCE -I"$src/include" -I"$build/include" \
	"$src/bench/icount/bcast_icount.c" "$build/libshmbus.a" \
	$(pkg-config --libs liburcu-bp liburcu-cds jansson) -lpthread -o "$out/icount"
n=100000
ir() {
	log=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null \
		--toggle-collect="$3" "$out/icount" "$1" "$2" 2>&1) ||
		{ printf '%s\n' "$log" | grep -v '^==' >&2; echo "bcast_run.sh: $1 failed" >&2; exit 1; }
	printf '%s\n' "$log" | sed -n 's/.*Collected : //p'
}
for policy in reliable lossy; do
	for fn in shmbus_bcast_push shmbus_bcast_pop; do
		a=$(ir $policy $n $fn)
		b=$(ir $policy $((2 * n)) $fn)
		echo "$policy $fn: $(((b - a) / n)) instructions per message"
	done
done
