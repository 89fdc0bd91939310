#include "host.hpp"

#include <ostream>

namespace portico {
Host::Host(Config config, Logger& log, std::ostream& announce)
    : config_(std::move(config)), log_(log), announce_(announce), signals_(control_) {}

Host::~Host() { stop(); }

Expected<bool> Host::start() {
    const Role role = config_.role;
    for (const auto& plugin_config : config_.plugins) {
        if (!plugin_config.served_here(role)) continue;
        auto plugin = load_plugin(plugin_config);
        if (!plugin) {
            stop();
            return plugin.error();
        }
        log_.info("loaded plugin " + plugin_config.name + " " + plugin.value()->version() + " from " +
                  plugin_config.library + ": " + plugin.value()->description());
        auto endpoint = std::make_unique<EngineEndpoint>(zmq_context_, plugin_config, plugin.value(), log_);
        auto started = endpoint->start();
        if (!started) {
            stop();
            return started.error();
        }
        announce_ << "portico: plugin " << endpoint->name() << " " << plugin.value()->version() << " serving on "
                  << endpoint->bound_endpoint() << " (" << plugin_config.workers << " workers; usage: "
                  << plugin.value()->usage() << ")\n";
        plugins_.push_back(plugin.value());
        endpoints_.push_back(std::move(endpoint));
    }

    if (role != Role::engine) {
        gateway_ = std::make_unique<Gateway>(config_.gateway, zmq_context_, control_, log_);
        for (const auto& plugin_config : config_.plugins) {
            // In-process engines over inproc; remote ones over their addresses.
            std::vector<std::string> addresses;
            for (const auto& endpoint : endpoints_)
                if (endpoint->name() == plugin_config.name) addresses.push_back(endpoint->inproc_endpoint());
            addresses.insert(addresses.end(), plugin_config.connect.begin(), plugin_config.connect.end());
            if (addresses.empty()) addresses.push_back(plugin_config.endpoint);  // role gateway, same file
            gateway_->add_plugin(plugin_config, addresses);
            if (role == Role::gateway || !plugin_config.connect.empty()) {
                std::string list;
                for (const auto& a : addresses) list += (list.empty() ? "" : ", ") + a;
                announce_ << "portico: plugin " << plugin_config.name << " routed to " << list << "\n";
            }
        }
        auto bound = gateway_->start();
        if (!bound) {
            stop();
            return bound.error();
        }
        gateway_port_ = bound.value().port();
        const auto address = bound.value().address();
        const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
        announce_ << "portico: gateway listening on ws://" << host << ":" << gateway_port_ << config_.gateway.path
                  << " (" << config_.gateway.threads << " thread" << (config_.gateway.threads == 1 ? "" : "s")
                  << ")\n";
    }
    announce_ << "portico: ready\n" << std::flush;
    running_ = true;
    return true;
}

void Host::run() {
    signals_.add(SIGINT);
    signals_.add(SIGTERM);
    signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
        if (ec) return;
        log_.info(std::string("received ") + (signal == SIGINT ? "SIGINT" : "SIGTERM") + ", shutting down");
        control_.stop();
    });
    auto guard = net::make_work_guard(control_);
    control_.run();
    stop();
}

void Host::request_stop() {
    net::post(control_, [this] { control_.stop(); });
}

void Host::stop() {
    // Construction in reverse: stop accepting and close clients, stop the
    // endpoints (their workers finish what they hold), then unload plugins.
    if (gateway_) gateway_->stop();
    gateway_.reset();
    for (auto& endpoint : endpoints_) endpoint->stop();
    endpoints_.clear();
    plugins_.clear();
    if (running_) log_.info("stopped");
    running_ = false;
}

std::string Host::endpoint_of(const std::string& plugin) const {
    for (const auto& endpoint : endpoints_)
        if (endpoint->name() == plugin) return endpoint->bound_endpoint();
    return {};
}

}  // namespace portico
