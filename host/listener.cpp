#include "listener.hpp"

namespace portico {

Listener::Listener(net::io_context& io, std::vector<net::io_context*> loops, Handoff handoff, Logger& log)
    : io_(io), acceptor_(io), retry_timer_(io), loops_(std::move(loops)), handoff_(std::move(handoff)), log_(log) {}

Expected<tcp::endpoint> Listener::listen(const tcp::endpoint& endpoint) {
    beast::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
        beast::error_code ignored;
        acceptor_.close(ignored);
        return Error{"bind_failed", "gateway.listen: cannot listen on " + endpoint.address().to_string() + ":" +
                                        std::to_string(endpoint.port()) + ": " + ec.message()};
    }
    return acceptor_.local_endpoint();
}

void Listener::start() { do_accept(); }

void Listener::stop() {
    beast::error_code ignored;
    acceptor_.close(ignored);
    retry_timer_.cancel();
}

void Listener::do_accept() {
    const std::size_t loop = next_loop_;
    next_loop_ = (next_loop_ + 1) % loops_.size();
    acceptor_.async_accept(*loops_[loop], [this, loop](const beast::error_code& ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
        if (ec) {
            // Out of descriptors or a connection reset before accept: keep
            // accepting, after a pause so that a persistent error cannot spin.
            log_.warn("accept failed: " + ec.message());
            retry_timer_.expires_after(std::chrono::milliseconds(50));
            retry_timer_.async_wait([this](const beast::error_code& wait_ec) {
                if (!wait_ec && acceptor_.is_open()) do_accept();
            });
            return;
        } else {
            beast::error_code ignored;
            socket.set_option(tcp::no_delay(true), ignored);
            net::post(socket.get_executor(), [this, loop, s = std::move(socket)]() mutable {
                handoff_(loop, std::move(s));
            });
        }
        do_accept();
    });
}

}  // namespace portico
