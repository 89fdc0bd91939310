#pragma once
// One WebSocket client connection, from the accepted upgrade to the close.
// It lives on one gateway event loop (one thread), so its state needs no lock;
// pending asynchronous operations keep it alive, nothing else does.
//
// Bounds: at most max_inflight_per_client requests wait for engines (then
// reading pauses: back-pressure), frames larger than max_message_bytes close
// the connection (1009), and when more than max_outbound_bytes of replies wait
// for a client that does not read, it is closed (1008).
//
// Liveness: a client silent for gateway.ping_interval_ms is pinged, and one
// that then stays silent for pong_timeout_ms is dropped, so dead peers do
// not hold connection slots (the loop's LivenessSweep asks, no timer here). Rate limits (plugins.NAME.rate_limit) are a
// token bucket per connection and plugin: a request beyond one is answered
// "rate_limited" with retry_after_ms, and the connection stays open.
//
// With gateway.auth it carries the identity its upgrade token proved: the
// caller goes with every request, plugins.NAME.require_scope is checked
// against the token's scopes ("forbidden"), rate limits are per user, and
// when the token expires (exp + leeway) the connection closes with 4001
// unless "portico refresh TOKEN" brought a fresh token for the same subject.
//
// Every request it accepted gets exactly one reply, also when the client's
// close (or a frame that breaks the protocol) arrives right behind it: the
// close Beast sends back waits until the replies owed are out: each comes
// from its engine or, at the request's deadline, as "timeout". During a gateway drain it keeps reading until everything the
// client had sent is answered, then closes with 1001.
#include "config/config.hpp"
#include "core/client_id.hpp"
#include "core/logger.hpp"
#include "core/net.hpp"
#include "gateway/client_message.hpp"
#include "gateway/connection_limits.hpp"
#include "gateway/gateway_services.hpp"
#include "gateway/gateway_stream.hpp"
#include "gateway/lazy_timer.hpp"
#include "gateway/outbound_queue.hpp"
#include "gateway/pending_requests.hpp"
#include "gateway/router.hpp"
#include "gateway/token_bucket.hpp"
#include "gateway/token_verifier.hpp"

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portico {

// NextLayer: beast::tcp_stream (ws://) or TlsStream (wss://).
template <class NextLayer>
class WebSocketSession final : public ClientConnection,
                               public CloseGate,
                               public std::enable_shared_from_this<WebSocketSession<NextLayer>> {
public:
    // `next`: what the next layer is made from (a socket, or the TLS stream
    // whose handshake is done); `slot`: this connection's place in the limits.
    // `identity`: what the upgrade's token proved (gateway.auth only).
    template <class Next>
    WebSocketSession(Next&& next, Router& router, const GatewayServices& services, ConnectionSlot slot,
                     std::optional<VerifiedToken> identity = std::nullopt)
        : ws_(std::forward<Next>(next)),
          router_(router),
          config_(services.config),
          log_(services.log),
          tokens_(services.tokens),
          metrics_(router.metrics()),
          client_id_(make_client_id()),
          slot_(std::move(slot)) {
        if (identity) identity_ = std::make_unique<Identity>(std::move(*identity), ws_.get_executor());
    }
    ~WebSocketSession() override;

    // Completes the upgrade the HTTP session read (by `handshake_deadline`),
    // then starts reading; `early_bytes` arrived behind the request and are
    // read first.
    void run(http::request<http::string_body> request, std::string_view early_bytes,
             std::chrono::steady_clock::time_point handshake_deadline);

    void on_engine_reply(const EngineReply& reply) override;
    void on_pushes(std::span<SharedPush> pushes) override;
    void check_liveness(std::chrono::steady_clock::time_point now) override;
    void shut_down() override;
    void abort() override;
    bool hold_close() override;

    const std::string& client_id() const noexcept { return client_id_; }

private:
    using Clock = std::chrono::steady_clock;
    enum class State : std::uint8_t {
        handshaking,   // answering the upgrade
        open,          // serving requests
        draining,      // the gateway stops: pending requests finish, new ones get "shutting_down"
        peer_closing,  // the client's close (or a protocol error) is in: owed replies go out first
        closing,       // our close, or Beast's, is under way: nothing more is read or answered
        ended,         // the connection failed or is closed
    };
    // Kept small: a websocket::close_reason holds 120 bytes of text inline.
    struct PendingClose {
        websocket::close_code code;
        const char* reason;
    };

    void on_accept(const beast::error_code& ec);
    void do_read();
    void start_read();
    void on_read(const beast::error_code& ec, std::size_t bytes);
    void handle_message(std::string_view text);
    // Every message leaves after the handlers already queued: replies and
    // pushes come in bursts (an inbox pass), and a burst goes in one send.
    void send(std::string message);
    // False: `bytes` more would pass max_outbound_bytes, and the connection closes.
    bool make_room(std::size_t bytes);
    // Bytes waiting to be handed to the connection: queued, or framed and not yet sent.
    std::size_t queued_bytes() noexcept { return outbox_.bytes() + ws_.next_layer().batched_bytes(); }
    // A message may be framed into the stream now, behind everything before it.
    bool can_frame_now() noexcept;
    void schedule_write();
    // An error answered before any engine saw the message (counted apart from plugins).
    void reject(const ReplyContext& context, std::string_view code, const std::string& message);
    // An error for a request the route refused (forbidden, rate_limited, unavailable).
    void refuse(const PluginRoute& route, std::string_view code, std::string reply, Clock::time_point received);
    // A pending request's one reply: an error with `code`.
    void answer_error(const PendingRequest& request, std::string_view code, const std::string& message);
    // Requests nobody will answer (the connection closes): counted, then dropped.
    void drop_pending();
    // The close code this connection ended with, from the read that failed.
    void note_close(const beast::error_code& ec);
    // What is framed, and what the outbox holds up to a batch's size, goes
    // out with one write.
    void do_write();
    void on_flushed(const beast::error_code& ec);
    // While the client's close is held back: replies as frames of our own.
    void write_owed_replies();
    void release_peer_close();
    void do_close(PendingClose close);
    // Stops taking requests, flushes what is queued, then sends the close;
    // the socket is cut if that has not finished within a grace period.
    void begin_close(websocket::close_code code, const char* reason);
    void arm_close_timer(Clock::duration after);
    void on_close_timer(const beast::error_code& ec);
    // The connection failed: nothing more is read, written or answered.
    void end_connection();
    void finish_drain_if_done();
    bool all_input_read();
    void track_deadline(Clock::time_point deadline);
    void on_deadline(const beast::error_code& ec);
    bool reading_allowed() const noexcept;
    // 0: the request may go; otherwise milliseconds until it may.
    std::uint64_t take_token(const std::string& plugin, const PluginRoute& route);
    // "portico refresh TOKEN", "portico whoami" and "portico cancel [ID]":
    // answered by the session, which holds the identity and the pending
    // requests. False: not one of them.
    bool handle_session_command(const ClientRequest& request);
    void cancel_requests(const ReplyContext& context, std::string_view id_text);
    // A progress event for a pending request (ReplyPart::event).
    void send_event(const EngineReply& event);
    // Channels (ReplyPart::subscribe, push, unsubscribe; see Subscription).
    void on_granted(const EngineReply& grant);
    void on_push(const EngineReply& push);
    void on_unsubscribed(const EngineReply& leave);
    struct Subscription;
    // Queues the message at `offset` unless it came already; past half the
    // outbound bound it is dropped and counted in `missed`. `shared`: the
    // message framed once for every subscriber on this loop.
    void send_push(Subscription& subscription, std::uint64_t offset, std::string_view data_json,
                   SharedPush* shared = nullptr);
    bool answering() const noexcept;
    // The request was answered here, not by its engine: tell the engine to stop.
    void cancel_at_engine(const PendingRequest& request);
    void refresh_identity(const ReplyContext& context, std::string_view token);
    void arm_expiry();
    void on_token_expired(const beast::error_code& ec);

    websocket::stream<GatewayStream<NextLayer>> ws_;
    beast::flat_buffer read_buffer_;
    Router& router_;
    const GatewayConfig& config_;
    Logger& log_;
    const TokenVerifierStore& tokens_;
    LoopMetrics* metrics_;  // null: metrics are off
    std::string client_id_;
    State state_ = State::handshaking;
    bool accepted_ = false;  // the WebSocket handshake succeeded
    std::uint16_t close_code_ = 1006;  // until a close frame says otherwise: none was exchanged
    std::uint32_t events_dropped_ = 0;  // since the last event that went: the next one says so
    bool reading_ = false;     // a read (or the wait before the first one) is under way
    bool writing_ = false;     // a batch is being written
    bool heard_from_ = false;  // the client has sent something
    bool drain_check_posted_ = false;
    bool heard_since_check_ = false;  // any frame, pongs too, since the last liveness check
    bool awaiting_pong_ = false;
    bool ping_in_flight_ = false;
    bool write_posted_ = false;  // a do_write() is queued
    MessageForm last_form_ = MessageForm::envelope;  // of the client's latest request: for a late grant

    PendingRequests pending_;
    std::uint64_t plugins_used_ = 0;  // PluginRoute::bit of each plugin sent a request: told client_gone()
    LazyTimer deadline_timer_;
    Clock::time_point timer_expiry_ = Clock::time_point::max();

    // Messages not yet framed: behind a batch that is full, or while the
    // client's close is held (written then as frames before it).
    OutboundQueue outbox_;
    // While reading is paused for back-pressure no read keeps the session
    // alive, yet its requests are still owed replies: it holds itself until
    // reading resumes or it closes.
    std::shared_ptr<WebSocketSession> paused_self_;
    // The drain deadline, the reply grace and the close grace period.
    LazyTimer close_timer_;
    // Open: when check_liveness() looks at this connection next.
    Clock::time_point liveness_due_ = Clock::time_point::max();
    std::optional<PendingClose> close_after_write_;
    ConnectionSlot slot_;
    std::vector<std::pair<std::string, TokenBucket>> buckets_;  // rate-limited plugins used (no auth)
    // Apart, so that a connection without auth pays one pointer for it.
    struct Identity {
        Identity(VerifiedToken verified, const net::any_io_executor& executor)
            : token(std::move(verified)), expiry(executor) {}
        VerifiedToken token;
        net::steady_timer expiry;  // at the token's exp + leeway: close 4001
    };
    std::unique_ptr<Identity> identity_;
    // A channel the router delivers here: what the client has seen of it.
    struct Subscription {
        std::string key;           // "PLUGIN/CHANNEL"
        ReplyContext context;      // the granting request's form and plugin (pushes carry no id)
        std::uint64_t next = 0;    // the offset expected next: one below it came already
        std::uint64_t missed = 0;  // dropped since the last one that went: the next one says so
        PluginCounters* counters = nullptr;
        std::string_view channel() const noexcept { return std::string_view(key).substr(context.plugin.size() + 1); }
    };
    std::unique_ptr<std::vector<Subscription>> subscriptions_;  // made at the first grant
};

}  // namespace portico
