#include "dice_expression.hpp"

#include <cstdio>
#include <limits>
#include <utility>

namespace dice {

namespace {

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

bool is_printable_ascii(char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte >= 0x20 && byte < 0x7f;
}

const char* selection_text(Selection selection) {
    switch (selection) {
        case Selection::keep_highest: return "kh";
        case Selection::keep_lowest: return "kl";
        case Selection::drop_highest: return "dh";
        case Selection::drop_lowest: return "dl";
        case Selection::all: break;
    }
    return "";
}

// A decimal number as written. Saturates instead of wrapping, so a huge
// count is still reported as too large rather than as something small.
struct Number {
    std::uint64_t value = 0;
    bool overflowed = false;
    std::size_t position = 0;
    std::string_view digits;

    // For messages: the value, or the digits themselves when too big to hold.
    std::string describe() const {
        if (!overflowed) return std::to_string(value);
        std::string_view text = digits.substr(digits.find_first_not_of('0'));
        if (text.size() <= 24) return std::string(text);
        return std::string(text.substr(0, 20)) + "... (" + std::to_string(text.size()) + " digits)";
    }
};

class Parser {
public:
    Parser(std::string_view input, const ExpressionLimits& limits) : input_(input), limits_(limits) {}

    ParseResult run() {
        if (!check_bytes() || !parse_terms()) return {std::nullopt, std::move(error_)};
        return {std::move(expression_), {}};
    }

private:
    bool check_bytes() {
        if (input_.size() > limits_.max_expression_length) {
            return fail(limits_.max_expression_length,
                        "expression too long: " + std::to_string(input_.size()) + " characters (at most " +
                            std::to_string(limits_.max_expression_length) + ")");
        }
        for (std::size_t i = 0; i < input_.size(); ++i) {
            if (!is_printable_ascii(input_[i])) {
                char hex[8];
                std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned char>(input_[i]));
                return fail(i, std::string("non-printable or non-ASCII byte ") + hex);
            }
        }
        return true;
    }

    bool parse_terms() {
        skip_spaces();
        if (at_end()) return fail(0, "empty expression");
        char sign = '\0';  // none before the first term unless written
        while (true) {
            if (peek() == '+' || peek() == '-') {
                sign = input_[pos_++];
                skip_spaces();
            }
            if (!parse_term(sign)) return false;
            skip_spaces();
            if (at_end()) break;
            if (peek() != '+' && peek() != '-') return unexpected();
        }
        if (dice_total_ == 0) return fail(0, "expected at least one dice term such as 3d6");
        return true;
    }

    bool parse_term(char sign) {
        if (at_end() || (!is_digit(peek()) && peek() != 'd')) {
            if (sign == '\0') return unexpected();
            return fail(pos_, std::string("expected a term after '") + sign + "'");
        }
        if (expression_.terms.size() >= limits_.max_terms) {
            return fail(pos_, "too many terms (at most " + std::to_string(limits_.max_terms) + ")");
        }
        const bool negative = sign == '-';
        const std::size_t term_start = pos_;
        std::optional<Number> count;
        if (is_digit(peek())) {
            count = read_number();
            skip_spaces();
        }
        // A term starts with a digit or 'd', so without a 'd' here there is a count.
        if (at_end() || peek() != 'd') return add_constant(negative, *count);

        ++pos_;  // the 'd'
        skip_spaces();
        if (at_end() || !is_digit(peek())) return fail(pos_, "expected a number of sides after 'd'");
        const Number sides = read_number();

        DiceTerm term;
        term.negative = negative;
        if (!check_count(count ? *count : Number{1, false, term_start, {}}, term)) return false;
        if (!check_sides(sides, term)) return false;
        skip_spaces();
        if (!parse_selection(term)) return false;
        expression_.terms.emplace_back(term);
        return true;
    }

    bool add_constant(bool negative, const Number& number) {
        if (number.overflowed || number.value > max_constant) {
            return fail(number.position, "constant too large: " + number.describe() + " (at most " +
                                             std::to_string(max_constant) + ")");
        }
        const auto magnitude = static_cast<std::int64_t>(number.value);
        expression_.terms.emplace_back(ConstantTerm{negative ? -magnitude : magnitude});
        return true;
    }

    bool check_count(const Number& count, DiceTerm& term) {
        if (count.value == 0) return fail(count.position, "number of dice must be at least 1, got 0");
        if (count.overflowed || count.value > limits_.max_dice) {
            return fail(count.position, "too many dice: " + count.describe() + " (at most " +
                                            std::to_string(limits_.max_dice) + ")");
        }
        dice_total_ += count.value;  // both addends are at most max_dice: no overflow
        if (dice_total_ > limits_.max_dice) {
            return fail(count.position, "too many dice: " + std::to_string(dice_total_) + " in total (at most " +
                                            std::to_string(limits_.max_dice) + ")");
        }
        term.count = static_cast<std::uint32_t>(count.value);
        return true;
    }

    bool check_sides(const Number& sides, DiceTerm& term) {
        if (sides.value == 0) return fail(sides.position, "number of sides must be at least 1, got 0");
        if (sides.overflowed || sides.value > limits_.max_sides) {
            return fail(sides.position, "too many sides: " + sides.describe() + " (at most " +
                                            std::to_string(limits_.max_sides) + ")");
        }
        term.sides = static_cast<std::uint32_t>(sides.value);
        return true;
    }

    bool parse_selection(DiceTerm& term) {
        const std::size_t operator_position = pos_;
        if (at_end()) return true;
        if (peek() == 'k') {
            ++pos_;
            const char which = at_end() ? '\0' : peek();
            term.selection = which == 'l' ? Selection::keep_lowest : Selection::keep_highest;
            if (which == 'h' || which == 'l') ++pos_;
        } else if (peek() == 'd' && pos_ + 1 < input_.size() &&
                   (lower(input_[pos_ + 1]) == 'h' || lower(input_[pos_ + 1]) == 'l')) {
            term.selection = lower(input_[pos_ + 1]) == 'h' ? Selection::drop_highest : Selection::drop_lowest;
            pos_ += 2;
        } else {
            return true;  // no selection; whatever follows is the caller's business
        }
        const bool keeps = term.selection == Selection::keep_highest || term.selection == Selection::keep_lowest;
        const std::string written(input_.substr(operator_position, pos_ - operator_position));
        skip_spaces();
        if (at_end() || !is_digit(peek())) {
            return fail(pos_, std::string("expected a number of dice to ") + (keeps ? "keep" : "drop") +
                                  " after '" + lower_copy(written) + "'");
        }
        const Number n = read_number();
        const std::string of_count = " dice out of " + std::to_string(term.count);
        if (keeps && n.value == 0) return fail(n.position, "must keep at least 1 die");
        if (keeps && (n.overflowed || n.value > term.count)) {
            return fail(n.position, "cannot keep " + n.describe() + of_count);
        }
        if (!keeps && (n.overflowed || n.value >= term.count)) {
            return fail(n.position, "cannot drop " + n.describe() + of_count + " (at least 1 must remain)");
        }
        term.selection_count = static_cast<std::uint32_t>(n.value);
        return true;
    }

    Number read_number() {
        Number number;
        number.position = pos_;
        constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
        while (!at_end() && is_digit(input_[pos_])) {
            const auto digit = static_cast<std::uint64_t>(input_[pos_] - '0');
            if (number.value > (max - digit) / 10) {
                number.overflowed = true;
                number.value = max;
            } else if (!number.overflowed) {
                number.value = number.value * 10 + digit;
            }
            ++pos_;
        }
        number.digits = input_.substr(number.position, pos_ - number.position);
        return number;
    }

    static std::string lower_copy(std::string text) {
        for (char& c : text) c = lower(c);
        return text;
    }

    void skip_spaces() {
        while (!at_end() && input_[pos_] == ' ') ++pos_;
    }
    bool at_end() const { return pos_ >= input_.size(); }
    char peek() const { return lower(input_[pos_]); }

    bool unexpected() {
        return fail(pos_, std::string("unexpected '") + input_[pos_] + "'");
    }

    bool fail(std::size_t position, std::string what) {
        error_.position = position;
        error_.message = std::move(what) + " at position " + std::to_string(position);
        return false;
    }

    std::string_view input_;
    const ExpressionLimits& limits_;
    std::size_t pos_ = 0;
    std::uint64_t dice_total_ = 0;
    Expression expression_;
    ParseError error_;
};

std::string normalise(const std::vector<Term>& terms) {
    std::string text;
    for (const Term& term : terms) {
        if (const auto* dice = std::get_if<DiceTerm>(&term)) {
            if (!text.empty() && !dice->negative) text += '+';
            text += to_string(*dice);
        } else {
            const std::int64_t value = std::get<ConstantTerm>(term).value;
            if (!text.empty() && value >= 0) text += '+';
            text += std::to_string(value);
        }
    }
    return text;
}

}  // namespace

std::uint32_t DiceTerm::kept_count() const {
    switch (selection) {
        case Selection::keep_highest:
        case Selection::keep_lowest: return selection_count;
        case Selection::drop_highest:
        case Selection::drop_lowest: return count - selection_count;
        case Selection::all: break;
    }
    return count;
}

bool Expression::needs_term_breakdown() const {
    if (terms.size() != 1) return true;
    const auto* dice = std::get_if<DiceTerm>(&terms.front());
    return dice == nullptr || dice->selection != Selection::all;
}

ParseResult parse_expression(std::string_view input, const ExpressionLimits& limits) {
    ParseResult result = Parser(input, limits).run();
    if (result.expression) result.expression->normalised = normalise(result.expression->terms);
    return result;
}

std::string to_string(const DiceTerm& term) {
    std::string text = term.negative ? "-" : "";
    text += std::to_string(term.count) + 'd' + std::to_string(term.sides);
    if (term.selection != Selection::all) text += selection_text(term.selection) + std::to_string(term.selection_count);
    return text;
}

}  // namespace dice
