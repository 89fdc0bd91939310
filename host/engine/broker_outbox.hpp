#pragma once
// Results on their way from worker threads to the endpoint's broker thread,
// which alone may send on the zmq ROUTER socket. An eventfd wakes the
// broker's zmq::poll; it is signalled only when the outbox turns non-empty,
// so a burst of results costs one wake-up.
#include "engine/engine_job.hpp"

#include <mutex>
#include <vector>

namespace portico {

class BrokerOutbox final : public ReplySink {
public:
    BrokerOutbox();
    ~BrokerOutbox() override;
    BrokerOutbox(const BrokerOutbox&) = delete;
    BrokerOutbox& operator=(const BrokerOutbox&) = delete;

    void deliver(EngineResult result) override;
    // For zmq::poll: readable while results wait.
    int fd() const noexcept { return fd_; }
    // Everything waiting; clears the signal.
    std::vector<EngineResult> take();
    bool empty() const;

private:
    int fd_ = -1;
    mutable std::mutex mutex_;
    std::vector<EngineResult> results_;
};

}  // namespace portico
