#include "fanout_client.hpp"

#include "ws_frame.hpp"
#include "ws_handshake_key.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <cstring>

namespace portico::bench {
namespace {

constexpr std::size_t max_frame_bytes = 1 << 20;
constexpr std::size_t max_upgrade_bytes = 8192;

}  // namespace

FanoutClient::FanoutClient(net::io_context& ioc, std::vector<char>& scratch, std::size_t index, std::uint64_t seed)
    : socket_(ioc), scratch_(scratch), index_(index), mask_state_(seed | 1)
{
}

std::uint32_t FanoutClient::next_mask()
{
    // xorshift64: masks need no cryptographic strength against our own server.
    mask_state_ ^= mask_state_ << 13;
    mask_state_ ^= mask_state_ >> 7;
    mask_state_ ^= mask_state_ << 17;
    return static_cast<std::uint32_t>(mask_state_);
}

void FanoutClient::start(tcp::endpoint const& endpoint, WsUrl const& url, OnOpen on_open, OnText on_text,
                         OnFail on_fail)
{
    on_open_ = std::move(on_open);
    on_text_ = std::move(on_text);
    on_fail_ = std::move(on_fail);
    socket_.async_connect(endpoint, [self = shared_from_this(), url](error_code ec) { self->on_connected(ec, url); });
}

void FanoutClient::on_connected(error_code ec, WsUrl const& url)
{
    if (ec) {
        fail("connect: " + ec.message());
        return;
    }
    socket_.set_option(tcp::no_delay(true));
    std::array<std::uint8_t, 16> nonce{};
    for (std::size_t i = 0; i < nonce.size(); i += 4) {
        std::uint32_t const r = next_mask();
        std::memcpy(nonce.data() + i, &r, 4);
    }
    outgoing_ = "GET " + url.target + " HTTP/1.1\r\nHost: " + host_header(url) +
                "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + make_websocket_key(nonce) +
                "\r\nSec-WebSocket-Version: 13\r\n\r\n";
    flush();
    read_upgrade();
}

void FanoutClient::read_upgrade()
{
    socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](error_code ec) {
        if (ec) {
            self->fail("upgrade: " + ec.message());
            return;
        }
        error_code read_ec;
        std::size_t const n = self->socket_.read_some(net::buffer(self->scratch_), read_ec);
        if (read_ec) {
            self->fail("upgrade read: " + read_ec.message());
            return;
        }
        self->upgrade_.append(self->scratch_.data(), n);
        auto const end = self->upgrade_.find("\r\n\r\n");
        if (end == std::string::npos) {
            if (self->upgrade_.size() > max_upgrade_bytes) {
                self->fail("upgrade: no end of the response headers");
                return;
            }
            self->read_upgrade();
            return;
        }
        if (self->upgrade_.compare(0, 12, "HTTP/1.1 101") != 0) {
            self->fail("upgrade refused: " + self->upgrade_.substr(0, self->upgrade_.find("\r\n")));
            return;
        }
        self->partial_ = self->upgrade_.substr(end + 4);  // frames right behind the response
        self->upgrade_.clear();
        self->upgrade_.shrink_to_fit();
        self->socket_.non_blocking(true);
        if (self->on_open_)
            self->on_open_(*self);
        if (!self->handle_frames())
            return;
        self->wait_readable();
    });
}

void FanoutClient::wait_readable()
{
    socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](error_code ec) {
        if (ec) {
            if (!self->closed_)
                self->fail("read: " + ec.message());
            return;
        }
        self->drain();
    });
}

void FanoutClient::drain()
{
    for (;;) {
        error_code ec;
        std::size_t const n = socket_.read_some(net::buffer(scratch_), ec);
        if (ec == net::error::would_block || ec == net::error::try_again)
            break;
        if (ec) {
            if (!closed_)
                fail("read: " + ec.message());
            return;
        }
        partial_.append(scratch_.data(), n);
        if (!handle_frames())
            return;
        if (n < scratch_.size())
            break;  // the socket is likely empty: wait rather than ask again
    }
    wait_readable();
}

bool FanoutClient::handle_frames()
{
    std::size_t at = 0;
    while (at < partial_.size()) {
        ServerFrame frame;
        std::string_view error;
        auto const status = parse_server_frame(partial_.data() + at, partial_.size() - at, max_frame_bytes, frame, error);
        if (status == FrameStatus::need_more)
            break;
        if (status == FrameStatus::error) {
            fail("bad frame: " + std::string(error));
            return false;
        }
        at += frame.wire_size;
        if (frame.opcode == Opcode::text && on_text_)
            on_text_(*this, frame.payload);
        else if (frame.opcode == Opcode::close) {
            closed_ = true;
            return false;
        }
    }
    partial_.erase(0, at);
    return true;
}

void FanoutClient::send_text(std::string_view text)
{
    append_client_frame(outgoing_, Opcode::text, text, next_mask());
    if (!write_posted_) {
        write_posted_ = true;
        net::post(socket_.get_executor(), [self = shared_from_this()] {
            self->write_posted_ = false;
            self->flush();
        });
    }
}

void FanoutClient::flush()
{
    if (outgoing_.empty() || !writing_.empty())
        return;
    writing_.swap(outgoing_);
    net::async_write(socket_, net::buffer(writing_), [self = shared_from_this()](error_code ec, std::size_t) {
        self->writing_.clear();
        if (ec) {
            self->fail("write: " + ec.message());
            return;
        }
        self->flush();
    });
}

void FanoutClient::close()
{
    closed_ = true;
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
}

void FanoutClient::fail(std::string const& what)
{
    if (closed_)
        return;
    closed_ = true;
    error_code ignored;
    socket_.close(ignored);
    if (on_fail_)
        on_fail_(*this, what);
}

}  // namespace portico::bench
