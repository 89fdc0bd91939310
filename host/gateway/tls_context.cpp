#include "gateway/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <fstream>

namespace portico {
namespace {

std::string openssl_reason(const boost::system::error_code& ec) {
    // Asio's message for an OpenSSL error is its reason string ("no start line", ...).
    std::string text = ec.message();
    return text.empty() ? "unknown OpenSSL error" : text;
}

bool readable(const std::string& path) {
    std::ifstream file(path);
    return file.good();
}

}  // namespace

Expected<std::shared_ptr<TlsContext>> make_server_tls_context(const TlsConfig& tls) {
    namespace ssl = boost::asio::ssl;
    if (!readable(tls.cert_file))
        return Error{"tls_failed", "gateway.tls.cert_file: cannot read \"" + tls.cert_file + "\""};
    if (!readable(tls.key_file))
        return Error{"tls_failed", "gateway.tls.key_file: cannot read \"" + tls.key_file + "\""};
    auto context = std::make_shared<TlsContext>(ssl::context::tls_server);
    boost::system::error_code ec;
    context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                             ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::no_compression |
                             ssl::context::single_dh_use,
                         ec);
    SSL_CTX* native = context->native_handle();
    if (!ec && (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1 ||
                SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION) != 1))
        return Error{"tls_failed", "gateway.tls: OpenSSL refused the TLS 1.2-1.3 range"};
    SSL_CTX_set_options(native, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
    if (ec) return Error{"tls_failed", "gateway.tls: " + openssl_reason(ec)};
    context->use_certificate_chain_file(tls.cert_file, ec);
    if (ec)
        return Error{"tls_failed", "gateway.tls.cert_file: \"" + tls.cert_file +
                                       "\" is not a PEM certificate (chain): " + openssl_reason(ec)};
    context->use_private_key_file(tls.key_file, ssl::context::pem, ec);
    if (ec && ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH)
        return Error{"tls_failed", "gateway.tls.key_file: \"" + tls.key_file +
                                       "\" does not match the certificate in \"" + tls.cert_file + "\""};
    if (ec)
        return Error{"tls_failed",
                     "gateway.tls.key_file: \"" + tls.key_file + "\" is not a PEM private key: " + openssl_reason(ec)};
    if (SSL_CTX_check_private_key(native) != 1) {
        ERR_clear_error();
        return Error{"tls_failed", "gateway.tls.key_file: \"" + tls.key_file +
                                       "\" does not match the certificate in \"" + tls.cert_file + "\""};
    }
    return context;
}

Expected<void> TlsContextStore::load(const TlsConfig& tls) {
    auto context = make_server_tls_context(tls);
    if (!context) return context.error();
    set(std::move(context).value());
    return {};
}

void TlsContextStore::set(std::shared_ptr<TlsContext> context) {
    std::lock_guard<std::mutex> lock(mutex_);
    current_ = std::move(context);
}

std::shared_ptr<TlsContext> TlsContextStore::current() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return current_;
}

}  // namespace portico
