#!/usr/bin/env bash
# Installs the Debian 12 packages portico needs, if missing.
#   deps.sh          to build and run it
#   deps.sh test     also what the tests need: Catch2, clang and its
#                    sanitizer runtimes (fuzzing), llvm-symbolizer (reports)
set -euo pipefail

packages=(g++ cmake make pkg-config libboost1.81-dev libboost-program-options1.81-dev libzmq3-dev cppzmq-dev
          nlohmann-json3-dev libspdlog-dev libssl-dev libcpp-jwt-dev)
if [ "${1:-}" = "test" ]; then
  packages+=(catch2 clang libclang-rt-14-dev llvm python3 python3-prometheus-client python3-websockets
             chromium openssl)
  # Node.js for the web tests: Debian's, unless a node is already installed.
  command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "portico: installing ${missing[*]} needs root" >&2; exit 1; }
    sudo=sudo
  fi
  echo "portico: installing ${missing[*]}" >&2
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The web tests' npm packages (ws, playwright-core), as package-lock.json pins them.
if [ "${1:-}" = "test" ] && [ ! -d "$(dirname "$0")/../tests/web/node_modules/playwright-core" ]; then
  echo "portico: installing the web tests' npm packages" >&2
  (cd "$(dirname "$0")/../tests/web" && npm ci --no-audit --no-fund --loglevel=error)
fi
