#pragma once
// The dice grammar: turns untrusted text into a validated Expression, or an
// error that says what is wrong and where. No randomness here.
//
// GRAMMAR (case-insensitive; spaces may appear between any two tokens)
//   expression := [sign] term (sign term)*
//   sign       := '+' | '-'
//   term       := dice | constant
//   dice       := [count] 'd' sides [selection]     "d20" means "1d20"
//   selection  := ('kh' | 'kl' | 'k' | 'dh' | 'dl') number   "k" means "kh"
//   constant   := number
// Only printable ASCII is accepted; a space is the only whitespace (a tab or
// a newline is refused like any other control character). An expression
// needs at least one dice term: a bare "5" is refused.
//
// NORMALISED TEXT (Expression::normalised, the "expr" of a result)
//   Canonical, not an echo: lowercase, no spaces, no leading zeros, the count
//   always written ("d20" becomes "1d20"), "k" written "kh", a leading '+'
//   dropped. Drop forms stay drop forms ("4d6dl1"). So "  D20 + 03" becomes
//   "1d20+3".
//
// ERRORS
//   Every message ends with "at position N", N a 0-based byte offset into the
//   original input, e.g. "expected a number of sides after 'd' at position 2".

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace dice {

// A constant term's magnitude is at most this: totals stay far from overflow.
inline constexpr std::uint64_t max_constant = 1'000'000'000;

// Bounds applied while parsing, so that nothing is allocated or rolled by a
// count before the count is known to be sane.
struct ExpressionLimits {
    std::uint32_t max_dice = 1000;                // dice across all terms
    std::uint32_t max_sides = 1'000'000;          // sides of one die
    std::uint32_t max_expression_length = 256;    // bytes of input, spaces included
    std::uint32_t max_terms = 32;                 // dice and constant terms
};

enum class Selection : std::uint8_t { all, keep_highest, keep_lowest, drop_highest, drop_lowest };

struct DiceTerm {
    bool negative = false;
    std::uint32_t count = 1;
    std::uint32_t sides = 6;
    Selection selection = Selection::all;
    std::uint32_t selection_count = 0;  // the N of "khN"; unused for Selection::all

    // How many of the rolled dice count towards the subtotal.
    std::uint32_t kept_count() const;
};

struct ConstantTerm {
    std::int64_t value = 0;  // signed: "-2" is -2
};

using Term = std::variant<DiceTerm, ConstantTerm>;

struct Expression {
    std::vector<Term> terms;  // in input order, at least one DiceTerm
    std::string normalised;

    // True when a result should list its terms: several of them, or keep/drop.
    bool needs_term_breakdown() const;
};

struct ParseError {
    std::size_t position = 0;  // 0-based offset into the input
    std::string message;       // complete, ends with "at position <position>"
};

struct ParseResult {
    std::optional<Expression> expression;  // set on success
    ParseError error;                      // meaningful only without an expression
};

ParseResult parse_expression(std::string_view input, const ExpressionLimits& limits);

// A dice term as text, with its sign when negative: "4d6kh3", "-1d4".
std::string to_string(const DiceTerm& term);

}  // namespace dice
