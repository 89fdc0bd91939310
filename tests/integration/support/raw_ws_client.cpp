#include "raw_ws_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace portico::test {

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

RawWsClient::RawWsClient(std::uint16_t port) : port_(port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "socket");
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        const int error = errno;
        ::close(fd_);
        throw std::system_error(error, std::generic_category(), "connect to port " + std::to_string(port));
    }
}

RawWsClient::RawWsClient(RawWsClient&& other) noexcept
    : port_(other.port_), fd_(std::exchange(other.fd_, -1)), in_(std::move(other.in_)), eof_(other.eof_) {}

RawWsClient::~RawWsClient() {
    if (fd_ >= 0) ::close(fd_);
}

void RawWsClient::send_raw(std::string_view bytes) {
    // Loopback takes small writes whole; loop anyway for large ones.
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::system_error(errno, std::generic_category(), "send");
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

bool RawWsClient::fill(std::size_t bytes, std::chrono::steady_clock::time_point deadline) {
    while (in_.size() < bytes) {
        if (eof_) return false;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd_, POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) return false;
        char chunk[16384];
        const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            eof_ = true;
            return false;
        }
        in_.append(chunk, static_cast<std::size_t>(n));
    }
    return true;
}

bool RawWsClient::upgrade(std::string_view then, std::chrono::milliseconds timeout) {
    // The request and what follows it leave in one write.
    std::string bytes = upgrade_request(port_);
    send_raw(bytes.append(then));
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t end = std::string::npos;
    while ((end = in_.find("\r\n\r\n")) == std::string::npos)
        if (!fill(in_.size() + 1, deadline)) return false;
    const std::string head = in_.substr(0, end);
    in_.erase(0, end + 4);
    return head.rfind("HTTP/1.1 101", 0) == 0;
}

std::optional<RawFrame> RawWsClient::read_frame(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    if (!fill(2, deadline)) return std::nullopt;
    const auto byte = [this](std::size_t i) { return static_cast<unsigned char>(in_[i]); };
    RawFrame frame;
    frame.fin = byte(0) & 0x80;
    frame.opcode = byte(0) & 0x0f;
    std::size_t header = 2;
    std::uint64_t length = byte(1) & 0x7f;
    if (length == 126) {
        if (!fill(4, deadline)) return std::nullopt;
        length = (std::uint64_t{byte(2)} << 8) | byte(3);
        header = 4;
    } else if (length == 127) {
        if (!fill(10, deadline)) return std::nullopt;
        length = 0;
        for (std::size_t i = 2; i < 10; ++i) length = (length << 8) | byte(i);
        header = 10;
    }
    if ((byte(1) & 0x80) != 0) throw std::runtime_error("the server sent a masked frame");
    if (!fill(header + length, deadline)) return std::nullopt;
    frame.payload = in_.substr(header, length);
    in_.erase(0, header + length);
    return frame;
}

bool RawWsClient::wait_for_eof(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!eof_) {
        in_.clear();
        if (!fill(1, deadline) && !eof_) return false;
    }
    return true;
}

}  // namespace portico::test
