// greet: a complete Portico plugin in one file.
//
//   payload  NAME (1 to 64 printable ASCII characters)
//   reply    {"greeting":"hello, NAME"}
//   errors   bad_name: the payload is empty, too long or not printable
//   settings {"greeting": "hello"}: the word before the name; other keys are refused
//
// Read portico/plugin.hpp once: it is the whole contract (threads, lifetime,
// errors, versions).
#include <portico/plugin.hpp>

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>
#include <string_view>

namespace greet {

constexpr std::size_t max_name_length = 64;

// Printable ASCII: space to tilde.
bool is_printable(std::string_view text) {
    for (char c : text)
        if (c < 0x20 || c > 0x7e) return false;
    return true;
}

class GreetEngine final : public portico::Engine {
public:
    // Runs once when the host loads the plugin, before any handle(). Throwing
    // refuses the load; the host prints the message and does not start.
    explicit GreetEngine(const portico::EngineContext& context) {
        nlohmann::json settings;
        try {
            settings = nlohmann::json::parse(context.settings_json);
        } catch (const nlohmann::json::exception& e) {
            throw std::invalid_argument(std::string("greet settings: invalid JSON: ") + e.what());
        }
        if (!settings.is_object()) throw std::invalid_argument("greet settings: expected a JSON object");
        for (const auto& [key, value] : settings.items()) {
            if (key != "greeting") throw std::invalid_argument("greet settings: unknown key " + nlohmann::json(key).dump());
            if (!value.is_string() || value.get_ref<const std::string&>().empty() ||
                value.get_ref<const std::string&>().size() > max_name_length)
                throw std::invalid_argument("greet settings: \"greeting\" must be a string of 1 to 64 bytes");
            greeting_ = value.get<std::string>();
        }
    }

    // Runs on the host's worker threads, several at once: it only reads
    // members set by the constructor, so it needs no lock.
    portico::Reply handle(const portico::Request& request) override {
        const std::string_view name = request.payload;
        if (name.empty()) return portico::Reply::error("bad_name", "send a name to greet, e.g. \"greet world\"");
        if (name.size() > max_name_length)
            return portico::Reply::error("bad_name", "the name is " + std::to_string(name.size()) +
                                                         " characters; at most 64 are allowed");
        if (!is_printable(name))
            return portico::Reply::error("bad_name", "the name must be printable ASCII characters only");
        // nlohmann escapes quotes and backslashes, so the reply is always valid JSON.
        const nlohmann::json reply = {{"greeting", greeting_ + ", " + std::string(name)}};
        return portico::Reply::json(reply.dump());
    }

private:
    std::string greeting_ = "hello";
};

}  // namespace greet

// The exported entry points: API version, PluginInfo, and a factory that keeps
// exceptions inside the plugin. Arguments: engine type, name, version,
// description, usage (string literals).
PORTICO_PLUGIN(greet::GreetEngine, "greet", "1.0.0", "Greets a name", "greet NAME (1 to 64 printable characters)")
