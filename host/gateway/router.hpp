#pragma once
// Maps a plugin prefix to the engine link that serves it, and a client id to
// the connection that owns it, for one gateway event loop. The router never
// keeps a connection alive: it holds weak references, and a connection
// removes itself when it ends. A reply for a client that has gone is dropped.
//
// Channels: the router keeps who on this loop is subscribed to each channel
// ("PLUGIN/CHANNEL"). A plugin's grant adds its client, a push goes to every
// subscriber, and when the last one leaves (unsubscribed, or gone) the link
// hears channel_unused(), so a remote engine stops sending it here. A
// connection holds at most max_channels_per_client channels.
//
// Pushes that arrive in one turn of the loop (an inbox pass, a read of the
// zmq link) are handed over together at its end: each subscriber is visited
// once for all of them and writes them in one send, and each message is
// framed once for all (SharedPush). Anything else for a client that comes
// meanwhile (a reply, a grant) hands it the waiting pushes of its channels
// first, so each client sees everything in the order it came; at the end
// it gets them again with the others and knows them by their offsets.
#include "config/config.hpp"
#include "core/net.hpp"
#include "gateway/gateway_metrics.hpp"
#include "gateway/shared_push.hpp"
#include "gateway/user_rate_buckets.hpp"
#include "link/engine_link.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <map>
#include <unordered_map>
#include <vector>

namespace portico {

// What the router needs of a client connection.
class ClientConnection {
public:
    virtual ~ClientConnection() = default;
    virtual void on_engine_reply(const EngineReply& reply) = 0;
    // Messages of one channel, oldest first, for this subscriber.
    virtual void on_pushes(std::span<SharedPush> pushes) {
        for (const auto& push : pushes) on_engine_reply(push.reply());
    }
    // LivenessSweep's turn: ping a client silent too long, drop one that
    // stayed silent after its ping. Cheap when nothing is due.
    virtual void check_liveness(std::chrono::steady_clock::time_point now) = 0;
    // The gateway is going away: close with 1001 once pending writes are out.
    virtual void shut_down() = 0;
    // The loop has stopped for good: drop whatever waits on it.
    virtual void abort() = 0;
};

// How a plugin is reached from this loop, and the rules on its use.
struct PluginRoute {
    EngineLink* link = nullptr;
    RateLimit rate_limit;
    std::string require_scope;                    // empty: any caller
    std::shared_ptr<UserRateBuckets> user_buckets;  // rate-limited: the buckets of callers with a subject
    PluginCounters* counters = nullptr;             // null: metrics are off
    // The plugin's bit in a connection's record of plugins it used (63: any
    // plugin past the 63rd): stable for the plugin's name while the loop lives.
    std::uint8_t bit = 0;
};

class Router final : public ReplyHandler {
public:
    static constexpr std::size_t max_channels_per_client = 64;
    // Pushes held for the end of the loop's turn; past either bound they go at once.
    static constexpr std::size_t max_held_pushes = 256;
    static constexpr std::size_t max_held_push_bytes = 1024 * 1024;

    // `metrics`: this loop's counters, or null when metrics are off.
    explicit Router(LoopMetrics* metrics = nullptr) : metrics_(metrics) {}
    LoopMetrics* metrics() const noexcept { return metrics_; }
    // The loop whose turns pushes are gathered over; until it is set, each
    // push is handed over as it comes.
    void gather_pushes_on(net::io_context& io, std::chrono::steady_clock::duration window) {
        io_ = &io;
        push_window_ = window;
        push_timer_ = std::make_unique<net::steady_timer>(io);
    }

    // Adds or replaces the link for `plugin`.
    void add_engine(const std::string& plugin, EngineLink& link, const RateLimit& rate_limit = {},
                    std::string require_scope = {});
    void remove_engine(const std::string& plugin);
    const PluginRoute* find_route(std::string_view plugin) const;
    EngineLink* find_engine(std::string_view plugin) const;
    // "dice, echo": for messages that name an unknown plugin.
    std::string plugin_list() const;
    template <class Visit>
    void for_each_engine(Visit&& visit) const {
        for (const auto& [name, route] : engines_) visit(name, *route.link);
    }

    void add_client(const std::string& client_id, std::weak_ptr<ClientConnection> connection);
    void remove_client(const std::string& client_id);
    // `client_id` has ended: the engines of the plugins whose bits are set in
    // `plugins_used` (PluginRoute::bit) hear client_gone().
    void tell_client_gone(std::string_view client_id, std::uint64_t plugins_used) const;
    // Appends every live client connection (references that keep them alive
    // while the caller works on them, even if one ends meanwhile).
    void collect_clients(std::vector<std::shared_ptr<ClientConnection>>& into) const;
    // Hands an engine reply to the client it names; false when it has gone.
    bool deliver(const EngineReply& reply);
    void on_reply(const EngineReply& reply) override;
    // Asks every client to close; `when_empty` runs (on this loop) once the
    // last one has gone, at once if none is connected.
    void shut_down_clients(std::function<void()> when_empty);
    // After the loop has stopped: every connection drops what it holds.
    void abort_clients();
    // Subscriptions of this loop's clients to `key` ("PLUGIN/CHANNEL").
    std::size_t subscriber_count(std::string_view key) const;
    // Readable from any thread: the number of live client connections.
    std::size_t client_count() const noexcept { return client_count_.load(std::memory_order_relaxed); }

private:
    using Subscribers = std::unordered_map<std::string, std::weak_ptr<ClientConnection>>;
    // The pushes held so far go to their subscribers.
    void flush_pushes();
    void post_flush();
    // Pushes of one channel.
    void deliver_pushes(std::span<SharedPush> pushes);
    // Before something else for this client: the held pushes of its channels,
    // so it sees everything in the order it came.
    void flush_pushes_to(const std::string& client_id, ClientConnection& connection);
    void subscribe_client(const EngineReply& grant);
    void unsubscribe_client(const EngineReply& leave);
    // The channel is gone for everyone here: each subscriber hears `notice`.
    void close_channel(const std::string& key, const EngineReply& notice);
    // The channels of `plugin` end, for the reason `why` (its link was replaced or removed).
    void close_plugin_channels(std::string_view plugin, const char* why);
    // `client_id` no longer listens to `key`; the last one out tells the link.
    void drop_subscriber(const std::string& key, const std::string& client_id);

    LoopMetrics* metrics_;
    std::map<std::string, PluginRoute, std::less<>> engines_;
    std::map<std::string, std::uint8_t, std::less<>> bits_;  // never shrinks: a plugin keeps its bit
    std::unordered_map<std::string, std::weak_ptr<ClientConnection>> clients_;
    std::unordered_map<std::string, Subscribers> channels_;
    // Only for clients with subscriptions: their channels' keys.
    std::unordered_map<std::string, std::vector<std::string>> client_channels_;
    std::vector<std::shared_ptr<ClientConnection>> push_targets_;  // kept for its capacity
    net::io_context* io_ = nullptr;
    std::vector<SharedPush> held_pushes_;
    std::vector<SharedPush> flushing_;  // kept for its capacity
    std::size_t held_push_bytes_ = 0;
    bool flush_posted_ = false;
    bool round_open_ = false;  // the writes of the last flush are still queued
    std::chrono::steady_clock::time_point round_end_;
    std::chrono::steady_clock::duration push_window_{0};
    std::unique_ptr<net::steady_timer> push_timer_;
    std::atomic<std::size_t> client_count_{0};
    std::function<void()> when_empty_;
};

}  // namespace portico
