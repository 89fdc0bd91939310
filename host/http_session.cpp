#include "http_session.hpp"

#include "websocket_session.hpp"

namespace portico {
namespace {

constexpr std::chrono::seconds request_timeout{30};
constexpr std::uint32_t max_header_bytes = 8 * 1024;

}  // namespace

HttpSession::HttpSession(tcp::socket&& socket, Router& router, const GatewayConfig& config, Logger& log)
    : stream_(std::move(socket)), router_(router), config_(config), log_(log) {}

void HttpSession::run() {
    parser_.emplace();
    parser_->header_limit(max_header_bytes);
    parser_->body_limit(0);  // an upgrade has no body; nothing else is served
    stream_.expires_after(request_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](const beast::error_code& ec, std::size_t) { self->on_read(ec); });
}

void HttpSession::on_read(const beast::error_code& ec) {
    if (ec) {
        if (ec != http::error::end_of_stream && ec != net::error::operation_aborted)
            log_.debug("http: " + ec.message());
        if (ec == http::error::header_limit || ec == http::error::body_limit || ec == http::error::bad_target ||
            ec == http::error::bad_method || ec == http::error::bad_version)
            respond(http::status::bad_request, "bad request\n");
        return;
    }
    auto request = parser_->release();
    const auto target = request.target();
    const auto path = target.substr(0, target.find('?'));
    if (path != config_.path) {
        respond(http::status::not_found, "not found: the portico WebSocket gateway is at " + config_.path + "\n");
        return;
    }
    if (!websocket::is_upgrade(request)) {
        respond(http::status::upgrade_required,
                "portico WebSocket gateway: connect a WebSocket client to " + config_.path + "\n");
        return;
    }
    // The request timer would otherwise keep this stream (and its handler)
    // alive for its whole 30 s after the hand-off.
    stream_.expires_never();
    std::make_shared<WebSocketSession>(stream_.release_socket(), router_, config_, log_)->run(std::move(request));
}

void HttpSession::respond(http::status status, std::string body) {
    response_ = http::response<http::string_body>(status, 11);
    response_.set(http::field::server, "portico");
    response_.set(http::field::content_type, "text/plain; charset=utf-8");
    if (status == http::status::upgrade_required) response_.set(http::field::upgrade, "websocket");
    response_.keep_alive(false);
    response_.body() = std::move(body);
    response_.prepare_payload();
    http::async_write(stream_, response_, [self = shared_from_this()](const beast::error_code&, std::size_t) {
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    });
}

}  // namespace portico
