#include "bench_options.hpp"

#include <charconv>
#include <cmath>
#include <optional>
#include <string_view>

namespace portico::bench {
namespace {

std::optional<long long> to_integer(std::string_view text)
{
    long long value = 0;
    auto const [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty())
        return std::nullopt;
    return value;
}

std::optional<double> to_seconds(std::string_view text)
{
    double value = 0;
    auto const [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty() || !std::isfinite(value))
        return std::nullopt;
    return value;
}

// Reads an integer option within [low, high] or explains why not.
std::string read_integer(std::string_view name, std::string_view text, long long low, long long high, int& out)
{
    auto const value = to_integer(text);
    if (!value || *value < low || *value > high)
        return std::string(name) + " wants a whole number from " + std::to_string(low) + " to " +
               std::to_string(high) + ", got '" + std::string(text) + "'";
    out = static_cast<int>(*value);
    return {};
}

std::string read_seconds(std::string_view name, std::string_view text, bool allow_zero, double& out)
{
    auto const value = to_seconds(text);
    bool const in_range = value && (allow_zero ? *value >= 0.0 : *value > 0.0) && *value <= 86400.0;
    if (!in_range)
        return std::string(name) + " wants a number of seconds " + (allow_zero ? "from 0" : "above 0") +
               " up to 86400, got '" + std::string(text) + "'";
    out = *value;
    return {};
}

bool is_valid_utf8(std::string_view text)
{
    std::size_t i = 0;
    while (i < text.size()) {
        auto const byte = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
        auto const c = byte(0);
        std::size_t extra = 0;
        unsigned char low = 0x80;  // allowed range of the second byte
        unsigned char high = 0xBF;
        if (c < 0x80)
            extra = 0;
        else if (c >= 0xC2 && c <= 0xDF)
            extra = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            extra = 2;
            low = c == 0xE0 ? 0xA0 : 0x80;  // no overlong forms
            high = c == 0xED ? 0x9F : 0xBF;  // no surrogates
        } else if (c >= 0xF0 && c <= 0xF4) {
            extra = 3;
            low = c == 0xF0 ? 0x90 : 0x80;
            high = c == 0xF4 ? 0x8F : 0xBF;
        } else
            return false;
        if (i + extra >= text.size() && extra != 0)
            return false;
        if (extra != 0 && (byte(1) < low || byte(1) > high))
            return false;
        for (std::size_t k = 2; k <= extra; ++k)
            if ((byte(k) & 0xC0) != 0x80)
                return false;
        i += extra + 1;
    }
    return true;
}

}  // namespace

std::string bench_usage()
{
    return R"(portico-bench: WebSocket load generator for Portico plugins

usage: portico-bench [options]

  --url URL            gateway to load, ws:// or wss://HOST:PORT/PATH (default ws://127.0.0.1:8088/ws);
                       wss:// does not verify the certificate (a bench, on loopback)
  --plugin NAME        plugin to call (default dice)
  --payload TEXT       payload sent with every request (default 3d6)
  --conns N            loaded connections (default 1; 0 allowed with --idle-conns)
  --inflight N         requests kept outstanding on each connection (default 1)
  --seconds S          length of the measured window (default 10)
  --warmup S           load before the window, not measured (default 0)
  --grace S            wait for outstanding replies after the window (default 2)
  --threads N          io_context threads; connections are spread over them (default 1)
  --idle-conns N       extra connections that only handshake and stay idle (default 0)
  --connect-timeout S  give up on connections not up after S seconds (default 10)
  --shorthand          send "PLUGIN PAYLOAD" text instead of the JSON envelope
  --echo               the server echoes frames back: check the echoed id only
  --server-pid PID     also report the CPU used by PID over the window (from /proc)
  --json               print the summary as one JSON object
  --no-progress        no per-second progress line on stderr
  --help               this text

Output: a progress line each second on stderr, then one summary line on stdout:
  summary conns=.. inflight=.. seconds=.. rtt_per_s=.. p50_us=.. p90_us=.. p99_us=..
          p999_us=.. max_us=.. errors=.. lost=.. cpu_pct=.. [server_cpu_pct=..] machine_cpu_pct=..
rtt_per_s counts good replies received inside the window; latency percentiles
cover every request sent inside the window. errors counts bad replies and
failed or dropped connections; lost counts requests with no reply by the end
of the grace period. CPU figures are % of one core over the window;
machine_cpu_pct is every process on the machine, so anything above
cpu_pct + server_cpu_pct is other work disturbing the run.
Exit status: 0 run done, 1 run failed, 2 bad arguments.
)";
}

OptionsResult parse_bench_options(int argc, char const* const* argv)
{
    OptionsResult result;
    BenchOptions& o = result.options;
    bool shorthand = false;
    bool echo = false;

    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        std::string_view name = arg;
        std::optional<std::string_view> inline_value;
        if (auto const eq = arg.find('='); arg.substr(0, 2) == "--" && eq != std::string_view::npos) {
            name = arg.substr(0, eq);
            inline_value = arg.substr(eq + 1);
        }

        auto const flag = [&](bool& target) -> std::string {
            if (inline_value)
                return std::string(name) + " takes no value";
            target = true;
            return {};
        };
        // Fetches the option's value from "--x=v" or the next argument.
        auto const value = [&](std::string_view& out) -> std::string {
            if (inline_value) {
                out = *inline_value;
                return {};
            }
            if (i + 1 >= argc)
                return std::string(name) + " needs a value";
            out = argv[++i];
            return {};
        };

        std::string error;
        std::string_view v;
        if (name == "--help" || name == "-h") {
            result.help = true;
            return result;
        } else if (name == "--url") {
            if ((error = value(v)).empty()) {
                o.url = std::string(v);
                if (auto const why = parse_ws_url(v, o.endpoint); !why.empty())
                    error = "--url '" + std::string(v) + "': " + why;
            }
        } else if (name == "--plugin") {
            if ((error = value(v)).empty())
                o.plugin = std::string(v);
        } else if (name == "--payload") {
            if ((error = value(v)).empty())
                o.payload = std::string(v);
        } else if (name == "--conns") {
            if ((error = value(v)).empty())
                error = read_integer(name, v, 0, 100000, o.conns);
        } else if (name == "--inflight") {
            if ((error = value(v)).empty())
                error = read_integer(name, v, 1, 65536, o.inflight);
        } else if (name == "--idle-conns") {
            if ((error = value(v)).empty())
                error = read_integer(name, v, 0, 1000000, o.idle_conns);
        } else if (name == "--threads") {
            if ((error = value(v)).empty())
                error = read_integer(name, v, 1, 256, o.threads);
        } else if (name == "--server-pid") {
            if ((error = value(v)).empty())
                error = read_integer(name, v, 1, 1 << 30, o.server_pid);
        } else if (name == "--seconds") {
            if ((error = value(v)).empty())
                error = read_seconds(name, v, false, o.seconds);
        } else if (name == "--warmup") {
            if ((error = value(v)).empty())
                error = read_seconds(name, v, true, o.warmup);
        } else if (name == "--grace") {
            if ((error = value(v)).empty())
                error = read_seconds(name, v, true, o.grace);
        } else if (name == "--connect-timeout") {
            if ((error = value(v)).empty())
                error = read_seconds(name, v, false, o.connect_timeout);
        } else if (name == "--shorthand") {
            error = flag(shorthand);
        } else if (name == "--echo") {
            error = flag(echo);
        } else if (name == "--json") {
            error = flag(o.json);
        } else if (name == "--no-progress") {
            bool quiet = false;
            error = flag(quiet);
            o.progress = !quiet;
        } else {
            error = "unknown argument '" + std::string(arg) + "' (see --help)";
        }
        if (!error.empty()) {
            result.error = std::move(error);
            return result;
        }
    }

    if (o.endpoint.host.empty())
        parse_ws_url(o.url, o.endpoint);  // the default URL is valid
    if (shorthand && echo)
        result.error = "--shorthand and --echo cannot be used together";
    else if (o.conns == 0 && o.idle_conns == 0)
        result.error = "--conns 0 only makes sense with --idle-conns";
    else if (o.plugin.empty())
        result.error = "--plugin must not be empty";
    else if (!is_valid_utf8(o.plugin) || !is_valid_utf8(o.payload))
        result.error = "--plugin and --payload must be valid UTF-8 (they are sent in text frames)";
    else if (shorthand && o.plugin.find_first_of(" \t\r\n") != std::string::npos)
        result.error = "--plugin must not contain white space with --shorthand";
    if (!result.error.empty())
        return result;

    o.form = shorthand ? WireForm::shorthand : echo ? WireForm::echo : WireForm::envelope;
    return result;
}

}  // namespace portico::bench
