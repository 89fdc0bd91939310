#include "engine_client.hpp"

#include <array>

namespace portico {

EngineClient::EngineClient(net::io_context& io, zmq::context_t& context, std::string plugin,
                           const std::vector<std::string>& endpoints, std::chrono::milliseconds timeout,
                           Router& router, Logger& log)
    : io_(io),
      plugin_(std::move(plugin)),
      timeout_(timeout),
      router_(router),
      log_(log),
      socket_(context, zmq::socket_type::dealer),
      descriptor_(io) {
    socket_.set(zmq::sockopt::linger, 0);
    // Without a live connection, send fails at once instead of queueing.
    socket_.set(zmq::sockopt::immediate, 1);
    socket_.set(zmq::sockopt::sndhwm, 100000);
    socket_.set(zmq::sockopt::rcvhwm, 100000);
    for (const auto& endpoint : endpoints) socket_.connect(endpoint);
    descriptor_.assign(socket_.get(zmq::sockopt::fd));
    do_wait();
}

EngineClient::~EngineClient() {
    boost::system::error_code ignored;
    descriptor_.cancel(ignored);
    descriptor_.release();  // zmq owns the descriptor
    socket_.close();
}

bool EngineClient::send(std::uint64_t request_id, std::string_view client_id, std::string_view payload) {
    const bool sent = wire::send_request(socket_, request_id, client_id, payload);
    // Sending may consume the descriptor's edge for replies already waiting.
    schedule_drain();
    return sent;
}

void EngineClient::do_wait() {
    descriptor_.async_wait(net::posix::stream_descriptor::wait_read,
                           [this](const boost::system::error_code& ec) { on_readable(ec); });
}

void EngineClient::on_readable(const boost::system::error_code& ec) {
    if (ec) {
        if (ec != net::error::operation_aborted) log_.error("engine link " + plugin_ + ": " + ec.message());
        return;
    }
    drain();
    do_wait();
}

void EngineClient::schedule_drain() {
    if (drain_scheduled_) return;
    drain_scheduled_ = true;
    net::post(io_, [this] {
        drain_scheduled_ = false;
        drain();
    });
}

void EngineClient::drain() {
    std::array<zmq::message_t, wire::max_frames> frames;
    while (socket_.get(zmq::sockopt::events) & ZMQ_POLLIN) {
        std::size_t count = 0;
        bool overflow = false;
        bool more = true;
        while (more) {
            zmq::message_t part;
            if (!socket_.recv(part, zmq::recv_flags::dontwait)) break;  // cannot happen mid-message
            more = part.more();
            if (count < frames.size()) frames[count++] = std::move(part);
            else overflow = true;
        }
        // Frames: "" PTC1 request-id client-id kind ...
        if (overflow || count < 2 || frames[0].size() != 0) {
            log_.warn("engine link " + plugin_ + ": dropped a malformed reply");
            continue;
        }
        auto reply = wire::parse_reply(frames.data() + 1, count - 1);
        if (!reply) {
            log_.warn("engine link " + plugin_ + ": dropped a malformed reply");
            continue;
        }
        if (!router_.deliver(*reply) && log_.enabled(LogLevel::debug))
            log_.debug("engine link " + plugin_ + ": reply for a client that has gone, dropped");
    }
}

}  // namespace portico
