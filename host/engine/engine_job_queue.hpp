#pragma once
// The requests waiting for one plugin's worker threads. Producers are the
// endpoint's zmq broker (remote gateways, REQ clients) and the gateway loops
// of this process, which queue directly: no zmq frames and no broker hop on
// the local path. Idle workers take the oldest job, one at a time, so a slow
// request never holds up others while a worker is free.
//
// Bounded: beyond max_queued jobs push() says `full` (the client is answered
// "overloaded"). A push never blocks on a busy worker; a worker is woken only
// when one is waiting, so a burst costs one wake-up, not one per request.
//
// Generations let a reload swap the engine without dropping anything: workers
// of a retired generation finish the job they hold and leave; the queue, and
// what waits in it, passes to the new workers.
#include "engine/cancel_board.hpp"
#include "engine/engine_job.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portico {

class EngineJobQueue {
public:
    enum class Push : std::uint8_t { queued, full, closed };

    EngineJobQueue(std::size_t max_queued, std::string info_json);

    // Takes as many of `jobs`, in order, as there is room for, under one lock
    // and with one wake-up; returns how many, and why the rest were refused.
    // Refused jobs are left as they were, for their producer to answer.
    struct Taken {
        std::size_t count;
        Push rest;
    };
    Taken push_all(std::vector<EngineJob>& jobs);
    // A notice for the engine (JobKind::client_gone), queued even beyond
    // max_queued: one comes per ended connection, not per request.
    void push_notice(EngineJob job);
    // Requests cancelled by their gateways, for the workers to see.
    CancelBoard& cancels() noexcept { return cancels_; }
    // The answer to a job refused for `why` (full: "overloaded", closed: "unavailable").
    Reply refusal(Push why, std::string_view plugin) const;
    // Blocks until there is a job for a worker of `generation`; nullopt when
    // that worker should leave (its generation was retired, or the queue is
    // closed and empty). Every job taken must be followed by done().
    std::optional<EngineJob> pop(unsigned generation);
    void done();

    // Retires workers of generations before `generation` and applies the new
    // engine's limit and description.
    void renew(unsigned generation, std::size_t max_queued, std::string info_json);
    // No more jobs are taken; workers leave once what is queued is done.
    void close();
    bool accepting() const;
    // Closed, empty, and no job still in a worker's hands.
    bool drained() const;
    std::size_t size() const;
    // What the engine is (name, version, description, usage) as a JSON object.
    std::string info_json() const;

private:
    static constexpr std::chrono::microseconds spin_before_sleep{50};

    std::atomic<std::size_t> queued_{0};  // jobs_.size(), readable without the lock
    mutable std::mutex mutex_;
    std::condition_variable work_;
    std::deque<EngineJob> jobs_;
    std::size_t max_queued_;
    std::string info_json_;
    unsigned generation_ = 0;
    std::size_t in_hand_ = 0;
    std::size_t waiting_ = 0;
    bool closed_ = false;
    CancelBoard cancels_;
};

}  // namespace portico
