#include "gateway/listener.hpp"

#include <unistd.h>

namespace portico {

Listener::Listener(net::io_context& io, std::vector<net::io_context*> loops, Handoff handoff, Logger& log)
    : acceptor_(io), retry_timer_(io), loops_(std::move(loops)), handoff_(std::move(handoff)), log_(log) {}

Expected<tcp::endpoint> listen_on(tcp::acceptor& acceptor, const tcp::endpoint& endpoint, std::string_view key) {
    beast::error_code ec;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (!ec) {
        const auto bound = acceptor.local_endpoint(ec);
        if (!ec) return bound;
    }
    beast::error_code ignored;
    acceptor.close(ignored);
    return Error{"bind_failed", std::string(key) + ": cannot listen on " + endpoint.address().to_string() + ":" +
                                    std::to_string(endpoint.port()) + ": " + ec.message()};
}

void accept_again_later(net::steady_timer& timer, const tcp::acceptor& acceptor, Logger& log, std::string_view key,
                        const beast::error_code& ec, std::function<void()> accept) {
    log.warn("{}: accept failed: {}", key, ec.message());
    timer.expires_after(std::chrono::milliseconds(50));
    timer.async_wait([&acceptor, accept = std::move(accept)](const beast::error_code& wait_ec) {
        if (!wait_ec && acceptor.is_open()) accept();
    });
}

Expected<tcp::endpoint> Listener::listen(const tcp::endpoint& endpoint) {
    auto bound = listen_on(acceptor_, endpoint, "gateway.listen");
    if (bound) protocol_ = endpoint.protocol();
    return bound;
}

void Listener::start() { do_accept(); }

void Listener::stop() {
    beast::error_code ignored;
    acceptor_.close(ignored);
    retry_timer_.cancel();
}

void Listener::do_accept() {
    // Accepted on the listener's own io_context, then moved to a loop: an
    // accept still queued here at shutdown then refers to nothing of a loop.
    acceptor_.async_accept([this](const beast::error_code& ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
        if (ec) {
            accept_again_later(retry_timer_, acceptor_, log_, "gateway.listen", ec, [this] { do_accept(); });
            return;
        }
        hand_off(std::move(socket));
        do_accept();
    });
}

void Listener::hand_off(tcp::socket socket) {
    const std::size_t loop = next_loop_;
    next_loop_ = (next_loop_ + 1) % loops_.size();
    beast::error_code ec;
    socket.set_option(tcp::no_delay(true), ec);
    const auto descriptor = socket.release(ec);
    if (ec) return;  // the socket closes with its object
    tcp::socket moved(*loops_[loop]);
    moved.assign(protocol_, descriptor, ec);
    if (ec) {
        ::close(descriptor);
        return;
    }
    net::post(*loops_[loop], [this, loop, s = std::move(moved)]() mutable { handoff_(loop, std::move(s)); });
}

}  // namespace portico
