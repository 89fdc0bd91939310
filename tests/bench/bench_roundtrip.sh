#!/usr/bin/env bash
# bench_roundtrip.sh PORTICO_BENCH ECHO_SERVER PORTICO DICE_SO
#
# Starts the echo server and portico (dice) on ephemeral loopback ports, runs
# portico-bench against each for one second (echo form; envelope and
# shorthand against portico) and requires replies, no errors and no lost
# replies. Every process started here is stopped by its PID on exit.
set -euo pipefail

if [ $# -ne 4 ]; then
  echo "usage: bench_roundtrip.sh PORTICO_BENCH ECHO_SERVER PORTICO DICE_SO" >&2
  exit 2
fi
bench=$1
echo_server=$2
portico=$3
dice=$(realpath "$4")  # the config resolves relative paths against its own folder

tmp=$(mktemp -d "${TMPDIR:-/tmp}/portico-bench-check.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]+"${pids[@]}"}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

# wait_for FILE PATTERN PID: prints the first line of FILE matching PATTERN,
# waiting up to 10 s while PID lives.
wait_for() {
  for _ in $(seq 100); do
    if grep -m 1 -E "$2" "$1" 2>/dev/null; then return 0; fi
    kill -0 "$3" 2>/dev/null || break
    sleep 0.1
  done
  echo "bench_roundtrip: no line matching '$2' in $1:" >&2
  cat "$1" >&2
  return 1
}

# check NAME ARGS...: one short run; its summary must show replies, no errors, nothing lost.
check() {
  local name=$1
  shift
  local out="$tmp/$name.out"
  timeout 60 "$bench" --no-progress --seconds 1 --grace 2 --conns 4 --inflight 4 "$@" >"$out" 2>"$tmp/$name.err" || {
    echo "bench_roundtrip: $name: portico-bench failed:" >&2
    cat "$tmp/$name.err" >&2
    return 1
  }
  local line
  line=$(grep -m 1 '^summary ' "$out")
  echo "$name: $line"
  local rtt errors lost
  rtt=$(sed -E 's/.* rtt_per_s=([0-9.]+).*/\1/' <<<"$line")
  errors=$(sed -E 's/.* errors=([0-9]+).*/\1/' <<<"$line")
  lost=$(sed -E 's/.* lost=([0-9]+).*/\1/' <<<"$line")
  awk -v r="$rtt" 'BEGIN { exit !(r > 0) }' || { echo "bench_roundtrip: $name: no replies" >&2; return 1; }
  [ "$errors" = 0 ] || { echo "bench_roundtrip: $name: $errors errors" >&2; cat "$tmp/$name.err" >&2; return 1; }
  [ "$lost" = 0 ] || { echo "bench_roundtrip: $name: $lost lost" >&2; return 1; }
}

"$echo_server" --listen 127.0.0.1:0 >"$tmp/echo.log" 2>&1 &
pids+=($!)
echo_url=$(wait_for "$tmp/echo.log" '^listening on ws://' "${pids[-1]}" | sed -E 's/^listening on (ws:\/\/[^ ]*).*/\1/')
check echo --url "$echo_url" --echo

cat >"$tmp/portico.json" <<JSON
{
  "log_level": "warn",
  "gateway": { "listen": "127.0.0.1:0" },
  "plugins": { "dice": { "library": "$dice", "endpoint": "tcp://127.0.0.1:0" } }
}
JSON
"$portico" --config "$tmp/portico.json" >"$tmp/portico.log" 2>&1 &
pids+=($!)
wait_for "$tmp/portico.log" '^portico: ready' "${pids[-1]}" >/dev/null
portico_url=$(sed -nE 's/.*gateway listening on (ws:\/\/[^ ]*).*/\1/p' "$tmp/portico.log" | head -n 1)
check envelope --url "$portico_url" --plugin dice --payload 3d6
check shorthand --url "$portico_url" --plugin dice --payload 4d6kh3 --shorthand
# --json prints one object instead of the summary line: it must parse and agree.
timeout 60 "$bench" --no-progress --seconds 1 --conns 2 --inflight 2 --url "$portico_url" --plugin dice --payload d20 \
  --json >"$tmp/json.out" 2>"$tmp/json.err"
grep -q '"errors":0' "$tmp/json.out" && grep -q '"lost":0' "$tmp/json.out" ||
  { echo "bench_roundtrip: --json: unexpected output:" >&2; cat "$tmp/json.out" >&2; exit 1; }
echo "bench_roundtrip: all runs clean"
