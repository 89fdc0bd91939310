#pragma once
// One WebSocket client connection of the fan-out bench: upgrade, then whole
// text frames handed to a callback. Reading is reactor style: wait until the
// socket is readable, then read everything it holds into a buffer shared by
// all connections of the thread, so ten thousand connections cost ten
// thousand small leftovers, not ten thousand read buffers. Frames are parsed
// with the bench's own RFC 6455 code (ws_frame.hpp); nothing here knows
// what the messages mean.
#include "net.hpp"
#include "ws_url.hpp"

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace portico::bench {

class FanoutClient : public std::enable_shared_from_this<FanoutClient> {
public:
    using OnOpen = std::function<void(FanoutClient&)>;
    using OnText = std::function<void(FanoutClient&, std::string_view)>;
    using OnFail = std::function<void(FanoutClient&, std::string const&)>;

    // `scratch`: the thread's read buffer, shared by its connections.
    FanoutClient(net::io_context& ioc, std::vector<char>& scratch, std::size_t index, std::uint64_t seed);

    void start(tcp::endpoint const& endpoint, WsUrl const& url, OnOpen on_open, OnText on_text, OnFail on_fail);
    // Queues one text frame; everything queued in a turn goes in one write.
    void send_text(std::string_view text);
    void close();
    std::size_t index() const noexcept { return index_; }

private:
    void on_connected(error_code ec, WsUrl const& url);
    void read_upgrade();
    void wait_readable();
    void drain();
    bool handle_frames();
    void flush();
    void fail(std::string const& what);
    std::uint32_t next_mask();

    tcp::socket socket_;
    std::vector<char>& scratch_;
    std::size_t index_;
    std::uint64_t mask_state_;
    std::string upgrade_;   // the response, until its end is read
    std::string partial_;   // the start of a frame that the last read cut
    std::string outgoing_;
    std::string writing_;
    bool write_posted_ = false;
    bool closed_ = false;
    OnOpen on_open_;
    OnText on_text_;
    OnFail on_fail_;
};

}  // namespace portico::bench
