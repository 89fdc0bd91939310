#include "gateway_loop.hpp"

namespace portico {

GatewayLoop::GatewayLoop(Logger& log) : log_(log), work_(net::make_work_guard(io_)) {
    router_.add_engine(std::string(builtin_plugin_name), builtin_);
}

GatewayLoop::~GatewayLoop() {
    stop();
    // Sessions die with io_'s queued handlers; links go before io_, whose
    // descriptors they borrow.
    engines_.clear();
}

void GatewayLoop::add_engine(zmq::context_t& context, const PluginConfig& plugin,
                             const std::vector<std::string>& addresses) {
    engines_.push_back(std::make_unique<EngineClient>(io_, context, plugin, addresses, router_, log_));
    router_.add_engine(plugin.name, *engines_.back());
}

void GatewayLoop::start() {
    thread_ = std::thread([this] {
        for (;;) {
            try {
                io_.run();
                return;
            } catch (const std::exception& e) {
                // A handler threw: log it and keep the loop serving the others.
                log_.error(std::string("gateway loop: unexpected exception: ") + e.what());
            }
        }
    });
}

void GatewayLoop::shut_down_clients() {
    net::post(io_, [this] { router_.shut_down_clients(); });
}

void GatewayLoop::stop() {
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
}

}  // namespace portico
