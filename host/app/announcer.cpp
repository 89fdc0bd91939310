#include "app/announcer.hpp"

#include <nlohmann/json.hpp>

#include <ostream>

namespace portico {

void Announcer::line(std::string_view text) {
    std::lock_guard<std::mutex> lock(mutex_);
    out_ << text << '\n' << std::flush;
}

void Announcer::event(std::string_view name, nlohmann::json fields) {
    nlohmann::json event = {{"event", name}};
    event.update(fields);
    line(event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace portico
