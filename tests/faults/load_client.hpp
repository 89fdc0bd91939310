#pragma once
// A WebSocket load client for the fault tests: M connections to a gateway,
// each keeping N requests in flight in the JSON envelope form
// ({"id":N,"plugin":"dice","payload":"3d6"}), on one io_context run by one
// thread. Every reply is matched by id to the connection that sent it, so the
// report says what a fault did to the exactly-one-reply promise: replies,
// ok, errors by code, duplicates (an id answered twice), unknown ids (an id
// this connection never sent, e.g. another client's), what is still
// outstanding, and replies per 100 ms.
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace portico::faults {

struct LoadOptions {
    std::uint16_t port = 0;  // the gateway's, on 127.0.0.1
    std::string target = "/ws";
    std::string plugin = "dice";
    std::string payload = "3d6";
    unsigned connections = 8;
    unsigned in_flight = 4;                 // per connection
    std::uint64_t max_per_connection = 0;   // requests each connection sends in all; 0: no limit
    std::chrono::milliseconds pause{0};     // after a reply, before the next request on that connection
    // Request ids: id_base + connection * 100'000'000 + n (n from 1), so ids
    // are unique per connection and, with different bases, per client.
    std::uint64_t id_base = 1'000'000'000'000;
};

struct LoadReport {
    std::uint64_t sent = 0;
    std::uint64_t replies = 0;      // first replies to ids this connection sent
    std::uint64_t ok = 0;
    std::map<std::string, std::uint64_t> errors;  // code -> count
    std::uint64_t duplicates = 0;   // a second reply to an id
    std::uint64_t unknown_ids = 0;  // a reply to an id this connection never sent
    std::uint64_t malformed = 0;    // a reply that is not an envelope reply with a numeric id
    std::uint64_t outstanding = 0;  // sent and not answered (yet)
    unsigned connected = 0;         // completed the handshake
    unsigned open = 0;              // still open
    std::map<int, unsigned> close_codes;  // code the server closed with -> connections; 0: no close frame
    std::vector<std::uint64_t> replies_per_100ms;  // since start()
    std::vector<std::uint64_t> ok_per_100ms;
    std::vector<std::string> samples;  // the first odd replies: errors, malformed, duplicates, unknown ids

    std::uint64_t error_count() const;
    std::uint64_t errors_other_than(std::initializer_list<const char*> codes) const;
    std::string summary() const;
};

class LoadClient {
public:
    explicit LoadClient(LoadOptions options);
    ~LoadClient();
    LoadClient(const LoadClient&) = delete;
    LoadClient& operator=(const LoadClient&) = delete;

    // Opens every connection; false unless all completed the handshake in time.
    bool connect(std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // Starts sending, and keeps `in_flight` requests outstanding per connection.
    void start();
    // Sends nothing new; what is outstanding still gets its replies.
    void stop_sending();
    // Waits until no open connection has a request outstanding.
    bool wait_settled(std::chrono::milliseconds timeout);
    // Waits until `done` holds for the report (checked on every change).
    bool wait_until(const std::function<bool(const LoadReport&)>& done, std::chrono::milliseconds timeout);
    // Waits until every connection is closed (by either side).
    bool wait_closed(std::chrono::milliseconds timeout);
    // A normal close (1000) of every open connection, bounded.
    void close(std::chrono::milliseconds timeout = std::chrono::seconds(2));

    LoadReport report() const;
    // The ids sent and not yet answered, on every connection.
    std::vector<std::uint64_t> outstanding_ids() const;
    // How an id was answered: "ok", an error code, or "" (not answered).
    std::string outcome(std::uint64_t id) const;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

// One request on a fresh connection, synchronously: the reply's text, or
// nullopt if there was none within `timeout`. For probes such as the
// gateway's built-in "portico plugins".
std::optional<std::string> request_once(std::uint16_t port, const std::string& message,
                                        std::chrono::milliseconds timeout = std::chrono::seconds(2),
                                        const std::string& target = "/ws");

}  // namespace portico::faults
