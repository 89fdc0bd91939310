#pragma once
// The dice engine: parses the payload as a dice expression and rolls it with
// the calling worker's own generator.

#include "dice_expression.hpp"
#include "dice_roller.hpp"

#include <portico/plugin.hpp>

#include <vector>

namespace dice {

class DiceEngine final : public portico::Engine {
public:
    // Throws std::invalid_argument for bad settings or zero workers.
    explicit DiceEngine(const portico::EngineContext& context);

    // Replies with the result JSON, or error "bad_expression" for a bad
    // payload, or "engine_error" for a worker index out of range.
    portico::Reply handle(const portico::Request& request) override;

private:
    ExpressionLimits limits_;
    std::vector<Generator> generators_;  // one per worker: no locks needed
};

}  // namespace dice
