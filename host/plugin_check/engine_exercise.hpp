#pragma once
// Calls an engine from several threads at once, as portico's endpoint does:
// worker W is one thread, calls handle() with Request::worker = W, one call
// at a time, so two calls with the same index never overlap (the rule in
// portico/plugin.hpp, THREADS). First every fixed input once (the workers
// share the list) and the large ones once on every worker (so a buffer that
// grows to the largest input once is not taken for growth), then random
// inputs until the random phase's time is up; memory is measured between the
// two. Every call goes through the flight recorder, so a crash or a hang
// leaves its input behind; every reply is checked and timed.
#include "call_stats.hpp"
#include "flight_recorder.hpp"
#include "input_corpus.hpp"
#include "journal.hpp"

#include <portico/plugin.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portico::plugin_check {

struct ExercisePlan {
    unsigned threads = 4;
    std::chrono::nanoseconds deadline{std::chrono::seconds(1)};
    std::chrono::milliseconds random_duration{3000};
    std::uint64_t seed = 0;
};

struct ExerciseResult {
    CallStats stats{std::chrono::seconds(1)};
    std::uint64_t fixed_calls = 0;
    std::uint64_t random_calls = 0;
    std::chrono::nanoseconds random_elapsed{0};
    std::optional<std::uint64_t> rss_before;  // after the fixed inputs, before the random phase
    std::optional<std::uint64_t> rss_after;   // after the random phase, the engine still alive
    std::string error;                        // a worker thread could not be started
};

class EngineExercise {
public:
    EngineExercise(Engine& engine, FlightRecorder& recorder, const InputCorpus& corpus, ExercisePlan plan);

    // Writes "stage fixed" and "stage random" to the journal as it goes.
    ExerciseResult run(JournalWriter& journal);

private:
    void call(unsigned worker, std::string_view input, std::string_view client_id, CallStats& stats);
    // Runs `body(worker, stats)` on plan_.threads threads, then
    // `meanwhile(started)` on this one, then joins them; false (and `error`
    // set) if a thread could not be started.
    template <class Body, class Meanwhile>
    bool on_workers(std::vector<CallStats>& stats, std::string& error, Body body, Meanwhile meanwhile);

    Engine& engine_;
    FlightRecorder& recorder_;
    const InputCorpus& corpus_;
    ExercisePlan plan_;
    std::vector<std::string> client_ids_;
};

}  // namespace portico::plugin_check
