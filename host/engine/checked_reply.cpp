#include "engine/checked_reply.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace portico {
namespace {

bool is_ascii(const std::string& text) {
    for (unsigned char c : text)
        if (c >= 0x80) return false;
    return true;
}

// Invalid sequences become U+FFFD.
std::string valid_utf8(const std::string& text) {
    if (is_ascii(text)) return text;
    using nlohmann::json;
    return json::parse(json(text).dump(-1, ' ', false, json::error_handler_t::replace)).get<std::string>();
}

}  // namespace

bool is_error_code(const std::string& code) {
    if (code.empty() || code.size() > max_error_code_bytes) return false;
    if (code.front() < 'a' || code.front() > 'z' || code.back() == '_') return false;
    char previous = 0;
    for (char c : code) {
        const bool word = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!word && !(c == '_' && previous != '_')) return false;
        previous = c;
    }
    return true;
}

Reply check_reply(Reply reply) {
    switch (reply.kind()) {
        case Reply::Kind::json:
            // accept() never throws: a number out of range is simply not accepted.
            if (!nlohmann::json::accept(reply.body()))
                return Reply::error("bad_result", "the engine returned a result that is not valid JSON");
            return reply;
        case Reply::Kind::text:
            return is_ascii(reply.body()) ? std::move(reply) : Reply::text(valid_utf8(reply.body()));
        case Reply::Kind::error: {
            // Clients match on codes: what is not a snake_case word is not one.
            const bool code_ok = is_error_code(reply.code());
            const bool message_ok = !reply.body().empty() && is_ascii(reply.body());
            if (code_ok && message_ok) return reply;
            std::string message = reply.body().empty() ? std::string("the engine gave no message") : valid_utf8(reply.body());
            return Reply::error(code_ok ? reply.code() : "engine_error", std::move(message));
        }
    }
    return reply;
}

}  // namespace portico
