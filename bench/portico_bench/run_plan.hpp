#pragma once

#include "net.hpp"
#include "wire_format.hpp"

#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace portico::bench {

using Clock = std::chrono::steady_clock;

// What every connection of a run shares; read-only once the workers start.
struct RunPlan {
    tcp::endpoint endpoint;
    std::string host_header;
    std::string target;
    std::string server_name;                       // for SNI, with TLS
    std::shared_ptr<net::ssl::context> tls;        // wss://: every connection's client context
    WireFormat wire;
    int inflight = 1;
    std::size_t max_message = 16 * 1024 * 1024;
    // A loaded connection reads whatever the socket holds in one call.
    std::size_t loaded_read_buffer = 64 * 1024;
    // An idle connection only ever sees pings and a close frame.
    std::size_t idle_read_buffer = 512;
};

// The measured window, handed to each connection when the load starts.
struct RunWindow {
    Clock::time_point warm_end;     // replies and latencies count from here
    Clock::time_point measure_end;  // no request is sent from here on
};

}  // namespace portico::bench
