#include "notepad_engine.hpp"

#include "notepad_command.hpp"

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

namespace notepad {

namespace {

NotepadLimits checked_limits(const portico::EngineContext& context) {
    SettingsResult parsed = parse_settings(context.settings_json);
    if (!parsed.limits) throw std::invalid_argument(parsed.error);
    return *parsed.limits;
}

// A user's notes follow them across connections (the token's subject); an
// anonymous client's live with its connection. The prefixes keep the two
// kinds of key apart.
std::string notepad_key(const portico::Request& request) {
    if (!request.caller_subject.empty()) return "user:" + std::string(request.caller_subject);
    return "client:" + std::string(request.client_id);
}

portico::Reply count_reply(std::size_t notes) { return portico::Reply::json(R"({"notes":)" + std::to_string(notes) + "}"); }

}  // namespace

NotepadEngine::NotepadEngine(const portico::EngineContext& context)
    : limits_(checked_limits(context)), store_(limits_) {}

void NotepadEngine::client_gone(std::string_view client_id) noexcept {
    // A user's notepad follows the user (the token's subject), not the connection.
    try {
        store_.clear("client:" + std::string(client_id));
    } catch (...) {
        // Out of memory for the key: the LRU bound still holds.
    }
}

portico::Reply NotepadEngine::handle(const portico::Request& request) {
    if (request.client_id.empty() && request.caller_subject.empty()) {
        return portico::Reply::error("no_client",
                                     "notepad keeps one notepad per WebSocket connection; this request has no "
                                     "client id (use it through the gateway, not a plain zmq socket)");
    }
    CommandResult parsed = parse_command(request.payload);
    if (!parsed.command) return portico::Reply::error(std::move(parsed.error.code), std::move(parsed.error.message));
    const Command& command = *parsed.command;
    const std::string key = notepad_key(request);

    switch (command.kind) {
    case CommandKind::add: {
        if (command.text.size() > limits_.max_note_bytes) {
            return portico::Reply::error("note_too_large", "the note is " + std::to_string(command.text.size()) +
                                                               " bytes; at most " +
                                                               std::to_string(limits_.max_note_bytes) + " are kept");
        }
        const NotepadStore::AddResult added = store_.add(key, std::string(command.text));
        if (!added.added) {
            return portico::Reply::error("notepad_full", "the notepad holds " + std::to_string(added.notes) +
                                                             " notes, the most it keeps; \"clear\" it first");
        }
        return count_reply(added.notes);
    }
    case CommandKind::list: {
        // The notes were checked to be UTF-8 when added, so dump() cannot throw.
        nlohmann::json notes = nlohmann::json::array();
        for (std::string& note : store_.list(key)) notes.push_back(std::move(note));
        return portico::Reply::json(nlohmann::json{{"notes", std::move(notes)}}.dump());
    }
    case CommandKind::count:
        return count_reply(store_.count(key));
    case CommandKind::clear:
        store_.clear(key);
        return count_reply(0);
    case CommandKind::stats:
        return portico::Reply::json(R"({"notepads":)" + std::to_string(store_.clients()) + "}");
    }
    return portico::Reply::error("engine_error", "notepad: unhandled command");  // unreachable
}

}  // namespace notepad
