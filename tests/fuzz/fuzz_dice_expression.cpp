// The dice grammar (plugins/dice/dice_expression.hpp) on any bytes, then the
// roller and the result JSON on every expression it accepts.
//
// Checks: an error's message ends with "at position N" and N is inside the
// input; an accepted expression respects every limit; its normalised text
// parses again to the same terms (normalising is idempotent); the grammar is
// case-insensitive; tighter limits never accept what the default refuses;
// every roll is in [1, sides], keep/drop keeps the right dice, subtotals and
// the total add up; the result is valid JSON that says what the roll was.
#include "dice_expression.hpp"
#include "dice_roller.hpp"
#include "fuzz_support.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace {

using nlohmann::json;

bool same_terms(const dice::Term& a, const dice::Term& b) {
    if (a.index() != b.index()) return false;
    if (const auto* x = std::get_if<dice::DiceTerm>(&a)) {
        const auto& y = std::get<dice::DiceTerm>(b);
        return x->negative == y.negative && x->count == y.count && x->sides == y.sides &&
               x->selection == y.selection && x->selection_count == y.selection_count;
    }
    return std::get<dice::ConstantTerm>(a).value == std::get<dice::ConstantTerm>(b).value;
}

bool same_expression(const dice::Expression& a, const dice::Expression& b) {
    return a.normalised == b.normalised && a.terms.size() == b.terms.size() &&
           std::equal(a.terms.begin(), a.terms.end(), b.terms.begin(), same_terms);
}

std::string upper(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return out;
}

void check_error(std::string_view input, const dice::ParseError& error) {
    const std::string suffix = " at position " + std::to_string(error.position);
    FUZZ_REQUIRE(error.message.size() > suffix.size() &&
                     error.message.compare(error.message.size() - suffix.size(), suffix.size(), suffix) == 0,
                 "message: " + error.message);
    FUZZ_REQUIRE(error.position <= input.size(), "position " + std::to_string(error.position));
}

void check_limits(std::string_view input, const dice::Expression& expression, const dice::ExpressionLimits& limits) {
    FUZZ_REQUIRE(input.size() <= limits.max_expression_length, "accepted " + std::to_string(input.size()) + " bytes");
    FUZZ_REQUIRE(!expression.terms.empty() && expression.terms.size() <= limits.max_terms,
                 std::to_string(expression.terms.size()) + " terms");
    std::uint64_t dice_total = 0;
    std::size_t dice_terms = 0;
    for (const auto& term : expression.terms) {
        if (const auto* d = std::get_if<dice::DiceTerm>(&term)) {
            ++dice_terms;
            dice_total += d->count;
            FUZZ_REQUIRE(d->count >= 1 && d->sides >= 1 && d->sides <= limits.max_sides, dice::to_string(*d));
            switch (d->selection) {
                case dice::Selection::all: break;
                case dice::Selection::keep_highest:
                case dice::Selection::keep_lowest:
                    FUZZ_REQUIRE(d->selection_count >= 1 && d->selection_count <= d->count, dice::to_string(*d));
                    break;
                case dice::Selection::drop_highest:
                case dice::Selection::drop_lowest:
                    FUZZ_REQUIRE(d->selection_count < d->count, dice::to_string(*d));
                    break;
            }
            FUZZ_REQUIRE(d->kept_count() >= 1 && d->kept_count() <= d->count, dice::to_string(*d));
        } else {
            const std::int64_t value = std::get<dice::ConstantTerm>(term).value;
            FUZZ_REQUIRE(value >= -static_cast<std::int64_t>(dice::max_constant) &&
                             value <= static_cast<std::int64_t>(dice::max_constant),
                         std::to_string(value));
        }
    }
    FUZZ_REQUIRE(dice_terms >= 1, "no dice term in " + expression.normalised);
    FUZZ_REQUIRE(dice_total <= limits.max_dice, std::to_string(dice_total) + " dice");
}

void check_normalised(const dice::Expression& expression, dice::ExpressionLimits limits) {
    // "d6" is written "1d6": the canonical text may be longer than the input.
    limits.max_expression_length = std::max<std::uint32_t>(
        limits.max_expression_length, static_cast<std::uint32_t>(expression.normalised.size()));
    const dice::ParseResult again = dice::parse_expression(expression.normalised, limits);
    FUZZ_REQUIRE(again.expression, "normalised \"" + expression.normalised + "\" refused: " + again.error.message);
    FUZZ_REQUIRE(same_expression(*again.expression, expression),
                 "\"" + expression.normalised + "\" parses as \"" + again.expression->normalised + "\"");
    for (const char c : expression.normalised) {
        FUZZ_REQUIRE((c >= '0' && c <= '9') || c == 'd' || c == 'k' || c == 'h' || c == 'l' || c == '+' || c == '-',
                     "normalised: " + expression.normalised);
    }
}

void check_roll(const dice::Expression& expression, const dice::RollOutcome& outcome) {
    FUZZ_REQUIRE(outcome.terms.size() == expression.terms.size(), "outcome terms");
    std::int64_t total = 0;
    for (std::size_t i = 0; i < expression.terms.size(); ++i) {
        const dice::TermRoll& rolled = outcome.terms[i];
        total += rolled.subtotal;
        const auto* d = std::get_if<dice::DiceTerm>(&expression.terms[i]);
        if (d == nullptr) {
            FUZZ_REQUIRE(rolled.rolls.empty() && rolled.kept.empty() &&
                             rolled.subtotal == std::get<dice::ConstantTerm>(expression.terms[i]).value,
                         "constant term " + std::to_string(i));
            continue;
        }
        const std::string name = dice::to_string(*d);
        FUZZ_REQUIRE(rolled.rolls.size() == d->count && rolled.kept.size() == d->kept_count(), name);
        for (const auto value : rolled.rolls) FUZZ_REQUIRE(value >= 1 && value <= d->sides, name);

        // Kept dice are a subsequence of the rolls, in roll order...
        std::size_t at = 0;
        for (const auto value : rolled.kept) {
            while (at < rolled.rolls.size() && rolled.rolls[at] != value) ++at;
            FUZZ_REQUIRE(at < rolled.rolls.size(), name + ": kept dice are not in roll order");
            ++at;
        }
        // ...and the highest or lowest ones, as the selection says.
        std::vector<std::uint32_t> sorted = rolled.rolls;
        std::vector<std::uint32_t> kept = rolled.kept;
        std::sort(sorted.begin(), sorted.end());
        std::sort(kept.begin(), kept.end());
        const bool highest =
            d->selection == dice::Selection::keep_highest || d->selection == dice::Selection::drop_lowest;
        const auto first = highest ? sorted.end() - static_cast<std::ptrdiff_t>(kept.size()) : sorted.begin();
        FUZZ_REQUIRE(std::equal(kept.begin(), kept.end(), first), name + ": the wrong dice were kept");

        std::int64_t sum = 0;
        for (const auto value : rolled.kept) sum += value;
        FUZZ_REQUIRE(rolled.subtotal == (d->negative ? -sum : sum), name + ": subtotal");
    }
    FUZZ_REQUIRE(outcome.total == total, "total " + std::to_string(outcome.total) + ", terms add to " +
                                             std::to_string(total));
}

void check_json(const dice::Expression& expression, const dice::RollOutcome& outcome) {
    const std::string text = dice::to_json(expression, outcome);
    FUZZ_REQUIRE(json::accept(text), "not JSON: " + text);
    const json result = json::parse(text);
    FUZZ_REQUIRE(result.at("expr") == expression.normalised, text);
    FUZZ_REQUIRE(result.at("total") == outcome.total, text);
    std::vector<std::uint32_t> rolls;
    for (const auto& term : outcome.terms) rolls.insert(rolls.end(), term.rolls.begin(), term.rolls.end());
    FUZZ_REQUIRE(result.at("rolls") == json(rolls), text);
    FUZZ_REQUIRE(result.contains("terms") == expression.needs_term_breakdown(), text);
    if (!result.contains("terms")) {
        FUZZ_REQUIRE(result.size() == 3, text);
        return;
    }
    const json& terms = result.at("terms");
    FUZZ_REQUIRE(terms.is_array() && terms.size() == expression.terms.size(), text);
    for (std::size_t i = 0; i < terms.size(); ++i) {
        const dice::TermRoll& rolled = outcome.terms[i];
        if (const auto* d = std::get_if<dice::DiceTerm>(&expression.terms[i])) {
            FUZZ_REQUIRE(terms[i].at("dice") == dice::to_string(*d) && terms[i].at("rolls") == json(rolled.rolls) &&
                             terms[i].at("kept") == json(rolled.kept) && terms[i].at("subtotal") == rolled.subtotal,
                         text);
        } else {
            FUZZ_REQUIRE((terms[i] == json{{"constant", rolled.subtotal}}), text);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input = portico::fuzz::as_text(data, size);
    const dice::ExpressionLimits limits;  // the plugin's defaults
    const dice::ParseResult parsed = dice::parse_expression(input, limits);

    // Case does not matter to the grammar: the same answer, at the same place.
    const dice::ParseResult shouted = dice::parse_expression(upper(input), limits);
    FUZZ_REQUIRE(shouted.expression.has_value() == parsed.expression.has_value(),
                 "upper case changes acceptance: " + (parsed.expression ? shouted.error.message : parsed.error.message));

    // Tighter limits refuse more, never accept something new or different.
    const dice::ExpressionLimits tight{8, 100, 24, 3};
    const dice::ParseResult tightly = dice::parse_expression(input, tight);
    FUZZ_REQUIRE(!tightly.expression || (parsed.expression && same_expression(*tightly.expression, *parsed.expression)),
                 "tight limits accept what the default refuses");

    if (!parsed.expression) {
        check_error(input, parsed.error);
        FUZZ_REQUIRE(shouted.error.position == parsed.error.position, "upper case moves the error: " +
                                                                          parsed.error.message + " / " +
                                                                          shouted.error.message);
        return 0;
    }
    const dice::Expression& expression = *parsed.expression;
    FUZZ_REQUIRE(same_expression(*shouted.expression, expression), "upper case changes the expression");
    if (!tightly.expression) check_error(input, tightly.error);
    check_limits(input, expression, limits);
    check_normalised(expression, limits);

    // The seed comes from the input, so a failure replays exactly.
    dice::Generator generator = dice::make_generator(std::hash<std::string_view>{}(input), 0);
    const dice::RollOutcome outcome = dice::roll(expression, generator);
    check_roll(expression, outcome);
    check_json(expression, outcome);
    return 0;
}
