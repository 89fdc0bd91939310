// A plugin's channels on the engine side (engine/channel_hub.hpp): offsets,
// the grant with what a client missed, history bounds, refusals, and the
// order of grants and messages at a sink. No sockets, no plugin.
#include "engine/channel_hub.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

using nlohmann::json;
using portico::ChannelHub;
using portico::ChannelLimits;
using portico::EngineResult;
using portico::ReplyPart;

class RecordingSink final : public portico::ReplySink {
public:
    void deliver(EngineResult result) override { results.push_back(std::move(result)); }
    std::vector<EngineResult> results;
};

std::shared_ptr<RecordingSink> sink_on(ChannelHub& hub) {
    auto sink = std::make_shared<RecordingSink>();
    hub.add_sink(sink);
    return sink;
}

// Subscribes client "c" (request 5) and returns the grant's body.
json grant_after(ChannelHub& hub, RecordingSink& sink, std::string_view channel, std::uint64_t last_seen) {
    sink.results.clear();
    hub.subscribe(channel, last_seen, "c", 5, std::shared_ptr<portico::ReplySink>(&sink, [](auto*) {}), nullptr);
    REQUIRE(sink.results.size() == 1);
    const auto& grant = sink.results[0].reply;
    CHECK(grant.part == ReplyPart::subscribe);
    CHECK(grant.client_id == "c");
    CHECK(grant.request_id == 5);
    CHECK(grant.channel == "table/" + std::string(channel));
    return json::parse(grant.reply.body());
}

}  // namespace

TEST_CASE("publish: offsets grow by one per channel, and every sink gets each message", "[channels][hub]") {
    ChannelHub hub("table", {});
    auto one = sink_on(hub);
    auto two = sink_on(hub);
    hub.add_sink(one);  // added twice: still once
    const auto a1 = hub.publish("a", R"({"n":1})");
    const auto a2 = hub.publish("a", R"({"n":2})");
    const auto b1 = hub.publish("b", R"("text")");
    CHECK(a1 > 0);
    CHECK(a2 == a1 + 1);
    CHECK(b1 > 0);
    REQUIRE(one->results.size() == 3);
    REQUIRE(two->results.size() == 3);
    const auto& push = one->results[1].reply;
    CHECK(push.part == ReplyPart::push);
    CHECK(push.channel == "table/a");
    CHECK(push.offset == a2);
    CHECK(push.reply.body() == R"({"n":2})");
    CHECK(push.client_id.empty());
}

TEST_CASE("publish refuses what is not one JSON value, too large, or badly named", "[channels][hub]") {
    ChannelHub hub("table", {});
    auto sink = sink_on(hub);
    CHECK(hub.publish("a", "not json") == 0);
    CHECK(hub.publish("a", R"({"a":1} {"b":2})") == 0);
    CHECK(hub.publish("a", std::string(ChannelHub::max_message_bytes + 1, ' ')) == 0);
    CHECK(hub.publish("bad name", "1") == 0);
    CHECK(hub.publish("", "1") == 0);
    CHECK(hub.publish(std::string(65, 'x'), "1") == 0);
    CHECK(sink->results.empty());
}

TEST_CASE("a hub keeps at most max_channels channels", "[channels][hub]") {
    ChannelHub hub("table", {});
    for (std::size_t i = 0; i < ChannelHub::max_channels; ++i) REQUIRE(hub.publish("c" + std::to_string(i), "1") > 0);
    CHECK(hub.publish("one-too-many", "1") == 0);
    CHECK(hub.publish("c0", "2") > 0);  // the ones it has still take messages
}

TEST_CASE("a grant names the next offset; with a last offset it carries what was missed", "[channels][hub]") {
    ChannelHub hub("table", ChannelLimits{10, std::chrono::milliseconds(60000)});
    RecordingSink sink;
    const json fresh = grant_after(hub, sink, "a", 0);
    const auto first = fresh.at("next").get<std::uint64_t>();
    CHECK_FALSE(fresh.contains("replay"));
    CHECK_FALSE(fresh.contains("lost"));
    for (int i = 0; i < 4; ++i) REQUIRE(hub.publish("a", json{{"n", i}}.dump()) == first + static_cast<std::uint64_t>(i));

    const json resumed = grant_after(hub, sink, "a", first + 1);
    CHECK(resumed.at("next") == first + 4);
    CHECK(resumed.at("replay") == json::array({json::array({first + 2, {{"n", 2}}}), json::array({first + 3, {{"n", 3}}})}));
    CHECK_FALSE(resumed.contains("lost"));

    const json up_to_date = grant_after(hub, sink, "a", first + 3);
    CHECK_FALSE(up_to_date.contains("replay"));  // up to date: nothing to replay
    CHECK_FALSE(up_to_date.contains("lost"));

    // Its first message seen: the three after it.
    CHECK(grant_after(hub, sink, "a", first).at("replay").size() == 3);
}

TEST_CASE("a last offset the history no longer reaches is too_old; one from another history is reset",
          "[channels][hub]") {
    ChannelHub hub("table", ChannelLimits{3, std::chrono::milliseconds(60000)});
    RecordingSink sink;
    const auto first = hub.publish("a", "0");
    for (int i = 1; i < 6; ++i) hub.publish("a", std::to_string(i));
    // Kept: the last three (first+3 .. first+5).
    const json old = grant_after(hub, sink, "a", first);
    CHECK(old.at("lost") == "too_old");
    CHECK_FALSE(old.contains("replay"));
    CHECK(old.at("next") == first + 6);
    CHECK(grant_after(hub, sink, "a", first + 2).at("replay").size() == 3);  // exactly reaches back

    CHECK(grant_after(hub, sink, "a", 12345).at("lost") == "reset");        // before this hub was born
    CHECK(grant_after(hub, sink, "a", first + 100).at("lost") == "reset");  // beyond what it ever sent
    // A channel with no message yet: an offset of an old history.
    CHECK(grant_after(hub, sink, "quiet", first).at("lost") == "reset");
}

TEST_CASE("history is also bounded by age", "[channels][hub]") {
    ChannelHub hub("table", ChannelLimits{100, std::chrono::milliseconds(50)});
    RecordingSink sink;
    const auto first = hub.publish("a", "1");
    hub.publish("a", "2");
    std::this_thread::sleep_for(std::chrono::milliseconds(120));
    CHECK(grant_after(hub, sink, "a", first).at("lost") == "too_old");
}

TEST_CASE("grants and messages reach a sink in offset order; unsubscribe follows", "[channels][hub]") {
    ChannelHub hub("table", {});
    auto sink = sink_on(hub);
    hub.publish("a", "1");
    hub.subscribe("a", 0, "c", 9, sink, nullptr);
    hub.publish("a", "2");
    hub.unsubscribe("a", "c", 10, sink, nullptr);
    REQUIRE(sink->results.size() == 4);
    CHECK(sink->results[0].reply.part == ReplyPart::push);
    CHECK(sink->results[1].reply.part == ReplyPart::subscribe);
    CHECK(json::parse(sink->results[1].reply.reply.body()).at("next") == sink->results[2].reply.offset);
    CHECK(sink->results[2].reply.part == ReplyPart::push);
    CHECK(sink->results[3].reply.part == ReplyPart::unsubscribe);
    CHECK(sink->results[3].reply.channel == "table/a");
    CHECK(sink->results[3].reply.request_id == 10);
    // Bad names are no grant.
    hub.subscribe("a b", 0, "c", 11, sink, nullptr);
    CHECK(sink->results.size() == 4);
}

TEST_CASE("a sink that is gone is dropped; the registry shares one hub per plugin", "[channels][hub]") {
    auto hub = portico::channel_hub_for("hub-test-plugin");
    CHECK(portico::channel_hub_for("hub-test-plugin") == hub);
    CHECK(portico::channel_hub_for("hub-test-other") != hub);
    auto kept = sink_on(*hub);
    {
        auto gone = sink_on(*hub);
    }
    CHECK(hub->publish("a", "1") > 0);
    CHECK(kept->results.size() == 1);
}

TEST_CASE("a client that saw the last message loses nothing, even when the history is empty", "[channels][hub]") {
    ChannelHub hub("table", ChannelLimits{0, std::chrono::milliseconds(60000)});  // keeps nothing
    RecordingSink sink;
    const auto last = hub.publish("a", "1");
    const json grant = grant_after(hub, sink, "a", last);
    CHECK(grant.at("next") == last + 1);
    CHECK_FALSE(grant.contains("lost"));
    CHECK(grant_after(hub, sink, "a", last - 1).at("lost") == "reset");  // before this hub's first offset
    hub.publish("a", "2");
    CHECK(grant_after(hub, sink, "a", last).at("lost") == "too_old");  // one was missed, none kept
}

TEST_CASE("at the cap, channels whose history aged out make room; their names never repeat an offset",
          "[channels][hub]") {
    ChannelHub hub("table", ChannelLimits{0, std::chrono::milliseconds(60000)});
    const auto first = hub.publish("c0", "1");
    for (std::size_t i = 1; i < ChannelHub::max_channels; ++i) REQUIRE(hub.publish("c" + std::to_string(i), "1") > 0);
    // Every channel keeps nothing: the next new name reclaims them.
    CHECK(hub.publish("one-more", "1") > 0);
    const auto again = hub.publish("c0", "2");
    CHECK(again > first);
}
