#include "dice_engine.hpp"

#include "dice_settings.hpp"

#include <stdexcept>
#include <string>
#include <utility>

namespace dice {

DiceEngine::DiceEngine(const portico::EngineContext& context) {
    SettingsResult parsed = parse_settings(context.settings_json);
    if (!parsed.settings) throw std::invalid_argument(parsed.error);
    if (context.workers == 0) throw std::invalid_argument("dice: the host asked for 0 workers");
    limits_ = parsed.settings->limits;
    generators_.reserve(context.workers);
    for (unsigned worker = 0; worker < context.workers; ++worker) {
        generators_.push_back(make_generator(parsed.settings->seed, worker));
    }
}

portico::Reply DiceEngine::handle(const portico::Request& request) {
    if (request.worker >= generators_.size()) {
        return portico::Reply::error("engine_error", "dice: worker index " + std::to_string(request.worker) +
                                                         " out of range (" + std::to_string(generators_.size()) +
                                                         " workers)");
    }
    // The parser checks the length first, then every byte, before anything else.
    ParseResult parsed = parse_expression(request.payload, limits_);
    if (!parsed.expression) return portico::Reply::error("bad_expression", std::move(parsed.error.message));
    const RollOutcome outcome = roll(*parsed.expression, generators_[request.worker]);
    return portico::Reply::json(to_json(*parsed.expression, outcome));
}

}  // namespace dice

PORTICO_PLUGIN(dice::DiceEngine, "dice", "1.0.0", "Rolls dice in standard notation (NdM, keep/drop, modifiers)",
               "dice NdM[kh|kl|dh|dl N][+|-NdM|K]...  e.g. 4d6kh3, 2d20kl1+5, d20-2")
