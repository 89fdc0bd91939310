#include "bench_session.hpp"

#include "worker.hpp"
#include "ws_handshake_key.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <array>
#include <cstring>

namespace portico::bench {

namespace http = beast::http;

struct BenchSession::Handshake {
    http::request<http::empty_body> request;
    http::response_parser<http::empty_body> parser;
    beast::flat_buffer buffer;
    std::string key;
};

BenchSession::BenchSession(net::io_context& ioc, RunPlan const& plan, Worker& worker, WorkerStats& stats, bool idle,
                           std::uint64_t seed)
    : socket_(ioc), plan_(plan), worker_(worker), stats_(stats), idle_(idle), rng_(seed | 1)
{
}

BenchSession::~BenchSession() = default;

std::uint32_t BenchSession::next_mask()
{
    // xorshift64*: masks only need to be unforeseeable to intermediaries.
    rng_ ^= rng_ >> 12;
    rng_ ^= rng_ << 25;
    rng_ ^= rng_ >> 27;
    return static_cast<std::uint32_t>((rng_ * 0x2545F4914F6CDD1DULL) >> 32);
}

// ---- connect and upgrade ---------------------------------------------------

void BenchSession::start_connect()
{
    state_ = State::connecting;
    socket_.async_connect(plan_.endpoint,
                          [self = shared_from_this()](error_code ec) { self->on_connect(ec); });
}

void BenchSession::on_connect(error_code ec)
{
    if (ec) {
        fail("connect: " + ec.message());
        return;
    }
    socket_.set_option(tcp::no_delay(true), ec);
    if (!plan_.tls) {
        send_upgrade();
        return;
    }
    tls_ = std::make_unique<net::ssl::stream<tcp::socket&>>(socket_, *plan_.tls);
    SSL_set_tlsext_host_name(tls_->native_handle(), plan_.server_name.c_str());
    tls_->async_handshake(net::ssl::stream_base::client, [self = shared_from_this()](error_code tls_ec) {
        if (tls_ec) {
            self->fail("tls handshake: " + tls_ec.message());
            return;
        }
        self->send_upgrade();
    });
}

void BenchSession::send_upgrade()
{
    handshake_ = std::make_unique<Handshake>();
    std::array<std::uint8_t, 16> nonce{};
    for (std::size_t i = 0; i < nonce.size(); i += 4) {
        std::uint32_t const r = next_mask();
        std::memcpy(nonce.data() + i, &r, 4);
    }
    handshake_->key = make_websocket_key(nonce);

    auto& req = handshake_->request;
    req.method(http::verb::get);
    req.target(plan_.target);
    req.version(11);
    req.set(http::field::host, plan_.host_header);
    req.set(http::field::upgrade, "websocket");
    req.set(http::field::connection, "Upgrade");
    req.set(http::field::sec_websocket_key, handshake_->key);
    req.set(http::field::sec_websocket_version, "13");
    req.set(http::field::user_agent, "portico-bench");
    // No Sec-WebSocket-Extensions: permessage-deflate stays off.
    with_stream([&](auto& stream) {
        http::async_write(stream, req, [self = shared_from_this()](error_code ec, std::size_t) {
            self->on_handshake_written(ec);
        });
    });
}

void BenchSession::on_handshake_written(error_code ec)
{
    if (ec) {
        fail("handshake write: " + ec.message());
        return;
    }
    // The header alone: a 101 has no body, and a refusal is reported by its
    // status rather than by whatever its body holds.
    with_stream([&](auto& stream) {
        http::async_read_header(stream, handshake_->buffer, handshake_->parser,
                                [self = shared_from_this()](error_code ec, std::size_t) { self->on_handshake_read(ec); });
    });
}

void BenchSession::on_handshake_read(error_code ec)
{
    if (ec) {
        fail("handshake read: " + ec.message());
        return;
    }
    auto const& res = handshake_->parser.get();
    std::string problem;
    if (res.result() != http::status::switching_protocols)
        problem = "upgrade refused: HTTP " + std::to_string(res.result_int()) + " " + std::string(res.reason());
    else if (!beast::iequals(res[http::field::upgrade], "websocket"))
        problem = "upgrade refused: no 'Upgrade: websocket' in the response";
    else if (!http::token_list(res[http::field::connection]).exists("upgrade"))
        problem = "upgrade refused: no 'Connection: upgrade' in the response";
    else if (res[http::field::sec_websocket_accept] != websocket_accept_for(handshake_->key))
        problem = "upgrade refused: wrong Sec-WebSocket-Accept";
    else if (res.count(http::field::sec_websocket_extensions) != 0)
        problem = "the server negotiated an extension that was not offered";
    if (!problem.empty()) {
        fail(problem);
        return;
    }

    // Bytes that followed the response are the first frames.
    in_capacity_ = std::max(idle_ ? plan_.idle_read_buffer : plan_.loaded_read_buffer, handshake_->buffer.size());
    in_.reset(new char[in_capacity_]);
    auto const leftover = handshake_->buffer.data();
    std::memcpy(in_.get(), leftover.data(), leftover.size());
    in_end_ = leftover.size();
    handshake_.reset();

    if (!idle_) {
        auto const inflight = static_cast<std::size_t>(plan_.inflight);
        if (plan_.wire.carries_ids()) {
            slots_.resize(inflight);
            free_slots_.reserve(inflight);
            for (std::size_t i = inflight; i-- > 0;)
                free_slots_.push_back(static_cast<std::uint32_t>(i));
        } else {
            sent_fifo_.resize(inflight);
        }
    }

    // The write fast path (a non-blocking write_some) is for the plain
    // socket; TLS records go through async_write.
    if (!tls_)
        socket_.non_blocking(true, ec);
    if (ec) {
        fail("socket: " + ec.message());
        return;
    }
    state_ = State::open;
    bump(idle_ ? stats_.idle_up : stats_.loaded_up);
    bump(stats_.connect_done);
    worker_.on_session_connected(*this);
    if (in_end_ > 0 && !handle_frames(Clock::now()))
        return;
    flush();
    do_read();
}

// ---- reading ---------------------------------------------------------------

// Makes room at the end of the input buffer: drops what was parsed, keeps a
// partial frame at the front, grows for a frame larger than the buffer.
void BenchSession::make_input_room()
{
    if (in_begin_ == in_end_) {
        in_begin_ = in_end_ = 0;
    } else if (in_begin_ > 0 && (in_capacity_ - in_end_ < 2048 || in_needed_ > in_capacity_ - in_begin_)) {
        std::memmove(in_.get(), in_.get() + in_begin_, in_end_ - in_begin_);
        in_end_ -= in_begin_;
        in_begin_ = 0;
    }
    if (in_needed_ > in_capacity_ || in_end_ == in_capacity_) {
        std::size_t const size = std::max(in_needed_, in_capacity_ * 2);
        std::unique_ptr<char[]> bigger(new char[size]);
        std::memcpy(bigger.get(), in_.get() + in_begin_, in_end_ - in_begin_);
        in_end_ -= in_begin_;
        in_begin_ = 0;
        in_ = std::move(bigger);
        in_capacity_ = size;
    }
}

void BenchSession::do_read()
{
    make_input_room();
    with_stream([&](auto& stream) {
        stream.async_read_some(net::buffer(in_.get() + in_end_, in_capacity_ - in_end_),
                               [self = shared_from_this()](error_code ec, std::size_t n) { self->on_read(ec, n); });
    });
}

// One read takes whatever the socket holds (the buffer is large), and every
// reply in it is handled before the replacements go out in one write.
void BenchSession::on_read(error_code ec, std::size_t bytes)
{
    if (state_ == State::closed)
        return;
    if (ec) {
        if (state_ == State::closing)
            close_socket();  // the server ended the connection, as asked
        else
            fail("read: " + ec.message());
        return;
    }
    in_end_ += bytes;
    if (!handle_frames(Clock::now()))
        return;
    top_up();
    flush();
    publish();
    do_read();
}

// Handles every complete frame in the input. Returns false if the
// connection failed.
bool BenchSession::handle_frames(Clock::time_point now)
{
    for (;;) {
        ServerFrame frame;
        std::string_view problem;
        auto const status =
            parse_server_frame(in_.get() + in_begin_, in_end_ - in_begin_, plan_.max_message, frame, problem);
        if (status == FrameStatus::need_more) {
            in_needed_ = frame.wire_size;
            return true;
        }
        if (status == FrameStatus::error) {
            fail("protocol error: " + std::string(problem));
            return false;
        }
        in_begin_ += frame.wire_size;
        in_needed_ = 0;

        switch (frame.opcode) {
        case Opcode::text:
        case Opcode::binary:
            if (in_fragmented_) {
                fail("protocol error: new message inside a fragmented one");
                return false;
            }
            if (frame.fin) {
                on_message(frame.payload, now);
            } else {
                fragments_.assign(frame.payload);
                in_fragmented_ = true;
            }
            break;
        case Opcode::continuation:
            if (!in_fragmented_) {
                fail("protocol error: continuation without a message");
                return false;
            }
            fragments_.append(frame.payload);
            if (fragments_.size() > plan_.max_message) {
                fail("protocol error: message larger than the bench accepts");
                return false;
            }
            if (frame.fin) {
                in_fragmented_ = false;
                on_message(fragments_, now);
                fragments_.clear();
            }
            break;
        case Opcode::ping:
            send_control(Opcode::pong, frame.payload);
            break;
        case Opcode::pong:
            break;
        case Opcode::close:
            peer_closed_ = true;
            if (state_ == State::open) {
                // The server closed a connection that was in use.
                std::string reason = "the server closed the connection";
                if (frame.payload.size() >= 2)
                    reason += " (code " +
                              std::to_string((static_cast<unsigned char>(frame.payload[0]) << 8) |
                                             static_cast<unsigned char>(frame.payload[1])) +
                              ")";
                fail(reason);
                return false;
            }
            if (!close_sent_) {
                send_control(Opcode::close, frame.payload.substr(0, 2));
                close_sent_ = true;
            }
            flush();
            return true;
        }
    }
}

void BenchSession::on_message(std::string_view text, Clock::time_point now)
{
    if (state_ != State::open)
        return;  // after finish(): what was outstanding is already counted lost
    if (idle_ || !load_started_) {
        stats_.note_error("unsolicited message: " + std::string(text.substr(0, 200)));
        ++stats_.malformed_replies;
        return;
    }

    auto const check = plan_.wire.check_reply(text);
    Clock::time_point sent_at;
    if (plan_.wire.carries_ids()) {
        if (!check.has_id) {
            ++stats_.malformed_replies;
            stats_.note_error("reply without a usable id: " + std::string(text.substr(0, 200)));
            return;
        }
        auto const index = static_cast<std::size_t>(check.id % static_cast<std::uint64_t>(plan_.inflight));
        Slot& slot = slots_[index];
        if (!slot.busy || slot.id != check.id) {
            ++stats_.unknown_ids;
            stats_.note_error("reply for an id not outstanding on this connection: " +
                              std::string(text.substr(0, 200)));
            return;
        }
        slot.busy = false;
        free_slots_.push_back(static_cast<std::uint32_t>(index));
        sent_at = slot.sent_at;
    } else {
        if (outstanding_ == 0) {
            ++stats_.unknown_ids;
            stats_.note_error("reply with no request outstanding: " + std::string(text.substr(0, 200)));
            return;
        }
        // Shorthand replies carry no id: each is taken to answer the oldest request.
        sent_at = sent_fifo_[fifo_head_];
        fifo_head_ = fifo_head_ + 1 == sent_fifo_.size() ? 0 : fifo_head_ + 1;
    }
    --outstanding_;

    if (check.verdict != ReplyVerdict::good) {
        if (check.verdict == ReplyVerdict::failed)
            ++stats_.failed_replies;
        else
            ++stats_.malformed_replies;
        stats_.note_error("error reply: " + std::string(text.substr(0, 200)));
        return;
    }
    ++batch_good_;
    if (now >= window_.warm_end && now < window_.measure_end)
        ++stats_.window_good;
    if (sent_at >= window_.warm_end)
        stats_.histogram.record(static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(now - sent_at).count()));
}

// ---- load ------------------------------------------------------------------

void BenchSession::start_load(RunWindow window)
{
    if (state_ != State::open || idle_)
        return;
    window_ = window;
    load_started_ = true;
    loading_ = true;
    top_up();
    flush();
    publish();
}

// Sends requests until `inflight` are outstanding (none after the window).
void BenchSession::top_up()
{
    auto const inflight = static_cast<std::size_t>(plan_.inflight);
    bool const room = plan_.wire.carries_ids() ? !free_slots_.empty() : static_cast<std::size_t>(outstanding_) < inflight;
    if (!loading_ || !room)
        return;
    auto const now = Clock::now();
    if (now >= window_.measure_end) {
        loading_ = false;
        return;
    }
    auto const send = [&](std::uint64_t id) {
        request_text_.clear();
        plan_.wire.append_request(request_text_, id);
        append_client_frame(out_pending_, Opcode::text, request_text_, next_mask());
        ++outstanding_;
        ++stats_.sent;
    };
    if (plan_.wire.carries_ids()) {
        while (!free_slots_.empty()) {
            auto const index = free_slots_.back();
            free_slots_.pop_back();
            // Unique per connection: the round number grows with every use.
            std::uint64_t const id = next_round_++ * inflight + index;
            slots_[index] = Slot{id, now, true};
            send(id);
        }
    } else {
        while (static_cast<std::size_t>(outstanding_) < inflight) {
            sent_fifo_[(fifo_head_ + static_cast<std::size_t>(outstanding_)) % inflight] = now;
            send(0);
        }
    }
}

// Makes this batch visible to the progress line: two stores per batch.
void BenchSession::publish()
{
    if (batch_good_ != 0) {
        bump(stats_.good_replies, batch_good_);
        batch_good_ = 0;
    }
    if (outstanding_ != published_outstanding_) {
        bump(stats_.outstanding, outstanding_ - published_outstanding_);
        published_outstanding_ = outstanding_;
    }
}

void BenchSession::abandon_connect()
{
    if (state_ == State::connecting)
        fail("connect: not up within the connect timeout");
}

void BenchSession::finish()
{
    if (state_ != State::open) {
        abandon_connect();
        return;
    }
    state_ = State::closing;
    loading_ = false;
    stats_.lost += static_cast<std::uint64_t>(outstanding_);
    outstanding_ = 0;
    publish();
    if (!close_sent_) {
        char const normal[2] = {0x03, static_cast<char>(0xE8)};  // 1000: normal closure
        send_control(Opcode::close, std::string_view(normal, 2));
        close_sent_ = true;
    }
    flush();
}

void BenchSession::force_close()
{
    close_socket();
}

// ---- writing ---------------------------------------------------------------

void BenchSession::send_control(Opcode opcode, std::string_view payload)
{
    if (close_sent_)
        return;  // nothing may follow a close frame
    append_client_frame(out_pending_, opcode, payload, next_mask());
}

// Writes what is pending. The socket is non-blocking, so the common case is
// one write_some that takes everything, with no asynchronous operation; only
// a remainder the kernel did not take goes through async_write.
void BenchSession::flush()
{
    if (writing_ || state_ == State::closed)
        return;
    if (out_pending_.empty()) {
        // Once our close frame is out and the server's is in, end our side.
        if (close_sent_ && peer_closed_ && !shutdown_sent_) {
            shutdown_sent_ = true;
            error_code ignored;
            socket_.shutdown(tcp::socket::shutdown_send, ignored);
        }
        return;
    }
    error_code ec;
    std::size_t written = 0;
    if (tls_)
        ec = net::error::would_block;  // everything through async_write
    else
        written = socket_.write_some(net::buffer(out_pending_), ec);
    if (ec && ec != net::error::would_block && ec != net::error::try_again) {
        if (state_ == State::open)
            fail("write: " + ec.message());
        else
            close_socket();
        return;
    }
    if (!ec && written == out_pending_.size()) {
        out_pending_.clear();
        flush();  // for the shutdown after a close frame
        return;
    }
    std::size_t const done = ec ? 0 : written;
    out_in_flight_.assign(out_pending_, done, std::string::npos);
    out_pending_.clear();
    writing_ = true;
    with_stream([&](auto& stream) {
        net::async_write(stream, net::buffer(out_in_flight_),
                         [self = shared_from_this()](error_code ec, std::size_t) { self->on_write(ec); });
    });
}

void BenchSession::on_write(error_code ec)
{
    writing_ = false;
    out_in_flight_.clear();
    if (ec) {
        if (state_ == State::open)
            fail("write: " + ec.message());
        else
            close_socket();
        return;
    }
    flush();
}

// ---- failure and close -----------------------------------------------------

void BenchSession::fail(std::string const& what)
{
    if (state_ == State::closed)
        return;
    if (state_ == State::connecting) {
        ++stats_.connect_failures;
        stats_.note_error(what);
        bump(stats_.connect_done);
        close_socket();
        worker_.on_session_connect_failed(*this);
        return;
    }
    if (state_ == State::open) {
        ++stats_.dropped_connections;
        stats_.note_error(what);
        stats_.lost += static_cast<std::uint64_t>(outstanding_);
        outstanding_ = 0;
        loading_ = false;
        publish();
    }
    close_socket();
}

void BenchSession::close_socket()
{
    if (state_ == State::closed)
        return;
    bool const was_up = state_ == State::open || state_ == State::closing;
    state_ = State::closed;
    error_code ignored;
    socket_.close(ignored);
    if (was_up)
        worker_.on_session_closed(*this);
}

}  // namespace portico::bench
