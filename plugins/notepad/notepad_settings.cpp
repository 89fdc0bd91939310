#include "notepad_settings.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>

namespace notepad {

namespace {

SettingsResult refuse(const std::string& what) { return {std::nullopt, "notepad settings: " + what}; }

// Reads a positive integer no larger than `cap` into `out`; an error message
// (without the "notepad settings: " prefix) otherwise.
std::optional<std::string> read_limit(const std::string& key, const nlohmann::json& value, std::size_t cap,
                                      std::size_t& out) {
    const std::string quoted = "\"" + key + "\"";
    // nlohmann stores every non-negative integer literal as unsigned.
    if (!value.is_number_unsigned() || value.get<std::uint64_t>() == 0) {
        return quoted + " must be a positive integer";
    }
    const auto number = value.get<std::uint64_t>();
    if (number > cap) return quoted + " must be at most " + std::to_string(cap) + ", got " + std::to_string(number);
    out = static_cast<std::size_t>(number);
    return std::nullopt;
}

}  // namespace

SettingsResult parse_settings(std::string_view json_text) {
    nlohmann::json document;
    try {
        document = nlohmann::json::parse(json_text);
    } catch (const nlohmann::json::exception& e) {
        return refuse(std::string("invalid JSON: ") + e.what());
    }
    if (!document.is_object()) return refuse("expected a JSON object");

    NotepadLimits limits;
    for (const auto& [key, value] : document.items()) {
        std::optional<std::string> error;
        if (key == "max_notes_per_client") {
            error = read_limit(key, value, max_notes_per_client_cap, limits.max_notes_per_client);
        } else if (key == "max_note_bytes") {
            error = read_limit(key, value, max_note_bytes_cap, limits.max_note_bytes);
        } else if (key == "max_clients") {
            error = read_limit(key, value, max_clients_cap, limits.max_clients);
        } else {
            return refuse("unknown key " + nlohmann::json(key).dump());  // dump() quotes and escapes
        }
        if (error) return refuse(*error);
    }
    return {limits, {}};
}

}  // namespace notepad
