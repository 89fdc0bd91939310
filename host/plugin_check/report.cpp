#include "report.hpp"

#include "text_display.hpp"

#include <algorithm>

namespace portico::plugin_check {
namespace {

std::string shown(const std::string& text) {
    return is_valid_utf8(text) && !has_control_characters(text) ? text : quote_input(text, 200);
}

std::string label(Severity severity) {
    switch (severity) {
        case Severity::ok: return "ok     ";
        case Severity::note: return "note   ";
        case Severity::warning: return "warning";
        case Severity::problem: return "PROBLEM";
    }
    return "PROBLEM";
}

std::string counted(std::size_t n, const char* one, const char* many) {
    return (n == 0 ? std::string("no") : std::to_string(n)) + " " + (n == 1 ? one : many);
}

}  // namespace

Report::Report(const CheckOptions& options) : options_(options) {}

void Report::set_info(const std::string& key, const std::string& value) { info_.emplace(key, value); }

void Report::add(Finding finding) {
    const bool known = std::any_of(findings_.begin(), findings_.end(), [&](const Finding& f) {
        return f.severity == finding.severity && f.check == finding.check && f.message == finding.message;
    });
    if (!known) findings_.push_back(std::move(finding));
}

std::size_t Report::count(Severity severity) const {
    return static_cast<std::size_t>(
        std::count_if(findings_.begin(), findings_.end(), [&](const Finding& f) { return f.severity == severity; }));
}

int Report::exit_code() const {
    const bool checker_failed = std::any_of(findings_.begin(), findings_.end(), [](const Finding& f) {
        return f.severity == Severity::problem && f.check == "checker";
    });
    return checker_failed ? 2 : has_problems() ? 1 : 0;
}

void Report::print(std::ostream& out) const {
    out << "portico-plugin-check: " << options_.plugin_path << "\n";
    auto info = [&](const char* key) {
        const auto found = info_.find(key);
        return found == info_.end() ? std::string() : shown(found->second);
    };
    if (!info("name").empty() || !info("api").empty()) {
        out << "  plugin " << (info("name").empty() ? "(info not read)" : info("name"));
        if (!info("version").empty()) out << " " << info("version");
        if (!info("api").empty()) out << ", plugin API " << info("api");
        if (!info("description").empty()) out << ": " << info("description");
        out << "\n";
    }
    if (!info("usage").empty()) out << "  usage  " << info("usage") << "\n";
    out << "\n";
    for (const Finding& finding : findings_) {
        out << label(finding.severity) << " " << finding.check << ": " << finding.message << "\n";
        for (const std::string& detail : finding.details) out << "        | " << detail << "\n";
    }
    out << "\n";
    const std::size_t problems = count(Severity::problem);
    const std::size_t warnings = count(Severity::warning);
    out << (problems == 0 ? "PASS: " : "FAIL: ") << counted(problems, "problem", "problems");
    out << ", " << counted(warnings, "warning", "warnings");
    if (!saved_files_.empty()) out << "; " << counted(saved_files_.size(), "input", "inputs") << " saved in " << options_.out_dir;
    out << " (seed " << options_.seed << ")\n";
}

}  // namespace portico::plugin_check
