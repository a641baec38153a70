#!/usr/bin/env bash
# The kill torture of SPSC, MPMC and broadcast rings (tests/mp_spsc_kill.c,
# tests/mp_mpmc_torture.c, tests/mp_broadcast.c): processes SIGKILLed at
# random moments and at the worst points, round after round, checking that
# nothing is delivered twice and exactly what the ring counts as lost is
# missing.  Builds in build/ (as scripts/test.sh does), runs the three one
# after the other and prints one line each:
#   torture KIND: rounds R kills K messages M lost L duplicates D longest_stall_ms S
# Exits non-zero if any of them failed (its output is shown then).
#   scripts/torture.sh               the short mode (the one CI runs)
#   scripts/torture.sh --minutes N   N minutes in all, split between the three
# The stall (longest wait a kill caused) is printed, never asserted.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=
case "${1:-}" in
  --minutes)
    minutes=${2:-}
    [[ $minutes =~ ^[0-9]+$ && $minutes -gt 0 ]] || { echo "usage: $0 [--minutes N]" >&2; exit 2; } ;;
  "") ;;
  *) echo "usage: $0 [--minutes N]" >&2; exit 2 ;;
esac

scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHMBUS_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)" --target mp_spsc_kill mp_mpmc_torture mp_broadcast >/dev/null

if [[ -n $minutes ]]; then
  export SHMBUS_TORTURE_SECONDS=$((minutes * 60 / 3))
else
  unset SHMBUS_TORTURE_SECONDS
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
for t in mp_spsc_kill mp_mpmc_torture mp_broadcast; do
  if SHMBUS_TEST_TAG=torture_$t "build/tests/$t" >"$log" 2>&1; then
    grep '^torture ' "$log" || { echo "$t: no summary line" >&2; status=1; }
  else
    echo "$t FAILED:" >&2
    cat "$log" >&2
    status=1
  fi
done
exit $status
