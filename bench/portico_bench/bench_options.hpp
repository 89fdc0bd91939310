#pragma once

#include "ws_url.hpp"

#include <string>

namespace portico::bench {

// How requests and replies look on the wire.
enum class WireForm {
    envelope,   // JSON {"id","plugin","payload"}; reply carries the id and "ok"
    shorthand,  // "plugin payload"; reply is the result text or "error: ..."
    echo,       // JSON envelope sent to an echo server; the reply is the request
};

struct BenchOptions {
    std::string url = "ws://127.0.0.1:8088/ws";
    WsUrl endpoint;  // parsed from url
    std::string plugin = "dice";
    std::string payload = "3d6";
    WireForm form = WireForm::envelope;

    int conns = 1;
    int inflight = 1;
    int idle_conns = 0;
    int threads = 1;

    double seconds = 10.0;
    double warmup = 0.0;
    double grace = 2.0;
    double connect_timeout = 10.0;

    bool json = false;
    bool progress = true;
    int server_pid = 0;  // when set, the server's CPU use over the window is reported
};

// Outcome of reading the command line: options, a request for help, or an
// error message for the user. Errors are values; nothing here exits.
struct OptionsResult {
    BenchOptions options;
    bool help = false;
    std::string error;
};

OptionsResult parse_bench_options(int argc, char const* const* argv);

std::string bench_usage();

}  // namespace portico::bench
