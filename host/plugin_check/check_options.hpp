#pragma once
// The command line of portico-plugin-check:
//
//   portico-plugin-check PLUGIN.so [--settings JSON] [--seconds N] [--threads N]
//                        [--deadline-ms N] [--out DIR] [--seed N]
//
// and the hidden options with which the checker starts its own engine
// processes (--child exercise|replay, the inherited descriptors, and
// --random-ms, the random phase left after a restart).
#include "core/error.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace portico::plugin_check {

struct CheckOptions {
    std::string plugin_path;  // absolute: the engine process may run elsewhere
    std::string settings_json = "{}";
    bool settings_given = false;
    std::chrono::milliseconds random_duration{3000};
    unsigned threads = 4;
    std::chrono::milliseconds deadline{1000};
    std::string out_dir = ".";
    std::uint64_t seed = 0;
    bool seed_given = false;

    // No progress for this long is a hang: a call may be slow, not stuck.
    std::chrono::milliseconds hang_limit() const;
};

enum class ChildMode { none, exercise, replay };

struct ChildOptions {
    ChildMode mode = ChildMode::none;
    int journal_fd = -1;
    int recorder_fd = -1;
    int inputs_fd = -1;
};

struct CommandLine {
    CheckOptions check;
    ChildOptions child;
    bool help = false;
    bool version = false;
};

Expected<CommandLine> parse_command_line(const std::vector<std::string>& args);
std::string usage_text();

// The arguments (after the program) that start an engine process for `options`.
std::vector<std::string> child_arguments(const CheckOptions& options, ChildMode mode, int journal_fd,
                                         int recorder_fd, int inputs_fd);

}  // namespace portico::plugin_check
