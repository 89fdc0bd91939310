#pragma once
// The notepad plugin's settings, parsed from EngineContext::settings_json.
//
//   key                   type               default   allowed
//   max_notes_per_client  positive integer   100       1 .. 100000
//   max_note_bytes        positive integer   1024      1 .. 1048576
//   max_clients           positive integer   10000     1 .. 1000000
//
// The notepad holds at most max_clients * max_notes_per_client *
// max_note_bytes bytes of notes (about 1 GB with the defaults, if every
// client filled its pad): size the three together.
//
// Any other key, a wrong type or an out-of-range value is refused with a
// message that names the key, e.g. `notepad settings: unknown key "max_note"`.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace notepad {

inline constexpr std::size_t max_notes_per_client_cap = 100'000;
inline constexpr std::size_t max_note_bytes_cap = 1'048'576;
inline constexpr std::size_t max_clients_cap = 1'000'000;

struct NotepadLimits {
    std::size_t max_notes_per_client = 100;
    std::size_t max_note_bytes = 1024;
    std::size_t max_clients = 10'000;
};

struct SettingsResult {
    std::optional<NotepadLimits> limits;  // set on success
    std::string error;                    // "notepad settings: ..." otherwise
};

SettingsResult parse_settings(std::string_view json_text);

}  // namespace notepad
