#include "gateway/pending_requests.hpp"

#include <algorithm>

namespace portico {

void PendingRequests::add(std::uint64_t id, ReplyContext context, Clock::time_point deadline, RequestMeter meter) {
    pending_.emplace(id, Entry{PendingRequest{std::move(context), meter, id}, deadline});
}

const PendingRequest* PendingRequests::find(std::uint64_t id) const {
    auto it = pending_.find(id);
    return it == pending_.end() ? nullptr : &it->second.request;
}

std::vector<PendingRequest> PendingRequests::take_with_client_id(std::string_view id_json) {
    std::vector<PendingRequest> taken;
    for (auto it = pending_.begin(); it != pending_.end();) {
        if (id_json.empty() || it->second.request.context.id_json == id_json) {
            taken.push_back(std::move(it->second.request));
            it = pending_.erase(it);
        } else {
            ++it;
        }
    }
    return taken;
}

std::optional<PendingRequest> PendingRequests::take(std::uint64_t id) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return std::nullopt;
    PendingRequest request = std::move(it->second.request);
    pending_.erase(it);
    return request;
}

PendingRequests::Expired PendingRequests::take_expired(Clock::time_point now) {
    Expired expired{{}, Clock::time_point::max()};
    for (auto it = pending_.begin(); it != pending_.end();) {
        if (it->second.deadline <= now) {
            expired.requests.push_back(std::move(it->second.request));
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

std::vector<PendingRequest> PendingRequests::take_all() {
    std::vector<PendingRequest> all;
    all.reserve(pending_.size());
    for (auto& [id, entry] : pending_) all.push_back(std::move(entry.request));
    pending_.clear();
    return all;
}

}  // namespace portico
