#include "gateway/builtin_plugin.hpp"

#include <portico/plugin.hpp>

#include <nlohmann/json.hpp>

namespace portico {
namespace {

using nlohmann::json;

}  // namespace

std::string_view trim_command(std::string_view text) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
    return text;
}

BuiltinPlugin::BuiltinPlugin(net::io_context& io, Router& router) : io_(io), router_(router) {}

LinkStatus BuiltinPlugin::status() const {
    LinkStatus status;
    status.engines_alive = 1;
    status.engines_total = 1;
    status.info_json = json{{"name", builtin_plugin_name},
                {"version", PORTICO_VERSION},
                {"description", "the gateway itself: which plugins are live here"},
                {"usage", "portico plugins | portico version"}}
                           .dump();
    return status;
}

Reply BuiltinPlugin::answer(std::string_view command) const {
    command = trim_command(command);
    if (command == "plugins") {
        json plugins = json::array();
        router_.for_each_engine([&plugins](const std::string& name, const EngineLink& link) {
            // What engines said of themselves is parsed, not trusted.
            const LinkStatus status = link.status();
            json entry = json::parse(status.info_json, nullptr, false);
            if (!entry.is_object()) entry = json::object();
            entry.erase("instance");
            entry["name"] = name;
            entry["engines"] = {{"alive", status.engines_alive}, {"total", status.engines_total}};
            plugins.push_back(std::move(entry));
        });
        return Reply::json(json{{"plugins", std::move(plugins)}}.dump(-1, ' ', false, json::error_handler_t::replace));
    }
    if (command == "version") {
        const std::string api = std::to_string(api_version_major) + "." + std::to_string(api_version_minor);
        return Reply::json(json{{"portico", PORTICO_VERSION}, {"plugin_api", api}}.dump());
    }
    return Reply::error("unknown_command", "unknown command: try \"portico plugins\", \"portico version\" or \"portico whoami\"");
}

SendResult BuiltinPlugin::send(std::uint64_t request_id, std::string_view client_id, std::string_view payload,
                               const CallerRef&) {
    // Answered on a later turn of the loop: the session records the request
    // as pending only after send() returns.
    net::post(io_, [this, request_id, client = std::string(client_id), command = std::string(payload)] {
        router_.deliver(EngineReply{request_id, client, answer(command)});
    });
    return SendResult::sent;
}

}  // namespace portico
