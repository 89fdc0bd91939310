#include "dice_engine.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

// The symbols PORTICO_PLUGIN exports; dice_engine.cpp is compiled into this test.
extern "C" std::uint32_t portico_plugin_api_version() noexcept;
extern "C" const portico::PluginInfo* portico_plugin_info() noexcept;
extern "C" portico::CreateResult portico_create_engine(const portico::EngineContext& context) noexcept;

namespace {

std::unique_ptr<portico::Engine> make_engine(std::string_view settings = "{}", unsigned workers = 1) {
    return std::make_unique<dice::DiceEngine>(portico::EngineContext{"dice", settings, workers});
}

portico::Reply ask(portico::Engine& engine, std::string_view payload, unsigned worker = 0) {
    return engine.handle(portico::Request{"client-1", payload, worker});
}

}  // namespace

TEST_CASE("a good payload gets a JSON result", "[dice][engine]") {
    const auto engine = make_engine();
    const portico::Reply reply = ask(*engine, "3d6");
    REQUIRE(reply.kind() == portico::Reply::Kind::json);
    CHECK(reply.code().empty());
    const nlohmann::json result = nlohmann::json::parse(reply.body());
    CHECK(result.at("expr") == "3d6");
    CHECK(result.at("rolls").size() == 3);
    CHECK(result.at("total").get<int>() >= 3);
    CHECK(result.at("total").get<int>() <= 18);
    CHECK_FALSE(result.contains("terms"));

    const nlohmann::json terms = nlohmann::json::parse(ask(*engine, " 4D6KH3 + 2 ").body());
    CHECK(terms.at("expr") == "4d6kh3+2");
    CHECK(terms.at("terms").size() == 2);
}

TEST_CASE("a bad payload gets bad_expression with a position", "[dice][engine]") {
    const auto engine = make_engine();
    for (const char* payload : {"", "3d6x", "1000000000d6", "2d6kh3", "3d\xc3\xa9"}) {
        INFO("payload: " << payload);
        const portico::Reply reply = ask(*engine, payload);
        REQUIRE(reply.kind() == portico::Reply::Kind::error);
        CHECK(reply.code() == "bad_expression");
        CHECK_THAT(reply.body(), Catch::Contains(" at position "));
    }
    const portico::Reply reply = ask(*engine, "3d6x");
    CHECK(reply.body() == "unexpected 'x' at position 3");
}

TEST_CASE("an oversized payload names the limit", "[dice][engine]") {
    const auto engine = make_engine(R"({"max_expression_length": 8})");
    CHECK(ask(*engine, "1d6 + 10").ok());
    const portico::Reply reply = ask(*engine, "1d6 + 100");
    CHECK(reply.code() == "bad_expression");
    CHECK(reply.body() == "expression too long: 9 characters (at most 8) at position 8");
}

TEST_CASE("limits from the settings apply to requests", "[dice][engine]") {
    const auto engine = make_engine(R"({"max_dice": 5, "max_sides": 10})");
    CHECK(ask(*engine, "5d10").ok());
    CHECK_THAT(ask(*engine, "6d6").body(), Catch::Contains("too many dice: 6 (at most 5)"));
    CHECK_THAT(ask(*engine, "1d11").body(), Catch::Contains("too many sides: 11 (at most 10)"));
}

TEST_CASE("a worker index out of range is an error reply", "[dice][engine]") {
    const auto engine = make_engine("{}", 2);
    CHECK(ask(*engine, "1d6", 1).ok());
    const portico::Reply reply = ask(*engine, "1d6", 2);
    CHECK(reply.kind() == portico::Reply::Kind::error);
    CHECK(reply.code() == "engine_error");
    CHECK_THAT(reply.body(), Catch::Contains("worker index 2"));
}

TEST_CASE("a seeded engine repeats itself per worker", "[dice][engine]") {
    const auto one = make_engine(R"({"seed": 77})", 1);
    const auto also_one = make_engine(R"({"seed": 77})", 1);
    const auto two = make_engine(R"({"seed": 77})", 2);
    for (int i = 0; i < 10; ++i) {
        const std::string reply = ask(*one, "10d100").body();
        CHECK(ask(*also_one, "10d100").body() == reply);
        CHECK(ask(*two, "10d100", 0).body() == reply);  // worker 0 is seeded the same however many there are
        CHECK(ask(*two, "10d100", 1).body() != reply);
    }
}

TEST_CASE("bad settings or zero workers refuse construction", "[dice][engine]") {
    CHECK_THROWS_MATCHES(make_engine(R"({"maxdice": 10})"), std::invalid_argument,
                         Catch::Message(R"(dice settings: unknown key "maxdice")"));
    CHECK_THROWS_MATCHES(make_engine(R"({"max_dice": "10"})"), std::invalid_argument,
                         Catch::Message(R"(dice settings: "max_dice" must be a positive integer)"));
    CHECK_THROWS_AS(make_engine("{"), std::invalid_argument);
    CHECK_THROWS_AS(make_engine("{}", 0), std::invalid_argument);
}

TEST_CASE("workers roll concurrently, each with its own generator", "[dice][engine]") {
    const auto engine = make_engine("{}", 4);
    std::vector<std::thread> threads;
    std::vector<int> failures(4, 0);
    for (unsigned worker = 0; worker < 4; ++worker) {
        threads.emplace_back([&engine, &failures, worker] {
            for (int i = 0; i < 2000; ++i) {
                if (!ask(*engine, "4d6kh3+1d20-2", worker).ok()) ++failures[worker];
            }
        });
    }
    for (std::thread& thread : threads) thread.join();
    CHECK(failures == std::vector<int>(4, 0));
}

TEST_CASE("the exported plugin symbols work", "[dice][engine][export]") {
    CHECK(portico_plugin_api_version() ==
          portico::pack_api_version(portico::api_version_major, portico::api_version_minor));
    const portico::PluginInfo* info = portico_plugin_info();
    REQUIRE(info != nullptr);
    CHECK(std::string(info->name) == "dice");
    CHECK(std::string(info->version) == "1.0.0");

    portico::CreateResult created = portico_create_engine(portico::EngineContext{"dice", "{}", 1});
    REQUIRE(created.engine);
    CHECK(created.error.empty());
    CHECK(created.engine->handle(portico::Request{"c", "d20", 0}).ok());

    const portico::CreateResult refused = portico_create_engine(portico::EngineContext{"dice", R"({"x": 1})", 1});
    CHECK_FALSE(refused.engine);
    CHECK(refused.error == R"(dice settings: unknown key "x")");
}
