#pragma once
// The portico host: owns the zmq context, the loaded plugins, their engine
// endpoints and the WebSocket gateway, starts them in that order and stops
// them in reverse. main() only parses arguments and runs it.
#include "config.hpp"
#include "engine_endpoint.hpp"
#include "error.hpp"
#include "gateway.hpp"
#include "logger.hpp"
#include "net.hpp"
#include "plugin_loader.hpp"

#include <zmq.hpp>

#include <iosfwd>
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
    // Runs the control loop until SIGINT/SIGTERM or request_stop(), then stops.
    void run();
    // Thread-safe: makes run() stop the host and return.
    void request_stop();
    void stop();

    const Config& config() const noexcept { return config_; }
    // After start(): what was actually bound (ports resolved).
    std::uint16_t gateway_port() const noexcept { return gateway_port_; }
    std::string endpoint_of(const std::string& plugin) const;

private:
    Config config_;
    Logger& log_;
    std::ostream& announce_;
    net::io_context control_{1};
    net::signal_set signals_;
    zmq::context_t zmq_context_;
    std::vector<std::shared_ptr<LoadedPlugin>> plugins_;
    std::vector<std::unique_ptr<EngineEndpoint>> endpoints_;
    std::unique_ptr<Gateway> gateway_;
    std::uint16_t gateway_port_ = 0;
    bool running_ = false;
};

}  // namespace portico
