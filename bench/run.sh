#!/usr/bin/env bash
# Compares Portico with the bare Beast echo server under the same load.
#
#   bench/run.sh [--seconds S] [--rounds N] [--idle N] [--no-build] [--build-dir DIR]
#
# Builds Release in build-release/, then for each round starts the echo
# server (A) and Portico (B) in turn, A B A B ..., each fresh, and measures:
#   memory  RSS growth of the server over N idle connections, per connection
#   load    round trips per second at 32 connections x 8 in flight
#   latency p50/p99 at 1 connection x 1 in flight
# Server and generator are pinned to different cores when there are two.
# Prints the medians and the ratio portico/echo. Then, once each:
#   scaling  portico with 1 gateway thread + 1 worker, then 2 + 2, at 32x8
#            and 64x8, nothing pinned (all the machine's cores)
#   auth     32x8 with gateway.auth.jwt on versus off (a token in the query)
#   wss      32x8 over TLS versus plain ws
#   engines  portico --role gateway with two portico --role engine
#            processes on loopback (issue 3's topology), 32x8 and 1x1
#   crowd    10,000 connections, each with one request in flight
#   fanout   10,000 subscribers to one channel of the table plugin: one
#            publisher (64 rolls in flight), 16 publishers (4 each), then one
#            publisher at 5 and at 20 rolls a second: deliveries per second,
#            publish-to-delivery latency, and what was lost (portico-fanout)
# Every server started here is stopped by its PID when the script ends,
# however it ends.
set -euo pipefail

seconds=5
rounds=3
idle=5000
build=1
build_dir=build-release
warmup=1
crowd=10000
fanout=10000
extras=1

usage() {
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
    cat <<'EOF'
options:
  --seconds S     measured seconds per load/latency run (default 5)
  --rounds N      rounds of A B (default 3, at least 1)
  --idle N        idle connections for the memory figure (default 5000)
  --no-build      use the binaries already in the build directory
  --build-dir DIR build directory (default build-release)
  --crowd N       connections for the crowd run (default 10000; 0 skips it)
  --fanout N      subscribers for the fan-out run (default 10000; 0 skips it)
  --no-extras     only the echo/portico rounds: no scaling, engines or crowd run
EOF
}

die() { echo "run.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
    --seconds) seconds="${2:-}"; shift 2 ;;
    --rounds) rounds="${2:-}"; shift 2 ;;
    --idle) idle="${2:-}"; shift 2 ;;
    --no-build) build=0; shift ;;
    --build-dir) build_dir="${2:-}"; shift 2 ;;
    --crowd) crowd="${2:-}"; shift 2 ;;
    --fanout) fanout="${2:-}"; shift 2 ;;
    --no-extras) extras=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
    esac
done
[[ "$seconds" =~ ^[0-9]+([.][0-9]+)?$ ]] && awk -v s="$seconds" 'BEGIN{exit !(s > 0)}' ||
    die "--seconds wants a positive number, got '$seconds'"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die "--rounds wants a whole number of at least 1, got '$rounds'"
[[ "$idle" =~ ^[1-9][0-9]*$ ]] || die "--idle wants a whole number of at least 1, got '$idle'"
[ -n "$build_dir" ] || die "--build-dir needs a value"
[[ "$crowd" =~ ^[0-9]+$ ]] || die "--crowd wants a whole number, got '$crowd'"
[[ "$fanout" =~ ^[0-9]+$ ]] || die "--fanout wants a whole number, got '$fanout'"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
case "$build_dir" in /*) ;; *) build_dir="$root/$build_dir" ;; esac
bin="$build_dir/bin"

work="$(mktemp -d "${TMPDIR:-/tmp}/portico-bench.XXXXXX")"
server_pids=()
bench_pids=()

stop_pid() {
    local pid="$1"
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local pid
    for pid in "${bench_pids[@]+"${bench_pids[@]}"}" "${server_pids[@]+"${server_pids[@]}"}"; do
        stop_pid "$pid"
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- build ---------------------------------------------------------------

if [ "$build" = 1 ]; then
    echo "== building Release in $build_dir"
    cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DPORTICO_BUILD_TESTS=OFF >"$work/configure.log" 2>&1 ||
        { tail -n 30 "$work/configure.log" >&2; die "cmake configure failed (log above)"; }
    # The bench tools first: they are what this script cannot do without.
    cmake --build "$build_dir" -j2 --target portico-bench portico-echo-server >"$work/build-bench.log" 2>&1 ||
        { tail -n 30 "$work/build-bench.log" >&2; die "building the bench tools failed (log above)"; }
    if ! cmake --build "$build_dir" -j2 >"$work/build.log" 2>&1; then
        echo "run.sh: the full build failed; Portico may be skipped. Last lines:" >&2
        tail -n 15 "$work/build.log" >&2
    fi
fi
[ -x "$bin/portico-bench" ] || die "$bin/portico-bench is missing (build first, or drop --no-build)"
[ -x "$bin/portico-echo-server" ] || die "$bin/portico-echo-server is missing"

# ---- machine -------------------------------------------------------------

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fd_limit="$(ulimit -n)"
# Raised for this script and what it starts only, never for the system.
need_fds=$((idle > crowd ? idle : crowd))
need_fds=$((need_fds > fanout ? need_fds : fanout))
need_fds=$((need_fds + 200))
if [ "$fd_limit" != unlimited ] && [ "$fd_limit" -lt "$need_fds" ]; then
    # Root may raise the hard limit of this shell (and its children) too.
    ulimit -Hn "$need_fds" 2>/dev/null && ulimit -n "$need_fds" 2>/dev/null || true
    fd_limit="$(ulimit -n)"
fi
if [ "$fd_limit" != unlimited ] && [ "$fd_limit" -lt $((idle + 200)) ]; then
    die "the open-file limit is $fd_limit but --idle $idle needs more; raise the hard limit or lower --idle"
fi
if [ "$fd_limit" != unlimited ] && [ "$crowd" -gt 0 ] && [ "$fd_limit" -lt $((crowd + 200)) ]; then
    echo "run.sh: the open-file limit is $fd_limit: the crowd run is lowered to $((fd_limit - 200)) connections" >&2
    crowd=$((fd_limit - 200))
fi

cores="$(nproc)"
if [ "$cores" -ge 2 ] && command -v taskset >/dev/null; then
    pin_server=(taskset -c 0)
    pin_bench=(taskset -c 1)
    pinning="server on core 0, generator on core 1"
else
    pin_server=()
    pin_bench=()
    pinning="no pinning (one core or no taskset)"
fi
# Servers print their URL and readiness on stdout; make sure it is not
# held back in a buffer because stdout is a file.
line_buffered=()
if command -v stdbuf >/dev/null; then
    line_buffered=(stdbuf -oL)
fi

# Share of all CPUs busy over one second, from /proc/stat.
busy_percent() {
    local a b
    a=($(head -n 1 /proc/stat))
    sleep 1
    b=($(head -n 1 /proc/stat))
    awk -v u1="${a[1]}" -v n1="${a[2]}" -v s1="${a[3]}" -v i1="${a[4]}" -v w1="${a[5]}" -v q1="${a[6]}" -v sq1="${a[7]}" -v st1="${a[8]}" \
        -v u2="${b[1]}" -v n2="${b[2]}" -v s2="${b[3]}" -v i2="${b[4]}" -v w2="${b[5]}" -v q2="${b[6]}" -v sq2="${b[7]}" -v st2="${b[8]}" \
        'BEGIN { idle = (i2 + w2) - (i1 + w1); all = (u2+n2+s2+i2+w2+q2+sq2+st2) - (u1+n1+s1+i1+w1+q1+sq1+st1);
                 if (all <= 0) print 0; else printf "%d\n", 100 * (all - idle) / all }'
}
busy_rounds=0

# ---- servers -------------------------------------------------------------

server_pid=""
server_url=""

# Waits up to 10 s for a line matching $2 in file $1; prints the line.
wait_for_line() {
    local file="$1" pattern="$2" pid="$3"
    for _ in $(seq 100); do
        if grep -m 1 -E "$pattern" "$file" 2>/dev/null; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

start_echo() {
    local log="$work/echo.log"
    "${pin_server[@]}" "${line_buffered[@]}" "$bin/portico-echo-server" --listen 127.0.0.1:0 --threads 1 >"$log" 2>&1 &
    server_pid=$!
    server_pids+=("$server_pid")
    local line
    line="$(wait_for_line "$log" '^listening on ws://' "$server_pid")" ||
        { cat "$log" >&2; die "the echo server did not start"; }
    server_url="$(sed -E 's/^listening on (ws:\/\/[^ ]*).*/\1/' <<<"$line")"
}

portico_config="$work/portico.json"
cat >"$portico_config" <<'EOF'
{
  "log_level": "warn",
  "gateway": { "listen": "127.0.0.1:0", "path": "/ws", "threads": 1, "max_connections_per_ip": 1000000, "max_connections": 1000000 },
  "plugins": { "dice": { "endpoint": "tcp://127.0.0.1:0", "workers": 1 } }
}
EOF

portico_ok=1
portico_why=""
if [ ! -x "$bin/portico" ]; then
    portico_ok=0
    portico_why="$bin/portico does not exist (the host is not built yet)"
fi

# Returns 1 (and says why in portico_why) if Portico does not get ready.
# start_portico [CONFIG [PREFIX...]]: by default the A/B config, pinned like
# the echo server; PREFIX replaces the pinning (`env`: nothing pinned).
start_portico() {
    local config="${1:-$portico_config}"
    [ $# -gt 0 ] && shift
    local pin=("${pin_server[@]+"${pin_server[@]}"}")
    [ $# -gt 0 ] && pin=("$@")
    local log="$work/portico.log"
    "${pin[@]+"${pin[@]}"}" "${line_buffered[@]}" "$bin/portico" --config "$config" >"$log" 2>&1 &
    server_pid=$!
    server_pids+=("$server_pid")
    if ! wait_for_line "$log" '^portico: ready' "$server_pid" >/dev/null; then
        portico_why="portico did not print 'portico: ready' within 10 s; its output:"$'\n'"$(tail -n 20 "$log")"
        stop_pid "$server_pid"
        return 1
    fi
    local line
    line="$(grep -m 1 -E 'gateway listening on wss?://' "$log")" ||
        { portico_why="portico is ready but printed no 'gateway listening on ws://...' line"; stop_pid "$server_pid"; return 1; }
    server_url="$(sed -E 's/.*gateway listening on (wss?:\/\/[^ ]*).*/\1/' <<<"$line")"
}

stop_server() {
    stop_pid "$server_pid"
    server_pid=""
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# ---- measurements --------------------------------------------------------

# field NAME LINE: the value of NAME=... in a summary line.
field() { awk -v k="$1" '{ for (i = 1; i <= NF; i++) { n = index($i, "="); if (substr($i, 1, n - 1) == k) print substr($i, n + 1) } }' <<<"$2"; }

bench_timeout() { awk -v s="$1" 'BEGIN { printf "%d\n", s + 40 }'; }

# run_bench LOGNAME ARGS...: runs portico-bench, prints its summary line.
run_bench() {
    local name="$1"
    shift
    local out="$work/$name.out" err="$work/$name.err"
    if ! timeout "$(bench_timeout "$seconds")" "${pin_bench[@]}" "$bin/portico-bench" --no-progress "$@" >"$out" 2>"$err"; then
        echo "run.sh: portico-bench failed ($name):" >&2
        tail -n 10 "$err" >&2
        return 1
    fi
    grep -m 1 '^summary ' "$out"
}

# Memory per idle connection: the server's RSS growth while N connections
# sit idle after the handshake, divided by the connections that came up.
measure_idle() {
    local form="$1" name="$2"
    local before after err="$work/$name.err" out="$work/$name.out"
    sleep 0.5
    before="$(rss_kib "$server_pid")"
    local hold
    hold="$(awk -v s="$seconds" 'BEGIN { printf "%d\n", (s < 3 ? 3 : s) }')"
    timeout $((hold + 60)) "${pin_bench[@]}" "$bin/portico-bench" --no-progress --url "$server_url" $form \
        --conns 0 --idle-conns "$idle" --seconds "$hold" --connect-timeout 30 >"$out" 2>"$err" &
    local bench_pid=$!
    bench_pids+=("$bench_pid")
    # Read the RSS once every connection is up and has settled.
    for _ in $(seq 400); do
        grep -q '^portico-bench: connected' "$err" 2>/dev/null && break
        kill -0 "$bench_pid" 2>/dev/null || break
        sleep 0.1
    done
    sleep 1
    after="$(rss_kib "$server_pid")"
    wait "$bench_pid" || { tail -n 5 "$err" >&2; return 1; }
    local up
    up="$(field idle_up "$(grep -m 1 '^summary ' "$out")")"
    [ -n "$up" ] && [ "$up" -gt 0 ] || { echo "run.sh: no idle connection came up" >&2; return 1; }
    [ "$up" -eq "$idle" ] || echo "run.sh: only $up of $idle idle connections came up" >&2
    awk -v a="$after" -v b="$before" -v n="$up" 'BEGIN { printf "%.0f\n", (a - b) * 1024 / n }'
}

# CPU used during a run by neither the generator nor the server (% of one core).
other_cpu() {
    awk -v m="$(field machine_cpu_pct "$1")" -v c="$(field cpu_pct "$1")" -v s="$(field server_cpu_pct "$1")" \
        'BEGIN { if (m == "" || s == "") print 0; else { o = m - c - s; printf "%.0f\n", (o < 0 ? 0 : o) } }'
}
disturbed=0

declare -A results
record() { results["$1"]+="$2 "; }

# One target, one round: fresh server, memory, load, latency.
measure_target() {
    local target="$1" round="$2" form
    if [ "$target" = echo ]; then
        start_echo
        form="--echo"
    else
        start_portico || return 1
        form=""
    fi
    local mem load lat
    mem="$(measure_idle "$form" "$target-idle-$round")" || { stop_server; return 1; }
    load="$(run_bench "$target-load-$round" --url "$server_url" $form --conns 32 --inflight 8 \
        --seconds "$seconds" --warmup "$warmup" --server-pid "$server_pid")" || { stop_server; return 1; }
    lat="$(run_bench "$target-lat-$round" --url "$server_url" $form --conns 1 --inflight 1 \
        --seconds "$seconds" --warmup "$warmup" --server-pid "$server_pid")" || { stop_server; return 1; }
    stop_server

    record "$target.mem" "$mem"
    record "$target.rtt" "$(field rtt_per_s "$load")"
    record "$target.server_cpu" "$(field server_cpu_pct "$load")"
    record "$target.bench_cpu" "$(field cpu_pct "$load")"
    record "$target.p50" "$(field p50_us "$lat")"
    record "$target.p99" "$(field p99_us "$lat")"
    local bad=$(($(field errors "$load") + $(field lost "$load") + $(field errors "$lat") + $(field lost "$lat")))
    record "$target.bad" "$bad"
    local other note=""
    other="$(awk -v a="$(other_cpu "$load")" -v b="$(other_cpu "$lat")" 'BEGIN { print (a > b ? a : b) }')"
    if awk -v o="$other" 'BEGIN { exit !(o > 15) }'; then
        disturbed=$((disturbed + 1))
        note="  (other work used ${other}% CPU during a run: unreliable)"
    fi
    printf '   %-7s rtt/s %10s  server cpu %5s%%  bench cpu %5s%%  |  1x1 p50 %7s us  p99 %7s us  |  idle %7s B/conn  |  errors+lost %s%s\n' \
        "$target" "$(field rtt_per_s "$load")" "$(field server_cpu_pct "$load")" "$(field cpu_pct "$load")" \
        "$(field p50_us "$lat")" "$(field p99_us "$lat")" "$mem" "$bad" "$note"
}

echo "== $rounds round(s), ${seconds}s per run (+${warmup}s warm-up), $idle idle connections, $pinning"
if [ "$portico_ok" = 0 ]; then
    echo "run.sh: skipping Portico: $portico_why"
fi

for round in $(seq "$rounds"); do
    busy="$(busy_percent)"
    note=""
    if [ "$busy" -gt 20 ]; then
        busy_rounds=$((busy_rounds + 1))
        note=" (machine already ${busy}% busy before the round: figures are unreliable)"
    fi
    echo "-- round $round$note"
    measure_target echo "$round" || die "the echo server run failed"
    if [ "$portico_ok" = 1 ]; then
        if ! measure_target portico "$round"; then
            portico_ok=0
            echo "run.sh: skipping Portico from now on: ${portico_why:-its run failed (see above)}" >&2
        fi
    fi
done

# ---- table ---------------------------------------------------------------

median() {
    [ -n "${1:-}" ] || { echo "n/a"; return; }
    tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g |
        awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() {
    if [ "$1" = n/a ] || [ "$2" = n/a ]; then echo "n/a"; return; fi
    awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f\n", a / b }'
}
sum() { tr ' ' '\n' <<<"${1:-}" | awk '{ s += $1 } END { print s + 0 }'; }

echo
echo "== medians over $rounds round(s)"
printf '%-34s %14s %14s %14s\n' "metric" "echo" "portico" "portico/echo"
row() {
    local label="$1" key="$2"
    local e p
    e="$(median "${results[echo.$key]:-}")"
    p="$(median "${results[portico.$key]:-}")"
    printf '%-34s %14s %14s %14s\n' "$label" "$e" "$p" "$(ratio "$p" "$e")"
}
row "throughput 32x8 (round trips/s)" rtt
row "latency 1x1 p50 (us)" p50
row "latency 1x1 p99 (us)" p99
row "memory per idle connection (B)" mem
row "server CPU during 32x8 (%)" server_cpu
row "generator CPU during 32x8 (%)" bench_cpu
printf '%-34s %14s %14s\n' "errors + lost (all runs)" "$(sum "${results[echo.bad]:-}")" \
    "$( [ -n "${results[portico.bad]:-}" ] && sum "${results[portico.bad]}" || echo n/a)"
if [ -z "${results[portico.rtt]:-}" ]; then
    echo "(Portico not measured: ${portico_why:-see above})"
fi
if [ "$busy_rounds" -gt 0 ] || [ "$disturbed" -gt 0 ]; then
    echo "warning: other work was running on this machine ($busy_rounds round(s) started busy," \
        "$disturbed server run(s) disturbed); rerun on a quiet machine before trusting the figures"
fi

# ---- extras: scaling, engine processes, a crowd -----------------------------

[ "$extras" = 1 ] && [ "$portico_ok" = 1 ] || exit 0

# extra_line LABEL SUMMARY: one line of figures from a portico-bench summary.
extra_line() {
    printf '   %-52s rtt/s %10s  p50 %8s us  p99 %8s us  errors+lost %s\n' "$1" "$(field rtt_per_s "$2")" \
        "$(field p50_us "$2")" "$(field p99_us "$2")" $(($(field errors "$2") + $(field lost "$2")))
}

echo
echo "== scaling: gateway threads + engine workers, and the cores they may use"
# one core: pinned as in the rounds above; all cores: nothing pinned, the
# generator (with as many threads) shares them.
for setup in "1 pinned" "1 all" "2 all"; do
    set -- $setup
    n="$1"
    config="$work/portico-$n.json"
    cat >"$config" <<JSON
{
  "log_level": "warn",
  "gateway": { "listen": "127.0.0.1:0", "path": "/ws", "threads": $n, "max_connections_per_ip": 1000000, "max_connections": 1000000 },
  "plugins": { "dice": { "endpoint": "tcp://127.0.0.1:0", "workers": $n } }
}
JSON
    saved_pin=("${pin_bench[@]+"${pin_bench[@]}"}")
    if [ "$2" = pinned ]; then
        start_portico "$config" || { echo "run.sh: $portico_why" >&2; break; }
        where="server on core 0"
    else
        start_portico "$config" env || { echo "run.sh: $portico_why" >&2; break; }
        pin_bench=()
        where="all $cores cores"
    fi
    for conns in 32 64; do
        line="$(run_bench "scale-$n-$2-$conns" --url "$server_url" --conns "$conns" --inflight 8 --threads "$n" \
            --seconds "$seconds" --warmup "$warmup" --server-pid "$server_pid")" || break
        extra_line "threads=$n workers=$n, $where, ${conns}x8" "$line"
    done
    pin_bench=("${saved_pin[@]+"${saved_pin[@]}"}")
    stop_server
done

# compare_variant NAME BASE VARIANT CONFIG QUERY: portico on its A/B config
# (BASE) and on CONFIG, its URL with QUERY appended (VARIANT), alternately,
# twice each at 32x8; prints each run and the ratio of the medians.
compare_variant() {
    local name="$1" base="$2" variant="$3" config="$4" query="$5"
    local mode url line base_rtt="" variant_rtt=""
    for mode in base variant base variant; do
        if [ "$mode" = variant ]; then
            start_portico "$config" || { echo "run.sh: $portico_why" >&2; return 1; }
            url="$server_url$query"
        else
            start_portico || { echo "run.sh: $portico_why" >&2; return 1; }
            url="$server_url"
        fi
        line="$(run_bench "$name-$mode" --url "$url" --conns 32 --inflight 8 --seconds "$seconds" --warmup "$warmup" \
            --server-pid "$server_pid")" || { stop_server; return 1; }
        stop_server
        if [ "$mode" = variant ]; then
            extra_line "$variant, 32x8" "$line"
            variant_rtt+="$(field rtt_per_s "$line") "
        else
            extra_line "$base, 32x8" "$line"
            base_rtt+="$(field rtt_per_s "$line") "
        fi
    done
    echo "   $variant / $base (medians): $(ratio "$(median "$variant_rtt")" "$(median "$base_rtt")")"
}

echo
echo "== metrics: ops.metrics on (the default) versus off, 32x8, server pinned; on, off, on, off"
# Counting is per loop and summed at scrape time: the request path pays a
# clock read and a few plain adds per request.
cat >"$work/portico-no-metrics.json" <<JSON
{
  "log_level": "warn",
  "gateway": { "listen": "127.0.0.1:0", "path": "/ws", "threads": 1, "max_connections_per_ip": 1000000, "max_connections": 1000000 },
  "ops": { "metrics": false },
  "plugins": { "dice": { "endpoint": "tcp://127.0.0.1:0", "workers": 1 } }
}
JSON
compare_variant metrics "metrics on" "metrics off" "$work/portico-no-metrics.json" ""

echo
echo "== auth: gateway.auth.jwt (HS256) on versus off, 32x8, server pinned; off, on, off, on"
# The token rides in the query string; verifying it costs the upgrade only.
if command -v openssl >/dev/null; then
    b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
    auth_secret="bench secret of at least thirty-two bytes, for HS256"
    printf '%s\n' "$auth_secret" >"$work/jwt.secret"
    auth_input="$(printf '{"alg":"HS256","typ":"JWT"}' | b64url).$(printf '{"sub":"bench","exp":%d}' $(($(date +%s) + 86400)) | b64url)"
    auth_token="$auth_input.$(printf '%s' "$auth_input" | openssl dgst -sha256 -hmac "$auth_secret" -binary | b64url)"
    cat >"$work/portico-auth.json" <<JSON
{
  "log_level": "warn",
  "gateway": { "listen": "127.0.0.1:0", "path": "/ws", "threads": 1, "max_connections_per_ip": 1000000, "max_connections": 1000000,
               "auth": { "jwt": { "algorithms": ["HS256"], "secret_file": "$work/jwt.secret" } } },
  "plugins": { "dice": { "endpoint": "tcp://127.0.0.1:0", "workers": 1 } }
}
JSON
    compare_variant auth "auth off" "auth on" "$work/portico-auth.json" "?access_token=$auth_token"
else
    echo "run.sh: no openssl command to sign a token with: auth run skipped" >&2
fi

echo
echo "== wss versus ws (gateway.tls, a P-256 certificate), 32x8, server pinned; ws, wss, ws, wss"
if command -v openssl >/dev/null &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
        -keyout "$work/tls.key" -out "$work/tls.pem" >/dev/null 2>&1; then
    cat >"$work/portico-tls.json" <<JSON
{
  "log_level": "warn",
  "gateway": { "listen": "127.0.0.1:0", "path": "/ws", "threads": 1, "max_connections_per_ip": 1000000, "max_connections": 1000000,
               "tls": { "cert_file": "$work/tls.pem", "key_file": "$work/tls.key" } },
  "plugins": { "dice": { "endpoint": "tcp://127.0.0.1:0", "workers": 1 } }
}
JSON
    compare_variant tls ws wss "$work/portico-tls.json" ""
else
    echo "run.sh: no openssl command to make a certificate with: wss run skipped" >&2
fi

echo
echo "== engines in processes of their own: portico --role gateway + 2 x portico --role engine, all on the server's core"
engine_addresses=()
for i in 1 2; do
    config="$work/engine-$i.json"
    cat >"$config" <<'JSON'
{ "log_level": "warn", "plugins": { "dice": { "endpoint": "tcp://127.0.0.1:0", "workers": 1, "idempotent": true } } }
JSON
    log="$work/engine-$i.log"
    "${pin_server[@]+"${pin_server[@]}"}" "${line_buffered[@]}" "$bin/portico" --role engine --config "$config" >"$log" 2>&1 &
    pid=$!
    server_pids+=("$pid")
    line="$(wait_for_line "$log" 'serving on tcp://' "$pid")" || { cat "$log" >&2; die "engine $i did not start"; }
    engine_addresses+=("$(sed -E 's/.*serving on (tcp:\/\/[^ ]*).*/\1/' <<<"$line")")
done
gateway_config="$work/gateway.json"
cat >"$gateway_config" <<JSON
{
  "log_level": "warn",
  "gateway": { "listen": "127.0.0.1:0", "path": "/ws", "threads": 1, "max_connections_per_ip": 1000000, "max_connections": 1000000 },
  "plugins": { "dice": { "connect": ["${engine_addresses[0]}", "${engine_addresses[1]}"], "idempotent": true } }
}
JSON
"${pin_server[@]+"${pin_server[@]}"}" "${line_buffered[@]}" "$bin/portico" --role gateway --config "$gateway_config" \
    >"$work/gateway.log" 2>&1 &
gateway_pid=$!
server_pids+=("$gateway_pid")
if wait_for_line "$work/gateway.log" '^portico: ready' "$gateway_pid" >/dev/null; then
    server_url="$(sed -nE 's/.*gateway listening on (ws:\/\/[^ ]*).*/\1/p' "$work/gateway.log" | head -n 1)"
    line="$(run_bench engines-load --url "$server_url" --conns 32 --inflight 8 --seconds "$seconds" --warmup "$warmup")" &&
        extra_line "gateway + 2 engine processes, 32x8" "$line"
    line="$(run_bench engines-lat --url "$server_url" --conns 1 --inflight 1 --seconds "$seconds" --warmup "$warmup")" &&
        extra_line "gateway + 2 engine processes, 1x1" "$line"
else
    echo "run.sh: the gateway did not start: $(tail -n 5 "$work/gateway.log")" >&2
fi
for pid in "${server_pids[@]}"; do stop_pid "$pid"; done

if [ "$crowd" -gt 0 ]; then
    echo
    echo "== a crowd: $crowd connections, each with one request in flight (server pinned, 1 thread)"
    start_portico || die "$portico_why"
    line="$(run_bench crowd --url "$server_url" --conns "$crowd" --inflight 1 --seconds "$seconds" \
        --warmup "$warmup" --connect-timeout 60 --server-pid "$server_pid")" &&
        { extra_line "$crowd x 1" "$line"; echo "   connections up: $(field conns_up "$line") of $crowd"; }
    stop_server
fi

if [ "$fanout" -gt 0 ]; then
    echo
    echo "== fan-out: $fanout subscribers to one table channel (server pinned, 1 gateway thread, 1 worker)"
    fanout_config="$work/fanout.json"
    cat >"$fanout_config" <<'JSON'
{
  "log_level": "warn",
  "gateway": { "listen": "127.0.0.1:0", "path": "/ws", "threads": 1, "max_connections_per_ip": 1000000, "max_connections": 1000000 },
  "plugins": { "table": { "endpoint": "tcp://127.0.0.1:0", "workers": 1 } }
}
JSON
    if [ ! -x "$bin/portico-fanout" ]; then
        echo "run.sh: $bin/portico-fanout is missing: no fan-out run" >&2
    else
        # Publishers x rolls in flight [x rolls a second each]: one publisher
        # as fast as its window lets it (the most one gateway core delivers),
        # sixteen, then one at 5 and at 20 rolls a second: the latency of a
        # push that does not queue behind the ones before it, and of one that
        # sometimes does.
        for run in "1 64" "16 4" "1 16 5" "1 16 20"; do
            set -- $run
            rate="${3:-0}"
            label="$1 x $2 publishing"
            [ "$rate" != 0 ] && label="$1 x $2 at $rate/s"
            start_portico "$fanout_config" || { echo "run.sh: $portico_why" >&2; break; }
            out="$work/fanout.out"
            if timeout "$(bench_timeout "$seconds" | awk '{ print $1 + 120 }')" "${pin_bench[@]}" "$bin/portico-fanout" \
                --url "$server_url" --subscribers "$fanout" --seconds "$seconds" --publishers "$1" --window "$2" \
                --rate "$rate" >"$out" 2>"$work/fanout.err"; then
                line="$(grep -m 1 '^summary ' "$out")"
                printf '   %-34s %s deliveries/s, p50 %s us, p99 %s us, lost %s (announced missed %s) over %s publishes\n' \
                    "$fanout subscribers, $label" "$(field deliveries_per_s "$line")" "$(field p50_us "$line")" \
                    "$(field p99_us "$line")" "$(field lost "$line")" "$(field missed "$line")" "$(field publishes "$line")"
            else
                echo "run.sh: portico-fanout failed: $(tail -n 3 "$work/fanout.err") $(cat "$out")" >&2
            fi
            stop_server
        done
    fi
fi
