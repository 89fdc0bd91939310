#include "gateway/gateway_stream.hpp"

namespace portico::detail {

FrameHeader text_frame_header(std::size_t payload_bytes) noexcept {
    // RFC 6455 5.2: FIN + opcode 1 (text); a server's frames are not masked.
    FrameHeader header{{0x81}, 2};
    if (payload_bytes < 126) {
        header.bytes[1] = static_cast<unsigned char>(payload_bytes);
    } else if (payload_bytes <= 0xffff) {
        header.bytes[1] = 126;
        header.bytes[2] = static_cast<unsigned char>(payload_bytes >> 8);
        header.bytes[3] = static_cast<unsigned char>(payload_bytes);
        header.size = 4;
    } else {
        header.bytes[1] = 127;
        for (int i = 0; i < 8; ++i)
            header.bytes[2 + i] = static_cast<unsigned char>(static_cast<std::uint64_t>(payload_bytes) >> (56 - 8 * i));
        header.size = 10;
    }
    return header;
}

}  // namespace portico::detail
