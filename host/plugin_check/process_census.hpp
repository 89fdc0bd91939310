#pragma once
// What this process holds, from /proc/self: its resident memory and its threads.
#include <cstdint>
#include <optional>
#include <set>
#include <string>

namespace portico::plugin_check {

// Resident memory in bytes that is not shared (/proc/self/statm: resident
// less shared pages), so the heap and stacks, but not the libraries' code
// nor the flight recorder's shared pages; nullopt if unreadable. First hands
// free heap memory back to the system (malloc_trim), so what is counted is
// memory in use, not what the allocator keeps for later.
std::optional<std::uint64_t> resident_bytes();
// The ids of this process's threads (/proc/self/task).
std::set<int> thread_ids();
// A thread's name (/proc/self/task/TID/comm), "" if it is gone.
std::string thread_name(int tid);

}  // namespace portico::plugin_check
