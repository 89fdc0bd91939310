#include "ws_frame.hpp"

namespace portico::bench {

void append_client_frame(std::string& out, Opcode opcode, std::string_view payload, std::uint32_t mask_key)
{
    char header[14];
    std::size_t n = 0;
    header[n++] = static_cast<char>(0x80 | static_cast<std::uint8_t>(opcode));
    std::uint64_t const length = payload.size();
    if (length < 126) {
        header[n++] = static_cast<char>(0x80 | length);
    } else if (length <= 0xFFFF) {
        header[n++] = static_cast<char>(0x80 | 126);
        header[n++] = static_cast<char>(length >> 8);
        header[n++] = static_cast<char>(length);
    } else {
        header[n++] = static_cast<char>(0x80 | 127);
        for (int shift = 56; shift >= 0; shift -= 8)
            header[n++] = static_cast<char>(length >> shift);
    }
    unsigned char const key[4] = {
        static_cast<unsigned char>(mask_key >> 24), static_cast<unsigned char>(mask_key >> 16),
        static_cast<unsigned char>(mask_key >> 8), static_cast<unsigned char>(mask_key)};
    for (unsigned char k : key)
        header[n++] = static_cast<char>(k);

    std::size_t const start = out.size();
    out.append(header, n);
    out.append(payload.data(), payload.size());
    auto* p = reinterpret_cast<unsigned char*>(out.data() + start + n);
    for (std::size_t i = 0; i < payload.size(); ++i)
        p[i] ^= key[i & 3];
}

FrameStatus parse_server_frame(char const* data, std::size_t size, std::size_t max_payload, ServerFrame& frame,
                               std::string_view& error)
{
    frame.wire_size = 0;
    if (size < 2)
        return FrameStatus::need_more;
    auto const* p = reinterpret_cast<unsigned char const*>(data);
    bool const fin = (p[0] & 0x80) != 0;
    unsigned const rsv = p[0] & 0x70;
    unsigned const op = p[0] & 0x0F;
    bool const masked = (p[1] & 0x80) != 0;
    std::uint64_t length = p[1] & 0x7F;

    if (rsv != 0) {
        error = "reserved bits set (no extension was negotiated)";
        return FrameStatus::error;
    }
    if (masked) {
        error = "masked frame from the server";
        return FrameStatus::error;
    }
    bool const control = (op & 0x8) != 0;
    if (op != 0x0 && op != 0x1 && op != 0x2 && op != 0x8 && op != 0x9 && op != 0xA) {
        error = "unknown opcode";
        return FrameStatus::error;
    }
    if (control && (!fin || length > 125)) {
        error = "fragmented or oversized control frame";
        return FrameStatus::error;
    }

    std::size_t header = 2;
    if (length == 126) {
        if (size < 4)
            return FrameStatus::need_more;
        length = (std::uint64_t{p[2]} << 8) | p[3];
        header = 4;
    } else if (length == 127) {
        if (size < 10)
            return FrameStatus::need_more;
        length = 0;
        for (int i = 2; i < 10; ++i)
            length = (length << 8) | p[i];
        header = 10;
    }
    if (length > max_payload) {
        error = "message larger than the bench accepts";
        return FrameStatus::error;
    }
    frame.wire_size = header + static_cast<std::size_t>(length);
    if (size < frame.wire_size)
        return FrameStatus::need_more;
    frame.opcode = static_cast<Opcode>(op);
    frame.fin = fin;
    frame.payload = std::string_view(data + header, static_cast<std::size_t>(length));
    return FrameStatus::complete;
}

}  // namespace portico::bench
