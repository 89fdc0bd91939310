#include "settings_probe.hpp"

#include "text_display.hpp"

#include <exception>
#include <vector>

namespace portico::plugin_check {
namespace {

enum class Fault { not_an_object, unknown_key, not_json };

struct BadSettings {
    const char* text;
    Fault fault;
};

// Given as text, the way EngineContext::settings_json carries them.
constexpr BadSettings bad_settings[] = {
    {"[]", Fault::not_an_object},
    {"\"x\"", Fault::not_an_object},
    {"null", Fault::not_an_object},
    {"42", Fault::not_an_object},
    {R"({"no_such_key_xyz": 1})", Fault::unknown_key},
    {R"({"k": 1e400})", Fault::unknown_key},
    {"not json", Fault::not_json},
    {"{", Fault::not_json},
    {"", Fault::not_json},
};

std::string quote_list(const std::vector<std::string>& texts) {
    std::string out;
    for (const std::string& text : texts) out += (out.empty() ? "" : ", ") + quote_input(text, 32);
    return out;
}

}  // namespace

SettingsProbe::SettingsProbe(EngineFactory* factory, std::string plugin_name, unsigned workers,
                             FlightRecorder& recorder, JournalWriter& journal,
                             const std::unordered_set<std::string>& skip)
    : factory_(factory),
      plugin_name_(std::move(plugin_name)),
      workers_(workers),
      recorder_(recorder),
      journal_(journal),
      skip_(skip) {}

SettingsProbe::Verdict SettingsProbe::try_settings(const std::string& text) {
    EngineContext context;
    context.plugin_name = plugin_name_;
    context.settings_json = text;
    context.workers = workers_;
    Verdict verdict;
    CreateResult created;
    recorder_.begin(0, Operation::factory, text);
    try {
        created = factory_(context);
    } catch (const std::exception& e) {
        verdict.escaped = e.what();
    } catch (...) {
        verdict.escaped = "an exception of unknown type";
    }
    recorder_.end(0);
    verdict.accepted = created.engine != nullptr;
    verdict.refusal = created.error;
    if (created.engine) {
        recorder_.begin(0, Operation::destroy, text);
        created.engine.reset();
        recorder_.end(0);
    }
    return verdict;
}

bool SettingsProbe::run(const std::string& settings, bool settings_given) {
    std::vector<std::string> non_objects;
    std::vector<std::string> unknown_keys;
    std::vector<std::string> not_json;
    std::string example_refusal;
    std::size_t refused = 0;
    bool faults = false;
    for (const BadSettings& bad : bad_settings) {
        if (skip_.count(bad.text) > 0) continue;  // it crashed or hung an earlier engine process
        const Verdict verdict = try_settings(bad.text);
        if (!verdict.escaped.empty()) {
            journal_.finding(Severity::problem, "settings",
                             "an exception escaped the factory on " + quote_input(bad.text) + " (" +
                                 quote_input(verdict.escaped, 60) +
                                 "): portico would terminate; export the engine with PORTICO_PLUGIN");
            faults = true;
        } else if (verdict.accepted) {
            (bad.fault == Fault::not_an_object ? non_objects : bad.fault == Fault::unknown_key ? unknown_keys : not_json)
                .push_back(bad.text);
        } else if (verdict.refusal.empty()) {
            journal_.finding(Severity::problem, "settings",
                             "refused " + quote_input(bad.text) +
                                 " without a message (CreateResult::error is empty): say what is wrong");
            faults = true;
        } else {
            ++refused;
            if (example_refusal.empty())
                example_refusal = quote_input(bad.text) + " -> " + quote_input(verdict.refusal, 60);
        }
    }
    if (!non_objects.empty())
        journal_.finding(Severity::warning, "settings",
                         "accepted settings that are not a JSON object: " + quote_list(non_objects) +
                             " (refuse anything but an object)");
    if (!unknown_keys.empty())
        journal_.finding(Severity::warning, "settings",
                         "accepted an unknown key: " + quote_list(unknown_keys) +
                             " (refuse unknown keys, so a typo in a config is caught)");
    if (!not_json.empty())
        journal_.finding(Severity::note, "settings",
                         "accepted text that is not JSON: " + quote_list(not_json) + " (portico never passes such text)");

    const Verdict chosen = try_settings(settings);
    const std::string shown = quote_input(settings, 60);
    bool accepted = chosen.accepted;
    if (!chosen.escaped.empty()) {
        journal_.finding(Severity::problem, "settings",
                         "an exception escaped the factory on " + shown + " (" + quote_input(chosen.escaped, 60) + ")");
        accepted = false;
    } else if (!chosen.accepted) {
        journal_.finding(Severity::problem, "settings",
                         "the factory refused " + shown + ": " +
                             (chosen.refusal.empty() ? std::string("(no message)") : quote_input(chosen.refusal, 120)));
    }
    if (settings_given && settings != "{}" && skip_.count("{}") == 0) {
        const Verdict empty = try_settings("{}");
        if (!empty.accepted && empty.escaped.empty())
            journal_.finding(Severity::warning, "settings",
                             "refused {}: " + quote_input(empty.refusal, 80) +
                                 " (give every key a default, so a config without settings works)");
    }
    if (accepted && !faults && refused > 0 && non_objects.empty() && unknown_keys.empty())
        journal_.finding(Severity::ok, "settings",
                         "refused " + std::to_string(refused) + " invalid settings, each with a message (e.g. " +
                             example_refusal + "); accepted " + shown);
    else if (accepted)
        journal_.finding(Severity::ok, "settings", "accepted " + shown);
    return accepted;
}

}  // namespace portico::plugin_check
