#pragma once
// Accepts TCP connections and deals them out to the gateway's event loops in
// turn. One failed accept never ends the loop; closing the acceptor does.
#include "core/error.hpp"
#include "core/logger.hpp"
#include "core/net.hpp"

#include <functional>
#include <string_view>
#include <vector>

namespace portico {

// Opens, binds and listens `acceptor` on `endpoint`; on failure it is closed
// again and the error names `key` (the config key of the address).
Expected<tcp::endpoint> listen_on(tcp::acceptor& acceptor, const tcp::endpoint& endpoint, std::string_view key);

// After a failed accept (out of descriptors, a connection reset before it):
// logs `ec` under `key` and calls `accept` again after a pause on `timer`,
// while `acceptor` is open, so that a persistent error cannot spin the loop.
void accept_again_later(net::steady_timer& timer, const tcp::acceptor& acceptor, Logger& log, std::string_view key,
                        const beast::error_code& ec, std::function<void()> accept);

class Listener {
public:
    // Called on the target loop's thread with a socket bound to that loop.
    using Handoff = std::function<void(std::size_t loop, tcp::socket socket)>;

    Listener(net::io_context& io, std::vector<net::io_context*> loops, Handoff handoff, Logger& log);

    // Binds and listens; a failure (address in use, bad address) is returned.
    Expected<tcp::endpoint> listen(const tcp::endpoint& endpoint);
    void start();
    void stop();  // on the thread that runs `io`

private:
    void do_accept();
    void hand_off(tcp::socket socket);

    tcp::acceptor acceptor_;
    tcp protocol_ = tcp::v4();
    net::steady_timer retry_timer_;  // after a failed accept (e.g. out of descriptors)
    std::vector<net::io_context*> loops_;
    Handoff handoff_;
    Logger& log_;
    std::size_t next_loop_ = 0;
};

}  // namespace portico
