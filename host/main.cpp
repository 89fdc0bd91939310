// portico: parses its arguments, loads its config and runs the host.
#include "config.hpp"
#include "host.hpp"
#include "logger.hpp"

#include <sys/resource.h>

#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view usage = R"(usage: portico [--config FILE] [--role all|engine|gateway] [--log-level LEVEL]
       portico --print-default-config | --help | --version

Serves engine plugins on zmq endpoints and routes WebSocket clients to them.

  --config FILE        JSON config (see examples/portico.json); without it,
                       the built-in default: the dice plugin on
                       tcp://127.0.0.1:5556, the gateway on ws://127.0.0.1:8088/ws
  --role ROLE          all (default): engines and gateway in one process;
                       engine: serve the plugins' zmq endpoints only;
                       gateway: the WebSocket gateway only, routing to the
                       engines each plugin's "connect" (or "endpoint") names
  --log-level LEVEL    debug, info, warn, error or off (overrides the config)
  --print-default-config  print the built-in config and exit
  --help               this text
  --version            the version of portico and of its plugin API

SIGINT or SIGTERM stops portico cleanly; SIGHUP reloads the config: new
plugins start, removed ones drain and unload, changed .so files are loaded
anew, and no client is disconnected.
)";

// Plugins sit beside the executable in the build tree (bin/plugins) and in
// an installed tree (lib/portico/plugins).
std::string default_plugin_dir() {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (ec) return "plugins";
    const fs::path beside = exe.parent_path() / "plugins";
    const fs::path installed = exe.parent_path().parent_path() / "lib" / "portico" / "plugins";
    if (!fs::is_directory(beside, ec) && fs::is_directory(installed, ec)) return installed.string();
    return beside.string();
}

// A gateway holds a descriptor per client: use every one the system allows
// this process (the soft limit is often far below the hard one).
void raise_open_file_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
}

int fail_usage(const std::string& message) {
    std::cerr << "portico: " << message << "\n" << usage;
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::string config_path;
    std::string log_level;
    std::string role = "all";
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        auto value = [&](std::string& out) {
            if (i + 1 >= argc) return false;
            out = argv[++i];
            return true;
        };
        if (arg == "--help" || arg == "-h") {
            std::cout << usage;
            return 0;
        } else if (arg == "--version") {
            std::cout << "portico " << PORTICO_VERSION << " (plugin API " << portico::api_version_major << "."
                      << portico::api_version_minor << ")\n";
            return 0;
        } else if (arg == "--print-default-config") {
            std::cout << portico::default_config_text() << "\n";
            return 0;
        } else if (arg == "--config") {
            if (!value(config_path)) return fail_usage("--config needs a file");
        } else if (arg == "--role") {
            if (!value(role)) return fail_usage("--role needs all, engine or gateway");
        } else if (arg == "--log-level") {
            if (!value(log_level)) return fail_usage("--log-level needs a level");
        } else {
            return fail_usage("unknown argument \"" + std::string(arg) + "\"");
        }
    }

    const auto parsed_role = portico::parse_role(role);
    if (!parsed_role) return fail_usage("--role must be all, engine or gateway");
    const portico::ConfigDefaults defaults{default_plugin_dir(), *parsed_role};
    auto config = config_path.empty() ? portico::default_config(defaults)
                                      : portico::load_config_file(config_path, defaults);
    if (!config) {
        std::cerr << "portico: " << config.error().message << "\n";
        return 1;
    }
    if (!log_level.empty()) {
        auto level = portico::parse_log_level(log_level);
        if (!level) return fail_usage("--log-level must be debug, info, warn, error or off");
        config.value().log_level = *level;
    }

    raise_open_file_limit();
    const std::string source = config.value().source;
    portico::Logger log(config.value().log_level);
    portico::Host host(std::move(config).value(), log, std::cout);
    host.set_config_source([config_path, defaults] {
        return config_path.empty() ? portico::default_config(defaults)
                                   : portico::load_config_file(config_path, defaults);
    });
    auto started = host.start();
    if (!started) {
        std::cerr << "portico: " << source << ": " << started.error().message << "\n";
        return 1;
    }
    host.run();
    return 0;
}
