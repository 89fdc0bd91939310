#pragma once
// A gateway loop's inbox for results from the engines in this process. Worker
// threads deliver into it; the loop's own thread hands each result to the
// router, which finds the client by id. Only a result that finds the inbox
// empty posts to the loop, so a burst of replies costs one wake-up and the
// loop answers them all in one pass (and each connection in one send).
//
// The loop detaches its inbox before it goes: later results are dropped,
// never posted to an io_context that no longer runs.
#include "engine/engine_job.hpp"
#include "core/net.hpp"
#include "link/engine_link.hpp"

#include <memory>
#include <mutex>
#include <vector>

namespace portico {

class ReplyInbox final : public ReplySink, public std::enable_shared_from_this<ReplyInbox> {
public:
    // Channel messages beyond this many waiting results, or this many bytes
    // of waiting messages, are dropped.
    static constexpr std::size_t max_waiting = 65536;
    static constexpr std::size_t max_push_bytes = 16 * 1024 * 1024;

    ReplyInbox(net::io_context& io, ReplyHandler& replies);

    void deliver(EngineResult result) override;
    void detach();

private:
    void drain();

    net::io_context& io_;
    ReplyHandler& replies_;
    std::mutex mutex_;
    std::vector<EngineResult> results_;
    std::vector<EngineResult> draining_;  // the loop thread's; kept for its capacity
    std::size_t push_bytes_ = 0;  // of the channel messages in results_
    bool detached_ = false;
};

}  // namespace portico
