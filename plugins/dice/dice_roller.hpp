#pragma once
// Rolls a parsed Expression with a caller-owned generator and renders the
// result as JSON text.
//
// RESULT JSON (keys in this order)
//   {"expr":"3d6","rolls":[4,1,6],"total":11}
//   expr   the normalised expression (see dice_expression.hpp)
//   rolls  every die rolled, in order, flattened across terms
//   total  the signed sum of all terms
//   terms  only with several terms or a keep/drop: one object per term,
//          {"dice":"4d6kh3","rolls":[..],"kept":[..],"subtotal":N} for dice
//          (kept in roll order; "dice" and "subtotal" carry the term's sign,
//          so "-1d4" gives a negative subtotal) or {"constant":-2}.

#include "dice_expression.hpp"

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace dice {

using Generator = std::mt19937_64;

// One term's outcome. A constant has no rolls; its subtotal is its value.
struct TermRoll {
    std::vector<std::uint32_t> rolls;
    std::vector<std::uint32_t> kept;  // in roll order
    std::int64_t subtotal = 0;        // signed
};

struct RollOutcome {
    std::vector<TermRoll> terms;  // parallel to Expression::terms
    std::int64_t total = 0;
};

// A generator for one worker. With a seed, (seed, worker) fully determines
// the sequence; without one, it is seeded from several std::random_device
// words (throws std::runtime_error if there is no random device).
Generator make_generator(std::optional<std::uint64_t> seed, unsigned worker);

// Every die is uniform over [1, sides].
RollOutcome roll(const Expression& expression, Generator& generator);

std::string to_json(const Expression& expression, const RollOutcome& outcome);

}  // namespace dice
