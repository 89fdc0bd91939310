#include "gateway/websocket_session.hpp"

#include "gateway/builtin_plugin.hpp"
#include "gateway/tls_stream.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <vector>

namespace portico {
namespace {

// How long a closing connection may take to flush before its socket is cut.
constexpr std::chrono::seconds close_grace{5};
// A client that closed waits for its owed replies until their own deadlines
// (each then gets "timeout"); this backstop covers a deadline timer that is late.
constexpr std::chrono::seconds peer_close_slack{1};
// While draining, how soon to look again for input that is still arriving.
constexpr std::chrono::milliseconds drain_recheck{5};
// The close code for a connection whose token expired (docs/protocol.md).
constexpr std::uint16_t token_expired_close = 4001;
// Framing into the batch costs no system call; keep a batch to a size that
// one send() takes comfortably. Past it, messages wait in the outbox.
constexpr std::size_t max_batch_bytes = 64 * 1024;

const CallerRef anonymous_caller;

}  // namespace

template <class NextLayer>
WebSocketSession<NextLayer>::~WebSocketSession() {
    drop_pending();  // their engines may stop
    router_.tell_client_gone(client_id_, plugins_used_);
    router_.remove_client(client_id_);
    if (metrics_ && accepted_) metrics_->closes.add(std::to_string(close_code_));
    if (log_.enabled(LogLevel::debug))
        log_.fields(LogLevel::debug, "connection closed", {{"client", client_id_}, {"code", std::to_string(close_code_)}});
}

template <class NextLayer>
void WebSocketSession<NextLayer>::run(http::request<http::string_body> request, std::string_view early_bytes,
                                      Clock::time_point handshake_deadline) {
    // Known to the router from here on, so that a shutdown reaches it too.
    router_.add_client(client_id_, this->weak_from_this());
    auto& stream = ws_.next_layer();
    stream.prime(early_bytes);
    beast::get_lowest_layer(ws_).expires_never();  // the websocket timeouts take over
    // What is left of the connection's handshake time; the session's own
    // pings watch an open connection, not Beast's idle timer.
    websocket::stream_base::timeout timeouts;
    timeouts.handshake_timeout =
        std::max<Clock::duration>(handshake_deadline - Clock::now(), std::chrono::milliseconds(1));
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& response) { response.set(http::field::server, "portico"); }));
    ws_.read_message_max(config_.max_message_bytes);
    ws_.text(true);
    ws_.async_accept(request, [self = this->shared_from_this()](const beast::error_code& ec) { self->on_accept(ec); });
}

template <class NextLayer>
void WebSocketSession<NextLayer>::on_accept(const beast::error_code& ec) {
    if (ec) {
        log_.debug("websocket handshake failed: {}", ec.message());
        end_connection();
        return;
    }
    // Counted once upgraded: a failed handshake is neither a connection nor a close.
    accepted_ = true;
    if (metrics_) metrics_->connections_total.add();
    if (log_.enabled(LogLevel::debug)) {
        if (identity_)
            log_.fields(LogLevel::debug, "connection opened",
                        {{"client", client_id_}, {"subject", identity_->token.caller->subject}});
        else
            log_.fields(LogLevel::debug, "connection opened", {{"client", client_id_}});
    }
    if (identity_) arm_expiry();
    // From here on, what Beast writes is frames (see GatewayStream).
    ws_.next_layer().set_close_gate(this);
    // Beast's limit on the closing handshake; the close timer cuts it anyway.
    websocket::stream_base::timeout timeouts;
    timeouts.handshake_timeout = close_grace;
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
    ws_.set_option(timeouts);
    // Any frame the client sends, control frames too, says it is there.
    ws_.control_callback([this](websocket::frame_type, beast::string_view) { heard_since_check_ = true; });
    if (state_ == State::handshaking) {
        state_ = State::open;
        if (config_.ping_interval.count() > 0) liveness_due_ = Clock::now() + config_.ping_interval;
    }
    // The upgrade's response is out: its buffers need not stay.
    ws_.next_layer().release_idle_buffers();
    do_read();
    finish_drain_if_done();  // a shutdown came during the handshake
}

template <class NextLayer>
bool WebSocketSession<NextLayer>::reading_allowed() const noexcept {
    return (state_ == State::open || state_ == State::draining) &&
           pending_.size() < config_.max_inflight_per_client;
}

template <class NextLayer>
void WebSocketSession<NextLayer>::do_read() {
    if (reading_) return;
    if (!reading_allowed()) {
        const bool owed = state_ == State::open || state_ == State::draining;
        if (owed && !paused_self_) paused_self_ = this->shared_from_this();  // a reply resumes it
        return;
    }
    paused_self_.reset();
    reading_ = true;
    if (heard_from_) {
        start_read();
        return;
    }
    // Until the client says something, wait on the connection itself: a silent
    // connection then holds no read buffer and no pending Beast read (its
    // 1.5 KiB buffer prepared in advance, its chain of handlers). Beast's own
    // buffer is still empty here: the upgrade was read by HttpSession, and
    // what came behind it waits in the stream, which then answers at once.
    ws_.next_layer().async_wait_readable([self = this->shared_from_this()](const beast::error_code& ec) {
        if (ec) {
            self->reading_ = false;
            if (ec != net::error::operation_aborted) self->end_connection();
            return;
        }
        self->heard_from_ = true;
        self->start_read();
    });
}

template <class NextLayer>
void WebSocketSession<NextLayer>::start_read() {
    ws_.async_read(read_buffer_, [self = this->shared_from_this()](const beast::error_code& ec, std::size_t bytes) {
        self->on_read(ec, bytes);
    });
}

template <class NextLayer>
void WebSocketSession<NextLayer>::on_read(const beast::error_code& ec, std::size_t bytes) {
    reading_ = false;
    heard_since_check_ = true;
    if (ec) {
        note_close(ec);
        // closed: a normal close; message_too_big, bad UTF-8: Beast has sent 1009/1007.
        if (ec != websocket::error::closed && ec != net::error::operation_aborted)
            log_.debug("client {}: {}", client_id_, ec.message());
        end_connection();
        return;
    }
    if (metrics_) metrics_->bytes_in.add(bytes);
    if (state_ == State::open || state_ == State::draining) {
        if (ws_.got_binary()) {
            ReplyContext context;
            context.form = MessageForm::envelope;
            reject(context, "binary_frame", "binary frames are not supported: send text frames");
        } else {
            const auto data = read_buffer_.cdata();
            handle_message(std::string_view(static_cast<const char*>(data.data()), data.size()));
        }
    }
    read_buffer_.consume(read_buffer_.size());
    // One large message must not pin its buffer for the connection's life.
    if (read_buffer_.capacity() > 16 * 1024) read_buffer_.shrink_to_fit();
    do_read();
    finish_drain_if_done();
}

template <class NextLayer>
void WebSocketSession<NextLayer>::handle_message(std::string_view text) {
    ParsedMessage parsed = parse_client_message(text);
    if (parsed.rejected) {
        const Error& error = parsed.rejected->error;
        // A name no plugin can have reads like one that is not served: "DICE 3d6" as "dic 3d6".
        reject(parsed.rejected->context, error.code,
               error.code == "unknown_plugin" ? error.message + "; plugins here: " + router_.plugin_list()
                                              : error.message);
        return;
    }
    ClientRequest& request = *parsed.request;
    last_form_ = request.context.form;
    if (state_ == State::draining) {
        reject(request.context, "shutting_down", "the gateway is shutting down");
        return;
    }
    if (request.context.plugin == builtin_plugin_name && handle_session_command(request)) return;
    const PluginRoute* route = router_.find_route(request.context.plugin);
    if (route == nullptr) {
        reject(request.context, "unknown_plugin",
               "no plugin named " + nlohmann::json(request.context.plugin).dump() + "; plugins here: " +
                   router_.plugin_list());
        return;
    }
    const auto received = Clock::now();
    if (!route->require_scope.empty() && !(identity_ && identity_->token.has_scope(route->require_scope))) {
        refuse(*route, "forbidden",
               format_error(request.context, "forbidden",
                            "plugin \"" + request.context.plugin + "\" needs the scope \"" + route->require_scope +
                                "\", which your token does not hold"),
               received);
        return;
    }
    if (route->rate_limit.limited()) {
        if (const std::uint64_t wait_ms = take_token(request.context.plugin, *route)) {
            refuse(*route, "rate_limited", format_rate_limited(request.context, wait_ms), received);
            return;
        }
    }
    EngineLink* engine = route->link;
    const std::uint64_t request_id = pending_.next_id();
    switch (engine->send(request_id, client_id_, request.payload, identity_ ? identity_->token.caller : anonymous_caller)) {
        case SendResult::sent: break;
        case SendResult::unavailable:
            refuse(*route, "unavailable",
                   format_error(request.context, "unavailable",
                                "plugin \"" + request.context.plugin + "\" has no engine available"),
                   received);
            return;
    }
    if (route->counters) route->counters->started.add();
    plugins_used_ |= std::uint64_t{1} << route->bit;
    const auto deadline = received + engine->timeout();
    pending_.add(request_id, std::move(request.context), deadline, RequestMeter{route->counters, received});
    track_deadline(deadline);
}

template <class NextLayer>
void WebSocketSession<NextLayer>::reject(const ReplyContext& context, std::string_view code,
                                         const std::string& message) {
    if (metrics_) metrics_->rejected.add(code);
    send(format_error(context, code, message));
}

template <class NextLayer>
void WebSocketSession<NextLayer>::refuse(const PluginRoute& route, std::string_view code, std::string reply,
                                         Clock::time_point received) {
    if (route.counters) {
        route.counters->started.add();
        RequestMeter{route.counters, received}.finish(code, Clock::now());
    }
    send(std::move(reply));
}

template <class NextLayer>
void WebSocketSession<NextLayer>::answer_error(const PendingRequest& request, std::string_view code,
                                               const std::string& message) {
    cancel_at_engine(request);
    request.meter.finish(code, Clock::now());
    send(format_error(request.context, code, message));
}

template <class NextLayer>
void WebSocketSession<NextLayer>::drop_pending() {
    if (pending_.empty()) return;
    const auto now = Clock::now();
    for (const auto& request : pending_.take_all()) {
        cancel_at_engine(request);
        request.meter.finish("closed", now);
    }
}

template <class NextLayer>
void WebSocketSession<NextLayer>::cancel_at_engine(const PendingRequest& request) {
    if (EngineLink* link = router_.find_engine(request.context.plugin)) link->cancel(request.id, client_id_);
}

template <class NextLayer>
void WebSocketSession<NextLayer>::send_event(const EngineReply& event) {
    const PendingRequest* request = pending_.find(event.request_id);
    if (request == nullptr) return;  // answered already: the event is late
    if (!answering()) return;
    PluginCounters* counters = request->meter.counters;
    std::string frame = format_event(request->context, event.reply.body(), events_dropped_);
    // Progress is worth less than room for replies: past half the bound, drop it.
    if (queued_bytes() + frame.size() > config_.max_outbound_bytes / 2) {
        ++events_dropped_;
        if (counters) counters->events_dropped.add();
        return;
    }
    events_dropped_ = 0;
    if (counters) counters->events.add();
    send(std::move(frame));
}

template <class NextLayer>
void WebSocketSession<NextLayer>::note_close(const beast::error_code& ec) {
    if (close_code_ != 1006) return;  // we closed first: our code is the one counted
    if (ec == websocket::error::closed) {
        // A close frame without a code is 1005 ("no status received"), as RFC 6455 names it.
        const auto code = static_cast<std::uint16_t>(ws_.reason().code);
        close_code_ = code == 0 ? 1005 : code;
    }
    else if (ec == websocket::error::message_too_big) close_code_ = 1009;
    else if (ec == websocket::error::bad_frame_payload) close_code_ = 1007;
    else if (ec == websocket::condition::protocol_violation) close_code_ = 1002;
}

template <class NextLayer>
bool WebSocketSession<NextLayer>::answering() const noexcept {
    return state_ == State::open || state_ == State::draining || state_ == State::peer_closing;
}

template <class NextLayer>
void WebSocketSession<NextLayer>::on_granted(const EngineReply& grant) {
    if (!answering()) return;
    const auto slash = grant.channel.find('/');
    if (slash == std::string::npos) return;
    // The grant's body is the hub's: {"next":N,"replay":[[offset,message],...],"lost":"..."}.
    const auto body = nlohmann::json::parse(grant.reply.body(), nullptr, false);
    if (!body.is_object()) return;
    const auto next = body.find("next");
    if (next == body.end() || !next->is_number_unsigned()) return;

    if (!subscriptions_) subscriptions_ = std::make_unique<std::vector<Subscription>>();
    auto found = std::find_if(subscriptions_->begin(), subscriptions_->end(),
                              [&](const Subscription& s) { return s.key == grant.channel; });
    Subscription& subscription = found != subscriptions_->end() ? *found : subscriptions_->emplace_back();
    const PendingRequest* request = pending_.find(grant.request_id);
    subscription.key = grant.channel;
    // A grant whose request was answered already (it timed out, or was
    // cancelled) still subscribes: the plugin decided. Its frames carry no
    // id, in the form the client used last.
    subscription.context = request ? request->context
                                   : ReplyContext{last_form_, std::string(), grant.channel.substr(0, slash)};
    subscription.counters = request ? request->meter.counters : nullptr;
    subscription.missed = 0;

    std::string lost;
    if (const auto field = body.find("lost"); field != body.end() && field->is_string()) lost = field->get<std::string>();
    send(format_subscribed(subscription.context, subscription.channel(), next->get<std::uint64_t>(), lost));
    // What it missed, in order, then the live messages from `next` on.
    subscription.next = 0;
    if (const auto replay = body.find("replay"); replay != body.end() && replay->is_array()) {
        for (const auto& entry : *replay) {
            if (!entry.is_array() || entry.size() != 2 || !entry[0].is_number_unsigned()) continue;
            const auto offset = entry[0].get<std::uint64_t>();
            if (subscription.next == 0) subscription.next = offset;
            send_push(subscription, offset, entry[1].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        }
    }
    subscription.next = std::max(subscription.next, next->get<std::uint64_t>());
}

template <class NextLayer>
void WebSocketSession<NextLayer>::send_push(Subscription& subscription, std::uint64_t offset,
                                            std::string_view data_json, SharedPush* shared) {
    if (offset < subscription.next) return;  // came already (in the replay, or twice)
    // A gap: dropped on the way (a full inbox), counted as missed.
    if (subscription.next != 0) subscription.missed += offset - subscription.next;
    subscription.next = offset + 1;
    // Like progress events: past half the bound they go, and the next one says how many.
    const auto dropped = [&](std::size_t bytes) {
        if (queued_bytes() + bytes <= config_.max_outbound_bytes / 2) return false;
        ++subscription.missed;
        if (subscription.counters) subscription.counters->pushes_dropped.add();
        return true;
    };
    if (shared && subscription.missed == 0 && can_frame_now()) {
        const SharedPush::Frame frame = shared->frame(subscription.context, subscription.channel());
        if (dropped(frame.bytes.size())) return;
        if (subscription.counters) subscription.counters->pushes.add();
        if (metrics_) metrics_->bytes_out.add(frame.payload_bytes);
        ws_.next_layer().write_frame(frame.bytes);
        schedule_write();
        return;
    }
    std::string frame =
        format_push(subscription.context, subscription.channel(), offset, data_json, subscription.missed);
    if (dropped(frame.size())) return;
    subscription.missed = 0;
    if (subscription.counters) subscription.counters->pushes.add();
    send(std::move(frame));
}

template <class NextLayer>
void WebSocketSession<NextLayer>::on_push(const EngineReply& push) {
    if (!answering() || !subscriptions_) return;
    for (auto& subscription : *subscriptions_) {
        if (subscription.key != push.channel) continue;
        send_push(subscription, push.offset, push.reply.body());
        return;
    }
}

template <class NextLayer>
void WebSocketSession<NextLayer>::on_pushes(std::span<SharedPush> pushes) {
    if (!answering() || !subscriptions_ || pushes.empty()) return;
    for (auto& subscription : *subscriptions_) {
        if (subscription.key != pushes.front().key()) continue;
        for (auto& push : pushes) send_push(subscription, push.offset(), push.data_json(), &push);
        return;
    }
}

template <class NextLayer>
void WebSocketSession<NextLayer>::on_unsubscribed(const EngineReply& leave) {
    const auto slash = leave.channel.find('/');
    if (slash == std::string::npos) return;
    ReplyContext context{MessageForm::envelope, std::string(), leave.channel.substr(0, slash)};
    if (const PendingRequest* request = pending_.find(leave.request_id); request && !leave.client_id.empty())
        context = request->context;
    if (subscriptions_) {
        auto found = std::find_if(subscriptions_->begin(), subscriptions_->end(),
                                  [&](const Subscription& s) { return s.key == leave.channel; });
        if (found != subscriptions_->end()) {
            if (context.id_json.empty()) context.form = found->context.form;
            subscriptions_->erase(found);
        }
    }
    if (!answering()) return;
    const Reply* reason = leave.reply.kind() == Reply::Kind::error ? &leave.reply : nullptr;
    send(format_unsubscribed(context, std::string_view(leave.channel).substr(slash + 1), reason));
}

template <class NextLayer>
void WebSocketSession<NextLayer>::on_engine_reply(const EngineReply& reply) {
    switch (reply.part) {
        case ReplyPart::event: send_event(reply); return;
        case ReplyPart::push: on_push(reply); return;
        case ReplyPart::subscribe: on_granted(reply); return;
        case ReplyPart::unsubscribe: on_unsubscribed(reply); return;
        case ReplyPart::final: break;
    }
    // Taken before send(): an overflow there clears what is pending.
    const auto request = pending_.take(reply.request_id);
    if (!request) return;  // timed out or closing: already answered or nobody to answer
    request->meter.finish(reply.reply.ok() ? std::string_view("ok") : std::string_view(reply.reply.code()),
                          Clock::now());
    send(format_engine_reply(request->context, reply.reply));
    finish_drain_if_done();
    do_read();
}

template <class NextLayer>
bool WebSocketSession<NextLayer>::make_room(std::size_t bytes) {
    if (queued_bytes() + bytes <= config_.max_outbound_bytes) return true;
    log_.fields(LogLevel::warn,
                "client reads too slowly: over " + std::to_string(config_.max_outbound_bytes) +
                    " bytes of replies wait; closing it",
                {{"client", client_id_}, {"code", "1008"}});
    // What is not yet framed goes; the batch already framed leaves before the close.
    outbox_.clear();
    if (state_ == State::peer_closing) {
        drop_pending();
        release_peer_close();
        return false;
    }
    begin_close(websocket::close_code::policy_error, "outbound buffer limit exceeded");
    return false;
}

template <class NextLayer>
bool WebSocketSession<NextLayer>::can_frame_now() noexcept {
    // In order: nothing may wait in the outbox ahead of it. While the
    // client's close is held, the outbox is written before the close.
    return accepted_ && (state_ == State::open || state_ == State::draining) && outbox_.empty() &&
           ws_.next_layer().batched_bytes() < max_batch_bytes;
}

template <class NextLayer>
void WebSocketSession<NextLayer>::send(std::string message) {
    if (state_ == State::closing || state_ == State::ended) return;
    if (!make_room(message.size())) return;
    if (metrics_) metrics_->bytes_out.add(message.size());
    if (can_frame_now()) ws_.next_layer().write_text_frame(message);
    else outbox_.push(std::move(message));
    schedule_write();
}

template <class NextLayer>
void WebSocketSession<NextLayer>::schedule_write() {
    // More messages are likely in the pass under way or right behind it
    // (an inbox pass, a router's pushes): they leave together.
    if (writing_ || write_posted_) return;
    write_posted_ = true;
    net::post(ws_.get_executor(), [self = this->shared_from_this()] {
        self->write_posted_ = false;
        if (self->state_ != State::ended) self->do_write();
    });
}

template <class NextLayer>
void WebSocketSession<NextLayer>::do_write() {
    if (writing_) return;
    if (state_ == State::peer_closing) {
        write_owed_replies();
        return;
    }
    auto& stream = ws_.next_layer();
    if (accepted_)
        while (!outbox_.empty() && stream.batched_bytes() < max_batch_bytes) stream.write_text_frame(outbox_.pop());
    if (stream.batched_bytes() == 0) {
        if (close_after_write_) do_close(*std::exchange(close_after_write_, std::nullopt));
        return;
    }
    writing_ = true;
    stream.flush([self = this->shared_from_this()](const beast::error_code& ec, std::size_t) { self->on_flushed(ec); });
}

template <class NextLayer>
void WebSocketSession<NextLayer>::on_flushed(const beast::error_code& ec) {
    writing_ = false;
    if (ec) {
        end_connection();
        return;
    }
    do_write();
}

template <class NextLayer>
bool WebSocketSession<NextLayer>::hold_close() {
    // Called inside Beast's operation that answers the client's close (or
    // fails the connection): only the state changes here.
    if (state_ != State::open && state_ != State::draining) return false;
    // What is framed already goes before the close in any case.
    if (pending_.empty() && outbox_.empty()) return false;
    state_ = State::peer_closing;
    paused_self_.reset();  // the held close keeps the session alive now
    arm_close_timer(pending_.empty() ? close_grace : pending_.latest_deadline() - Clock::now() + peer_close_slack);
    net::post(ws_.get_executor(), [self = this->shared_from_this()] { self->do_write(); });
    return true;
}

template <class NextLayer>
void WebSocketSession<NextLayer>::write_owed_replies() {
    auto& stream = ws_.next_layer();
    if (!stream.holding_close()) return;  // not parked yet: the posted do_write() comes next
    const bool any = !outbox_.empty() || stream.batched_bytes() > 0;
    // Behind whatever is already on its way, in order.
    while (!outbox_.empty()) stream.write_text_frame(outbox_.pop());
    if (pending_.empty()) release_peer_close();  // the close follows the frames
    if (any && !writing_) {
        writing_ = true;
        stream.flush([self = this->shared_from_this()](const beast::error_code& ec, std::size_t) { self->on_flushed(ec); });
    }
}

template <class NextLayer>
void WebSocketSession<NextLayer>::release_peer_close() {
    state_ = State::closing;
    ws_.next_layer().release_close();
    arm_close_timer(close_grace);  // Beast tears down next; cut it if it cannot
}

template <class NextLayer>
void WebSocketSession<NextLayer>::end_connection() {
    state_ = State::ended;
    drop_pending();  // their replies are dropped when they come
    deadline_timer_.cancel();
    close_timer_.cancel();
    if (identity_) identity_->expiry.cancel();
    outbox_.clear();
    paused_self_.reset();
    // Beast's own close, if held, goes on (and fails): its operation completes.
    ws_.next_layer().release_close();
}

template <class NextLayer>
void WebSocketSession<NextLayer>::do_close(PendingClose close) {
    ws_.async_close(websocket::close_reason(close.code, close.reason),
                    [self = this->shared_from_this()](const beast::error_code& ec) {
                        if (ec && ec != net::error::operation_aborted)
                            self->log_.debug("client {}: close: {}", self->client_id_, ec.message());
                    });
}

template <class NextLayer>
void WebSocketSession<NextLayer>::shut_down() {
    if (state_ == State::open) {
        state_ = State::draining;
        arm_close_timer(config_.drain_timeout);
        finish_drain_if_done();
    } else if (state_ == State::handshaking) {
        state_ = State::draining;  // closed once the handshake is done
        arm_close_timer(config_.drain_timeout);
    }
}

template <class NextLayer>
void WebSocketSession<NextLayer>::abort() {
    // The event loop has stopped: nothing here will ever complete, and the
    // engine links go before this session does: it tells them nothing more.
    plugins_used_ = 0;
    pending_.take_all();
    paused_self_.reset();
    ws_.next_layer().abandon();
}

template <class NextLayer>
bool WebSocketSession<NextLayer>::all_input_read() {
    auto& stream = ws_.next_layer();
    // Before the first frame the session waits on the connection itself.
    return heard_from_ ? stream.input_drained() : stream.nothing_to_read();
}

template <class NextLayer>
void WebSocketSession<NextLayer>::finish_drain_if_done() {
    if (state_ != State::draining || !pending_.empty() || drain_check_posted_) return;
    // Whatever the client sent before the drain is answered first: close only
    // once all that has arrived has been read.
    if (!reading_ || !all_input_read()) {
        track_deadline(Clock::now() + drain_recheck);
        return;
    }
    // A read may have taken the last bytes already, its handler still in the
    // loop's queue: close once that queue has run, if no read completed meanwhile.
    drain_check_posted_ = true;
    net::post(ws_.get_executor(), [self = this->shared_from_this(), seen = ws_.next_layer().reads_completed()] {
        self->drain_check_posted_ = false;
        const bool quiet = self->ws_.next_layer().reads_completed() == seen;
        if (quiet && self->state_ == State::draining && self->pending_.empty() && self->reading_ &&
            self->all_input_read())
            self->begin_close(websocket::close_code::going_away, "server shutting down");
        else
            self->finish_drain_if_done();
    });
}

template <class NextLayer>
void WebSocketSession<NextLayer>::begin_close(websocket::close_code code, const char* reason) {
    state_ = State::closing;
    paused_self_.reset();  // the close and its timer keep it alive from here
    close_code_ = static_cast<std::uint16_t>(code);
    drop_pending();
    deadline_timer_.cancel();
    close_after_write_ = PendingClose{code, reason};
    arm_close_timer(close_grace);
    do_write();
}

template <class NextLayer>
void WebSocketSession<NextLayer>::arm_close_timer(Clock::duration after) {
    auto& timer = close_timer_.get(ws_.get_executor());
    timer.expires_after(after);
    // A weak reference: a waiting timer must not keep a finished session alive.
    timer.async_wait([weak = this->weak_from_this()](const beast::error_code& ec) {
        if (auto self = weak.lock()) self->on_close_timer(ec);
    });
}

template <class NextLayer>
void WebSocketSession<NextLayer>::on_close_timer(const beast::error_code& ec) {
    if (ec == net::error::operation_aborted) return;
    switch (state_) {
        case State::handshaking:
        case State::draining: {
            // The drain deadline passed: what is still pending gets its one reply now.
            for (const auto& request : pending_.take_all())
                answer_error(request, "shutting_down",
                             "the gateway shut down before plugin \"" + request.context.plugin + "\" replied");
            if (state_ == State::draining) begin_close(websocket::close_code::going_away, "server shutting down");
            return;
        }
        case State::peer_closing:
            // Past every deadline and still owed: answer them now, then close.
            for (const auto& request : pending_.take_all())
                answer_error(request, "timeout", "plugin \"" + request.context.plugin + "\" did not reply in time");
            if (state_ == State::peer_closing) write_owed_replies();
            return;
        case State::open:
            return;  // not armed while open
        case State::closing:
        case State::ended:
            break;
    }
    // The close did not finish within the grace period: cut the socket.
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    paused_self_.reset();
    ws_.next_layer().release_close();
}

template <class NextLayer>
void WebSocketSession<NextLayer>::check_liveness(Clock::time_point now) {
    if (state_ != State::open || now < liveness_due_) return;
    if (std::exchange(heard_since_check_, false)) {
        awaiting_pong_ = false;
        liveness_due_ = now + config_.ping_interval;
        return;
    }
    if (awaiting_pong_) {
        log_.debug("client {}: no answer to a ping within {} ms; dropping it", client_id_,
                   config_.pong_timeout.count());
        beast::error_code ignored;
        beast::get_lowest_layer(ws_).socket().close(ignored);
        end_connection();
        return;
    }
    awaiting_pong_ = true;
    if (!ping_in_flight_) {  // Beast takes one ping at a time; a stuck one is answer enough
        ping_in_flight_ = true;
        ws_.async_ping({}, [self = this->shared_from_this()](const beast::error_code&) { self->ping_in_flight_ = false; });
    }
    liveness_due_ = now + config_.pong_timeout;
}

template <class NextLayer>
std::uint64_t WebSocketSession<NextLayer>::take_token(const std::string& plugin, const PluginRoute& route) {
    const auto now = Clock::now();
    const RateLimit& limit = route.rate_limit;
    // A user's connections on this loop share one bucket per plugin.
    if (identity_ && !identity_->token.caller->subject.empty() && route.user_buckets)
        return route.user_buckets->take(identity_->token.caller->subject, limit, now);
    for (auto& [name, bucket] : buckets_)
        if (name == plugin) return bucket.take(limit, now);
    constexpr std::size_t max_buckets = 64;  // one per rate-limited plugin; a list of them is short
    if (buckets_.size() >= max_buckets) buckets_.erase(buckets_.begin());
    buckets_.emplace_back(plugin, TokenBucket(limit, now));
    return buckets_.back().second.take(limit, now);
}

template <class NextLayer>
bool WebSocketSession<NextLayer>::handle_session_command(const ClientRequest& request) {
    const std::string_view command = trim_command(request.payload);
    constexpr std::string_view cancel = "cancel";
    if (command.substr(0, cancel.size()) == cancel &&
        (command.size() == cancel.size() || command[cancel.size()] == ' ')) {
        cancel_requests(request.context, trim_command(command.substr(cancel.size())));
        return true;
    }
    constexpr std::string_view refresh = "refresh";
    if (command.substr(0, refresh.size()) == refresh &&
        (command.size() == refresh.size() || command[refresh.size()] == ' ')) {
        if (!identity_) {
            send(format_error(request.context, "no_auth", "this gateway checks no tokens: there is nothing to refresh"));
            return true;
        }
        refresh_identity(request.context, trim_command(command.substr(refresh.size())));
        return true;
    }
    if (command == "whoami") {
        nlohmann::json who{{"authenticated", identity_ != nullptr}, {"client", client_id_}};
        if (identity_) {
            const VerifiedToken& token = identity_->token;
            who["subject"] = token.caller->subject;
            who["scopes"] = token.scopes;
            if (token.expires_at)
                who["expires_at"] = std::chrono::duration_cast<std::chrono::seconds>(
                                        token.expires_at->time_since_epoch()).count();
        }
        send(format_engine_reply(request.context,
                                 Reply::json(who.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))));
        return true;
    }
    return false;
}

template <class NextLayer>
void WebSocketSession<NextLayer>::cancel_requests(const ReplyContext& context, std::string_view id_text) {
    std::string id_json;
    if (!id_text.empty()) {
        const auto id = nlohmann::json::parse(id_text, nullptr, false);
        if (id.is_discarded() || id.is_object() || id.is_array()) {
            send(format_error(context, "bad_request",
                              "portico cancel takes the \"id\" of a request as its envelope gave it (7, \"a\"), "
                              "or nothing to cancel every request of this connection"));
            return;
        }
        id_json = id.dump();  // as the envelope's id was kept
    }
    const auto cancelled = pending_.take_with_client_id(id_json);
    for (const auto& request : cancelled) answer_error(request, "cancelled", "cancelled by the client");
    send(format_engine_reply(context, Reply::json("{\"cancelled\":" + std::to_string(cancelled.size()) + "}")));
    // Called from on_read(), which reads on (there is room again) once the message is done with.
}

template <class NextLayer>
void WebSocketSession<NextLayer>::refresh_identity(const ReplyContext& context, std::string_view token) {
    auto verified = tokens_.current()->verify(token);
    if (!verified) {
        // The old token still holds until it expires.
        send(format_error(context, "unauthorized", "refresh refused: " + verified.error().message));
        return;
    }
    if (verified->caller->subject != identity_->token.caller->subject) {
        send(format_error(context, "forbidden",
                          "refresh refused: the new token is for another subject; a connection keeps its user"));
        return;
    }
    identity_->token = std::move(verified).value();
    arm_expiry();
    nlohmann::json result{{"refreshed", true}};
    if (identity_->token.expires_at)
        result["expires_at"] =
            std::chrono::duration_cast<std::chrono::seconds>(identity_->token.expires_at->time_since_epoch()).count();
    else
        result["expires_at"] = nullptr;
    send(format_engine_reply(context, Reply::json(result.dump())));
}

template <class NextLayer>
void WebSocketSession<NextLayer>::arm_expiry() {
    const auto& expires_at = identity_->token.expires_at;
    identity_->expiry.cancel();
    if (!expires_at) return;  // a token without exp holds for the connection's life
    const auto left = *expires_at + tokens_.current()->leeway() - std::chrono::system_clock::now();
    identity_->expiry.expires_after(std::chrono::duration_cast<Clock::duration>(left));
    // A weak reference: a waiting timer must not keep a finished session alive.
    identity_->expiry.async_wait([weak = this->weak_from_this()](const beast::error_code& ec) {
        if (auto self = weak.lock()) self->on_token_expired(ec);
    });
}

template <class NextLayer>
void WebSocketSession<NextLayer>::on_token_expired(const beast::error_code& ec) {
    if (ec == net::error::operation_aborted) return;
    if (state_ != State::open && state_ != State::draining) return;
    // A refresh that raced with this timer re-armed it for later.
    if (identity_->expiry.expiry() > Clock::now()) return;
    log_.debug("client {}: token of \"{}\" expired; closing ({})", client_id_, identity_->token.caller->subject,
               token_expired_close);
    for (const auto& request : pending_.take_all())
        answer_error(request, "token_expired",
                     "the connection's token expired before plugin \"" + request.context.plugin + "\" replied");
    if (state_ != State::open && state_ != State::draining) return;  // the replies overflowed: closing already
    begin_close(static_cast<websocket::close_code>(token_expired_close), "token expired");
}

template <class NextLayer>
void WebSocketSession<NextLayer>::track_deadline(Clock::time_point deadline) {
    if (deadline >= timer_expiry_) return;  // the armed timer fires earlier anyway
    timer_expiry_ = deadline;
    auto& timer = deadline_timer_.get(ws_.get_executor());
    timer.expires_at(deadline);
    // A weak reference: a waiting timer must not keep a finished session alive.
    timer.async_wait([weak = this->weak_from_this()](const beast::error_code& ec) {
        if (auto self = weak.lock()) self->on_deadline(ec);
    });
}

template <class NextLayer>
void WebSocketSession<NextLayer>::on_deadline(const beast::error_code& ec) {
    if (ec == net::error::operation_aborted) return;
    timer_expiry_ = Clock::time_point::max();
    if (state_ == State::closing || state_ == State::ended) return;
    auto expired = pending_.take_expired(Clock::now());
    if (expired.next != Clock::time_point::max()) track_deadline(expired.next);
    // A late reply finds no pending entry and is dropped: exactly one answer each.
    for (const auto& request : expired.requests)
        answer_error(request, "timeout", "plugin \"" + request.context.plugin + "\" did not reply in time");
    finish_drain_if_done();
    do_read();
}

template class WebSocketSession<beast::tcp_stream>;
template class WebSocketSession<TlsStream>;

}  // namespace portico
