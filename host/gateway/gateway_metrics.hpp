#pragma once
// What one gateway loop counts, written by that loop's thread only (see
// core/metrics.hpp) and summed over the loops when /metrics is scraped.
// Labels stay bounded: plugins are those configured, outcomes and close
// codes have a fixed number of slots, and no client id is ever a label.
#include "core/metrics.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace portico {

// One plugin's requests on one loop.
struct PluginCounters {
    LabelledCounter outcomes;  // "ok" or the error code
    LoopHistogram duration;    // from the frame read to the reply queued
    LoopCounter started;       // sent to an engine; in flight = started - ended
    LoopCounter ended;
    LoopCounter events;          // progress events queued for clients
    LoopCounter events_dropped;  // ... and dropped for a client that reads too slowly
    LoopCounter pushes;          // channel messages queued for subscribed clients
    LoopCounter pushes_dropped;  // ... and dropped for a subscriber that reads too slowly
};

// What a pending request carries for its measurement.
struct RequestMeter {
    PluginCounters* counters = nullptr;  // null: metrics are off
    std::chrono::steady_clock::time_point received;

    void finish(std::string_view outcome, std::chrono::steady_clock::time_point now) const {
        if (counters == nullptr) return;
        counters->outcomes.add(outcome);
        counters->duration.observe(now - received);
        counters->ended.add();
    }
};

class LoopMetrics {
public:
    LoopCounter connections_total;  // WebSocket connections upgraded
    LoopCounter bytes_in;           // message payload bytes read from clients
    LoopCounter bytes_out;          // reply and error bytes queued for clients
    LabelledCounter closes;         // connections ended, by close code ("1006": no close frame)
    LabelledCounter rejected;       // messages answered before any plugin saw them, by error code

    // The counters of `plugin` on this loop, made on first use; they live as
    // long as the loop, so a reload never resets them. The loop's thread.
    PluginCounters& plugin(std::string_view name);

    // Any thread: visit(name, counters) for each plugin seen.
    template <class Visit>
    void for_each_plugin(Visit&& visit) const {
        std::lock_guard<std::mutex> lock(mutex_);
        for (const auto& [name, counters] : plugins_) visit(name, *counters);
    }

private:
    mutable std::mutex mutex_;  // the map's shape; the counters themselves are lock-free
    std::map<std::string, std::unique_ptr<PluginCounters>, std::less<>> plugins_;
};

}  // namespace portico
