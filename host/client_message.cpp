#include "client_message.hpp"

#include "config.hpp"

#include <nlohmann/json.hpp>

namespace portico {
namespace {

using nlohmann::json;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view text) {
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
    return text;
}

// JSON string literal for any bytes (invalid UTF-8 is replaced, never thrown).
std::string json_quoted(std::string_view text) {
    return json(std::string(text)).dump(-1, ' ', false, json::error_handler_t::replace);
}

ParsedMessage reject(ReplyContext context, std::string code, std::string message) {
    ParsedMessage parsed;
    parsed.rejected = RejectedMessage{std::move(context), Error{std::move(code), std::move(message)}};
    return parsed;
}

std::optional<std::string_view> bad_plugin_name(std::string_view name) {
    if (is_valid_plugin_name(name)) return std::nullopt;
    return name;
}

ParsedMessage parse_shorthand(std::string_view text) {
    ReplyContext context;
    context.form = MessageForm::shorthand;
    text = trim(text);
    if (text.empty()) return reject(context, "bad_request", "empty message: send \"PLUGIN PAYLOAD\", e.g. \"dice 3d6\"");
    std::size_t end = 0;
    while (end < text.size() && !is_space(text[end])) ++end;
    const std::string_view plugin = text.substr(0, end);
    if (bad_plugin_name(plugin))
        return reject(context, "unknown_plugin",
                      "no plugin named " + json_quoted(plugin.substr(0, 40)) + ": send \"PLUGIN PAYLOAD\", e.g. \"dice 3d6\"");
    ParsedMessage parsed;
    context.plugin = std::string(plugin);
    parsed.request = ClientRequest{std::move(context), std::string(trim(text.substr(end)))};
    return parsed;
}

ParsedMessage parse_envelope(std::string_view text) {
    ReplyContext context;
    context.form = MessageForm::envelope;
    bool too_deep = false;
    // Depth is bounded while parsing, so a hostile nesting never recurses deep.
    json::parser_callback_t limit_depth = [&too_deep](int depth, json::parse_event_t event, json&) {
        // nlohmann reports a container's start at its parent's depth.
        const bool opens = event == json::parse_event_t::object_start || event == json::parse_event_t::array_start;
        if (depth + (opens ? 1 : 0) > static_cast<int>(max_json_depth)) too_deep = true;
        return !too_deep;
    };
    json root = json::parse(text.begin(), text.end(), limit_depth, false);
    if (too_deep)
        return reject(context, "bad_request",
                      "JSON nested deeper than " + std::to_string(max_json_depth) + " levels");
    if (root.is_discarded()) return reject(context, "bad_request", "malformed JSON envelope");
    if (!root.is_object()) return reject(context, "bad_request", "the JSON envelope must be an object");

    if (auto id = root.find("id"); id != root.end()) {
        if (id->is_object() || id->is_array())
            return reject(context, "bad_request", "\"id\" must be a string, number, boolean or null");
        context.id_json = id->dump();
    }
    auto plugin = root.find("plugin");
    if (plugin == root.end()) return reject(context, "bad_request", "the envelope has no \"plugin\"");
    if (!plugin->is_string()) return reject(context, "bad_request", "\"plugin\" must be a string");
    const auto& name = plugin->get_ref<const std::string&>();
    if (bad_plugin_name(name))
        return reject(context, "unknown_plugin", "no plugin named " + json_quoted(name.substr(0, 40)));
    context.plugin = name;

    std::string payload;
    if (auto value = root.find("payload"); value != root.end()) {
        // A string goes to the engine as it is; any other JSON value as JSON text.
        payload = value->is_string() ? value->get<std::string>() : value->dump();
    }
    ParsedMessage parsed;
    parsed.request = ClientRequest{std::move(context), std::move(payload)};
    return parsed;
}

void append_head(std::string& out, const ReplyContext& context) {
    out += '{';
    if (!context.id_json.empty()) {
        out += "\"id\":";
        out += context.id_json;
        out += ',';
    }
    if (!context.plugin.empty()) {
        out += "\"plugin\":";
        out += json_quoted(context.plugin);
        out += ',';
    }
}

}  // namespace

ParsedMessage parse_client_message(std::string_view text) {
    const std::string_view trimmed = trim(text);
    if (!trimmed.empty() && trimmed.front() == '{') return parse_envelope(trimmed);
    return parse_shorthand(text);
}

std::string format_result(const ReplyContext& context, wire::ReplyKind kind, std::string_view body) {
    if (context.form == MessageForm::shorthand) return std::string(body);
    std::string out;
    out.reserve(body.size() + context.plugin.size() + context.id_json.size() + 48);
    append_head(out, context);
    out += "\"ok\":true,\"result\":";
    if (kind == wire::ReplyKind::json) out += body;  // checked by the endpoint: spliced, not re-serialised
    else out += json_quoted(body);
    out += '}';
    return out;
}

std::string format_error(const ReplyContext& context, std::string_view code, std::string_view message) {
    if (context.form == MessageForm::shorthand) {
        std::string out = "error: ";
        out += message;
        return out;
    }
    std::string out;
    append_head(out, context);
    out += "\"ok\":false,\"error\":{\"code\":";
    out += json_quoted(code);
    out += ",\"message\":";
    out += json_quoted(message);
    out += "}}";
    return out;
}

std::string format_engine_reply(const ReplyContext& context, const wire::EngineReply& reply) {
    if (reply.kind == wire::ReplyKind::error) return format_error(context, reply.code, reply.body);
    return format_result(context, reply.kind, reply.body);
}

}  // namespace portico
