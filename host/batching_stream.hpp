#pragma once
// A TCP stream for Beast's websocket::stream that can hold writes back: while
// a batch is open, every frame Beast writes is appended to one buffer and
// reported written at once; flush() then sends the whole batch with one
// system call. Beast's websocket stream writes one frame per write, so
// without this a burst of N replies costs N send() calls.
//
// Outside a batch, writes go straight through (control frames Beast sends by
// itself: pong, close). A batch is closed by the session that opened it, so
// nothing waits in the buffer unnoticed; teardown flushes what is left.
#include "net.hpp"

#include <string>
#include <utility>

namespace portico {

class BatchingStream {
public:
    using executor_type = beast::tcp_stream::executor_type;
    using next_layer_type = beast::tcp_stream;

    explicit BatchingStream(tcp::socket&& socket) : next_(std::move(socket)) {}

    executor_type get_executor() noexcept { return next_.get_executor(); }
    next_layer_type& next_layer() noexcept { return next_; }
    const next_layer_type& next_layer() const noexcept { return next_; }

    void open_batch() noexcept { batching_ = true; }
    bool batching() const noexcept { return batching_; }
    std::size_t batched_bytes() const noexcept { return batch_.size(); }

    // Ends the batch and sends what it holds; the handler gets (ec, bytes).
    template <class Handler>
    void flush(Handler&& handler) {
        batching_ = false;
        if (batch_.empty()) {
            net::post(get_executor(), [h = std::forward<Handler>(handler)]() mutable { h(beast::error_code{}, 0); });
            return;
        }
        in_flight_.swap(batch_);
        batch_.clear();
        net::async_write(next_, net::buffer(in_flight_),
                         [this, h = std::forward<Handler>(handler)](beast::error_code ec, std::size_t n) mutable {
                             in_flight_.clear();
                             // A burst must not pin a large buffer to an idle connection.
                             if (in_flight_.capacity() > 16 * 1024) in_flight_.shrink_to_fit();
                             h(ec, n);
                         });
    }

    template <class MutableBufferSequence, class ReadToken>
    auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
        return next_.async_read_some(buffers, std::forward<ReadToken>(token));
    }

    template <class ConstBufferSequence, class WriteToken>
    auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
        return net::async_initiate<WriteToken, void(beast::error_code, std::size_t)>(
            [this](auto handler, const ConstBufferSequence& data) {
                if (!batching_) {
                    next_.async_write_some(data, std::move(handler));
                    return;
                }
                std::size_t n = 0;
                for (auto piece : beast::buffers_range_ref(data)) {
                    batch_.append(static_cast<const char*>(piece.data()), piece.size());
                    n += piece.size();
                }
                auto executor = net::get_associated_executor(handler, next_.get_executor());
                net::post(executor, beast::bind_front_handler(std::move(handler), beast::error_code{}, n));
            },
            token, buffers);
    }

    // Beast tears the connection down after a close handshake: send what the
    // batch still holds (the close frame may be in it) first.
    template <class TeardownHandler>
    friend void async_teardown(beast::role_type role, BatchingStream& stream, TeardownHandler&& handler) {
        stream.flush([&stream, role, h = std::forward<TeardownHandler>(handler)](beast::error_code,
                                                                                std::size_t) mutable {
            using beast::websocket::async_teardown;
            async_teardown(role, stream.next_.socket(), std::move(h));
        });
    }

    friend void teardown(beast::role_type role, BatchingStream& stream, beast::error_code& ec) {
        using beast::websocket::teardown;
        teardown(role, stream.next_.socket(), ec);
    }

private:
    beast::tcp_stream next_;
    bool batching_ = false;
    std::string batch_;
    std::string in_flight_;
};

}  // namespace portico
