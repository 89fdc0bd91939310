#include "support/ws_client.hpp"

#include "support/ws_stream.hpp"

#include <array>
#include <cctype>
#include <stdexcept>

namespace portico::test {
namespace {

// Starts one asynchronous operation with `start(handler)` and runs `io` until
// it completes or `timeout` passes; then `cancel()` aborts it and the aborted
// operation is run to completion. Returns the operation's error code
// (net::error::timed_out when it did not finish in time).
template <class Start, class Cancel>
beast::error_code run_bounded(net::io_context& io, std::chrono::milliseconds timeout, Start start, Cancel cancel) {
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

void async_open(WsStream& ws, std::uint16_t port, const std::string& target, std::chrono::milliseconds timeout,
                std::function<void(beast::error_code)> done) {
    beast::get_lowest_layer(ws).expires_after(timeout);
    const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
    beast::get_lowest_layer(ws).async_connect(endpoint, [&ws, port, target, done](beast::error_code ec) {
        if (ec) return done(ec);
        // Small frames leave at once: tests time what the server does, not Nagle.
        beast::error_code ignored;
        beast::get_lowest_layer(ws).socket().set_option(tcp::no_delay(true), ignored);
        if (target.empty()) {
            beast::get_lowest_layer(ws).expires_never();
            return done({});
        }
        ws.async_handshake("127.0.0.1:" + std::to_string(port), target, [&ws, done](beast::error_code handshake) {
            beast::get_lowest_layer(ws).expires_never();
            done(handshake);
        });
    });
}

struct WsClient::Impl {
    explicit Impl(std::uint16_t p) : port(p) {}

    net::io_context io;
    WsStream ws{io};
    beast::flat_buffer buffer;
    std::uint16_t port;
    bool timed_out = false;
    int close_code = 0;
    beast::error_code last_error;
    std::string raw_in;  // bytes read at the byte level, not yet taken as frames
    bool eof = false;

    void cut() {
        beast::error_code ignored;
        beast::get_lowest_layer(ws).socket().close(ignored);
    }

    // A message-level step: one that does not finish in time closes the socket.
    template <class Start>
    beast::error_code run(std::chrono::milliseconds timeout, Start start) {
        const auto ec = run_bounded(io, timeout, start, [this] { cut(); });
        if (ec == net::error::timed_out) timed_out = true;
        if (ec) last_error = ec;
        return ec;
    }

    void open(const std::string& target, std::chrono::milliseconds timeout) {
        const auto ec = run(timeout, [&](auto handler) { async_open(ws, port, target, timeout, handler); });
        if (ec)
            throw std::runtime_error("websocket connect to port " + std::to_string(port) + target + ": " +
                                     ec.message());
    }

    // Reads until `raw_in` holds `bytes`; false when the connection ended or
    // `deadline` passed (a read cut short by the deadline is cancelled, the
    // connection stays as it was).
    bool fill(std::size_t bytes, std::chrono::steady_clock::time_point deadline) {
        while (raw_in.size() < bytes) {
            if (eof) return false;
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return false;
            std::array<char, 16384> chunk;
            std::size_t got = 0;
            auto& socket = beast::get_lowest_layer(ws).socket();
            const auto ec = run_bounded(
                io, left,
                [&](auto handler) {
                    socket.async_read_some(net::buffer(chunk), [&got, handler](const beast::error_code& e,
                                                                              std::size_t n) mutable {
                        got = n;
                        handler(e);
                    });
                },
                [&socket] {
                    beast::error_code ignored;
                    socket.cancel(ignored);
                });
            if (ec == net::error::timed_out) return false;
            raw_in.append(chunk.data(), got);
            if (ec) eof = true;  // the end, or a failure: nothing more will come
        }
        return true;
    }
};

WsClient::WsClient(std::uint16_t port, const std::string& target, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>(port)) {
    impl_->open(target, timeout);
}

WsClient::WsClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

WsClient WsClient::raw(std::uint16_t port, std::chrono::milliseconds timeout) {
    auto impl = std::make_unique<Impl>(port);
    impl->open("", timeout);
    return WsClient(std::move(impl));
}

WsClient::~WsClient() {
    if (impl_) impl_->cut();
}

WsClient::WsClient(WsClient&& other) noexcept = default;
WsClient& WsClient::operator=(WsClient&& other) noexcept = default;

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

bool WsClient::upgrade(std::string_view then, std::chrono::milliseconds timeout) {
    // The request and what follows it leave in one write.
    std::string bytes = upgrade_request(impl_->port);
    send_raw(bytes.append(then));
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t end = std::string::npos;
    while ((end = impl_->raw_in.find("\r\n\r\n")) == std::string::npos)
        if (!impl_->fill(impl_->raw_in.size() + 1, deadline)) return false;
    const std::string head = impl_->raw_in.substr(0, end);
    impl_->raw_in.erase(0, end + 4);
    return head.rfind("HTTP/1.1 101", 0) == 0;
}

void WsClient::send_raw(std::string_view bytes) {
    auto& socket = beast::get_lowest_layer(impl_->ws).socket();
    const auto ec = impl_->run(5s, [&](auto handler) {
        net::async_write(socket, net::buffer(bytes.data(), bytes.size()), std::move(handler));
    });
    if (ec) throw std::runtime_error("raw write: " + ec.message());
}

std::optional<RawFrame> WsClient::read_frame(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (auto frame = take_frame(impl_->raw_in)) return frame;
        if (!impl_->fill(frame_bytes_needed(impl_->raw_in), deadline)) return std::nullopt;
    }
}

bool WsClient::wait_for_eof(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!impl_->eof) {
        impl_->raw_in.clear();
        if (!impl_->fill(1, deadline) && !impl_->eof) return false;
    }
    return true;
}

std::optional<std::string> request_once(std::uint16_t port, const std::string& message,
                                        std::chrono::milliseconds timeout, const std::string& target) {
    try {
        WsClient client(port, target, timeout);
        client.send(message);
        return client.read(timeout);
    } catch (const std::runtime_error&) {
        return std::nullopt;  // no connection, or it failed: no reply
    }
}

HttpResult http_get(std::uint16_t port, const std::string& target, std::chrono::milliseconds timeout,
                    const std::string& method) {
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
    http::request<http::empty_body> request(http::string_to_verb(method), target, 11);
    request.set(http::field::host, "127.0.0.1:" + std::to_string(port));
    if (run_bounded(io, timeout, [&](auto handler) { http::async_write(stream, request, std::move(handler)); }, cancel))
        return result;
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    parser.skip(method == "HEAD");
    if (run_bounded(io, timeout, [&](auto handler) { http::async_read(stream, buffer, parser, std::move(handler)); },
                    cancel))
        return result;
    const auto& response = parser.get();
    result.status = static_cast<int>(response.result_int());
    for (const auto& field : response) {
        std::string name(field.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        result.headers[name] = std::string(field.value());
    }
    result.body = response.body();
    return result;
}

}  // namespace portico::test
