#include "table_command.hpp"

#include <algorithm>
#include <charconv>

namespace table {
namespace {

constexpr const char* usage =
    "table join ROOM NAME [LAST_OFFSET] | watch ROOM [LAST_OFFSET] | roll ROOM EXPR | leave ROOM | who ROOM";

std::string_view next_word(std::string_view& text) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    const auto end = std::min(text.find(' '), text.size());
    const auto word = text.substr(0, end);
    text.remove_prefix(end);
    return word;
}

std::string_view trimmed(std::string_view text) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
    return text;
}

bool plain_word(std::string_view word, std::size_t max) {
    if (word.empty() || word.size() > max) return false;
    return std::all_of(word.begin(), word.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
               c == '.';
    });
}

bool read_offset(std::string_view text, std::uint64_t& out) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size();
}

BadCommand bad(std::string message) { return BadCommand{std::move(message) + " (" + usage + ")"}; }

}  // namespace

Command parse_command(std::string_view payload) {
    std::string_view rest = payload;
    const auto verb = next_word(rest);
    const auto room = next_word(rest);
    if (verb.empty()) return bad("say what to do");
    if (verb != "join" && verb != "watch" && verb != "roll" && verb != "leave" && verb != "who")
        return bad("unknown command \"" + std::string(verb.substr(0, 16)) + "\"");
    if (room.empty()) return bad(std::string(verb) + " needs a room");
    if (!plain_word(room, max_room_length))
        return bad("a room is 1 to " + std::to_string(max_room_length) + " of a-z A-Z 0-9 _ - .");
    if (verb == "roll") {
        const auto expression = trimmed(rest);
        if (expression.empty()) return bad("roll needs a dice expression, e.g. 3d6");
        return Roll{std::string(room), std::string(expression)};
    }
    if (verb == "watch") {
        Watch watch{std::string(room), 0};
        if (const auto offset = next_word(rest); !offset.empty() && !read_offset(offset, watch.last_seen))
            return bad("the last offset must be a whole number");
        if (!trimmed(rest).empty()) return bad("watch takes a room and at most an offset");
        return watch;
    }
    if (verb == "join") {
        const auto name = next_word(rest);
        if (name.empty()) return bad("join needs a name");
        if (!plain_word(name, max_name_length))
            return bad("a name is 1 to " + std::to_string(max_name_length) + " of a-z A-Z 0-9 _ - .");
        Join join{std::string(room), std::string(name), 0};
        if (const auto offset = next_word(rest); !offset.empty() && !read_offset(offset, join.last_seen))
            return bad("the last offset must be a whole number");
        if (!trimmed(rest).empty()) return bad("join takes a room, a name and at most an offset");
        return join;
    }
    if (!trimmed(rest).empty()) return bad(std::string(verb) + " takes a room only");
    if (verb == "leave") return Leave{std::string(room)};
    return Who{std::string(room)};
}

}  // namespace table
