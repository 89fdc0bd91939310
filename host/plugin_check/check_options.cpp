#include "check_options.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <optional>

namespace portico::plugin_check {
namespace {

constexpr unsigned max_threads = 64;  // the flight recorder keeps 1 MiB per thread

Error usage_error(const std::string& message) { return Error{"bad_usage", message}; }

bool parse_number(const std::string& text, std::uint64_t& out) {
    if (text.empty()) return false;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::chrono::milliseconds CheckOptions::hang_limit() const {
    return std::max(deadline * 5, std::chrono::milliseconds(1000));
}

std::string usage_text() {
    return "usage: portico-plugin-check PLUGIN.so [--settings JSON] [--seconds N] [--threads N]\n"
           "                            [--deadline-ms N] [--out DIR] [--seed N]\n"
           "\n"
           "Checks a portico engine plugin against the contract in portico/plugin.hpp: its\n"
           "symbols, API version and info strings, how its factory treats bad settings, and,\n"
           "in a separate engine process, handle() from several threads on fixed, usage-derived\n"
           "and random inputs (every reply checked), its memory over the run, and the threads\n"
           "left after the engine is destroyed and the library unloaded. A crash or hang is\n"
           "reported with the input that caused it, saved in DIR.\n"
           "\n"
           "  --settings JSON    the settings to create the engine with (default {})\n"
           "  --seconds N        how long the random phase runs (default 3; 0: none)\n"
           "  --threads N        worker threads calling handle() at once (default 4, at most 64)\n"
           "  --deadline-ms N    a call slower than this is a problem (default 1000); no\n"
           "                     progress for 5 times as long (at least 1 s) is a hang\n"
           "  --out DIR          where inputs that crash or hang the plugin are saved (default .)\n"
           "  --seed N           the random phase's seed (default: a new one, printed)\n"
           "\n"
           "Exit status: 0 no problem found (warnings may be listed), 1 problems found,\n"
           "2 bad usage or the checker itself failed.\n";
}

Expected<CommandLine> parse_command_line(const std::vector<std::string>& args) {
    CommandLine line;
    CheckOptions& check = line.check;
    std::vector<std::string> positional;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg == "--help" || arg == "-h") {
            line.help = true;
            continue;
        }
        if (arg == "--version") {
            line.version = true;
            continue;
        }
        if (arg.size() < 2 || arg.compare(0, 2, "--") != 0) {
            positional.push_back(arg);
            continue;
        }
        if (i + 1 >= args.size()) return usage_error(arg + " needs a value");
        const std::string& value = args[++i];
        std::uint64_t number = 0;
        const bool numeric = parse_number(value, number);
        auto need_number = [&](std::uint64_t low, std::uint64_t high) -> std::optional<Error> {
            if (numeric && number >= low && number <= high) return std::nullopt;
            return usage_error(arg + " needs a whole number from " + std::to_string(low) + " to " +
                               std::to_string(high) + ", not \"" + value + "\"");
        };
        std::optional<Error> bad;
        if (arg == "--settings") {
            check.settings_json = value;
            check.settings_given = true;
        } else if (arg == "--seconds") {
            if (!(bad = need_number(0, 3600))) check.random_duration = std::chrono::seconds(number);
        } else if (arg == "--random-ms") {
            if (!(bad = need_number(0, 3'600'000))) check.random_duration = std::chrono::milliseconds(number);
        } else if (arg == "--threads") {
            if (!(bad = need_number(1, max_threads))) check.threads = static_cast<unsigned>(number);
        } else if (arg == "--deadline-ms") {
            if (!(bad = need_number(1, 600'000))) check.deadline = std::chrono::milliseconds(number);
        } else if (arg == "--out") {
            if (value.empty()) return usage_error("--out needs a directory");
            check.out_dir = value;
        } else if (arg == "--seed") {
            if (!numeric) return usage_error("--seed needs a whole number, not \"" + value + "\"");
            check.seed = number;
            check.seed_given = true;
        } else if (arg == "--child") {
            if (value == "exercise") line.child.mode = ChildMode::exercise;
            else if (value == "replay") line.child.mode = ChildMode::replay;
            else return usage_error("--child needs exercise or replay");
        } else if (arg == "--journal-fd" || arg == "--recorder-fd" || arg == "--inputs-fd") {
            if ((bad = need_number(0, 1023))) return *bad;
            int& fd = arg == "--journal-fd" ? line.child.journal_fd
                      : arg == "--recorder-fd" ? line.child.recorder_fd
                                              : line.child.inputs_fd;
            fd = static_cast<int>(number);
        } else {
            return usage_error("unknown option " + arg);
        }
        if (bad) return *bad;
    }
    if (line.help || line.version) return line;
    if (positional.size() != 1)
        return usage_error(positional.empty() ? "name the plugin to check (a .so file)"
                                              : "one plugin at a time: " + positional[1] + " is one too many");
    std::error_code ec;
    const auto absolute = std::filesystem::absolute(positional.front(), ec);
    check.plugin_path = ec ? positional.front() : absolute.lexically_normal().string();
    if (line.child.mode != ChildMode::none && (line.child.journal_fd < 0 || line.child.recorder_fd < 0))
        return usage_error("--child needs --journal-fd and --recorder-fd");
    return line;
}

std::vector<std::string> child_arguments(const CheckOptions& options, ChildMode mode, int journal_fd,
                                         int recorder_fd, int inputs_fd) {
    std::vector<std::string> args = {
        "--child",       mode == ChildMode::replay ? "replay" : "exercise",
        "--journal-fd",  std::to_string(journal_fd),
        "--recorder-fd", std::to_string(recorder_fd),
        "--threads",     std::to_string(options.threads),
        "--deadline-ms", std::to_string(options.deadline.count()),
        "--random-ms",   std::to_string(options.random_duration.count()),
        "--seed",        std::to_string(options.seed)};
    if (inputs_fd >= 0) {
        args.push_back("--inputs-fd");
        args.push_back(std::to_string(inputs_fd));
    }
    // Only given settings are passed on: the engine process then tries {} too.
    if (options.settings_given) {
        args.push_back("--settings");
        args.push_back(options.settings_json);
    }
    args.push_back(options.plugin_path);
    return args;
}

}  // namespace portico::plugin_check
