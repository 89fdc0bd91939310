#pragma once
// Reads the HTTP request on a new connection and does what the route table
// decides: a WebSocket upgrade is handed to a WebSocketSession, anything else
// gets its HTTP answer. Header size and read time are bounded.
#include "config/config.hpp"
#include "gateway/http_routes.hpp"
#include "core/logger.hpp"
#include "core/net.hpp"
#include "gateway/router.hpp"

#include <memory>
#include <optional>

namespace portico {

class HttpSession : public std::enable_shared_from_this<HttpSession> {
public:
    HttpSession(tcp::socket&& socket, Router& router, const HttpRouteTable& routes, const GatewayConfig& config,
                Logger& log);
    void run();

private:
    void on_read(const beast::error_code& ec);
    void respond(HttpResponse response);

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    HttpResponse response_;
    Router& router_;
    const HttpRouteTable& routes_;
    const GatewayConfig& config_;
    Logger& log_;
};

}  // namespace portico
