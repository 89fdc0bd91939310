#pragma once
// The real `portico` executable as a child process, seen as a user sees it:
// its config file, its stdout and its log (stderr), its signals. portico
// tells programs what it does as JSON lines on stdout, one object a line:
//   {"event":"ready","pid":N,"version":...,"role":...,"plugins":[{"name":...,"endpoint":...,"version":...}],
//    "gateway":{"address":...,"port":N,"path":...}}
//   {"event":"reloaded","added":[...],"replaced":[...],"removed":[...],"rerouted":[...]}
//   {"event":"reload_refused","code":...,"error":...}
//   {"event":"isolated_started","plugin":...,"pid":N}
//   {"event":"isolated_exited","plugin":...,"pid":N,"status":N}
// and everything a test needs to know (ports, endpoints, reload outcomes,
// the PIDs of isolated engines) is read from those, never from the prose
// lines around them.
//
// At destruction portico is asked to stop (SIGTERM, so that it stops its own
// isolated engines), then killed if it does not within a bound; isolated
// engine processes it announced that outlived it are killed and reaped too
// (the test process is their subreaper).
#include "support/subprocess.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace portico::test {

// The outcome of one SIGHUP: the event that ends the reload it starts.
struct ReloadOutcome {
    bool finished = false;  // false: neither event came in time
    bool refused = false;   // reload_refused rather than reloaded
    nlohmann::json event;   // the event itself (null when not finished)

    // The plugin names a reloaded event lists under `kind` ("added", "replaced", "removed", "rerouted").
    std::set<std::string> names(const std::string& kind) const;
    // A refused reload's message ("" otherwise).
    std::string error() const;
};

class PorticoProcess : public Subprocess {
public:
    // Starts `portico --config CONFIG_PATH ARGS...`. Its stdout and stderr are
    // also copied next to the config (portico.json: portico.out, portico.err).
    explicit PorticoProcess(const std::string& config_path, std::vector<std::string> args = {});
    ~PorticoProcess();

    // The config file's name without its extension, for messages.
    const std::string& name() const noexcept { return name_; }

    // Waits for the ready event; false if the process ended or time ran out first.
    bool wait_ready(std::chrono::milliseconds timeout = 15s);
    // After wait_ready(): the ready event, and what it says.
    const nlohmann::json& ready() const noexcept { return ready_; }
    std::uint16_t gateway_port() const;                     // 0: no gateway here
    std::string endpoint_of(const std::string& plugin) const;  // "" when not served here
    std::uint16_t engine_port(const std::string& plugin) const;

    // Every event so far, in order (those named `name`, when given).
    std::vector<nlohmann::json> events(const std::string& name = {}) const;
    // The next event named `name` that this call has not returned before;
    // nullopt if none came within `timeout`.
    std::optional<nlohmann::json> next_event(const std::string& name, std::chrono::milliseconds timeout);
    // The PIDs of isolated engine processes, in the order they started.
    std::vector<pid_t> isolated_pids() const;
    // The isolated engine process of `plugin` that started last, unless its
    // exit was announced (-1 then, or if none started).
    pid_t isolated_pid(const std::string& plugin) const;
    // Sends `signal` to isolated_pid(plugin), if that is still portico's own
    // child; returns the PID signalled, or -1.
    pid_t signal_isolated(const std::string& plugin, int signal);

    // Sends SIGHUP and waits for the reload it starts to be applied or
    // refused. A SIGHUP that portico ignores, because it came while the
    // previous reload was still finishing (it logs so, at level warn), is sent again.
    ReloadOutcome reload(std::chrono::milliseconds timeout = 20s);

    // summary(), with the config's name.
    std::string summary() const;

private:
    void reap_orphans();

    std::string name_;
    nlohmann::json ready_;
    std::map<std::string, std::size_t> taken_;  // next_event(): how many of each name it returned
};

// The events in portico's stdout `out`: its complete lines that are JSON objects with an "event".
std::vector<nlohmann::json> parse_events(const std::string& out, const std::string& name = {});

}  // namespace portico::test
