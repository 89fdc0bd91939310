#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace portico::bench {

// Everything the final report says about one run.
struct RunSummary {
    int conns = 0;
    int inflight = 0;
    int idle_conns = 0;
    int threads = 0;
    double seconds = 0;
    double warmup = 0;
    std::string form;

    int conns_up = 0;
    int idle_up = 0;
    double rtt_per_s = 0;
    std::uint64_t samples = 0;  // latency samples (requests sent in the window)
    double p50_us = 0;
    double p90_us = 0;
    double p99_us = 0;
    double p999_us = 0;
    double max_us = 0;
    double mean_us = 0;

    std::uint64_t sent = 0;
    std::uint64_t errors = 0;
    std::uint64_t failed_replies = 0;
    std::uint64_t malformed_replies = 0;
    std::uint64_t unknown_ids = 0;
    std::uint64_t connect_failures = 0;
    std::uint64_t dropped_connections = 0;
    std::uint64_t lost = 0;

    double cpu_pct = 0;  // of one core, over the window
    std::optional<double> server_cpu_pct;
    // The whole machine, all processes, % of one core: what is neither the
    // bench nor the server is other work disturbing the run.
    std::optional<double> machine_cpu_pct;
};

// One line: "summary conns=32 inflight=8 ... errors=0 lost=0 ...".
std::string summary_line(RunSummary const& s);

// The same as one JSON object, with the error breakdown.
std::string summary_json(RunSummary const& s);

}  // namespace portico::bench
