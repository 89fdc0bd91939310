// The checker's parts that need no plugin: the usage heuristic, the reply
// checks, the text helpers, the journal and the input lists.
#include "call_stats.hpp"
#include "input_list.hpp"
#include "journal.hpp"
#include "engine/checked_reply.hpp"
#include "reply_check.hpp"
#include "text_display.hpp"
#include "usage_examples.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace portico::plugin_check;
using portico::Reply;

namespace {

bool contains(const std::vector<std::string>& list, const std::string& item) {
    return std::find(list.begin(), list.end(), item) != list.end();
}

std::vector<ReplyIssue> issues_of(const Reply& reply) {
    std::vector<ReplyIssue> issues;
    find_reply_issues(reply, issues);
    return issues;
}

}  // namespace

TEST_CASE("examples from dice's usage: the literal ones, and the synopsis with numbers", "[usage]") {
    const auto examples =
        examples_from_usage("dice NdM[kh|kl|dh|dl N][+|-NdM|K]...  e.g. 4d6kh3, 2d20kl1+5, d20-2", "dice");
    CHECK(examples.front() == "4d6kh3");
    CHECK(contains(examples, "2d20kl1+5"));
    CHECK(contains(examples, "d20-2"));
    CHECK(contains(examples, "3d6"));
    CHECK(contains(examples, "1d20"));
    CHECK(contains(examples, "0d0"));
    CHECK(contains(examples, "3d6kh"));
    CHECK(contains(examples, "3d6dl 3"));
    CHECK(contains(examples, "3d6-3d6"));
    for (const std::string& example : examples) {
        INFO(example);
        CHECK(example.find_first_of("NMK[]|.") == std::string::npos);
        CHECK(example.compare(0, 4, "dice") != 0);
    }
    CHECK(examples.size() <= max_usage_examples);
}

TEST_CASE("examples from alternatives: each command, with and without its argument", "[usage]") {
    const auto notepad = examples_from_usage("notepad add TEXT | list | count | clear", "notepad");
    for (const char* expected : {"add hello", "add hello world", "add x", "add", "list", "count", "clear"})
        CHECK(contains(notepad, expected));
    CHECK(contains(notepad, "add \xff\xfe"));
    CHECK(contains(notepad, "add " + std::string(4096, 'w')));
    CHECK(contains(notepad, std::string("add a\0b", 7)));

    const auto test = examples_from_usage("test throw|badjson|text X|client|sleep N|worker|settings|crash", "test");
    for (const char* expected : {"throw", "badjson", "text hello", "text", "sleep 3", "sleep 1", "sleep 0", "sleep",
                                 "crash"})
        CHECK(contains(test, expected));
    // A number placeholder gets no hostile words, and no number beyond 20: "sleep N" stays quick.
    for (const std::string& example : test) {
        if (example.compare(0, 6, "sleep ") != 0) continue;
        INFO(example);
        CHECK(example.size() <= 8);
        CHECK(std::stoi(example.substr(6)) <= 20);
    }
}

TEST_CASE("examples: remarks in parentheses go, capitalised words stay, <placeholders> count", "[usage]") {
    const auto greet = examples_from_usage("greet NAME (1 to 64 printable characters)", "greet");
    CHECK(greet.front() == "hello");
    CHECK(contains(greet, "hello world"));
    for (const std::string& example : greet) CHECK(example.find('(') == std::string::npos);

    const auto say = examples_from_usage("say Hello <name>", "say");
    CHECK(contains(say, "Hello hello"));
    CHECK(examples_from_usage("", "x").empty());
    CHECK(examples_from_usage("lonely", "lonely").empty());
}

TEST_CASE("reply checks follow the contract", "[reply]") {
    CHECK(issues_of(Reply::json(R"({"a":1})")).empty());
    CHECK(issues_of(Reply::text("h\xc3\xa9llo")).empty());
    CHECK(issues_of(Reply::error("bad_expression", "expected a number at position 2")).empty());

    auto bad_json = issues_of(Reply::json("{not json"));
    REQUIRE(bad_json.size() == 1);
    CHECK(bad_json[0].severity == Severity::problem);
    CHECK_THAT(bad_json[0].what, Catch::Contains("not valid JSON"));

    auto bad_text = issues_of(Reply::text("caf\xc3"));
    REQUIRE(bad_text.size() == 1);
    CHECK_THAT(bad_text[0].what, Catch::Contains("not valid UTF-8"));

    auto bad_code = issues_of(Reply::error("Bad Code!", ""));
    REQUIRE(bad_code.size() == 2);
    CHECK_THAT(bad_code[0].what, Catch::Contains("\"Bad Code!\" is not a snake_case word"));
    CHECK_THAT(bad_code[1].what, Catch::Contains("empty message"));

    auto thrown = issues_of(Reply::error("engine_error", "engine failed: boom"));
    REQUIRE(thrown.size() == 1);
    CHECK(thrown[0].severity == Severity::warning);
    CHECK(thrown[0].check == "exception");

    auto host_code = issues_of(Reply::error("timeout", "too slow"));
    REQUIRE(host_code.size() == 1);
    CHECK(host_code[0].severity == Severity::note);

    for (const char* good : {"bad_expression", "a", "a9", "notepad_full", "x1_y2"}) CHECK(portico::is_error_code(good));
    for (const char* bad : {"", "Bad", "a__b", "_a", "a_", "9a", "bad-code", "bad code"}) CHECK_FALSE(portico::is_error_code(bad));
    CHECK_FALSE(portico::is_error_code(std::string(65, 'a')));
}

TEST_CASE("call stats group faults and keep the slowest calls, one per input", "[stats]") {
    CallStats one(std::chrono::milliseconds(10));
    CallStats two(std::chrono::milliseconds(10));
    one.record("badjson", Reply::json("{"), std::chrono::milliseconds(1));
    two.record("badjson", Reply::json("{"), std::chrono::milliseconds(20));
    two.record("other", Reply::json("["), std::chrono::milliseconds(2));
    one.merge(two);
    CHECK(one.calls() == 3);
    CHECK(one.over_deadline() == 1);
    REQUIRE(one.slowest().size() == 2);
    CHECK(one.slowest()[0].input == "\"badjson\"");
    CHECK(one.slowest()[0].took == std::chrono::milliseconds(20));
    const auto findings = one.issue_findings();
    REQUIRE(findings.size() == 1);
    CHECK_THAT(findings[0].message, Catch::Contains("3 calls, on \"badjson\", \"other\""));
}

TEST_CASE("text helpers", "[text]") {
    CHECK(is_valid_utf8("plain"));
    CHECK(is_valid_utf8("\xe2\x98\x83 \xf0\x9f\x98\x80"));
    for (const char* bad : {"\xff", "\xc3\x28", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"})
        CHECK_FALSE(is_valid_utf8(bad));
    CHECK(quote_input(std::string("a\0b\n\"", 5)) == R"("a\x00b\n\"")");
    CHECK(quote_input(std::string(100, 'x'), 4) == "\"xxxx...\" (100 bytes)");
    CHECK(format_count(1234567) == "1,234,567");
    CHECK(format_count(12) == "12");
}

TEST_CASE("the journal carries any byte, one record per line", "[journal]") {
    std::string all_bytes;
    for (int byte = 0; byte < 256; ++byte) all_bytes += static_cast<char>(byte);
    CHECK(unescape_field(escape_field(all_bytes)) == all_bytes);
    CHECK(escape_field("a\tb\nc").find_first_of("\t\n") == std::string::npos);

    JournalReader reader;
    reader.feed("stage\tload\nfinding\tok\tsym");
    auto first = reader.next();
    REQUIRE(first.has_value());
    CHECK(*first == std::vector<std::string>{"stage", "load"});
    CHECK_FALSE(reader.next());  // the second record is not complete yet
    reader.feed("bols\t" + escape_field("a\tb") + "\n");
    auto second = reader.next();
    REQUIRE(second.has_value());
    CHECK(*second == std::vector<std::string>{"finding", "ok", "symbols", "a\tb"});
}

TEST_CASE("input lists hand any inputs over", "[inputs]") {
    const std::vector<std::string> inputs = {"", "crash", std::string("\0\xff", 2), std::string(1 << 20, 'x')};
    auto fd = write_input_list(inputs);
    REQUIRE(fd.has_value());
    // read_input_list takes the descriptor over; give it its own.
    auto read = read_input_list(::dup(fd.value().get()));
    REQUIRE(read.has_value());
    CHECK(read.value() == inputs);
}

TEST_CASE("examples: an example marker after a comma", "[usage]") {
    const auto calc = examples_from_usage("calc EXPR, e.g. 1+2; 3*4.", "calc");
    CHECK(calc.at(0) == "1+2");
    CHECK(calc.at(1) == "3*4");
    CHECK(contains(calc, "hello"));
    for (const std::string& example : calc) CHECK(example.find(',') == std::string::npos);
}
