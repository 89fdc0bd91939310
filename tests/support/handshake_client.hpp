#pragma once
// A WebSocket connection made the way the gateway's defences see it: over
// TLS (trusting a given CA, with version bounds), with an Origin header, and
// with the HTTP status of a refused upgrade kept for the test. For plain
// connections and raw frames, ws_client.hpp is the client; this one exists
// for the handshake and TLS, and sends and reads whole messages only.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace portico::test {

using namespace std::chrono_literals;

struct HandshakeOptions {
    std::string target = "/ws";
    std::string origin;                // sent as Origin when not empty
    std::string authorization;         // sent as Authorization when not empty (e.g. "Bearer TOKEN")
    bool tls = false;
    std::string trusted_ca;            // PEM; the server's certificate must chain to it
    std::string server_name = "localhost";  // SNI and the name the certificate must hold
    int max_tls_version = 0;           // e.g. TLS1_1_VERSION, to offer only old versions; 0: any
    std::chrono::milliseconds timeout = 5s;
};

class HandshakeClient {
public:
    // Connects and tries the upgrade; never throws for a refusal (see ok()).
    HandshakeClient(std::uint16_t port, const HandshakeOptions& options);
    ~HandshakeClient();
    HandshakeClient(const HandshakeClient&) = delete;
    HandshakeClient& operator=(const HandshakeClient&) = delete;

    bool ok() const noexcept;       // the upgrade succeeded
    int http_status() const noexcept;  // of the response to the upgrade (101 when ok; 0: none came)
    std::string http_body() const;
    std::string error() const;       // why it failed ("" when ok): TLS, connect or handshake
    // The code of the server's close frame, once read() has seen it (0: none).
    int close_code() const;
    std::string close_reason() const;

    // Whole messages (only when ok()); read() is nullopt on close, error or timeout.
    bool send(const std::string& text);
    std::optional<std::string> read(std::chrono::milliseconds timeout = 5s);
    // Sends `text` and reads the next message: the reply, on an open connection.
    std::optional<std::string> request(const std::string& text, std::chrono::milliseconds timeout = 5s);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace portico::test
