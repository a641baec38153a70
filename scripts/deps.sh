#!/usr/bin/env bash
# Installs what shmbus needs to build, test and benchmark, on Debian 12,
# when it is missing.  Safe to run again: does nothing if all is there.
#   scripts/deps.sh            build + test dependencies
set -euo pipefail

packages=(
  gcc g++ make cmake pkg-config          # toolchain
  liburcu-dev libjansson-dev libcmocka-dev  # the design card's libraries
  python3 python3-jsonschema             # interop tests, JSON Schema validation
  clang libclang-rt-14-dev               # libFuzzer target, clang sanitizer runtimes
  libck-dev                              # Concurrency Kit: a peer in the MPMC bench
  libzmq3-dev                            # ZeroMQ: a peer in the broadcast bench
  man-db                                 # man -l: the manual pages test
  python3-dev python3-numpy              # the Python package (optional: skipped without)
  libmicrohttpd-dev                      # shmbus serve (optional: metrics over HTTP)
  prometheus curl                        # promtool checks shmbus metrics; tests scrape serve
  libnats-dev nats-server                # NATS: shmbus bridge (optional) and its tests
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "deps: missing packages and not root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
