#pragma once
// The inputs the checker sends: a fixed set every plugin gets (empty, huge,
// binary, invalid UTF-8, hostile text, JSON-looking text, numbers at the
// edges), the examples derived from the usage line, and, for the random
// phase, generated inputs (see RandomInputs).
#include <string>
#include <unordered_set>
#include <vector>

namespace portico::plugin_check {

// The largest input: the host's default max_request_bytes, so nothing the
// checker sends could not reach the plugin through portico.
inline constexpr std::size_t huge_input_bytes = 1024 * 1024;

struct InputCorpus {
    std::vector<std::string> generic;   // the same for every plugin
    std::vector<std::string> examples;  // from the usage line, and examples made huge or hostile
};

// Builds the corpus; inputs in `skip` (they crashed or hung an earlier
// engine process) are left out.
InputCorpus make_input_corpus(const std::vector<std::string>& usage_examples,
                              const std::unordered_set<std::string>& skip);

}  // namespace portico::plugin_check
