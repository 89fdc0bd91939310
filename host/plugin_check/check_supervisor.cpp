#include "check_supervisor.hpp"

#include "child_process.hpp"
#include "input_list.hpp"
#include "text_display.hpp"

#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace portico::plugin_check {
namespace {

constexpr auto poll_interval = std::chrono::milliseconds(20);
constexpr auto reap_timeout = std::chrono::seconds(5);
constexpr auto drain_timeout = std::chrono::seconds(1);
constexpr std::size_t output_lines_shown = 8;

std::string milliseconds_text(std::chrono::milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

bool exited_cleanly(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

std::string where(const InFlight& call) {
    std::string text = std::string(operation_name(call.operation));
    if (call.operation == Operation::handle) return text + " on " + quote_input(call.input);
    if ((call.operation == Operation::factory || call.operation == Operation::create) && !call.input.empty())
        return text + " with settings " + quote_input(call.input);
    return text;
}

}  // namespace

CheckSupervisor::CheckSupervisor(const CheckOptions& options, Report& report) : options_(options), report_(report) {}

void CheckSupervisor::run() {
    std::chrono::milliseconds random_left = options_.random_duration;
    for (unsigned started = 1;; ++started) {
        const Outcome outcome = run_engine_process(ChildMode::exercise, skip_, random_left, true);
        random_left -= std::min(random_left, std::chrono::duration_cast<std::chrono::milliseconds>(outcome.random_spent));
        bool carry_on = false;
        switch (outcome.end) {
            case End::not_started:
                report_.add({Severity::problem, "checker", outcome.error, {}});
                return;
            case End::finished: on_finished(outcome); return;
            case End::died: carry_on = on_died(outcome); break;
            case End::hung: carry_on = on_hung(outcome); break;
            case End::overran:
                report_.add({Severity::problem, "hang",
                             "the engine process did not finish within its time (in stage " + outcome.stage + ")",
                             output_details(outcome)});
                return;
        }
        if (!carry_on) return;
        if (started == max_engine_processes) {
            report_.add({Severity::problem, "restart",
                         "gave up after " + std::to_string(started) + " engine processes crashed or hung; fix those first",
                         {}});
            return;
        }
        report_.add({Severity::note, "restart",
                     "a new engine process carries on without the input" +
                         std::string(skip_.size() == 1 ? "" : "s") + " above",
                     {}});
    }
}

CheckSupervisor::Outcome CheckSupervisor::run_engine_process(ChildMode mode, const std::vector<std::string>& inputs,
                                                             std::chrono::milliseconds random_duration,
                                                             bool to_report) {
    Outcome outcome;
    auto recorder = FlightRecorder::create(options_.threads + 1);
    if (!recorder) {
        outcome.error = recorder.error().message;
        return outcome;
    }
    UniqueFd inputs_fd;
    if (!inputs.empty()) {
        auto list = write_input_list(inputs);
        if (!list) {
            outcome.error = list.error().message;
            return outcome;
        }
        inputs_fd = std::move(list).value();
    }
    CheckOptions child_options = options_;
    child_options.random_duration = random_duration;
    const auto args = child_arguments(child_options, mode, child_journal_fd, child_recorder_fd,
                                      inputs_fd.valid() ? child_inputs_fd : -1);
    auto started = ChildProcess::start(args, recorder.value().fd(), inputs_fd.get());
    if (!started) {
        outcome.error = started.error().message;
        return outcome;
    }
    ChildProcess& child = *started.value();
    const FlightRecorder& slots = recorder.value();

    std::optional<std::chrono::steady_clock::time_point> random_started;
    bool random_over = false;
    auto follow_journal = [&] {
        while (auto record = child.journal().next()) {
            const std::vector<std::string>& fields = *record;
            if (fields.empty()) continue;
            if (fields[0] == "stage" && fields.size() >= 2) {
                if (random_started && !random_over) {
                    outcome.random_spent = std::chrono::steady_clock::now() - *random_started;
                    random_over = true;
                }
                outcome.stage = fields[1];
                if (fields[1] == "random") random_started = std::chrono::steady_clock::now();
            } else if (fields[0] == "done") {
                outcome.done = true;
            } else if (!to_report) {
                continue;
            } else if (fields[0] == "info" && fields.size() >= 3) {
                report_.set_info(fields[1], fields[2]);
            } else if (fields[0] == "finding" && fields.size() >= 4) {
                if (auto severity = parse_severity(fields[1])) report_.add({*severity, fields[2], fields[3], {}});
            }
        }
    };

    const auto hang_limit = options_.hang_limit();
    // A generous bound for the whole process: the random phase, then time for
    // slow but progressing fixed inputs and the stages around them.
    const auto overall = random_duration + std::max<std::chrono::milliseconds>(std::chrono::minutes(2), hang_limit * 20);
    const auto give_up_at = std::chrono::steady_clock::now() + overall;
    while (true) {
        child.pump(poll_interval);
        follow_journal();
        if (auto status = child.poll_exit()) {
            child.drain(drain_timeout);
            follow_journal();
            outcome.status = *status;
            outcome.end = outcome.done ? End::finished : End::died;
            outcome.in_flight = slots.in_flight();
            break;
        }
        const auto busy = slots.longest_busy();
        if (busy && busy->running > hang_limit) {
            child.kill_and_reap(reap_timeout);
            child.drain(drain_timeout);
            follow_journal();
            outcome.end = End::hung;
            outcome.in_flight = slots.in_flight();
            for (const InFlight& call : outcome.in_flight)
                if (call.slot == busy->slot) outcome.stuck = call;
            if (!outcome.stuck) outcome.stuck = InFlight{busy->slot, busy->operation, {}, false, busy->running};
            break;
        }
        if (std::chrono::steady_clock::now() >= give_up_at) {
            child.kill_and_reap(reap_timeout);
            child.drain(drain_timeout);
            follow_journal();
            outcome.end = End::overran;
            break;
        }
    }
    if (random_started && !random_over) outcome.random_spent = std::chrono::steady_clock::now() - *random_started;
    outcome.output_tail = child.output_tail();
    outcome.output_bytes = child.output_bytes();
    return outcome;
}

CheckSupervisor::Replay CheckSupervisor::replay(const std::string& input, std::string& how) {
    const Outcome outcome = run_engine_process(ChildMode::replay, {input}, std::chrono::milliseconds(0), false);
    switch (outcome.end) {
        case End::finished: return exited_cleanly(outcome.status) ? Replay::passed : Replay::failed;
        case End::died:
            how = describe_wait_status(outcome.status);
            // Dying before the call began (e.g. the plugin no longer loads) proves nothing.
            return outcome.stage == "replay" ? Replay::crashed : Replay::failed;
        case End::hung: return outcome.stuck && outcome.stuck->operation == Operation::handle ? Replay::hung : Replay::failed;
        case End::overran:
        case End::not_started: return Replay::failed;
    }
    return Replay::failed;
}

std::string CheckSupervisor::save(const std::string& kind, const InFlight& call) {
    namespace fs = std::filesystem;
    const std::string extension = call.operation == Operation::handle ? ".bin" : ".settings.json";
    const fs::path path =
        fs::path(options_.out_dir) / ("plugin-check-" + kind + "-" + std::to_string(++saved_[kind]) + extension);
    std::error_code ec;
    fs::create_directories(options_.out_dir, ec);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(call.input.data(), static_cast<std::streamsize>(call.input.size()));
    out.close();
    if (!out) return "could not be saved to " + path.string();
    report_.add_saved_file(path.string());
    return std::string(call.truncated ? "its first 1 MiB " : "") + "saved to " + path.string();
}

std::vector<std::string> CheckSupervisor::output_details(const Outcome& outcome) const {
    std::vector<std::string> lines;
    std::istringstream in(outcome.output_tail);
    for (std::string line; std::getline(in, line);) {
        if (line.size() > 160) line = line.substr(0, 157) + "...";
        lines.push_back(is_valid_utf8(line) && !has_control_characters(line) ? line : quote_input(line, 150));
    }
    if (lines.size() > output_lines_shown) lines.erase(lines.begin(), lines.end() - output_lines_shown);
    if (!lines.empty()) lines.insert(lines.begin(), "the engine process's last output:");
    return lines;
}

bool CheckSupervisor::skippable_settings(const InFlight& call, const std::string& stage) const {
    return stage == "settings" && call.operation == Operation::factory && call.input != options_.settings_json &&
           !(options_.settings_given && call.input == "{}");
}

bool CheckSupervisor::on_died(const Outcome& outcome) {
    const std::string died = "the engine process " + describe_wait_status(outcome.status);
    std::vector<InFlight> calls;
    std::optional<InFlight> control;
    for (const InFlight& call : outcome.in_flight) {
        if (call.operation == Operation::handle) calls.push_back(call);
        else if (call.slot == 0) control = call;
    }
    if (calls.empty()) {
        if (control && skippable_settings(*control, outcome.stage)) {
            report_.add({Severity::problem, "crash",
                         died + " in " + where(*control) + " (" + save("crash", *control) + ")",
                         output_details(outcome)});
            skip_.push_back(control->input);
            return true;
        }
        report_.add({Severity::problem, "crash",
                     died + (control ? " in " + where(*control)
                                     : " in stage " + outcome.stage + ", outside any call into the plugin "
                                                                       "(a thread the plugin started?)"),
                     output_details(outcome)});
        return false;
    }
    // Which of the inputs in flight crashes it? Each alone, in a fresh process.
    std::vector<InFlight> guilty;
    for (const InFlight& call : calls) {
        std::string how;
        switch (replay(call.input, how)) {
            case Replay::crashed:
                report_.add({Severity::problem, "crash",
                             "the engine process " + how + " in " + where(call) + " (reproduced alone; " +
                                 save("crash", call) + ")",
                             output_details(outcome)});
                guilty.push_back(call);
                break;
            case Replay::hung:
                report_.add({Severity::problem, "hang",
                             where(call) + " did not return within " + milliseconds_text(options_.hang_limit()) +
                                 " (found replaying the inputs in flight at a crash; " + save("hang", call) + ")",
                             {}});
                guilty.push_back(call);
                break;
            case Replay::passed:
            case Replay::failed: break;
        }
    }
    if (guilty.empty()) {
        std::string inputs;
        std::string saved;
        for (const InFlight& call : calls) {
            inputs += (inputs.empty() ? "" : ", ") + quote_input(call.input);
            saved += (saved.empty() ? "" : "; ") + save("crash", call);
        }
        report_.add({Severity::problem, "crash",
                     died + " while handle() ran on " + inputs +
                         " (none crashes alone: a race between concurrent calls?; " + saved + ")",
                     output_details(outcome)});
        guilty = calls;
    }
    for (const InFlight& call : guilty) skip_.push_back(call.input);
    return true;
}

bool CheckSupervisor::on_hung(const Outcome& outcome) {
    const InFlight& call = *outcome.stuck;
    const std::string limit = milliseconds_text(options_.hang_limit());
    if (call.operation == Operation::handle || skippable_settings(call, outcome.stage)) {
        report_.add({Severity::problem, "hang",
                     where(call) + " did not return within " + limit + " (" + save("hang", call) + ")", {}});
        skip_.push_back(call.input);
        return true;
    }
    report_.add({Severity::problem, "hang", where(call) + " did not return within " + limit, output_details(outcome)});
    return false;
}

void CheckSupervisor::on_finished(const Outcome& outcome) {
    if (!exited_cleanly(outcome.status)) {
        report_.add({Severity::problem, "exit",
                     "the engine process " + describe_wait_status(outcome.status) +
                         " after the checks, while exiting (a sanitizer's report, or static destructors of a "
                         "library that stayed loaded?)",
                     output_details(outcome)});
    } else if (outcome.output_bytes > 0) {
        const auto first_line = outcome.output_tail.substr(0, outcome.output_tail.find('\n'));
        report_.add({Severity::note, "output",
                     "the plugin wrote " + format_count(outcome.output_bytes) +
                         " bytes to stdout/stderr, which portico shares with its log: " + quote_input(first_line, 60),
                     {}});
    }
}

}  // namespace portico::plugin_check
