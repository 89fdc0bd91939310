#include "gateway/http_session.hpp"

#include "gateway/websocket_session.hpp"

namespace portico {
namespace {

constexpr std::chrono::seconds request_timeout{30};
constexpr std::uint32_t max_header_bytes = 8 * 1024;

}  // namespace

HttpSession::HttpSession(tcp::socket&& socket, Router& router, const HttpRouteTable& routes,
                         const GatewayConfig& config, Logger& log)
    : stream_(std::move(socket)), router_(router), routes_(routes), config_(config), log_(log) {}

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
            log_.debug("http: {}", ec.message());
        if (ec == http::error::header_limit || ec == http::error::body_limit || ec == http::error::bad_target ||
            ec == http::error::bad_method || ec == http::error::bad_version)
            respond(make_http_response(http::status::bad_request, "bad request\n"));
        return;
    }
    auto request = parser_->release();
    auto decision = routes_.route(request);
    if (!decision.upgrade) {
        respond(std::move(decision.response));
        return;
    }
    // The request timer would otherwise keep this stream (and its handler)
    // alive for its whole 30 s after the hand-off.
    stream_.expires_never();
    // The client may have sent its first frames with the upgrade request.
    const auto early = buffer_.cdata();
    std::make_shared<WebSocketSession>(stream_.release_socket(), router_, config_, log_)
        ->run(std::move(request), std::string_view(static_cast<const char*>(early.data()), early.size()));
}

void HttpSession::respond(HttpResponse response) {
    response_ = std::move(response);
    http::async_write(stream_, response_, [self = shared_from_this()](const beast::error_code&, std::size_t) {
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    });
}

}  // namespace portico
