#pragma once
// Reads the HTTP request on a new connection: a WebSocket upgrade on the
// gateway's path is handed to a WebSocketSession, anything else gets a short
// HTTP answer. Header size and read time are bounded.
#include "config.hpp"
#include "logger.hpp"
#include "net.hpp"
#include "router.hpp"

#include <memory>
#include <optional>

namespace portico {

class HttpSession : public std::enable_shared_from_this<HttpSession> {
public:
    HttpSession(tcp::socket&& socket, Router& router, const GatewayConfig& config, Logger& log);
    void run();

private:
    void on_read(const beast::error_code& ec);
    void respond(http::status status, std::string body);

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    http::response<http::string_body> response_;
    Router& router_;
    const GatewayConfig& config_;
    Logger& log_;
};

}  // namespace portico
