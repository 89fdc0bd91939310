#pragma once
// The portico host: owns the zmq context, the engines (in this process and
// isolated), and the WebSocket gateway; starts them in that order and stops
// them in reverse. A SIGHUP hands the config file to the Reloader, on a
// thread of its own. main() only parses arguments and runs it.
#include "app/announcer.hpp"
#include "app/engine_set.hpp"
#include "app/isolated_engines.hpp"
#include "app/ops_routes.hpp"
#include "config/config.hpp"
#include "core/error.hpp"
#include "core/logger.hpp"
#include "core/net.hpp"
#include "engine/curve_authenticator.hpp"
#include "gateway/gateway.hpp"
#include "gateway/ops_server.hpp"
#include "link/link_factory.hpp"

#include <nlohmann/json_fwd.hpp>
#include <zmq.hpp>

#include <atomic>
#include <functional>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace portico {

class Host {
public:
    // `announce` receives the lines that say where portico listens, and the
    // JSON event lines (ready, reloaded, ...: see docs/deployment.md).
    Host(Config config, Logger& log, std::ostream& announce);
    ~Host();
    Host(const Host&) = delete;
    Host& operator=(const Host&) = delete;

    // Loads every plugin, binds every endpoint and the gateway. On any error
    // nothing keeps running and the error says what and where.
    Expected<void> start();
    // Runs the control loop until SIGINT/SIGTERM or request_stop(), then
    // stops. SIGHUP reloads the config from the source set below.
    void run();
    // Where a reload reads the config again (the file given at start-up).
    void set_config_source(std::function<Expected<Config>()> source) { config_source_ = std::move(source); }
    // Re-reads the config and applies it (see Reloader); thread-safe.
    Expected<std::string> reload();
    // Thread-safe: makes run() drain, stop the host and return.
    void request_stop();
    // Stops at once what still runs (what run() leaves is already stopped).
    void stop();

    const Config& config() const noexcept { return config_; }
    // After start(): what was actually bound (ports resolved).
    std::uint16_t gateway_port() const noexcept { return gateway_port_; }
    std::uint16_t ops_port() const noexcept { return ops_port_; }
    std::string endpoint_of(const std::string& plugin) const;

private:
    LinkSpec link_spec(const PluginConfig& plugin) const;
    Expected<void> start_engines();
    Expected<void> start_gateway();
    // The ops routes on their own listener (ops.listen), when it names one.
    Expected<void> start_ops();
    nlohmann::json ready_fields() const;
    void reload_in_background();
    // On the control thread: drains and stops everything without blocking it.
    void begin_shutdown();

    Config config_;
    Logger& log_;
    Announcer announce_;
    net::io_context control_{1};
    net::signal_set signals_;
    std::string work_dir_;  // private files: child configs, ipc sockets, plugin copies
    zmq::context_t zmq_context_;
    // With curve: this process's key pair (loaded by start()), and the ZAP
    // handler its endpoints ask; destroyed after every socket that uses them.
    std::optional<CurveKeyPair> curve_keys_;
    std::unique_ptr<CurveAuthenticator> curve_authenticator_;
    LinkFactory links_{zmq_context_, curve_keys_, log_};
    EngineSet engines_{zmq_context_, curve_keys_, log_};
    IsolatedEngines isolated_;  // control thread only
    HostCounters counters_;
    std::unique_ptr<Gateway> gateway_;
    std::uint16_t gateway_port_ = 0;
    std::unique_ptr<OpsServer> ops_;  // after gateway_, whose status its routes read
    std::uint16_t ops_port_ = 0;
    bool running_ = false;
    std::atomic<bool> shutting_down_{false};  // set on the control thread
    std::function<Expected<Config>()> config_source_;
    std::mutex reload_mutex_;  // one reload at a time, never during stop()
    std::thread reload_thread_;
    std::mutex reload_state_mutex_;  // guards the two flags below
    bool reload_running_ = false;
    bool reload_queued_ = false;     // a SIGHUP came during the running reload
};

}  // namespace portico
