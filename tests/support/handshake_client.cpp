#include "support/handshake_client.hpp"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <openssl/ssl.h>

#include <variant>

namespace portico::test {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

using PlainWs = websocket::stream<beast::tcp_stream>;
using TlsWs = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

}  // namespace

struct HandshakeClient::Impl {
    net::io_context io;
    ssl::context tls{ssl::context::tls_client};
    std::variant<std::monostate, PlainWs, TlsWs> ws;
    websocket::response_type response;
    std::string error;
    bool ok = false;
    std::chrono::milliseconds timeout{};

    // Runs the loop until `done` or the timeout; then the socket is cut.
    template <class Stream>
    bool run(Stream& stream, std::chrono::milliseconds limit, const bool& done) {
        io.restart();
        io.run_for(limit);
        if (done) return true;
        beast::error_code ignored;
        beast::get_lowest_layer(stream).socket().close(ignored);
        io.restart();
        io.run_for(2s);
        return false;
    }

    template <class Stream>
    void upgrade(Stream& stream, std::uint16_t port, const HandshakeOptions& options) {
        bool done = false;
        beast::error_code result;
        auto& lowest = beast::get_lowest_layer(stream);
        lowest.expires_after(options.timeout);
        const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
        lowest.async_connect(endpoint, [&](beast::error_code ec) {
            if (ec) {
                result = ec;
                done = true;
                return;
            }
            auto handshake = [&] {
                stream.set_option(websocket::stream_base::decorator([&options](websocket::request_type& request) {
                    if (!options.origin.empty()) request.set(http::field::origin, options.origin);
                    if (!options.authorization.empty()) request.set(http::field::authorization, options.authorization);
                }));
                stream.async_handshake(response, "localhost:" + std::to_string(port), options.target,
                                       [&](beast::error_code handshake_ec) {
                                           result = handshake_ec;
                                           done = true;
                                       });
            };
            if constexpr (std::is_same_v<Stream, TlsWs>) {
                SSL_set_tlsext_host_name(stream.next_layer().native_handle(), options.server_name.c_str());
                stream.next_layer().set_verify_callback(ssl::host_name_verification(options.server_name));
                stream.next_layer().async_handshake(ssl::stream_base::client, [&, handshake](beast::error_code tls_ec) {
                    if (tls_ec) {
                        error = "tls: " + tls_ec.message();
                        result = tls_ec;
                        done = true;
                        return;
                    }
                    handshake();
                });
            } else {
                handshake();
            }
        });
        if (!run(stream, options.timeout + 1s, done)) {
            error = "timed out";
            return;
        }
        lowest.expires_never();
        if (result) {
            if (error.empty()) error = "handshake: " + result.message();
            return;
        }
        ok = true;
    }
};

HandshakeClient::HandshakeClient(std::uint16_t port, const HandshakeOptions& options) : impl_(std::make_unique<Impl>()) {
    impl_->timeout = options.timeout;
    if (!options.tls) {
        auto& ws = impl_->ws.emplace<PlainWs>(impl_->io);
        impl_->upgrade(ws, port, options);
        return;
    }
    auto& context = impl_->tls;
    context.set_verify_mode(ssl::verify_peer);
    if (!options.trusted_ca.empty()) context.add_certificate_authority(net::buffer(options.trusted_ca));
    if (options.max_tls_version != 0) {
        // Old versions are off by default in OpenSSL 3 (security level): let
        // the client offer them, so that the refusal is the server's.
        SSL_CTX_set_security_level(context.native_handle(), 0);
        SSL_CTX_set_min_proto_version(context.native_handle(), 0);
        SSL_CTX_set_max_proto_version(context.native_handle(), options.max_tls_version);
    }
    auto& ws = impl_->ws.emplace<TlsWs>(impl_->io, context);
    impl_->upgrade(ws, port, options);
}

HandshakeClient::~HandshakeClient() {
    std::visit(
        [this](auto& ws) {
            if constexpr (!std::is_same_v<std::decay_t<decltype(ws)>, std::monostate>) {
                beast::error_code ignored;
                beast::get_lowest_layer(ws).socket().close(ignored);
                impl_->io.restart();
                impl_->io.poll();
            }
        },
        impl_->ws);
}

bool HandshakeClient::ok() const noexcept { return impl_->ok; }
int HandshakeClient::http_status() const noexcept { return static_cast<int>(impl_->response.result_int()); }
std::string HandshakeClient::http_body() const { return impl_->response.body(); }
std::string HandshakeClient::error() const { return impl_->error; }

int HandshakeClient::close_code() const {
    return std::visit(
        [](auto& ws) -> int {
            if constexpr (std::is_same_v<std::decay_t<decltype(ws)>, std::monostate>) return 0;
            else return static_cast<int>(ws.reason().code);
        },
        impl_->ws);
}

std::string HandshakeClient::close_reason() const {
    return std::visit(
        [](auto& ws) -> std::string {
            if constexpr (std::is_same_v<std::decay_t<decltype(ws)>, std::monostate>) return {};
            else return std::string(ws.reason().reason.c_str());
        },
        impl_->ws);
}

bool HandshakeClient::send(const std::string& text) {
    if (!impl_->ok) return false;
    return std::visit(
        [this, &text](auto& ws) {
            if constexpr (std::is_same_v<std::decay_t<decltype(ws)>, std::monostate>) {
                return false;
            } else {
                bool done = false;
                beast::error_code result;
                ws.async_write(net::buffer(text), [&](beast::error_code ec, std::size_t) {
                    result = ec;
                    done = true;
                });
                return impl_->run(ws, impl_->timeout, done) && !result;
            }
        },
        impl_->ws);
}

std::optional<std::string> HandshakeClient::read(std::chrono::milliseconds timeout) {
    if (!impl_->ok) return std::nullopt;
    return std::visit(
        [this, timeout](auto& ws) -> std::optional<std::string> {
            if constexpr (std::is_same_v<std::decay_t<decltype(ws)>, std::monostate>) {
                return std::nullopt;
            } else {
                bool done = false;
                beast::error_code result;
                beast::flat_buffer buffer;
                ws.async_read(buffer, [&](beast::error_code ec, std::size_t) {
                    result = ec;
                    done = true;
                });
                if (!impl_->run(ws, timeout, done)) {
                    impl_->ok = false;  // the socket was cut
                    impl_->error = "read timed out";
                    return std::nullopt;
                }
                if (result) {
                    impl_->error = "read: " + result.message();
                    return std::nullopt;
                }
                return beast::buffers_to_string(buffer.data());
            }
        },
        impl_->ws);
}

std::optional<std::string> HandshakeClient::request(const std::string& text, std::chrono::milliseconds timeout) {
    if (!send(text)) return std::nullopt;
    return read(timeout);
}

}  // namespace portico::test
