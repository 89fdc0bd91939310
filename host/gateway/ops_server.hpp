#pragma once
// The operator's own listener (ops.listen): plain HTTP, GET routes only
// (/metrics, /healthz, /readyz), one request per connection. Bounded like
// the gateway's HTTP side: a small header limit, no body, a deadline per
// connection and a cap on connections at once, so a scraper that misbehaves
// cannot hold it.
#include "core/error.hpp"
#include "core/logger.hpp"
#include "core/net.hpp"
#include "gateway/http_routes.hpp"

#include <cstddef>
#include <memory>
#include <vector>

namespace portico {

class OpsServer {
public:
    OpsServer(net::io_context& io, HttpRouteTable routes, Logger& log);
    ~OpsServer();

    // Binds, listens and starts accepting; returns the address actually bound.
    Expected<tcp::endpoint> start(const tcp::endpoint& endpoint);
    // On the thread that runs `io`: stops accepting and closes the
    // connections still open, so nothing of it keeps `io` running.
    void stop();

    static constexpr std::size_t max_connections = 64;

private:
    class Connection;
    void do_accept();

    net::io_context& io_;
    tcp::acceptor acceptor_;
    net::steady_timer retry_timer_;  // the pause after a failed accept
    std::shared_ptr<const HttpRouteTable> routes_;
    Logger& log_;
    std::shared_ptr<std::size_t> open_;  // connections now; shared with them, which count themselves out
    std::vector<std::weak_ptr<Connection>> connections_;  // at most max_connections live ones
};

}  // namespace portico
