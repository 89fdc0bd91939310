#pragma once
// A WebSocket client of the portico gateway that keeps one connection for its
// whole life (it never reconnects: a test that needs one more connection sees
// the failure). It speaks the JSON envelope form with string ids and records
// every reply by id, so a test can tell a lost reply from a duplicate.
//
// Besides single calls it runs "streams": a stream keeps N requests of one
// kind in flight, sending the next as each reply arrives, and checks every
// reply. The socket belongs to one thread (the client's event loop); the
// test's thread only posts to it and reads the records under a mutex.
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace portico::reload_tests {

// Says what is wrong with a stream's reply; empty when it is as expected.
using ReplyCheck = std::function<std::string(const nlohmann::json& reply)>;

// What one stream saw from start to stop.
struct StreamReport {
    std::size_t sent = 0;
    std::size_t answered = 0;    // requests with at least one reply
    std::size_t lost = 0;        // requests still unanswered when the stream stopped
    std::size_t duplicates = 0;  // replies beyond the first for one request
    std::size_t failed = 0;      // replies the check refused
    std::vector<std::string> problems;  // the first few, for the failure message
    bool clean() const { return sent > 0 && lost == 0 && duplicates == 0 && failed == 0 && answered == sent; }
    std::string describe() const;
};

class GatewayClient {
public:
    // Connects to ws://127.0.0.1:PORT/ws; throws std::runtime_error if it cannot
    // within `timeout`.
    explicit GatewayClient(std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(5));
    ~GatewayClient();
    GatewayClient(const GatewayClient&) = delete;
    GatewayClient& operator=(const GatewayClient&) = delete;

    // Sends {"id": ID, "plugin": PLUGIN, "payload": PAYLOAD}; returns ID.
    std::string send(const std::string& plugin, const std::string& payload);
    // The first reply to ID; nullopt if none came within `timeout`.
    std::optional<nlohmann::json> wait_reply(const std::string& id, std::chrono::milliseconds timeout);
    // send() then wait_reply().
    std::optional<nlohmann::json> call(const std::string& plugin, const std::string& payload,
                                       std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // How many replies ID has had so far.
    std::size_t replies_for(const std::string& id) const;
    // The calls that have had no reply or more than one, as "ID: N replies".
    std::vector<std::string> call_anomalies() const;

    // Starts a stream named NAME ([a-z0-9_]): `in_flight` requests of
    // PLUGIN PAYLOAD, each reply checked by `check`.
    void start_stream(const std::string& name, const std::string& plugin, const std::string& payload,
                      unsigned in_flight, ReplyCheck check);
    std::size_t stream_answered(const std::string& name) const;
    // Waits until the stream has had `more` replies beyond those it had.
    bool wait_stream_progress(const std::string& name, std::size_t more, std::chrono::milliseconds timeout);
    // Stops sending and waits up to `timeout` for the requests in flight.
    StreamReport stop_stream(const std::string& name, std::chrono::milliseconds timeout);

    // The connection is open (no read or write failed).
    bool connected() const;
    // Why the connection ended; replies nobody asked for.
    std::string connection_error() const;
    std::vector<std::string> unexpected() const;

private:
    struct Stream {
        std::string plugin;
        std::string payload;
        unsigned in_flight = 1;
        ReplyCheck check;
        bool active = true;
        std::uint64_t next = 0;
        std::set<std::string> pending;
        std::map<std::string, std::size_t> replies;  // id -> replies, for every id sent
        StreamReport report;
    };

    std::string envelope(const std::string& id, const std::string& plugin, const std::string& payload) const;
    // With mutex_ held: the next request of a stream, recorded as sent.
    std::string next_request(const std::string& name, Stream& stream);
    void queue(std::string text);  // loop thread only
    void do_write();
    void on_write(boost::beast::error_code ec);
    void do_read();
    void on_read(boost::beast::error_code ec);
    void on_message(const std::string& text);
    void fail(const std::string& what, boost::beast::error_code ec);

    boost::asio::io_context io_;
    boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
    boost::beast::flat_buffer buffer_;
    std::deque<std::string> outbox_;  // loop thread only; the front is being written
    std::thread loop_;

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    bool open_ = false;
    bool closing_ = false;
    std::string error_;
    std::uint64_t next_call_ = 0;
    std::map<std::string, std::vector<nlohmann::json>> call_replies_;  // every call id sent
    std::map<std::string, Stream> streams_;
    std::vector<std::string> unexpected_;
};

// A check for dice rolls of `count` dice of `sides` sides.
ReplyCheck dice_roll_check(unsigned count, unsigned sides);
// A check for a text reply from `plugin`.
ReplyCheck text_check(const std::string& plugin, const std::string& text);

}  // namespace portico::reload_tests
