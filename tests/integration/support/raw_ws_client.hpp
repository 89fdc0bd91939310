#pragma once
// A WebSocket client that speaks raw frames over a plain TCP socket, for
// testing the gateway where RFC 6455 matters: frames it builds byte by byte
// (masked or not, fragmented, with any opcode or close code), several of
// them in one TCP write, and every frame the server sends read back as it is.
// Every wait is bounded.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portico::test {

struct RawFrame {
    bool fin = true;
    std::uint8_t opcode = 0;
    std::string payload;
    // For a close frame: its code (0: none given).
    int close_code() const;
};

namespace ws_opcode {
inline constexpr std::uint8_t continuation = 0x0, text = 0x1, binary = 0x2, close = 0x8, ping = 0x9, pong = 0xa;
}

// One client-to-server frame, masked unless told otherwise.
std::string client_frame(std::uint8_t opcode, std::string_view payload, bool fin = true, bool masked = true);
// A close frame with `code` (and a reason), masked.
std::string close_frame(std::uint16_t code, std::string_view reason = {});
// The upgrade request for `target` on 127.0.0.1:port.
std::string upgrade_request(std::uint16_t port, const std::string& target = "/ws");

class RawWsClient {
public:
    // Connects; nothing is sent yet.
    explicit RawWsClient(std::uint16_t port);
    ~RawWsClient();
    RawWsClient(RawWsClient&& other) noexcept;
    RawWsClient(const RawWsClient&) = delete;
    RawWsClient& operator=(const RawWsClient&) = delete;

    // Sends the upgrade request followed, in the same write, by `then`, and
    // reads the server's response headers; true on 101.
    bool upgrade(std::string_view then = {}, std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // Writes bytes as they are, in one write.
    void send_raw(std::string_view bytes);
    // The next frame from the server; nullopt when the connection ended or
    // nothing came within `timeout`.
    std::optional<RawFrame> read_frame(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    // True once the server has closed the TCP connection (read gives 0).
    bool wait_for_eof(std::chrono::milliseconds timeout = std::chrono::seconds(10));

private:
    bool fill(std::size_t bytes, std::chrono::steady_clock::time_point deadline);

    std::uint16_t port_;
    int fd_ = -1;
    std::string in_;
    bool eof_ = false;
};

}  // namespace portico::test
