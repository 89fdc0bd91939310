#pragma once
// What a client asks of the table plugin, parsed without side effects:
//
//   join ROOM NAME [LAST_OFFSET]   sit at ROOM as NAME (its channel is ROOM);
//                                  LAST_OFFSET: the last message seen there
//   watch ROOM [LAST_OFFSET]       follow ROOM without a seat (not announced, cannot roll)
//   roll ROOM EXPR                 roll EXPR (the dice grammar) for everyone at ROOM
//   leave ROOM                     give up the seat (if any) and stop following ROOM
//   who ROOM
//
// ROOM: 1 to 32 of a-z A-Z 0-9 _ - . (a channel name); NAME: 1 to 24 of
// a-z A-Z 0-9 _ - . (shown to the others).
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace table {

inline constexpr std::size_t max_room_length = 32;
inline constexpr std::size_t max_name_length = 24;

struct Join {
    std::string room;
    std::string name;
    std::uint64_t last_seen = 0;
};
struct Watch {
    std::string room;
    std::uint64_t last_seen = 0;
};
struct Roll {
    std::string room;
    std::string expression;
};
struct Leave {
    std::string room;
};
struct Who {
    std::string room;
};
struct BadCommand {
    std::string message;
};

using Command = std::variant<Join, Watch, Roll, Leave, Who, BadCommand>;

Command parse_command(std::string_view payload);

}  // namespace table
