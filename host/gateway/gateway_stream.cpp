#include "gateway/gateway_stream.hpp"

namespace portico::detail {

std::string text_frame_header(std::size_t payload_bytes) {
    // RFC 6455 5.2: FIN + opcode 1 (text); a server's frames are not masked.
    std::string header(1, static_cast<char>(0x81));
    if (payload_bytes < 126) {
        header += static_cast<char>(payload_bytes);
    } else if (payload_bytes <= 0xffff) {
        header += static_cast<char>(126);
        header += static_cast<char>((payload_bytes >> 8) & 0xff);
        header += static_cast<char>(payload_bytes & 0xff);
    } else {
        header += static_cast<char>(127);
        for (int shift = 56; shift >= 0; shift -= 8)
            header += static_cast<char>((static_cast<std::uint64_t>(payload_bytes) >> shift) & 0xff);
    }
    return header;
}

}  // namespace portico::detail
