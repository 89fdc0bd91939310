#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace portico::bench {

// RFC 6455 framing, client side: frames we send are masked, frames from the
// server must not be. Kept apart from any socket so it is testable alone.
enum class Opcode : std::uint8_t {
    continuation = 0x0,
    text = 0x1,
    binary = 0x2,
    close = 0x8,
    ping = 0x9,
    pong = 0xA,
};

// Appends one complete (FIN) masked frame carrying `payload` to `out`.
void append_client_frame(std::string& out, Opcode opcode, std::string_view payload, std::uint32_t mask_key);

enum class FrameStatus {
    complete,   // `frame` describes a whole frame at the start of the input
    need_more,  // input ends inside a frame; `frame.wire_size` is its size when known, else 0
    error,      // protocol violation; `error` says which
};

struct ServerFrame {
    Opcode opcode = Opcode::text;
    bool fin = true;
    std::string_view payload;   // points into the parsed input
    std::size_t wire_size = 0;  // header plus payload
};

// Parses the frame at the start of [data, data + size). Payloads above
// `max_payload` are refused as errors.
FrameStatus parse_server_frame(char const* data, std::size_t size, std::size_t max_payload, ServerFrame& frame,
                               std::string_view& error);

}  // namespace portico::bench
