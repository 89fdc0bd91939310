#include "ws_client.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <stdexcept>

namespace portico::test {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

// Starts one asynchronous operation with `start(handler)` and runs `io` until
// it completes or `timeout` passes; then `cancel()` aborts it and the aborted
// operation is run to completion. Returns the operation's error code
// (net::error::timed_out when it did not finish in time).
template <class Start, class Cancel>
beast::error_code run_bounded(net::io_context& io, std::chrono::milliseconds timeout, Start start,
                              Cancel cancel) {
    bool done = false;
    beast::error_code result;
    start([&done, &result](const beast::error_code& ec, auto&&...) {
        done = true;
        result = ec;
    });
    io.restart();
    io.run_for(timeout);
    if (done) return result;
    cancel();
    io.restart();
    io.run_for(std::chrono::seconds(5));  // an aborted operation completes promptly
    return net::error::timed_out;
}

}  // namespace

struct WsClient::Impl {
    net::io_context io;
    websocket::stream<beast::tcp_stream> ws{io};
    beast::flat_buffer buffer;
    bool timed_out = false;
    int close_code = 0;
    beast::error_code last_error;

    void cut() {
        beast::error_code ignored;
        beast::get_lowest_layer(ws).socket().close(ignored);
    }

    template <class Start>
    beast::error_code run(std::chrono::milliseconds timeout, Start start) {
        const auto ec = run_bounded(io, timeout, start, [this] { cut(); });
        if (ec == net::error::timed_out) timed_out = true;
        if (ec) last_error = ec;
        return ec;
    }
};

WsClient::WsClient(std::uint16_t port, const std::string& target, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
    const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
    auto ec = impl_->run(timeout, [&](auto handler) {
        beast::get_lowest_layer(impl_->ws).async_connect(endpoint, std::move(handler));
    });
    if (!ec) {
        const std::string host = "127.0.0.1:" + std::to_string(port);
        ec = impl_->run(timeout, [&](auto handler) { impl_->ws.async_handshake(host, target, std::move(handler)); });
    }
    if (ec) throw std::runtime_error("websocket connect to port " + std::to_string(port) + target + ": " + ec.message());
}

WsClient::~WsClient() { impl_->cut(); }

void WsClient::send(std::string_view text) {
    impl_->ws.text(true);
    const auto ec = impl_->run(5s, [&](auto handler) {
        impl_->ws.async_write(net::buffer(text.data(), text.size()), std::move(handler));
    });
    if (ec) throw std::runtime_error("websocket write: " + ec.message());
}

void WsClient::send_binary(std::string_view bytes) {
    impl_->ws.binary(true);
    const auto ec = impl_->run(5s, [&](auto handler) {
        impl_->ws.async_write(net::buffer(bytes.data(), bytes.size()), std::move(handler));
    });
    impl_->ws.text(true);
    if (ec) throw std::runtime_error("websocket write: " + ec.message());
}

std::optional<std::string> WsClient::read(std::chrono::milliseconds timeout) {
    impl_->buffer.clear();
    const auto ec = impl_->run(timeout, [&](auto handler) { impl_->ws.async_read(impl_->buffer, std::move(handler)); });
    if (ec == websocket::error::closed) impl_->close_code = impl_->ws.reason().code;
    if (ec) return std::nullopt;
    return beast::buffers_to_string(impl_->buffer.data());
}

std::string WsClient::read_required(std::chrono::milliseconds timeout) {
    auto message = read(timeout);
    if (!message) throw std::runtime_error("websocket read: no message: " + error());
    return *message;
}

bool WsClient::timed_out() const noexcept { return impl_->timed_out; }

int WsClient::close_code() const noexcept { return impl_->close_code; }

std::string WsClient::error() const {
    if (impl_->timed_out) return "timed out";
    if (impl_->close_code != 0) return "closed with code " + std::to_string(impl_->close_code);
    return impl_->last_error.message();
}

void WsClient::close() {
    if (!impl_->ws.is_open()) return;
    impl_->run(5s, [&](auto handler) { impl_->ws.async_close(websocket::close_code::normal, std::move(handler)); });
}

void WsClient::drop() { impl_->cut(); }

HttpResult http_get(std::uint16_t port, const std::string& target, std::chrono::milliseconds timeout) {
    net::io_context io;
    beast::tcp_stream stream(io);
    auto cancel = [&stream] {
        beast::error_code ignored;
        stream.socket().close(ignored);
    };
    HttpResult result;
    const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
    if (run_bounded(io, timeout, [&](auto handler) { stream.async_connect(endpoint, std::move(handler)); }, cancel))
        return result;
    http::request<http::empty_body> request(http::verb::get, target, 11);
    request.set(http::field::host, "127.0.0.1:" + std::to_string(port));
    if (run_bounded(io, timeout, [&](auto handler) { http::async_write(stream, request, std::move(handler)); }, cancel))
        return result;
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    if (run_bounded(io, timeout, [&](auto handler) { http::async_read(stream, buffer, response, std::move(handler)); },
                    cancel))
        return result;
    result.status = static_cast<int>(response.result_int());
    result.body = response.body();
    return result;
}

}  // namespace portico::test
