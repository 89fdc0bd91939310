#pragma once
// The listener's TLS setup (gateway.tls): TLS 1.2 and 1.3 only, no
// compression, the server's cipher order, the certificate chain and key
// checked against each other. A SIGHUP loads the files again into a new
// context: new connections take it, open ones keep the one they started with.
#include "config/config.hpp"
#include "core/error.hpp"

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <mutex>

namespace portico {

using TlsContext = boost::asio::ssl::context;

// A server context from the files, or why it cannot be made
// ("gateway.tls.key_file: ...").
Expected<std::shared_ptr<TlsContext>> make_server_tls_context(const TlsConfig& tls);

// The context new connections use; swapped whole, from any thread.
class TlsContextStore {
public:
    Expected<void> load(const TlsConfig& tls);
    void set(std::shared_ptr<TlsContext> context);
    std::shared_ptr<TlsContext> current() const;

private:
    mutable std::mutex mutex_;
    std::shared_ptr<TlsContext> current_;
};

}  // namespace portico
