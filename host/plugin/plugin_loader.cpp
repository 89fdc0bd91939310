#include "plugin/plugin_loader.hpp"

#include "plugin/plugin_library.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

namespace portico {
namespace {

// Channels that keep nothing and reach nobody, with offsets as a hub gives them.
class UnheardChannels final : public Channels {
public:
    std::uint64_t publish(std::string_view channel, std::string json_text) override {
        if (channel.empty() || channel.size() > 64 || json_text.empty()) return 0;
        return ++next_;
    }

private:
    std::atomic<std::uint64_t> next_{0};
};

Error load_error(const PluginConfig& config, const std::string& problem) {
    return Error{"plugin_load_failed",
                 "plugin \"" + config.name + "\" (" + config.engine.library + "): " + problem};
}

// Copies the plugin to a private file the loader has never seen.
Expected<std::string> private_copy(const PluginConfig& config) {
    namespace fs = std::filesystem;
    static std::atomic<unsigned> counter{0};
    std::error_code ec;
    const fs::path dir = fs::temp_directory_path(ec) / ("portico-" + std::to_string(getpid()));
    if (!ec) fs::create_directories(dir, ec);
    const fs::path copy = dir / (config.name + "." + std::to_string(++counter) + ".so");
    if (!ec) fs::copy_file(config.engine.library, copy, fs::copy_options::overwrite_existing, ec);
    if (ec) return Error{"plugin_load_failed", "plugin \"" + config.name + "\" (" + config.engine.library +
                                                   "): cannot make a private copy to load: " + ec.message()};
    return copy.string();
}

}  // namespace

std::optional<FileStamp> stamp_file(const std::string& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) return std::nullopt;
    FileStamp stamp;
    stamp.device = static_cast<std::uint64_t>(info.st_dev);
    stamp.inode = static_cast<std::uint64_t>(info.st_ino);
    stamp.size = static_cast<std::uint64_t>(info.st_size);
    stamp.modified_ns = static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec;
    return stamp;
}

LoadedPlugin::LoadedPlugin(std::unique_ptr<PluginLibrary> library, const PluginInfo& info, std::uint32_t api_version,
                           std::string path)
    : library_(std::move(library)),
      name_(info.name ? info.name : ""),
      version_(info.version ? info.version : ""),
      description_(info.description ? info.description : ""),
      usage_(info.usage ? info.usage : ""),
      path_(std::move(path)),
      api_version_(api_version) {}

LoadedPlugin::~LoadedPlugin() {
    engine_.reset();  // explicit, though member order already does it: the code must still be mapped
}

Expected<std::shared_ptr<LoadedPlugin>> load_plugin(const PluginConfig& config, bool fresh_copy,
                                                    std::shared_ptr<Channels> channels) {
    const auto stamp = stamp_file(config.engine.library);
    if (!stamp) return load_error(config, "cannot read the file");
    std::string load_path = config.engine.library;
    if (fresh_copy) {
        auto copy = private_copy(config);
        if (!copy) return copy.error();
        load_path = copy.value();
    }
    auto library = std::make_unique<PluginLibrary>(load_path);
    if (fresh_copy) {
        std::error_code ignored;
        std::filesystem::remove(load_path, ignored);  // the mapping outlives the name
        std::filesystem::remove(std::filesystem::path(load_path).parent_path(), ignored);  // only if empty
    }
    if (!library->loaded()) return load_error(config, "cannot load: " + library->why_not());

    const auto plugin_version = library->api_version();
    if (!plugin_version)
        return load_error(config, "not a portico plugin: it exports no " + std::string(api_version_symbol) +
                                      " (build it with PORTICO_PLUGIN from portico/plugin.hpp)");
    const std::uint32_t host_version = pack_api_version(api_version_major, api_version_minor);
    if ((*plugin_version >> 16) != api_version_major)
        return load_error(config, "built for plugin API " + api_version_text(*plugin_version) +
                                      ", but this host speaks plugin API " + api_version_text(host_version) +
                                      ": rebuild the plugin against this host's plugin_api");
    if ((*plugin_version & 0xffffu) > api_version_minor)
        return load_error(config, "built for plugin API " + api_version_text(*plugin_version) +
                                      ", newer than this host's " + api_version_text(host_version) +
                                      ": upgrade the host");
    if (!library->has(info_symbol)) return load_error(config, "it exports no " + std::string(info_symbol));
    if (!library->has(factory_symbol)) return load_error(config, "it exports no " + std::string(factory_symbol));

    const PluginInfo* info = library->info();
    if (info == nullptr || info->name == nullptr) return load_error(config, "its plugin info is empty");
    EngineFactory* factory = library->factory();

    auto plugin = std::make_shared<LoadedPlugin>(std::move(library), *info, *plugin_version, config.engine.library);
    plugin->stamp_ = *stamp;
    EngineContext context;
    context.plugin_name = config.name;
    context.settings_json = config.engine.settings_json;
    context.workers = config.engine.workers;
    // Without a host's hub (the plugin checker): messages reach nobody.
    plugin->channels_ = channels ? std::move(channels) : std::make_shared<UnheardChannels>();
    context.channels = plugin->channels_.get();
    CreateResult created;
    try {
        created = factory(context);
    } catch (...) {
        return load_error(config, "its factory threw an exception (build the plugin with PORTICO_PLUGIN, which "
                                  "turns a throwing constructor into a refusal)");
    }
    if (!created.engine)
        return load_error(config, "refused its settings: " +
                                      (created.error.empty() ? std::string("no reason given") : created.error));
    plugin->engine_ = std::move(created.engine);
    return plugin;
}

}  // namespace portico
