#include "plugin_inspector.hpp"

#include "config/config.hpp"
#include "text_display.hpp"

#include <filesystem>
#include <vector>

namespace portico::plugin_check {
namespace {

std::string file_stem(const std::string& path) { return std::filesystem::path(path).stem().string(); }

std::string join(const std::vector<std::string>& words) {
    std::string out;
    for (std::size_t i = 0; i < words.size(); ++i)
        out += (i == 0 ? "" : i + 1 == words.size() ? " and " : ", ") + words[i];
    return out;
}

struct InfoField {
    const char* label;
    const char* value;
    std::size_t max_length;  // beyond it: a warning (each is one line in the host's log)
    bool may_be_empty;
};

}  // namespace

std::string plugin_name_for(const PluginFacts& facts, const std::string& path) {
    if (is_valid_plugin_name(facts.name)) return facts.name;
    const std::string stem = file_stem(path);
    return is_valid_plugin_name(stem) ? stem : "plugin";
}

PluginInspector::PluginInspector(std::string path, FlightRecorder& recorder, JournalWriter& journal)
    : path_(std::move(path)), recorder_(recorder), journal_(journal) {}

PluginFacts PluginInspector::inspect() {
    PluginFacts facts;
    recorder_.begin(0, Operation::load, path_);
    library_ = std::make_unique<PluginLibrary>(path_);
    recorder_.end(0);
    // Why it cannot be loaded is said by load_plugin(), in portico's words.
    facts.loaded = library_->loaded();
    if (!facts.loaded) return facts;
    check_symbols(facts);
    check_version(facts);
    if (facts.compatible && facts.has_info) check_info(facts);
    if (facts.compatible && facts.has_factory) factory_ = library_->factory();
    return facts;
}

void PluginInspector::check_symbols(PluginFacts& facts) {
    std::vector<std::string> present;
    std::vector<std::string> missing;
    for (const char* symbol : {api_version_symbol, info_symbol, factory_symbol})
        (library_->has(symbol) ? present : missing).push_back(symbol);
    facts.has_info = library_->has(info_symbol);
    facts.has_factory = library_->has(factory_symbol);
    if (missing.empty()) {
        journal_.finding(Severity::ok, "symbols", join(present) + " are exported");
    } else if (present.empty()) {
        journal_.finding(Severity::problem, "symbols",
                         "it exports none of " + join(missing) +
                             ": not a portico plugin (export the engine with PORTICO_PLUGIN from portico/plugin.hpp)");
    } else {
        journal_.finding(Severity::problem, "symbols",
                         "it does not export " + join(missing) +
                             " (PORTICO_PLUGIN from portico/plugin.hpp defines all three)");
    }
}

void PluginInspector::check_version(PluginFacts& facts) {
    if (!library_->has(api_version_symbol)) return;
    recorder_.begin(0, Operation::info, api_version_symbol);
    facts.api_version = library_->api_version().value_or(0);
    recorder_.end(0);
    const std::uint32_t ours = pack_api_version(api_version_major, api_version_minor);
    const std::string theirs_text = api_version_text(facts.api_version);
    const std::string ours_text = api_version_text(ours);
    journal_.info("api", theirs_text);
    if ((facts.api_version >> 16) != api_version_major) {
        journal_.finding(Severity::problem, "version",
                         "built for plugin API " + theirs_text + ", but this checker and its portico speak plugin API " +
                             ours_text + ": portico refuses it; rebuild it against this SDK's portico/plugin.hpp");
    } else if ((facts.api_version & 0xffffu) > api_version_minor) {
        journal_.finding(Severity::problem, "version",
                         "built for plugin API " + theirs_text + ", newer than this checker's and its portico's " +
                             ours_text + ": portico refuses it; upgrade portico or build against this SDK");
    } else {
        facts.compatible = true;
        journal_.finding(Severity::ok, "version",
                         "plugin API " + theirs_text +
                             (facts.api_version == ours ? ", the same as this checker's"
                                                        : ", older than this checker's " + ours_text + ": accepted"));
    }
}

void PluginInspector::check_info(PluginFacts& facts) {
    recorder_.begin(0, Operation::info, info_symbol);
    const PluginInfo* info = library_->info();
    recorder_.end(0);
    if (info == nullptr) {
        journal_.finding(Severity::problem, "info", std::string(info_symbol) + " returns a null pointer");
        return;
    }
    std::vector<std::string> problems;
    std::vector<std::string> warnings;
    recorder_.begin(0, Operation::info, "PluginInfo strings");
    const InfoField fields[] = {{"name", info->name, 32, false},
                                {"version", info->version, 32, false},
                                {"description", info->description, 160, false},
                                {"usage", info->usage, 240, true}};
    for (const InfoField& field : fields) {
        if (field.value == nullptr) {
            problems.push_back(std::string(field.label) + " is a null pointer");
            continue;
        }
        const std::string value = field.value;
        journal_.info(field.label, value);
        if (value.empty()) {
            (field.may_be_empty ? warnings : problems).push_back(std::string(field.label) + " is empty");
        } else if (!is_valid_utf8(value) || has_control_characters(value)) {
            problems.push_back(std::string(field.label) + " is not printable one-line text: " + quote_input(value));
        } else if (value.size() > field.max_length) {
            warnings.push_back(std::string(field.label) + " is " + std::to_string(value.size()) +
                               " bytes long; keep it under " + std::to_string(field.max_length) +
                               " (portico prints it on one line)");
        }
    }
    recorder_.end(0);
    facts.name = info->name ? info->name : "";
    facts.version = info->version ? info->version : "";
    facts.description = info->description ? info->description : "";
    facts.usage = info->usage ? info->usage : "";

    if (!facts.name.empty() && !is_valid_plugin_name(facts.name))
        warnings.push_back("name " + quote_input(facts.name) +
                           " is not a valid plugin name (1 to 32 of a-z, 0-9, _ and -): serve it under another one");
    else if (!facts.name.empty() && facts.name != file_stem(path_))
        warnings.push_back("name \"" + facts.name + "\" differs from the file's, " +
                           std::filesystem::path(path_).filename().string() +
                           ": portico finds a plugin named in its config as PLUGIN_DIR/NAME.so");
    if (!facts.version.empty() && !(facts.version[0] >= '0' && facts.version[0] <= '9'))
        warnings.push_back("version " + quote_input(facts.version) + " does not look like a version (e.g. 1.2.0)");
    if (!facts.usage.empty() && !facts.name.empty() &&
        (facts.usage.compare(0, facts.name.size(), facts.name) != 0 ||
         (facts.usage.size() > facts.name.size() && facts.usage[facts.name.size()] != ' ')))
        warnings.push_back("usage does not start with the plugin's name: clients send \"" + facts.name + " PAYLOAD\"");

    for (const std::string& problem : problems) journal_.finding(Severity::problem, "info", problem);
    for (const std::string& warning : warnings) journal_.finding(Severity::warning, "info", warning);
    if (problems.empty() && warnings.empty())
        journal_.finding(Severity::ok, "info", "name, version, description and usage are printable and of sensible length");
}

}  // namespace portico::plugin_check
