#include "gateway/router.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace portico {

void Router::add_engine(const std::string& plugin, EngineLink& link, const RateLimit& rate_limit,
                        std::string require_scope) {
    auto buckets = rate_limit.limited() ? std::make_shared<UserRateBuckets>() : nullptr;
    PluginCounters* counters = metrics_ ? &metrics_->plugin(plugin) : nullptr;
    auto bit = bits_.find(plugin);
    if (bit == bits_.end()) bit = bits_.emplace(plugin, static_cast<std::uint8_t>(std::min<std::size_t>(bits_.size(), 63))).first;
    engines_[plugin] = PluginRoute{&link, rate_limit, std::move(require_scope), std::move(buckets), counters, bit->second};
}

void Router::tell_client_gone(std::string_view client_id, std::uint64_t plugins_used) const {
    if (plugins_used == 0) return;
    for (const auto& [name, route] : engines_)
        if (plugins_used >> route.bit & 1u) route.link->client_gone(client_id);
}

void Router::remove_engine(const std::string& plugin) { engines_.erase(plugin); }

const PluginRoute* Router::find_route(std::string_view plugin) const {
    auto it = engines_.find(plugin);
    return it == engines_.end() ? nullptr : &it->second;
}

EngineLink* Router::find_engine(std::string_view plugin) const {
    const PluginRoute* route = find_route(plugin);
    return route ? route->link : nullptr;
}

std::string Router::plugin_list() const {
    std::string list;
    for (const auto& entry : engines_) {
        if (!list.empty()) list += ", ";
        list += entry.first;
    }
    return list;
}

void Router::add_client(const std::string& client_id, std::weak_ptr<ClientConnection> connection) {
    clients_[client_id] = std::move(connection);
    client_count_.store(clients_.size(), std::memory_order_relaxed);
}

void Router::remove_client(const std::string& client_id) {
    clients_.erase(client_id);
    client_count_.store(clients_.size(), std::memory_order_relaxed);
    if (clients_.empty() && when_empty_) std::exchange(when_empty_, nullptr)();
}

bool Router::deliver(const EngineReply& reply) {
    auto it = clients_.find(reply.client_id);
    if (it == clients_.end()) return false;
    auto connection = it->second.lock();
    if (!connection) return false;
    connection->on_engine_reply(reply);
    return true;
}

void Router::collect_clients(std::vector<std::shared_ptr<ClientConnection>>& into) const {
    into.reserve(into.size() + clients_.size());
    for (const auto& [id, weak] : clients_)
        if (auto connection = weak.lock()) into.push_back(std::move(connection));
}

void Router::shut_down_clients(std::function<void()> when_empty) {
    when_empty_ = std::move(when_empty);
    if (clients_.empty() && when_empty_) {
        std::exchange(when_empty_, nullptr)();
        return;
    }
    // Copy first: a connection may remove itself while shutting down.
    std::vector<std::shared_ptr<ClientConnection>> live;
    collect_clients(live);
    for (auto& connection : live) connection->shut_down();
}

void Router::abort_clients() {
    std::vector<std::shared_ptr<ClientConnection>> live;
    collect_clients(live);
    for (auto& connection : live) connection->abort();
}

}  // namespace portico
