#pragma once
// A new connection up to its WebSocket upgrade: the TLS handshake (wss://),
// then one HTTP request, read within gateway.handshake_timeout_ms of the
// connect and bounded in size. The route table decides what it gets; an
// upgrade must also come from an allowed Origin (else 403) and find a
// connection slot (else 503) before a WebSocketSession takes the connection.
// Stream: beast::tcp_stream (ws://) or TlsStream (wss://).
#include "core/net.hpp"
#include "gateway/gateway_services.hpp"
#include "gateway/router.hpp"
#include "gateway/tls_context.hpp"

#include <chrono>
#include <memory>
#include <optional>

namespace portico {

template <class Stream>
class HttpSession : public std::enable_shared_from_this<HttpSession<Stream>> {
public:
    // `tls` is the context a TlsStream was made with (null for plain TCP):
    // held until the handshake is done.
    HttpSession(Stream&& stream, std::shared_ptr<TlsContext> tls, Router& router, const GatewayServices& services);
    void run();

private:
    void read_request();
    void on_read(const beast::error_code& ec);
    void upgrade(HttpRequest request);
    void respond(HttpResponse response);

    Stream stream_;
    std::shared_ptr<TlsContext> tls_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    HttpResponse response_;
    Router& router_;
    const GatewayServices& services_;
    std::chrono::steady_clock::time_point deadline_;
};

}  // namespace portico
