#pragma once
// What portico tells whoever started it, on stdout: lines for people
// ("portico: gateway listening on ...") and, for programs, one JSON object a
// line for each event: ready, reloaded, reload_refused, isolated_started,
// isolated_exited (docs/deployment.md lists their fields). Whole lines,
// from any thread.
#include <nlohmann/json_fwd.hpp>

#include <iosfwd>
#include <mutex>
#include <string_view>

namespace portico {

class Announcer {
public:
    explicit Announcer(std::ostream& out) : out_(out) {}

    void line(std::string_view text);
    // {"event": NAME, ...fields}
    void event(std::string_view name, nlohmann::json fields);

private:
    std::ostream& out_;
    std::mutex mutex_;
};

}  // namespace portico
