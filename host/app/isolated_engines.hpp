#pragma once
// The plugins this host isolates ("isolate": true), each in a supervised
// child process. Everything here runs on the control thread: a reload
// posts the set it wants (want()), and the running children are brought to
// it, a changed one restarted only once its predecessor has exited (they
// share a private socket), so reloads in quick succession just move the goal.
#include "app/announcer.hpp"
#include "app/engine_supervisor.hpp"
#include "config/config.hpp"
#include "core/error.hpp"
#include "core/logger.hpp"
#include "core/net.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace portico {

class IsolatedEngines {
public:
    // `curve`: the host's, handed to every child (its endpoints speak Curve too).
    IsolatedEngines(net::io_context& control, std::string work_dir, LogLevel level, std::chrono::milliseconds grace,
                    Logger& log, Announcer& announce, std::optional<CurveConfig> curve = std::nullopt);
    ~IsolatedEngines();
    IsolatedEngines(const IsolatedEngines&) = delete;
    IsolatedEngines& operator=(const IsolatedEngines&) = delete;

    // Where the gateway reaches the isolated engine of `plugin`.
    std::string endpoint_for(const std::string& plugin) const;
    // Called when a child exits by itself, with the address it served.
    using ExitHandler = std::function<void(const std::string& plugin, const std::string& endpoint)>;
    void on_exit(ExitHandler handler) { on_exit_ = std::move(handler); }

    // Start-up: starts each; the first that fails is returned (the others stop).
    Expected<bool> start(const std::vector<PluginConfig>& plugins);
    // Reload: what the latest config isolates here.
    void want(std::vector<PluginConfig> plugins);
    // Stops every child (SIGTERM, then SIGKILL after the grace period);
    // `done` runs on the control thread once all have been reaped.
    void async_stop(std::function<void()> done);
    // The same, blocking (a failed start, destruction).
    void stop_now();

private:
    Expected<bool> start_one(const PluginConfig& plugin);
    void reconcile();

    net::io_context& control_;
    std::string work_dir_;
    LogLevel level_;
    std::optional<CurveConfig> curve_;
    std::chrono::milliseconds grace_;
    Logger& log_;
    Announcer& announce_;
    ExitHandler on_exit_;
    std::vector<std::unique_ptr<EngineSupervisor>> supervisors_;
    std::vector<PluginConfig> wanted_;
    bool stopping_ = false;
};

}  // namespace portico
