#include "engine_process.hpp"

#include "engine_exercise.hpp"
#include "exercise_findings.hpp"
#include "flight_recorder.hpp"
#include "input_corpus.hpp"
#include "input_list.hpp"
#include "journal.hpp"
#include "plugin_inspector.hpp"
#include "plugin/plugin_loader.hpp"
#include "process_census.hpp"
#include "settings_probe.hpp"
#include "text_display.hpp"
#include "usage_examples.hpp"

#include <dlfcn.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <thread>
#include <unordered_set>

namespace portico::plugin_check {
namespace {

constexpr int exit_setup_failed = 3;
// How long threads that a destructor told to stop may take to exit.
constexpr auto thread_exit_grace = std::chrono::milliseconds(500);

std::string quote_examples(const std::vector<std::string>& examples) {
    std::string out;
    std::size_t shown = 0;
    for (const std::string& example : examples) {
        if (out.size() > 60) break;
        out += (out.empty() ? "" : ", ") + quote_input(example, 24);
        ++shown;
    }
    if (shown < examples.size()) out += " and " + std::to_string(examples.size() - shown) + " more";
    return out;
}

// Threads in the process that were not there before the plugin was loaded;
// waits a little for threads on their way out.
std::set<int> threads_left(const std::set<int>& baseline) {
    const auto until = std::chrono::steady_clock::now() + thread_exit_grace;
    while (true) {
        std::set<int> extra;
        for (int tid : thread_ids())
            if (baseline.count(tid) == 0) extra.insert(tid);
        if (extra.empty() || std::chrono::steady_clock::now() >= until) return extra;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

void report_threads(JournalWriter& journal, const std::set<int>& baseline, bool engine_made) {
    const std::set<int> extra = threads_left(baseline);
    const std::string after = engine_made ? "after the engine was destroyed and the library unloaded"
                                          : "after the library was unloaded";
    const std::string counts = "(" + std::to_string(baseline.size()) + " before loading, " +
                               std::to_string(baseline.size() + extra.size()) + " after)";
    if (extra.empty()) {
        journal.finding(Severity::ok, "threads", "none left running " + after + " " + counts);
        return;
    }
    // Names tell threads apart only where the plugin gave them one.
    const std::string process_name = thread_name(static_cast<int>(::getpid()));
    std::string names;
    for (int tid : extra) {
        const std::string name = thread_name(tid);
        if (name != process_name) names += (names.empty() ? ", named " : ", ") + quote_input(name, 16);
    }
    journal.finding(Severity::problem, "threads",
                    std::to_string(extra.size()) + (extra.size() == 1 ? " thread" : " threads") + " left running " +
                        after + " " + counts + names +
                        ": a thread still running the library's code crashes the host; join it in the destructor");
}

void report_unload(JournalWriter& journal, const std::string& path) {
    // RTLD_NOLOAD only looks: it returns the library if it is still mapped.
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
    if (handle == nullptr) return;
    ::dlclose(handle);
    journal.finding(Severity::note, "unload",
                    "the library stays loaded after its last dlclose (glibc keeps a library with STB_GNU_UNIQUE "
                    "symbols, e.g. from inline statics; -fno-gnu-unique avoids them): its static state "
                    "survives a reload of the same file");
}

PluginConfig config_for(const CheckOptions& options, const PluginFacts& facts) {
    PluginConfig config;
    config.name = plugin_name_for(facts, options.plugin_path);
    config.engine.library = options.plugin_path;
    config.engine.workers = options.threads;
    config.engine.settings_json = options.settings_json;
    return config;
}

int exercise(const CheckOptions& options, JournalWriter& journal, FlightRecorder& recorder,
             const std::unordered_set<std::string>& skip) {
    // A first thread makes a sanitizer start its own helpers now, so they
    // are counted before the plugin is loaded, not blamed on it.
    std::thread([] {}).join();
    const std::set<int> baseline = thread_ids();

    journal.stage("inspect");
    PluginFacts facts;
    {
        PluginInspector inspector(options.plugin_path, recorder, journal);
        facts = inspector.inspect();
        if (inspector.factory() != nullptr) {
            journal.stage("settings");
            SettingsProbe probe(inspector.factory(), plugin_name_for(facts, options.plugin_path), options.threads,
                                recorder, journal, skip);
            probe.run(options.settings_json, options.settings_given);
        }
    }  // the inspector's handle on the library is closed here

    journal.stage("load");
    recorder.begin(0, Operation::create, options.settings_json);
    auto loaded = load_plugin(config_for(options, facts));
    recorder.end(0);
    const bool engine_made = loaded.has_value();
    if (!loaded) {
        journal.finding(Severity::problem, "load", "portico refuses it: " + loaded.error().message);
    } else {
        std::shared_ptr<LoadedPlugin> plugin = std::move(loaded).value();
        journal.finding(Severity::ok, "load", "portico loads it (load_plugin(), as the host does, " +
                                                  std::to_string(options.threads) + " workers)");
        const std::vector<std::string> examples = examples_from_usage(plugin->usage(), plugin->name());
        const InputCorpus corpus = make_input_corpus(examples, skip);
        const std::size_t fixed_inputs = corpus.examples.size() + corpus.generic.size();
        journal.finding(Severity::note, "inputs",
                        examples.empty() ? "no examples found in the usage line"
                                         : std::to_string(examples.size()) + " examples from the usage line: " +
                                               quote_examples(examples));

        ExercisePlan plan;
        plan.threads = options.threads;
        plan.deadline = options.deadline;
        plan.random_duration = options.random_duration;
        plan.seed = options.seed;
        const ExerciseResult result = EngineExercise(plugin->engine(), recorder, corpus, plan).run(journal);
        for (const Finding& finding : exercise_findings(result, plan, fixed_inputs))
            journal.finding(finding.severity, finding.check, finding.message);

        journal.stage("shutdown");
        recorder.begin(0, Operation::destroy, {});
        plugin.reset();  // the engine, then the library (LoadedPlugin's member order)
        recorder.end(0);
    }

    journal.stage("threads");
    report_threads(journal, baseline, engine_made);
    report_unload(journal, options.plugin_path);
    journal.done();
    return 0;
}

int replay(const CheckOptions& options, JournalWriter& journal, FlightRecorder& recorder,
           const std::vector<std::string>& inputs) {
    if (inputs.size() != 1) return exit_setup_failed;
    journal.stage("load");
    recorder.begin(0, Operation::create, options.settings_json);
    auto loaded = load_plugin(config_for(options, PluginFacts{}));
    recorder.end(0);
    if (!loaded) return exit_setup_failed;
    std::shared_ptr<LoadedPlugin> plugin = std::move(loaded).value();
    journal.stage("replay");
    Request request;
    request.client_id = "plugin-check-client-0";
    request.payload = inputs.front();
    request.worker = 0;
    recorder.begin(1, Operation::handle, request.payload);
    try {
        plugin->engine().handle(request);
    } catch (...) {
        // Reported by the exercise already; here only a crash or hang counts.
    }
    recorder.end(1);
    recorder.begin(0, Operation::destroy, {});
    plugin.reset();
    recorder.end(0);
    journal.done();
    return 0;
}

}  // namespace

int run_engine_process(const CheckOptions& options, const ChildOptions& child) {
    // A write to the checker's pipe after it died must not kill us silently mid-call.
    ::signal(SIGPIPE, SIG_IGN);
    // A crash in the plugin ends this process by its signal, which the checker
    // reports with the input: no handler of ours (or of a sanitizer's) runs
    // on code the plugin may already have corrupted or unmapped.
    for (int fatal : {SIGSEGV, SIGBUS, SIGFPE, SIGILL}) ::signal(fatal, SIG_DFL);
    // glibc raises its mmap threshold after large blocks are freed, and then
    // keeps them in per-thread arenas: resident memory grows with the number
    // of arenas that met a 1 MiB input, which is not the plugin's doing. A
    // fixed threshold hands large blocks back on free, so growth over the
    // random phase is what the plugin keeps.
    ::mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    JournalWriter journal(child.journal_fd);
    auto recorder = FlightRecorder::attach(child.recorder_fd, options.threads + 1);
    if (!recorder) {
        journal.finding(Severity::problem, "checker", recorder.error().message);
        return exit_setup_failed;
    }
    std::vector<std::string> inputs;
    if (child.inputs_fd >= 0) {
        auto read = read_input_list(child.inputs_fd);
        if (!read) {
            journal.finding(Severity::problem, "checker", read.error().message);
            return exit_setup_failed;
        }
        inputs = std::move(read).value();
    }
    if (child.mode == ChildMode::replay) return replay(options, journal, recorder.value(), inputs);
    const std::unordered_set<std::string> skip(inputs.begin(), inputs.end());
    return exercise(options, journal, recorder.value(), skip);
}

}  // namespace portico::plugin_check
