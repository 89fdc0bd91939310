#include "reply_check.hpp"

#include "engine/checked_reply.hpp"
#include "text_display.hpp"

#include <nlohmann/json.hpp>

#include <set>

namespace portico::plugin_check {
namespace {

// The codes the host and gateway use themselves (docs/protocol.md): a plugin
// that uses them for its own meaning confuses clients.
bool is_host_code(const std::string& code) {
    static const std::set<std::string> host_codes = {"bad_request", "unknown_plugin", "binary_frame", "unavailable",
                                                     "timeout",     "bad_result",     "too_large",    "overloaded",
                                                     "shutting_down"};
    return host_codes.count(code) > 0;
}

// PORTICO_PLUGIN's exception barrier turns an exception into this.
constexpr std::string_view barrier_prefix = "engine failed: ";

}  // namespace

void find_reply_issues(const Reply& reply, std::vector<ReplyIssue>& issues) {
    switch (reply.kind()) {
        case Reply::Kind::json:
            if (!nlohmann::json::accept(reply.body()))
                issues.push_back({Severity::problem, "reply",
                                  "a JSON result that is not valid JSON (portico answers bad_result instead)"});
            return;
        case Reply::Kind::text:
            if (!is_valid_utf8(reply.body()))
                issues.push_back({Severity::problem, "reply",
                                  "a text result that is not valid UTF-8 (portico replaces the bad bytes)"});
            return;
        case Reply::Kind::error:
            break;
    }
    const std::string& code = reply.code();
    const std::string& message = reply.body();
    if (code.empty()) {
        issues.push_back({Severity::problem, "reply", "an error with an empty code (portico sends engine_error)"});
    } else if (!is_error_code(code)) {
        issues.push_back({Severity::problem, "reply",
                          "error code " + quote_input(code, 32) + " is not a snake_case word of at most 64 characters"});
    } else if (is_host_code(code)) {
        issues.push_back({Severity::note, "code",
                          "error code \"" + code + "\" is also one of portico's own codes (docs/protocol.md): "
                          "clients cannot tell them apart"});
    }
    if (message.empty()) {
        issues.push_back({Severity::problem, "reply",
                          "an error (code " + quote_input(code, 32) + ") with an empty message: say what is wrong"});
    } else if (!is_valid_utf8(message)) {
        issues.push_back({Severity::warning, "message",
                          "an error message that is not valid UTF-8 (portico replaces the bad bytes); "
                          "quote input bytes escaped"});
    }
    if (code == "engine_error" && message.compare(0, barrier_prefix.size(), barrier_prefix) == 0) {
        issues.push_back({Severity::warning, "exception",
                          "handle() threw (PORTICO_PLUGIN's wrapper made it engine_error): " +
                              quote_input(message.substr(barrier_prefix.size()), 48) + "; return Reply::error instead"});
    }
}

}  // namespace portico::plugin_check
