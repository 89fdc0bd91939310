#pragma once
// One line of the checker's report: how bad, which check, what was found.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portico::plugin_check {

// ok: a check passed; note: worth knowing, not wrong; warning: against the
// contract or the guide, but portico copes; problem: fails the check.
enum class Severity { ok, note, warning, problem };

// The word the journal carries ("ok", "note", "warning", "problem").
std::string_view severity_name(Severity severity);
std::optional<Severity> parse_severity(std::string_view name);

struct Finding {
    Severity severity = Severity::ok;
    std::string check;    // a short word: "symbols", "reply", "crash", ...
    std::string message;  // one line, for a human
    std::vector<std::string> details;  // indented lines under it (e.g. the engine's last output)
};

}  // namespace portico::plugin_check
