#!/usr/bin/env bash
# Fuzzes each target for a while, one process each, from a copy of its
# committed corpus (which is never written to).
#
#   tests/fuzz/run.sh BUILD_DIR SECONDS_PER_TARGET [TARGET...]
#
# BUILD_DIR is a PORTICO_FUZZ=ON build (see tests/fuzz/README.md); TARGET is
# one of the names below, all of them by default. Prints one line per target;
# on any failure (crash, sanitizer report, leak, timeout, out of memory, a
# check that aborts) it prints the fuzzer's output tail and every reproducer,
# as a path and as base64, with the commands that replay it, and exits 1 once
# every target has run.
set -u

all_targets=(dice_expression client_message config wire http_request token)

if [ $# -lt 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS_PER_TARGET [TARGET...]" >&2
  echo "targets: ${all_targets[*]}" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd) || exit 2
seconds=$2
shift 2
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")
case $seconds in '' | *[!0-9]*) echo "SECONDS_PER_TARGET must be a whole number" >&2; exit 2 ;; esac

# Reports go to the log, symbolised, and a leak or UBSan finding is fatal.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=()
started=$(date +%s)

for target in "${targets[@]}"; do
  fuzzer="$build/bin/fuzz_$target"
  corpus="$here/corpus/$target"
  dict="$here/dict/$target.dict"
  if [ ! -x "$fuzzer" ] || [ ! -d "$corpus" ] || [ ! -f "$dict" ]; then
    echo "fuzz_$target: FAILED: missing $fuzzer, $corpus or $dict (build the fuzz_targets target?)"
    failed+=("$target")
    continue
  fi
  work=$(mktemp -d "${TMPDIR:-/tmp}/portico-fuzz-run-$target-XXXXXX")
  mkdir "$work/corpus" "$work/artifacts"
  cp -R "$corpus/." "$work/corpus/"
  log="$work/fuzz.log"

  # New inputs go to the first directory only: the copy.
  t0=$(date +%s)
  "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -dict="$dict" -artifact_prefix="$work/artifacts/" "$work/corpus" "$corpus" >"$log" 2>&1
  status=$?
  elapsed=$(($(date +%s) - t0))

  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  runs=${runs:-0}
  rate=$((runs / (elapsed > 0 ? elapsed : 1)))
  coverage=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1)
  inputs=$(find "$work/corpus" -type f | wc -l)
  seeds=$(find "$corpus" -type f | wc -l)
  artifacts=$(find "$work/artifacts" -type f | sort)

  if [ "$status" -eq 0 ] && [ -z "$artifacts" ]; then
    echo "fuzz_$target: ok: $runs runs in ${elapsed}s ($rate exec/s), ${coverage:-no coverage line}, corpus $seeds -> $inputs"
    rm -rf "$work"
    continue
  fi

  failed+=("$target")
  echo "fuzz_$target: FAILED (exit $status): $runs runs in ${elapsed}s"
  echo "---- last 60 lines of $log"
  tail -n 60 "$log"
  echo "----"
  for file in $artifacts; do
    name=$(basename "$file")
    echo "reproducer: $file ($(wc -c <"$file") bytes)"
    echo "base64 (decode with: base64 -d > $name):"
    base64 "$file"
    echo "replay:  $fuzzer $file"
    echo "   or:   BUILD/bin/fuzz_${target}_replay $file   (a normal build)"
    echo "minimise: $fuzzer -minimize_crash=1 -max_total_time=60 -artifact_prefix=$work/ $file"
    echo "keep it:  cp $file tests/fuzz/regressions/$target/<what-it-does>"
  done
  [ -z "$artifacts" ] && echo "no reproducer was written; the log above says why"
  echo "the working corpus and log stay in $work"
done

echo "fuzzing took $(($(date +%s) - started))s for ${#targets[@]} target(s), $seconds s each"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all targets ok"
