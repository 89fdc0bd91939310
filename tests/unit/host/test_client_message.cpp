// What a WebSocket client sends and what it gets back (host/client_message.hpp):
// both message forms, every way a message is refused, and every reply shape.
// Replies in the envelope form are checked by parsing them with nlohmann.
#include "gateway/client_message.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <string>

namespace {

using nlohmann::json;
using portico::ClientRequest;
using portico::MessageForm;
using portico::RejectedMessage;
using portico::ReplyContext;
using portico::Reply;
using ReplyKind = portico::Reply::Kind;

const std::string replacement_character = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

ClientRequest accepted(std::string_view text) {
    portico::ParsedMessage parsed = portico::parse_client_message(text);
    if (parsed.rejected) FAIL("rejected: " << parsed.rejected->error.code << ": " << parsed.rejected->error.message);
    REQUIRE(parsed.request.has_value());
    return *parsed.request;
}

RejectedMessage rejected(std::string_view text) {
    portico::ParsedMessage parsed = portico::parse_client_message(text);
    REQUIRE_FALSE(parsed.request.has_value());
    REQUIRE(parsed.rejected.has_value());
    return *parsed.rejected;
}

std::set<std::string> keys_of(const json& object) {
    std::set<std::string> keys;
    for (const auto& item : object.items()) keys.insert(item.key());
    return keys;
}

// Parses a reply, failing the test (not throwing out of it) when it is not JSON.
json parse_reply(const std::string& text) {
    INFO("reply: " << text);
    REQUIRE(json::accept(text));
    return json::parse(text);
}

ReplyContext envelope_context(std::string id_json, std::string plugin) {
    ReplyContext context;
    context.form = MessageForm::envelope;
    context.id_json = std::move(id_json);
    context.plugin = std::move(plugin);
    return context;
}

ReplyContext shorthand_context(std::string plugin = "dice") {
    ReplyContext context;
    context.form = MessageForm::shorthand;
    context.plugin = std::move(plugin);
    return context;
}

// An envelope whose payload nests so that the whole message is `levels` deep:
// the envelope object is level 1, each array below it one more.
std::string nested_envelope(std::size_t levels, bool innermost_holds_a_value) {
    std::string text = R"({"plugin":"dice","payload":)";
    text.append(levels - 1, '[');
    if (innermost_holds_a_value) text += '1';
    text.append(levels - 1, ']');
    text += '}';
    return text;
}

}  // namespace

// ---------------------------------------------------------------- shorthand

TEST_CASE("shorthand: plugin then payload", "[client_message][shorthand]") {
    struct Case {
        const char* text;
        const char* payload;
    };
    const auto c = GENERATE(values<Case>({
        {"dice 3d6", "3d6"},
        {"dice   3d6", "3d6"},
        {"   dice 3d6   ", "3d6"},
        {"\tdice\t3d6\t", "3d6"},
        {"dice\t \t3d6", "3d6"},
        {"\r\ndice\r\n3d6\r\n", "3d6"},
        {"dice 3d6 + 4  kh1", "3d6 + 4  kh1"},  // inner spaces are the payload's own
        {"dice {\"expr\": \"3d6\"}", "{\"expr\": \"3d6\"}"},
        {"dice", ""},
        {"dice    ", ""},
        {"\tdice\t", ""},
    }));
    INFO("text: \"" << c.text << "\"");
    const ClientRequest request = accepted(c.text);
    CHECK(request.context.form == MessageForm::shorthand);
    CHECK(request.context.plugin == "dice");
    CHECK(request.context.id_json.empty());
    CHECK(request.payload == c.payload);
}

TEST_CASE("shorthand: valid names of every allowed character", "[client_message][shorthand]") {
    const ClientRequest request = accepted("my_plugin-2 hello world");
    CHECK(request.context.plugin == "my_plugin-2");
    CHECK(request.payload == "hello world");
    CHECK(accepted(std::string(32, 'a') + " x").context.plugin == std::string(32, 'a'));
}

TEST_CASE("shorthand: an empty or blank message is a bad request", "[client_message][shorthand][error]") {
    const auto text = GENERATE(as<std::string>{}, "", " ", "   ", "\t", " \t\r\n ");
    INFO("text: \"" << text << "\"");
    const RejectedMessage r = rejected(text);
    CHECK(r.error.code == "bad_request");
    CHECK_THAT(r.error.message, Catch::StartsWith("empty message"));
    CHECK(r.context.form == MessageForm::shorthand);
    CHECK(r.context.plugin.empty());
    CHECK(r.context.id_json.empty());
}

TEST_CASE("shorthand: invalid plugin names are unknown plugins, named in the message",
          "[client_message][shorthand][error]") {
    struct Case {
        const char* text;
        const char* quoted_name;
    };
    const auto c = GENERATE(values<Case>({
        {"Dice 3d6", "\"Dice\""},
        {"DICE 3d6", "\"DICE\""},
        {"di!ce 3d6", "\"di!ce\""},
        {"di.ce", "\"di.ce\""},
        {"[1,2] x", "\"[1,2]\""},
        {"\"dice\" 3d6", "\"\\\"dice\\\"\""},  // quotes in the name are escaped
        {"abcdefghijklmnopqrstuvwxyz0123456 3d6", "\"abcdefghijklmnopqrstuvwxyz0123456\""},
        {"d\xc3\xa9 1d4", "\"d\xc3\xa9\""},
    }));
    INFO("text: \"" << c.text << "\"");
    const RejectedMessage r = rejected(c.text);
    CHECK(r.error.code == "unknown_plugin");
    CHECK_THAT(r.error.message, Catch::StartsWith(std::string("no plugin named ") + c.quoted_name));
    CHECK(r.context.form == MessageForm::shorthand);
    CHECK(r.context.plugin.empty());
}

TEST_CASE("shorthand: a long bad name is cut to 40 bytes in the message", "[client_message][shorthand][error]") {
    const std::string name(100, 'X');
    const RejectedMessage r = rejected(name + " 3d6");
    CHECK(r.error.code == "unknown_plugin");
    CHECK_THAT(r.error.message, Catch::StartsWith("no plugin named \"" + std::string(40, 'X') + "\""));
    CHECK_THAT(r.error.message, !Catch::Contains(std::string(41, 'X')));
}

TEST_CASE("shorthand: a bad name of invalid UTF-8 gives a valid UTF-8 message", "[client_message][shorthand][error]") {
    SECTION("stray bytes") {
        const RejectedMessage r = rejected("\xff\xfe 3d6");
        CHECK(r.error.code == "unknown_plugin");
        CHECK_THAT(r.error.message, Catch::Contains(replacement_character));
        const std::string reply = portico::format_error(envelope_context("", ""), r.error.code, r.error.message);
        CHECK(parse_reply(reply).at("error").at("message") == r.error.message);
    }
    SECTION("a multi-byte character cut by the 40-byte limit") {
        const RejectedMessage r = rejected(std::string(39, 'A') + "\xc3\xa9 3d6");
        CHECK(r.error.code == "unknown_plugin");
        CHECK_THAT(r.error.message, Catch::StartsWith("no plugin named \"" + std::string(39, 'A') + replacement_character));
    }
}

// ---------------------------------------------------------------- envelope

TEST_CASE("envelope: id, plugin and payload", "[client_message][envelope]") {
    const ClientRequest request = accepted(R"({"id":7,"plugin":"dice","payload":"3d6"})");
    CHECK(request.context.form == MessageForm::envelope);
    CHECK(request.context.id_json == "7");
    CHECK(request.context.plugin == "dice");
    CHECK(request.payload == "3d6");
}

TEST_CASE("envelope: the id is kept as its JSON text", "[client_message][envelope][id]") {
    struct Case {
        const char* id;
        const char* id_json;
    };
    const auto c = GENERATE(values<Case>({
        {"0", "0"},
        {"7", "7"},
        {"18446744073709551615", "18446744073709551615"},
        {"-1", "-1"},
        {"-9223372036854775808", "-9223372036854775808"},
        {"1.5", "1.5"},
        {"true", "true"},
        {"false", "false"},
        {"null", "null"},
        {"\"abc\"", "\"abc\""},
        {"\"\"", "\"\""},
    }));
    INFO("id: " << c.id);
    const ClientRequest request = accepted(std::string(R"({"id":)") + c.id + R"(,"plugin":"dice","payload":"1d4"})");
    CHECK(request.context.id_json == c.id_json);
}

TEST_CASE("envelope: a 64-bit unsigned id comes back exact", "[client_message][envelope][id]") {
    const ClientRequest request = accepted(R"({"id":18446744073709551615,"plugin":"dice","payload":"1d4"})");
    const json reply = parse_reply(portico::format_result(request.context, ReplyKind::json, R"({"total":3})"));
    REQUIRE(reply.at("id").is_number_unsigned());
    CHECK(reply.at("id").get<std::uint64_t>() == std::numeric_limits<std::uint64_t>::max());
}

TEST_CASE("envelope: string ids with escapes and unicode come back equal", "[client_message][envelope][id]") {
    const auto id = GENERATE(as<std::string>{}, R"("a\"b\\c\/d\n\t\r\b\f")", R"("\u00e9\u4e2d\ud83c\udfb2")",
                             "\"caf\xc3\xa9 \xf0\x9f\x8e\xb2\"", R"("\u0000 nul")", R"("</script>")");
    INFO("id: " << id);
    const ClientRequest request = accepted(R"({"id":)" + id + R"(,"plugin":"dice","payload":"1d4"})");
    CHECK(json::parse(request.context.id_json) == json::parse(id));
    const json result = parse_reply(portico::format_result(request.context, ReplyKind::text, "4"));
    CHECK(result.at("id") == json::parse(id));
    const json error = parse_reply(portico::format_error(request.context, "bad_expression", "no"));
    CHECK(error.at("id") == json::parse(id));
}

TEST_CASE("envelope: without an id the replies have none", "[client_message][envelope][id]") {
    const ClientRequest request = accepted(R"({"plugin":"dice","payload":"3d6"})");
    CHECK(request.context.id_json.empty());
    CHECK(keys_of(parse_reply(portico::format_result(request.context, ReplyKind::json, "{}"))) ==
          std::set<std::string>{"plugin", "ok", "result"});
    CHECK(keys_of(parse_reply(portico::format_error(request.context, "x", "y"))) ==
          std::set<std::string>{"plugin", "ok", "error"});
}

TEST_CASE("envelope: an array or object id is refused", "[client_message][envelope][id][error]") {
    const auto id = GENERATE(as<std::string>{}, "[1]", "[]", "{}", R"({"n":1})");
    INFO("id: " << id);
    const RejectedMessage r = rejected(R"({"id":)" + id + R"(,"plugin":"dice","payload":"3d6"})");
    CHECK(r.error.code == "bad_request");
    CHECK(r.error.message == "\"id\" must be a string, number, boolean or null");
    CHECK(r.context.form == MessageForm::envelope);
    CHECK(r.context.id_json.empty());
}

TEST_CASE("envelope: a number too large for a double is malformed, not a crash", "[client_message][envelope][error]") {
    const RejectedMessage r = rejected(R"({"id":1e400,"plugin":"dice"})");
    CHECK(r.error.code == "bad_request");
    CHECK(r.error.message == "malformed JSON envelope");
}

TEST_CASE("envelope: plugin missing or not a string is a bad request, id kept", "[client_message][envelope][error]") {
    SECTION("missing") {
        const RejectedMessage r = rejected(R"({"id":9,"payload":"3d6"})");
        CHECK(r.error.code == "bad_request");
        CHECK(r.error.message == "the envelope has no \"plugin\"");
        CHECK(r.context.id_json == "9");
        CHECK(r.context.plugin.empty());
    }
    SECTION("not a string") {
        const auto plugin = GENERATE(as<std::string>{}, "5", "null", "true", R"(["dice"])", R"({"name":"dice"})");
        INFO("plugin: " << plugin);
        const RejectedMessage r = rejected(R"({"id":9,"plugin":)" + plugin + R"(,"payload":"3d6"})");
        CHECK(r.error.code == "bad_request");
        CHECK(r.error.message == "\"plugin\" must be a string");
        CHECK(r.context.id_json == "9");
        CHECK(r.context.plugin.empty());
    }
}

TEST_CASE("envelope: an invalid plugin name is an unknown plugin, id kept", "[client_message][envelope][error]") {
    struct Case {
        const char* plugin;
        const char* message;
    };
    const auto c = GENERATE(values<Case>({
        {R"("Dice")", "no plugin named \"Dice\""},
        {R"("")", "no plugin named \"\""},
        {R"("dice 3d6")", "no plugin named \"dice 3d6\""},
        {R"("a\"b")", "no plugin named \"a\\\"b\""},
        {R"("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH")", "no plugin named \"abcdefghijklmnopqrstuvwxyz0123456789ABCD\""},
    }));
    INFO("plugin: " << c.plugin);
    const RejectedMessage r = rejected(std::string(R"({"id":"q","plugin":)") + c.plugin + "}");
    CHECK(r.error.code == "unknown_plugin");
    CHECK(r.error.message == c.message);
    CHECK(r.context.form == MessageForm::envelope);
    CHECK(r.context.id_json == "\"q\"");
    CHECK(r.context.plugin.empty());
    // The reply carries the id but no plugin.
    const json reply = parse_reply(portico::format_error(r.context, r.error.code, r.error.message));
    CHECK(keys_of(reply) == std::set<std::string>{"id", "ok", "error"});
    CHECK(reply.at("id") == "q");
}

TEST_CASE("envelope: payload forms", "[client_message][envelope][payload]") {
    SECTION("a string goes as it is, escapes decoded") {
        CHECK(accepted(R"({"plugin":"dice","payload":"3d6"})").payload == "3d6");
        CHECK(accepted(R"({"plugin":"dice","payload":"a\"b\n\u00e9"})").payload == "a\"b\n\xc3\xa9");
        CHECK(accepted(R"({"plugin":"dice","payload":""})").payload.empty());
    }
    SECTION("any other JSON value goes as JSON text") {
        const auto payload = GENERATE(as<std::string>{}, R"({"expr":"3d6","seed":42})", "[1,2,3]", "42", "-1.5",
                                      "true", "null", R"({"nested":{"a":[{}]}})");
        INFO("payload: " << payload);
        const ClientRequest request = accepted(R"({"plugin":"dice","payload":)" + payload + "}");
        CHECK(json::parse(request.payload) == json::parse(payload));
    }
    SECTION("missing: empty") {
        const ClientRequest request = accepted(R"({"id":1,"plugin":"dice"})");
        CHECK(request.payload.empty());
        CHECK(request.context.plugin == "dice");
    }
}

TEST_CASE("envelope: unknown fields are ignored", "[client_message][envelope]") {
    const ClientRequest request =
        accepted(R"({"version":2,"id":3,"extra":{"deep":[1,{"x":null}]},"plugin":"dice","payload":"2d8","ok":false})");
    CHECK(request.context.id_json == "3");
    CHECK(request.context.plugin == "dice");
    CHECK(request.payload == "2d8");
}

TEST_CASE("envelope: whitespace around the object is allowed", "[client_message][envelope]") {
    const auto text = GENERATE(as<std::string>{}, R"(  {"plugin":"dice","payload":"3d6"})",
                               "\t\r\n{\"plugin\":\"dice\",\"payload\":\"3d6\"}\n\n",
                               "{ \"plugin\" : \"dice\" , \"payload\" : \"3d6\" }");
    INFO("text: " << text);
    const ClientRequest request = accepted(text);
    CHECK(request.context.form == MessageForm::envelope);
    CHECK(request.context.plugin == "dice");
    CHECK(request.payload == "3d6");
}

TEST_CASE("envelope: malformed JSON is a bad request", "[client_message][envelope][error]") {
    const auto text = GENERATE(as<std::string>{}, "{", "{}}", R"({"plugin":"dice")", R"({"plugin":dice})",
                               R"({'plugin':'dice'})", R"({"plugin":"dice"} trailing)", R"({"plugin":"dice",})",
                               "{\"plugin\":\"dice\",\"payload\":\"\xff\"}",  // invalid UTF-8 in a string
                               "{\"plugin\":\"dice\",\"payload\":\"a\nb\"}");  // raw control character
    INFO("text: " << text);
    const RejectedMessage r = rejected(text);
    CHECK(r.error.code == "bad_request");
    CHECK(r.error.message == "malformed JSON envelope");
    CHECK(r.context.form == MessageForm::envelope);
    CHECK(r.context.id_json.empty());
    CHECK(r.context.plugin.empty());
}

// ---------------------------------------------------------------- nesting depth

TEST_CASE("envelope: nesting up to max_json_depth is accepted", "[client_message][envelope][depth]") {
    REQUIRE(portico::max_json_depth == 32);
    const ClientRequest request = accepted(nested_envelope(portico::max_json_depth, true));
    const json payload = json::parse(request.payload);
    std::size_t depth = 0;
    for (const json* at = &payload; at->is_array(); at = &at->front()) ++depth;
    CHECK(depth == portico::max_json_depth - 1);  // the envelope itself is the first level
}

TEST_CASE("envelope: nesting deeper than max_json_depth is refused without crashing",
          "[client_message][envelope][depth][error]") {
    struct Case {
        std::size_t levels;
        bool value;
    };
    const auto c = GENERATE(values<Case>({
        {portico::max_json_depth + 1, true},
        {portico::max_json_depth + 2, false},
        {portico::max_json_depth + 2, true},
        {1000, true},
        {60'000, true},
        {60'000, false},
    }));
    INFO("levels: " << c.levels << (c.value ? " with a value" : " empty"));
    const RejectedMessage r = rejected(nested_envelope(c.levels, c.value));
    CHECK(r.error.code == "bad_request");
    CHECK(r.error.message == "JSON nested deeper than 32 levels");
    CHECK(r.context.form == MessageForm::envelope);
}

TEST_CASE("envelope: deep nesting of objects, and unterminated nesting, are refused",
          "[client_message][envelope][depth][error]") {
    SECTION("60,000 nested objects") {
        std::string text = R"({"plugin":"dice","payload":)";
        for (int i = 0; i < 60'000; ++i) text += R"({"a":)";
        text += "1";
        text.append(60'000, '}');
        text += '}';
        const RejectedMessage r = rejected(text);
        CHECK(r.error.code == "bad_request");
        CHECK_THAT(r.error.message, Catch::Contains("nested deeper than"));
    }
    SECTION("60,000 open brackets and no close") {
        const RejectedMessage r = rejected("{\"payload\":" + std::string(60'000, '['));
        CHECK(r.error.code == "bad_request");
    }
    SECTION("a deep id is refused too") {
        std::string text = R"({"id":)";
        text.append(60'000, '[');
        text.append(60'000, ']');
        text += R"(,"plugin":"dice"})";
        const RejectedMessage r = rejected(text);
        CHECK(r.error.code == "bad_request");
        CHECK(r.context.id_json.empty());
    }
}

// Regression (fixed in a3bd176): nlohmann reports a container's start at its
// parent's depth, so 33 nested containers used to pass when the innermost was
// empty ("[]") and fail only when it held a value ("[1]").
TEST_CASE("envelope: the depth limit counts containers, whether or not the innermost is empty",
          "[client_message][envelope][depth]") {
    CHECK(accepted(nested_envelope(portico::max_json_depth, false)).payload.size() ==
          2 * (portico::max_json_depth - 1));
    const RejectedMessage r = rejected(nested_envelope(portico::max_json_depth + 1, false));
    CHECK(r.error.code == "bad_request");
    CHECK(r.error.message == "JSON nested deeper than 32 levels");
}

// ---------------------------------------------------------------- formatting

TEST_CASE("format_result: shorthand replies are the body itself", "[client_message][format]") {
    CHECK(portico::format_result(shorthand_context(), ReplyKind::json, R"({"total":7})") == R"({"total":7})");
    CHECK(portico::format_result(shorthand_context(), ReplyKind::text, "7 (3+4)") == "7 (3+4)");
    CHECK(portico::format_result(shorthand_context(), ReplyKind::text, "").empty());
    CHECK(portico::format_result(shorthand_context(), ReplyKind::text, "a\"b\n") == "a\"b\n");
}

TEST_CASE("format_result: envelope with a JSON result", "[client_message][format]") {
    const std::string body = R"({"expr":"3d6","rolls":[1,2,3],"total":6})";
    const std::string text = portico::format_result(envelope_context("7", "dice"), ReplyKind::json, body);
    const json reply = parse_reply(text);
    CHECK(keys_of(reply) == std::set<std::string>{"id", "plugin", "ok", "result"});
    CHECK(reply.at("id") == 7);
    CHECK(reply.at("plugin") == "dice");
    CHECK(reply.at("ok") == true);
    CHECK(reply.at("result") == json::parse(body));
    // The body is spliced in as sent, not re-serialised.
    CHECK_THAT(text, Catch::Contains(body));
}

TEST_CASE("format_result: envelope with a JSON scalar result", "[client_message][format]") {
    const auto body = GENERATE(as<std::string>{}, "42", "\"text\"", "null", "[]", "-0.5");
    const json reply = parse_reply(portico::format_result(envelope_context("1", "dice"), ReplyKind::json, body));
    CHECK(reply.at("result") == json::parse(body));
}

TEST_CASE("format_result: envelope with a text result is a JSON string", "[client_message][format]") {
    const auto body = GENERATE(as<std::string>{}, "7", "", "a \"quoted\" word\nand a\ttab\\", "\xc3\xa9\xf0\x9f\x8e\xb2",
                               std::string("nul\0byte", 8), "\x01\x1f control", "{\"looks\":\"like json\"}");
    const json reply = parse_reply(portico::format_result(envelope_context("\"r\"", "dice"), ReplyKind::text, body));
    CHECK(keys_of(reply) == std::set<std::string>{"id", "plugin", "ok", "result"});
    CHECK(reply.at("id") == "r");
    CHECK(reply.at("ok") == true);
    REQUIRE(reply.at("result").is_string());
    CHECK(reply.at("result").get<std::string>() == body);
}

TEST_CASE("format_result: invalid UTF-8 in a text result is replaced, not thrown", "[client_message][format]") {
    std::string text;
    REQUIRE_NOTHROW(text = portico::format_result(envelope_context("1", "dice"), ReplyKind::text, "ok\xff\xc3(end"));
    const json reply = parse_reply(text);
    const std::string result = reply.at("result").get<std::string>();
    CHECK_THAT(result, Catch::StartsWith("ok" + replacement_character));
    CHECK_THAT(result, Catch::EndsWith("(end"));
}

TEST_CASE("format_error: shorthand replies are 'error: <message>'", "[client_message][format]") {
    CHECK(portico::format_error(shorthand_context(), "bad_expression", "unexpected 'x' at 2") ==
          "error: unexpected 'x' at 2");
    CHECK(portico::format_error(shorthand_context(""), "bad_request", "empty message") == "error: empty message");
}

TEST_CASE("format_error: envelope replies carry code and message", "[client_message][format]") {
    const json reply =
        parse_reply(portico::format_error(envelope_context("12", "dice"), "bad_expression", "unexpected \"x\"\nat 2"));
    CHECK(keys_of(reply) == std::set<std::string>{"id", "plugin", "ok", "error"});
    CHECK(reply.at("id") == 12);
    CHECK(reply.at("plugin") == "dice");
    CHECK(reply.at("ok") == false);
    CHECK(keys_of(reply.at("error")) == std::set<std::string>{"code", "message"});
    CHECK(reply.at("error").at("code") == "bad_expression");
    CHECK(reply.at("error").at("message") == "unexpected \"x\"\nat 2");
}

TEST_CASE("format_error: without id or plugin only ok and error remain", "[client_message][format]") {
    const json reply = parse_reply(portico::format_error(envelope_context("", ""), "bad_request", "malformed"));
    CHECK(keys_of(reply) == std::set<std::string>{"ok", "error"});
    CHECK(reply.at("ok") == false);
}

TEST_CASE("format_error: invalid UTF-8 in code or message does not throw and yields valid JSON",
          "[client_message][format]") {
    std::string text;
    REQUIRE_NOTHROW(text = portico::format_error(envelope_context("null", "dice"), "bad\xfe", "broken \xff\xc3 bytes"));
    const json reply = parse_reply(text);
    CHECK(reply.at("id").is_null());
    CHECK(reply.at("error").at("code") == "bad" + replacement_character);
    const std::string message = reply.at("error").at("message").get<std::string>();
    CHECK_THAT(message, Catch::StartsWith("broken " + replacement_character));
    CHECK_THAT(message, Catch::EndsWith(" bytes"));
}

TEST_CASE("a rejected message formats to a reply in its own form", "[client_message][format]") {
    SECTION("shorthand") {
        const RejectedMessage r = rejected("Dice 3d6");
        const std::string reply = portico::format_error(r.context, r.error.code, r.error.message);
        CHECK(reply == "error: " + r.error.message);
    }
    SECTION("envelope") {
        const RejectedMessage r = rejected(R"({"id":[1],"plugin":"dice"})");
        const json reply = parse_reply(portico::format_error(r.context, r.error.code, r.error.message));
        CHECK(keys_of(reply) == std::set<std::string>{"ok", "error"});
        CHECK(reply.at("error").at("code") == "bad_request");
    }
}

TEST_CASE("format_engine_reply: results and errors from an engine", "[client_message][format]") {
    SECTION("json result, envelope") {
        const Reply reply = Reply::json(R"({"total":11})");
        const json out = parse_reply(portico::format_engine_reply(envelope_context("5", "dice"), reply));
        CHECK(keys_of(out) == std::set<std::string>{"id", "plugin", "ok", "result"});
        CHECK(out.at("result").at("total") == 11);
        CHECK(out.at("ok") == true);
    }
    SECTION("text result, envelope") {
        const Reply reply = Reply::text("11");
        const json out = parse_reply(portico::format_engine_reply(envelope_context("5", "dice"), reply));
        CHECK(out.at("result") == "11");
    }
    SECTION("error, envelope: code and message from the engine") {
        const Reply reply = Reply::error("bad_expression", "no dice in \"x\"");
        const json out = parse_reply(portico::format_engine_reply(envelope_context("5", "dice"), reply));
        CHECK(keys_of(out) == std::set<std::string>{"id", "plugin", "ok", "error"});
        CHECK(out.at("ok") == false);
        CHECK(out.at("error").at("code") == "bad_expression");
        CHECK(out.at("error").at("message") == "no dice in \"x\"");
    }
    SECTION("shorthand") {
        CHECK(portico::format_engine_reply(shorthand_context(), Reply::json(R"({"total":11})")) == R"({"total":11})");
        CHECK(portico::format_engine_reply(shorthand_context(), Reply::error("bad_expression", "no dice")) ==
              "error: no dice");
    }
}

// The envelope is read in one pass, without a document, when it has the usual
// shape, and by a full parse otherwise: both must answer alike.
TEST_CASE("envelope: repeated fields, the last one counts, on either path", "[client_message][envelope][sax]") {
    SECTION("two plugins") {
        CHECK(accepted(R"({"plugin":"notepad","plugin":"dice","payload":"1d4"})").context.plugin == "dice");
    }
    SECTION("a number, then a string, for the plugin") {
        CHECK(accepted(R"({"plugin":5,"plugin":"dice"})").context.plugin == "dice");
    }
    SECTION("a string, then a number, for the plugin") {
        CHECK(rejected(R"({"id":1,"plugin":"dice","plugin":5})").error.message == "\"plugin\" must be a string");
    }
    SECTION("an object id replaced by a number") {
        CHECK(accepted(R"({"id":{"a":1},"id":2,"plugin":"dice"})").context.id_json == "2");
    }
    SECTION("a number id replaced by an array") {
        CHECK(rejected(R"({"id":2,"id":[1],"plugin":"dice"})").error.code == "bad_request");
    }
    SECTION("a string payload replaced by an object") {
        CHECK(json::parse(accepted(R"({"plugin":"dice","payload":"3d6","payload":{"n":3}})").payload) ==
              json{{"n", 3}});
    }
}

TEST_CASE("envelope: keys nested below the top level are not the envelope's", "[client_message][envelope][sax]") {
    const ClientRequest request =
        accepted(R"({"x":{"plugin":"notepad","id":9,"payload":"no"},"plugin":"dice","y":[{"payload":1}],"payload":"d20"})");
    CHECK(request.context.plugin == "dice");
    CHECK(request.context.id_json.empty());
    CHECK(request.payload == "d20");
}

TEST_CASE("envelope: scalar ids keep their JSON text on the one-pass path", "[client_message][envelope][sax]") {
    CHECK(accepted(R"({"id":-7,"plugin":"dice"})").context.id_json == "-7");
    CHECK(accepted(R"({"id":2.5,"plugin":"dice"})").context.id_json == "2.5");
    CHECK(accepted(R"({"id":true,"plugin":"dice"})").context.id_json == "true");
    CHECK(accepted(R"({"id":null,"plugin":"dice"})").context.id_json == "null");
    CHECK(accepted(R"({"id":"a\"b","plugin":"dice"})").context.id_json == R"("a\"b")");
    CHECK(rejected(R"({"id":3})").error.message == "the envelope has no \"plugin\"");
    CHECK(rejected(R"({"id":3})").context.id_json == "3");
    CHECK(rejected(R"({"plugin":"dice","payload":"3d6"} x)").error.message == "malformed JSON envelope");
}

namespace {

std::string describe(const portico::ParsedMessage& parsed) {
    if (parsed.request) {
        const auto& r = *parsed.request;
        return "request id=" + r.context.id_json + " plugin=" + r.context.plugin + " payload=" + r.payload;
    }
    if (parsed.rejected) {
        const auto& r = *parsed.rejected;
        return "rejected id=" + r.context.id_json + " plugin=" + r.context.plugin + " " + r.error.code + ": " +
               r.error.message;
    }
    return "nothing";
}

std::string_view trimmed(std::string_view text) {
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!text.empty() && space(text.front())) text.remove_prefix(1);
    while (!text.empty() && space(text.back())) text.remove_suffix(1);
    return text;
}

}  // namespace

// Differential: envelopes mutated at random (fixed seed, so every run tries
// the same ones) go through parse_client_message(), which reads most of them
// in one pass, and through the full parse alone; the answers must be the same.
TEST_CASE("envelope: the one-pass reader answers every mutated envelope as the full parse does",
          "[client_message][envelope][sax][differential]") {
    const std::vector<std::string> seeds = {
        R"({"id":7,"plugin":"dice","payload":"3d6"})",
        R"({"plugin":"dice","payload":{"expr":"3d6","n":[1,2.5,-3e2,true,null]}})",
        R"({"id":"a\"b\u00e9","plugin":"notepad","payload":"put k v","x":{"plugin":"no"}})",
        R"({"id":18446744073709551615,"plugin":"dice","plugin":"dice2","payload":12})",
        R"({"payload":"d20","id":null,"y":[[{"z":[]}]],"plugin":"dice"})",
        R"({"id":[1],"plugin":"dice"})",
        R"({"plugin":"Dice!","id":-0.5})",
    };
    const std::string alphabet = "{}[]\":,0123456789.-+eE tfnrul\\ idpluginaylod\x01\xc3\xa9\xff";
    std::mt19937 random(20261129);
    auto pick = [&random](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(random); };

    int compared = 0;
    int valid = 0;  // valid JSON: the one-pass reader reads these to the end
    for (int round = 0; round < 20000; ++round) {
        std::string text = seeds[pick(seeds.size())];
        const std::size_t mutations = 1 + pick(4);
        for (std::size_t m = 0; m < mutations && !text.empty(); ++m) {
            const std::size_t at = pick(text.size());
            switch (pick(4)) {
                case 0: text.erase(at, 1); break;
                case 1: text.insert(at, 1, alphabet[pick(alphabet.size())]); break;
                case 2: text[at] = alphabet[pick(alphabet.size())]; break;
                case 3: text.insert(at, text.substr(pick(text.size()), 1 + pick(8))); break;
            }
        }
        const std::string_view envelope = trimmed(text);
        if (envelope.empty() || envelope.front() != '{') continue;  // not an envelope: shorthand
        const std::string fast = describe(portico::parse_client_message(text));
        const std::string full = describe(portico::detail::parse_envelope_fully(envelope));
        if (fast != full) {
            INFO("text: " << text);
            CHECK(fast == full);
        }
        ++compared;
        valid += json::accept(envelope) ? 1 : 0;
    }
    INFO("compared " << compared << ", valid JSON " << valid);
    CHECK(compared > 10000);
    CHECK(valid > 2000);
}

TEST_CASE("format_event: an event carries the request's id and plugin, never \"ok\"", "[client_message][format][event]") {
    const json out = parse_reply(portico::format_event(envelope_context("\"q\"", "odds"), R"({"samples":2000})"));
    CHECK(keys_of(out) == std::set<std::string>{"id", "plugin", "event"});
    CHECK(out.at("id") == "q");
    CHECK(out.at("event").at("samples") == 2000);
    const json dropped = parse_reply(portico::format_event(envelope_context("3", "odds"), "[1,2]", 5));
    CHECK(keys_of(dropped) == std::set<std::string>{"id", "plugin", "event", "dropped"});
    CHECK(dropped.at("dropped") == 5);
    CHECK(portico::format_event(shorthand_context("odds"), R"({"samples":2000})") == R"(event: {"samples":2000})");
    // Shorthand says what was dropped too, as a push says what was missed.
    CHECK(portico::format_event(shorthand_context("odds"), "[1,2]", 5) == "event: [1,2] (dropped 5)");
}

TEST_CASE("channel frames: subscribed, pushes and unsubscribed, in both forms", "[client_message][format][channels]") {
    const auto envelope = envelope_context("7", "table");
    const json subscribed = parse_reply(portico::format_subscribed(envelope, "room1", 42, ""));
    CHECK(subscribed == json{{"id", 7}, {"plugin", "table"}, {"channel", "room1"}, {"subscribed", true}, {"next", 42}});
    const json lost = parse_reply(portico::format_subscribed(envelope, "room1", 42, "too_old"));
    CHECK(lost.at("lost") == "too_old");

    const json push = parse_reply(portico::format_push(envelope, "room1", 43, R"({"total":9})", 0));
    // A push answers no request: no id, no "ok".
    CHECK(push == json{{"plugin", "table"}, {"channel", "room1"}, {"offset", 43}, {"data", {{"total", 9}}}});
    const json missed = parse_reply(portico::format_push(envelope, "room1", 50, "[1]", 6));
    CHECK(missed.at("missed") == 6);

    const json left = parse_reply(portico::format_unsubscribed(envelope, "room1", nullptr));
    CHECK(left == json{{"id", 7}, {"plugin", "table"}, {"channel", "room1"}, {"subscribed", false}});
    const portico::Reply why = portico::Reply::error("engine_lost", "the engine \"x\" was lost");
    const json closed = parse_reply(portico::format_unsubscribed(envelope, "room1", &why));
    CHECK(closed.at("error") == json{{"code", "engine_lost"}, {"message", "the engine \"x\" was lost"}});

    const auto shorthand = shorthand_context("table");
    CHECK(portico::format_subscribed(shorthand, "room1", 42, "") == "table room1: subscribed, next #42");
    CHECK(portico::format_subscribed(shorthand, "room1", 42, "reset") ==
          "table room1: subscribed, next #42; earlier messages are lost (reset)");
    CHECK(portico::format_push(shorthand, "room1", 43, R"({"total":9})", 0) == R"(table room1 #43: {"total":9})");
    CHECK(portico::format_push(shorthand, "room1", 50, "1", 2) == "table room1 #50: 1 (missed 2)");
    CHECK(portico::format_unsubscribed(shorthand, "room1", nullptr) == "table room1: unsubscribed");
    CHECK(portico::format_unsubscribed(shorthand, "room1", &why) ==
          "table room1: unsubscribed: the engine \"x\" was lost");
}
