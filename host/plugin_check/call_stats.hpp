#pragma once
// What one worker saw over its calls: how many, how slow, and what was wrong
// with the replies (grouped: one fault on many inputs is one entry, with its
// count and the first few inputs). Each worker owns one; the engine process
// merges them after joining the workers, so nothing here is shared.
#include "finding.hpp"
#include "reply_check.hpp"

#include <portico/plugin.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace portico::plugin_check {

class CallStats {
public:
    explicit CallStats(std::chrono::nanoseconds deadline) : deadline_(deadline) {}

    void record(std::string_view input, const Reply& reply, std::chrono::nanoseconds took);
    // An exception crossed the plugin boundary out of handle().
    void record_escaped_exception(std::string_view input, const std::string& what);
    void merge(const CallStats& other);

    std::uint64_t calls() const noexcept { return calls_; }
    std::uint64_t over_deadline() const noexcept { return over_deadline_; }

    struct SlowCall {
        std::chrono::nanoseconds took{0};
        std::string input;  // quoted
    };
    // The slowest calls, one per input, slowest first.
    const std::vector<SlowCall>& slowest() const noexcept { return slowest_; }

    // The reply faults as report lines, worst first.
    std::vector<Finding> issue_findings() const;

private:
    struct IssueTally {
        std::uint64_t count = 0;
        std::vector<std::string> inputs;  // quoted, the first few distinct ones
    };
    using IssueKey = std::tuple<Severity, std::string, std::string>;  // severity, check, what

    void tally(const ReplyIssue& issue, std::string_view input);
    void note_duration(std::string_view input, std::chrono::nanoseconds took);

    std::chrono::nanoseconds deadline_;
    std::uint64_t calls_ = 0;
    std::uint64_t over_deadline_ = 0;
    std::vector<SlowCall> slowest_;
    std::map<IssueKey, IssueTally> issues_;
    std::vector<ReplyIssue> scratch_;  // reused per call: no allocation when all is well
};

}  // namespace portico::plugin_check
