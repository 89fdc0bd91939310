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

}  // namespace portico::test
