// One connection's pending requests (gateway/pending_requests.hpp): ids,
// contexts, deadlines, and exactly one answer each. No socket, no timer.
#include "gateway/pending_requests.hpp"

#include <catch2/catch.hpp>

#include <set>

using portico::MessageForm;
using portico::PendingRequests;
using portico::ReplyContext;
using namespace std::chrono_literals;

namespace {

using Clock = PendingRequests::Clock;

ReplyContext context(const std::string& id_json, const std::string& plugin = "dice") {
    ReplyContext c;
    c.form = MessageForm::envelope;
    c.id_json = id_json;
    c.plugin = plugin;
    return c;
}

std::set<std::string> ids_of(const std::vector<portico::PendingRequest>& requests) {
    std::set<std::string> ids;
    for (const auto& r : requests) ids.insert(r.context.id_json);
    return ids;
}

}  // namespace

TEST_CASE("ids are never reused on a connection", "[pending]") {
    PendingRequests pending;
    std::set<std::uint64_t> seen;
    for (int i = 0; i < 1000; ++i) CHECK(seen.insert(pending.next_id()).second);
    CHECK(pending.empty());
}

TEST_CASE("a request is answered once: the second take finds nothing", "[pending]") {
    PendingRequests pending;
    const auto id = pending.next_id();
    pending.add(id, context("7"), Clock::now() + 10s);
    CHECK(pending.size() == 1);
    const auto taken = pending.take(id);
    REQUIRE(taken);
    CHECK(taken->context.id_json == "7");
    CHECK(taken->context.plugin == "dice");
    CHECK_FALSE(pending.take(id));
    CHECK_FALSE(pending.take(id + 1000));
    CHECK(pending.empty());
}

TEST_CASE("expired requests are taken out, the earliest deadline left is told", "[pending][deadline]") {
    PendingRequests pending;
    const auto now = Clock::now();
    pending.add(pending.next_id(), context("\"a\""), now - 1ms);
    pending.add(pending.next_id(), context("\"b\""), now);
    const auto c = pending.next_id();
    pending.add(c, context("\"c\""), now + 5s);
    pending.add(pending.next_id(), context("\"d\""), now + 2s);

    const auto expired = pending.take_expired(now);
    CHECK(ids_of(expired.requests) == std::set<std::string>{"\"a\"", "\"b\""});
    CHECK(expired.next == now + 2s);
    CHECK(pending.size() == 2);
    // A late reply for an expired request finds nothing; one in time does.
    CHECK(pending.take(c));

    const auto later = pending.take_expired(now + 1h);
    CHECK(ids_of(later.requests) == std::set<std::string>{"\"d\""});
    CHECK(later.next == Clock::time_point::max());
    CHECK(pending.empty());
}

TEST_CASE("take_all empties it", "[pending]") {
    PendingRequests pending;
    for (int i = 0; i < 5; ++i) pending.add(pending.next_id(), context(std::to_string(i)), Clock::now() + 1s);
    CHECK(pending.take_all().size() == 5);
    CHECK(pending.empty());
    CHECK(pending.take_expired(Clock::now() + 1h).requests.empty());
}

TEST_CASE("a request's meter goes and comes back with it, and counts its outcome once finished",
          "[pending][metrics]") {
    PendingRequests pending;
    portico::PluginCounters counters;
    const auto received = Clock::now() - 3ms;
    const auto id = pending.next_id();
    pending.add(id, context("1"), Clock::now() + 1s, portico::RequestMeter{&counters, received});
    counters.started.add();
    const auto taken = pending.take(id);
    REQUIRE(taken);
    CHECK(taken->meter.counters == &counters);
    CHECK(taken->meter.received == received);
    taken->meter.finish("ok", received + 3ms);
    std::uint64_t ok = 0;
    counters.outcomes.for_each([&](std::string_view label, std::uint64_t n) {
        if (label == "ok") ok = n;
    });
    CHECK(ok == 1);
    CHECK(counters.ended.value() == 1);
    CHECK(counters.duration.sum_ns() == 3'000'000);
    // 3 ms falls in the bucket up to 5 ms (the sixth bound).
    CHECK(counters.duration.bucket_count(5) == 1);
    // Without counters (metrics off) finishing counts nothing and costs nothing.
    portico::RequestMeter{}.finish("ok", Clock::now());
}

TEST_CASE("the latest deadline bounds how long a client's close is held", "[pending][deadline]") {
    PendingRequests pending;
    CHECK(pending.latest_deadline() == Clock::time_point::min());
    const auto now = Clock::now();
    pending.add(pending.next_id(), context("1"), now + 3s);
    const auto late = pending.next_id();
    pending.add(late, context("2"), now + 9s);
    pending.add(pending.next_id(), context("3"), now + 1s);
    CHECK(pending.latest_deadline() == now + 9s);
    CHECK(pending.take(late));
    CHECK(pending.latest_deadline() == now + 3s);
}

TEST_CASE("find looks without taking; take_with_client_id takes by the envelope's id", "[pending][cancel]") {
    PendingRequests pending;
    const auto deadline = Clock::now() + 10s;
    const auto a = pending.next_id();
    const auto b = pending.next_id();
    const auto c = pending.next_id();
    pending.add(a, context("7"), deadline);
    pending.add(b, context("\"x\""), deadline);
    pending.add(c, context("7", "odds"), deadline);  // a client may reuse an id
    REQUIRE(pending.find(b) != nullptr);
    CHECK(pending.find(b)->id == b);
    CHECK(pending.find(b)->context.id_json == "\"x\"");
    CHECK(pending.size() == 3);  // find took nothing
    CHECK(pending.find(999) == nullptr);

    const auto sevens = pending.take_with_client_id("7");
    CHECK(sevens.size() == 2);
    CHECK(ids_of(sevens) == std::set<std::string>{"7"});
    CHECK(pending.size() == 1);
    CHECK(pending.take_with_client_id("8").empty());
    const auto rest = pending.take_with_client_id("");  // empty: all of them
    REQUIRE(rest.size() == 1);
    CHECK(rest.front().id == b);
    CHECK(pending.empty());
}
