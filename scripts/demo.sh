#!/usr/bin/env bash
# The main job: builds shmbus (Release) and runs a real pipeline, a producer
# process streaming millions of messages through an SPSC ring to a consumer
# process that checks every one, then prints throughput and the ring's state
# as JSON.  Installs missing dependencies first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DSHMBUS_BUILD_TESTS=OFF >/dev/null
cmake --build build-release -j"$(nproc)" --target shmbus-demo shmbus_tool >/dev/null
exec build-release/examples/shmbus-demo "$@"
