// The odds plugin: "odds 4d6kh3" rolls the expression up to max_samples
// times in batches, emits the running estimate after each batch (a progress
// event), and replies with the estimate once it has converged (the mean's
// standard error below `precision`), reached max_samples or max_seconds.
// A cancelled request stops at the next batch. "odds stats" reports what the
// engine has done (runs, cancelled runs, samples), for operators and tests.
#include "dice_expression.hpp"
#include "dice_roller.hpp"
#include "odds_estimate.hpp"
#include "odds_settings.hpp"

#include <portico/plugin.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

namespace odds {

class OddsEngine final : public portico::Engine {
public:
    explicit OddsEngine(const portico::EngineContext& context) : settings_(parse_settings(context.settings_json)) {
        if (context.workers == 0) throw std::invalid_argument("odds: the host asked for 0 workers");
        for (unsigned worker = 0; worker < context.workers; ++worker)
            generators_.push_back(dice::make_generator(settings_.seed, worker));
    }

    portico::Reply handle(const portico::Request& request) override {
        if (request.worker >= generators_.size()) return portico::Reply::error("engine_error", "odds: bad worker index");
        std::string_view payload = request.payload;
        while (!payload.empty() && payload.front() == ' ') payload.remove_prefix(1);
        while (!payload.empty() && payload.back() == ' ') payload.remove_suffix(1);
        if (payload == "stats") return stats();
        dice::ParseResult parsed = dice::parse_expression(payload, settings_.limits);
        if (!parsed.expression) return portico::Reply::error("bad_expression", std::move(parsed.error.message));
        return estimate(*parsed.expression, request);
    }

private:
    portico::Reply estimate(const dice::Expression& expression, const portico::Request& request) {
        ++runs_;
        ++running_;
        struct Running {
            std::atomic<std::uint64_t>& count;
            ~Running() { --count; }
        } running{running_};
        dice::Generator& generator = generators_[request.worker];
        const auto started = std::chrono::steady_clock::now();
        Estimate estimate;
        const char* stopped = "max_samples";
        while (estimate.samples() < settings_.max_samples) {
            const std::uint64_t n = std::min(settings_.batch, settings_.max_samples - estimate.samples());
            for (std::uint64_t i = 0; i < n; ++i) estimate.add(dice::roll(expression, generator).total);
            samples_ += n;
            if (request.stream && request.stream->cancelled()) return cancelled();
            if (estimate.samples() >= 2 * settings_.batch && estimate.standard_error() < settings_.precision) {
                stopped = "converged";
                break;
            }
            if (std::chrono::steady_clock::now() - started >= settings_.max_time) {
                stopped = "max_seconds";
                break;
            }
            if (estimate.samples() < settings_.max_samples && request.stream &&
                !request.stream->emit(estimate.progress_json()))
                return cancelled();
        }
        return portico::Reply::json(estimate.result_json(expression.normalised, stopped));
    }

    portico::Reply cancelled() {
        ++cancelled_;
        return portico::Reply::error("cancelled", "odds: stopped, the request was cancelled");
    }

    portico::Reply stats() const {
        return portico::Reply::json(nlohmann::json{{"runs", runs_.load()},
                                                   {"running", running_.load()},
                                                   {"cancelled", cancelled_.load()},
                                                   {"samples", samples_.load()}}
                                        .dump());
    }

    Settings settings_;
    std::vector<dice::Generator> generators_;  // one per worker: no locks
    std::atomic<std::uint64_t> runs_{0};
    std::atomic<std::uint64_t> running_{0};
    std::atomic<std::uint64_t> cancelled_{0};
    std::atomic<std::uint64_t> samples_{0};
};

}  // namespace odds

PORTICO_PLUGIN(odds::OddsEngine, "odds", "1.0.0",
               "Estimates the distribution of a dice expression, streaming the estimate as it converges",
               "odds NdM[kh|kl|dh|dl N][+|-NdM|K]...  e.g. odds 4d6kh3 (progress events, then the estimate); odds stats")
