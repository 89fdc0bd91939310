#pragma once
// The WebSocket gateway: a listener and the event loops it deals connections
// to. Each loop routes its clients' messages to plugin endpoints over zmq.
#include "config.hpp"
#include "error.hpp"
#include "gateway_loop.hpp"
#include "listener.hpp"
#include "logger.hpp"
#include "net.hpp"

#include <zmq.hpp>

#include <memory>
#include <vector>

namespace portico {

class Gateway {
public:
    Gateway(const GatewayConfig& config, zmq::context_t& context, net::io_context& control, Logger& log);
    ~Gateway();

    // Before start(): route `plugin` to these zmq endpoints.
    void add_plugin(const std::string& plugin, const std::vector<std::string>& endpoints,
                    std::chrono::milliseconds timeout);
    // Listens and starts the loops; returns the address actually bound.
    Expected<tcp::endpoint> start();
    // Stops accepting, closes every connection with 1001, waits up to `grace`
    // for them to go, then stops the loops.
    void stop(std::chrono::milliseconds grace);

private:
    const GatewayConfig& config_;
    zmq::context_t& context_;
    Logger& log_;
    std::vector<std::unique_ptr<GatewayLoop>> loops_;
    std::unique_ptr<Listener> listener_;
    bool running_ = false;
};

}  // namespace portico
