// portico-plugin-check: the conformance kit for plugin authors. Parses the
// command line and runs the check (or, with the hidden --child, the engine
// process the check starts).
#include "check_options.hpp"
#include "check_supervisor.hpp"
#include "engine_process.hpp"
#include "plugin_inspector.hpp"
#include "report.hpp"

#include <portico/plugin.hpp>

#include <iostream>
#include <random>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    using namespace portico::plugin_check;
    const std::vector<std::string> args(argv + 1, argv + argc);
    auto parsed = parse_command_line(args);
    if (!parsed) {
        const std::string usage = usage_text();
        std::cerr << "portico-plugin-check: " << parsed.error().message << "\n"
                  << usage.substr(0, usage.find("\n\n")) << "\n(--help says more)\n";
        return 2;
    }
    CommandLine& line = parsed.value();
    if (line.help) {
        std::cout << usage_text();
        return 0;
    }
    if (line.version) {
        std::cout << "portico-plugin-check " << PORTICO_VERSION << " (plugin API "
                  << portico::api_version_text(portico::pack_api_version(portico::api_version_major, portico::api_version_minor))
                  << ")\n";
        return 0;
    }
    if (line.child.mode != ChildMode::none) return run_engine_process(line.check, line.child);

    CheckOptions& options = line.check;
    if (!options.seed_given) options.seed = std::random_device{}();
    Report report(options);
    CheckSupervisor(options, report).run();
    report.print(std::cout);
    return report.exit_code();
}
