#pragma once
// The asynchronous WebSocket test client: one or many connections to the
// gateway on 127.0.0.1, each keeping requests in flight, all driven by one
// io_context on a thread of the client's own (the synchronous client is
// ws_client.hpp; both open connections the same way). It speaks the JSON
// envelope form, {"id":N,"plugin":P,"payload":X}, and records every request
// by id, so that a report tells what happened to the exactly-one-reply
// promise: replies, ok, errors by code, duplicates (an id answered twice),
// unknown ids (an id this connection never sent, e.g. another client's), what
// is still outstanding, and replies per 100 ms.
//
// Two ways to send:
//   - calls: one request on the first connection, its reply awaited by id;
//   - streams: a named kind of request kept `in_flight` deep on every
//     connection, the next one sent as each reply comes, each reply checked.
//
// Ids: id_base + connection * 100'000'000 + n (n from 1), so ids are unique
// per connection and, with different bases, per client. The sockets belong to
// the client's thread; the test's thread posts to it and reads the records
// under a mutex.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace portico::test {

using namespace std::chrono_literals;

struct PipelineOptions {
    std::uint16_t port = 0;  // the gateway's, on 127.0.0.1
    std::string target = "/ws";
    unsigned connections = 1;
    std::uint64_t id_base = 1'000'000'000'000;
};

// Says what is wrong with a reply; empty when it is as expected.
using ReplyCheck = std::function<std::string(const nlohmann::json& reply)>;

struct StreamOptions {
    std::string plugin = "dice";
    std::string payload = "3d6";
    unsigned in_flight = 4;                // per connection
    std::uint64_t max_per_connection = 0;  // requests each connection sends in all; 0: no limit
    std::chrono::milliseconds pause{0};    // after a reply, before the next request on that connection
    ReplyCheck check;                      // none: every reply is as expected
};

// What a stream (or the whole client) saw. The connection counts, the close
// codes, unknown ids and malformed replies are the client's in every report.
struct LoadReport {
    std::uint64_t sent = 0;
    std::uint64_t replies = 0;  // first replies to ids this connection sent
    std::uint64_t ok = 0;
    std::map<std::string, std::uint64_t> errors;  // code -> count
    std::uint64_t failed = 0;       // replies the stream's check refused
    std::uint64_t duplicates = 0;   // a second reply to an id
    std::uint64_t unknown_ids = 0;  // a reply to an id this connection never sent
    std::uint64_t malformed = 0;    // a reply that is not an envelope reply with a numeric id
    std::uint64_t outstanding = 0;  // sent and not answered (yet)
    unsigned connected = 0;         // completed the handshake
    unsigned open = 0;              // still open
    std::map<int, unsigned> close_codes;  // code the server closed with -> connections; 0: no close frame
    std::vector<std::uint64_t> replies_per_100ms;  // since the stream started
    std::vector<std::uint64_t> ok_per_100ms;
    std::vector<std::string> samples;  // the first odd replies and requests without one

    std::uint64_t error_count() const;
    std::uint64_t errors_other_than(std::initializer_list<const char*> codes) const;
    // Something was sent, and every request had exactly one reply, as its check wanted.
    bool clean() const;
    std::string summary() const;
};

// A reply's error code: "" for a reply that is ok or not a reply at all.
std::string error_code_of(const nlohmann::json& reply);

class PipelinedClient {
public:
    explicit PipelinedClient(PipelineOptions options);
    // Ends every connection at once (no close handshake: see close()).
    ~PipelinedClient();
    PipelinedClient(const PipelinedClient&) = delete;
    PipelinedClient& operator=(const PipelinedClient&) = delete;

    // Opens every connection (128 at most at a time, so that the listen
    // backlog never overflows); false unless all completed the upgrade in time.
    bool connect(std::chrono::milliseconds timeout = 5s);

    // ---- calls ----
    // Sends {"id": ID, "plugin": PLUGIN, "payload": PAYLOAD} on the first connection; returns ID.
    std::uint64_t send(const std::string& plugin, const std::string& payload);
    // The first reply to ID; nullopt if none came within `timeout` (or the connection ended).
    std::optional<nlohmann::json> wait_reply(std::uint64_t id, std::chrono::milliseconds timeout);
    // send(), then wait_reply().
    std::optional<nlohmann::json> call(const std::string& plugin, const std::string& payload,
                                       std::chrono::milliseconds timeout = 5s);
    // How many replies ID has had so far.
    std::size_t replies_for(std::uint64_t id) const;
    // The calls that have had no reply or more than one, as "ID: N replies".
    std::vector<std::string> call_anomalies() const;

    // ---- streams ----
    // Starts a stream named NAME on every connection.
    void start_stream(const std::string& name, StreamOptions options);
    // Waits until the stream has had `more` replies beyond those it had.
    bool wait_stream_progress(const std::string& name, std::size_t more, std::chrono::milliseconds timeout);
    // Stops the stream's sending, waits up to `timeout` for its requests in
    // flight, and reports (naming, in its samples, requests still without a reply).
    LoadReport stop_stream(const std::string& name, std::chrono::milliseconds timeout);
    // Stops every stream's sending; what is outstanding still gets its replies.
    void stop_sending();

    // Waits until no open connection has a request outstanding.
    bool wait_settled(std::chrono::milliseconds timeout);
    // Waits until `done` holds for the report (checked every few milliseconds).
    bool wait_until(const std::function<bool(const LoadReport&)>& done, std::chrono::milliseconds timeout);
    // Waits until every connection is closed (by either side).
    bool wait_closed(std::chrono::milliseconds timeout);
    // Stops sending and closes every open connection normally (1000), bounded.
    void close(std::chrono::milliseconds timeout = 2s);

    // Everything so far, or one stream's part of it.
    LoadReport report() const;
    LoadReport report(const std::string& stream) const;
    // The ids sent and not yet answered, on every connection.
    std::vector<std::uint64_t> outstanding_ids() const;
    // How an id was answered: "ok", an error code, or "" (not answered).
    std::string outcome(std::uint64_t id) const;

    // Every connection is open (none failed nor was closed).
    bool connected() const;
    // Why the first connection that ended did; replies nobody asked for.
    std::string connection_error() const;
    std::vector<std::string> unexpected() const;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace portico::test
