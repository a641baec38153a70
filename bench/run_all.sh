#!/bin/sh
# run_all.sh BUILD_DIR [OUT.jsonl] - build shmbus-bench in Release into
# BUILD_DIR, run every workload it has (spsc-*, and mpmc-* / slots when they
# exist: whatever `shmbus-bench list` shows), append their JSON lines to OUT
# (default BUILD_DIR/bench-results.jsonl), then print the tables and the
# ratio table.  Each measurement is repeated (REPEAT, default 5) and the
# median reported.  Meant for a quiet machine; takes about a minute here
# after the build.
#
# mpmc-throughput runs at 1x1 with the others, then at each producers x
# consumers of MPMC_GEOMS (default "1x2 2x1 2x2 4x4"), 400k messages; where
# P + C > 4, ck-ring gets its own run of 20k messages with ours beside it
# (its producers spin inside ck_ring for preempted predecessors: 400k would
# take it hours on 2 CPUs).
#
# broadcast-throughput runs with 4 subscribers with the others, then with
# each count of BCAST_SUBS (default "1 2 8").
#
# Environment: REPEAT (default 5), PIN (default 1: --pin), BENCH_ARGS (extra
# arguments for every workload, e.g. "--msgs 100000" for a quick look),
# MPMC_GEOMS, BCAST_SUBS.
set -u
if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
	sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
fi
build=$1
out=${2:-$build/bench-results.jsonl}
src=$(cd "$(dirname "$0")/.." && pwd)
repeat=${REPEAT:-5}
pin=--pin
[ "${PIN:-1}" = 0 ] && pin=

cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null || exit 1
cmake --build "$build" -j"$(nproc)" --target shmbus-bench >/dev/null || exit 1
bench=$build/bench/shmbus-bench

: >"$out" || exit 1
status=0
start=$(date +%s)
echo "# shmbus $(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo '?'), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
for wl in $("$bench" list -q); do
	echo "# running $wl ..."
	# shellcheck disable=SC2086 # BENCH_ARGS is a list of words
	if ! "$bench" "$wl" --json --repeat "$repeat" $pin ${BENCH_ARGS:-} >>"$out"; then
		echo "# $wl FAILED (its lines so far are kept)"
		status=1
	fi
done
mpmc_run() { # P C MSGS TRANSPORTS
	echo "# running mpmc-throughput $1x$2, $3 messages: $4 ..."
	# shellcheck disable=SC2086 # BENCH_ARGS is a list of words
	if ! "$bench" mpmc-throughput --producers "$1" --consumers "$2" --msgs "$3" \
		--transport "$4" --json --repeat "$repeat" $pin ${BENCH_ARGS:-} >>"$out"; then
		echo "# mpmc-throughput $1x$2 FAILED (its lines so far are kept)"
		status=1
	fi
}
if "$bench" list -q | grep -qx mpmc-throughput; then
	ck=ck-ring
	"$bench" list -t | grep -qx 'mpmc-throughput ck-ring' || ck=
	for g in ${MPMC_GEOMS:-1x2 2x1 2x2 4x4}; do
		p=${g%x*} c=${g#*x}
		if [ $((p + c)) -le 4 ]; then
			mpmc_run "$p" "$c" 400000 "shmbus-mpmc,shmbus-mpmc-try,posix-mq${ck:+,$ck}"
		else
			mpmc_run "$p" "$c" 400000 shmbus-mpmc,shmbus-mpmc-try,posix-mq
			[ -n "$ck" ] && mpmc_run "$p" "$c" 20000 "shmbus-mpmc,shmbus-mpmc-try,$ck"
		fi
	done
fi
if "$bench" list -q | grep -qx broadcast-throughput; then
	for n in ${BCAST_SUBS:-1 2 8}; do
		echo "# running broadcast-throughput 1x$n ..."
		# shellcheck disable=SC2086 # BENCH_ARGS is a list of words
		if ! "$bench" broadcast-throughput --subscribers "$n" --json --repeat "$repeat" \
			$pin ${BENCH_ARGS:-} >>"$out"; then
			echo "# broadcast-throughput 1x$n FAILED (its lines so far are kept)"
			status=1
		fi
	done
fi
echo "# done in $(($(date +%s) - start)) s; JSON lines in $out"
echo
"$bench" report "$out" || status=1
"$bench" validate "$out" || status=1
exit $status
