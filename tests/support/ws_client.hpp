#pragma once
// The synchronous WebSocket test client: one connection to the gateway on
// 127.0.0.1, every call bounded in time. Each call runs the client's own
// io_context for at most its timeout; a message-level operation that does not
// finish in time closes the socket, and the client is then unusable.
//
// Two levels on the same connection:
//   - messages: the upgrade done by Beast, then whole messages sent and read;
//   - bytes (WsClient::raw): the TCP connection only, and the test writes
//     the upgrade and every frame itself (ws_frames.hpp) and reads the
//     server's frames exactly as they come, for where RFC 6455 matters.
// The asynchronous client, for many requests in flight, is pipelined_client.hpp.
#include "support/ws_frames.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace portico::test {

using namespace std::chrono_literals;

class WsClient {
public:
    // Connects and completes the upgrade; throws std::runtime_error if it cannot.
    explicit WsClient(std::uint16_t port, const std::string& target = "/ws", std::chrono::milliseconds timeout = 5s);
    // Connects only: nothing is sent yet (see upgrade()).
    static WsClient raw(std::uint16_t port, std::chrono::milliseconds timeout = 5s);
    ~WsClient();
    WsClient(WsClient&& other) noexcept;
    WsClient& operator=(WsClient&& other) noexcept;

    // ---- messages ----
    // Sends one text (or binary) message; throws std::runtime_error on failure.
    void send(std::string_view text);
    void send_binary(std::string_view bytes);
    // The next message, or nullopt when the connection closed, failed or
    // nothing came within `timeout` (see timed_out(), close_code(), error()).
    std::optional<std::string> read(std::chrono::milliseconds timeout = 10s);
    // read(), but a missing message fails by throwing std::runtime_error.
    std::string read_required(std::chrono::milliseconds timeout = 10s);
    bool timed_out() const noexcept;
    // The close code the server sent (0: none seen).
    int close_code() const noexcept;
    std::string error() const;
    // A WebSocket close handshake (bounded); then the client is unusable.
    void close();
    // Cuts the TCP connection without a close handshake.
    void drop();

    // ---- bytes (a raw client) ----
    // Sends the upgrade request followed, in the same write, by `then`, and
    // reads the server's response headers; true on 101.
    bool upgrade(std::string_view then = {}, std::chrono::milliseconds timeout = 5s);
    // Writes bytes as they are, in one write; throws std::runtime_error on failure.
    void send_raw(std::string_view bytes);
    // The next frame from the server; nullopt when the connection ended or
    // nothing came within `timeout` (a raw read that times out leaves the
    // connection as it was).
    std::optional<RawFrame> read_frame(std::chrono::milliseconds timeout = 10s);
    // True once the server has closed the TCP connection.
    bool wait_for_eof(std::chrono::milliseconds timeout = 10s);

private:
    struct Impl;
    explicit WsClient(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// One request on a fresh connection: the reply's text, or nullopt if there
// was none within `timeout` (connecting included). For probes such as the
// gateway's built-in "portico plugins".
std::optional<std::string> request_once(std::uint16_t port, const std::string& message,
                                        std::chrono::milliseconds timeout = 2s, const std::string& target = "/ws");

struct HttpResult {
    int status = 0;  // 0: no response
    std::map<std::string, std::string> headers;  // names in lower case
    std::string body;
};

// A plain HTTP/1.1 GET (no upgrade headers) on 127.0.0.1:port; `method`
// "HEAD" reads no body.
HttpResult http_get(std::uint16_t port, const std::string& target, std::chrono::milliseconds timeout = 5s,
                    const std::string& method = "GET");

}  // namespace portico::test
