#include "notepad_command.hpp"

#include <cstddef>

namespace notepad {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view text) {
    while (!text.empty() && is_blank(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_blank(text.back())) text.remove_suffix(1);
    return text;
}

CommandResult refuse(std::string code, std::string message) {
    return {std::nullopt, {std::move(code), std::move(message)}};
}

constexpr const char* forms = "expected \"add TEXT\", \"list\", \"count\", \"clear\" or \"stats\"";

}  // namespace

bool is_valid_utf8(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        const auto lead = static_cast<unsigned char>(text[i]);
        std::size_t length = 0;
        char32_t code_point = 0;
        if (lead < 0x80) {
            ++i;
            continue;
        } else if (lead >= 0xc2 && lead <= 0xdf) {
            length = 2;
            code_point = lead & 0x1fu;
        } else if (lead >= 0xe0 && lead <= 0xef) {
            length = 3;
            code_point = lead & 0x0fu;
        } else if (lead >= 0xf0 && lead <= 0xf4) {
            length = 4;
            code_point = lead & 0x07u;
        } else {
            return false;  // a continuation byte, an overlong lead (c0, c1) or f5..ff
        }
        if (text.size() - i < length) return false;
        for (std::size_t k = 1; k < length; ++k) {
            const auto next = static_cast<unsigned char>(text[i + k]);
            if ((next & 0xc0u) != 0x80u) return false;
            code_point = (code_point << 6) | (next & 0x3fu);
        }
        if ((length == 3 && code_point < 0x800) || (length == 4 && code_point < 0x10000)) return false;  // overlong
        if (code_point >= 0xd800 && code_point <= 0xdfff) return false;  // surrogate
        if (code_point > 0x10ffff) return false;
        i += length;
    }
    return true;
}

CommandResult parse_command(std::string_view payload) {
    const std::string_view trimmed = trim(payload);
    if (trimmed.empty()) return refuse("bad_command", std::string("empty request: ") + forms);

    std::size_t word_end = 0;
    while (word_end < trimmed.size() && !is_blank(trimmed[word_end])) ++word_end;
    const std::string_view word = trimmed.substr(0, word_end);
    const std::string_view rest = trim(trimmed.substr(word_end));

    if (word == "add") {
        if (rest.empty()) return refuse("bad_note", "add needs the text of a note, e.g. \"add buy milk\"");
        if (!is_valid_utf8(rest)) return refuse("bad_note", "the note is not valid UTF-8");
        for (std::size_t i = 0; i < rest.size(); ++i) {
            const auto c = static_cast<unsigned char>(rest[i]);
            if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) {
                return refuse("bad_note", "the note holds a control character (byte " + std::to_string(c) +
                                              " at position " + std::to_string(i) + ")");
            }
        }
        return {Command{CommandKind::add, rest}, {}};
    }

    CommandKind kind;
    if (word == "list") {
        kind = CommandKind::list;
    } else if (word == "count") {
        kind = CommandKind::count;
    } else if (word == "clear") {
        kind = CommandKind::clear;
    } else if (word == "stats") {
        kind = CommandKind::stats;
    } else {
        // Quote at most a short, printable prefix of what was sent.
        std::string shown;
        for (char c : word.substr(0, 32)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
        return refuse("bad_command", "unknown command \"" + shown + (word.size() > 32 ? "...\"" : "\"") + ": " + forms);
    }
    if (!rest.empty()) return refuse("bad_command", std::string(word) + " takes no argument");
    return {Command{kind, {}}, {}};
}

}  // namespace notepad
