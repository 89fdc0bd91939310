#include "support/portico_process.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace portico::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<std::string> portico_argv(const std::string& config_path, std::vector<std::string> args) {
    std::vector<std::string> argv = {PORTICO_EXECUTABLE, "--config", config_path};
    argv.insert(argv.end(), std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
    return argv;
}

// DIR/NAME.json -> DIR/NAME: where the copies of its output go.
std::string output_prefix(const std::string& config_path) {
    return (fs::path(config_path).parent_path() / fs::path(config_path).stem()).string();
}

std::uint16_t port_of(const std::string& address) {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos) return 0;
    return static_cast<std::uint16_t>(std::strtoul(address.c_str() + colon + 1, nullptr, 10));
}

// The parent of `pid` according to /proc (-1 if it is gone).
pid_t parent_of(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    if (!std::getline(in, stat)) return -1;
    // "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses.
    const auto close = stat.rfind(')');
    if (close == std::string::npos) return -1;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    pid_t parent = -1;
    rest >> state >> parent;
    return parent;
}

}  // namespace

std::vector<json> parse_events(const std::string& out, const std::string& name) {
    std::vector<json> events;
    std::size_t begin = 0;
    for (auto end = out.find('\n'); end != std::string::npos; begin = end + 1, end = out.find('\n', begin)) {
        if (out[begin] != '{') continue;  // a line for people
        json event = json::parse(out.begin() + static_cast<std::ptrdiff_t>(begin),
                                 out.begin() + static_cast<std::ptrdiff_t>(end), nullptr, false);
        if (!event.is_object() || !event.contains("event") || !event["event"].is_string()) continue;
        if (name.empty() || event["event"] == name) events.push_back(std::move(event));
    }
    return events;
}

std::set<std::string> ReloadOutcome::names(const std::string& kind) const {
    std::set<std::string> found;
    if (!event.is_object() || !event.contains(kind) || !event[kind].is_array()) return found;
    for (const auto& name : event[kind])
        if (name.is_string()) found.insert(name.get<std::string>());
    return found;
}

std::string ReloadOutcome::error() const {
    return event.is_object() ? event.value("error", std::string()) : std::string();
}

PorticoProcess::PorticoProcess(const std::string& config_path, std::vector<std::string> args)
    : Subprocess(portico_argv(config_path, std::move(args)), output_prefix(config_path)),
      name_(fs::path(config_path).stem().string()) {
    // Isolated engines are portico's children; should portico die first,
    // they become ours, so that the destructor can reap them.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
}

PorticoProcess::~PorticoProcess() {
    if (running()) {
        // A clean stop first, so that portico stops its own children.
        resume();
        terminate();
        if (!wait_exit(5s)) {
            kill();
            wait_exit(10s);
        }
    }
    reap_orphans();
    if (status() && !status()->exited) {
        // Killed, it could not remove its private work directory (see
        // Host::start): an orphan now, so remove it for it.
        std::error_code ignored;
        fs::remove_all(fs::temp_directory_path() / ("portico-" + std::to_string(pid())), ignored);
    }
}

void PorticoProcess::reap_orphans() {
    // Only processes that are now our children: a PID seen long ago may since
    // belong to something else.
    for (const pid_t orphan : isolated_pids()) {
        if (parent_of(orphan) != ::getpid()) continue;
        ::kill(orphan, SIGKILL);
        int status = 0;
        while (::waitpid(orphan, &status, 0) < 0 && errno == EINTR) {
        }
    }
}

bool PorticoProcess::wait_ready(std::chrono::milliseconds timeout) {
    const bool ready = wait_until(
        [](const std::string& out, const std::string&) { return !parse_events(out, "ready").empty(); }, timeout);
    if (ready) ready_ = events("ready").front();
    return ready;
}

std::uint16_t PorticoProcess::gateway_port() const {
    if (!ready_.contains("gateway") || !ready_["gateway"].is_object()) return 0;
    return ready_["gateway"].value("port", std::uint16_t{0});
}

std::string PorticoProcess::endpoint_of(const std::string& plugin) const {
    for (const auto& entry : ready_.value("plugins", json::array()))
        if (entry.is_object() && entry.value("name", "") == plugin) return entry.value("endpoint", "");
    return {};
}

std::uint16_t PorticoProcess::engine_port(const std::string& plugin) const { return port_of(endpoint_of(plugin)); }

std::vector<json> PorticoProcess::events(const std::string& name) const { return parse_events(out(), name); }

std::optional<json> PorticoProcess::next_event(const std::string& name, std::chrono::milliseconds timeout) {
    const std::size_t index = taken_[name];
    const bool came = wait_until(
        [&](const std::string& out, const std::string&) { return parse_events(out, name).size() > index; }, timeout);
    if (!came) return std::nullopt;
    ++taken_[name];
    return events(name).at(index);
}

std::vector<pid_t> PorticoProcess::isolated_pids() const {
    std::vector<pid_t> pids;
    for (const auto& event : events("isolated_started")) pids.push_back(event.value("pid", pid_t{-1}));
    return pids;
}

pid_t PorticoProcess::isolated_pid(const std::string& plugin) const {
    pid_t latest = -1;
    for (const auto& event : events()) {
        if (event.value("plugin", "") != plugin) continue;
        if (event["event"] == "isolated_started") latest = event.value("pid", pid_t{-1});
        if (event["event"] == "isolated_exited" && event.value("pid", pid_t{-1}) == latest) latest = -1;
    }
    return latest;
}

pid_t PorticoProcess::signal_isolated(const std::string& plugin, int signal) {
    const pid_t child = isolated_pid(plugin);
    // Portico's child, so not a PID reused by some other process since.
    if (child <= 0 || parent_of(child) != pid()) return -1;
    return ::kill(child, signal) == 0 ? child : -1;
}

ReloadOutcome PorticoProcess::reload(std::chrono::milliseconds timeout) {
    // The events that end reloads, in order: the one this SIGHUP starts is
    // the first after those already there.
    const auto endings = [](const std::string& out) {
        std::vector<json> found;
        for (auto& event : parse_events(out))
            if (event["event"] == "reloaded" || event["event"] == "reload_refused") found.push_back(std::move(event));
        return found;
    };
    // A SIGHUP that comes while a reload still finishes (after its event)
    // makes portico reload once more, so the one sent here has an ending of
    // its own.
    const std::size_t before = endings(out()).size();
    ReloadOutcome outcome;
    send_signal(SIGHUP);
    outcome.finished = wait_until(
        [&](const std::string& out, const std::string&) { return endings(out).size() > before; }, timeout);
    if (!outcome.finished) return outcome;
    outcome.event = endings(out()).at(before);
    outcome.refused = outcome.event["event"] == "reload_refused";
    return outcome;
}

std::string PorticoProcess::summary() const { return name_ + ": " + Subprocess::summary(); }

}  // namespace portico::test
