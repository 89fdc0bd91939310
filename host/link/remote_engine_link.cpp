#include "link/remote_engine_link.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <utility>

namespace portico {

RemoteEngineLink::RemoteEngineLink(net::io_context& io, zmq::context_t& context, const PluginConfig& plugin,
                                   const std::vector<std::string>& addresses, ReplyHandler& replies,
                                   std::function<void()> status_changed, Logger& log,
                                   const std::vector<std::string>& server_keys, const CurveKeyPair* curve)
    : plugin_(plugin.name),
      timeout_(plugin.route.timeout),
      idempotent_(plugin.route.idempotent),
      max_attempts_(plugin.route.max_attempts),
      heartbeat_(plugin.route.heartbeat),
      dead_after_(plugin.route.dead_after),
      replies_(replies),
      status_changed_(std::move(status_changed)),
      log_(log),
      heartbeat_timer_(io) {
    for (std::size_t i = 0; i < addresses.size(); ++i) {
        const bool secured = curve != nullptr && i < server_keys.size() && !server_keys[i].empty();
        connections_.push_back(std::make_unique<EngineConnection>(io, context, addresses[i], i, *this, log_,
                                                                  secured ? curve : nullptr,
                                                                  secured ? server_keys[i] : std::string()));
    }
    curve_ = curve != nullptr;
    for (const auto& connection : connections_) engine_states_.push_back(EngineState{connection->address(), false});
    for (auto& connection : connections_) connection->send_ping();
    do_heartbeat();
}

RemoteEngineLink::~RemoteEngineLink() {
    heartbeat_timer_.cancel();
    // Replaced by a reload or the loop ends: its engines stop pushing here.
    for (const auto& [channel, grants] : channel_grants_)
        for (const auto& [index, grant] : grants) connections_[index]->send_unsub(channel, grant);
}

SendResult RemoteEngineLink::send(std::uint64_t request_id, std::string_view client_id, std::string_view payload,
                                  const CallerRef& caller) {
    const std::uint64_t wire_id = next_wire_id_++;
    Outstanding request{request_id, std::string(client_id), std::string(), caller, 0, 1, Clock::now()};
    if (!dispatch(wire_id, request, payload, no_connection)) return SendResult::unavailable;
    if (idempotent_ && max_attempts_ > 1) request.payload = std::string(payload);  // for a retry
    by_age_.emplace_back(request.sent_at, wire_id);
    outstanding_.emplace(wire_id, std::move(request));
    return SendResult::sent;
}

// Sends on the least loaded engine that may take work (known alive first, then
// not yet heard from), other than `avoid`; records where it went.
bool RemoteEngineLink::dispatch(std::uint64_t wire_id, Outstanding& request, std::string_view payload,
                            std::size_t avoid) {
    const std::size_t count = connections_.size();
    std::uint64_t tried = 0;  // at most 64 connections (the config's cap)
    next_start_ = (next_start_ + 1) % count;
    for (std::size_t attempt = 0; attempt < count; ++attempt) {
        EngineConnection* best = nullptr;
        for (std::size_t k = 0; k < count; ++k) {
            auto& candidate = *connections_[(next_start_ + k) % count];
            const bool usable = candidate.state == EngineConnection::State::alive ||
                                candidate.state == EngineConnection::State::unknown;
            if (!usable || candidate.index() == avoid || (tried >> candidate.index() & 1u)) continue;
            auto rank = [](const EngineConnection& c) {
                return std::make_pair(c.state == EngineConnection::State::alive ? 0 : 1, c.outstanding);
            };
            if (best == nullptr || rank(candidate) < rank(*best)) best = &candidate;
        }
        if (best == nullptr) return false;
        tried |= std::uint64_t{1} << best->index();
        // False when not connected or full: try the next best.
        if (best->send_request(wire_id, request.client_id, payload, request.caller.get())) {
            request.connection = best->index();
            ++best->outstanding;
            return true;
        }
    }
    return false;
}

void RemoteEngineLink::on_reply(EngineConnection& from, EngineReply reply) {
    heard_from(from, false);
    if (reply.part == ReplyPart::push) {
        // Only a channel this loop asked for; one that it has given up is late.
        if (channel_grants_.find(reply.channel) == channel_grants_.end()) return;
        reply.channel = plugin_ + "/" + reply.channel;
        replies_.on_reply(reply);
        return;
    }
    auto it = outstanding_.find(reply.request_id);  // the wire id of this link
    // Late (timed out, or already answered by another engine after a retry): dropped.
    if (it == outstanding_.end() || it->second.client_id != reply.client_id) {
        // A late grant still made the engine send the channel here.
        if (reply.part == ReplyPart::subscribe) {
            auto channel = channel_grants_.find(reply.channel);
            if (channel == channel_grants_.end()) send_unsub(from.index(), reply.channel, reply.offset);
            else channel->second[from.index()] = std::max(channel->second[from.index()], reply.offset);
        }
        return;
    }
    if (reply.part != ReplyPart::final) {
        // From the engine that holds it now, not from one it was retried away from.
        if (it->second.connection != from.index()) return;
        if (reply.part == ReplyPart::subscribe) {
            auto& grant = channel_grants_[reply.channel][from.index()];
            grant = std::max(grant, reply.offset);
        }
        if (reply.part != ReplyPart::event) reply.channel = plugin_ + "/" + reply.channel;
        reply.request_id = it->second.request_id;
        replies_.on_reply(reply);
        return;
    }
    Outstanding request = std::move(it->second);
    outstanding_.erase(it);
    if (connections_[request.connection]->outstanding > 0) --connections_[request.connection]->outstanding;

    reply.request_id = request.request_id;  // the session's id
    replies_.on_reply(reply);
}

void RemoteEngineLink::cancel(std::uint64_t request_id, std::string_view client_id) {
    // Rare, and at most max_inflight_per_client per client: a scan will do.
    for (auto it = outstanding_.begin(); it != outstanding_.end(); ++it) {
        if (it->second.request_id != request_id || it->second.client_id != client_id) continue;
        auto& connection = *connections_[it->second.connection];
        connection.send_cancel(it->first, client_id);  // best effort: a full queue drops it
        if (connection.outstanding > 0) --connection.outstanding;
        outstanding_.erase(it);
        return;
    }
}

void RemoteEngineLink::client_gone(std::string_view client_id) {
    // Its state may be on any of them.
    for (auto& connection : connections_)
        if (connection->state != EngineConnection::State::dead) connection->send_gone(client_id);
}

void RemoteEngineLink::channel_unused(std::string_view channel) {
    auto it = channel_grants_.find(channel);
    if (it == channel_grants_.end()) return;
    for (const auto& [index, grant] : it->second) send_unsub(index, it->first, grant);
    channel_grants_.erase(it);
}

void RemoteEngineLink::send_unsub(std::size_t connection, const std::string& channel, std::uint64_t grant) {
    // Not connected or full: tried again each heartbeat (the pushes that
    // come meanwhile are dropped above), while the list has room.
    constexpr std::size_t max_unsent = 4096;
    if (!connections_[connection]->send_unsub(channel, grant) && unsent_unsubs_.size() < max_unsent)
        unsent_unsubs_.push_back(UnsentUnsub{connection, channel, grant});
}

void RemoteEngineLink::retry_unsubs() {
    if (unsent_unsubs_.empty()) return;
    auto waiting = std::move(unsent_unsubs_);
    unsent_unsubs_.clear();
    for (const auto& unsub : waiting) {
        // Granted again since: the subscription stands.
        if (channel_grants_.count(unsub.channel) > 0) continue;
        send_unsub(unsub.connection, unsub.channel, unsub.grant);
    }
}

void RemoteEngineLink::close_channels_of(EngineConnection& connection) {
    for (auto it = channel_grants_.begin(); it != channel_grants_.end();) {
        auto granted = it->second.find(connection.index());
        if (granted == it->second.end()) {
            ++it;
            continue;
        }
        // In case it was only silent for a while: it may stop pushing.
        send_unsub(connection.index(), it->first, granted->second);
        it->second.erase(granted);
        if (!it->second.empty()) {
            ++it;
            continue;
        }
        // Its history and its subscriptions went with the engine: the
        // subscribers are told, never left waiting on a silent channel.
        EngineReply closed{0, std::string(),
                           Reply::error("engine_lost", "the engine of plugin \"" + plugin_ +
                                                           "\" that served this channel was lost"),
                           ReplyPart::unsubscribe};
        closed.channel = plugin_ + "/" + it->first;
        it = channel_grants_.erase(it);
        replies_.on_reply(closed);
    }
}

LinkStatus RemoteEngineLink::status() const {
    LinkStatus status;
    status.engines_alive = alive_.load(std::memory_order_relaxed);
    status.engines_total = connections_.size();  // fixed at construction
    std::lock_guard<std::mutex> lock(info_mutex_);
    status.info_json = info_json_;
    status.engines = engine_states_;
    return status;
}

void RemoteEngineLink::count_alive() {
    std::size_t alive = 0;
    std::vector<EngineState> states;
    states.reserve(connections_.size());
    for (const auto& connection : connections_) {
        const bool up = connection->state == EngineConnection::State::alive;
        alive += up;
        states.push_back(EngineState{connection->address(), up});
    }
    {
        std::lock_guard<std::mutex> lock(info_mutex_);
        engine_states_ = std::move(states);
    }
    if (alive_.exchange(alive, std::memory_order_relaxed) != alive && status_changed_) status_changed_();
}

void RemoteEngineLink::on_control(EngineConnection& from, wire::Control control, std::string_view info) {
    if (control == wire::Control::bye) {
        if (from.state != EngineConnection::State::leaving) {
            log_.info("plugin {}: engine {} is shutting down", plugin_, from.address());
            from.state = EngineConnection::State::leaving;
            count_alive();
        }
        return;
    }
    if (control == wire::Control::pong && !info.empty()) {
        const auto parsed = nlohmann::json::parse(info, nullptr, false);
        if (parsed.is_object()) {
            // From another process: read, never trusted to have the right types.
            const auto field = parsed.find("instance");
            const std::string instance = field != parsed.end() && field->is_string() ? field->get<std::string>() : "";
            // Another engine now answers at this address (it restarted): what
            // the old one held will never be answered.
            if (!from.instance.empty() && instance != from.instance) lose(from, "restarted");
            from.instance = instance;
            std::lock_guard<std::mutex> lock(info_mutex_);
            if (info != info_json_) info_json_ = std::string(info);
        }
    }
    heard_from(from, control == wire::Control::pong);
}

void RemoteEngineLink::heard_from(EngineConnection& connection, bool pong) {
    connection.last_heard = Clock::now();
    if (connection.state == EngineConnection::State::alive) return;
    // An engine that said "bye" still answers what it holds; only a pong
    // (which it no longer sends) brings it back into rotation.
    if (connection.state == EngineConnection::State::leaving && !pong) return;
    if (connection.state == EngineConnection::State::dead || connection.state == EngineConnection::State::leaving)
        log_.info("plugin {}: engine {} is back", plugin_, connection.address());
    connection.state = EngineConnection::State::alive;
    count_alive();
}

void RemoteEngineLink::lose(EngineConnection& connection, const char* why) {
    if (connection.state != EngineConnection::State::unknown || connection.outstanding > 0)
        log_.warn("plugin {}: engine {} {}; out of rotation", plugin_, connection.address(), why);
    connection.state = EngineConnection::State::dead;
    count_alive();
    close_channels_of(connection);
    std::vector<std::uint64_t> lost;
    for (const auto& [wire_id, request] : outstanding_)
        if (request.connection == connection.index()) lost.push_back(wire_id);
    connection.outstanding = 0;
    for (const auto wire_id : lost) {
        auto it = outstanding_.find(wire_id);
        Outstanding& request = it->second;
        if (idempotent_ && request.attempts < max_attempts_ &&
            dispatch(wire_id, request, request.payload, connection.index())) {
            ++request.attempts;
            continue;
        }
        const Outstanding failed = std::move(request);
        outstanding_.erase(it);
        answer_with_error(failed, "unavailable",
                          "the engine serving plugin \"" + plugin_ + "\" was lost (it stopped answering, crashed or restarted)");
    }
}

void RemoteEngineLink::engine_gone(const std::string& address) {
    for (auto& connection : connections_) {
        if (connection->address() != address) continue;
        lose(*connection, "exited");
        connection->instance.clear();  // its successor is not a restart to detect again
    }
}

void RemoteEngineLink::answer_with_error(const Outstanding& request, const std::string& code,
                                         const std::string& message) {
    replies_.on_reply(EngineReply{request.request_id, request.client_id, Reply::error(code, message)});
}

void RemoteEngineLink::do_heartbeat() {
    // Until every engine has answered once, ask often: a link that is still
    // connecting drops its pings, and start-up waits for the first answers.
    bool any_unknown = false;
    for (const auto& connection : connections_)
        any_unknown = any_unknown || connection->state == EngineConnection::State::unknown;
    heartbeat_timer_.expires_after(any_unknown ? std::min(heartbeat_, std::chrono::milliseconds(20)) : heartbeat_);
    // cancel() in the destructor cannot take back a handler already queued.
    heartbeat_timer_.async_wait([this, alive = lifetime_.watch()](const boost::system::error_code& ec) {
        if (!alive.expired()) on_heartbeat(ec);
    });
}

void RemoteEngineLink::on_heartbeat(const boost::system::error_code& ec) {
    if (ec) return;
    for (auto& connection : connections_) connection->read_waiting();
    retry_unsubs();
    const auto now = Clock::now();
    for (auto& connection : connections_) {
        connection->send_ping();
        const bool silent = now - connection->last_heard > dead_after_;
        if (silent && connection->state != EngineConnection::State::dead)
            lose(*connection, connection->state == EngineConnection::State::leaving ? "has left" : "is silent");
        // A Curve handshake that fails is silent on this side: say what to check, once.
        if (silent && curve_ && connection->instance.empty() && !connection->curve_hint_logged) {
            connection->curve_hint_logged = true;
            log_.warn("plugin {}: engine {} has never answered; with curve on, check that plugins.{}.server_key is "
                      "that engine's public key and that this process's public key is in its curve.allowed_clients "
                      "(the engine logs the keys it refuses)",
                      plugin_, connection->address(), plugin_);
        }
    }
    // The sessions have answered these with "timeout" already; forget them.
    while (!by_age_.empty() && now - by_age_.front().first >= timeout_) {
        auto it = outstanding_.find(by_age_.front().second);
        if (it != outstanding_.end()) {
            auto& connection = *connections_[it->second.connection];
            if (connection.outstanding > 0) --connection.outstanding;
            outstanding_.erase(it);
        }
        by_age_.pop_front();
    }
    do_heartbeat();
}

}  // namespace portico
