#pragma once
// The gateway's side of one plugin's zmq link: a DEALER socket, owned by one
// gateway event loop, that sends requests to the plugin's endpoint and hands
// every reply to the router. It joins the Asio loop through ZMQ_FD, which is
// edge-triggered: after each wake-up and after each send it drains while
// ZMQ_EVENTS says a message is waiting, and it releases (never closes) the
// descriptor, which belongs to zmq.
#include "logger.hpp"
#include "net.hpp"
#include "router.hpp"

#include <zmq.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace portico {

class EngineClient final : public EngineLink {
public:
    EngineClient(net::io_context& io, zmq::context_t& context, std::string plugin,
                 const std::vector<std::string>& endpoints, std::chrono::milliseconds timeout,
                 Router& router, Logger& log);
    ~EngineClient() override;
    EngineClient(const EngineClient&) = delete;
    EngineClient& operator=(const EngineClient&) = delete;

    bool send(std::uint64_t request_id, std::string_view client_id, std::string_view payload) override;
    std::chrono::milliseconds timeout() const override { return timeout_; }

private:
    void do_wait();
    void on_readable(const boost::system::error_code& ec);
    void drain();
    void schedule_drain();

    net::io_context& io_;
    std::string plugin_;
    std::chrono::milliseconds timeout_;
    Router& router_;
    Logger& log_;
    zmq::socket_t socket_;
    net::posix::stream_descriptor descriptor_;
    bool drain_scheduled_ = false;
};

}  // namespace portico
