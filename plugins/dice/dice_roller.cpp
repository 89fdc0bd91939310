#include "dice_roller.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <numeric>
#include <string_view>
#include <variant>

namespace dice {

namespace {

// Marks which dice a keep/drop selection keeps. Ties are broken by roll
// order, which never changes the kept values.
std::vector<bool> kept_mask(const DiceTerm& term, const std::vector<std::uint32_t>& rolls) {
    std::vector<bool> keep(rolls.size(), term.selection == Selection::all);
    if (term.selection == Selection::all) return keep;

    std::vector<std::size_t> order(rolls.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&rolls](std::size_t a, std::size_t b) { return rolls[a] < rolls[b]; });
    const std::size_t kept = term.kept_count();
    const bool highest = term.selection == Selection::keep_highest || term.selection == Selection::drop_lowest;
    const auto first = highest ? order.end() - static_cast<std::ptrdiff_t>(kept) : order.begin();
    std::for_each(first, first + static_cast<std::ptrdiff_t>(kept), [&keep](std::size_t i) { keep[i] = true; });
    return keep;
}

TermRoll roll_dice(const DiceTerm& term, Generator& generator) {
    TermRoll result;
    std::uniform_int_distribution<std::uint32_t> die(1, term.sides);
    result.rolls.reserve(term.count);  // bounded by the parser's max_dice
    for (std::uint32_t i = 0; i < term.count; ++i) result.rolls.push_back(die(generator));

    const std::vector<bool> keep = kept_mask(term, result.rolls);
    std::int64_t sum = 0;
    for (std::size_t i = 0; i < result.rolls.size(); ++i) {
        if (!keep[i]) continue;
        result.kept.push_back(result.rolls[i]);
        sum += result.rolls[i];
    }
    result.subtotal = term.negative ? -sum : sum;
    return result;
}

}  // namespace

Generator make_generator(std::optional<std::uint64_t> seed, unsigned worker) {
    if (seed) {
        std::seed_seq sequence{static_cast<std::uint32_t>(*seed), static_cast<std::uint32_t>(*seed >> 32),
                               static_cast<std::uint32_t>(worker)};
        return Generator(sequence);
    }
    std::random_device device;
    std::array<std::uint32_t, 8> words{};
    for (auto& word : words) word = device();
    std::seed_seq sequence(words.begin(), words.end());
    return Generator(sequence);
}

RollOutcome roll(const Expression& expression, Generator& generator) {
    RollOutcome outcome;
    outcome.terms.reserve(expression.terms.size());
    for (const Term& term : expression.terms) {
        if (const auto* dice = std::get_if<DiceTerm>(&term)) {
            outcome.terms.push_back(roll_dice(*dice, generator));
        } else {
            outcome.terms.push_back(TermRoll{{}, {}, std::get<ConstantTerm>(term).value});
        }
        outcome.total += outcome.terms.back().subtotal;
    }
    return outcome;
}

namespace {

// The result is written directly rather than built as a JSON document: it is
// on every request's path, and a document costs an allocation per value.
void append_number(std::string& out, std::int64_t value) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    out.append(digits, end);
}

void append_string(std::string& out, std::string_view text) {
    out += '"';
    for (const char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) {
            static constexpr char hex[] = "0123456789abcdef";
            out += "\\u00";
            out += hex[static_cast<unsigned char>(c) >> 4];
            out += hex[c & 0x0f];
            continue;
        }
        out += c;
    }
    out += '"';
}

template <class Values>
void append_array(std::string& out, const Values& values) {
    out += '[';
    bool first = true;
    for (const auto value : values) {
        if (!first) out += ',';
        first = false;
        append_number(out, value);
    }
    out += ']';
}

}  // namespace

std::string to_json(const Expression& expression, const RollOutcome& outcome) {
    std::string out;
    out.reserve(48 + expression.normalised.size() + 8 * expression.terms.size());
    out += "{\"expr\":";
    append_string(out, expression.normalised);
    out += ",\"rolls\":[";
    bool first = true;
    for (const TermRoll& term : outcome.terms) {
        for (const std::uint32_t value : term.rolls) {
            if (!first) out += ',';
            first = false;
            append_number(out, value);
        }
    }
    out += "],\"total\":";
    append_number(out, outcome.total);
    if (expression.needs_term_breakdown()) {
        out += ",\"terms\":[";
        for (std::size_t i = 0; i < expression.terms.size(); ++i) {
            if (i > 0) out += ',';
            const TermRoll& rolled = outcome.terms[i];
            if (const auto* dice = std::get_if<DiceTerm>(&expression.terms[i])) {
                out += "{\"dice\":";
                append_string(out, to_string(*dice));
                out += ",\"rolls\":";
                append_array(out, rolled.rolls);
                out += ",\"kept\":";
                append_array(out, rolled.kept);
                out += ",\"subtotal\":";
                append_number(out, rolled.subtotal);
                out += '}';
            } else {
                out += "{\"constant\":";
                append_number(out, rolled.subtotal);
                out += '}';
            }
        }
        out += ']';
    }
    out += '}';
    return out;
}

}  // namespace dice
