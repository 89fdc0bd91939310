#include "gateway/http_session.hpp"

#include "gateway/tls_stream.hpp"
#include "gateway/websocket_session.hpp"

#include <type_traits>

namespace portico {
namespace {

constexpr std::uint32_t max_header_bytes = 8 * 1024;

template <class Stream>
constexpr bool is_tls = std::is_same_v<Stream, TlsStream>;

}  // namespace

template <class Stream>
HttpSession<Stream>::HttpSession(Stream&& stream, std::shared_ptr<TlsContext> tls, Router& router,
                                 const GatewayServices& services)
    : stream_(std::move(stream)), tls_(std::move(tls)), router_(router), services_(services) {}

template <class Stream>
void HttpSession<Stream>::run() {
    // One deadline from the connect to the upgrade, whatever the client
    // dribbles: the TLS handshake, the request, the 101 response.
    deadline_ = std::chrono::steady_clock::now() + services_.config.handshake_timeout;
    beast::get_lowest_layer(stream_).expires_at(deadline_);
    if constexpr (is_tls<Stream>) {
        stream_.async_handshake(net::ssl::stream_base::server,
                                [self = this->shared_from_this()](const beast::error_code& ec) {
                                    self->tls_.reset();  // the connection holds its own reference now
                                    if (ec) {
                                        self->services_.log.debug("tls handshake: {}", ec.message());
                                        return;
                                    }
                                    self->read_request();
                                });
    } else {
        read_request();
    }
}

template <class Stream>
void HttpSession<Stream>::read_request() {
    parser_.emplace();
    parser_->header_limit(max_header_bytes);
    parser_->body_limit(0);  // an upgrade has no body; nothing else is served
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](const beast::error_code& ec, std::size_t) { self->on_read(ec); });
}

template <class Stream>
void HttpSession<Stream>::on_read(const beast::error_code& ec) {
    if (ec) {
        if (ec == beast::error::timeout)
            services_.log.debug("http: no complete request within {} ms of the connect; dropped",
                                services_.config.handshake_timeout.count());
        else if (ec != http::error::end_of_stream && ec != net::error::operation_aborted)
            services_.log.debug("http: {}", ec.message());
        if (ec == http::error::header_limit || ec == http::error::body_limit || ec == http::error::bad_target ||
            ec == http::error::bad_method || ec == http::error::bad_version)
            respond(make_http_response(http::status::bad_request, "bad request\n"));
        return;
    }
    auto request = parser_->release();
    auto decision = services_.routes.route(request);
    if (!decision.upgrade) {
        respond(std::move(decision.response));
        return;
    }
    upgrade(std::move(request));
}

template <class Stream>
void HttpSession<Stream>::upgrade(HttpRequest request) {
    beast::error_code ec;
    const auto peer = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (ec) return;  // gone already
    // Browsers always send Origin; other clients may not, and pass.
    if (const auto origin = request.find(http::field::origin); origin != request.end()) {
        if (!services_.origins.allows(origin->value())) {
            services_.log.warn("refused a WebSocket handshake from {}: origin \"{}\" is not in gateway.allowed_origins",
                               peer.address().to_string(), std::string(origin->value().substr(0, 200)));
            respond(make_http_response(http::status::forbidden, "origin not allowed\n"));
            return;
        }
    }
    // With gateway.auth, nothing happens for a client without a valid token.
    std::optional<VerifiedToken> identity;
    if (services_.config.jwt) {
        auto verified = services_.tokens.current()->verify(
            find_bearer_token(request[http::field::authorization], request.target()));
        if (!verified) {
            services_.log.info("refused a WebSocket handshake from {}: {}", peer.address().to_string(),
                               verified.error().message);
            auto response = make_http_response(http::status::unauthorized,
                                               "unauthorized: " + verified.error().message + "\n");
            response.set(http::field::www_authenticate, "Bearer realm=\"portico\", error=\"invalid_token\"");
            respond(std::move(response));
            return;
        }
        identity = std::move(verified).value();
    }
    auto admission = services_.limits.admit(peer.address());
    if (admission.refusal != ConnectionLimits::Refusal::none) {
        const bool whole = admission.refusal == ConnectionLimits::Refusal::gateway_full;
        services_.log.warn("refused a WebSocket handshake from {}: {} (gateway.{})", peer.address().to_string(),
                           whole ? "the gateway is at its connection limit" : "that address is at its connection limit",
                           whole ? "max_connections" : "max_connections_per_ip");
        auto response = make_http_response(http::status::service_unavailable,
                                           whole ? "too many connections\n" : "too many connections from your address\n");
        response.set(http::field::retry_after, "5");
        respond(std::move(response));
        return;
    }
    // The client may have sent its first frames with the upgrade request.
    const auto early = buffer_.cdata();
    const std::string_view early_bytes(static_cast<const char*>(early.data()), early.size());
    if constexpr (is_tls<Stream>) {
        std::make_shared<WebSocketSession<TlsStream>>(std::move(stream_), router_, services_,
                                                      std::move(admission.slot), std::move(identity))
            ->run(std::move(request), early_bytes, deadline_);
    } else {
        // The request timer would otherwise keep this stream (and its
        // handler) alive until it expires, long after the hand-off.
        stream_.expires_never();
        std::make_shared<WebSocketSession<beast::tcp_stream>>(stream_.release_socket(), router_, services_,
                                                              std::move(admission.slot), std::move(identity))
            ->run(std::move(request), early_bytes, deadline_);
    }
}

template <class Stream>
void HttpSession<Stream>::respond(HttpResponse response) {
    response_ = std::move(response);
    http::async_write(stream_, response_, [self = this->shared_from_this()](const beast::error_code&, std::size_t) {
        if constexpr (is_tls<Stream>) {
            // close_notify, then the socket goes with the session.
            self->stream_.async_shutdown([self](const beast::error_code&) {});
        } else {
            beast::error_code ignored;
            self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        }
    });
}

template class HttpSession<beast::tcp_stream>;
template class HttpSession<TlsStream>;

}  // namespace portico
