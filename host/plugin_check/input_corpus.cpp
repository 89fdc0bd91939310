#include "input_corpus.hpp"

#include <algorithm>
#include <cctype>
#include <set>

namespace portico::plugin_check {
namespace {

std::vector<std::string> generic_inputs() {
    std::vector<std::string> inputs = {
        "", " ", "\t\r\n", std::string(huge_input_bytes, 'x'),
        // Binary: every byte value in order, NULs.
        std::string(16, '\0'),
        // Invalid UTF-8: a lone byte, a bad continuation, overlong, a surrogate,
        // beyond U+10FFFF, cut short.
        "\xff", "\xff\xfe\xfd", "\xc3\x28", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82",
        // Valid UTF-8 beyond ASCII.
        "h\xc3\xa9llo w\xc3\xb6rld \xe2\x98\x83 \xf0\x9f\x98\x80",
        // JSON-looking text.
        "{}", "[]", "null", "\"x\"", R"({"a":[1,2,{"b":null}]})", std::string(100000, '['),
        // Numbers at the edges.
        "0", "-1", "18446744073709551616", "1e400", "NaN", "-0",
        // Text that breaks careless formatting, quoting or parsing.
        "%s%s%s%n", "'\"\\", "<script>alert(1)</script>", std::string(10000, '('), std::string(65536, ' ')};
    std::string all_bytes;
    for (int byte = 0; byte < 256; ++byte) all_bytes += static_cast<char>(byte);
    inputs.push_back(all_bytes);
    return inputs;
}

// Each usage example also padded, in capitals, cut at a NUL, and one made huge.
std::vector<std::string> example_inputs(const std::vector<std::string>& usage_examples) {
    std::vector<std::string> inputs = usage_examples;
    for (std::size_t i = 0; i < usage_examples.size() && i < 4; ++i) {
        const std::string& example = usage_examples[i];
        std::string upper = example;
        for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        inputs.push_back("  " + example + "  ");
        inputs.push_back(upper);
        inputs.push_back(example + std::string(1, '\0') + "tail");
    }
    if (!usage_examples.empty()) {
        std::string huge = usage_examples.front() + " ";
        huge.resize(huge_input_bytes, 'y');
        inputs.push_back(std::move(huge));
    }
    return inputs;
}

void keep_new(std::vector<std::string>& inputs, std::set<std::string>& seen, const std::unordered_set<std::string>& skip) {
    std::vector<std::string> kept;
    for (std::string& input : inputs)
        if (skip.count(input) == 0 && seen.insert(input).second) kept.push_back(std::move(input));
    inputs = std::move(kept);
}

}  // namespace

InputCorpus make_input_corpus(const std::vector<std::string>& usage_examples,
                              const std::unordered_set<std::string>& skip) {
    InputCorpus corpus{generic_inputs(), example_inputs(usage_examples)};
    std::set<std::string> seen;
    keep_new(corpus.examples, seen, skip);
    keep_new(corpus.generic, seen, skip);
    return corpus;
}

}  // namespace portico::plugin_check
