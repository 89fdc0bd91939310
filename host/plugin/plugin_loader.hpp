#pragma once
// Loads an engine plugin (.so) with Boost.DLL, checks its API version before
// touching any of its C++ types, and creates its engine. Boost.DLL stays in
// plugin_loader.cpp: nothing outside this part sees it.
#include "config/config.hpp"
#include "core/error.hpp"
#include "plugin/plugin_library.hpp"

#include <portico/plugin.hpp>

#include <memory>
#include <optional>
#include <string>

namespace portico {

// Identifies one version of a file on disk (a replaced file differs).
struct FileStamp {
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
    std::uint64_t size = 0;
    std::int64_t modified_ns = 0;
    bool operator==(const FileStamp&) const = default;
};
std::optional<FileStamp> stamp_file(const std::string& path);

// A plugin library with the engine it made. Members are ordered so that the
// engine is destroyed before the library that holds its code is unloaded;
// share it (shared_ptr) with everything that calls the engine.
class LoadedPlugin {
public:
    LoadedPlugin(std::unique_ptr<PluginLibrary> library, const PluginInfo& info, std::uint32_t api_version,
                 std::string path);
    ~LoadedPlugin();
    LoadedPlugin(const LoadedPlugin&) = delete;
    LoadedPlugin& operator=(const LoadedPlugin&) = delete;

    const std::string& name() const noexcept { return name_; }
    const std::string& version() const noexcept { return version_; }
    const std::string& description() const noexcept { return description_; }
    const std::string& usage() const noexcept { return usage_; }
    const std::string& path() const noexcept { return path_; }
    std::uint32_t api_version() const noexcept { return api_version_; }
    // The file as it was when loaded: a reload compares it with the disk.
    const FileStamp& stamp() const noexcept { return stamp_; }

    Engine& engine() noexcept { return *engine_; }

private:
    friend Expected<std::shared_ptr<LoadedPlugin>> load_plugin(const PluginConfig&, bool, std::shared_ptr<Channels>);

    std::unique_ptr<PluginLibrary> library_;  // declared first: destroyed last
    std::string name_;
    std::string version_;
    std::string description_;
    std::string usage_;
    std::string path_;
    std::uint32_t api_version_;
    FileStamp stamp_;
    std::shared_ptr<Channels> channels_;  // the engine's EngineContext::channels: outlives it
    std::unique_ptr<Engine> engine_;
};

// Loads config.library and creates its engine with config's settings.
// Refuses, with a message naming the file and the reason: a file that is not a
// loadable library, a library without the portico symbols, another major API
// version (or a newer minor one), a factory that refuses its settings.
//
// `fresh_copy`: load from a private copy of the file, because the dynamic
// loader hands back the already-loaded library for a path it knows: needed to
// load a replaced .so while its old version still serves.
// `channels`: what the engine publishes to (EngineContext::channels); kept
// as long as the engine lives.
Expected<std::shared_ptr<LoadedPlugin>> load_plugin(const PluginConfig& config, bool fresh_copy = false,
                                                    std::shared_ptr<Channels> channels = nullptr);

}  // namespace portico
