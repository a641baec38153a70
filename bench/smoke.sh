#!/bin/sh
# smoke.sh BENCH WORKDIR - the bench_smoke test: every workload the binary
# lists runs with tiny counts, exits 0, and prints valid JSON lines with the
# required fields (checked by `shmbus-bench validate --complete`, and again
# by python3's json module when python3 is there).  No speed is asserted.
set -u
bench=$1
work=$2
mkdir -p "$work" || exit 1
fail=0

say() { echo "bench_smoke: $*"; }

wls=$("$bench" list -q) || { say "list failed"; exit 1; }
[ -n "$wls" ] || { say "no workloads"; exit 1; }

for wl in $wls; do
	out=$work/$wl.jsonl
	before=$fail
	if ! "$bench" "$wl" --json --repeat 1 --msgs 2000 --round-trips 300 --timeout 240 \
		>"$out"; then
		say "FAIL: $wl exited non-zero"
		fail=1
		continue
	fi
	if ! "$bench" validate --complete "$out"; then
		say "FAIL: $wl: invalid JSON lines"
		fail=1
	fi
	if command -v python3 >/dev/null 2>&1; then
		python3 - "$out" <<'PY' || { say "FAIL: $wl: python3 check"; fail=1; }
import json, sys
need = {"throughput": ["workload", "transport", "msg_size", "msgs", "msgs_per_s", "bytes_per_s"],
        "latency": ["workload", "transport", "msg_size", "round_trips",
                    "p50_ns", "p99_ns", "p999_ns", "max_ns"]}
n = 0
for line in open(sys.argv[1]):
    o = json.loads(line)
    assert list(o) == sorted(o), "keys not sorted: %s" % line
    for k in need.get(o["kind"], []):
        assert k in o, "%s missing in %s" % (k, line)
    n += o["kind"] in need
assert n > 0, "no measurement"
PY
	fi
	[ $fail = "$before" ] && say "ok: $wl ($(grep -c '"kind":"\(throughput\|latency\)"' "$out") measurements)"
done

# broadcast-throughput at the ends of its range of subscribers (the loop
# above ran its default, 4), every transport and ratio present.
if "$bench" list -q | grep -qx broadcast-throughput; then
	for n in 1 8; do
		out=$work/broadcast-$n.jsonl
		if ! "$bench" broadcast-throughput --subscribers $n --json --repeat 1 --msgs 2000 \
			--timeout 240 >"$out" || ! "$bench" validate --complete "$out"; then
			say "FAIL: broadcast-throughput --subscribers $n"
			fail=1
		fi
	done
fi

# The table form, odd sizes (not a multiple of 8, smaller than the stamp).
for size in 13 3; do
	if ! "$bench" spsc-throughput --size $size --msgs 1000 --repeat 1 >"$work/table.txt"; then
		say "FAIL: spsc-throughput --size $size (table)"
		fail=1
	fi
done
grep -q RATIOS "$work/table.txt" || { say "FAIL: no ratio table"; fail=1; }

# Usage errors exit 2; validate rejects a line without the required fields.
"$bench" no-such-workload >/dev/null 2>&1
[ $? -eq 2 ] || { say "FAIL: unknown workload did not exit 2"; fail=1; }
"$bench" spsc-latency --round-trips 0 >/dev/null 2>&1
[ $? -eq 2 ] || { say "FAIL: --round-trips 0 did not exit 2"; fail=1; }
"$bench" broadcast-throughput --subscribers 0 >/dev/null 2>&1
[ $? -eq 2 ] || { say "FAIL: --subscribers 0 did not exit 2"; fail=1; }
echo '{"kind":"throughput","schema_version":1}' | "$bench" validate - 2>/dev/null
[ $? -eq 1 ] || { say "FAIL: validate accepted an incomplete line"; fail=1; }

exit $fail
