#pragma once
// One event loop of the gateway: an io_context with its own thread, its own
// router and its own link to every plugin. Connections are dealt out to the
// loops, and a connection's requests and replies never leave its loop, so
// nothing is shared between threads on the request path.
#include "core/logger.hpp"
#include "core/net.hpp"
#include "gateway/builtin_plugin.hpp"
#include "gateway/liveness_sweep.hpp"
#include "gateway/router.hpp"
#include "link/link_factory.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace portico {

class GatewayLoop {
public:
    // `status_changed` runs on the loop's thread when a plugin's engines in
    // rotation may have changed (see plugins_without_engine()); `metrics`:
    // whether the loop counts for /metrics; `liveness_period`: how often the
    // loop's connections are checked for silence (LivenessSweep; 0: never);
    // `push_batch`: how long channel messages may wait to go together (Router).
    GatewayLoop(const LinkFactory& links, std::function<void()> status_changed, Logger& log, bool metrics = true,
                std::chrono::milliseconds liveness_period = std::chrono::milliseconds(0),
                std::chrono::milliseconds push_batch = std::chrono::milliseconds(0));
    ~GatewayLoop();
    GatewayLoop(const GatewayLoop&) = delete;
    GatewayLoop& operator=(const GatewayLoop&) = delete;

    net::io_context& io() noexcept { return io_; }
    Router& router() noexcept { return router_; }

    // Links this loop to a plugin's engines (replacing an older link), or
    // unlinks it. Both run on the loop's thread; a replaced or removed link
    // stays until the requests outstanding on it are answered or time out.
    void set_engine(const LinkSpec& spec);
    void remove_engine(const std::string& plugin);
    // The engine of `plugin` at `address` is gone (see EngineLink::engine_gone).
    void engine_gone(const std::string& plugin, const std::string& address);
    void start();
    // Any thread: plugins routed here without an engine in rotation yet.
    std::size_t plugins_without_engine() const;
    // Any thread: the status of each plugin's link on this loop (the
    // gateway's own plugin aside), by plugin name.
    std::map<std::string, LinkStatus> link_statuses() const;
    // Any thread: this loop's counters (all zero when metrics are off).
    const LoopMetrics& metrics() const noexcept { return metrics_; }
    // Asks every connection to close (1001) from the loop's own thread;
    // `when_empty` runs on that thread once the last one has gone.
    void shut_down_clients(std::function<void()> when_empty);
    // Stops the loop and joins its thread; handlers still queued are dropped.
    void stop();

private:
    void retire(std::unique_ptr<EngineLink> link);
    void sweep_retired();

    Logger& log_;
    std::function<void()> status_changed_;
    LoopMetrics metrics_;
    Router router_;  // declared before io_: destroyed sessions still unregister from it
    net::io_context io_{1};
    std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
    std::unique_ptr<LoopLinks> links_;  // after io_ and router_, which its inbox uses
    std::map<std::string, std::unique_ptr<EngineLink>> engines_;
    mutable std::mutex engines_mutex_;  // guards engines_' shape for plugins_without_engine()
    std::atomic<std::size_t> links_pending_{0};  // set_engine() posted, not yet run
    std::vector<std::unique_ptr<EngineLink>> retired_;
    net::steady_timer retire_timer_{io_};
    BuiltinPlugin builtin_{io_, router_};
    LivenessSweep liveness_{io_, router_};
    std::chrono::milliseconds liveness_period_;
    std::thread thread_;
};

}  // namespace portico
