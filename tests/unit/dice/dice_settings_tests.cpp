#include "dice_settings.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace {

dice::DiceSettings parse_ok(const std::string& text) {
    INFO("settings: " << text);
    dice::SettingsResult result = dice::parse_settings(text);
    INFO("error: " << result.error);
    REQUIRE(result.settings);
    return *result.settings;
}

std::string parse_error(const std::string& text) {
    INFO("settings: " << text);
    const dice::SettingsResult result = dice::parse_settings(text);
    REQUIRE_FALSE(result.settings);
    return result.error;
}

}  // namespace

TEST_CASE("empty settings give the defaults", "[dice][settings]") {
    const dice::DiceSettings settings = parse_ok("{}");
    CHECK_FALSE(settings.seed);
    CHECK(settings.limits.max_dice == 1000);
    CHECK(settings.limits.max_sides == 1'000'000);
    CHECK(settings.limits.max_expression_length == 256);
    CHECK(settings.limits.max_terms == 32);
}

TEST_CASE("custom settings are read", "[dice][settings]") {
    const dice::DiceSettings settings = parse_ok(
        R"({"seed": 18446744073709551615, "max_dice": 100000, "max_sides": 1000000000,
            "max_expression_length": 4096, "max_terms": 1000})");
    REQUIRE(settings.seed);
    CHECK(*settings.seed == 18446744073709551615u);
    CHECK(settings.limits.max_dice == dice::max_dice_cap);
    CHECK(settings.limits.max_sides == dice::max_sides_cap);
    CHECK(settings.limits.max_expression_length == dice::max_expression_length_cap);
    CHECK(settings.limits.max_terms == dice::max_terms_cap);

    const dice::DiceSettings small = parse_ok(R"({"seed": 0, "max_dice": 1, "max_terms": 1})");
    CHECK(small.seed == std::uint64_t{0});
    CHECK(small.limits.max_dice == 1);
    CHECK(small.limits.max_terms == 1);
    CHECK(small.limits.max_sides == 1'000'000);
}

TEST_CASE("unknown keys are refused by name", "[dice][settings]") {
    CHECK(parse_error(R"({"maxdice": 10})") == R"(dice settings: unknown key "maxdice")");
    CHECK(parse_error(R"({"max_dice": 10, "Seed": 1})") == R"(dice settings: unknown key "Seed")");
}

TEST_CASE("wrong types are refused by name", "[dice][settings]") {
    for (const char* value : {R"("10")", "-1", "0", "1.5", "10.0", "true", "null", "[10]", "{}"}) {
        INFO("value: " << value);
        CHECK(parse_error(std::string(R"({"max_dice": )") + value + "}") ==
              R"(dice settings: "max_dice" must be a positive integer)");
    }
    CHECK(parse_error(R"({"max_terms": "many"})") == R"(dice settings: "max_terms" must be a positive integer)");
    for (const char* value : {"-1", R"("42")", "1.0", "18446744073709551616", "null"}) {
        INFO("seed: " << value);
        CHECK(parse_error(std::string(R"({"seed": )") + value + "}") ==
              R"(dice settings: "seed" must be an unsigned 64-bit integer)");
    }
}

TEST_CASE("values above their caps are refused by name", "[dice][settings]") {
    CHECK(parse_error(R"({"max_dice": 100001})") == R"(dice settings: "max_dice" must be at most 100000, got 100001)");
    CHECK(parse_error(R"({"max_sides": 1000000001})") ==
          R"(dice settings: "max_sides" must be at most 1000000000, got 1000000001)");
    CHECK(parse_error(R"({"max_expression_length": 4097})") ==
          R"(dice settings: "max_expression_length" must be at most 4096, got 4097)");
    CHECK(parse_error(R"({"max_terms": 18446744073709551615})") ==
          R"(dice settings: "max_terms" must be at most 1000, got 18446744073709551615)");
}

TEST_CASE("text that is not a JSON object is refused", "[dice][settings]") {
    for (const char* text : {"", "{", "not json", R"({"max_dice": })", "{}}"}) {
        INFO("settings: " << text);
        CHECK_THAT(parse_error(text), Catch::StartsWith("dice settings: invalid JSON: "));
    }
    CHECK(parse_error("[]") == "dice settings: expected a JSON object");
    CHECK(parse_error("5") == "dice settings: expected a JSON object");
    CHECK(parse_error("null") == "dice settings: expected a JSON object");
}

// A number too large for a double is an error of its own in nlohmann
// (out_of_range, not parse_error): refused like any other bad JSON.
TEST_CASE("numbers out of range are refused, not thrown", "[dice][settings][regression]") {
    CHECK_THAT(parse_error(R"({"seed": 1e400})"), Catch::StartsWith("dice settings: invalid JSON: "));
    CHECK_THAT(parse_error(R"({"seed": 1e400})"), Catch::Contains("number overflow"));
    CHECK_THAT(parse_error(R"({"max_dice": -1e999})"), Catch::StartsWith("dice settings: invalid JSON: "));
    CHECK(parse_error(R"({"max_dice": 1e300})") == "dice settings: \"max_dice\" must be a positive integer");
}
