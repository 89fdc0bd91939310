#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace portico::bench {

// Raises the soft RLIMIT_NOFILE to the hard limit. Returns an error message
// if even the hard limit is below `needed` descriptors.
std::string raise_fd_limit(std::size_t needed);

// CPU time (user + system) used so far by this process, in seconds.
double own_cpu_seconds();

// CPU time used so far by all processes of the machine, in seconds summed
// over the cores (from /proc/stat). Empty if it cannot be read.
std::optional<double> machine_cpu_seconds();

// CPU time used so far by process `pid`, from /proc/<pid>/stat (clock-tick
// resolution). Empty if the process cannot be read.
std::optional<double> process_cpu_seconds(int pid);

}  // namespace portico::bench
