#pragma once
// One connection's requests that wait for an engine: the id each was sent
// with, what its reply needs (ReplyContext) and its deadline. No socket and
// no timer: the session arms its one timer for the earliest deadline, and
// whatever is taken out here has been answered, so every request gets exactly
// one reply (a late engine reply finds nothing to take).
#include "gateway/client_message.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

namespace portico {

class PendingRequests {
public:
    using Clock = std::chrono::steady_clock;

    // The id for the next request of this connection (never reused).
    std::uint64_t next_id() noexcept { return next_id_++; }
    void add(std::uint64_t id, ReplyContext context, Clock::time_point deadline);
    // The request `id` is answered now: what its reply needs, or nothing when
    // it is not pending (timed out, already answered, never sent).
    std::optional<ReplyContext> take(std::uint64_t id);

    struct Expired {
        std::vector<ReplyContext> requests;  // their deadline has passed: taken out
        Clock::time_point next;              // the earliest deadline left (max(): none)
    };
    Expired take_expired(Clock::time_point now);
    // The last deadline of those pending (min() when none is).
    Clock::time_point latest_deadline() const noexcept;
    // Everything, taken out (the drain deadline passed).
    std::vector<ReplyContext> take_all();
    // Forgets everything: nobody is left to answer.
    void clear() noexcept { pending_.clear(); }

    std::size_t size() const noexcept { return pending_.size(); }
    bool empty() const noexcept { return pending_.empty(); }

private:
    struct Entry {
        ReplyContext context;
        Clock::time_point deadline;
    };
    std::uint64_t next_id_ = 1;
    std::unordered_map<std::uint64_t, Entry> pending_;
};

}  // namespace portico
