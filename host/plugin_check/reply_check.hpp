#pragma once
// Checks one Reply against the contract in portico/plugin.hpp: a JSON
// result is exactly one valid JSON value, a text result is UTF-8, an error
// has a snake_case code and a message. Pure: no engine, no threads.
#include "finding.hpp"

#include <portico/plugin.hpp>

#include <string>
#include <vector>

namespace portico::plugin_check {

// One thing wrong with a reply. `what` names it without the input, so the
// same fault on many inputs is counted as one.
struct ReplyIssue {
    Severity severity = Severity::problem;
    std::string check;  // "reply", "exception", "message" or "code"
    std::string what;
};

// Appends the reply's issues to `issues` (nothing when it is fine).
void find_reply_issues(const Reply& reply, std::vector<ReplyIssue>& issues);

}  // namespace portico::plugin_check
