#include "engine/channel_hub.hpp"

#include "engine/checked_reply.hpp"
#include "wire/wire.hpp"

#include <algorithm>
#include <map>

namespace portico {
namespace {

std::uint64_t birth_offset() {
    const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(since_epoch).count());
}

}  // namespace

ChannelHub::ChannelHub(std::string plugin, ChannelLimits limits)
    : plugin_(std::move(plugin)), base_(birth_offset()), limits_(limits) {}

bool ChannelHub::valid_name(std::string_view channel) { return wire::valid_channel_name(channel); }

void ChannelHub::add_sink(const std::shared_ptr<ReplySink>& sink) {
    std::lock_guard<std::mutex> lock(mutex_);
    sinks_.erase(std::remove_if(sinks_.begin(), sinks_.end(), [](const auto& weak) { return weak.expired(); }),
                 sinks_.end());
    for (const auto& weak : sinks_)
        if (weak.lock() == sink) return;  // a loop's links to the plugin share its inbox
    sinks_.push_back(sink);
}

void ChannelHub::set_limits(ChannelLimits limits) {
    std::lock_guard<std::mutex> lock(mutex_);
    limits_ = limits;
}

void ChannelHub::reclaim_quiet_channels(Clock::time_point now) {
    // Channels whose history has aged out cost a name and a counter: at the
    // cap they go, so names used once cannot fill the hub for good.
    for (auto it = channels_.begin(); it != channels_.end();) {
        trim(it->second, now);
        if (!it->second.history.empty()) {
            ++it;
            continue;
        }
        reclaimed_next_ = std::max(reclaimed_next_, it->second.next);
        it = channels_.erase(it);
    }
}

void ChannelHub::trim(Channel& channel, Clock::time_point now) {
    auto& history = channel.history;
    while (!history.empty() && (history.size() > limits_.history || now - history.front().at > limits_.history_age ||
                                channel.history_bytes > max_history_bytes)) {
        channel.history_bytes -= history.front().json.size();
        history.pop_front();
    }
}

std::uint64_t ChannelHub::publish(std::string_view name, std::string json_text) {
    if (!valid_name(name) || json_text.size() > max_message_bytes) return 0;
    Reply checked = check_reply(Reply::json(std::move(json_text)));
    if (!checked.ok()) return 0;
    const auto now = Clock::now();
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = channels_.find(std::string(name));
    if (it == channels_.end()) {
        if (channels_.size() >= max_channels) reclaim_quiet_channels(now);
        if (channels_.size() >= max_channels) return 0;
        it = channels_.emplace(std::string(name), Channel{first_offset(), {}, 0}).first;
    }
    Channel& channel = it->second;
    const std::uint64_t offset = channel.next++;
    channel.history.push_back(Message{offset, now, checked.body()});
    channel.history_bytes += checked.body().size();
    trim(channel, now);

    EngineResult message;
    message.reply.reply = std::move(checked);
    message.reply.part = ReplyPart::push;
    message.reply.channel = plugin_ + "/" + std::string(name);
    message.reply.offset = offset;
    bool expired = false;
    for (const auto& weak : sinks_) {
        if (auto sink = weak.lock()) sink->deliver(message);
        else expired = true;
    }
    if (expired)
        sinks_.erase(std::remove_if(sinks_.begin(), sinks_.end(), [](const auto& w) { return w.expired(); }),
                     sinks_.end());
    return offset;
}

void ChannelHub::subscribe(std::string_view name, std::uint64_t last_seen, const std::string& client_id,
                           std::uint64_t request_id, const std::shared_ptr<ReplySink>& sink,
                           const std::shared_ptr<BrokerRoute>& route) {
    if (!valid_name(name) || !sink) return;
    const auto now = Clock::now();
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = channels_.find(std::string(name));
    const std::uint64_t next = it == channels_.end() ? first_offset() : it->second.next;
    std::string body = "{\"next\":" + std::to_string(next);
    if (last_seen != 0 && last_seen + 1 != next) {  // up to date: nothing to replay, nothing lost
        const char* lost = nullptr;
        if (last_seen <= base_ || last_seen >= next) {
            // From before this hub was born (the engine restarted), or
            // beyond what was ever published here: this history is not the
            // one the client saw.
            lost = "reset";
        } else if (it != channels_.end()) {
            trim(it->second, now);
            const auto& history = it->second.history;
            if (history.empty() || history.front().offset > last_seen + 1) {
                lost = "too_old";
            } else {
                body += ",\"replay\":[";
                bool first = true;
                for (const auto& message : history) {
                    if (message.offset <= last_seen) continue;
                    if (!first) body += ',';
                    first = false;
                    body += '[';
                    body += std::to_string(message.offset);
                    body += ',';
                    body += message.json;
                    body += ']';
                }
                body += ']';
            }
        } else {
            lost = "too_old";
        }
        if (lost) {
            body += ",\"lost\":\"";
            body += lost;
            body += '"';
        }
    }
    body += '}';
    EngineResult grant;
    grant.reply.request_id = request_id;
    grant.reply.client_id = client_id;
    grant.reply.reply = Reply::json(std::move(body));
    grant.reply.part = ReplyPart::subscribe;
    grant.reply.channel = plugin_ + "/" + std::string(name);
    grant.route = route;
    sink->deliver(std::move(grant));
}

void ChannelHub::unsubscribe(std::string_view name, const std::string& client_id, std::uint64_t request_id,
                             const std::shared_ptr<ReplySink>& sink, const std::shared_ptr<BrokerRoute>& route) {
    if (!valid_name(name) || !sink) return;
    std::lock_guard<std::mutex> lock(mutex_);  // in order with the channel's messages
    EngineResult leave;
    leave.reply.request_id = request_id;
    leave.reply.client_id = client_id;
    leave.reply.reply = Reply::json("{}");
    leave.reply.part = ReplyPart::unsubscribe;
    leave.reply.channel = plugin_ + "/" + std::string(name);
    leave.route = route;
    sink->deliver(std::move(leave));
}

std::shared_ptr<ChannelHub> channel_hub_for(const PluginConfig& plugin) {
    return channel_hub_for(plugin.name, ChannelLimits{plugin.engine.channel_history, plugin.engine.channel_history_ms});
}

std::shared_ptr<ChannelHub> channel_hub_for(const std::string& plugin, ChannelLimits limits) {
    static std::mutex mutex;
    static std::map<std::string, std::weak_ptr<ChannelHub>> hubs;
    std::lock_guard<std::mutex> lock(mutex);
    for (auto it = hubs.begin(); it != hubs.end();) it = it->second.expired() ? hubs.erase(it) : std::next(it);
    auto& slot = hubs[plugin];
    if (auto hub = slot.lock()) {
        hub->set_limits(limits);
        return hub;
    }
    auto hub = std::make_shared<ChannelHub>(plugin, limits);
    slot = hub;
    return hub;
}

}  // namespace portico
