#pragma once
// GET /metrics, /healthz and /readyz: what they answer, from the host's
// parts. Registered on the gateway's listener, or on the ops listener when
// ops.listen names one (see docs/deployment.md).
#include "core/metrics.hpp"
#include "gateway/http_routes.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace portico {

class Gateway;

// What the host counts itself (the gateway counts per loop).
struct HostCounters {
    std::atomic<std::uint64_t> reloads_applied{0};
    std::atomic<std::uint64_t> reloads_refused{0};
    LabelledCounter isolated_exits;  // by plugin; the control thread writes it
    std::chrono::system_clock::time_point started = std::chrono::system_clock::now();
};

using AddRoute = std::function<void(std::string path, HttpRouteTable::Handler handler)>;

// `gateway`: null in a process without one (role "engine"): then /readyz
// says ready once the host has started, and /metrics holds the host's own.
// `metrics` false: /metrics is not served.
void add_ops_routes(const AddRoute& add, const Gateway* gateway, const HostCounters& counters, bool metrics);

}  // namespace portico
