#include "call_stats.hpp"

#include "text_display.hpp"

#include <algorithm>

namespace portico::plugin_check {
namespace {

constexpr std::size_t slowest_kept = 5;
constexpr std::size_t inputs_kept = 3;
constexpr std::size_t issues_kept = 24;  // distinct faults; beyond, they are counted in the last one

void add_input(std::vector<std::string>& inputs, const std::string& quoted) {
    if (inputs.size() < inputs_kept && std::find(inputs.begin(), inputs.end(), quoted) == inputs.end())
        inputs.push_back(quoted);
}

}  // namespace

void CallStats::record(std::string_view input, const Reply& reply, std::chrono::nanoseconds took) {
    ++calls_;
    note_duration(input, took);
    scratch_.clear();
    find_reply_issues(reply, scratch_);
    for (const ReplyIssue& issue : scratch_) tally(issue, input);
}

void CallStats::record_escaped_exception(std::string_view input, const std::string& what) {
    ++calls_;
    tally({Severity::problem, "exception",
           "an exception escaped handle() into the host (" + quote_input(what, 48) +
               "): portico would terminate; export the engine with PORTICO_PLUGIN"},
          input);
}

void CallStats::note_duration(std::string_view input, std::chrono::nanoseconds took) {
    if (took > deadline_) ++over_deadline_;
    if (slowest_.size() == slowest_kept && took <= slowest_.back().took) return;
    std::string quoted = quote_input(input);
    auto same = std::find_if(slowest_.begin(), slowest_.end(), [&](const SlowCall& s) { return s.input == quoted; });
    if (same != slowest_.end()) {
        if (same->took >= took) return;
        slowest_.erase(same);
    }
    slowest_.push_back({took, std::move(quoted)});
    std::sort(slowest_.begin(), slowest_.end(), [](const SlowCall& a, const SlowCall& b) { return a.took > b.took; });
    if (slowest_.size() > slowest_kept) slowest_.pop_back();
}

void CallStats::tally(const ReplyIssue& issue, std::string_view input) {
    IssueKey key{issue.severity, issue.check, issue.what};
    auto found = issues_.find(key);
    if (found == issues_.end()) {
        if (issues_.size() >= issues_kept) {
            key = IssueKey{issue.severity, issue.check, "further faults of this kind (not told apart)"};
        }
        found = issues_.try_emplace(key).first;
    }
    ++found->second.count;
    if (found->second.inputs.size() < inputs_kept) add_input(found->second.inputs, quote_input(input));
}

void CallStats::merge(const CallStats& other) {
    calls_ += other.calls_;
    over_deadline_ += other.over_deadline_;
    for (const SlowCall& slow : other.slowest_) {
        auto same = std::find_if(slowest_.begin(), slowest_.end(), [&](const SlowCall& s) { return s.input == slow.input; });
        if (same == slowest_.end()) slowest_.push_back(slow);
        else if (same->took < slow.took) same->took = slow.took;
    }
    std::sort(slowest_.begin(), slowest_.end(), [](const SlowCall& a, const SlowCall& b) { return a.took > b.took; });
    if (slowest_.size() > slowest_kept) slowest_.resize(slowest_kept);
    for (const auto& [key, tally] : other.issues_) {
        IssueTally& mine = issues_[key];
        mine.count += tally.count;
        for (const std::string& input : tally.inputs) add_input(mine.inputs, input);
    }
}

std::vector<Finding> CallStats::issue_findings() const {
    std::vector<Finding> findings;
    for (const auto& [key, tally] : issues_) {
        const auto& [severity, check, what] = key;
        std::string on;
        for (const std::string& input : tally.inputs) on += (on.empty() ? "" : ", ") + input;
        findings.push_back({severity, check,
                            what + "; " + format_count(tally.count) + (tally.count == 1 ? " call" : " calls") +
                                ", on " + on + (tally.count > tally.inputs.size() ? ", ..." : ""),
                            {}});
    }
    std::stable_sort(findings.begin(), findings.end(),
                     [](const Finding& a, const Finding& b) { return a.severity > b.severity; });
    return findings;
}

}  // namespace portico::plugin_check
