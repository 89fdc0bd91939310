#pragma once
// One token bucket (plugins.NAME.rate_limit): full at `burst`, refilled at
// `per_second`; each request takes one token. With no token left, take()
// says how long until there is one.
#include "config/config.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>

namespace portico {

class TokenBucket {
public:
    using Clock = std::chrono::steady_clock;

    explicit TokenBucket(const RateLimit& limit, Clock::time_point now)
        : tokens_(static_cast<double>(limit.burst)), last_(now) {}

    // 0 when a token was taken; otherwise the milliseconds until one is there.
    std::uint64_t take(const RateLimit& limit, Clock::time_point now) {
        const double elapsed = std::chrono::duration<double>(now - last_).count();
        last_ = now;
        tokens_ = std::min(static_cast<double>(limit.burst), tokens_ + std::max(0.0, elapsed) * limit.per_second);
        if (tokens_ >= 1.0) {
            tokens_ -= 1.0;
            return 0;
        }
        return static_cast<std::uint64_t>(std::ceil((1.0 - tokens_) / limit.per_second * 1000.0));
    }

private:
    double tokens_;
    Clock::time_point last_;
};

}  // namespace portico
