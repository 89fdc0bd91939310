#include "host.hpp"

#include <ostream>

namespace portico {
namespace {

constexpr std::chrono::seconds shutdown_grace{5};

}  // namespace

Host::Host(Config config, Logger& log, std::ostream& announce)
    : config_(std::move(config)), log_(log), announce_(announce), signals_(control_) {}

Host::~Host() { stop(); }

Expected<bool> Host::start() {
    for (const auto& plugin_config : config_.plugins) {
        auto plugin = load_plugin(plugin_config);
        if (!plugin) return plugin.error();
        log_.info("loaded plugin " + plugin_config.name + " " + plugin.value()->version() + " from " +
                  plugin_config.library + ": " + plugin.value()->description());
        plugins_.push_back(plugin.value());
    }
    for (std::size_t i = 0; i < plugins_.size(); ++i) {
        auto endpoint = std::make_unique<EngineEndpoint>(zmq_context_, config_.plugins[i], plugins_[i], log_);
        auto started = endpoint->start();
        if (!started) {
            stop();
            return started.error();
        }
        announce_ << "portico: plugin " << endpoint->name() << " " << plugins_[i]->version() << " serving on "
                  << endpoint->bound_endpoint() << " (" << config_.plugins[i].workers << " workers; usage: "
                  << plugins_[i]->usage() << ")\n";
        endpoints_.push_back(std::move(endpoint));
    }

    gateway_ = std::make_unique<Gateway>(config_.gateway, zmq_context_, control_, log_);
    for (const auto& endpoint : endpoints_)
        gateway_->add_plugin(endpoint->name(), {endpoint->inproc_endpoint()}, endpoint->config().timeout);
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
    if (gateway_) gateway_->stop(shutdown_grace);
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
