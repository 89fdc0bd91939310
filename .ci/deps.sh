#!/usr/bin/env bash
# Installs the Debian 12 packages portico needs, if missing.
#   deps.sh          to build and run it
#   deps.sh test     also what the tests need: Catch2, clang and its
#                    sanitizer runtimes (fuzzing), llvm-symbolizer (reports)
set -euo pipefail

packages=(g++ cmake make pkg-config libboost1.81-dev libboost-program-options1.81-dev libzmq3-dev cppzmq-dev
          nlohmann-json3-dev libspdlog-dev libssl-dev libcpp-jwt-dev)
if [ "${1:-}" = "test" ]; then
  packages+=(catch2 clang libclang-rt-14-dev llvm python3 python3-prometheus-client python3-websockets)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "portico: installing ${missing[*]} needs root" >&2; exit 1; }
  sudo=sudo
fi
echo "portico: installing ${missing[*]}" >&2
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
