#pragma once
// The portico host: owns the zmq context, the loaded plugins, their engine
// endpoints and the WebSocket gateway, starts them in that order and stops
// them in reverse. main() only parses arguments and runs it.
#include "config.hpp"
#include "engine_endpoint.hpp"
#include "engine_supervisor.hpp"
#include "error.hpp"
#include "gateway.hpp"
#include "logger.hpp"
#include "net.hpp"
#include "plugin_loader.hpp"

#include <zmq.hpp>

#include <atomic>
#include <functional>
#include <iosfwd>
#include <mutex>
#include <thread>
#include <memory>
#include <string>
#include <vector>

namespace portico {

class Host {
public:
    // `announce` receives the lines that say where portico listens.
    Host(Config config, Logger& log, std::ostream& announce);
    ~Host();
    Host(const Host&) = delete;
    Host& operator=(const Host&) = delete;

    // Loads every plugin, binds every endpoint and the gateway. On any error
    // nothing keeps running and the error says what and where.
    Expected<bool> start();
    // Runs the control loop until SIGINT/SIGTERM or request_stop(), then
    // stops. SIGHUP reloads the config (see reload()).
    void run();
    // Where reload() reads the config again (the file given at start-up).
    void set_config_source(std::function<Expected<Config>()> source) { config_source_ = std::move(source); }
    // Re-reads the config and applies the plugin changes without dropping a
    // client: new plugins are loaded and served; removed ones stop taking
    // requests, finish those in flight and are unloaded; a plugin whose .so
    // changed on disk, or whose settings changed, is loaded anew and takes
    // new requests while the old one drains. If anything fails to load or
    // bind, nothing changes and the error says why. Gateway settings need a
    // restart. Returns a one-line summary. Thread-safe; blocks while old
    // engines drain, so SIGHUP runs it on a thread of its own.
    Expected<std::string> reload();
    // Thread-safe: makes run() stop the host and return.
    void request_stop();
    void stop();

    const Config& config() const noexcept { return config_; }
    // After start(): what was actually bound (ports resolved).
    std::uint16_t gateway_port() const noexcept { return gateway_port_; }
    std::string endpoint_of(const std::string& plugin) const;

private:
    // What a reload will change, made ready without touching what runs.
    struct ReloadPlan {
        struct Swap {
            EngineEndpoint* endpoint;
            std::shared_ptr<LoadedPlugin> plugin;
            PluginConfig config;
        };
        Config next;
        std::vector<Swap> swaps;                               // same address, a new engine
        std::vector<std::unique_ptr<EngineEndpoint>> started;  // new endpoints (new plugins or new addresses)
        std::vector<EngineEndpoint*> to_stop;                  // endpoints that go away
    };
    // Loads every new or changed engine and binds every new endpoint; any
    // failure undoes what it did and is returned.
    Expected<ReloadPlan> prepare_reload(Config next);
    // Applies a prepared plan; returns the one-line summary.
    std::string commit_reload(ReloadPlan plan);
    EngineRoute engine_route(const PluginConfig& plugin) const;
    EngineEndpoint* endpoint_named(const std::string& name) const;
    Expected<bool> start_supervisor(const PluginConfig& plugin);
    std::vector<std::string> isolated_starts(const Config& next) const;
    void reconcile_isolated();
    void stop_supervisors(std::function<void()> done);
    void reload_in_background();
    // On the control thread: drains and stops everything without blocking it.
    void begin_shutdown();

    Config config_;
    Logger& log_;
    std::ostream& announce_;
    net::io_context control_{1};
    net::signal_set signals_;
    zmq::context_t zmq_context_;
    std::string work_dir_;  // private files: child configs, ipc sockets, plugin copies
    std::vector<std::unique_ptr<EngineEndpoint>> endpoints_;  // each owns its plugin
    std::vector<std::unique_ptr<EngineSupervisor>> supervisors_;  // isolated plugins; control thread only
    std::vector<PluginConfig> wanted_isolated_;                    // what the latest config isolates; control thread
    std::unique_ptr<Gateway> gateway_;
    std::uint16_t gateway_port_ = 0;
    bool running_ = false;
    std::atomic<bool> shutting_down_{false};  // set on the control thread
    std::function<Expected<Config>()> config_source_;
    std::mutex reload_mutex_;  // one reload at a time, never during stop()
    std::thread reload_thread_;
    std::atomic<bool> reloading_{false};
};

}  // namespace portico
