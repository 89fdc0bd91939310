#pragma once
// A WebSocket test client with a bound on every wait. Each call runs the
// client's own io_context for at most its timeout; an operation that does not
// finish in time closes the socket, and the client is then unusable.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace portico::test {

using namespace std::chrono_literals;

class WsClient {
public:
    // Connects and completes the upgrade; throws std::runtime_error if it cannot.
    explicit WsClient(std::uint16_t port, const std::string& target = "/ws",
                      std::chrono::milliseconds timeout = 5s);
    ~WsClient();
    WsClient(const WsClient&) = delete;
    WsClient& operator=(const WsClient&) = delete;

    // Sends one text (or binary) frame; throws std::runtime_error on failure.
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

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

struct HttpResult {
    int status = 0;  // 0: no response
    std::string body;
};

// A plain HTTP/1.1 GET (no upgrade headers) on 127.0.0.1:port.
HttpResult http_get(std::uint16_t port, const std::string& target, std::chrono::milliseconds timeout = 5s);

}  // namespace portico::test
