// The client message reader (host/gateway/client_message.hpp) on any bytes, in both
// forms, and every reply formatted for what it read.
//
// Differential: for an envelope (first non-space byte '{'), the one-pass
// reader behind parse_client_message() and the full parse
// (detail::parse_envelope_fully()) must give the same answer: request or
// refusal, form, id, plugin, payload, error code and message.
// Checks: exactly one of request and refusal; a request names a valid plugin;
// a shorthand request is "PLUGIN PAYLOAD" trimmed; every envelope reply is
// valid JSON and valid UTF-8 and echoes the id and plugin; shorthand replies
// are the body as it is, or "error: " and the message.
#include "gateway/client_message.hpp"
#include "config/config.hpp"
#include "fuzz_support.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using nlohmann::json;
using portico::MessageForm;
using portico::ParsedMessage;
using portico::ReplyContext;
using ReplyKind = portico::Reply::Kind;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view text) {
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
    return text;
}

// Printable for a failure message: bytes outside ASCII as \xNN.
std::string escaped(std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x20 && byte < 0x7f && c != '\\') {
            out += c;
        } else {
            out += "\\x";
            out += hex[byte >> 4];
            out += hex[byte & 0x0f];
        }
    }
    return out;
}

std::string describe(const ParsedMessage& parsed) {
    std::string out;
    auto context = [&out](const ReplyContext& c) {
        out += c.form == MessageForm::envelope ? " envelope" : " shorthand";
        out += " id=" + escaped(c.id_json) + " plugin=" + escaped(c.plugin);
    };
    if (parsed.request) {
        out += "request";
        context(parsed.request->context);
        out += " payload=" + escaped(parsed.request->payload);
    }
    if (parsed.rejected) {
        out += out.empty() ? "rejected" : " AND rejected";
        context(parsed.rejected->context);
        out += " " + escaped(parsed.rejected->error.code) + ": " + escaped(parsed.rejected->error.message);
    }
    return out.empty() ? "nothing" : out;
}

void check_shape(std::string_view text, const ParsedMessage& parsed) {
    FUZZ_REQUIRE(parsed.request.has_value() != parsed.rejected.has_value(), describe(parsed));
    const std::string_view trimmed = trim(text);
    const bool envelope = !trimmed.empty() && trimmed.front() == '{';
    const ReplyContext& context = parsed.request ? parsed.request->context : parsed.rejected->context;
    FUZZ_REQUIRE((context.form == MessageForm::envelope) == envelope, describe(parsed));
    if (parsed.rejected) {
        const auto& error = parsed.rejected->error;
        FUZZ_REQUIRE(error.code == "bad_request" || error.code == "unknown_plugin", describe(parsed));
        FUZZ_REQUIRE(!error.message.empty() && portico::fuzz::is_valid_utf8(error.message), describe(parsed));
        FUZZ_REQUIRE(context.plugin.empty(), describe(parsed));
        return;
    }
    FUZZ_REQUIRE(portico::is_valid_plugin_name(context.plugin), describe(parsed));
    if (envelope) return;
    // Shorthand: the first word, then the rest trimmed.
    FUZZ_REQUIRE(context.id_json.empty(), describe(parsed));
    const std::size_t end = trimmed.find_first_of(" \t\r\n");
    FUZZ_REQUIRE(trimmed.substr(0, end) == context.plugin, describe(parsed));
    const std::string_view rest = end == std::string_view::npos ? std::string_view() : trim(trimmed.substr(end));
    FUZZ_REQUIRE(rest == parsed.request->payload, describe(parsed));
}

void check_envelope_reply(const ReplyContext& context, const std::string& reply, bool ok) {
    FUZZ_REQUIRE(portico::fuzz::is_valid_utf8(reply), "reply is not UTF-8: " + escaped(reply));
    FUZZ_REQUIRE(json::accept(reply), "reply is not JSON: " + escaped(reply));
    const json root = json::parse(reply);
    FUZZ_REQUIRE(root.is_object() && root.at("ok") == ok, reply);
    FUZZ_REQUIRE(root.contains("id") == !context.id_json.empty(), reply);
    if (!context.id_json.empty()) FUZZ_REQUIRE(root.at("id") == json::parse(context.id_json), reply);
    FUZZ_REQUIRE(root.contains("plugin") == !context.plugin.empty(), reply);
    if (!context.plugin.empty()) FUZZ_REQUIRE(root.at("plugin") == context.plugin, reply);
}

void check_replies(const ParsedMessage& parsed) {
    if (parsed.rejected) {
        const auto& [context, error] = *parsed.rejected;
        const std::string reply = portico::format_error(context, error.code, error.message);
        if (context.form == MessageForm::shorthand) {
            FUZZ_REQUIRE(reply == "error: " + error.message, reply);
            return;
        }
        check_envelope_reply(context, reply, false);
        const json root = json::parse(reply);
        FUZZ_REQUIRE(root.at("error") == json({{"code", error.code}, {"message", error.message}}), reply);
        return;
    }
    const auto& [context, payload] = *parsed.request;
    // An engine that answers with the payload itself: as text (any bytes),
    // as JSON (when it is JSON), and as an error message.
    const std::string text_reply = portico::format_result(context, ReplyKind::text, payload);
    const std::string error_reply = portico::format_error(context, "engine_error", payload);
    const bool payload_is_json = json::accept(payload);
    const std::string json_body = payload_is_json ? payload : R"({"rolls":[1,2],"total":3})";
    const std::string json_reply = portico::format_engine_reply(context, portico::Reply::json(json_body));
    if (context.form == MessageForm::shorthand) {
        FUZZ_REQUIRE(text_reply == payload && json_reply == json_body && error_reply == "error: " + payload,
                     describe(parsed));
        return;
    }
    check_envelope_reply(context, text_reply, true);
    check_envelope_reply(context, json_reply, true);
    check_envelope_reply(context, error_reply, false);
    FUZZ_REQUIRE(json::parse(json_reply).at("result") == json::parse(json_body), json_reply);
    // Text goes out as a JSON string: exactly the payload when it is UTF-8.
    if (portico::fuzz::is_valid_utf8(payload)) FUZZ_REQUIRE(json::parse(text_reply).at("result") == payload, text_reply);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = portico::fuzz::as_text(data, size);
    const ParsedMessage parsed = portico::parse_client_message(text);
    check_shape(text, parsed);

    const std::string_view trimmed = trim(text);
    if (!trimmed.empty() && trimmed.front() == '{') {
        const std::string fast = describe(parsed);
        const std::string full = describe(portico::detail::parse_envelope_fully(trimmed));
        FUZZ_REQUIRE(fast == full, "one-pass reader: " + fast + "\nfull parse:      " + full);
        // JSON skips the same spaces the reader trims.
        const std::string untrimmed = describe(portico::detail::parse_envelope_fully(text));
        FUZZ_REQUIRE(untrimmed == full, "untrimmed: " + untrimmed + "\ntrimmed:   " + full);
    }
    check_replies(parsed);
    return 0;
}
