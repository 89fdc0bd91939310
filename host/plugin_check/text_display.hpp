#pragma once
// Text tests and formatting for the report: every byte a plugin produced or
// was given is shown escaped, so the report stays one readable ASCII screen.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace portico::plugin_check {

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view text);
// Any byte below 0x20, or 0x7f.
bool has_control_characters(std::string_view text);

// `input` as a quoted C-like string ("a\x00b\n"), cut after `max_shown`
// bytes with its size added: "xxxx..." (1048576 bytes).
std::string quote_input(std::string_view input, std::size_t max_shown = 40);

// "20.3 ms", "0.012 ms".
std::string format_duration(std::chrono::nanoseconds duration);
// "5.2 MiB"; with a sign when `signed_form` ("+0.1 MiB", "-2.0 MiB").
std::string format_mebibytes(std::int64_t bytes, bool signed_form = false);
// "351,024".
std::string format_count(std::uint64_t count);

}  // namespace portico::plugin_check
