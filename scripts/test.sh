#!/usr/bin/env bash
# Builds shmbus and runs the whole test suite (unit, multi-process, python
# interop, tool, install) with CTest.  Installs missing dependencies first.
#   scripts/test.sh            plain build in build/
#   scripts/test.sh --asan     AddressSanitizer + UBSan build in build-asan/
#   scripts/test.sh --tsan     ThreadSanitizer build in build-tsan/
# Extra arguments after the mode go to ctest (e.g. -R spsc).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=plain
case "${1:-}" in
  --asan) mode=asan; shift ;;
  --tsan) mode=tsan; shift ;;
esac

scripts/deps.sh

case $mode in
  plain) dir=build;      flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHMBUS_WERROR=ON) ;;
  asan)  dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=Debug -DSHMBUS_ASAN=ON -DSHMBUS_WERROR=ON) ;;
  tsan)  dir=build-tsan; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHMBUS_TSAN=ON -DSHMBUS_WERROR=ON) ;;
esac

cmake -S . -B "$dir" "${flags[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp}
cd "$dir"
ctest --output-on-failure "$@"
