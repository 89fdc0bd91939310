#pragma once
// Catch2 checks that tests of different folders make the same way.
#include "support/subprocess.hpp"
#include "support/ws_client.hpp"

#include <nlohmann/json.hpp>

#include <chrono>

namespace portico::test {

// Waits up to `within` for `process` to end and requires that it exited
// normally with code 0 (with its summary in the message if not).
void require_exit_0(Subprocess& process, std::chrono::milliseconds within);

// The client's next message, required to come within `timeout` and to be
// JSON (the text is in the message if not).
nlohmann::json read_json(WsClient& client, std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace portico::test
