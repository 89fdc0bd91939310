#pragma once
// Which requests have been cancelled, for the workers of one plugin: a
// gateway (in this process, or over zmq through the broker) marks a request
// cancelled when its client cancels it, its deadline passes or its client
// goes; a worker skips a cancelled job it has not begun, and the engine sees
// the mark through RequestStream::cancelled() while it works.
//
// Cheap when nothing is cancelled (one atomic load per question). Bounded:
// a mark that no job ever picked up (its reply was already on its way) is
// forgotten after max_age, and there are never more than max_marks.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace portico {

class CancelBoard {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::size_t max_marks = 65536;
    static constexpr std::chrono::minutes max_age{10};

    void cancel(std::string_view client_id, std::uint64_t request_id, Clock::time_point now = Clock::now());
    bool cancelled(std::string_view client_id, std::uint64_t request_id) const;
    // The job is done: its mark, if any, goes.
    void forget(std::string_view client_id, std::uint64_t request_id);
    std::size_t size() const noexcept { return count_.load(std::memory_order_relaxed); }

private:
    using Key = std::pair<std::string, std::uint64_t>;
    void erase_oldest_locked();

    std::atomic<std::size_t> count_{0};
    mutable std::mutex mutex_;
    std::map<Key, Clock::time_point, std::less<>> marks_;
    std::deque<std::pair<Clock::time_point, Key>> order_;  // oldest first; may name marks already gone
};

}  // namespace portico
