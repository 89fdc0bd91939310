#pragma once
// The stream of a wss:// connection, and what the gateway stream needs to
// know of it: a TLS layer holds input of its own, decrypted (SSL_pending) or
// received and not yet decrypted (in its read BIO), that the socket no longer
// shows. Asio's TLS stream may also keep received bytes in a buffer of its
// own that nothing exposes, so a wait for input never sleeps on the socket:
// it completes at once and a real read follows. (The wait saves an idle
// plain connection its read buffer; a TLS connection's record buffers,
// about 34 KiB, dwarf that.) While a read is in flight that buffer is empty,
// so buffered() + available() is exact for the drain's check.
#include "core/net.hpp"
#include "gateway/gateway_stream.hpp"

#include <boost/beast/ssl.hpp>
#include <openssl/bio.h>
#include <openssl/ssl.h>

namespace portico {

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

template <>
struct StreamTraits<TlsStream> {
    static std::size_t buffered(const TlsStream& next) {
        SSL* ssl = const_cast<TlsStream&>(next).native_handle();
        const int decrypted = SSL_pending(ssl);
        BIO* input = SSL_get_rbio(ssl);
        const std::size_t received = input ? BIO_ctrl_pending(input) : 0;
        return static_cast<std::size_t>(decrypted > 0 ? decrypted : 0) + received;
    }
    static std::size_t available(TlsStream& next) { return bytes_in_kernel(next); }
    template <class Handler>
    static void async_wait_readable(TlsStream& next, Handler&& handler) {
        net::post(next.get_executor(), beast::bind_front_handler(std::forward<Handler>(handler), beast::error_code{}));
    }
};

}  // namespace portico
