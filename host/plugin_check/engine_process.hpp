#pragma once
// The engine process: the checker runs itself again (--child) so that a
// plugin that crashes or hangs cannot take the checker down. Everything that
// touches plugin code happens in here, reported through the journal, with
// each call into the plugin marked in the flight recorder.
//
//   exercise  inspect the library (symbols, version, info), probe its
//             settings, load it with load_plugin() as portico does, call
//             handle() on fixed and random inputs from --threads threads,
//             destroy the engine, unload the library, count the threads left
//   replay    load it, call handle() once with the one input given, exit:
//             does that input alone crash or hang the plugin?
#include "check_options.hpp"

namespace portico::plugin_check {

// Returns the process's exit status (0 when it ran to the end).
int run_engine_process(const CheckOptions& options, const ChildOptions& child);

}  // namespace portico::plugin_check
