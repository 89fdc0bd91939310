#pragma once
// One plugin's channels, on the engine side (plugin API 1.3: Channels and
// RequestStream::subscribe). The hub gives each message of a channel the
// next offset, keeps the channel's last messages for clients that come back,
// and hands every message to every sink that serves gateways: each gateway
// loop of this process (their inboxes) and the endpoint's broker, which
// passes it on to the remote gateways that have subscribers.
//
// Order: a client's grant (with what it missed) and the channel's messages
// are handed to the sinks under one lock, so a gateway sees them in offset
// order: nothing between the replay and the live messages is lost, and
// nothing comes twice.
//
// Offsets start above the hub's birth time (microseconds since the Unix
// epoch): a client's last offset from before a restart of the engine is
// below every offset of the new hub, so "the history was reset" is told
// apart from "the history no longer reaches back".
//
// Bounds: history per channel (count, age, 256 KiB), message size, 1024
// channels with history (so at most 256 MiB a plugin).
#include "config/config.hpp"
#include "engine/engine_job.hpp"

#include <portico/plugin.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace portico {

struct ChannelLimits {
    std::size_t history = 100;                       // messages kept per channel
    std::chrono::milliseconds history_age{300'000};  // ... and for at most this long
};

class ChannelHub final : public Channels {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::size_t max_message_bytes = 64 * 1024;
    static constexpr std::size_t max_history_bytes = 256 * 1024;  // per channel
    // With history: at the cap, channels whose history has aged out (or is
    // kept for none) are forgotten to make room.
    static constexpr std::size_t max_channels = 1024;

    ChannelHub(std::string plugin, ChannelLimits limits);

    std::uint64_t publish(std::string_view channel, std::string json_text) override;

    // For the request of `client_id` whose replies go to `sink` (with
    // `route`, over zmq): the grant, with the messages after `last_seen`.
    void subscribe(std::string_view channel, std::uint64_t last_seen, const std::string& client_id,
                   std::uint64_t request_id, const std::shared_ptr<ReplySink>& sink,
                   const std::shared_ptr<BrokerRoute>& route);
    void unsubscribe(std::string_view channel, const std::string& client_id, std::uint64_t request_id,
                     const std::shared_ptr<ReplySink>& sink, const std::shared_ptr<BrokerRoute>& route);

    // Every message from now on also goes to `sink` (until it is destroyed).
    void add_sink(const std::shared_ptr<ReplySink>& sink);
    void set_limits(ChannelLimits limits);
    const std::string& plugin() const noexcept { return plugin_; }

    static bool valid_name(std::string_view channel);

private:
    struct Message {
        std::uint64_t offset;
        Clock::time_point at;
        std::string json;
    };
    struct Channel {
        std::uint64_t next;
        std::deque<Message> history;
        std::size_t history_bytes = 0;
    };
    void trim(Channel& channel, Clock::time_point now);
    void reclaim_quiet_channels(Clock::time_point now);
    // Where a new channel starts: above every offset a reclaimed channel
    // had, so that a name used again never repeats an offset.
    std::uint64_t first_offset() const noexcept { return std::max(base_ + 1, reclaimed_next_); }

    const std::string plugin_;
    const std::uint64_t base_;  // offsets of this hub are above it
    std::uint64_t reclaimed_next_ = 0;
    std::mutex mutex_;
    ChannelLimits limits_;
    std::unordered_map<std::string, Channel> channels_;
    std::vector<std::weak_ptr<ReplySink>> sinks_;
};

// The hub of `plugin` in this process: one per plugin name, shared by its
// engines across reloads (so a reload keeps the history), made on first use.
std::shared_ptr<ChannelHub> channel_hub_for(const std::string& plugin, ChannelLimits limits = {});
// The same, with the plugin's channel_history settings.
std::shared_ptr<ChannelHub> channel_hub_for(const PluginConfig& plugin);

}  // namespace portico
