#pragma once
// The gateway's link to ONE engine endpoint: a DEALER socket owned by one
// gateway loop, joined to Asio through ZMQ_FD. ZMQ_FD is edge-triggered, so it
// drains while ZMQ_EVENTS says a message is waiting, re-checks after every
// send, and releases (never closes) the descriptor, which belongs to zmq.
// It knows nothing of requests: what arrives goes to its owner (EngineClient),
// which also keeps its liveness state.
#include "core/lifetime.hpp"
#include "core/logger.hpp"
#include "core/net.hpp"
#include "wire/curve.hpp"
#include "wire/wire.hpp"

#include <zmq.hpp>

#include <chrono>
#include <string>

namespace portico {

class EngineConnection {
public:
    using Clock = std::chrono::steady_clock;
    enum class State { unknown, alive, leaving, dead };

    class Owner {
    public:
        virtual ~Owner() = default;
        virtual void on_reply(EngineConnection& from, EngineReply reply) = 0;
        virtual void on_control(EngineConnection& from, wire::Control control, std::string_view info) = 0;
    };

    // `curve` and `server_key` set: the connection speaks Curve, as this
    // process's key pair, to the engine whose public key that is.
    EngineConnection(net::io_context& io, zmq::context_t& context, std::string address, std::size_t index,
                     Owner& owner, Logger& log, const CurveKeyPair* curve = nullptr, const std::string& server_key = {});
    ~EngineConnection();
    EngineConnection(const EngineConnection&) = delete;
    EngineConnection& operator=(const EngineConnection&) = delete;

    // Without blocking; false when zmq would block (not connected, or full).
    bool send_request(std::uint64_t wire_id, std::string_view client_id, std::string_view payload,
                      const Caller* caller);
    bool send_ping();
    bool send_cancel(std::uint64_t wire_id, std::string_view client_id);
    bool send_gone(std::string_view client_id);
    // This gateway has no subscriber left on `channel` (the last grant it
    // had for it was number `grant`).
    bool send_unsub(std::string_view channel, std::uint64_t grant);
    // Hands the owner whatever has arrived, now: liveness is judged on what
    // the engine sent, not on how late this loop got round to reading it.
    void read_waiting() { drain(); }

    const std::string& address() const noexcept { return address_; }
    std::size_t index() const noexcept { return index_; }

    // Liveness, kept by the owner.
    State state = State::unknown;
    Clock::time_point last_heard = Clock::now();
    std::size_t outstanding = 0;
    std::string instance;  // of the engine last heard on this address
    bool curve_hint_logged = false;

private:
    void do_wait();
    void drain();
    void schedule_drain();

    net::io_context& io_;
    std::string address_;
    std::size_t index_;
    Owner& owner_;
    Logger& log_;
    zmq::socket_t socket_;
    net::posix::stream_descriptor descriptor_;
    bool drain_scheduled_ = false;
    Lifetime lifetime_;  // for the handlers queued when this is destroyed
};

}  // namespace portico
