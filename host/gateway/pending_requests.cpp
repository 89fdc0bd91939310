#include "gateway/pending_requests.hpp"

#include <algorithm>

namespace portico {

void PendingRequests::add(std::uint64_t id, ReplyContext context, Clock::time_point deadline) {
    pending_.emplace(id, Entry{std::move(context), deadline});
}

std::optional<ReplyContext> PendingRequests::take(std::uint64_t id) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return std::nullopt;
    ReplyContext context = std::move(it->second.context);
    pending_.erase(it);
    return context;
}

PendingRequests::Expired PendingRequests::take_expired(Clock::time_point now) {
    Expired expired{{}, Clock::time_point::max()};
    for (auto it = pending_.begin(); it != pending_.end();) {
        if (it->second.deadline <= now) {
            expired.requests.push_back(std::move(it->second.context));
            it = pending_.erase(it);
        } else {
            expired.next = std::min(expired.next, it->second.deadline);
            ++it;
        }
    }
    return expired;
}

PendingRequests::Clock::time_point PendingRequests::latest_deadline() const noexcept {
    auto latest = Clock::time_point::min();
    for (const auto& [id, entry] : pending_) latest = std::max(latest, entry.deadline);
    return latest;
}

std::vector<ReplyContext> PendingRequests::take_all() {
    std::vector<ReplyContext> all;
    all.reserve(pending_.size());
    for (auto& [id, entry] : pending_) all.push_back(std::move(entry.context));
    pending_.clear();
    return all;
}

}  // namespace portico
