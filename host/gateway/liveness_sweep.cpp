#include "gateway/liveness_sweep.hpp"

#include <algorithm>

namespace portico {

std::chrono::milliseconds LivenessSweep::period_for(std::chrono::milliseconds ping_interval,
                                                    std::chrono::milliseconds pong_timeout) {
    using std::chrono::milliseconds;
    if (ping_interval.count() <= 0) return milliseconds(0);
    return std::clamp(std::min(ping_interval, pong_timeout) / 4, milliseconds(25), milliseconds(1000));
}

void LivenessSweep::start(std::chrono::milliseconds period) {
    period_ = period;
    if (period_.count() > 0) arm();
}

void LivenessSweep::stop() {
    period_ = std::chrono::milliseconds(0);
    timer_.cancel();
}

void LivenessSweep::arm() {
    timer_.expires_after(period_);
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || period_.count() <= 0) return;
        sweep(std::chrono::steady_clock::now());
        arm();
    });
}

void LivenessSweep::sweep(std::chrono::steady_clock::time_point now) {
    // Held while they are looked at: a connection dropped here ends after the loop.
    router_.collect_clients(live_);
    for (const auto& connection : live_) connection->check_liveness(now);
    live_.clear();
    // Once a crowd has gone, its references' room goes too.
    if (live_.capacity() > 1024 && live_.capacity() > 4 * router_.client_count()) live_.shrink_to_fit();
}

}  // namespace portico
