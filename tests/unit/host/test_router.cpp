// The router (gateway/router.hpp): plugin prefix -> engine link, client id ->
// connection, with fakes for both sides, and the liveness sweep that walks
// its connections (gateway/liveness_sweep.hpp). No sockets.
#include "gateway/router.hpp"
#include "gateway/liveness_sweep.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace {

using portico::ClientConnection;
using portico::EngineLink;
using portico::Router;
using portico::EngineReply;
using portico::LinkStatus;
using portico::Reply;
using ReplyKind = portico::Reply::Kind;

class FakeEngineLink : public EngineLink {
public:
    explicit FakeEngineLink(std::chrono::milliseconds timeout = std::chrono::milliseconds(100)) : timeout_(timeout) {}

    portico::SendResult send(std::uint64_t request_id, std::string_view client_id, std::string_view payload,
                             const portico::CallerRef&) override {
        sent_.push_back({request_id, std::string(client_id), std::string(payload)});
        return accept_ ? portico::SendResult::sent : portico::SendResult::unavailable;
    }
    std::chrono::milliseconds timeout() const override { return timeout_; }
    LinkStatus status() const override { return {}; }
    bool idle() const override { return true; }

    void channel_unused(std::string_view channel) override { unused_.emplace_back(channel); }
    std::vector<std::string> unused_;

    struct Sent {
        std::uint64_t request_id;
        std::string client_id;
        std::string payload;
    };
    std::vector<Sent> sent_;
    bool accept_ = true;

private:
    std::chrono::milliseconds timeout_;
};

// Records every reply it is handed (copied: the reply's views die with the frames).
class FakeConnection : public ClientConnection {
public:
    struct Received {
        std::uint64_t request_id;
        std::string client_id;
        ReplyKind kind;
        std::string body;
        std::string code;
        portico::ReplyPart part = portico::ReplyPart::final;
        std::string channel;
        std::uint64_t offset = 0;
    };

    void on_engine_reply(const EngineReply& reply) override {
        received_.push_back({reply.request_id, reply.client_id, reply.reply.kind(), reply.reply.body(),
                             reply.reply.code(), reply.part, reply.channel, reply.offset});
    }
    void on_pushes(std::span<portico::SharedPush> pushes) override {
        batches_.push_back(pushes.size());
        ClientConnection::on_pushes(pushes);
    }
    void shut_down() override {
        ++shut_down_calls_;
        if (on_shut_down_) on_shut_down_();
    }
    void abort() override { ++abort_calls_; }
    void check_liveness(std::chrono::steady_clock::time_point now) override {
        checked_at_.push_back(now);
        if (on_check_) on_check_();
    }

    std::vector<Received> received_;
    std::vector<std::size_t> batches_;  // how many pushes each on_pushes() brought
    std::vector<std::chrono::steady_clock::time_point> checked_at_;
    std::function<void()> on_check_;
    int shut_down_calls_ = 0;
    int abort_calls_ = 0;
    std::function<void()> on_shut_down_;
};

EngineReply reply_for(std::string_view client_id, std::uint64_t request_id = 1, std::string_view body = "{}") {
    return EngineReply{request_id, std::string(client_id), Reply::json(std::string(body))};
}

}  // namespace

// ---------------------------------------------------------------- engines

TEST_CASE("engines are found by plugin name", "[router][engine]") {
    Router router;
    FakeEngineLink dice;
    FakeEngineLink echo(std::chrono::milliseconds(2500));
    router.add_engine("dice", dice);
    router.add_engine("echo", echo);

    CHECK(router.find_engine("dice") == &dice);
    CHECK(router.find_engine("echo") == &echo);
    CHECK(router.find_engine("echo")->timeout() == std::chrono::milliseconds(2500));
    CHECK(router.find_engine("nope") == nullptr);
    CHECK(router.find_engine("") == nullptr);
    CHECK(router.find_engine("Dice") == nullptr);
    CHECK(router.find_engine("dic") == nullptr);
    CHECK(router.find_engine("dice ") == nullptr);

    // The link found is the one that gets the request.
    REQUIRE(router.find_engine("dice")->send(4, "client-a", "3d6", nullptr) == portico::SendResult::sent);
    REQUIRE(dice.sent_.size() == 1);
    CHECK(dice.sent_[0].request_id == 4);
    CHECK(dice.sent_[0].client_id == "client-a");
    CHECK(dice.sent_[0].payload == "3d6");
    CHECK(echo.sent_.empty());
}

TEST_CASE("remove_engine forgets a plugin", "[router][engine]") {
    Router router;
    FakeEngineLink dice, echo;
    router.add_engine("dice", dice);
    router.add_engine("echo", echo);
    router.remove_engine("dice");
    CHECK(router.find_engine("dice") == nullptr);
    CHECK(router.find_engine("echo") == &echo);
    CHECK(router.plugin_list() == "echo");
    router.remove_engine("dice");  // twice: harmless
    router.remove_engine("nope");
    router.remove_engine("echo");
    CHECK(router.plugin_list().empty());
}

TEST_CASE("for_each_engine visits every plugin in name order", "[router][engine]") {
    Router router;
    FakeEngineLink dice, echo, alpha;
    router.add_engine("echo", echo);
    router.add_engine("dice", dice);
    router.add_engine("alpha", alpha);
    std::vector<std::pair<std::string, const EngineLink*>> seen;
    router.for_each_engine([&seen](const std::string& name, const EngineLink& link) { seen.emplace_back(name, &link); });
    const std::vector<std::pair<std::string, const EngineLink*>> expected{
        {"alpha", &alpha}, {"dice", &dice}, {"echo", &echo}};
    CHECK(seen == expected);
}

TEST_CASE("a link's status says nothing about its engines unless it knows", "[router][engine]") {
    const LinkStatus status;
    CHECK(status.info_json == "{}");
    CHECK(status.engines_alive == 0);
    CHECK(status.engines_total == 0);
}

TEST_CASE("a router with no engines finds none and lists none", "[router][engine]") {
    const Router router;
    CHECK(router.find_engine("dice") == nullptr);
    CHECK(router.plugin_list().empty());
}

TEST_CASE("adding an engine under a taken name replaces it", "[router][engine]") {
    Router router;
    FakeEngineLink first;
    FakeEngineLink second;
    router.add_engine("dice", first);
    router.add_engine("dice", second);
    CHECK(router.find_engine("dice") == &second);
    CHECK(router.plugin_list() == "dice");
}

TEST_CASE("plugin_list names every plugin in name order", "[router][engine]") {
    Router router;
    FakeEngineLink a, b, c, d;
    router.add_engine("zeta", a);
    router.add_engine("dice", b);
    router.add_engine("echo", c);
    router.add_engine("alpha-2", d);
    CHECK(router.plugin_list() == "alpha-2, dice, echo, zeta");

    Router single;
    single.add_engine("dice", a);
    CHECK(single.plugin_list() == "dice");
}

// ---------------------------------------------------------------- clients

TEST_CASE("a reply is delivered to the live client it names", "[router][client]") {
    Router router;
    auto alice = std::make_shared<FakeConnection>();
    auto bob = std::make_shared<FakeConnection>();
    router.add_client("alice", alice);
    router.add_client("bob", bob);

    CHECK(router.deliver(reply_for("alice", 7, R"({"total":3})")));
    REQUIRE(alice->received_.size() == 1);
    CHECK(alice->received_[0].request_id == 7);
    CHECK(alice->received_[0].client_id == "alice");
    CHECK(alice->received_[0].kind == ReplyKind::json);
    CHECK(alice->received_[0].body == R"({"total":3})");
    CHECK(bob->received_.empty());

    const EngineReply error{8, "bob", Reply::error("bad_expression", "no")};
    CHECK(router.deliver(error));
    REQUIRE(bob->received_.size() == 1);
    CHECK(bob->received_[0].kind == ReplyKind::error);
    CHECK(bob->received_[0].code == "bad_expression");
    CHECK(bob->received_[0].body == "no");
    CHECK(alice->received_.size() == 1);
}

TEST_CASE("a reply for an unknown client is dropped", "[router][client]") {
    Router router;
    auto alice = std::make_shared<FakeConnection>();
    router.add_client("alice", alice);
    CHECK_FALSE(router.deliver(reply_for("mallory")));
    CHECK_FALSE(router.deliver(reply_for("")));
    CHECK_FALSE(router.deliver(reply_for("alic")));
    CHECK(alice->received_.empty());
}

TEST_CASE("a reply for a client that has gone returns false", "[router][client]") {
    Router router;
    auto alice = std::make_shared<FakeConnection>();
    std::weak_ptr<FakeConnection> watch = alice;
    router.add_client("alice", alice);
    alice.reset();
    REQUIRE(watch.expired());  // the router kept no strong reference
    CHECK_FALSE(router.deliver(reply_for("alice")));
}

TEST_CASE("the router never keeps a connection alive", "[router][client]") {
    Router router;
    auto connection = std::make_shared<FakeConnection>();
    router.add_client("c", connection);
    CHECK(connection.use_count() == 1);
}

TEST_CASE("remove_client stops delivery and updates the count", "[router][client]") {
    Router router;
    auto alice = std::make_shared<FakeConnection>();
    auto bob = std::make_shared<FakeConnection>();
    CHECK(router.client_count() == 0);
    router.add_client("alice", alice);
    CHECK(router.client_count() == 1);
    router.add_client("bob", bob);
    CHECK(router.client_count() == 2);

    router.remove_client("alice");
    CHECK(router.client_count() == 1);
    CHECK_FALSE(router.deliver(reply_for("alice")));
    CHECK(alice->received_.empty());
    CHECK(router.deliver(reply_for("bob")));

    router.remove_client("alice");  // twice: harmless
    router.remove_client("nobody");
    CHECK(router.client_count() == 1);
    router.remove_client("bob");
    CHECK(router.client_count() == 0);
}

TEST_CASE("adding a client under a taken id replaces the connection", "[router][client]") {
    Router router;
    auto first = std::make_shared<FakeConnection>();
    auto second = std::make_shared<FakeConnection>();
    router.add_client("same", first);
    router.add_client("same", second);
    CHECK(router.client_count() == 1);
    CHECK(router.deliver(reply_for("same")));
    CHECK(first->received_.empty());
    CHECK(second->received_.size() == 1);
}

TEST_CASE("client_count counts registrations until they are removed", "[router][client]") {
    Router router;
    std::vector<std::shared_ptr<FakeConnection>> connections;
    for (int i = 0; i < 100; ++i) {
        connections.push_back(std::make_shared<FakeConnection>());
        router.add_client("client-" + std::to_string(i), connections.back());
    }
    CHECK(router.client_count() == 100);
    for (int i = 0; i < 100; i += 2) router.remove_client("client-" + std::to_string(i));
    CHECK(router.client_count() == 50);
    CHECK(router.deliver(reply_for("client-1")));
    CHECK_FALSE(router.deliver(reply_for("client-2")));
}

// ---------------------------------------------------------------- shutdown

TEST_CASE("shut_down_clients tells each live connection once", "[router][shutdown]") {
    Router router;
    auto alice = std::make_shared<FakeConnection>();
    auto bob = std::make_shared<FakeConnection>();
    auto gone = std::make_shared<FakeConnection>();
    std::weak_ptr<FakeConnection> gone_watch = gone;
    router.add_client("alice", alice);
    router.add_client("bob", bob);
    router.add_client("gone", gone);
    gone.reset();  // expired but not yet removed: skipped

    int emptied = 0;
    router.shut_down_clients([&emptied] { ++emptied; });
    CHECK(alice->shut_down_calls_ == 1);
    CHECK(bob->shut_down_calls_ == 1);
    CHECK(gone_watch.expired());
    CHECK(emptied == 0);  // they are still connected
}

TEST_CASE("shut_down_clients with no clients does nothing but say so", "[router][shutdown]") {
    Router router;
    int emptied = 0;
    CHECK_NOTHROW(router.shut_down_clients([&emptied] { ++emptied; }));
    CHECK(router.client_count() == 0);
    CHECK(emptied == 1);
}

TEST_CASE("shut_down_clients says once when the last client has gone", "[router][shutdown]") {
    Router router;
    auto alice = std::make_shared<FakeConnection>();
    auto bob = std::make_shared<FakeConnection>();
    router.add_client("alice", alice);
    router.add_client("bob", bob);
    int emptied = 0;
    router.shut_down_clients([&emptied] { ++emptied; });
    router.remove_client("alice");
    CHECK(emptied == 0);
    router.remove_client("bob");
    CHECK(emptied == 1);
    router.add_client("carol", alice);
    router.remove_client("carol");
    CHECK(emptied == 1);
}

TEST_CASE("abort_clients tells each live connection", "[router][shutdown]") {
    Router router;
    auto alice = std::make_shared<FakeConnection>();
    auto gone = std::make_shared<FakeConnection>();
    router.add_client("alice", alice);
    router.add_client("gone", gone);
    gone.reset();
    router.abort_clients();
    CHECK(alice->abort_calls_ == 1);
}

TEST_CASE("a connection may remove itself while shutting down", "[router][shutdown]") {
    Router router;
    std::vector<std::shared_ptr<FakeConnection>> connections;
    for (int i = 0; i < 20; ++i) {
        auto connection = std::make_shared<FakeConnection>();
        const std::string id = "client-" + std::to_string(i);
        connection->on_shut_down_ = [&router, id] { router.remove_client(id); };
        router.add_client(id, connection);
        connections.push_back(std::move(connection));
    }
    REQUIRE(router.client_count() == 20);
    int emptied = 0;
    router.shut_down_clients([&emptied] { ++emptied; });
    CHECK(emptied == 1);
    for (const auto& connection : connections) CHECK(connection->shut_down_calls_ == 1);
    CHECK(router.client_count() == 0);
}

TEST_CASE("a connection that drops its last reference while shutting down", "[router][shutdown]") {
    // As a session does when its close completes synchronously: it removes
    // itself from the router and its owner lets it go, inside shut_down().
    Router router;
    auto survivor = std::make_shared<FakeConnection>();
    auto leaving = std::make_shared<FakeConnection>();
    std::weak_ptr<FakeConnection> leaving_watch = leaving;
    bool leaving_called = false;
    leaving->on_shut_down_ = [&] {
        leaving_called = true;
        router.remove_client("leaving");
        leaving.reset();  // the router's copy keeps it alive until the call returns
    };
    router.add_client("leaving", leaving);
    router.add_client("survivor", survivor);

    router.shut_down_clients([] {});
    CHECK(leaving_called);
    CHECK(leaving_watch.expired());  // released once shut_down_clients is done with it
    CHECK(survivor->shut_down_calls_ == 1);
    CHECK(router.client_count() == 1);
}

TEST_CASE("a connection that removes another while shutting down", "[router][shutdown]") {
    Router router;
    auto first = std::make_shared<FakeConnection>();
    auto second = std::make_shared<FakeConnection>();
    first->on_shut_down_ = [&router] { router.remove_client("second"); };
    second->on_shut_down_ = [&router] { router.remove_client("first"); };
    router.add_client("first", first);
    router.add_client("second", second);

    router.shut_down_clients([] {});
    // Both were live when shutdown began, so both are told.
    CHECK(first->shut_down_calls_ == 1);
    CHECK(second->shut_down_calls_ == 1);
    CHECK(router.client_count() == 0);
}

TEST_CASE("the liveness period is a quarter of the shorter setting, within 25 ms and 1 s", "[liveness][period]") {
    using std::chrono::milliseconds;
    using portico::LivenessSweep;
    CHECK(LivenessSweep::period_for(milliseconds(0), milliseconds(10'000)) == milliseconds(0));  // pings off
    CHECK(LivenessSweep::period_for(milliseconds(30'000), milliseconds(10'000)) == milliseconds(1000));
    CHECK(LivenessSweep::period_for(milliseconds(2'000), milliseconds(800)) == milliseconds(200));
    CHECK(LivenessSweep::period_for(milliseconds(200), milliseconds(200)) == milliseconds(50));
    CHECK(LivenessSweep::period_for(milliseconds(100), milliseconds(100)) == milliseconds(25));
}

TEST_CASE("a sweep asks every live connection, also one that ends during it", "[liveness][sweep]") {
    boost::asio::io_context io;
    Router router;
    portico::LivenessSweep sweep(io, router);
    auto quiet = std::make_shared<FakeConnection>();
    auto dropped = std::make_shared<FakeConnection>();
    std::weak_ptr<FakeConnection> dropped_watch = dropped;
    auto gone = std::make_shared<FakeConnection>();
    router.add_client("quiet", quiet);
    router.add_client("dropped", dropped);
    router.add_client("gone", gone);
    gone.reset();  // its entry is still there, its connection is not
    // The session drops itself when its pong never came: it leaves the
    // router and its last owner lets go, inside its own check.
    dropped->on_check_ = [&] {
        router.remove_client("dropped");
        dropped.reset();
    };

    const auto now = std::chrono::steady_clock::now();
    sweep.sweep(now);
    REQUIRE(quiet->checked_at_.size() == 1);
    CHECK(quiet->checked_at_.front() == now);
    CHECK(dropped_watch.expired());  // the sweep held it only while asking
    CHECK(router.client_count() == 2);  // "quiet", and the stale "gone" entry
    sweep.sweep(now + std::chrono::seconds(1));
    CHECK(quiet->checked_at_.size() == 2);
}

TEST_CASE("the sweep ticks on its loop every period until stopped", "[liveness][timer]") {
    boost::asio::io_context io;
    Router router;
    portico::LivenessSweep sweep(io, router);
    auto client = std::make_shared<FakeConnection>();
    router.add_client("client", client);
    const auto started = std::chrono::steady_clock::now();
    sweep.start(std::chrono::milliseconds(25));
    // A loaded machine runs ticks late, never early: wait for three, bounded.
    while (client->checked_at_.size() < 3 && std::chrono::steady_clock::now() - started < std::chrono::seconds(10))
        io.run_for(std::chrono::milliseconds(5));
    const auto ticks = client->checked_at_.size();
    REQUIRE(ticks >= 3);
    CHECK(client->checked_at_.front() - started >= std::chrono::milliseconds(25));
    for (std::size_t i = 1; i < ticks; ++i)
        CHECK(client->checked_at_[i] - client->checked_at_[i - 1] >= std::chrono::milliseconds(25));
    sweep.stop();
    io.restart();
    io.run_for(std::chrono::milliseconds(60));
    CHECK(client->checked_at_.size() == ticks);
}

// ---------------------------------------------------------------- channels

namespace {

EngineReply channel_part(portico::ReplyPart part, std::string_view client_id, std::string_view key,
                         std::uint64_t offset = 0) {
    EngineReply reply{1, std::string(client_id), Reply::json(R"({"next":1})"), part};
    reply.channel = std::string(key);
    reply.offset = offset;
    return reply;
}

std::size_t count_parts(const FakeConnection& connection, portico::ReplyPart part) {
    std::size_t n = 0;
    for (const auto& received : connection.received_) n += received.part == part;
    return n;
}

}  // namespace

TEST_CASE("a grant subscribes its client; pushes reach every subscriber of the channel only", "[router][channels]") {
    Router router;
    FakeEngineLink link;
    router.add_engine("table", link);
    auto ann = std::make_shared<FakeConnection>();
    auto bob = std::make_shared<FakeConnection>();
    auto eve = std::make_shared<FakeConnection>();
    router.add_client("ann", ann);
    router.add_client("bob", bob);
    router.add_client("eve", eve);
    router.on_reply(channel_part(portico::ReplyPart::subscribe, "ann", "table/r1"));
    router.on_reply(channel_part(portico::ReplyPart::subscribe, "bob", "table/r1"));
    router.on_reply(channel_part(portico::ReplyPart::subscribe, "eve", "table/r2"));
    CHECK(router.subscriber_count("table/r1") == 2);
    CHECK(count_parts(*ann, portico::ReplyPart::subscribe) == 1);

    router.on_reply(channel_part(portico::ReplyPart::push, "", "table/r1", 41));
    REQUIRE(count_parts(*ann, portico::ReplyPart::push) == 1);
    CHECK(count_parts(*bob, portico::ReplyPart::push) == 1);
    CHECK(count_parts(*eve, portico::ReplyPart::push) == 0);
    CHECK(ann->received_.back().offset == 41);
    // A channel nobody here listens to: dropped.
    router.on_reply(channel_part(portico::ReplyPart::push, "", "table/r9", 1));
    CHECK(count_parts(*eve, portico::ReplyPart::push) == 0);
    // Granted twice: still one subscription.
    router.on_reply(channel_part(portico::ReplyPart::subscribe, "ann", "table/r1"));
    CHECK(router.subscriber_count("table/r1") == 2);
}

TEST_CASE("the last subscriber to leave tells the link, whether it unsubscribed or went", "[router][channels]") {
    Router router;
    FakeEngineLink link;
    router.add_engine("table", link);
    auto ann = std::make_shared<FakeConnection>();
    auto bob = std::make_shared<FakeConnection>();
    router.add_client("ann", ann);
    router.add_client("bob", bob);
    router.on_reply(channel_part(portico::ReplyPart::subscribe, "ann", "table/r1"));
    router.on_reply(channel_part(portico::ReplyPart::subscribe, "bob", "table/r1"));
    router.on_reply(channel_part(portico::ReplyPart::unsubscribe, "ann", "table/r1"));
    CHECK(count_parts(*ann, portico::ReplyPart::unsubscribe) == 1);
    CHECK(link.unused_.empty());
    router.on_reply(channel_part(portico::ReplyPart::push, "", "table/r1", 2));
    CHECK(count_parts(*ann, portico::ReplyPart::push) == 0);
    // Not subscribed: nothing to say.
    router.on_reply(channel_part(portico::ReplyPart::unsubscribe, "ann", "table/r1"));
    CHECK(count_parts(*ann, portico::ReplyPart::unsubscribe) == 1);

    router.remove_client("bob");
    CHECK(link.unused_ == std::vector<std::string>{"r1"});
    CHECK(router.subscriber_count("table/r1") == 0);

    // A grant for a client that has gone already: the channel is unused at once.
    router.on_reply(channel_part(portico::ReplyPart::subscribe, "gone", "table/r2"));
    CHECK(link.unused_ == std::vector<std::string>{"r1", "r2"});
}

TEST_CASE("a channel closed for everyone reaches each subscriber once", "[router][channels]") {
    Router router;
    FakeEngineLink link;
    router.add_engine("table", link);
    auto ann = std::make_shared<FakeConnection>();
    router.add_client("ann", ann);
    router.on_reply(channel_part(portico::ReplyPart::subscribe, "ann", "table/r1"));
    EngineReply closed{0, "", Reply::error("engine_lost", "gone"), portico::ReplyPart::unsubscribe};
    closed.channel = "table/r1";
    router.on_reply(closed);
    REQUIRE(count_parts(*ann, portico::ReplyPart::unsubscribe) == 1);
    CHECK(ann->received_.back().code == "engine_lost");
    CHECK(router.subscriber_count("table/r1") == 0);

    // Replacing or removing the plugin's link ends its channels too.
    router.on_reply(channel_part(portico::ReplyPart::subscribe, "ann", "table/r2"));
    FakeEngineLink replacement;
    router.add_engine("table", replacement);
    CHECK(count_parts(*ann, portico::ReplyPart::unsubscribe) == 2);
    CHECK(ann->received_.back().code == "channel_closed");
    router.on_reply(channel_part(portico::ReplyPart::subscribe, "ann", "table/r3"));
    router.remove_engine("table");
    CHECK(count_parts(*ann, portico::ReplyPart::unsubscribe) == 3);
}

TEST_CASE("a connection holds at most max_channels_per_client channels", "[router][channels]") {
    Router router;
    FakeEngineLink link;
    router.add_engine("table", link);
    auto ann = std::make_shared<FakeConnection>();
    router.add_client("ann", ann);
    for (std::size_t i = 0; i < Router::max_channels_per_client; ++i)
        router.on_reply(channel_part(portico::ReplyPart::subscribe, "ann", "table/c" + std::to_string(i)));
    CHECK(count_parts(*ann, portico::ReplyPart::subscribe) == Router::max_channels_per_client);
    router.on_reply(channel_part(portico::ReplyPart::subscribe, "ann", "table/more"));
    REQUIRE(ann->received_.back().part == portico::ReplyPart::unsubscribe);
    CHECK(ann->received_.back().code == "too_many_channels");
    CHECK(router.subscriber_count("table/more") == 0);
    CHECK(link.unused_ == std::vector<std::string>{"more"});
}

namespace {

// One turn of the loop: every handler ready now, and those they post.
void turn(portico::net::io_context& io) {
    io.restart();  // a poll that ran out of work left it stopped
    io.poll();
}

std::vector<std::uint64_t> push_offsets(const FakeConnection& connection) {
    std::vector<std::uint64_t> offsets;
    for (const auto& received : connection.received_)
        if (received.part == portico::ReplyPart::push) offsets.push_back(received.offset);
    return offsets;
}

}  // namespace

TEST_CASE("pushes of one loop turn reach each subscriber together, at the end of the turn", "[router][channels][batch]") {
    portico::net::io_context io;
    Router router;
    router.gather_pushes_on(io, std::chrono::milliseconds(0));
    FakeEngineLink link;
    router.add_engine("table", link);
    auto ann = std::make_shared<FakeConnection>();
    auto bob = std::make_shared<FakeConnection>();
    router.add_client("ann", ann);
    router.add_client("bob", bob);
    router.on_reply(channel_part(portico::ReplyPart::subscribe, "ann", "table/r1"));
    router.on_reply(channel_part(portico::ReplyPart::subscribe, "bob", "table/r1"));
    router.on_reply(channel_part(portico::ReplyPart::subscribe, "bob", "table/r2"));
    for (std::uint64_t offset = 1; offset <= 3; ++offset)
        router.on_reply(channel_part(portico::ReplyPart::push, "", "table/r1", offset));
    router.on_reply(channel_part(portico::ReplyPart::push, "", "table/r2", 7));
    CHECK(push_offsets(*ann).empty());  // held for the end of the turn
    turn(io);
    CHECK(push_offsets(*ann) == std::vector<std::uint64_t>{1, 2, 3});
    CHECK(push_offsets(*bob) == std::vector<std::uint64_t>{1, 2, 3, 7});
    CHECK(ann->batches_ == std::vector<std::size_t>{3});       // one visit for the three
    CHECK(bob->batches_ == std::vector<std::size_t>{3, 1});    // and one per channel
}

TEST_CASE("held pushes reach a client before anything that came after them for it", "[router][channels][batch]") {
    portico::net::io_context io;
    Router router;
    router.gather_pushes_on(io, std::chrono::milliseconds(0));
    FakeEngineLink link;
    router.add_engine("table", link);
    auto ann = std::make_shared<FakeConnection>();
    auto bob = std::make_shared<FakeConnection>();
    router.add_client("ann", ann);
    router.add_client("bob", bob);
    router.on_reply(channel_part(portico::ReplyPart::subscribe, "ann", "table/r1"));
    router.on_reply(channel_part(portico::ReplyPart::subscribe, "bob", "table/r1"));

    // ann's roll: published, then answered. ann sees the push first; bob
    // gets it at the end of the turn, and so does ann again (its session
    // knows it by its offset and drops it).
    router.on_reply(channel_part(portico::ReplyPart::push, "", "table/r1", 5));
    router.on_reply(reply_for("ann", 9, R"({"total":4})"));
    REQUIRE(ann->received_.size() == 3);
    CHECK(ann->received_[1].part == portico::ReplyPart::push);
    CHECK(ann->received_[2].request_id == 9);
    CHECK(push_offsets(*bob).empty());
    turn(io);
    CHECK(push_offsets(*bob) == std::vector<std::uint64_t>{5});
    CHECK(push_offsets(*ann) == std::vector<std::uint64_t>{5, 5});

    // An unsubscription: what was published before it still reaches the client.
    router.on_reply(channel_part(portico::ReplyPart::push, "", "table/r1", 6));
    router.on_reply(channel_part(portico::ReplyPart::unsubscribe, "ann", "table/r1"));
    CHECK(ann->received_.back().part == portico::ReplyPart::unsubscribe);
    CHECK(push_offsets(*ann) == std::vector<std::uint64_t>{5, 5, 6});
    turn(io);
    CHECK(push_offsets(*ann) == std::vector<std::uint64_t>{5, 5, 6});
    CHECK(push_offsets(*bob) == std::vector<std::uint64_t>{5, 6});

    // A channel closed for everyone: its last messages first.
    router.on_reply(channel_part(portico::ReplyPart::push, "", "table/r1", 7));
    EngineReply closed{0, "", Reply::error("engine_lost", "gone"), portico::ReplyPart::unsubscribe};
    closed.channel = "table/r1";
    router.on_reply(closed);
    REQUIRE(bob->received_.size() >= 2);
    CHECK(bob->received_[bob->received_.size() - 2].offset == 7);
    CHECK(bob->received_.back().code == "engine_lost");
}

TEST_CASE("pushes that come right after a batch wait push_batch for the next one", "[router][channels][batch]") {
    portico::net::io_context io;
    Router router;
    router.gather_pushes_on(io, std::chrono::milliseconds(500));
    FakeEngineLink link;
    router.add_engine("table", link);
    auto ann = std::make_shared<FakeConnection>();
    router.add_client("ann", ann);
    router.on_reply(channel_part(portico::ReplyPart::subscribe, "ann", "table/r1"));

    // The first after a quiet spell goes at the end of the turn.
    router.on_reply(channel_part(portico::ReplyPart::push, "", "table/r1", 1));
    turn(io);
    CHECK(push_offsets(*ann) == std::vector<std::uint64_t>{1});
    // Right behind it: held until the window after that batch has passed.
    router.on_reply(channel_part(portico::ReplyPart::push, "", "table/r1", 2));
    router.on_reply(channel_part(portico::ReplyPart::push, "", "table/r1", 3));
    turn(io);
    CHECK(push_offsets(*ann) == std::vector<std::uint64_t>{1});
    io.restart();
    io.run_for(std::chrono::seconds(5));  // ends when the timer's flush has run
    CHECK(push_offsets(*ann) == std::vector<std::uint64_t>{1, 2, 3});
    CHECK(ann->batches_ == std::vector<std::size_t>{1, 2});
}

TEST_CASE("past max_held_pushes the held pushes go at once", "[router][channels][batch]") {
    portico::net::io_context io;
    Router router;
    router.gather_pushes_on(io, std::chrono::milliseconds(0));
    FakeEngineLink link;
    router.add_engine("table", link);
    auto ann = std::make_shared<FakeConnection>();
    router.add_client("ann", ann);
    router.on_reply(channel_part(portico::ReplyPart::subscribe, "ann", "table/r1"));
    for (std::uint64_t offset = 1; offset <= Router::max_held_pushes; ++offset)
        router.on_reply(channel_part(portico::ReplyPart::push, "", "table/r1", offset));
    CHECK(push_offsets(*ann).size() == Router::max_held_pushes);  // without the loop's help
    // Pushes for a channel nobody here follows are not even held.
    router.on_reply(channel_part(portico::ReplyPart::push, "", "table/nobody", 1));
    turn(io);
    CHECK(push_offsets(*ann).size() == Router::max_held_pushes);
    router.abort_clients();
}
