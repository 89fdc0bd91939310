#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace portico::bench {

// Sec-WebSocket-Key for a client handshake: 16 random bytes, base64.
std::string make_websocket_key(std::array<std::uint8_t, 16> const& nonce);

// The Sec-WebSocket-Accept a conforming server answers to `key`
// (RFC 6455 section 4.2.2: base64 of SHA-1 of key + the protocol GUID).
std::string websocket_accept_for(std::string_view key);

// OpenSSL's, exposed for the self-test.
std::array<std::uint8_t, 20> sha1(std::string_view data);
std::string base64_encode(std::uint8_t const* data, std::size_t size);

}  // namespace portico::bench
