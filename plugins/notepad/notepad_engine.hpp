#pragma once
// The notepad engine: one notepad per user when the gateway checks tokens
// (keyed by Request::caller_subject, so it follows the user across
// connections), otherwise one per connection (Request::client_id).
// The grammar is in notepad_command.hpp, the settings in notepad_settings.hpp,
// and the shared, bounded, thread-safe storage in notepad_store.hpp.
//
// Error codes (Reply::error):
//   no_client       the request has no client id: it came from a plain zmq
//                   REQ socket, not through the gateway, so it has no notepad
//   bad_command     not "add TEXT", "list", "count" or "clear"
//   bad_note        add with empty text, text not UTF-8, or control characters
//   note_too_large  the note is longer than max_note_bytes
//   notepad_full    the client already has max_notes_per_client notes

#include "notepad_settings.hpp"
#include "notepad_store.hpp"

#include <portico/plugin.hpp>

namespace notepad {

class NotepadEngine final : public portico::Engine {
public:
    // Throws std::invalid_argument for bad settings.
    explicit NotepadEngine(const portico::EngineContext& context);

    portico::Reply handle(const portico::Request& request) override;
    // The connection's own notepad goes with it (plugin API 1.2).
    void client_gone(std::string_view client_id) noexcept override;

    // For tests: the storage behind the engine.
    const NotepadStore& store() const noexcept { return store_; }

private:
    NotepadLimits limits_;
    NotepadStore store_;
};

}  // namespace notepad
