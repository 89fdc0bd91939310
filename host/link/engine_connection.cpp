#include "link/engine_connection.hpp"

#include "core/client_id.hpp"

#include <array>

namespace portico {

EngineConnection::EngineConnection(net::io_context& io, zmq::context_t& context, std::string address,
                                   std::size_t index, Owner& owner, Logger& log, const CurveKeyPair* curve,
                                   const std::string& server_key)
    : io_(io),
      address_(std::move(address)),
      index_(index),
      owner_(owner),
      log_(log),
      socket_(context, zmq::socket_type::dealer),
      descriptor_(io) {
    socket_.set(zmq::sockopt::linger, 0);
    // Without a live connection, send fails at once instead of queueing.
    socket_.set(zmq::sockopt::immediate, 1);
    socket_.set(zmq::sockopt::sndhwm, 100000);
    socket_.set(zmq::sockopt::rcvhwm, 100000);
    socket_.set(zmq::sockopt::reconnect_ivl, 100);
    socket_.set(zmq::sockopt::reconnect_ivl_max, 2000);
    // zmq's own heartbeats drop a TCP connection to a stopped peer, so that
    // the reconnect only succeeds once the peer answers again.
    socket_.set(zmq::sockopt::heartbeat_ivl, 1000);
    socket_.set(zmq::sockopt::heartbeat_timeout, 3000);
    // A routing id of its own, kept across reconnects (the endpoint hands the
    // name over to the new connection): the broker's record of which
    // gateways get a channel stays true when TCP drops and comes back.
    socket_.set(zmq::sockopt::routing_id, make_client_id());
    if (curve != nullptr) make_curve_client(socket_, *curve, server_key);
    socket_.connect(address_);
    descriptor_.assign(socket_.get(zmq::sockopt::fd));
    do_wait();
}

EngineConnection::~EngineConnection() {
    boost::system::error_code ignored;
    descriptor_.cancel(ignored);
    descriptor_.release();  // zmq owns the descriptor
    socket_.close();
}

bool EngineConnection::send_request(std::uint64_t wire_id, std::string_view client_id, std::string_view payload,
                                    const Caller* caller) {
    const bool sent = wire::send_request(socket_, wire_id, client_id, payload, caller);
    schedule_drain();  // sending may consume the descriptor's edge for waiting replies
    return sent;
}

bool EngineConnection::send_cancel(std::uint64_t wire_id, std::string_view client_id) {
    const bool sent = wire::send_cancel(socket_, wire_id, client_id);
    schedule_drain();
    return sent;
}

bool EngineConnection::send_gone(std::string_view client_id) {
    const bool sent = wire::send_gone(socket_, client_id);
    schedule_drain();
    return sent;
}

bool EngineConnection::send_unsub(std::string_view channel, std::uint64_t grant) {
    const bool sent = wire::send_unsub(socket_, channel, grant);
    schedule_drain();
    return sent;
}

bool EngineConnection::send_ping() {
    const bool sent = wire::send_control(socket_, wire::Control::ping);
    schedule_drain();
    return sent;
}

void EngineConnection::do_wait() {
    descriptor_.async_wait(net::posix::stream_descriptor::wait_read, [this, alive = lifetime_.watch()](
                                                                             const boost::system::error_code& ec) {
        if (alive.expired()) return;
        if (ec) {
            if (ec != net::error::operation_aborted) log_.error("engine link {}: {}", address_, ec.message());
            return;
        }
        drain();
        do_wait();
    });
}

void EngineConnection::schedule_drain() {
    if (drain_scheduled_) return;
    drain_scheduled_ = true;
    net::post(io_, [this, alive = lifetime_.watch()] {
        if (alive.expired()) return;
        drain_scheduled_ = false;
        drain();
    });
}

void EngineConnection::drain() {
    std::array<zmq::message_t, wire::max_frames> frames;
    while (socket_.get(zmq::sockopt::events) & ZMQ_POLLIN) {
        const std::size_t count = wire::receive_message(socket_, frames.data(), frames.size());
        // "" PTC1 ...
        if (count < 3 || frames[0].size() != 0) {
            log_.warn("engine link {}: dropped a malformed message", address_);
            continue;
        }
        std::string_view info;
        if (const auto control = wire::parse_control(frames.data() + 1, count - 1, &info);
            control != wire::Control::none) {
            owner_.on_control(*this, control, info);
            continue;
        }
        if (auto push = wire::parse_push(frames.data() + 1, count - 1)) {
            owner_.on_reply(*this, std::move(*push));
            continue;
        }
        if (auto reply = wire::parse_reply(frames.data() + 1, count - 1)) {
            owner_.on_reply(*this, std::move(*reply));
            continue;
        }
        log_.warn("engine link {}: dropped a malformed message", address_);
    }
}

}  // namespace portico
