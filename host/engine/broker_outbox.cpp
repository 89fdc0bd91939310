#include "engine/broker_outbox.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>

namespace portico {

BrokerOutbox::BrokerOutbox() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
}

BrokerOutbox::~BrokerOutbox() { ::close(fd_); }

void BrokerOutbox::deliver(EngineResult result) {
    bool signal = false;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        signal = results_.empty();
        results_.push_back(std::move(result));
    }
    if (signal) {
        const std::uint64_t one = 1;
        // Cannot fail short of a counter overflow, which take() prevents by reading it.
        [[maybe_unused]] const auto n = ::write(fd_, &one, sizeof one);
    }
}

std::vector<EngineResult> BrokerOutbox::take() {
    std::uint64_t count = 0;
    [[maybe_unused]] const auto n = ::read(fd_, &count, sizeof count);  // EAGAIN when not signalled: fine
    std::vector<EngineResult> taken;
    std::lock_guard<std::mutex> lock(mutex_);
    taken.swap(results_);
    return taken;
}

bool BrokerOutbox::empty() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return results_.empty();
}

}  // namespace portico
