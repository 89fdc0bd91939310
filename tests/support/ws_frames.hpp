#pragma once
// RFC 6455 frames as bytes, for tests where the wire itself matters: frames
// built byte by byte (masked or not, fragmented, with any opcode or close
// code), the upgrade request written by hand, and the server's frames read
// back exactly as they came. WsClient's byte level (ws_client.hpp) sends and
// reads these.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portico::test {

namespace ws_opcode {
inline constexpr std::uint8_t continuation = 0x0, text = 0x1, binary = 0x2, close = 0x8, ping = 0x9, pong = 0xa;
}

struct RawFrame {
    bool fin = true;
    std::uint8_t opcode = 0;
    std::string payload;
    // For a close frame: its code (0: none given).
    int close_code() const;
};

// One client-to-server frame, masked unless told otherwise.
std::string client_frame(std::uint8_t opcode, std::string_view payload, bool fin = true, bool masked = true);
// A close frame with `code` (and a reason), masked.
std::string close_frame(std::uint16_t code, std::string_view reason = {});
// The upgrade request for `target` on 127.0.0.1:port.
std::string upgrade_request(std::uint16_t port, const std::string& target = "/ws");

// Takes the first whole server frame off the front of `bytes`; nullopt while
// the frame is not all there yet. Throws std::runtime_error for a masked
// frame (a server never masks).
std::optional<RawFrame> take_frame(std::string& bytes);
// The bytes take_frame() needs before the first frame is all there (at least
// bytes.size() + 1 while even its header is incomplete).
std::size_t frame_bytes_needed(const std::string& bytes);

}  // namespace portico::test
