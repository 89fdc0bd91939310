#include "engine/cancel_board.hpp"

namespace portico {

void CancelBoard::erase_oldest_locked() {
    const auto& [when, key] = order_.front();
    const auto it = marks_.find(key);
    if (it != marks_.end() && it->second == when) marks_.erase(it);
    order_.pop_front();
}

void CancelBoard::cancel(std::string_view client_id, std::uint64_t request_id, Clock::time_point now) {
    std::lock_guard<std::mutex> lock(mutex_);
    while (!order_.empty() && (now - order_.front().first > max_age || marks_.size() >= max_marks))
        erase_oldest_locked();
    Key key{std::string(client_id), request_id};
    marks_[key] = now;
    order_.emplace_back(now, std::move(key));
    // Entries of marks forgotten early wait here until their turn: bounded too.
    while (order_.size() > 2 * max_marks) erase_oldest_locked();
    count_.store(marks_.size(), std::memory_order_relaxed);
}

bool CancelBoard::cancelled(std::string_view client_id, std::uint64_t request_id) const {
    if (count_.load(std::memory_order_relaxed) == 0) return false;
    std::lock_guard<std::mutex> lock(mutex_);
    return marks_.find(Key{std::string(client_id), request_id}) != marks_.end();
}

void CancelBoard::forget(std::string_view client_id, std::uint64_t request_id) {
    if (count_.load(std::memory_order_relaxed) == 0) return;
    std::lock_guard<std::mutex> lock(mutex_);
    marks_.erase(Key{std::string(client_id), request_id});
    count_.store(marks_.size(), std::memory_order_relaxed);
}

}  // namespace portico
