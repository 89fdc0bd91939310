// Loading plugins with the real loader: every way a .so can be wrong is
// refused with a message that names the plugin, its file and the reason; a
// good plugin loads with its info; unloading destroys the engine first and
// then really unloads the library, as often as it is done.
#include "config/config.hpp"
#include "plugin/plugin_loader.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <dlfcn.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iterator>
#include <string>

using Catch::Matchers::Contains;

namespace {

portico::PluginConfig plugin_config(const std::string& name, const std::string& library,
                                    const std::string& settings_json = "{}") {
    portico::PluginConfig config;
    config.name = name;
    config.engine.library = library;
    config.serve.endpoint = "tcp://127.0.0.1:*";
    config.engine.workers = 2;
    config.engine.settings_json = settings_json;
    return config;
}

// The loader's refusal; fails the test if it loaded.
portico::Error refusal(const portico::PluginConfig& config) {
    auto loaded = portico::load_plugin(config);
    REQUIRE_FALSE(loaded.has_value());
    return loaded.error();
}

bool library_is_mapped(const std::string& path) {
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
    if (handle == nullptr) return false;
    ::dlclose(handle);  // RTLD_NOLOAD took a reference
    return true;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

portico::Reply call(portico::LoadedPlugin& plugin, std::string_view payload, unsigned worker = 0) {
    portico::Request request;
    request.client_id = "loader-test-client";
    request.payload = payload;
    request.worker = worker;
    return plugin.engine().handle(request);
}

}  // namespace

TEST_CASE("a plugin of another major API version is refused, naming both versions", "[loading]") {
    // The fixture's info and factory abort the process: surviving this test
    // shows the host refused it from the version symbol alone.
    const auto error = refusal(plugin_config("old", PORTICO_FIXTURE_WRONG_VERSION));
    CHECK(error.code == "plugin_load_failed");
    CHECK_THAT(error.message, Contains("99.0") && Contains("1.3"));
    CHECK_THAT(error.message, Contains("\"old\"") && Contains(PORTICO_FIXTURE_WRONG_VERSION));
}

TEST_CASE("a plugin built for a newer minor API version is refused", "[loading]") {
    const auto error = refusal(plugin_config("newer", PORTICO_FIXTURE_NEWER_MINOR));
    CHECK(error.code == "plugin_load_failed");
    CHECK_THAT(error.message, Contains("1.999") && Contains("1.3"));
    CHECK_THAT(error.message, Contains(PORTICO_FIXTURE_NEWER_MINOR));
}

TEST_CASE("a plugin built against API 1.0 still loads and serves under a 1.1 host", "[loading][compat]") {
    auto loaded = portico::load_plugin(plugin_config("old_minor", PORTICO_FIXTURE_API_1_0));
    REQUIRE(loaded.has_value());
    portico::Request request;
    request.client_id = "loader-test-client";
    request.payload = "hello";
    request.caller_subject = "alice";  // what a 1.1 host fills; a 1.0 plugin never looks
    const auto reply = (*loaded)->engine().handle(request);
    CHECK(reply.ok());
    CHECK(reply.body() == "1.0 plugin got: hello");
}

TEST_CASE("a plugin without an engine factory is refused", "[loading]") {
    const auto error = refusal(plugin_config("nofactory", PORTICO_FIXTURE_NO_FACTORY));
    CHECK(error.code == "plugin_load_failed");
    CHECK_THAT(error.message, Contains("portico_create_engine") && Contains(PORTICO_FIXTURE_NO_FACTORY));
}

TEST_CASE("a library without any portico symbol is refused", "[loading]") {
    const auto error = refusal(plugin_config("nosymbols", PORTICO_FIXTURE_NO_SYMBOLS));
    CHECK(error.code == "plugin_load_failed");
    CHECK_THAT(error.message, Contains("portico_plugin_api_version") && Contains(PORTICO_FIXTURE_NO_SYMBOLS));
}

TEST_CASE("an engine whose constructor throws is refused with the exception's text", "[loading]") {
    const auto error = refusal(plugin_config("refuser", PORTICO_FIXTURE_THROWING_CTOR));
    CHECK(error.code == "plugin_load_failed");
    CHECK_THAT(error.message, Contains("bad settings: the throwing_ctor fixture refuses every configuration"));
    CHECK_THAT(error.message, Contains("\"refuser\""));
}

TEST_CASE("a file that is not a shared library is refused", "[loading]") {
    const auto error = refusal(plugin_config("text", PORTICO_FIXTURE_NOT_A_LIBRARY));
    CHECK(error.code == "plugin_load_failed");
    CHECK_THAT(error.message, Contains("not a shared library") && Contains(PORTICO_FIXTURE_NOT_A_LIBRARY));
}

TEST_CASE("a missing plugin file is refused", "[loading]") {
    portico::test::TempDir dir;
    const std::string missing = dir.path() + "/ghost.so";

    SECTION("by the config, naming the file, the key and the path") {
        const std::string text =
            R"({"plugins": {"ghost": {"library": ")" + missing + R"(", "endpoint": "tcp://127.0.0.1:0"}}})";
        auto config = portico::parse_config(text, "ghost.json", dir.path(), portico::ConfigDefaults{dir.path()});
        REQUIRE_FALSE(config.has_value());
        CHECK(config.error().code == "invalid_config");
        CHECK_THAT(config.error().message,
                   Contains("ghost.json") && Contains("plugins.ghost.library") && Contains(missing));
    }
    SECTION("by the config when the default plugin directory lacks it") {
        const std::string text = R"({"plugins": {"ghost": {"endpoint": "tcp://127.0.0.1:0"}}})";
        auto config = portico::parse_config(text, "ghost.json", dir.path(), portico::ConfigDefaults{dir.path()});
        REQUIRE_FALSE(config.has_value());
        CHECK_THAT(config.error().message, Contains("ghost.json") && Contains("plugins.ghost") && Contains(missing));
    }
    SECTION("by the loader") {
        const auto error = refusal(plugin_config("ghost", missing));
        CHECK(error.code == "plugin_load_failed");
        CHECK_THAT(error.message, Contains(missing) && Contains("cannot"));
    }
}

TEST_CASE("the dice plugin loads with its info and serves requests", "[loading]") {
    auto loaded = portico::load_plugin(plugin_config("dice", PORTICO_DICE_PLUGIN));
    REQUIRE(loaded.has_value());
    auto& plugin = *loaded.value();
    CHECK(plugin.name() == "dice");
    CHECK(plugin.version() == "1.0.0");
    CHECK_FALSE(plugin.description().empty());
    CHECK_THAT(plugin.usage(), Contains("dice"));
    CHECK(plugin.path() == PORTICO_DICE_PLUGIN);
    CHECK(plugin.api_version() == portico::pack_api_version(portico::api_version_major, portico::api_version_minor));

    const auto reply = call(plugin, "2d6");
    REQUIRE(reply.ok());
    CHECK(reply.kind() == portico::Reply::Kind::json);
    CHECK_THAT(reply.body(), Contains("\"total\""));
}

TEST_CASE("the engine gets its settings as JSON text", "[loading]") {
    auto loaded = portico::load_plugin(plugin_config("test", PORTICO_FIXTURE_MISBEHAVING, R"({"answer":42})"));
    REQUIRE(loaded.has_value());
    const auto reply = call(*loaded.value(), "settings");
    REQUIRE(reply.kind() == portico::Reply::Kind::json);
    CHECK(nlohmann::json::parse(reply.body()) == nlohmann::json{{"answer", 42}});
}

TEST_CASE("an exception from handle() stays in the plugin and becomes an engine_error reply", "[loading]") {
    auto loaded = portico::load_plugin(plugin_config("test", PORTICO_FIXTURE_MISBEHAVING));
    REQUIRE(loaded.has_value());
    const auto reply = call(*loaded.value(), "throw");
    CHECK(reply.kind() == portico::Reply::Kind::error);
    CHECK(reply.code() == "engine_error");
    CHECK_THAT(reply.body(), Contains("boom"));
    CHECK(call(*loaded.value(), "text still here").body() == "still here");
}

TEST_CASE("unloading destroys the engine, then unloads the library; twice in a row", "[loading]") {
    portico::test::TempDir dir;
    const std::string marker = dir.path() + "/destroyed.txt";
    const auto config =
        plugin_config("test", PORTICO_FIXTURE_MISBEHAVING, nlohmann::json{{"destroy_marker", marker}}.dump());
    // Not loaded by anything else in this process yet.
    REQUIRE_FALSE(library_is_mapped(PORTICO_FIXTURE_MISBEHAVING));

    for (int round = 1; round <= 2; ++round) {
        INFO("round " << round);
        {
            auto loaded = portico::load_plugin(config);
            REQUIRE(loaded.has_value());
            CHECK(library_is_mapped(PORTICO_FIXTURE_MISBEHAVING));
            CHECK(call(*loaded.value(), "text round").body() == "round");
        }
        // The engine's destructor (code in the library) ran, so the library
        // was still mapped when it did; and now the library is gone.
        std::string expected;
        for (int i = 0; i < round; ++i) expected += "destroyed\n";
        CHECK(read_file(marker) == expected);
        CHECK_FALSE(library_is_mapped(PORTICO_FIXTURE_MISBEHAVING));
    }
}

TEST_CASE("two loads of one library are independent", "[loading]") {
    auto first = portico::load_plugin(plugin_config("one", PORTICO_FIXTURE_MISBEHAVING));
    auto second = portico::load_plugin(plugin_config("two", PORTICO_FIXTURE_MISBEHAVING));
    REQUIRE(first.has_value());
    REQUIRE(second.has_value());
    first.value().reset();
    // The library stays while the second engine lives.
    CHECK(library_is_mapped(PORTICO_FIXTURE_MISBEHAVING));
    CHECK(call(*second.value(), "text alive").body() == "alive");
    second.value().reset();
    CHECK_FALSE(library_is_mapped(PORTICO_FIXTURE_MISBEHAVING));
}
