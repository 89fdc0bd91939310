#!/usr/bin/env bash
# sdk_roundtrip.sh BUILD_DIR TEMPLATE_DIR PORTICO ZMQ_CLIENT [CXX_COMPILER [CXX_FLAGS]]
#
# Installs the portico build in BUILD_DIR to a temporary prefix, builds the
# plugin template in TEMPLATE_DIR against it (out of the source tree, with
# CXX_FLAGS if given: a sanitizer build passes its -fsanitize flags), runs
# the template's test, runs the installed portico-plugin-check on the built
# greet.so (directly and through the template's check target), starts
# PORTICO with greet.so on ephemeral ports, and sends it requests with
# ZMQ_CLIENT. Exit status 0: all went well.
set -euo pipefail

if [ $# -lt 4 ]; then
  echo "usage: sdk_roundtrip.sh BUILD_DIR TEMPLATE_DIR PORTICO ZMQ_CLIENT [CXX_COMPILER [CXX_FLAGS]]" >&2
  exit 2
fi
build_dir=$1
template_dir=$2
portico=$3
zmq_client=$4
cxx=${5:-}
cxx_flags=${6:-}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/portico-sdk.XXXXXX")
portico_pid=""
cleanup() {
  if [ -n "$portico_pid" ] && kill -0 "$portico_pid" 2>/dev/null; then
    kill "$portico_pid" 2>/dev/null || true
    wait "$portico_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

step() { echo "sdk_roundtrip: $*"; }
fail() {
  echo "sdk_roundtrip: FAILED: $*" >&2
  if [ -f "$tmp/portico.out" ]; then
    echo "--- portico stdout" >&2; cat "$tmp/portico.out" >&2
    echo "--- portico stderr" >&2; cat "$tmp/portico.err" >&2
  fi
  exit 1
}

prefix=$tmp/prefix
step "installing $build_dir into $prefix"
cmake --install "$build_dir" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log" >&2; fail "cmake --install"; }
# The package goes to <libdir>/cmake/portico (libdir: lib, or lib/<multiarch>
# when configured for the /usr prefix); the plugins always to lib/portico.
package_dir=$(find "$prefix" -path '*/cmake/portico/portico-config.cmake' -printf '%h\n' | head -n 1)
[ -n "$package_dir" ] || fail "the install has no cmake/portico/portico-config.cmake"
for file in portico-config-version.cmake portico-targets.cmake PorticoPlugin.cmake; do
  [ -f "$package_dir/$file" ] || fail "the install has no $package_dir/$file"
done
for file in include/portico/plugin.hpp \
            bin/portico \
            bin/portico-plugin-check \
            lib/portico/plugins/dice.so \
            lib/portico/plugins/notepad.so; do
  [ -f "$prefix/$file" ] || fail "the install has no $file"
done
if find "$prefix" -name 'fixture_*' | grep -q .; then
  fail "test fixtures were installed: $(find "$prefix" -name 'fixture_*')"
fi

step "building the plugin template against the installed SDK"
# Copied out of the source tree first, as a plugin author would.
cp -R "$template_dir" "$tmp/greet"
configure=(cmake -S "$tmp/greet" -B "$tmp/tpl-build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=RelWithDebInfo)
[ -n "$cxx" ] && configure+=(-DCMAKE_CXX_COMPILER="$cxx")
[ -n "$cxx_flags" ] && configure+=(-DCMAKE_CXX_FLAGS="$cxx_flags")
"${configure[@]}" >"$tmp/tpl-configure.log" 2>&1 ||
  { cat "$tmp/tpl-configure.log" >&2; fail "configuring the template"; }
grep -q "^portico_DIR:PATH=$package_dir\$" "$tmp/tpl-build/CMakeCache.txt" ||
  fail "the template did not find portico in $prefix"
cmake --build "$tmp/tpl-build" -j 2 >"$tmp/tpl-build.log" 2>&1 ||
  { cat "$tmp/tpl-build.log" >&2; fail "building the template"; }
plugin=$tmp/tpl-build/greet.so
[ -f "$plugin" ] || fail "the template build made no greet.so"

step "running the template's test"
ctest --test-dir "$tmp/tpl-build" --output-on-failure --timeout 60 || fail "the template's ctest"

step "the installed portico-plugin-check passes greet.so"
check_status=0
"$prefix/bin/portico-plugin-check" "$plugin" --settings '{"greeting":"hello"}' --seconds 1 --out "$tmp/check" \
  >"$tmp/check.out" 2>&1 || check_status=$?
cat "$tmp/check.out"
[ "$check_status" -eq 0 ] || fail "portico-plugin-check exited with status $check_status on greet.so"
grep -q '^PASS: no problems' "$tmp/check.out" || fail "portico-plugin-check did not say PASS"
grep -q '^ok      calls: .*every reply well-formed' "$tmp/check.out" || fail "portico-plugin-check made no calls"

step "the template's check target runs it too"
cmake --build "$tmp/tpl-build" --target check >"$tmp/tpl-check.log" 2>&1 ||
  { cat "$tmp/tpl-check.log" >&2; fail "the template's check target"; }
grep -q '^PASS: no problems' "$tmp/tpl-check.log" ||
  { cat "$tmp/tpl-check.log" >&2; fail "the check target did not run portico-plugin-check"; }

step "the template installs its plugin where portico looks"
cmake --install "$tmp/tpl-build" --prefix "$prefix" >/dev/null || fail "installing the template"
[ -f "$prefix/lib/portico/plugins/greet.so" ] || fail "greet.so was not installed into lib/portico/plugins"

step "loading greet.so into a running portico"
cat >"$tmp/portico.json" <<JSON
{
  "log_level": "warn",
  "gateway": { "listen": "127.0.0.1:0" },
  "plugins": {
    "greet": { "library": "$plugin", "endpoint": "tcp://127.0.0.1:0", "settings": { "greeting": "hello" } }
  }
}
JSON
"$portico" --config "$tmp/portico.json" >"$tmp/portico.out" 2>"$tmp/portico.err" &
portico_pid=$!

for _ in $(seq 100); do
  grep -q '^portico: ready' "$tmp/portico.out" && break
  kill -0 "$portico_pid" 2>/dev/null || fail "portico exited before it was ready"
  sleep 0.1
done
grep -q '^portico: ready' "$tmp/portico.out" || fail "portico was not ready within 10 s"

endpoint=$(sed -n 's/^portico: plugin greet .* serving on \(tcp:\/\/127\.0\.0\.1:[0-9][0-9]*\).*/\1/p' "$tmp/portico.out")
[ -n "$endpoint" ] || fail "no 'portico: plugin greet ... serving on tcp://127.0.0.1:PORT' line"
step "greet is served on $endpoint"

reply=$("$zmq_client" "$endpoint" sdk 2>&1) || fail "portico-zmq-client: $reply"
step "reply: $reply"
[ "$reply" = '{"greeting":"hello, sdk"}' ] || fail "unexpected reply to \"sdk\": $reply"

reply=$("$zmq_client" "$endpoint" "$(printf 'x%.0s' $(seq 65))" 2>&1) || fail "portico-zmq-client: $reply"
step "reply to a 65-character name: $reply"
case "$reply" in
  "error: "*64*) ;;
  *) fail "a 65-character name was not refused: $reply" ;;
esac

kill "$portico_pid"
wait "$portico_pid" || fail "portico did not stop cleanly on SIGTERM (status $?)"
portico_pid=""
step "passed"
