#pragma once
// Calls a plugin's factory with clearly invalid settings, then with the
// settings to check. The contract (portico/plugin.hpp, EngineContext): the
// factory validates the settings and refuses what it does not understand,
// saying why. So each invalid text must be refused with a message or
// accepted, never crash; accepting a non-object or an unknown key is a
// warning; the settings to check (default {}) must be accepted.
#include "flight_recorder.hpp"
#include "journal.hpp"

#include <portico/plugin.hpp>

#include <string>
#include <unordered_set>

namespace portico::plugin_check {

class SettingsProbe {
public:
    SettingsProbe(EngineFactory* factory, std::string plugin_name, unsigned workers, FlightRecorder& recorder,
                  JournalWriter& journal, const std::unordered_set<std::string>& skip);

    // True if `settings` were accepted. With `settings_given`, {} is tried
    // too: a refusal is a warning (every key should have a default).
    bool run(const std::string& settings, bool settings_given);

private:
    struct Verdict {
        bool accepted = false;
        std::string refusal;  // CreateResult::error
        std::string escaped;  // an exception crossed the boundary: its text
    };
    Verdict try_settings(const std::string& text);

    EngineFactory* factory_;
    std::string plugin_name_;
    unsigned workers_;
    FlightRecorder& recorder_;
    JournalWriter& journal_;
    const std::unordered_set<std::string>& skip_;
};

}  // namespace portico::plugin_check
