#pragma once
// Pings silent clients and drops the ones that stay silent, for every
// connection of one gateway loop from one timer. A timer armed per
// connection would cost each idle connection about 450 bytes (the timer's
// pending wait and its place in the timer queue); the sweep costs each one a
// time point, and a look at every connection per period.
#include "core/net.hpp"
#include "gateway/router.hpp"

#include <chrono>
#include <memory>
#include <vector>

namespace portico {

class LivenessSweep {
public:
    LivenessSweep(net::io_context& io, Router& router) : router_(router), timer_(io) {}

    // How often to look, for these settings: a quarter of the shorter of the
    // two, so a ping or a drop comes at most that late, within 25 ms and 1 s.
    // Zero when pings are off (ping_interval 0).
    static std::chrono::milliseconds period_for(std::chrono::milliseconds ping_interval,
                                                std::chrono::milliseconds pong_timeout);

    // Looks at the connections every `period` from now on (0: never).
    void start(std::chrono::milliseconds period);
    void stop();
    // One look, now: what a tick does.
    void sweep(std::chrono::steady_clock::time_point now);

private:
    void arm();

    Router& router_;
    net::steady_timer timer_;
    std::chrono::milliseconds period_{0};
    std::vector<std::shared_ptr<ClientConnection>> live_;  // kept for its capacity
};

}  // namespace portico
