#include "plugin/plugin_library.hpp"

#include <boost/dll/shared_library.hpp>

#include <dlfcn.h>

#include <fstream>

namespace portico {
namespace {

// Boost.DLL clears dlerror() before reporting, so ask the loader once more for
// the reason (missing file, not ELF, undefined symbol, wrong architecture).
std::string why_not_loadable(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    char magic[4] = {};
    if (!in) return "cannot open the file";
    if (!in.read(magic, 4) || magic[0] != 0x7f || magic[1] != 'E' || magic[2] != 'L' || magic[3] != 'F')
        return "not a shared library (no ELF header)";
    dlerror();
    if (void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) {
        dlclose(handle);
        return "the dynamic loader refused it";
    }
    const char* reason = dlerror();
    return reason ? reason : "the dynamic loader refused it";
}

}  // namespace

struct PluginLibrary::Impl {
    boost::dll::shared_library library;
};

PluginLibrary::PluginLibrary(const std::string& path) : impl_(std::make_unique<Impl>()) {
    boost::dll::fs::error_code ec;
    impl_->library.load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
    if (ec || !impl_->library.is_loaded()) why_not_ = why_not_loadable(path);
}

PluginLibrary::~PluginLibrary() = default;

bool PluginLibrary::loaded() const noexcept { return impl_->library.is_loaded(); }

bool PluginLibrary::has(const char* symbol) const { return loaded() && impl_->library.has(symbol); }

std::optional<std::uint32_t> PluginLibrary::api_version() const {
    if (!has(api_version_symbol)) return std::nullopt;
    return impl_->library.get<std::uint32_t() noexcept>(api_version_symbol)();
}

const PluginInfo* PluginLibrary::info() const {
    if (!has(info_symbol)) return nullptr;
    return impl_->library.get<const PluginInfo*() noexcept>(info_symbol)();
}

EngineFactory* PluginLibrary::factory() const {
    if (!has(factory_symbol)) return nullptr;
    return &impl_->library.get<EngineFactory>(factory_symbol);
}

std::string api_version_text(std::uint32_t packed) {
    return std::to_string(packed >> 16) + "." + std::to_string(packed & 0xffffu);
}

}  // namespace portico
