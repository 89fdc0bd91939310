#pragma once
// A steady timer that exists only once it is first armed. A connection needs
// its request-deadline and closing timers only when it has requests or is
// closing; an idle one then holds a pointer instead of two 120-byte timers.
#include "core/net.hpp"

#include <chrono>
#include <memory>

namespace portico {

class LazyTimer {
public:
    // The timer, made on `executor` if it does not exist yet.
    template <class Executor>
    net::steady_timer& get(const Executor& executor) {
        if (!timer_) timer_ = std::make_unique<net::steady_timer>(executor);
        return *timer_;
    }
    void cancel() noexcept {
        if (timer_) timer_->cancel();
    }
    // When it fires; the far future if it was never armed.
    std::chrono::steady_clock::time_point expiry() const {
        return timer_ ? timer_->expiry() : std::chrono::steady_clock::time_point::max();
    }

private:
    std::unique_ptr<net::steady_timer> timer_;
};

}  // namespace portico
