#pragma once
// The byte stream under a gateway connection's websocket::stream, over any
// Beast stream (beast::tcp_stream; an ssl_stream slots in the same way). It
// adds what Beast's websocket stream does not do by itself:
//
//  - Batching. While a batch is open, the frames Beast writes are appended to
//    one buffer and reported written at once; flush() sends them with one
//    write, so a burst of N replies costs one send(), not N.
//  - One writer. Frames Beast writes on its own (pong, close) queue behind a
//    batch that is being sent: frames never interleave on the connection.
//  - Input that came early. Bytes read past the upgrade request (prime()) are
//    served before anything is read from the connection; async_wait_readable()
//    completes at once while such bytes, or bytes a layer below holds (a TLS
//    layer's decrypted records, see StreamTraits), are waiting.
//  - Frames of our own. The session writes its messages as whole text
//    frames straight into the batch (write_text_frame, write_frame), not
//    through Beast's write operation: a message costs one copy, no composed
//    operation and no handler, and a channel message framed once can go to
//    every subscriber as the same bytes. Nothing is framed after a close.
//  - A close held back. When Beast answers the client's close, or fails the
//    connection, while the session still owes replies, the close frame waits
//    until the session has written them and releases it.
//
// Beast writes each frame with one call of async_write_some (through
// net::async_write, and this stream always takes every byte offered), so the
// first byte of a call is a frame header: that is how a close is told apart.
#include "core/net.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portico {

// Bytes the kernel holds for the connection under `next`, not yet read.
template <class NextLayer>
std::size_t bytes_in_kernel(NextLayer& next) {
    beast::error_code ec;
    const auto n = beast::get_lowest_layer(next).socket().available(ec);
    return ec ? 0 : n;
}

// What the stream needs to know of the layer below it. Plain TCP keeps no
// input back; a TLS layer specialises buffered() with what it has decrypted.
template <class NextLayer>
struct StreamTraits {
    static std::size_t buffered(const NextLayer&) { return 0; }
    static std::size_t available(NextLayer& next) { return bytes_in_kernel(next); }
    template <class Handler>
    static void async_wait_readable(NextLayer& next, Handler&& handler) {
        beast::get_lowest_layer(next).socket().async_wait(net::socket_base::wait_read,
                                                           std::forward<Handler>(handler));
    }
};

// Consulted when Beast writes a close frame of its own.
class CloseGate {
public:
    virtual ~CloseGate() = default;
    // True: hold the close back until release_close(). Must not touch the
    // websocket stream (it is called from inside one of Beast's operations).
    virtual bool hold_close() = 0;
};

namespace detail {

// A completion handler that waits until the bytes before `mark` are written.
class WriteWaiter {
public:
    explicit WriteWaiter(std::uint64_t at) : mark(at) {}
    virtual ~WriteWaiter() = default;
    virtual void complete(const beast::error_code& ec) = 0;
    std::uint64_t mark;
};

template <class Handler>
class WriteWaiterFor final : public WriteWaiter {
public:
    WriteWaiterFor(std::uint64_t at, Handler handler, std::size_t bytes)
        : WriteWaiter(at), handler_(std::move(handler)), bytes_(bytes) {}
    void complete(const beast::error_code& ec) override { std::move(handler_)(ec, ec ? 0 : bytes_); }

private:
    Handler handler_;
    std::size_t bytes_;
};

// Reads that go down to the next layer, in flight and completed.
struct ReadCount {
    std::uint32_t completed = 0;
    std::uint8_t in_flight = 0;
};

// Counts the reads that go down to the next layer, so the stream knows when
// Beast is waiting for bytes that have not arrived.
template <class Handler>
class CountedRead {
public:
    CountedRead(ReadCount& count, Handler handler) : count_(&count), handler_(std::move(handler)) {}
    void operator()(const beast::error_code& ec, std::size_t bytes) {
        --count_->in_flight;
        ++count_->completed;
        std::move(handler_)(ec, bytes);
    }
    using executor_type = net::associated_executor_t<Handler>;
    executor_type get_executor() const noexcept { return net::get_associated_executor(handler_); }
    using allocator_type = net::associated_allocator_t<Handler>;
    allocator_type get_allocator() const noexcept { return net::get_associated_allocator(handler_); }

private:
    ReadCount* count_;
    Handler handler_;
};

// The header of a whole unmasked text frame (server to client, FIN set).
struct FrameHeader {
    unsigned char bytes[10];
    std::size_t size;
    std::string_view view() const noexcept { return {reinterpret_cast<const char*>(bytes), size}; }
};
FrameHeader text_frame_header(std::size_t payload_bytes) noexcept;

}  // namespace detail

template <class NextLayer>
class GatewayStream {
public:
    using next_layer_type = NextLayer;
    using executor_type = typename NextLayer::executor_type;

    template <class... Args>
    explicit GatewayStream(Args&&... args) : next_(std::forward<Args>(args)...) {}
    GatewayStream(const GatewayStream&) = delete;
    GatewayStream& operator=(const GatewayStream&) = delete;

    executor_type get_executor() noexcept { return next_.get_executor(); }
    next_layer_type& next_layer() noexcept { return next_; }
    const next_layer_type& next_layer() const noexcept { return next_; }

    // ---- input ---------------------------------------------------------

    // Bytes that arrived with the upgrade request: read before the connection.
    void prime(std::string_view bytes) {
        if (!bytes.empty()) extra().primed.assign(bytes.data(), bytes.size());
    }
    bool has_buffered_input() const {
        return (extra_ && extra_->primed_offset < extra_->primed.size()) ||
               StreamTraits<NextLayer>::buffered(next_) > 0;
    }
    // Completes (with no error) once a read would find input.
    template <class Handler>
    void async_wait_readable(Handler&& handler) {
        if (has_buffered_input()) {
            net::post(get_executor(), beast::bind_front_handler(std::forward<Handler>(handler), beast::error_code{}));
            return;
        }
        StreamTraits<NextLayer>::async_wait_readable(next_, std::forward<Handler>(handler));
    }
    // No byte waits to be read, here, below or in the kernel.
    bool nothing_to_read() { return !has_buffered_input() && StreamTraits<NextLayer>::available(next_) == 0; }
    // Beast waits for bytes and none has arrived: everything the client sent
    // so far has been read (a frame Beast holds whole is not "waiting").
    // Asio may complete a read at once, in its initiation, and run its handler
    // later: a caller that must be sure looks again once the loop's queue has
    // run, and trusts the answer only if reads_completed() did not move.
    bool input_drained() { return reads_.in_flight > 0 && nothing_to_read(); }
    std::uint32_t reads_completed() const noexcept { return reads_.completed; }

    template <class MutableBufferSequence, class ReadToken>
    auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
        return net::async_initiate<ReadToken, void(beast::error_code, std::size_t)>(
            [this](auto handler, const MutableBufferSequence& into) {
                if (extra_ && extra_->primed_offset < extra_->primed.size()) {
                    Extra& e = *extra_;
                    const std::size_t n = net::buffer_copy(into, net::buffer(e.primed) + e.primed_offset);
                    e.primed_offset += n;
                    if (e.primed_offset == e.primed.size()) {
                        e.primed = std::string();
                        e.primed_offset = 0;
                    }
                    const auto executor = net::get_associated_executor(handler, get_executor());
                    net::post(executor, beast::bind_front_handler(std::move(handler), beast::error_code{}, n));
                    return;
                }
                ++reads_.in_flight;
                next_.async_read_some(into, detail::CountedRead<decltype(handler)>(reads_, std::move(handler)));
            },
            token, buffers);
    }

    // ---- output --------------------------------------------------------

    void open_batch() noexcept { batching_ = true; }
    bool batching() const noexcept { return batching_; }
    // Bytes appended and not yet handed to the connection.
    std::size_t batched_bytes() const noexcept { return pending_.size(); }
    // Every byte ever appended: tells whether a write has reached this stream yet.
    std::uint64_t appended_bytes() const noexcept { return appended_; }

    // Gives back the write buffers while nothing is being written: the
    // upgrade's response grew them, and an idle connection should not keep
    // that capacity (about 250 bytes) for its whole life.
    void release_idle_buffers() {
        if (writing_ || !pending_.empty()) return;
        std::string().swap(pending_);
        std::string().swap(in_flight_);
        if (waiters_.empty()) std::vector<std::unique_ptr<detail::WriteWaiter>>().swap(waiters_);
    }

    // Ends the batch; `handler(ec, bytes)` runs once all of it is written.
    template <class Handler>
    void flush(Handler&& handler) {
        batching_ = false;
        if (appended_ == written_ && !error_) {
            net::post(get_executor(),
                      beast::bind_front_handler(std::forward<Handler>(handler), beast::error_code{}, std::size_t{0}));
            return;
        }
        wait_for(appended_, std::forward<Handler>(handler), static_cast<std::size_t>(appended_ - written_));
    }

    template <class ConstBufferSequence, class WriteToken>
    auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
        return net::async_initiate<WriteToken, void(beast::error_code, std::size_t)>(
            [this](auto handler, const ConstBufferSequence& data) {
                const std::size_t n = net::buffer_size(data);
                const bool close = n > 0 && gate_ && is_close_frame(data);
                if (close && !(extra_ && extra_->held) && gate_->hold_close()) {
                    Extra& e = extra();
                    e.held_close.resize(n);
                    net::buffer_copy(net::buffer(e.held_close), data);
                    e.held = std::make_unique<detail::WriteWaiterFor<decltype(handler)>>(0, std::move(handler), n);
                    return;
                }
                append(data);
                if (close) close_appended_ = true;
                if (batching_ && !error_) {
                    const auto executor = net::get_associated_executor(handler, get_executor());
                    net::post(executor, beast::bind_front_handler(std::move(handler), beast::error_code{}, n));
                    return;
                }
                wait_for(appended_, std::move(handler), n);
            },
            token, buffers);
    }

    // ---- a close held back ---------------------------------------------

    // Only once the handshake is done: the upgrade's HTTP response is written
    // through this stream too, and is not a frame.
    void set_close_gate(CloseGate* gate) noexcept { gate_ = gate; }
    bool holding_close() const noexcept { return extra_ && extra_->held; }
    // A whole text message as one frame, behind what is appended so far (and
    // before a held close); it goes out with the next flush(). False, and
    // nothing written, once a close frame is on its way.
    bool write_text_frame(std::string_view text) {
        if (close_appended_) return false;
        const auto header = detail::text_frame_header(text.size());
        pending_.reserve(pending_.size() + header.size + text.size());
        pending_.append(header.view());
        pending_.append(text);
        appended_ += header.size + text.size();
        return true;
    }
    // Bytes that are whole frames already (a channel message framed once for
    // all its subscribers): as write_text_frame().
    bool write_frame(std::string_view frame) {
        if (close_appended_) return false;
        pending_.append(frame);
        appended_ += frame.size();
        return true;
    }
    // The held close follows what is written so far; Beast then goes on.
    void release_close() {
        if (!holding_close()) return;
        Extra& e = *extra_;
        append(net::buffer(e.held_close));
        close_appended_ = true;
        e.held_close = std::string();
        e.held->mark = appended_;
        waiters_.push_back(std::move(e.held));
        if (error_) net::post(get_executor(), [this] { complete_ready(); });
        else start_writing();
    }

    // The connection is given up: the handlers waiting here are dropped,
    // never called (they would keep their session alive forever once its
    // event loop has stopped).
    void abandon() {
        auto waiters = std::move(waiters_);
        waiters_.clear();
        auto held = extra_ ? std::move(extra_->held) : nullptr;
        // Destroyed here, last: they may hold the last reference to this stream.
    }

    // Beast tears the connection down after a close handshake: what is still
    // queued (the close frame may be in it) goes out first.
    template <class TeardownHandler>
    friend void async_teardown(beast::role_type role, GatewayStream& stream, TeardownHandler&& handler) {
        stream.flush([&stream, role, h = std::forward<TeardownHandler>(handler)](beast::error_code,
                                                                                std::size_t) mutable {
            using beast::websocket::async_teardown;
            async_teardown(role, stream.next_, std::move(h));
        });
    }

    friend void teardown(beast::role_type role, GatewayStream& stream, beast::error_code& ec) {
        using beast::websocket::teardown;
        teardown(role, stream.next_, ec);
    }

private:
    // Rarely needed state, allocated on first use: an idle connection holds none.
    struct Extra {
        std::string primed;
        std::size_t primed_offset = 0;
        std::string held_close;
        std::unique_ptr<detail::WriteWaiter> held;
    };
    Extra& extra() {
        if (!extra_) extra_ = std::make_unique<Extra>();
        return *extra_;
    }

    template <class ConstBufferSequence>
    static bool is_close_frame(const ConstBufferSequence& data) {
        unsigned char first = 0;
        net::buffer_copy(net::buffer(&first, 1), data);
        return (first & 0x0f) == 0x8;
    }

    template <class ConstBufferSequence>
    void append(const ConstBufferSequence& data) {
        for (auto piece : beast::buffers_range_ref(data))
            pending_.append(static_cast<const char*>(piece.data()), piece.size());
        appended_ += net::buffer_size(data);
    }

    template <class Handler>
    void wait_for(std::uint64_t mark, Handler&& handler, std::size_t bytes) {
        using Waiter = detail::WriteWaiterFor<std::decay_t<Handler>>;
        waiters_.push_back(std::make_unique<Waiter>(mark, std::forward<Handler>(handler), bytes));
        if (error_) {
            // Nothing more reaches the connection: answered on a later turn.
            net::post(get_executor(), [this] { complete_ready(); });
            return;
        }
        start_writing();
    }

    // Only ever on behalf of a waiter, whose handler keeps the session (and
    // so this stream) alive until the write is done.
    void start_writing() {
        if (writing_ || pending_.empty() || error_) return;
        writing_ = true;
        in_flight_.swap(pending_);
        pending_.clear();
        net::async_write(next_, net::buffer(in_flight_), [this](const beast::error_code& ec, std::size_t n) {
            writing_ = false;
            written_ += n;
            if (ec) {
                error_ = ec;
                written_ = appended_;  // nothing more will be written
            }
            in_flight_.clear();
            // A burst must not pin a large buffer to an idle connection.
            if (in_flight_.capacity() > 16 * 1024) in_flight_.shrink_to_fit();
            complete_ready();
        });
    }

    void complete_ready() {
        // Handlers may write again, adding waiters: the ready ones are taken
        // out first. They keep this stream alive until the end of this call.
        std::size_t ready = 0;
        while (ready < waiters_.size() && waiters_[ready]->mark <= written_) ++ready;
        std::vector<std::unique_ptr<detail::WriteWaiter>> done(
            std::make_move_iterator(waiters_.begin()), std::make_move_iterator(waiters_.begin() + ready));
        waiters_.erase(waiters_.begin(), waiters_.begin() + static_cast<std::ptrdiff_t>(ready));
        if (waiters_.empty() && waiters_.capacity() > 8) waiters_.shrink_to_fit();
        for (auto& waiter : done) waiter->complete(error_);
        start_writing();
    }

    NextLayer next_;
    std::string pending_;    // appended, not yet handed to the connection
    std::string in_flight_;  // being written
    std::uint64_t appended_ = 0;
    std::uint64_t written_ = 0;
    std::vector<std::unique_ptr<detail::WriteWaiter>> waiters_;
    std::unique_ptr<Extra> extra_;
    CloseGate* gate_ = nullptr;
    beast::error_code error_;
    detail::ReadCount reads_;
    bool batching_ = false;
    bool writing_ = false;
    bool close_appended_ = false;  // a close frame is written: no frame may follow it
};

}  // namespace portico
