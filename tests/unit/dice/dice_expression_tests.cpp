#include "dice_expression.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <variant>

namespace {

using dice::DiceTerm;
using dice::ExpressionLimits;
using dice::Selection;

dice::Expression parse_ok(const std::string& text, const ExpressionLimits& limits = {}) {
    INFO("input: \"" << text << "\"");
    dice::ParseResult result = dice::parse_expression(text, limits);
    INFO("error: " << result.error.message);
    REQUIRE(result.expression);
    return *result.expression;
}

std::string normalised(const std::string& text) {
    return parse_ok(text).normalised;
}

void require_error(const std::string& text, std::size_t position, const std::string& fragment,
                   const ExpressionLimits& limits = {}) {
    INFO("input: \"" << text << "\"");
    const dice::ParseResult result = dice::parse_expression(text, limits);
    REQUIRE_FALSE(result.expression);
    CHECK(result.error.position == position);
    CHECK_THAT(result.error.message, Catch::Contains(fragment));
    CHECK_THAT(result.error.message, Catch::EndsWith(" at position " + std::to_string(position)));
}

const DiceTerm& dice_at(const dice::Expression& expression, std::size_t index) {
    REQUIRE(index < expression.terms.size());
    REQUIRE(std::holds_alternative<DiceTerm>(expression.terms[index]));
    return std::get<DiceTerm>(expression.terms[index]);
}

std::int64_t constant_at(const dice::Expression& expression, std::size_t index) {
    REQUIRE(index < expression.terms.size());
    REQUIRE(std::holds_alternative<dice::ConstantTerm>(expression.terms[index]));
    return std::get<dice::ConstantTerm>(expression.terms[index]).value;
}

}  // namespace

TEST_CASE("plain dice parse into one term", "[dice][grammar]") {
    const dice::Expression expression = parse_ok("3d6");
    REQUIRE(expression.terms.size() == 1);
    const DiceTerm& term = dice_at(expression, 0);
    CHECK(term.count == 3);
    CHECK(term.sides == 6);
    CHECK_FALSE(term.negative);
    CHECK(term.selection == Selection::all);
    CHECK(term.kept_count() == 3);
    CHECK(expression.normalised == "3d6");
    CHECK_FALSE(expression.needs_term_breakdown());
}

TEST_CASE("a missing count means one die", "[dice][grammar]") {
    const dice::Expression expression = parse_ok("d20");
    CHECK(dice_at(expression, 0).count == 1);
    CHECK(dice_at(expression, 0).sides == 20);
    CHECK(expression.normalised == "1d20");
}

TEST_CASE("keep and drop forms", "[dice][grammar]") {
    struct Case {
        const char* text;
        Selection selection;
        std::uint32_t n;
        std::uint32_t kept;
        const char* normalised;
    };
    const Case cases[] = {
        {"4d6kh3", Selection::keep_highest, 3, 3, "4d6kh3"},
        {"2d20kl1", Selection::keep_lowest, 1, 1, "2d20kl1"},
        {"4d6k3", Selection::keep_highest, 3, 3, "4d6kh3"},
        {"4d6dl1", Selection::drop_lowest, 1, 3, "4d6dl1"},
        {"4d6dh1", Selection::drop_highest, 1, 3, "4d6dh1"},
        {"4d6dl0", Selection::drop_lowest, 0, 4, "4d6dl0"},
        {"4d6kh4", Selection::keep_highest, 4, 4, "4d6kh4"},
        {"4d6dh3", Selection::drop_highest, 3, 1, "4d6dh3"},
    };
    for (const Case& c : cases) {
        INFO(c.text);
        const dice::Expression expression = parse_ok(c.text);
        REQUIRE(expression.terms.size() == 1);
        const DiceTerm& term = dice_at(expression, 0);
        CHECK(term.selection == c.selection);
        CHECK(term.selection_count == c.n);
        CHECK(term.kept_count() == c.kept);
        CHECK(expression.normalised == c.normalised);
        CHECK(expression.needs_term_breakdown());
    }
}

TEST_CASE("several terms with signs", "[dice][grammar]") {
    const dice::Expression sum = parse_ok("2d6+1d4+3");
    REQUIRE(sum.terms.size() == 3);
    CHECK(dice_at(sum, 0).count == 2);
    CHECK(dice_at(sum, 1).sides == 4);
    CHECK(constant_at(sum, 2) == 3);
    CHECK(sum.normalised == "2d6+1d4+3");
    CHECK(sum.needs_term_breakdown());

    const dice::Expression minus = parse_ok("1d20-2");
    CHECK(constant_at(minus, 1) == -2);
    CHECK(minus.normalised == "1d20-2");

    const dice::Expression negative_dice = parse_ok("10-2d4");
    CHECK(constant_at(negative_dice, 0) == 10);
    CHECK(dice_at(negative_dice, 1).negative);
    CHECK(negative_dice.normalised == "10-2d4");
}

TEST_CASE("a leading sign is allowed", "[dice][grammar]") {
    const dice::Expression negative = parse_ok("-1d4+5");
    CHECK(dice_at(negative, 0).negative);
    CHECK(negative.normalised == "-1d4+5");
    CHECK(normalised("+1d4") == "1d4");
    CHECK(normalised("-2+d6") == "-2+1d6");
}

TEST_CASE("input is case-insensitive", "[dice][grammar]") {
    CHECK(normalised("3D6") == "3d6");
    CHECK(normalised("4D6KH3") == "4d6kh3");
    CHECK(normalised("2D20Kl1") == "2d20kl1");
    CHECK(normalised("4d6DL1") == "4d6dl1");
    CHECK(normalised("D8") == "1d8");
}

TEST_CASE("spaces between tokens are tolerated", "[dice][grammar]") {
    CHECK(normalised(" 2d6 + 3 ") == "2d6+3");
    CHECK(normalised("4 d 6 kh 3") == "4d6kh3");
    CHECK(normalised("  d20   -   1d4  ") == "1d20-1d4");
    CHECK(normalised("- 1d4") == "-1d4");
    CHECK(normalised("4d6 dl 1") == "4d6dl1");
}

TEST_CASE("numbers are normalised", "[dice][grammar]") {
    CHECK(normalised("007d06") == "7d6");
    CHECK(normalised("1d6+000") == "1d6+0");
    CHECK(normalised("1d1") == "1d1");
}

TEST_CASE("grammar errors say what and where", "[dice][grammar][errors]") {
    require_error("", 0, "empty expression");
    require_error("    ", 0, "empty expression");
    require_error("d", 1, "expected a number of sides after 'd'");
    require_error("3d", 2, "expected a number of sides after 'd'");
    require_error("3d x", 3, "expected a number of sides after 'd'");
    require_error("3d6d6", 3, "unexpected 'd'");
    require_error("3d6x", 3, "unexpected 'x'");
    require_error("x", 0, "unexpected 'x'");
    require_error("2d6 3", 4, "unexpected '3'");
    require_error("4d6kh3kl1", 6, "unexpected 'k'");
    require_error("4d6kh", 5, "expected a number of dice to keep after 'kh'");
    require_error("4d6KL", 5, "expected a number of dice to keep after 'kl'");
    require_error("4d6k", 4, "expected a number of dice to keep after 'k'");
    require_error("4d6dl", 5, "expected a number of dice to drop after 'dl'");
    require_error("4d6dh+1", 5, "expected a number of dice to drop after 'dh'");
    require_error("0d6", 0, "number of dice must be at least 1, got 0");
    require_error("1d6+0d6", 4, "number of dice must be at least 1, got 0");
    require_error("3d0", 2, "number of sides must be at least 1, got 0");
    require_error("2d6kh3", 5, "cannot keep 3 dice out of 2");
    require_error("2d6kh0", 5, "must keep at least 1 die");
    require_error("2d6dl2", 5, "cannot drop 2 dice out of 2");
    require_error("3d6+", 4, "expected a term after '+'");
    require_error("3d6+-2", 4, "expected a term after '+'");
    require_error("3d6 - ", 6, "expected a term after '-'");
    require_error("-", 1, "expected a term after '-'");
    require_error("5", 0, "expected at least one dice term");
    require_error("5+3", 0, "expected at least one dice term");
}

TEST_CASE("oversized numbers are errors, not hangs", "[dice][grammar][errors]") {
    require_error("1000000000d6", 0, "too many dice: 1000000000 (at most 1000)");
    require_error("99999999999999999999999d6", 0, "too many dice: 99999999999999999999999 (at most 1000)");
    require_error(std::string(100, '9') + "d6", 0, "(100 digits) (at most 1000)");
    require_error("1d1000001", 2, "too many sides: 1000001 (at most 1000000)");
    require_error("1d" + std::string(40, '7'), 2, "too many sides: ");
    require_error("1d6+2000000000", 4, "constant too large: 2000000000 (at most 1000000000)");
    require_error("1d6-" + std::string(30, '5'), 4, "constant too large");
    require_error("20d6kh99999999999999999999", 6, "cannot keep 99999999999999999999 dice out of 20");
    require_error("1000d6+d6", 7, "too many dice: 1001 in total (at most 1000)");
    CHECK(normalised("1d6+1000000000") == "1d6+1000000000");
    CHECK(normalised("1000d6") == "1000d6");
    CHECK(normalised("1d1000000") == "1d1000000");
}

TEST_CASE("bytes that are not printable ASCII are refused with their position", "[dice][grammar][errors]") {
    require_error("3d6\t", 3, "non-printable or non-ASCII byte 0x09");
    require_error("3d6\n", 3, "byte 0x0a");
    require_error("3d\xc3\xa9", 2, "byte 0xc3");
    require_error(std::string("3d6\0", 4), 3, "byte 0x00");
    require_error("1d6\x7f", 3, "byte 0x7f");
    require_error("\x1b[2J", 0, "byte 0x1b");
}

TEST_CASE("an oversized input is refused before it is read", "[dice][grammar][errors]") {
    require_error(std::string(300, '1'), 256, "expression too long: 300 characters (at most 256)");
    require_error(std::string(1000, '\xff'), 256, "expression too long: 1000 characters");
    CHECK(parse_ok(std::string(253, ' ') + "1d6").normalised == "1d6");  // exactly at the limit
}

TEST_CASE("custom limits are honoured", "[dice][grammar][limits]") {
    ExpressionLimits limits;
    limits.max_dice = 10;
    limits.max_sides = 100;
    limits.max_expression_length = 12;
    limits.max_terms = 3;

    CHECK(parse_ok("10d100", limits).normalised == "10d100");
    require_error("11d6", 0, "too many dice: 11 (at most 10)", limits);
    require_error("5d6+6d6", 4, "too many dice: 11 in total (at most 10)", limits);
    require_error("1d101", 2, "too many sides: 101 (at most 100)", limits);

    CHECK(parse_ok("1d6+1d6+1d6", limits).terms.size() == 3);
    require_error("1d6+1+1+1", 8, "too many terms (at most 3)", limits);

    CHECK(parse_ok("1d6+1d6+1234", limits).normalised == "1d6+1d6+1234");
    require_error("1d6+1d6+12345", 12, "expression too long: 13 characters (at most 12)", limits);
}

TEST_CASE("random inputs give a result or a located error, never a crash", "[dice][grammar][fuzz]") {
    const std::string alphabet = "0123456789dDkKhHlL+- x\t";
    std::mt19937 generator(2024);
    std::uniform_int_distribution<std::size_t> length(0, 24);
    std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
    int parsed = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string text(length(generator), ' ');
        for (char& c : text) c = alphabet[pick(generator)];
        INFO("input: \"" << text << "\"");
        const dice::ParseResult result = dice::parse_expression(text, ExpressionLimits{});
        if (result.expression) {
            ++parsed;
            // The normalised text is itself valid and normalises to itself.
            CHECK(parse_ok(result.expression->normalised).normalised == result.expression->normalised);
        } else {
            CHECK(result.error.position <= text.size());
            CHECK_THAT(result.error.message,
                       Catch::EndsWith(" at position " + std::to_string(result.error.position)));
        }
    }
    CHECK(parsed > 0);
}
