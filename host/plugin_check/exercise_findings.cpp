#include "exercise_findings.hpp"

#include "text_display.hpp"

#include <cstdio>

namespace portico::plugin_check {
namespace {

std::string slowest_text(const CallStats& stats, std::size_t count) {
    std::string out;
    for (std::size_t i = 0; i < stats.slowest().size() && i < count; ++i) {
        const CallStats::SlowCall& slow = stats.slowest()[i];
        out += (out.empty() ? "" : ", ") + format_duration(slow.took) + " on " + slow.input;
    }
    return out;
}

std::string seconds_text(std::chrono::nanoseconds elapsed) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(elapsed.count()) / 1e9);
    return text;
}

Finding memory_finding(const ExerciseResult& result) {
    if (!result.rss_before || !result.rss_after)
        return {Severity::note, "memory", "not measured: there was no random phase", {}};
    const auto before = static_cast<std::int64_t>(*result.rss_before);
    const auto after = static_cast<std::int64_t>(*result.rss_after);
    const std::int64_t growth = after - before;
    std::string text = "resident memory " + format_mebibytes(before) + " before the random phase, " +
                       format_mebibytes(after) + " after it (" + format_mebibytes(growth, true) + " over " +
                       format_count(result.random_calls) + " calls)";
    if (!memory_is_judged)
        return {Severity::note, "memory", text + "; not judged under a sanitizer (its allocator keeps freed memory)", {}};
    if (growth >= memory_problem_bytes)
        return {Severity::problem, "memory", text + ": the engine keeps memory per call; bound what it keeps", {}};
    if (growth >= memory_warning_bytes)
        return {Severity::warning, "memory", text + ": does the engine keep memory per call?", {}};
    return {Severity::ok, "memory", text, {}};
}

}  // namespace

std::vector<Finding> exercise_findings(const ExerciseResult& result, const ExercisePlan& plan,
                                       std::size_t fixed_inputs) {
    std::vector<Finding> findings;
    const CallStats& stats = result.stats;
    if (!result.error.empty()) findings.push_back({Severity::problem, "checker", result.error, {}});
    std::vector<Finding> issues = stats.issue_findings();
    bool reply_faults = false;
    for (const Finding& issue : issues) reply_faults |= issue.severity >= Severity::warning;

    std::string calls = format_count(stats.calls()) + " calls from " + std::to_string(plan.threads) +
                        " threads: " + format_count(fixed_inputs) + " fixed inputs, then random ones for " +
                        seconds_text(result.random_elapsed) + " (seed " + std::to_string(plan.seed) + ")";
    findings.push_back({Severity::ok, "calls", calls + (reply_faults ? "" : "; every reply well-formed"), {}});
    findings.insert(findings.end(), issues.begin(), issues.end());

    const std::string deadline = std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(plan.deadline).count());
    if (!stats.slowest().empty()) findings.push_back({Severity::note, "slowest", slowest_text(stats, 3), {}});
    if (stats.over_deadline() > 0)
        findings.push_back({Severity::problem, "deadline",
                            format_count(stats.over_deadline()) + (stats.over_deadline() == 1 ? " call" : " calls") +
                                " took longer than the " + deadline + " ms deadline; the slowest: " +
                                slowest_text(stats, 2),
                            {}});
    else
        findings.push_back({Severity::ok, "deadline", "no call took longer than " + deadline + " ms", {}});
    findings.push_back(memory_finding(result));
    return findings;
}

}  // namespace portico::plugin_check
