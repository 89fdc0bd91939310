#pragma once
// The rate-limit buckets of one plugin on one gateway loop with auth on: one
// per user (the token's "sub"), shared by all of that user's connections on
// the loop, so that opening more connections buys no more requests. Bounded:
// past max_users the user heard from least recently loses its bucket (and
// gets a full one when it comes back). Only its loop's thread uses it.
#include "gateway/token_bucket.hpp"

#include <cstddef>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace portico {

class UserRateBuckets {
public:
    using Clock = TokenBucket::Clock;

    explicit UserRateBuckets(std::size_t max_users = 65'536) : max_users_(max_users) {}

    // 0 when `subject` may send now; otherwise the milliseconds until it may.
    std::uint64_t take(std::string_view subject, const RateLimit& limit, Clock::time_point now) {
        auto it = index_.find(std::string(subject));
        if (it != index_.end()) {
            recency_.splice(recency_.begin(), recency_, it->second);  // most recent first
            return it->second->second.take(limit, now);
        }
        if (index_.size() >= max_users_) {
            index_.erase(recency_.back().first);
            recency_.pop_back();
        }
        recency_.emplace_front(std::string(subject), TokenBucket(limit, now));
        index_.emplace(recency_.front().first, recency_.begin());
        return recency_.front().second.take(limit, now);
    }

    std::size_t size() const noexcept { return index_.size(); }

private:
    using Entry = std::pair<std::string, TokenBucket>;
    std::size_t max_users_;
    std::list<Entry> recency_;
    std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace portico
