#include "gateway/client_message.hpp"

#include "config/config.hpp"

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
        return reject(context, "unknown_plugin", "no plugin named " + json_quoted(plugin.substr(0, 40)));
    ParsedMessage parsed;
    context.plugin = std::string(plugin);
    parsed.request = ClientRequest{std::move(context), std::string(trim(text.substr(end)))};
    return parsed;
}

}  // namespace

// The full parse: every envelope the fast path below does not take.
ParsedMessage detail::parse_envelope_fully(std::string_view text) {
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

namespace {

// The envelope as clients send it: an object whose "id" is a scalar, whose
// "plugin" is a string and whose "payload" is a string or a scalar, read in
// one pass with no document and no allocation beyond the fields kept. Any
// other shape (another root, a container in one of these fields, a syntax
// error, deep nesting) gives up, and detail::parse_envelope_fully() decides, so
// every error and edge case is answered exactly as by the full parse.
class EnvelopeReader final : public json::json_sax_t {
public:
    enum class Field : std::uint8_t { none, id, plugin, payload };

    bool null() override { return scalar(json(nullptr)); }
    bool boolean(bool value) override { return scalar(json(value)); }
    bool number_integer(number_integer_t value) override { return scalar(json(value)); }
    bool number_unsigned(number_unsigned_t value) override { return scalar(json(value)); }
    bool number_float(number_float_t value, const string_t&) override { return scalar(json(value)); }
    bool string(string_t& value) override {
        if (depth_ != 1) return true;
        switch (field_) {
            case Field::id: id_json = json(value).dump(); break;
            case Field::plugin:
                plugin = std::move(value);
                plugin_is_string = true;
                break;
            case Field::payload: payload = std::move(value); break;
            case Field::none: break;
        }
        field_ = Field::none;
        return true;
    }
    bool binary(binary_t&) override { return false; }
    bool start_object(std::size_t) override { return open(); }
    bool start_array(std::size_t) override { return depth_ > 0 && open(); }
    bool end_object() override { return close(); }
    bool end_array() override { return close(); }
    bool key(string_t& name) override {
        if (depth_ != 1) return true;
        field_ = name == "id" ? Field::id : name == "plugin" ? Field::plugin : name == "payload" ? Field::payload : Field::none;
        if (field_ != Field::none) seen_ |= 1u << static_cast<unsigned>(field_);
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

    bool has(Field field) const { return seen_ & (1u << static_cast<unsigned>(field)); }

    std::string id_json;
    std::string plugin;
    bool plugin_is_string = false;
    std::string payload;

private:
    bool scalar(const json& value) {
        if (depth_ != 1) return true;
        switch (field_) {
            case Field::id: id_json = value.dump(); break;
            case Field::plugin: plugin_is_string = false; break;
            case Field::payload: payload = value.dump(); break;
            case Field::none: break;
        }
        field_ = Field::none;
        return true;
    }
    // Only the root object and containers under fields nobody reads.
    bool open() {
        if (depth_ == 1 && field_ != Field::none) return false;
        if (++depth_ > static_cast<int>(max_json_depth)) return false;
        field_ = Field::none;
        return true;
    }
    bool close() {
        --depth_;
        return true;
    }

    int depth_ = 0;
    Field field_ = Field::none;
    unsigned seen_ = 0;
};

ParsedMessage parse_envelope(std::string_view text) {
    EnvelopeReader reader;
    if (!json::sax_parse(text.begin(), text.end(), &reader, nlohmann::detail::input_format_t::json, true))
        return detail::parse_envelope_fully(text);
    ReplyContext context;
    context.form = MessageForm::envelope;
    context.id_json = std::move(reader.id_json);
    if (!reader.has(EnvelopeReader::Field::plugin)) return reject(context, "bad_request", "the envelope has no \"plugin\"");
    if (!reader.plugin_is_string) return reject(context, "bad_request", "\"plugin\" must be a string");
    if (bad_plugin_name(reader.plugin))
        return reject(context, "unknown_plugin", "no plugin named " + json_quoted(reader.plugin.substr(0, 40)));
    context.plugin = std::move(reader.plugin);
    ParsedMessage parsed;
    parsed.request = ClientRequest{std::move(context), std::move(reader.payload)};
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

std::string format_result(const ReplyContext& context, Reply::Kind kind, std::string_view body) {
    if (context.form == MessageForm::shorthand) return std::string(body);
    std::string out;
    out.reserve(body.size() + context.plugin.size() + context.id_json.size() + 48);
    append_head(out, context);
    out += "\"ok\":true,\"result\":";
    if (kind == Reply::Kind::json) out += body;  // checked by the endpoint: spliced, not re-serialised
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

std::string format_rate_limited(const ReplyContext& context, std::uint64_t retry_after_ms) {
    const std::string message = "too many requests for plugin \"" + context.plugin + "\"; retry in " +
                                std::to_string(retry_after_ms) + " ms";
    if (context.form == MessageForm::shorthand) return "error: " + message;
    std::string out;
    append_head(out, context);
    out += "\"ok\":false,\"error\":{\"code\":\"rate_limited\",\"message\":";
    out += json_quoted(message);
    out += ",\"retry_after_ms\":";
    out += std::to_string(retry_after_ms);
    out += "}}";
    return out;
}

namespace {

// What the client lost before this message (events dropped, pushes missed),
// when anything: " (WORD N)" after a shorthand message, ',"WORD":N' in an envelope.
void append_lost_count(std::string& out, MessageForm form, std::string_view word, std::uint64_t count) {
    if (count == 0) return;
    if (form == MessageForm::shorthand) {
        out += " (";
        out += word;
        out += ' ';
        out += std::to_string(count);
        out += ')';
        return;
    }
    out += ",\"";
    out += word;
    out += "\":";
    out += std::to_string(count);
}

}  // namespace

std::string format_event(const ReplyContext& context, std::string_view event_json, std::uint32_t dropped) {
    if (context.form == MessageForm::shorthand) {
        std::string out = "event: ";
        out += event_json;
        append_lost_count(out, context.form, "dropped", dropped);
        return out;
    }
    std::string out;
    out.reserve(event_json.size() + context.plugin.size() + context.id_json.size() + 48);
    append_head(out, context);
    out += "\"event\":";
    out += event_json;  // checked by the endpoint: one JSON value
    append_lost_count(out, context.form, "dropped", dropped);
    out += '}';
    return out;
}

namespace {

// {"plugin":"table","channel":"room1", with the request's id when given.
void append_channel_head(std::string& out, const ReplyContext& context, std::string_view channel, bool with_id) {
    out += '{';
    if (with_id && !context.id_json.empty()) {
        out += "\"id\":";
        out += context.id_json;
        out += ',';
    }
    out += "\"plugin\":";
    out += json_quoted(context.plugin);
    out += ",\"channel\":";
    out += json_quoted(channel);
}

std::string shorthand_channel(const ReplyContext& context, std::string_view channel) {
    std::string out = context.plugin;
    out += ' ';
    out += channel;
    return out;
}

}  // namespace

std::string format_subscribed(const ReplyContext& context, std::string_view channel, std::uint64_t next,
                              std::string_view lost) {
    std::string out;
    if (context.form == MessageForm::shorthand) {
        out = shorthand_channel(context, channel);
        out += ": subscribed, next #";
        out += std::to_string(next);
        if (!lost.empty()) {
            out += "; earlier messages are lost (";
            out += lost;
            out += ')';
        }
        return out;
    }
    append_channel_head(out, context, channel, true);
    out += ",\"subscribed\":true,\"next\":";
    out += std::to_string(next);
    if (!lost.empty()) {
        out += ",\"lost\":";
        out += json_quoted(lost);
    }
    out += '}';
    return out;
}

std::string format_push(const ReplyContext& context, std::string_view channel, std::uint64_t offset,
                        std::string_view data_json, std::uint64_t missed) {
    std::string out;
    out.reserve(data_json.size() + channel.size() + context.plugin.size() + 64);
    if (context.form == MessageForm::shorthand) {
        out = shorthand_channel(context, channel);
        out += " #";
        out += std::to_string(offset);
        out += ": ";
        out += data_json;
        append_lost_count(out, context.form, "missed", missed);
        return out;
    }
    append_channel_head(out, context, channel, false);
    out += ",\"offset\":";
    out += std::to_string(offset);
    out += ",\"data\":";
    out += data_json;  // checked by the engine's hub: one JSON value
    append_lost_count(out, context.form, "missed", missed);
    out += '}';
    return out;
}

std::string format_unsubscribed(const ReplyContext& context, std::string_view channel, const Reply* reason) {
    std::string out;
    if (context.form == MessageForm::shorthand) {
        out = shorthand_channel(context, channel);
        out += ": unsubscribed";
        if (reason) {
            out += ": ";
            out += reason->body();
        }
        return out;
    }
    append_channel_head(out, context, channel, true);
    out += ",\"subscribed\":false";
    if (reason) {
        out += ",\"error\":{\"code\":";
        out += json_quoted(reason->code());
        out += ",\"message\":";
        out += json_quoted(reason->body());
        out += '}';
    }
    out += '}';
    return out;
}

std::string format_engine_reply(const ReplyContext& context, const Reply& reply) {
    if (reply.kind() == Reply::Kind::error) return format_error(context, reply.code(), reply.body());
    return format_result(context, reply.kind(), reply.body());
}

}  // namespace portico
