#include "gateway/gateway_loop.hpp"

#include "core/thread_signals.hpp"

#include <algorithm>

namespace portico {

GatewayLoop::GatewayLoop(const LinkFactory& links, std::function<void()> status_changed, Logger& log,
                         bool metrics, std::chrono::milliseconds liveness_period,
                         std::chrono::milliseconds push_batch)
    : log_(log),
      status_changed_(std::move(status_changed)),
      router_(metrics ? &metrics_ : nullptr),
      work_(net::make_work_guard(io_)),
      links_(links.for_loop(io_, router_, status_changed_)),
      liveness_period_(liveness_period) {
    router_.gather_pushes_on(io_, push_batch);
    router_.add_engine(std::string(builtin_plugin_name), builtin_);
}

GatewayLoop::~GatewayLoop() {
    stop();
    // Handlers still queued would hold their sessions forever: let go of them.
    router_.abort_clients();
    // Sessions die with io_'s queued handlers; links go before io_, whose
    // descriptors they borrow.
    {
        std::lock_guard<std::mutex> lock(engines_mutex_);
        engines_.clear();
    }
    retired_.clear();
    links_.reset();  // engines may still finish work for this loop: dropped
}

void GatewayLoop::set_engine(const LinkSpec& spec) {
    ++links_pending_;
    net::post(io_, [this, spec] {
        std::unique_ptr<EngineLink> link = links_->make(spec);
        router_.add_engine(spec.plugin.name, *link, spec.plugin.route.rate_limit, spec.plugin.route.require_scope);
        std::unique_ptr<EngineLink> old;
        {
            std::lock_guard<std::mutex> lock(engines_mutex_);
            auto& slot = engines_[spec.plugin.name];
            old = std::move(slot);
            slot = std::move(link);
        }
        --links_pending_;
        if (status_changed_) status_changed_();
        if (old) retire(std::move(old));
    });
}

void GatewayLoop::remove_engine(const std::string& plugin) {
    net::post(io_, [this, plugin] {
        router_.remove_engine(plugin);
        std::unique_ptr<EngineLink> old;
        {
            std::lock_guard<std::mutex> lock(engines_mutex_);
            auto it = engines_.find(plugin);
            if (it == engines_.end()) return;
            old = std::move(it->second);
            engines_.erase(it);
        }
        retire(std::move(old));
    });
}

void GatewayLoop::engine_gone(const std::string& plugin, const std::string& address) {
    net::post(io_, [this, plugin, address] {
        auto it = engines_.find(plugin);  // engines_' shape changes only on this thread
        if (it == engines_.end()) return;
        it->second->engine_gone(address);
    });
}

void GatewayLoop::retire(std::unique_ptr<EngineLink> link) {
    retired_.push_back(std::move(link));
    if (retired_.size() == 1) sweep_retired();
}

void GatewayLoop::sweep_retired() {
    retired_.erase(std::remove_if(retired_.begin(), retired_.end(), [](const auto& c) { return c->idle(); }),
                   retired_.end());
    if (retired_.empty()) return;
    retire_timer_.expires_after(std::chrono::milliseconds(200));
    retire_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) sweep_retired();
    });
}

void GatewayLoop::start() {
    liveness_.start(liveness_period_);
    thread_ = std::thread([this] {
        block_control_signals_in_this_thread();
        for (;;) {
            try {
                io_.run();
                return;
            } catch (const std::exception& e) {
                // A handler threw: log it and keep the loop serving the others.
                log_.error("gateway loop: unexpected exception: {}", e.what());
            }
        }
    });
}

std::size_t GatewayLoop::plugins_without_engine() const {
    std::lock_guard<std::mutex> lock(engines_mutex_);
    std::size_t missing = links_pending_.load();
    for (const auto& [name, link] : engines_) missing += link->status().engines_alive == 0;
    return missing;
}

std::map<std::string, LinkStatus> GatewayLoop::link_statuses() const {
    std::lock_guard<std::mutex> lock(engines_mutex_);
    std::map<std::string, LinkStatus> statuses;
    for (const auto& [name, link] : engines_) statuses.emplace(name, link->status());
    return statuses;
}

void GatewayLoop::shut_down_clients(std::function<void()> when_empty) {
    net::post(io_, [this, when_empty = std::move(when_empty)]() mutable {
        router_.shut_down_clients(std::move(when_empty));
    });
}

void GatewayLoop::stop() {
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
}

}  // namespace portico
