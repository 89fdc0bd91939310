#pragma once
// Loads an engine plugin (.so) with Boost.DLL, checks its API version before
// touching any of its C++ types, and creates its engine.
#include "config.hpp"
#include "error.hpp"

#include <portico/plugin.hpp>

#include <boost/dll/shared_library.hpp>

#include <memory>
#include <string>

namespace portico {

// A plugin library with the engine it made. Members are ordered so that the
// engine is destroyed before the library that holds its code is unloaded;
// share it (shared_ptr) with everything that calls the engine.
class LoadedPlugin {
public:
    LoadedPlugin(boost::dll::shared_library library, const PluginInfo& info,
                 std::uint32_t api_version, std::string path);
    ~LoadedPlugin();
    LoadedPlugin(const LoadedPlugin&) = delete;
    LoadedPlugin& operator=(const LoadedPlugin&) = delete;

    const std::string& name() const noexcept { return name_; }
    const std::string& version() const noexcept { return version_; }
    const std::string& description() const noexcept { return description_; }
    const std::string& usage() const noexcept { return usage_; }
    const std::string& path() const noexcept { return path_; }
    std::uint32_t api_version() const noexcept { return api_version_; }

    Engine& engine() noexcept { return *engine_; }

private:
    friend Expected<std::shared_ptr<LoadedPlugin>> load_plugin(const PluginConfig&);

    boost::dll::shared_library library_;  // declared first: destroyed last
    std::string name_;
    std::string version_;
    std::string description_;
    std::string usage_;
    std::string path_;
    std::uint32_t api_version_;
    std::unique_ptr<Engine> engine_;
};

// Loads config.library and creates its engine with config's settings.
// Refuses, with a message naming the file and the reason: a file that is not a
// loadable library, a library without the portico symbols, another major API
// version (or a newer minor one), a factory that refuses its settings.
Expected<std::shared_ptr<LoadedPlugin>> load_plugin(const PluginConfig& config);

}  // namespace portico
