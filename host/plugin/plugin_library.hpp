#pragma once
// A plugin's shared library, opened (RTLD_NOW, RTLD_LOCAL) and asked for the
// three symbols of portico/plugin.hpp, with none of its C++ types touched
// until the caller has checked the version. The one place Boost.DLL is used:
// the host's loader and the conformance checker both go through it.
#include <portico/plugin.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace portico {

class PluginLibrary {
public:
    // Opens `path`; loaded() says whether the dynamic loader accepted it,
    // why_not() why not, in a few words.
    explicit PluginLibrary(const std::string& path);
    ~PluginLibrary();  // unloads: nothing the library made may outlive this
    PluginLibrary(const PluginLibrary&) = delete;
    PluginLibrary& operator=(const PluginLibrary&) = delete;

    bool loaded() const noexcept;
    const std::string& why_not() const noexcept { return why_not_; }

    bool has(const char* symbol) const;
    // From the version symbol, calling nothing else (nullopt: no symbol).
    std::optional<std::uint32_t> api_version() const;
    // Only for a version this host accepts: they are C++ types of the plugin.
    const PluginInfo* info() const;
    EngineFactory* factory() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::string why_not_;
};

// "1.0" for a packed version.
std::string api_version_text(std::uint32_t packed);

}  // namespace portico
