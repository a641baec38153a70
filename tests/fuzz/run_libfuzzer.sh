#!/usr/bin/env bash
# Builds the libFuzzer target with clang in a side build and fuzzes the
# snapshot code for SECONDS (default 20).
#   tests/fuzz/run_libfuzzer.sh [SECONDS [SRCDIR [BUILDDIR]]]
# Exit 77 (skip) if clang cannot build a libFuzzer binary here.
set -euo pipefail
secs=${1:-20}
src=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
dir=${3:-$src/build-fuzz}
command -v clang >/dev/null || { echo "clang not installed: skipping" >&2; exit 77; }
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n){return 0;}' |
     clang -x c -fsanitize=fuzzer - -o /dev/null 2>/dev/null; then
  echo "clang cannot link libFuzzer here (libclang-rt-14-dev?): skipping" >&2
  exit 77
fi
cmake -S "$src" -B "$dir" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHMBUS_FUZZ=ON -DSHMBUS_BUILD_BENCH=OFF >/dev/null
cmake --build "$dir" -j"$(nproc)" --target fuzz_snapshot fuzz_seeds >/dev/null
corpus=$dir/corpus
mkdir -p "$corpus" "$dir/artifacts"
"$dir/tests/fuzz/fuzz_seeds" "$corpus"
"$dir/tests/fuzz/fuzz_snapshot" -max_total_time="$secs" -max_len=65536 -timeout=10 \
  -rss_limit_mb=2048 -artifact_prefix="$dir/artifacts/" -print_final_stats=1 "$corpus" 2>&1 | tail -15
