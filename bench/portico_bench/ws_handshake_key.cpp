#include "ws_handshake_key.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace portico::bench {

std::array<std::uint8_t, 20> sha1(std::string_view data)
{
    std::array<std::uint8_t, 20> digest{};
    unsigned int size = 0;
    if (EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha1(), nullptr) != 1 ||
        size != digest.size())
        throw std::runtime_error("OpenSSL refused to compute a SHA-1 digest");
    return digest;
}

std::string base64_encode(std::uint8_t const* data, std::size_t size)
{
    std::string out((size + 2) / 3 * 4 + 1, '\0');  // EVP_EncodeBlock writes a NUL after the text
    int const written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
    out.resize(static_cast<std::size_t>(written));
    return out;
}

std::string make_websocket_key(std::array<std::uint8_t, 16> const& nonce)
{
    return base64_encode(nonce.data(), nonce.size());
}

std::string websocket_accept_for(std::string_view key)
{
    std::string text(key);
    text += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    auto const digest = sha1(text);
    return base64_encode(digest.data(), digest.size());
}

}  // namespace portico::bench
