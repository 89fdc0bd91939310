#pragma once
// Example payloads derived from a plugin's one-line usage string
// (PluginInfo::usage), so the checker calls the plugin with inputs that reach
// past its first "unknown command" check.
//
// The heuristic, in order:
//  1. The usage is cut at an example marker ("e.g.", "eg:", "example:",
//     "examples:", "for example", case-insensitive). What follows is a list
//     of literal examples separated by ',' or ';', each taken as it is (less
//     a leading plugin name, quotes and a final '.').
//  2. In the synopsis before it, remarks in parentheses and "..." are
//     dropped, and so is the plugin name as its first word.
//  3. The synopsis is split into alternatives at each '|' outside brackets:
//     "add TEXT | list | count" -> "add TEXT", "list", "count".
//  4. Each alternative gives shapes: without its optional "[...]" groups;
//     with one group at a time, once for each of that group's own '|'
//     alternatives; and with every group holding its first alternative:
//     "NdM[kh|kl N]" -> "NdM", "NdMkh", "NdMkl N", "NdMkh".
//  5. In a shape, placeholders are runs of capitals (N, M, TEXT, NAME; not
//     a capitalised word like "Hello") and <words in angle brackets>. They
//     are replaced by well-known values, the same name by the same value
//     within a shape: numbers for N, M, K, COUNT, SIZE, ... and any other
//     single capital except W, X, Y, Z; words for the rest. Several sets of
//     values give several payloads: typical (3, 6, 2, ... / "hello",
//     "world"), alternate (1, 20 / "hello world"), minimal (0 / "x"), and,
//     where a shape has a word placeholder, hostile words (invalid UTF-8,
//     non-ASCII UTF-8, an embedded NUL, 4 KiB of text). Numbers stay within
//     0..20, so a "sleep N" cannot make the run slow.
//  6. A shape with its placeholders left out ("sleep", "text") is a payload
//     too: a command without its argument.
// Duplicates and empty payloads are dropped; at most max_usage_examples are
// kept, in the order found.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace portico::plugin_check {

inline constexpr std::size_t max_usage_examples = 64;

std::vector<std::string> examples_from_usage(std::string_view usage, std::string_view plugin_name);

}  // namespace portico::plugin_check
