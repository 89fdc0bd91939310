#pragma once
// One connection's requests that wait for an engine: the id each was sent
// with, what its reply needs (ReplyContext) and its deadline. No socket and
// no timer: the session arms its one timer for the earliest deadline, and
// whatever is taken out here has been answered, so every request gets exactly
// one reply (a late engine reply finds nothing to take).
#include "gateway/client_message.hpp"
#include "gateway/gateway_metrics.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace portico {

// A request that waits: what its reply needs, and its measurement.
struct PendingRequest {
    ReplyContext context;
    RequestMeter meter;
    std::uint64_t id = 0;  // the session's id for it (what its engine link knows)
};

class PendingRequests {
public:
    using Clock = std::chrono::steady_clock;

    // The id for the next request of this connection (never reused).
    std::uint64_t next_id() noexcept { return next_id_++; }
    void add(std::uint64_t id, ReplyContext context, Clock::time_point deadline, RequestMeter meter = {});
    // The request `id` is answered now: what its reply needs, or nothing when
    // it is not pending (timed out, already answered, never sent).
    std::optional<PendingRequest> take(std::uint64_t id);
    // Still waiting, not taken (an event for it is on its way); null when not.
    const PendingRequest* find(std::uint64_t id) const;
    // Those the client sent with this envelope "id" (JSON text), taken out;
    // with `id_json` empty, every one.
    std::vector<PendingRequest> take_with_client_id(std::string_view id_json);

    struct Expired {
        std::vector<PendingRequest> requests;  // their deadline has passed: taken out
        Clock::time_point next;              // the earliest deadline left (max(): none)
    };
    Expired take_expired(Clock::time_point now);
    // The last deadline of those pending (min() when none is).
    Clock::time_point latest_deadline() const noexcept;
    // Everything, taken out (the drain deadline passed, or nobody is left to answer).
    std::vector<PendingRequest> take_all();

    std::size_t size() const noexcept { return pending_.size(); }
    bool empty() const noexcept { return pending_.empty(); }

private:
    struct Entry {
        PendingRequest request;
        Clock::time_point deadline;
    };
    std::uint64_t next_id_ = 1;
    std::unordered_map<std::uint64_t, Entry> pending_;
};

}  // namespace portico
