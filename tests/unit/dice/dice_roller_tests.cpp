#include "dice_roller.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

namespace {

dice::Expression parse_ok(const std::string& text) {
    INFO("input: \"" << text << "\"");
    dice::ParseResult result = dice::parse_expression(text, dice::ExpressionLimits{});
    INFO("error: " << result.error.message);
    REQUIRE(result.expression);
    return *result.expression;
}

std::int64_t sum(const std::vector<std::uint32_t>& values) {
    return std::accumulate(values.begin(), values.end(), std::int64_t{0});
}

// True when `part` appears in `whole` in the same order (not necessarily adjacent).
bool is_subsequence(const std::vector<std::uint32_t>& part, const std::vector<std::uint32_t>& whole) {
    auto it = whole.begin();
    for (std::uint32_t value : part) {
        it = std::find(it, whole.end(), value);
        if (it == whole.end()) return false;
        ++it;
    }
    return true;
}

// Pearson's chi-square statistic of `counts` against a uniform distribution.
double chi_square_uniform(const std::vector<std::uint64_t>& counts) {
    const double total = static_cast<double>(std::accumulate(counts.begin(), counts.end(), std::uint64_t{0}));
    const double expected = total / static_cast<double>(counts.size());
    double statistic = 0;
    for (std::uint64_t count : counts) {
        const double difference = static_cast<double>(count) - expected;
        statistic += difference * difference / expected;
    }
    return statistic;
}

// Rolls `sides`-sided dice `rolls` times (in batches of 1000) and counts each face.
std::vector<std::uint64_t> face_counts(std::uint32_t sides, std::uint32_t rolls, std::uint64_t seed) {
    const dice::Expression batch = parse_ok("1000d" + std::to_string(sides));
    dice::Generator generator = dice::make_generator(seed, 0);
    std::vector<std::uint64_t> counts(sides, 0);
    for (std::uint32_t done = 0; done < rolls; done += 1000) {
        const dice::RollOutcome outcome = dice::roll(batch, generator);
        for (std::uint32_t value : outcome.terms.front().rolls) {
            REQUIRE(value >= 1);
            REQUIRE(value <= sides);
            ++counts[value - 1];
        }
    }
    return counts;
}

}  // namespace

TEST_CASE("a fixed seed makes rolls reproducible", "[dice][roller]") {
    const dice::Expression expression = parse_ok("10d20+4d6kh3-2");
    dice::Generator first = dice::make_generator(42, 0);
    dice::Generator second = dice::make_generator(42, 0);
    for (int i = 0; i < 20; ++i) {
        CHECK(dice::to_json(expression, dice::roll(expression, first)) ==
              dice::to_json(expression, dice::roll(expression, second)));
    }
}

TEST_CASE("seed and worker both select the sequence", "[dice][roller]") {
    const dice::Expression expression = parse_ok("20d1000000");
    auto rolls_of = [&expression](std::uint64_t seed, unsigned worker) {
        dice::Generator generator = dice::make_generator(seed, worker);
        return dice::roll(expression, generator).terms.front().rolls;
    };
    CHECK(rolls_of(7, 0) == rolls_of(7, 0));
    CHECK(rolls_of(7, 0) != rolls_of(7, 1));
    CHECK(rolls_of(7, 0) != rolls_of(8, 0));
    CHECK(rolls_of(7, 0) != rolls_of(std::uint64_t{7} | (std::uint64_t{1} << 32), 0));  // high word counts too
}

TEST_CASE("unseeded generators differ", "[dice][roller]") {
    const dice::Expression expression = parse_ok("20d1000000");
    dice::Generator a = dice::make_generator(std::nullopt, 0);
    dice::Generator b = dice::make_generator(std::nullopt, 0);
    CHECK(dice::roll(expression, a).terms.front().rolls != dice::roll(expression, b).terms.front().rolls);
}

TEST_CASE("keep and drop keep the right dice, in roll order", "[dice][roller]") {
    struct Case {
        const char* text;
        bool highest;
        std::size_t kept;
    };
    const Case cases[] = {
        {"8d6kh3", true, 3}, {"8d6k3", true, 3},  {"8d6kl2", false, 2}, {"8d6dl1", true, 7},
        {"8d6dh5", false, 3}, {"8d6dl0", true, 8}, {"2d20kl1", false, 1}, {"2d20kh1", true, 1},
    };
    dice::Generator generator = dice::make_generator(1234, 0);
    for (const Case& c : cases) {
        INFO(c.text);
        const dice::Expression expression = parse_ok(c.text);
        for (int i = 0; i < 200; ++i) {
            const dice::TermRoll term = dice::roll(expression, generator).terms.front();
            REQUIRE(term.kept.size() == c.kept);
            CHECK(is_subsequence(term.kept, term.rolls));
            std::vector<std::uint32_t> sorted_rolls = term.rolls;
            std::vector<std::uint32_t> sorted_kept = term.kept;
            std::sort(sorted_rolls.begin(), sorted_rolls.end(), std::greater<>());
            std::sort(sorted_kept.begin(), sorted_kept.end(), std::greater<>());
            if (!c.highest) std::reverse(sorted_rolls.begin(), sorted_rolls.end());
            if (!c.highest) std::reverse(sorted_kept.begin(), sorted_kept.end());
            sorted_rolls.resize(c.kept);
            CHECK(sorted_kept == sorted_rolls);
            CHECK(term.subtotal == sum(term.kept));
        }
    }
}

TEST_CASE("totals add up with signs and modifiers", "[dice][roller]") {
    const dice::Expression expression = parse_ok("2d6+1d4-3-2d8+10+4d6dl1");
    dice::Generator generator = dice::make_generator(99, 0);
    for (int i = 0; i < 100; ++i) {
        const dice::RollOutcome outcome = dice::roll(expression, generator);
        REQUIRE(outcome.terms.size() == 6);
        CHECK(outcome.terms[0].subtotal == sum(outcome.terms[0].rolls));
        CHECK(outcome.terms[1].subtotal == sum(outcome.terms[1].rolls));
        CHECK(outcome.terms[2].subtotal == -3);
        CHECK(outcome.terms[2].rolls.empty());
        CHECK(outcome.terms[3].subtotal == -sum(outcome.terms[3].rolls));
        CHECK(outcome.terms[4].subtotal == 10);
        CHECK(outcome.terms[5].subtotal == sum(outcome.terms[5].kept));
        std::int64_t total = 0;
        for (const dice::TermRoll& term : outcome.terms) total += term.subtotal;
        CHECK(outcome.total == total);
        CHECK(outcome.total >= 2 + 1 - 3 - 16 + 10 + 3);
        CHECK(outcome.total <= 12 + 4 - 3 - 2 + 10 + 18);
    }
}

TEST_CASE("every roll is within [1, sides]", "[dice][roller]") {
    dice::Generator generator = dice::make_generator(5, 0);
    for (const char* text : {"1000d1", "1000d2", "1000d7", "1000d1000000"}) {
        INFO(text);
        const dice::Expression expression = parse_ok(text);
        const std::uint32_t sides = std::get<dice::DiceTerm>(expression.terms.front()).sides;
        const dice::TermRoll term = dice::roll(expression, generator).terms.front();
        REQUIRE(term.rolls.size() == 1000);
        CHECK(std::all_of(term.rolls.begin(), term.rolls.end(),
                          [sides](std::uint32_t value) { return value >= 1 && value <= sides; }));
    }
}

TEST_CASE("a d6 is uniform over 1..6", "[dice][roller][statistics]") {
    const std::vector<std::uint64_t> counts = face_counts(6, 60'000, 20240601);
    for (std::size_t face = 0; face < counts.size(); ++face) {
        INFO("face " << face + 1);
        CHECK(counts[face] > 0);
    }
    CHECK(chi_square_uniform(counts) < 20.52);  // 0.999 quantile, 5 degrees of freedom
}

TEST_CASE("d2 and d20 are uniform too", "[dice][roller][statistics]") {
    const std::vector<std::uint64_t> coin = face_counts(2, 20'000, 11);
    CHECK(coin[0] > 0);
    CHECK(coin[1] > 0);
    CHECK(chi_square_uniform(coin) < 10.83);  // 0.999 quantile, 1 degree of freedom

    const std::vector<std::uint64_t> d20 = face_counts(20, 100'000, 12);
    CHECK(std::all_of(d20.begin(), d20.end(), [](std::uint64_t count) { return count > 0; }));
    CHECK(chi_square_uniform(d20) < 43.82);  // 0.999 quantile, 19 degrees of freedom
}

TEST_CASE("the result JSON has the documented shape", "[dice][roller][json]") {
    SECTION("one plain term has no term breakdown") {
        const dice::Expression expression = parse_ok(" 3D6 ");
        dice::RollOutcome outcome;
        outcome.terms.push_back({{4, 1, 6}, {4, 1, 6}, 11});
        outcome.total = 11;
        CHECK(dice::to_json(expression, outcome) == R"({"expr":"3d6","rolls":[4,1,6],"total":11})");
    }
    SECTION("keep/drop and constants list their terms") {
        const dice::Expression expression = parse_ok("4d6k3 - 2");
        dice::RollOutcome outcome;
        outcome.terms.push_back({{2, 5, 1, 6}, {2, 5, 6}, 13});
        outcome.terms.push_back({{}, {}, -2});
        outcome.total = 11;
        CHECK(dice::to_json(expression, outcome) ==
              R"({"expr":"4d6kh3-2","rolls":[2,5,1,6],"total":11,"terms":[)"
              R"({"dice":"4d6kh3","rolls":[2,5,1,6],"kept":[2,5,6],"subtotal":13},{"constant":-2}]})");
    }
    SECTION("rolled results are valid JSON with consistent fields") {
        const dice::Expression expression = parse_ok("-1d4+2d6+d20kh1+7");
        dice::Generator generator = dice::make_generator(3, 0);
        const nlohmann::json result = nlohmann::json::parse(dice::to_json(expression, dice::roll(expression, generator)));
        CHECK(result.at("expr") == "-1d4+2d6+1d20kh1+7");
        REQUIRE(result.at("rolls").size() == 4);
        REQUIRE(result.at("terms").size() == 4);
        CHECK(result.at("terms")[0].at("dice") == "-1d4");
        CHECK(result.at("terms")[0].at("subtotal").get<int>() < 0);
        CHECK(result.at("terms")[3] == nlohmann::json{{"constant", 7}});
        std::int64_t total = 0;
        std::vector<std::uint32_t> flattened;
        for (const auto& term : result.at("terms")) {
            total += term.contains("constant") ? term.at("constant").get<std::int64_t>()
                                               : term.at("subtotal").get<std::int64_t>();
            if (term.contains("rolls")) {
                for (const auto& value : term.at("rolls")) flattened.push_back(value.get<std::uint32_t>());
            }
        }
        CHECK(result.at("total").get<std::int64_t>() == total);
        CHECK(result.at("rolls").get<std::vector<std::uint32_t>>() == flattened);
    }
}
