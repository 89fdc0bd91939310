// portico: parses its arguments, loads its config and runs the host.
#include "app/host.hpp"
#include "wire/curve.hpp"
#include "config/config.hpp"
#include "core/logger.hpp"

#include <boost/program_options.hpp>

#include <sys/resource.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>

namespace {

namespace po = boost::program_options;

constexpr const char* synopsis = R"(usage: portico [--config FILE] [--role all|engine|gateway] [--log-level LEVEL] [--pid-file FILE]
       portico keygen          print a new CurveZMQ key pair (for the config's "curve")
       portico --print-default-config | --help | --version

Serves engine plugins on zmq endpoints and routes WebSocket clients to them.
Which plugins a running gateway serves is a WebSocket message, not a
command: send "portico plugins" to it (the playground at http://HOST:PORT/
lists them too), or GET /readyz for their engines.
)";

constexpr const char* signals_text = R"(
SIGINT or SIGTERM stops portico cleanly; SIGHUP reloads the config: new
plugins start, removed ones drain and unload, changed .so files are loaded
anew, and no client is disconnected.
)";

po::options_description options() {
    po::options_description described("Options", 80, 40);
    described.add_options()
        ("config", po::value<std::string>()->value_name("FILE"),
         "JSON config (see examples/portico.json); without it, the built-in default: the dice plugin on "
         "tcp://127.0.0.1:5556, the gateway on ws://127.0.0.1:8088/ws")
        ("role", po::value<std::string>()->value_name("ROLE")->default_value("all"),
         "all: engines and gateway in one process; engine: serve the plugins' zmq endpoints only; gateway: the "
         "WebSocket gateway only, routing to the engines each plugin's \"connect\" (or \"endpoint\") names")
        ("log-level", po::value<std::string>()->value_name("LEVEL"),
         "debug, info, warn, error or off (overrides the config)")
        ("pid-file", po::value<std::string>()->value_name("FILE"),
         "write the process id to FILE once serving; removed at exit")
        ("print-default-config", "print the built-in config and exit")
        ("help,h", "this text")
        ("version", "the version of portico and of its plugin API");
    return described;
}

void print_usage(std::ostream& out) { out << synopsis << "\n" << options() << signals_text; }

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

// Written whole (a temporary file renamed over it), so a reader never sees
// half a number; removed when portico exits.
class PidFile {
public:
    explicit PidFile(std::string path) : path_(std::move(path)) {}
    ~PidFile() {
        if (written_) std::filesystem::remove(path_, ignored_);
    }
    bool write() {
        const std::string temporary = path_ + ".tmp";
        {
            std::ofstream out(temporary, std::ios::trunc);
            out << getpid() << "\n";
            if (!out.flush()) return false;
        }
        std::filesystem::rename(temporary, path_, ignored_);
        written_ = !ignored_;
        return written_;
    }

private:
    std::string path_;
    bool written_ = false;
    std::error_code ignored_;
};

int fail_usage(const std::string& message) {
    std::cerr << "portico: " << message << "\n";
    print_usage(std::cerr);
    return 2;
}

}  // namespace

// `portico keygen > FILE`: the key file that curve.key_file names; the
// public key, for the other side's config, also goes to stderr.
int keygen() {
    auto keys = portico::generate_curve_key_pair();
    if (!keys) {
        std::cerr << "portico: " << keys.error().message << "\n";
        return 1;
    }
    std::cout << portico::curve_key_pair_json(*keys) << "\n";
    std::cerr << "portico: public key " << keys->public_key
              << " (give it to the other side: plugins.NAME.server_key on gateways, curve.allowed_clients on engines)\n";
    return 0;
}

int main(int argc, char** argv) {
    if (argc == 2 && std::string(argv[1]) == "keygen") return keygen();
    po::variables_map args;
    try {
        po::store(po::command_line_parser(argc, argv).options(options()).run(), args);
        po::notify(args);
    } catch (const po::error& e) {
        return fail_usage(e.what());
    }
    if (args.count("help")) {
        print_usage(std::cout);
        return 0;
    }
    if (args.count("version")) {
        std::cout << "portico " << PORTICO_VERSION << " (plugin API " << portico::api_version_major << "."
                  << portico::api_version_minor << ")\n";
        return 0;
    }
    if (args.count("print-default-config")) {
        std::cout << portico::default_config_text() << "\n";
        return 0;
    }
    const auto role = portico::parse_role(args["role"].as<std::string>());
    if (!role) return fail_usage("--role must be all, engine or gateway");
    const std::string config_path = args.count("config") ? args["config"].as<std::string>() : "";
    if (args.count("config") && config_path.empty()) return fail_usage("--config needs a file");

    const portico::ConfigDefaults defaults{default_plugin_dir(), *role};
    auto load = [config_path, defaults] {
        return config_path.empty() ? portico::default_config(defaults)
                                   : portico::load_config_file(config_path, defaults);
    };
    auto config = load();
    if (!config) {
        std::cerr << "portico: " << config.error().message << "\n";
        return 1;
    }
    if (args.count("log-level")) {
        const auto level = portico::parse_log_level(args["log-level"].as<std::string>());
        if (!level) return fail_usage("--log-level must be debug, info, warn, error or off");
        config->log_level = *level;
    }

    raise_open_file_limit();
    const std::string source = config->source;
    portico::Logger log(config->log_level, nullptr, config->log_format);
    portico::Host host(std::move(config).value(), log, std::cout);
    host.set_config_source(load);
    auto started = host.start();
    if (!started) {
        std::cerr << "portico: " << source << ": " << started.error().message << "\n";
        return 1;
    }
    std::optional<PidFile> pid_file;
    if (args.count("pid-file")) {
        pid_file.emplace(args["pid-file"].as<std::string>());
        if (!pid_file->write()) {
            std::cerr << "portico: --pid-file: cannot write " << args["pid-file"].as<std::string>() << "\n";
            host.stop();
            return 1;
        }
    }
    host.run();
    return 0;
}
