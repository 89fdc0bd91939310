// Loads greet.so the way the host does (dlopen, then the exported symbols) and
// checks a good and a bad payload, and that bad settings are refused.
//
//   greet_test path/to/greet.so     exit status 0: every check passed
#include <portico/plugin.hpp>

#include <dlfcn.h>

#include <cstdint>
#include <iostream>
#include <string>

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
    std::cout << (ok ? "ok   " : "FAIL ") << what << "\n";
    if (!ok) ++failures;
}

std::string describe(const portico::Reply& reply) {
    return reply.ok() ? reply.body() : "error " + reply.code() + ": " + reply.body();
}

std::string refusal(const portico::CreateResult& result) {
    return result.engine ? std::string() : ": refused: " + result.error;
}

using VersionFunction = std::uint32_t() noexcept;

// Everything the plugin made (engines, replies) is destroyed in here, before
// the library is closed: the library must outlive its objects.
void run_checks(void* library) {
    auto* version = reinterpret_cast<VersionFunction*>(dlsym(library, portico::api_version_symbol));
    auto* create = reinterpret_cast<portico::EngineFactory*>(dlsym(library, portico::factory_symbol));
    check(version != nullptr && create != nullptr, "the plugin exports its version and factory");
    if (version == nullptr || create == nullptr) return;
    check(version() == portico::pack_api_version(portico::api_version_major, portico::api_version_minor),
          "the plugin was built against this API version");

    portico::EngineContext context{"greet", "{}", 1};
    portico::CreateResult created = create(context);
    check(created.engine != nullptr, "the engine is created with empty settings" + refusal(created));
    if (!created.engine) return;

    portico::Request request{"client-1", "world", 0};
    portico::Reply good = created.engine->handle(request);
    check(good.kind() == portico::Reply::Kind::json && good.body() == R"({"greeting":"hello, world"})",
          "\"world\" is greeted: " + describe(good));

    request.payload = "";
    portico::Reply empty = created.engine->handle(request);
    check(!empty.ok() && empty.code() == "bad_name", "an empty name is refused: " + describe(empty));

    const std::string long_name(65, 'x');
    request.payload = long_name;
    portico::Reply too_long = created.engine->handle(request);
    check(!too_long.ok() && too_long.code() == "bad_name", "a 65-character name is refused: " + describe(too_long));

    request.payload = "bad\nname";
    portico::Reply unprintable = created.engine->handle(request);
    check(!unprintable.ok() && unprintable.code() == "bad_name",
          "a name with a newline is refused: " + describe(unprintable));

    context.settings_json = R"({"greeting":"hi"})";
    portico::CreateResult custom = create(context);
    check(custom.engine != nullptr, "a custom greeting is accepted" + refusal(custom));
    if (custom.engine) {
        request.payload = "you";
        portico::Reply hi = custom.engine->handle(request);
        check(hi.ok() && hi.body() == R"({"greeting":"hi, you"})", "the custom greeting is used: " + describe(hi));
    }

    context.settings_json = R"({"greting":"hi"})";
    portico::CreateResult refused = create(context);
    check(refused.engine == nullptr && refused.error.find("unknown key \"greting\"") != std::string::npos,
          "an unknown settings key is refused: " + refused.error);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: greet_test path/to/greet.so\n";
        return 2;
    }
    void* library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
        std::cerr << "cannot load " << argv[1] << ": " << dlerror() << "\n";
        return 1;
    }
    run_checks(library);
    dlclose(library);
    std::cout << (failures == 0 ? "all checks passed\n" : std::to_string(failures) + " check(s) failed\n");
    return failures == 0 ? 0 : 1;
}
