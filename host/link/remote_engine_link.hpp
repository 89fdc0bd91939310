#pragma once
// The gateway's side of one plugin, for one gateway loop: its links to every
// engine that serves the plugin, and the requests outstanding on them.
//
// - Dispatch: each request goes to the live engine with the least outstanding
//   work, so a slow engine does not hold up requests that others can serve.
// - Liveness: every engine is pinged each heartbeat; one silent for
//   dead_after is taken out of rotation, and rejoins when it answers again.
//   A "bye" (engine shutting down) takes it out at once, its outstanding
//   requests still answered.
// - Faults: requests outstanding on an engine that is lost are retried on
//   another one if the plugin is idempotent (up to max_attempts), otherwise
//   answered with an error. Each request gets exactly one reply: whatever
//   comes for a request no longer outstanding is dropped.
#include "config/config.hpp"
#include "link/engine_connection.hpp"
#include "core/lifetime.hpp"
#include "core/logger.hpp"
#include "core/net.hpp"
#include "link/engine_link.hpp"

#include <zmq.hpp>

#include <atomic>
#include <mutex>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace portico {

class RemoteEngineLink final : public EngineLink, public EngineConnection::Owner {
public:
    // `curve`: this process's key pair; with it the connection to
    // addresses[i] speaks Curve when server_keys[i] (the engine's public key)
    // is not empty.
    RemoteEngineLink(net::io_context& io, zmq::context_t& context, const PluginConfig& plugin,
                     const std::vector<std::string>& addresses, ReplyHandler& replies,
                     std::function<void()> status_changed, Logger& log,
                     const std::vector<std::string>& server_keys = {}, const CurveKeyPair* curve = nullptr);
    ~RemoteEngineLink() override;

    SendResult send(std::uint64_t request_id, std::string_view client_id, std::string_view payload,
                    const CallerRef& caller) override;
    std::chrono::milliseconds timeout() const override { return timeout_; }
    // From any thread (start-up waits on it): the counts are atomic, the
    // info is read under its lock.
    LinkStatus status() const override;
    bool idle() const override { return outstanding_.empty(); }
    // The engine at `address` is known to be gone (its process exited): what
    // it held is retried or answered now, and whatever answers there next is
    // taken as a new engine.
    void engine_gone(const std::string& address) override;
    void cancel(std::uint64_t request_id, std::string_view client_id) override;
    void client_gone(std::string_view client_id) override;
    void channel_unused(std::string_view channel) override;

private:
    using Clock = EngineConnection::Clock;
    struct Outstanding {
        std::uint64_t request_id;  // the session's id for it
        std::string client_id;
        std::string payload;       // kept only when it may be retried
        CallerRef caller;          // who sent it: travels in the request's frames
        std::size_t connection;
        unsigned attempts;
        Clock::time_point sent_at;
    };

    void on_reply(EngineConnection& from, EngineReply reply) override;
    void on_control(EngineConnection& from, wire::Control control, std::string_view info) override;

    static constexpr std::size_t no_connection = ~std::size_t{0};
    bool dispatch(std::uint64_t wire_id, Outstanding& request, std::string_view payload, std::size_t avoid);
    void heard_from(EngineConnection& connection, bool pong);
    void lose(EngineConnection& connection, const char* why);
    void answer_with_error(const Outstanding& request, const std::string& code, const std::string& message);
    void do_heartbeat();
    void on_heartbeat(const boost::system::error_code& ec);

    std::string plugin_;
    bool curve_ = false;  // the links speak Curve
    std::chrono::milliseconds timeout_;
    bool idempotent_;
    unsigned max_attempts_;
    std::chrono::milliseconds heartbeat_;
    std::chrono::milliseconds dead_after_;
    ReplyHandler& replies_;
    std::function<void()> status_changed_;  // when engines join or leave the rotation
    Logger& log_;

    std::vector<std::unique_ptr<EngineConnection>> connections_;
    std::unordered_map<std::uint64_t, Outstanding> outstanding_;
    std::deque<std::pair<Clock::time_point, std::uint64_t>> by_age_;  // for sweeping what timed out
    // For each channel with subscribers here: the engines that granted it
    // (connection index) and the number of the last grant each sent, which
    // the "unsub" names so the engine can tell it from a newer grant.
    std::map<std::string, std::map<std::size_t, std::uint64_t>, std::less<>> channel_grants_;
    void close_channels_of(EngineConnection& connection);
    void send_unsub(std::size_t connection, const std::string& channel, std::uint64_t grant);
    void retry_unsubs();
    struct UnsentUnsub {
        std::size_t connection;
        std::string channel;
        std::uint64_t grant;
    };
    std::vector<UnsentUnsub> unsent_unsubs_;
    std::uint64_t next_wire_id_ = 1;
    std::size_t next_start_ = 0;  // rotates ties between equally loaded engines
    net::steady_timer heartbeat_timer_;
    mutable std::mutex info_mutex_;
    std::string info_json_ = "{}";       // guarded by info_mutex_
    std::vector<EngineState> engine_states_;  // guarded by info_mutex_: each connection's, for status()
    std::atomic<std::size_t> alive_{0};  // readable from other threads (start-up, introspection)
    void count_alive();
    Lifetime lifetime_;  // for the handlers queued when this is destroyed
};

}  // namespace portico
