#pragma once
// Looks at a plugin library before any engine exists: its exported symbols,
// its API version and its info strings, reporting each through the journal.
//
// It opens the library itself (plugin/plugin_library.hpp) rather than
// through load_plugin(), which stops at the
// first fault with one message: here every missing symbol is named, the
// version is compared without calling anything else (a plugin of another
// major version is never asked for its info), null or unprintable info
// strings are told apart from empty ones, and the factory is kept for the
// settings probes (SettingsProbe), which need its CreateResult as it is.
#include "flight_recorder.hpp"
#include "journal.hpp"

#include <portico/plugin.hpp>

#include "plugin/plugin_library.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace portico::plugin_check {

struct PluginFacts {
    bool loaded = false;        // the dynamic loader accepted the file
    bool compatible = false;    // it has the version symbol, and portico would accept that version
    bool has_info = false;
    bool has_factory = false;
    std::uint32_t api_version = 0;  // packed
    std::string name, version, description, usage;  // from PluginInfo, when it could be read
};

class PluginInspector {
public:
    PluginInspector(std::string path, FlightRecorder& recorder, JournalWriter& journal);

    PluginFacts inspect();
    // The library's factory, valid while this inspector lives; null unless
    // inspect() found the library compatible and exporting one.
    EngineFactory* factory() const noexcept { return factory_; }

private:
    void check_symbols(PluginFacts& facts);
    void check_version(PluginFacts& facts);
    void check_info(PluginFacts& facts);

    std::string path_;
    FlightRecorder& recorder_;
    JournalWriter& journal_;
    std::unique_ptr<PluginLibrary> library_;
    EngineFactory* factory_ = nullptr;
};

// The name to serve the plugin under in messages and EngineContext: its own
// name if it is a valid plugin name, else the file's, else "plugin".
std::string plugin_name_for(const PluginFacts& facts, const std::string& path);

}  // namespace portico::plugin_check
