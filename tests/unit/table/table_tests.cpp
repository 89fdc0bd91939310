// The table plugin without a host: commands, settings, seating, and the
// engine with a recording stream and channels standing in for portico's.
#include "table_command.hpp"
#include "table_engine.hpp"
#include "table_seating.hpp"
#include "table_settings.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using nlohmann::json;

class RecordingChannels final : public portico::Channels {
public:
    std::uint64_t publish(std::string_view channel, std::string json_text) override {
        published.push_back({std::string(channel), json::parse(json_text)});
        return ++offset;
    }
    struct Message {
        std::string channel;
        json data;
    };
    std::vector<Message> published;
    std::uint64_t offset = 1000;
};

class RecordingStream final : public portico::RequestStream {
public:
    bool emit(std::string) override { return true; }
    bool cancelled() const noexcept override { return false; }
    void subscribe(std::string_view channel, std::uint64_t last_seen) override {
        subscribed.emplace_back(channel, last_seen);
    }
    void unsubscribe(std::string_view channel) override { unsubscribed.emplace_back(channel); }
    std::vector<std::pair<std::string, std::uint64_t>> subscribed;
    std::vector<std::string> unsubscribed;
};

struct Table {
    RecordingChannels channels;
    std::unique_ptr<table::TableEngine> engine;
    explicit Table(const std::string& settings = R"({"seed":7})") {
        portico::EngineContext context;
        context.plugin_name = "table";
        context.settings_json = settings;
        context.workers = 1;
        context.channels = &channels;
        engine = std::make_unique<table::TableEngine>(context);
    }
    portico::Reply call(std::string_view client, std::string_view payload, RecordingStream& stream) {
        portico::Request request;
        request.client_id = client;
        request.payload = payload;
        request.stream = &stream;
        return engine->handle(request);
    }
};

}  // namespace

TEST_CASE("table commands parse, and mistakes say what is wrong", "[table][command]") {
    const auto join = std::get<table::Join>(table::parse_command("join room1 ann"));
    CHECK(join.room == "room1");
    CHECK(join.name == "ann");
    CHECK(join.last_seen == 0);
    CHECK(std::get<table::Join>(table::parse_command("  join  room1  ann  17 ")).last_seen == 17);
    const auto roll = std::get<table::Roll>(table::parse_command("roll room1 4d6kh3 + 2"));
    CHECK(roll.expression == "4d6kh3 + 2");
    CHECK(std::get<table::Leave>(table::parse_command("leave room1")).room == "room1");
    CHECK(std::get<table::Who>(table::parse_command("who room1")).room == "room1");
    CHECK(std::get<table::Watch>(table::parse_command("watch room1 99")).last_seen == 99);
    CHECK(std::get<table::Watch>(table::parse_command("watch room1")).last_seen == 0);

    const auto message = [](std::string_view payload) {
        const auto command = table::parse_command(payload);
        REQUIRE(std::holds_alternative<table::BadCommand>(command));
        return std::get<table::BadCommand>(command).message;
    };
    CHECK_THAT(message(""), Catch::Contains("say what to do"));
    CHECK_THAT(message("dance room1"), Catch::Contains("unknown command \"dance\""));
    CHECK_THAT(message("join"), Catch::Contains("needs a room"));
    CHECK_THAT(message("join room/1 ann"), Catch::Contains("a room is"));
    CHECK_THAT(message("join " + std::string(33, 'r') + " ann"), Catch::Contains("a room is"));
    CHECK_THAT(message("join room1"), Catch::Contains("needs a name"));
    CHECK_THAT(message("join room1 a\"b"), Catch::Contains("a name is"));
    CHECK_THAT(message("join room1 ann -3"), Catch::Contains("whole number"));
    CHECK_THAT(message("join room1 ann 99999999999999999999999"), Catch::Contains("whole number"));
    CHECK_THAT(message("join room1 ann 3 4"), Catch::Contains("at most an offset"));
    CHECK_THAT(message("roll room1"), Catch::Contains("needs a dice expression"));
    CHECK_THAT(message("who room1 extra"), Catch::Contains("a room only"));
    CHECK_THAT(message("watch room1 x"), Catch::Contains("whole number"));
    CHECK_THAT(message("watch room1 1 2"), Catch::Contains("at most an offset"));
    CHECK_THAT(message("dance"), Catch::Contains("table join ROOM NAME"));  // the usage, every time
}

TEST_CASE("table settings are checked by key", "[table][settings]") {
    CHECK(table::parse_settings("{}").max_seats == 50);
    const auto s = table::parse_settings(R"({"max_rooms":3,"max_seats":2,"max_dice":10,"seed":1})");
    CHECK(s.max_rooms == 3);
    CHECK(s.max_seats == 2);
    CHECK(s.limits.max_dice == 10);
    CHECK_THROWS_WITH(table::parse_settings(R"({"max_seat":2})"), Catch::Contains("unknown key \"max_seat\""));
    CHECK_THROWS_WITH(table::parse_settings(R"({"max_seats":0})"), Catch::Contains("\"max_seats\" must be from 1"));
    CHECK_THROWS_WITH(table::parse_settings(R"({"max_rooms":-1})"), Catch::Contains("whole number"));
    CHECK_THROWS_WITH(table::parse_settings("[]"), Catch::Contains("JSON object"));
}

TEST_CASE("seating: one seat per client and room, names unique at a room, bounds", "[table][seating]") {
    table::Seating seating(2, 2);
    using R = table::Seating::JoinResult;
    CHECK(seating.join("a", "c1", "ann") == R::seated);
    CHECK(seating.join("a", "c1", "ann") == R::already_seated);
    CHECK(seating.join("a", "c1", "anna") == R::name_taken);  // already there under another name
    CHECK(seating.join("a", "c2", "ann") == R::name_taken);
    CHECK(seating.join("a", "c2", "bob") == R::seated);
    CHECK(seating.join("a", "c3", "cid") == R::table_full);
    CHECK(seating.join("b", "c3", "cid") == R::seated);
    CHECK(seating.join("c", "c3", "cid") == R::too_many_rooms);
    CHECK(seating.who("a") == std::vector<std::string>{"ann", "bob"});
    CHECK(seating.name_at("a", "c2") == "bob");
    CHECK(seating.leave("a", "c2") == "bob");
    CHECK_FALSE(seating.leave("a", "c2").has_value());
    CHECK(seating.join("b", "c1", "ann") == R::seated);
    const auto left = seating.leave_all("c1");
    REQUIRE(left.size() == 2);
    CHECK(seating.rooms() == 1);  // room a emptied and went; b has cid
    CHECK(seating.who("b") == std::vector<std::string>{"cid"});
}

TEST_CASE("the engine subscribes on join, publishes arrivals, rolls and departures", "[table][engine]") {
    Table table;
    RecordingStream ann, bob;
    const auto joined = table.call("c-ann", "join r1 ann 12", ann);
    REQUIRE(joined.ok());
    CHECK(json::parse(joined.body()) == json{{"room", "r1"}, {"you", "ann"}, {"seated", 1}, {"players", {"ann"}}});
    CHECK(ann.subscribed == std::vector<std::pair<std::string, std::uint64_t>>{{"r1", 12}});
    REQUIRE(table.channels.published.size() == 1);
    CHECK(table.channels.published[0].data == json{{"type", "joined"}, {"room", "r1"}, {"who", "ann"}});
    // Joining again re-subscribes (a reconnect that lost nothing) without a second arrival.
    REQUIRE(table.call("c-ann", "join r1 ann", ann).ok());
    CHECK(ann.subscribed.size() == 2);
    CHECK(table.channels.published.size() == 1);

    REQUIRE(table.call("c-bob", "join r1 bob", bob).ok());
    const auto rolled = table.call("c-bob", "roll r1 4d6kh3", bob);
    REQUIRE(rolled.ok());
    const json roll = json::parse(rolled.body());
    const json& published = table.channels.published.back().data;
    CHECK(published.at("type") == "roll");
    CHECK(published.at("who") == "bob");
    CHECK(published.at("expr") == "4d6kh3");
    CHECK(published.at("rolls").size() == 4);
    CHECK(published.at("kept").size() == 3);
    int kept = 0;
    for (const auto& die : published.at("kept")) kept += die.get<int>();
    CHECK(published.at("total") == kept);
    CHECK(roll.at("offset") == table.channels.offset);
    json without_offset = roll;
    without_offset.erase("offset");
    CHECK(without_offset == published);

    CHECK(table.call("c-eve", "roll r1 1d6", bob).code() == "not_seated");
    CHECK(table.call("c-bob", "roll r1 3x6", bob).code() == "bad_expression");
    CHECK(table.call("c-bob", "roll r1 100001d6", bob).code() == "bad_expression");

    REQUIRE(table.call("c-bob", "leave r1", bob).ok());
    CHECK(bob.unsubscribed == std::vector<std::string>{"r1"});
    CHECK(table.channels.published.back().data == json{{"type", "left"}, {"room", "r1"}, {"who", "bob"}});
    // Leaving again is no error, and announces nothing.
    const auto count_before = table.channels.published.size();
    CHECK(table.call("c-bob", "leave r1", bob).ok());
    CHECK(table.channels.published.size() == count_before);

    table.engine->client_gone("c-ann");
    CHECK(table.channels.published.back().data ==
          json{{"type", "left"}, {"room", "r1"}, {"who", "ann"}, {"reason", "disconnected"}});
    RecordingStream probe;
    CHECK(json::parse(table.call("c-x", "who r1", probe).body()).at("players") == json::array());
    table.engine->client_gone("never-seen");  // nothing to do, nothing published
    CHECK(table.channels.published.back().data.at("who") == "ann");
}

TEST_CASE("a watcher follows a room without a seat: not announced, not listed, cannot roll", "[table][engine]") {
    Table table;
    RecordingStream ann, eve;
    REQUIRE(table.call("c-ann", "join r1 ann", ann).ok());
    const auto watching = table.call("c-eve", "watch r1 5", eve);
    REQUIRE(watching.ok());
    CHECK(json::parse(watching.body()) == json{{"room", "r1"}, {"seated", 1}, {"players", {"ann"}}, {"watching", true}});
    CHECK(eve.subscribed == std::vector<std::pair<std::string, std::uint64_t>>{{"r1", 5}});
    CHECK(table.channels.published.size() == 1);  // ann's arrival only
    CHECK(table.call("c-eve", "roll r1 1d6", eve).code() == "not_seated");
    REQUIRE(table.call("c-eve", "leave r1", eve).ok());
    CHECK(eve.unsubscribed == std::vector<std::string>{"r1"});
    CHECK(table.channels.published.size() == 1);
}

TEST_CASE("a reply names at most max_listed players, and says how many are seated", "[table][engine]") {
    Table table(R"({"max_seats":200})");
    RecordingStream stream;
    for (int i = 0; i < 150; ++i)
        REQUIRE(table.call("c" + std::to_string(i), "join big p" + std::to_string(i), stream).ok());
    const json who = json::parse(table.call("c0", "who big", stream).body());
    CHECK(who.at("seated") == 150);
    CHECK(who.at("players").size() == table::TableEngine::max_listed);
}

TEST_CASE("the engine refuses what a table cannot do", "[table][engine]") {
    Table table(R"({"max_seats":1,"max_rooms":1})");
    RecordingStream ann, bob;
    REQUIRE(table.call("c-ann", "join r1 ann", ann).ok());
    CHECK(table.call("c-bob", "join r1 bob", bob).code() == "table_full");
    CHECK(table.call("c-bob", "join r2 bob", bob).code() == "too_many_rooms");
    CHECK(table.call("c-bob", "join r1 ann", bob).code() == "name_taken");
    CHECK(bob.subscribed.empty());  // refused: no channel granted
    // A plain zmq client has no connection to seat.
    RecordingStream plain;
    CHECK(table.call("", "join r1 zed", plain).code() == "bad_command");
    CHECK(table.call("c-bob", "fly", bob).code() == "bad_command");

    portico::EngineContext no_channels;
    no_channels.settings_json = "{}";
    CHECK_THROWS_AS(table::TableEngine(no_channels), std::invalid_argument);
}

TEST_CASE("several workers join, roll and leave at once", "[table][engine][threads]") {
    class CountingChannels final : public portico::Channels {
    public:
        std::uint64_t publish(std::string_view, std::string) override { return ++count; }
        std::atomic<std::uint64_t> count{0};
    } channels;
    portico::EngineContext context;
    context.settings_json = R"({"max_seats":100})";
    context.workers = 4;
    context.channels = &channels;
    table::TableEngine engine(context);
    std::vector<std::thread> workers;
    for (unsigned w = 0; w < 4; ++w) {
        workers.emplace_back([&, w] {
            RecordingStream stream;
            for (int i = 0; i < 200; ++i) {
                const std::string client = "c" + std::to_string(w) + "-" + std::to_string(i % 5);
                portico::Request request;
                request.client_id = client;
                request.worker = w;
                request.stream = &stream;
                const std::string join = "join r" + std::to_string(i % 3) + " p" + client;
                request.payload = join;
                (void)engine.handle(request);
                const std::string roll = "roll r" + std::to_string(i % 3) + " 2d6";
                request.payload = roll;
                (void)engine.handle(request);
                if (i % 7 == 0) engine.client_gone(client);
            }
        });
    }
    for (auto& worker : workers) worker.join();
    CHECK(channels.count > 0);
}
