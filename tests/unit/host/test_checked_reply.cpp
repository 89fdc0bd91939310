// What the host makes of a plugin's reply before any client sees it
// (host/checked_reply.hpp): no socket, no plugin loaded.
#include "engine/checked_reply.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using portico::Reply;
using portico::check_reply;

TEST_CASE("valid results pass unchanged", "[checked_reply]") {
    const Reply json = check_reply(Reply::json(R"({"total":11,"rolls":[4,1,6]})"));
    CHECK(json.kind() == Reply::Kind::json);
    CHECK(json.body() == R"({"total":11,"rolls":[4,1,6]})");
    const Reply text = check_reply(Reply::text("h\xc3\xa9llo"));
    CHECK(text.kind() == Reply::Kind::text);
    CHECK(text.body() == "h\xc3\xa9llo");
    const Reply error = check_reply(Reply::error("bad_expression", "no dice"));
    CHECK(error.code() == "bad_expression");
    CHECK(error.body() == "no dice");
}

TEST_CASE("a result that is not one JSON value becomes bad_result", "[checked_reply]") {
    for (const char* body : {"{not json", "", "1 2", "{\"a\":1}}", "[1,"}) {
        INFO(body);
        const Reply reply = check_reply(Reply::json(body));
        CHECK(reply.kind() == Reply::Kind::error);
        CHECK(reply.code() == "bad_result");
    }
}

// nlohmann throws out_of_range for numbers a double cannot hold; accept()
// must say "no" rather than throw into the worker thread.
TEST_CASE("a JSON result with a number out of range becomes bad_result", "[checked_reply][regression]") {
    for (const char* body : {"1e400", "-1e400", R"({"total":1e999})", "[2E+308]"}) {
        INFO(body);
        Reply reply = Reply::text("");
        REQUIRE_NOTHROW(reply = check_reply(Reply::json(body)));
        CHECK(reply.kind() == Reply::Kind::error);
        CHECK(reply.code() == "bad_result");
    }
}

TEST_CASE("invalid UTF-8 in text and errors is replaced", "[checked_reply]") {
    const Reply text = check_reply(Reply::text("bad \xff\xfe end"));
    CHECK(text.kind() == Reply::Kind::text);
    CHECK(text.body() == "bad \xef\xbf\xbd\xef\xbf\xbd end");
    const Reply error = check_reply(Reply::error("oops", "bad \xc3"));
    CHECK(error.code() == "oops");
    CHECK(error.body() == "bad \xef\xbf\xbd");
}

TEST_CASE("an error without a usable code becomes engine_error, its message kept", "[checked_reply]") {
    for (const char* code : {"", "caf\xc3\xa9", "Bad Code!", "bad-code", "UPPER", "a b", "2d6", "_bad", "bad_",
                             "bad__code"}) {
        INFO(code);
        const Reply reply = check_reply(Reply::error(code, "what"));
        CHECK(reply.code() == "engine_error");
        CHECK(reply.body() == "what");
    }
    CHECK(check_reply(Reply::error(std::string(65, 'a'), "what")).code() == "engine_error");
    CHECK(check_reply(Reply::error(std::string(64, 'a'), "what")).code() == std::string(64, 'a'));
    CHECK(check_reply(Reply::error("bad_2d6", "what")).code() == "bad_2d6");
}

TEST_CASE("an error without a message gets one", "[checked_reply]") {
    const Reply reply = check_reply(Reply::error("bad_expression", ""));
    CHECK(reply.code() == "bad_expression");
    CHECK(reply.body() == "the engine gave no message");
}
