#include "gateway/router.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace portico {

void Router::add_engine(const std::string& plugin, EngineLink& link, const RateLimit& rate_limit,
                        std::string require_scope) {
    auto buckets = rate_limit.limited() ? std::make_shared<UserRateBuckets>() : nullptr;
    PluginCounters* counters = metrics_ ? &metrics_->plugin(plugin) : nullptr;
    if (auto old = engines_.find(plugin); old != engines_.end() && old->second.link != &link)
        close_plugin_channels(plugin, "the plugin's engines were replaced by a reload: subscribe again");
    auto bit = bits_.find(plugin);
    if (bit == bits_.end()) bit = bits_.emplace(plugin, static_cast<std::uint8_t>(std::min<std::size_t>(bits_.size(), 63))).first;
    engines_[plugin] = PluginRoute{&link, rate_limit, std::move(require_scope), std::move(buckets), counters, bit->second};
}

void Router::tell_client_gone(std::string_view client_id, std::uint64_t plugins_used) const {
    if (plugins_used == 0) return;
    for (const auto& [name, route] : engines_)
        if (plugins_used >> route.bit & 1u) route.link->client_gone(client_id);
}

void Router::remove_engine(const std::string& plugin) {
    close_plugin_channels(plugin, "the plugin was removed by a reload");
    engines_.erase(plugin);
}

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
    if (auto subscribed = client_channels_.find(client_id); subscribed != client_channels_.end()) {
        const std::vector<std::string> keys = std::move(subscribed->second);
        client_channels_.erase(subscribed);
        for (const auto& key : keys) drop_subscriber(key, client_id);
    }
    clients_.erase(client_id);
    client_count_.store(clients_.size(), std::memory_order_relaxed);
    if (clients_.empty() && when_empty_) std::exchange(when_empty_, nullptr)();
}

void Router::on_reply(const EngineReply& reply) {
    if (reply.part != ReplyPart::push || io_ == nullptr) {
        deliver(reply);
        return;
    }
    // Nobody here listens (any more): a grant behind it flushes first, so it
    // would not reach anyone later either.
    if (channels_.find(reply.channel) == channels_.end()) return;
    held_push_bytes_ += reply.reply.body().size();
    held_pushes_.emplace_back(reply);
    if (held_pushes_.size() >= max_held_pushes || held_push_bytes_ >= max_held_push_bytes) {
        flush_pushes();
        return;
    }
    if (!flush_posted_ && !round_open_) post_flush();
}

void Router::post_flush() {
    flush_posted_ = true;
    const auto due = round_end_ + push_window_;
    if (push_window_.count() > 0 && std::chrono::steady_clock::now() < due) {
        push_timer_->expires_at(due);
        push_timer_->async_wait([this](const boost::system::error_code& ec) {
            if (ec) return;
            flush_posted_ = false;
            flush_pushes();
        });
        return;
    }
    net::post(*io_, [this] {
        flush_posted_ = false;
        flush_pushes();
    });
}

void Router::flush_pushes() {
    if (held_pushes_.empty()) return;
    flushing_.swap(held_pushes_);
    held_push_bytes_ = 0;
    for (std::size_t begin = 0; begin < flushing_.size();) {
        std::size_t end = begin + 1;
        while (end < flushing_.size() && flushing_[end].key() == flushing_[begin].key()) ++end;
        deliver_pushes(std::span<SharedPush>(flushing_.data() + begin, end - begin));
        begin = end;
    }
    flushing_.clear();
    if (io_ == nullptr || round_open_) return;
    // The connections' writes of these pushes are queued now, and their
    // completions will be queued behind them: pushes that come meanwhile
    // wait for both passes and go together.
    round_open_ = true;
    net::post(*io_, [this] {
        net::post(*io_, [this] {
            round_open_ = false;
            round_end_ = std::chrono::steady_clock::now();
            if (!held_pushes_.empty() && !flush_posted_) post_flush();
        });
    });
}

bool Router::deliver(const EngineReply& reply) {
    switch (reply.part) {
        case ReplyPart::push: {
            flush_pushes();
            SharedPush push(reply);
            deliver_pushes(std::span<SharedPush>(&push, 1));
            return true;
        }
        case ReplyPart::subscribe: subscribe_client(reply); return true;
        case ReplyPart::unsubscribe: unsubscribe_client(reply); return true;
        case ReplyPart::final:
        case ReplyPart::event: break;
    }
    auto it = clients_.find(reply.client_id);
    if (it == clients_.end()) return false;
    auto connection = it->second.lock();
    if (!connection) return false;
    flush_pushes_to(reply.client_id, *connection);
    connection->on_engine_reply(reply);
    return true;
}

void Router::flush_pushes_to(const std::string& client_id, ClientConnection& connection) {
    if (held_pushes_.empty()) return;
    auto subscribed = client_channels_.find(client_id);
    if (subscribed == client_channels_.end()) return;
    const auto& keys = subscribed->second;
    // Each again when all are flushed: the connection knows it by its offset.
    for (std::size_t begin = 0; begin < held_pushes_.size();) {
        std::size_t end = begin + 1;
        while (end < held_pushes_.size() && held_pushes_[end].key() == held_pushes_[begin].key()) ++end;
        if (std::find(keys.begin(), keys.end(), held_pushes_[begin].key()) != keys.end())
            connection.on_pushes(std::span<SharedPush>(held_pushes_.data() + begin, end - begin));
        begin = end;
    }
}

void Router::deliver_pushes(std::span<SharedPush> pushes) {
    auto channel = channels_.find(pushes.front().key());
    if (channel == channels_.end()) return;  // nobody here listens (any more)
    // Taken first: a connection that ends as it is handed the pushes leaves the table.
    push_targets_.clear();
    push_targets_.reserve(channel->second.size());
    for (const auto& [client_id, weak] : channel->second)
        if (auto connection = weak.lock()) push_targets_.push_back(std::move(connection));
    for (const auto& connection : push_targets_) connection->on_pushes(pushes);
    push_targets_.clear();
}

void Router::subscribe_client(const EngineReply& grant) {
    auto client = clients_.find(grant.client_id);
    auto connection = client == clients_.end() ? nullptr : client->second.lock();
    if (!connection) {
        // Gone before its grant came: a remote engine may have started
        // sending this channel here for it alone.
        if (channels_.find(grant.channel) == channels_.end()) drop_subscriber(grant.channel, grant.client_id);
        return;
    }
    flush_pushes_to(grant.client_id, *connection);  // in order: what came before the grant first
    auto& keys = client_channels_[grant.client_id];
    if (std::find(keys.begin(), keys.end(), grant.channel) == keys.end()) {
        if (keys.size() >= max_channels_per_client) {
            if (keys.empty()) client_channels_.erase(grant.client_id);
            if (channels_.find(grant.channel) == channels_.end()) drop_subscriber(grant.channel, grant.client_id);
            EngineReply refused{grant.request_id, grant.client_id,
                                Reply::error("too_many_channels",
                                             "a connection may be subscribed to at most " +
                                                 std::to_string(max_channels_per_client) + " channels"),
                                ReplyPart::unsubscribe};
            refused.channel = grant.channel;
            connection->on_engine_reply(refused);
            return;
        }
        keys.push_back(grant.channel);
        channels_[grant.channel].emplace(grant.client_id, connection);
    }
    connection->on_engine_reply(grant);
}

void Router::unsubscribe_client(const EngineReply& leave) {
    if (leave.client_id.empty()) {
        flush_pushes();  // the channel's last messages before its end
        close_channel(leave.channel, leave);
        return;
    }
    auto subscribed = client_channels_.find(leave.client_id);
    if (subscribed == client_channels_.end()) return;
    auto client = clients_.find(leave.client_id);
    auto connection = client == clients_.end() ? nullptr : client->second.lock();
    // Messages that came before the unsubscription reach it first.
    if (connection) flush_pushes_to(leave.client_id, *connection);
    auto& keys = subscribed->second;
    auto key = std::find(keys.begin(), keys.end(), leave.channel);
    if (key == keys.end()) return;  // was not subscribed: nothing to say
    keys.erase(key);
    if (keys.empty()) client_channels_.erase(subscribed);
    drop_subscriber(leave.channel, leave.client_id);
    if (connection) connection->on_engine_reply(leave);
}

void Router::drop_subscriber(const std::string& key, const std::string& client_id) {
    auto channel = channels_.find(key);
    if (channel != channels_.end()) {
        channel->second.erase(client_id);
        if (!channel->second.empty()) return;
        channels_.erase(channel);
    }
    const auto slash = key.find('/');
    if (slash == std::string::npos) return;
    if (EngineLink* link = find_engine(std::string_view(key).substr(0, slash)))
        link->channel_unused(std::string_view(key).substr(slash + 1));
}

void Router::close_channel(const std::string& key, const EngineReply& notice) {
    auto channel = channels_.find(key);
    if (channel == channels_.end()) return;
    const Subscribers subscribers = std::move(channel->second);
    channels_.erase(channel);
    for (const auto& [client_id, weak] : subscribers) {
        if (auto keys = client_channels_.find(client_id); keys != client_channels_.end()) {
            auto& list = keys->second;
            list.erase(std::remove(list.begin(), list.end(), key), list.end());
            if (list.empty()) client_channels_.erase(keys);
        }
        if (auto connection = weak.lock()) connection->on_engine_reply(notice);
    }
}

void Router::close_plugin_channels(std::string_view plugin, const char* why) {
    flush_pushes();  // they came before the channels' end
    std::vector<std::string> keys;
    for (const auto& [key, subscribers] : channels_)
        if (key.size() > plugin.size() && key.compare(0, plugin.size(), plugin) == 0 && key[plugin.size()] == '/')
            keys.push_back(key);
    for (const auto& key : keys) {
        EngineReply notice{0, std::string(), Reply::error("channel_closed", why), ReplyPart::unsubscribe};
        notice.channel = key;
        close_channel(key, notice);
    }
}

std::size_t Router::subscriber_count(std::string_view key) const {
    auto channel = channels_.find(std::string(key));
    return channel == channels_.end() ? 0 : channel->second.size();
}

void Router::collect_clients(std::vector<std::shared_ptr<ClientConnection>>& into) const {
    into.reserve(into.size() + clients_.size());
    for (const auto& [id, weak] : clients_)
        if (auto connection = weak.lock()) into.push_back(std::move(connection));
}

void Router::shut_down_clients(std::function<void()> when_empty) {
    flush_pushes();
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
    // The links go before the sessions do: a session that ends now must not
    // reach a link through its channels.
    held_pushes_.clear();
    push_timer_.reset();  // it belongs to the loop, which goes before the router
    io_ = nullptr;
    channels_.clear();
    client_channels_.clear();
    std::vector<std::shared_ptr<ClientConnection>> live;
    collect_clients(live);
    for (auto& connection : live) connection->abort();
}

}  // namespace portico
