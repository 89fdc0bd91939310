#pragma once
// A list of inputs handed from the checker to an engine process in a memfd
// (inputs may hold any byte and be 1 MiB long: too much for an argument).
// Used for the inputs to skip (those that crashed or hung an earlier engine
// process) and for the one input a replay runs.
#include "core/error.hpp"
#include "unique_fd.hpp"

#include <string>
#include <vector>

namespace portico::plugin_check {

Expected<UniqueFd> write_input_list(const std::vector<std::string>& inputs);
Expected<std::vector<std::string>> read_input_list(int fd);

}  // namespace portico::plugin_check
