#include "support/ws_frames.hpp"

#include <stdexcept>

namespace portico::test {
namespace {

struct Header {
    std::size_t size = 0;      // header bytes
    std::uint64_t length = 0;  // payload bytes
};

// The frame header at the front of `bytes`, if it is all there.
std::optional<Header> header_of(const std::string& bytes) {
    const auto byte = [&bytes](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
    if (bytes.size() < 2) return std::nullopt;
    Header header{2, std::uint64_t{byte(1)} & 0x7f};
    if (header.length == 126) {
        if (bytes.size() < 4) return std::nullopt;
        header = {4, (std::uint64_t{byte(2)} << 8) | byte(3)};
    } else if (header.length == 127) {
        if (bytes.size() < 10) return std::nullopt;
        header = {10, 0};
        for (std::size_t i = 2; i < 10; ++i) header.length = (header.length << 8) | byte(i);
    }
    return header;
}

}  // namespace

int RawFrame::close_code() const {
    if (opcode != ws_opcode::close || payload.size() < 2) return 0;
    return (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]);
}

std::string client_frame(std::uint8_t opcode, std::string_view payload, bool fin, bool masked) {
    std::string frame;
    frame += static_cast<char>((fin ? 0x80 : 0x00) | (opcode & 0x0f));
    const unsigned char mask_bit = masked ? 0x80 : 0x00;
    const std::size_t n = payload.size();
    if (n < 126) {
        frame += static_cast<char>(mask_bit | n);
    } else if (n <= 0xffff) {
        frame += static_cast<char>(mask_bit | 126);
        frame += static_cast<char>(n >> 8);
        frame += static_cast<char>(n & 0xff);
    } else {
        frame += static_cast<char>(mask_bit | 127);
        for (int shift = 56; shift >= 0; shift -= 8) frame += static_cast<char>((std::uint64_t{n} >> shift) & 0xff);
    }
    const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
    if (masked) frame.append(reinterpret_cast<const char*>(key), 4);
    for (std::size_t i = 0; i < n; ++i)
        frame += masked ? static_cast<char>(payload[i] ^ static_cast<char>(key[i % 4])) : payload[i];
    return frame;
}

std::string close_frame(std::uint16_t code, std::string_view reason) {
    std::string payload;
    payload += static_cast<char>(code >> 8);
    payload += static_cast<char>(code & 0xff);
    payload.append(reason);
    return client_frame(ws_opcode::close, payload);
}

std::string upgrade_request(std::uint16_t port, const std::string& target) {
    return "GET " + target + " HTTP/1.1\r\n"
           "Host: 127.0.0.1:" + std::to_string(port) + "\r\n"
           "Upgrade: websocket\r\n"
           "Connection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Sec-WebSocket-Version: 13\r\n\r\n";
}

std::size_t frame_bytes_needed(const std::string& bytes) {
    const auto header = header_of(bytes);
    if (!header) return bytes.size() + 1;
    return header->size + header->length;
}

std::optional<RawFrame> take_frame(std::string& bytes) {
    const auto header = header_of(bytes);
    if (!header || bytes.size() < header->size + header->length) return std::nullopt;
    if ((static_cast<unsigned char>(bytes[1]) & 0x80) != 0) throw std::runtime_error("the server sent a masked frame");
    RawFrame frame;
    frame.fin = (static_cast<unsigned char>(bytes[0]) & 0x80) != 0;
    frame.opcode = static_cast<unsigned char>(bytes[0]) & 0x0f;
    frame.payload = bytes.substr(header->size, header->length);
    bytes.erase(0, header->size + header->length);
    return frame;
}

}  // namespace portico::test
