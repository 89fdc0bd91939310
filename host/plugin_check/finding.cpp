#include "finding.hpp"

namespace portico::plugin_check {

std::string_view severity_name(Severity severity) {
    switch (severity) {
        case Severity::ok: return "ok";
        case Severity::note: return "note";
        case Severity::warning: return "warning";
        case Severity::problem: return "problem";
    }
    return "problem";
}

std::optional<Severity> parse_severity(std::string_view name) {
    for (Severity severity : {Severity::ok, Severity::note, Severity::warning, Severity::problem})
        if (severity_name(severity) == name) return severity;
    return std::nullopt;
}

}  // namespace portico::plugin_check
