#pragma once
// Catch2 checks that tests of different folders make the same way.
#include "support/subprocess.hpp"

#include <chrono>

namespace portico::test {

// Waits up to `within` for `process` to end and requires that it exited
// normally with code 0 (with its summary in the message if not).
void require_exit_0(Subprocess& process, std::chrono::milliseconds within);

}  // namespace portico::test
