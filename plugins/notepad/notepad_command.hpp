#pragma once
// The notepad's request grammar, parsed from Request::payload:
//
//   add TEXT    store TEXT as a note       -> {"notes":N}   (N notes now)
//   list        the notes, oldest first    -> {"notes":["...",...]}
//   count       how many notes             -> {"notes":N}
//   clear       forget every note          -> {"notes":0}
//   stats       how many notepads are kept -> {"notepads":N}   (all clients; a connection's
//                                               goes when it ends, a user's stays)
//
// Spaces and tabs around the payload and after the command word are ignored;
// TEXT keeps its inner spacing. Command words are lower case.

#include <optional>
#include <string>
#include <string_view>

namespace notepad {

enum class CommandKind { add, list, count, clear, stats };

struct Command {
    CommandKind kind = CommandKind::list;
    std::string_view text;  // the note, for add (a view into the payload)
};

// A refused payload: `code` is "bad_command" (not one of the forms above) or
// "bad_note" (add with empty text, text that is not UTF-8 or holds control
// characters other than tab and newline).
struct CommandError {
    std::string code;
    std::string message;
};

struct CommandResult {
    std::optional<Command> command;  // set on success
    CommandError error;              // otherwise
};

// Checks the grammar and the text's encoding; the note's size limit is the
// engine's business (it is a setting).
CommandResult parse_command(std::string_view payload);

// True when `text` is well-formed UTF-8 (no overlong forms, no surrogates,
// nothing above U+10FFFF).
bool is_valid_utf8(std::string_view text);

}  // namespace notepad
