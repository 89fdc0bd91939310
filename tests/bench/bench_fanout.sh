#!/usr/bin/env bash
# bench_fanout.sh PORTICO_FANOUT PORTICO TABLE_SO
#
# Starts portico with the table plugin on an ephemeral loopback port and runs
# portico-fanout against it for one second, twice: two publishers as fast as
# their windows allow, and one paced with --rate. Each run must deliver every
# push to every subscriber: deliveries, no gap, nothing lost, no error.
# Every process started here is stopped by its PID on exit.
set -euo pipefail

if [ $# -ne 3 ]; then
  echo "usage: bench_fanout.sh PORTICO_FANOUT PORTICO TABLE_SO" >&2
  exit 2
fi
fanout=$1
portico=$2
table=$(realpath "$3")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/portico-fanout-check.XXXXXX")
pid=""
cleanup() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

cat >"$tmp/portico.json" <<JSON
{
  "log_level": "warn",
  "gateway": { "listen": "127.0.0.1:0" },
  "plugins": { "table": { "library": "$table", "endpoint": "tcp://127.0.0.1:0", "workers": 1 } }
}
JSON
"$portico" --config "$tmp/portico.json" >"$tmp/portico.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  grep -q '^portico: ready' "$tmp/portico.log" && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
url=$(sed -nE 's/.*gateway listening on (ws:\/\/[^ ]*).*/\1/p' "$tmp/portico.log" | head -n 1)
[ -n "$url" ] || { echo "bench_fanout: portico did not get ready:" >&2; cat "$tmp/portico.log" >&2; exit 1; }

# field NAME LINE: the value of NAME=VALUE in a summary line.
field() { sed -nE "s/.* $1=([^ ]*).*/\1/p" <<<"$2"; }

# check NAME ARGS...: one short run; every push reaches every subscriber.
check() {
  local name=$1
  shift
  local out="$tmp/$name.out"
  if ! timeout 60 "$fanout" --url "$url" --subscribers 200 --seconds 1 --room "$name" "$@" \
      >"$out" 2>"$tmp/$name.err"; then
    echo "bench_fanout: $name: portico-fanout failed:" >&2
    cat "$tmp/$name.err" "$out" >&2
    return 1
  fi
  local line
  line=$(grep -m 1 '^summary ' "$out")
  echo "$name: $line"
  local publishes deliveries
  publishes=$(field publishes "$line")
  deliveries=$(field deliveries "$line")
  [ "$publishes" -gt 0 ] || { echo "bench_fanout: $name: nothing published" >&2; return 1; }
  [ "$deliveries" = $((publishes * 200)) ] ||
    { echo "bench_fanout: $name: $deliveries deliveries for $publishes publishes to 200" >&2; return 1; }
  for zero in lost gaps missed; do
    [ "$(field "$zero" "$line")" = 0 ] || { echo "bench_fanout: $name: $zero is not 0" >&2; return 1; }
  done
}

check saturated --publishers 2 --window 8
check paced --publishers 1 --window 4 --rate 50
echo "bench_fanout: all runs clean"
