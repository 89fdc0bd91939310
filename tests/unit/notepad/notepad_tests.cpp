#include "notepad_command.hpp"
#include "notepad_engine.hpp"
#include "notepad_settings.hpp"
#include "notepad_store.hpp"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <thread>
#include <vector>

namespace {

notepad::Command parse_ok(std::string_view payload) {
    INFO("payload: " << payload);
    notepad::CommandResult result = notepad::parse_command(payload);
    INFO("error: " << result.error.code << ": " << result.error.message);
    REQUIRE(result.command);
    return *result.command;
}

notepad::CommandError parse_error(std::string_view payload) {
    INFO("payload: " << payload);
    notepad::CommandResult result = notepad::parse_command(payload);
    REQUIRE_FALSE(result.command);
    return result.error;
}

notepad::NotepadLimits settings_ok(const std::string& text) {
    INFO("settings: " << text);
    notepad::SettingsResult result = notepad::parse_settings(text);
    INFO("error: " << result.error);
    REQUIRE(result.limits);
    return *result.limits;
}

std::string settings_error(const std::string& text) {
    INFO("settings: " << text);
    notepad::SettingsResult result = notepad::parse_settings(text);
    REQUIRE_FALSE(result.limits);
    return result.error;
}

notepad::NotepadLimits limits(std::size_t notes, std::size_t bytes, std::size_t clients) {
    notepad::NotepadLimits l;
    l.max_notes_per_client = notes;
    l.max_note_bytes = bytes;
    l.max_clients = clients;
    return l;
}

// An engine with the given settings, and a helper sending as one client.
struct EngineFixture {
    explicit EngineFixture(std::string settings = "{}")
        : settings_json(std::move(settings)), engine(portico::EngineContext{"notepad", settings_json, 2}) {}

    portico::Reply send(std::string_view client, std::string_view payload) {
        return engine.handle(portico::Request{client, payload, 0});
    }

    std::string settings_json;
    notepad::NotepadEngine engine;
};

}  // namespace

// --- the command grammar ---------------------------------------------------

TEST_CASE("the four commands are parsed", "[notepad][command]") {
    CHECK(parse_ok("list").kind == notepad::CommandKind::list);
    CHECK(parse_ok("count").kind == notepad::CommandKind::count);
    CHECK(parse_ok("clear").kind == notepad::CommandKind::clear);
    const notepad::Command add = parse_ok("add buy milk");
    CHECK(add.kind == notepad::CommandKind::add);
    CHECK(add.text == "buy milk");
}

TEST_CASE("spaces around the payload and after the command are ignored", "[notepad][command]") {
    CHECK(parse_ok("  list \t").kind == notepad::CommandKind::list);
    CHECK(parse_ok("add\t  two  spaces   inside  ").text == "two  spaces   inside");
    CHECK(parse_ok("add line one\nline two").text == "line one\nline two");
    CHECK(parse_ok("add héllo wörld ✓").text == "héllo wörld ✓");
}

TEST_CASE("unknown and malformed commands are refused as bad_command", "[notepad][command]") {
    for (const char* payload : {"", "   ", "LIST", "lists", "remove 1", "addnote"}) {
        INFO("payload: \"" << payload << "\"");
        const notepad::CommandError error = parse_error(payload);
        CHECK(error.code == "bad_command");
        CHECK_THAT(error.message, Catch::Contains("add TEXT"));
    }
    const notepad::CommandError extra = parse_error("list all");
    CHECK(extra.code == "bad_command");
    CHECK(extra.message == "list takes no argument");
    CHECK(parse_error("clear now").message == "clear takes no argument");
    CHECK(parse_error("count 3").code == "bad_command");
}

TEST_CASE("an unknown command is quoted short and printable", "[notepad][command]") {
    const notepad::CommandError error = parse_error(std::string(100, 'z') + "\x01");
    CHECK_THAT(error.message, Catch::Contains("\"" + std::string(32, 'z') + "...\""));
    CHECK(parse_error("b\x01" "d").message.find("\"b?d\"") != std::string::npos);
}

TEST_CASE("bad notes are refused as bad_note", "[notepad][command]") {
    CHECK(parse_error("add").code == "bad_note");
    CHECK(parse_error("add    ").code == "bad_note");
    const notepad::CommandError control = parse_error(std::string("add a\x01z"));
    CHECK(control.code == "bad_note");
    CHECK_THAT(control.message, Catch::Contains("control character (byte 1 at position 1)"));
    CHECK(parse_error("add del\x7f").code == "bad_note");
    CHECK(parse_error(std::string("add nul\0x", 9)).code == "bad_note");
    const notepad::CommandError utf8 = parse_error("add \xc3\x28");
    CHECK(utf8.code == "bad_note");
    CHECK(utf8.message == "the note is not valid UTF-8");
}

TEST_CASE("UTF-8 is checked strictly", "[notepad][command]") {
    CHECK(notepad::is_valid_utf8(""));
    CHECK(notepad::is_valid_utf8("ascii"));
    CHECK(notepad::is_valid_utf8("\xc3\xa9"));           // é
    CHECK(notepad::is_valid_utf8("\xe2\x9c\x93"));       // ✓
    CHECK(notepad::is_valid_utf8("\xf0\x9f\x8e\xb2"));   // 🎲
    CHECK(notepad::is_valid_utf8("\xf4\x8f\xbf\xbf"));   // U+10FFFF
    CHECK_FALSE(notepad::is_valid_utf8("\x80"));         // a lone continuation byte
    CHECK_FALSE(notepad::is_valid_utf8("\xc0\xaf"));     // overlong '/'
    CHECK_FALSE(notepad::is_valid_utf8("\xe0\x80\xaf")); // overlong '/'
    CHECK_FALSE(notepad::is_valid_utf8("\xed\xa0\x80")); // surrogate U+D800
    CHECK_FALSE(notepad::is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
    CHECK_FALSE(notepad::is_valid_utf8("\xe2\x9c"));     // truncated
    CHECK_FALSE(notepad::is_valid_utf8("\xff"));
}

// --- the settings ------------------------------------------------------------

TEST_CASE("empty settings give the defaults", "[notepad][settings]") {
    const notepad::NotepadLimits l = settings_ok("{}");
    CHECK(l.max_notes_per_client == 100);
    CHECK(l.max_note_bytes == 1024);
    CHECK(l.max_clients == 10000);
}

TEST_CASE("custom settings are read, up to their caps", "[notepad][settings]") {
    const notepad::NotepadLimits l =
        settings_ok(R"({"max_notes_per_client": 100000, "max_note_bytes": 1048576, "max_clients": 1})");
    CHECK(l.max_notes_per_client == 100000);
    CHECK(l.max_note_bytes == 1048576);
    CHECK(l.max_clients == 1);
}

TEST_CASE("bad settings are refused with the key named", "[notepad][settings]") {
    CHECK(settings_error(R"({"max_note": 10})") == "notepad settings: unknown key \"max_note\"");
    CHECK(settings_error(R"({"max_clients": 0})") == "notepad settings: \"max_clients\" must be a positive integer");
    CHECK(settings_error(R"({"max_clients": -1})") == "notepad settings: \"max_clients\" must be a positive integer");
    CHECK(settings_error(R"({"max_note_bytes": "1k"})") ==
          "notepad settings: \"max_note_bytes\" must be a positive integer");
    CHECK(settings_error(R"({"max_notes_per_client": 1.5})") ==
          "notepad settings: \"max_notes_per_client\" must be a positive integer");
    CHECK(settings_error(R"({"max_clients": 1000001})") ==
          "notepad settings: \"max_clients\" must be at most 1000000, got 1000001");
    CHECK(settings_error("[]") == "notepad settings: expected a JSON object");
    CHECK_THAT(settings_error("{"), Catch::StartsWith("notepad settings: invalid JSON: "));
    // Out of range for a double: nlohmann's out_of_range, refused all the same.
    CHECK_THAT(settings_error(R"({"max_clients": 1e400})"), Catch::StartsWith("notepad settings: invalid JSON: "));
    CHECK_THAT(settings_error(R"({"max_clients": 1e400})"), Catch::Contains("number overflow"));
}

// --- the store ---------------------------------------------------------------

TEST_CASE("each client has its own notepad", "[notepad][store]") {
    notepad::NotepadStore store(limits(10, 100, 10));
    CHECK(store.add("a", "one").notes == 1);
    CHECK(store.add("a", "two").notes == 2);
    CHECK(store.add("b", "other").notes == 1);
    CHECK(store.list("a") == std::vector<std::string>{"one", "two"});
    CHECK(store.list("b") == std::vector<std::string>{"other"});
    CHECK(store.count("a") == 2);
    CHECK(store.count("nobody") == 0);
    CHECK(store.list("nobody").empty());
    CHECK(store.clients() == 2);  // reading an unknown client creates nothing

    store.clear("a");
    CHECK(store.count("a") == 0);
    CHECK(store.count("b") == 1);
    CHECK(store.clients() == 1);  // a cleared notepad frees its slot
    store.clear("nobody");
    CHECK(store.clients() == 1);
}

TEST_CASE("a full notepad refuses more notes and keeps what it has", "[notepad][store]") {
    notepad::NotepadStore store(limits(2, 100, 10));
    CHECK(store.add("a", "1").added);
    CHECK(store.add("a", "2").added);
    const notepad::NotepadStore::AddResult third = store.add("a", "3");
    CHECK_FALSE(third.added);
    CHECK(third.notes == 2);
    CHECK(store.list("a") == std::vector<std::string>{"1", "2"});
}

TEST_CASE("beyond max_clients the least recently used notepad is evicted", "[notepad][store]") {
    notepad::NotepadStore store(limits(10, 100, 3));
    store.add("a", "a1");
    store.add("b", "b1");
    store.add("c", "c1");
    CHECK(store.list("a").size() == 1);  // a is now the most recent; b the least
    store.add("d", "d1");
    CHECK(store.clients() == 3);
    CHECK(store.evictions() == 1);
    CHECK(store.count("b") == 0);
    CHECK(store.count("a") == 1);
    CHECK(store.count("c") == 1);
    CHECK(store.count("d") == 1);

    // count touches too: now a is the least recent after c and d were read.
    store.count("c");
    store.count("d");
    store.add("e", "e1");
    CHECK(store.count("a") == 0);
    CHECK(store.evictions() == 2);

    // A known client adding again evicts nobody.
    store.add("e", "e2");
    CHECK(store.evictions() == 2);
    CHECK(store.clients() == 3);
}

TEST_CASE("the store takes concurrent clients", "[notepad][store][threads]") {
    constexpr int threads = 8;
    constexpr int notes_each = 200;
    notepad::NotepadStore store(limits(notes_each, 100, 1000));
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&store, t] {
            const std::string own = "client-" + std::to_string(t);
            for (int i = 0; i < notes_each; ++i) {
                store.add(own, std::to_string(i));
                store.add("shared", std::to_string(t));
                store.count(own);
                store.list("shared");
            }
        });
    }
    for (auto& worker : workers) worker.join();
    for (int t = 0; t < threads; ++t) {
        const std::vector<std::string> notes = store.list("client-" + std::to_string(t));
        REQUIRE(notes.size() == notes_each);
        for (int i = 0; i < notes_each; ++i) CHECK(notes[static_cast<std::size_t>(i)] == std::to_string(i));
    }
    CHECK(store.count("shared") == notes_each);  // full: the rest were refused, none lost or doubled
    CHECK(store.clients() == threads + 1);
}

// --- the engine --------------------------------------------------------------

TEST_CASE("the engine answers each command in JSON", "[notepad][engine]") {
    EngineFixture f;
    CHECK(f.send("c1", "count").body() == R"({"notes":0})");
    CHECK(f.send("c1", "add buy milk").body() == R"({"notes":1})");
    CHECK(f.send("c1", R"(add say "hi" \ bye)").body() == R"({"notes":2})");
    const portico::Reply listed = f.send("c1", "list");
    REQUIRE(listed.kind() == portico::Reply::Kind::json);
    CHECK(nlohmann::json::parse(listed.body()) ==
          nlohmann::json{{"notes", {"buy milk", R"(say "hi" \ bye)"}}});
    CHECK(f.send("c1", "count").body() == R"({"notes":2})");
    CHECK(f.send("c2", "list").body() == R"({"notes":[]})");
    CHECK(f.send("c1", "clear").body() == R"({"notes":0})");
    CHECK(f.send("c1", "list").body() == R"({"notes":[]})");
}

TEST_CASE("the engine reports errors with their codes", "[notepad][engine]") {
    EngineFixture f(R"({"max_notes_per_client": 1, "max_note_bytes": 5})");
    const portico::Reply anonymous = f.send("", "list");
    CHECK(anonymous.code() == "no_client");
    CHECK_THAT(anonymous.body(), Catch::Contains("gateway"));
    CHECK(f.send("c", "what").code() == "bad_command");
    CHECK(f.send("c", "add").code() == "bad_note");

    const portico::Reply large = f.send("c", "add 123456");
    CHECK(large.code() == "note_too_large");
    CHECK(large.body() == "the note is 6 bytes; at most 5 are kept");
    CHECK(f.send("c", "add 12345").body() == R"({"notes":1})");

    const portico::Reply full = f.send("c", "add more");
    CHECK(full.code() == "notepad_full");
    CHECK_THAT(full.body(), Catch::Contains("holds 1 notes"));
    CHECK(f.send("c", "count").body() == R"({"notes":1})");
}

TEST_CASE("the engine refuses bad settings", "[notepad][engine]") {
    const std::string settings = R"({"max_notes": 3})";
    CHECK_THROWS_WITH(notepad::NotepadEngine(portico::EngineContext{"notepad", settings, 1}),
                      "notepad settings: unknown key \"max_notes\"");
}

TEST_CASE("the engine keeps at most max_clients notepads", "[notepad][engine]") {
    EngineFixture f(R"({"max_clients": 2})");
    f.send("a", "add 1");
    f.send("b", "add 1");
    f.send("c", "add 1");
    CHECK(f.engine.store().clients() == 2);
    CHECK(f.send("a", "count").body() == R"({"notes":0})");
    CHECK(f.send("c", "count").body() == R"({"notes":1})");
}
