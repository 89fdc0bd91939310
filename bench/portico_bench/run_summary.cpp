#include "run_summary.hpp"

#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace portico::bench {
namespace {

std::string fixed(double value, int decimals)
{
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    return text;
}

// Rounds for JSON output so that numbers read like the text line.
double rounded(double value, int decimals)
{
    double const scale = std::pow(10.0, decimals);
    return std::round(value * scale) / scale;
}

}  // namespace

std::string summary_line(RunSummary const& s)
{
    std::string line = "summary";
    auto const add = [&line](char const* key, std::string const& value) {
        line += ' ';
        line += key;
        line += '=';
        line += value;
    };
    add("conns", std::to_string(s.conns));
    add("inflight", std::to_string(s.inflight));
    add("seconds", fixed(s.seconds, s.seconds == std::floor(s.seconds) ? 0 : 2));
    add("rtt_per_s", fixed(s.rtt_per_s, 1));
    add("p50_us", fixed(s.p50_us, 1));
    add("p90_us", fixed(s.p90_us, 1));
    add("p99_us", fixed(s.p99_us, 1));
    add("p999_us", fixed(s.p999_us, 1));
    add("max_us", fixed(s.max_us, 1));
    add("errors", std::to_string(s.errors));
    add("lost", std::to_string(s.lost));
    add("cpu_pct", fixed(s.cpu_pct, 1));
    if (s.server_cpu_pct)
        add("server_cpu_pct", fixed(*s.server_cpu_pct, 1));
    if (s.machine_cpu_pct)
        add("machine_cpu_pct", fixed(*s.machine_cpu_pct, 1));
    add("mean_us", fixed(s.mean_us, 1));
    add("samples", std::to_string(s.samples));
    add("sent", std::to_string(s.sent));
    add("conns_up", std::to_string(s.conns_up));
    add("idle_conns", std::to_string(s.idle_conns));
    add("idle_up", std::to_string(s.idle_up));
    add("threads", std::to_string(s.threads));
    add("warmup", fixed(s.warmup, s.warmup == std::floor(s.warmup) ? 0 : 2));
    add("form", s.form);
    return line;
}

std::string summary_json(RunSummary const& s)
{
    nlohmann::ordered_json j;
    j["conns"] = s.conns;
    j["inflight"] = s.inflight;
    j["seconds"] = s.seconds;
    j["rtt_per_s"] = rounded(s.rtt_per_s, 1);
    j["p50_us"] = rounded(s.p50_us, 1);
    j["p90_us"] = rounded(s.p90_us, 1);
    j["p99_us"] = rounded(s.p99_us, 1);
    j["p999_us"] = rounded(s.p999_us, 1);
    j["max_us"] = rounded(s.max_us, 1);
    j["errors"] = s.errors;
    j["lost"] = s.lost;
    j["cpu_pct"] = rounded(s.cpu_pct, 1);
    if (s.server_cpu_pct)
        j["server_cpu_pct"] = rounded(*s.server_cpu_pct, 1);
    if (s.machine_cpu_pct)
        j["machine_cpu_pct"] = rounded(*s.machine_cpu_pct, 1);
    j["mean_us"] = rounded(s.mean_us, 1);
    j["samples"] = s.samples;
    j["sent"] = s.sent;
    j["conns_up"] = s.conns_up;
    j["idle_conns"] = s.idle_conns;
    j["idle_up"] = s.idle_up;
    j["threads"] = s.threads;
    j["warmup"] = s.warmup;
    j["form"] = s.form;
    j["error_detail"] = {
        {"failed_replies", s.failed_replies},     {"malformed_replies", s.malformed_replies},
        {"unknown_ids", s.unknown_ids},           {"connect_failures", s.connect_failures},
        {"dropped_connections", s.dropped_connections},
    };
    return j.dump();
}

}  // namespace portico::bench
