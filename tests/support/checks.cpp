#include "support/checks.hpp"

#include <catch2/catch.hpp>

namespace portico::test {

void require_exit_0(Subprocess& process, std::chrono::milliseconds within) {
    const auto exit = process.wait_exit(within);
    INFO(process.summary());
    REQUIRE(exit);
    CHECK(exit->exited);
    CHECK(exit->code == 0);
}

nlohmann::json read_json(WsClient& client, std::chrono::milliseconds timeout) {
    const std::string text = client.read_required(timeout);
    INFO("message: " << text);
    REQUIRE(nlohmann::json::accept(text));
    return nlohmann::json::parse(text);
}

}  // namespace portico::test
