#pragma once
// The checker's side of a run: starts engine processes, follows their
// journal, watches the flight recorder for a call that hangs, and makes
// sense of a crash or a hang. Then:
//   - a crash during handle(): each input that was in flight is replayed
//     alone in a fresh engine process, to tell the input that crashes from
//     those that were merely running beside it;
//   - the inputs found guilty are saved in --out and reported;
//   - a new engine process carries on without them (the skip list), with
//     what is left of the random phase, up to max_engine_processes in all.
// A crash or hang outside handle() and the settings probes (loading,
// creating the engine, destroying it) ends the run: there is nothing to skip.
#include "check_options.hpp"
#include "flight_recorder.hpp"
#include "report.hpp"

#include <chrono>
#include <map>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace portico::plugin_check {

inline constexpr unsigned max_engine_processes = 6;

class CheckSupervisor {
public:
    CheckSupervisor(const CheckOptions& options, Report& report);
    void run();

private:
    enum class End { finished, died, hung, overran, not_started };
    struct Outcome {
        End end = End::not_started;
        int status = 0;     // the wait status, when it ended by itself
        bool done = false;  // the journal reached "done"
        std::string stage;  // the last stage it began
        std::vector<InFlight> in_flight;
        std::optional<InFlight> stuck;  // the call that hung
        std::string output_tail;
        std::uint64_t output_bytes = 0;
        std::chrono::nanoseconds random_spent{0};
        std::string error;  // End::not_started: why
    };
    enum class Replay { crashed, hung, passed, failed };

    Outcome run_engine_process(ChildMode mode, const std::vector<std::string>& inputs,
                               std::chrono::milliseconds random_duration, bool to_report);
    Replay replay(const std::string& input, std::string& how);
    // Reports a failed engine process; true if a new one should carry on.
    bool on_died(const Outcome& outcome);
    bool on_hung(const Outcome& outcome);
    void on_finished(const Outcome& outcome);
    // May the settings text that crashed or hung the factory be skipped?
    bool skippable_settings(const InFlight& call, const std::string& stage) const;
    std::string save(const std::string& kind, const InFlight& call);
    std::vector<std::string> output_details(const Outcome& outcome) const;

    CheckOptions options_;
    Report& report_;
    std::vector<std::string> skip_;
    std::map<std::string, unsigned> saved_;  // files saved, per kind
};

}  // namespace portico::plugin_check
