#pragma once

#include "latency_histogram.hpp"

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace portico::bench {

// Adds to a counter that only one thread writes: a plain load and store, no
// locked instruction; other threads may read it at any time.
template <class T>
inline void bump(std::atomic<T>& counter, T delta = 1)
{
    counter.store(counter.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
}

// Counters of one worker thread. The atomics are read live by the progress
// line; the rest is read only after the worker's thread has ended.
struct WorkerStats {
    std::atomic<std::uint64_t> good_replies{0};
    std::atomic<std::uint64_t> errors{0};
    std::atomic<std::int64_t> outstanding{0};
    std::atomic<int> loaded_up{0};  // connections that completed the handshake
    std::atomic<int> idle_up{0};
    std::atomic<int> connect_done{0};  // handshakes finished, either way

    std::uint64_t window_good = 0;  // good replies received inside the window
    std::uint64_t sent = 0;
    std::uint64_t failed_replies = 0;     // the gateway said no
    std::uint64_t malformed_replies = 0;  // not understood
    std::uint64_t unknown_ids = 0;        // id not outstanding on that connection
    std::uint64_t connect_failures = 0;
    std::uint64_t dropped_connections = 0;  // lost during the run
    std::uint64_t lost = 0;
    LatencyHistogram histogram;
    std::vector<std::string> error_samples;  // the first few, for the user

    void note_error(std::string what)
    {
        bump(errors, std::uint64_t{1});
        if (error_samples.size() < 5)
            error_samples.push_back(std::move(what));
    }
};

}  // namespace portico::bench
