#include "builtin_plugin.hpp"

#include <portico/plugin.hpp>

#include <nlohmann/json.hpp>

namespace portico {
namespace {

using nlohmann::json;

std::string_view trim(std::string_view text) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
    return text;
}

}  // namespace

BuiltinPlugin::BuiltinPlugin(net::io_context& io, Router& router) : io_(io), router_(router) {}

std::string BuiltinPlugin::info_json() const {
    return json{{"name", builtin_plugin_name},
                {"version", PORTICO_VERSION},
                {"description", "the gateway itself: which plugins are live here"},
                {"usage", "portico plugins | portico version"}}
        .dump();
}

BuiltinPlugin::Answer BuiltinPlugin::answer(std::string_view command) const {
    command = trim(command);
    if (command == "plugins") {
        json plugins = json::array();
        router_.for_each_engine([&plugins](const std::string& name, const EngineLink& link) {
            // What engines said of themselves is parsed, not trusted.
            json entry = json::parse(link.info_json(), nullptr, false);
            if (!entry.is_object()) entry = json::object();
            entry.erase("instance");
            entry["name"] = name;
            entry["engines"] = {{"alive", link.engines_alive()}, {"total", link.engines_total()}};
            plugins.push_back(std::move(entry));
        });
        return {wire::ReplyKind::json,
                json{{"plugins", std::move(plugins)}}.dump(-1, ' ', false, json::error_handler_t::replace), {}};
    }
    if (command == "version") {
        const std::string api = std::to_string(api_version_major) + "." + std::to_string(api_version_minor);
        return {wire::ReplyKind::json, json{{"portico", PORTICO_VERSION}, {"plugin_api", api}}.dump(), {}};
    }
    return {wire::ReplyKind::error, "unknown command: try \"portico plugins\" or \"portico version\"",
            "unknown_command"};
}

SendResult BuiltinPlugin::send(std::uint64_t request_id, std::string_view client_id, std::string_view payload) {
    // Answered on a later turn of the loop: the session records the request
    // as pending only after send() returns.
    net::post(io_, [this, request_id, client = std::string(client_id), command = std::string(payload)] {
        const Answer result = answer(command);
        wire::EngineReply reply;
        reply.request_id = request_id;
        reply.client_id = client;
        reply.kind = result.kind;
        reply.body = result.body;
        reply.code = result.code;
        router_.deliver(reply);
    });
    return SendResult::sent;
}

}  // namespace portico
