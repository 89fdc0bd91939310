// portico-plugin-check as a plugin author runs it: the real executable on
// real plugins. The reference plugins pass; each fixture fails, and the
// report names each of its faults, with the inputs that crash or hang it
// saved where --out says.
#include "exercise_findings.hpp"
#include "support/subprocess.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

using Catch::Matchers::Contains;
using portico::test::ExitStatus;
using portico::test::Subprocess;
using portico::test::TempDir;
using namespace std::chrono_literals;

namespace {

struct CheckRun {
    ExitStatus status;
    std::string out;
    std::string err;
    std::vector<std::string> lines;

    // The first line that starts with `start` ("PROBLEM crash:") and holds
    // every fragment; "" if none does.
    std::string line(const std::string& start, std::initializer_list<std::string> fragments = {}) const {
        for (const std::string& candidate : lines) {
            if (candidate.compare(0, start.size(), start) != 0) continue;
            bool all = true;
            for (const std::string& fragment : fragments) all = all && candidate.find(fragment) != std::string::npos;
            if (all) return candidate;
        }
        return {};
    }
    bool has(const std::string& start, std::initializer_list<std::string> fragments = {}) const {
        return !line(start, fragments).empty();
    }
};

CheckRun run_check(std::vector<std::string> args, std::chrono::milliseconds timeout = 90s) {
    args.insert(args.begin(), PORTICO_PLUGIN_CHECK);
    Subprocess child(args);
    CheckRun run;
    run.status = child.wait(timeout);
    run.out = child.out();
    run.err = child.err();
    std::istringstream in(run.out);
    for (std::string line; std::getline(in, line);) run.lines.push_back(line);
    return run;
}

// Engine processes still alive for `plugin` (their command line holds
// "--child" and the plugin's path).
std::size_t engine_processes_for(const std::string& plugin) {
    std::size_t found = 0;
    std::error_code ec;
    for (std::filesystem::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
        std::ifstream in(it->path() / "cmdline", std::ios::binary);
        const std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (cmdline.find(std::string("--child") + '\0') != std::string::npos && cmdline.find(plugin) != std::string::npos)
            ++found;
    }
    return found;
}

std::string file_content(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// What a plugin that keeps to the contract gets.
void require_clean_pass(const CheckRun& run) {
    INFO(run.out << run.err);
    REQUIRE(run.status.exited);
    CHECK(run.status.code == 0);
    CHECK(run.has("ok      symbols:", {"portico_plugin_api_version", "portico_plugin_info", "portico_create_engine"}));
    CHECK(run.has("ok      version:", {"plugin API 1.3, the same as this checker's"}));
    CHECK(run.has("ok      info:", {"printable and of sensible length"}));
    CHECK(run.has("ok      load:", {"portico loads it"}));
    CHECK(run.has("ok      calls:", {"from 4 threads", "every reply well-formed"}));
    CHECK(run.has("ok      deadline:", {"no call took longer than 1000 ms"}));
    CHECK(run.has(portico::plugin_check::memory_is_judged ? "ok      memory:" : "note    memory:"));
    CHECK(run.has("ok      threads:", {"none left running after the engine was destroyed and the library unloaded"}));
    CHECK_FALSE(run.has("PROBLEM"));
    CHECK_FALSE(run.has("warning"));
    CHECK(run.has("PASS: no problems, no warnings"));
}

}  // namespace

TEST_CASE("dice passes, with default and with given settings", "[dice]") {
    TempDir out;
    SECTION("default settings") {
        const CheckRun run = run_check({PORTICO_DICE_PLUGIN, "--seconds", "1", "--seed", "7", "--out", out.path()});
        require_clean_pass(run);
        CHECK(run.has("ok      settings:", {"refused 9 invalid settings, each with a message",
                                              "dice settings: expected a JSON object", "accepted \"{}\""}));
        CHECK(run.has("note    inputs:", {"examples from the usage line", "\"4d6kh3\"", "\"3d6\""}));
        CHECK(run.has("PASS:", {"(seed 7)"}));
    }
    SECTION("given settings") {
        const CheckRun run = run_check({PORTICO_DICE_PLUGIN, "--settings", R"({"seed": 42, "max_dice": 100})",
                                        "--seconds", "1", "--out", out.path()});
        require_clean_pass(run);
        CHECK(run.has("ok      settings:", {R"(accepted "{\"seed\": 42, \"max_dice\": 100}")"}));
    }
    SECTION("settings it refuses fail the check, with its message") {
        const CheckRun run = run_check({PORTICO_DICE_PLUGIN, "--settings", R"({"sed": 1})", "--seconds", "0",
                                        "--out", out.path()});
        INFO(run.out);
        CHECK(run.status.code == 1);
        CHECK(run.has("PROBLEM settings:", {R"(the factory refused "{\"sed\": 1}")", R"(unknown key \"sed\")"}));
        CHECK(run.has("PROBLEM load:", {"portico refuses it", "refused its settings"}));
        CHECK(run.has("FAIL: 2 problems"));
    }
}

TEST_CASE("notepad passes", "[notepad]") {
    TempDir out;
    const CheckRun run = run_check({PORTICO_NOTEPAD_PLUGIN, "--seconds", "1", "--out", out.path()});
    require_clean_pass(run);
    CHECK(run.has("note    inputs:", {"\"add hello\""}));
}

TEST_CASE("the misbehaving fixture fails, each fault named", "[misbehaving]") {
    TempDir out;
    const CheckRun run = run_check({PORTICO_FIXTURE_MISBEHAVING, "--seconds", "2", "--deadline-ms", "2", "--seed", "1",
                                    "--out", out.path()},
                                   150s);
    INFO(run.out << run.err);
    REQUIRE(run.status.exited);
    CHECK(run.status.code == 1);

    // A crash and a hang, each with the input saved.
    const std::string crash_file = out.path() + "/plugin-check-crash-1.bin";
    CHECK(run.has("PROBLEM crash:", {"in handle() on \"crash\"", "reproduced alone", "saved to " + crash_file}));
    CHECK(file_content(crash_file) == "crash");
    const std::string hang_file = out.path() + "/plugin-check-hang-1.bin";
    CHECK(run.has("PROBLEM hang:", {"handle() on \"stall\" did not return within 1000 ms", "saved to " + hang_file}));
    CHECK(file_content(hang_file) == "stall");
    CHECK(run.has("note    restart:", {"a new engine process carries on"}));

    // Every reply fault, with an input that shows it.
    CHECK(run.has("PROBLEM reply:", {"a JSON result that is not valid JSON", "\"badjson\""}));
    CHECK(run.has("PROBLEM reply:", {"a text result that is not valid UTF-8", R"("text \xff\xfe")"}));
    CHECK(run.has("PROBLEM reply:", {R"(error code "Bad Code!" is not a snake_case word)", "\"badcode\""}));
    CHECK(run.has("PROBLEM reply:", {"with an empty message", "\"nomessage\""}));
    CHECK(run.has("warning exception:", {"handle() threw", "\"boom\"", "\"throw\""}));
    CHECK(run.has("warning message:", {"not valid UTF-8"}));

    // Settings it should refuse, and its name.
    CHECK(run.has("warning settings:", {"not a JSON object", "\"[]\"", "\"null\""}));
    CHECK(run.has("warning settings:", {"unknown key", "no_such_key_xyz"}));
    CHECK(run.has("warning info:", {"name \"test\" differs from the file's, fixture_misbehaving.so"}));

    // Slow calls ("sleep 3" takes 3 ms), memory kept per call ("hoard"), a thread left behind ("linger").
    CHECK(run.has("PROBLEM deadline:", {"took longer than the 2 ms deadline"}));
    if (portico::plugin_check::memory_is_judged)
        CHECK(run.has("PROBLEM memory:", {"the engine keeps memory per call"}));
    CHECK(run.has("PROBLEM threads:", {"1 thread left running after the engine was destroyed and the library unloaded"}));

    CHECK_FALSE(run.has("PROBLEM checker:"));
    CHECK(run.has("FAIL:", {"2 inputs saved in " + out.path(), "(seed 1)"}));
    // The engine processes (crashed, hung and killed, replayed, finished) are all gone.
    CHECK(engine_processes_for(PORTICO_FIXTURE_MISBEHAVING) == 0);
}

TEST_CASE("plugins portico refuses fail the check, and say why", "[refused]") {
    TempDir out;
    auto check = [&](const std::string& plugin) {
        return run_check({plugin, "--seconds", "0", "--out", out.path()}, 60s);
    };
    SECTION("another major API version: both versions named, nothing else called") {
        const CheckRun run = check(PORTICO_FIXTURE_WRONG_VERSION);
        INFO(run.out << run.err);
        CHECK(run.status.code == 1);
        CHECK(run.has("PROBLEM version:", {"built for plugin API 99.0", "speak plugin API 1.3"}));
        CHECK(run.has("PROBLEM load:", {"built for plugin API 99.0, but this host speaks plugin API 1.3"}));
        // Its info and factory abort the process if called.
        CHECK_FALSE(run.has("PROBLEM crash:"));
        CHECK_FALSE(run.has("ok      info:"));
    }
    SECTION("a newer minor API version") {
        const CheckRun run = check(PORTICO_FIXTURE_NEWER_MINOR);
        INFO(run.out);
        CHECK(run.status.code == 1);
        CHECK(run.has("PROBLEM version:", {"built for plugin API 1.999, newer than", "1.3"}));
    }
    SECTION("no portico symbols at all") {
        const CheckRun run = check(PORTICO_FIXTURE_NO_SYMBOLS);
        INFO(run.out);
        CHECK(run.status.code == 1);
        CHECK(run.has("PROBLEM symbols:", {"it exports none of portico_plugin_api_version, portico_plugin_info and "
                                           "portico_create_engine: not a portico plugin"}));
        CHECK(run.has("PROBLEM load:", {"not a portico plugin"}));
    }
    SECTION("no factory") {
        const CheckRun run = check(PORTICO_FIXTURE_NO_FACTORY);
        INFO(run.out);
        CHECK(run.status.code == 1);
        CHECK(run.has("PROBLEM symbols:", {"it does not export portico_create_engine"}));
    }
    SECTION("a constructor that throws") {
        const CheckRun run = check(PORTICO_FIXTURE_THROWING_CTOR);
        INFO(run.out);
        CHECK(run.status.code == 1);
        CHECK(run.has("PROBLEM settings:", {"the factory refused \"{}\"",
                                            "the throwing_ctor fixture refuses every configuration"}));
        CHECK(run.has("PROBLEM load:", {"refused its settings"}));
        CHECK(run.has("ok      threads:"));
    }
    SECTION("a file that is not a library") {
        const CheckRun run = check(PORTICO_FIXTURE_NOT_A_LIBRARY);
        INFO(run.out);
        CHECK(run.status.code == 1);
        CHECK(run.has("PROBLEM load:", {"not a shared library (no ELF header)"}));
    }
}

TEST_CASE("the command line", "[cli]") {
    SECTION("no plugin") {
        const CheckRun run = run_check({}, 20s);
        CHECK(run.status.code == 2);
        CHECK_THAT(run.err, Contains("name the plugin to check"));
    }
    SECTION("a value out of range") {
        const CheckRun run = run_check({PORTICO_DICE_PLUGIN, "--threads", "0"}, 20s);
        CHECK(run.status.code == 2);
        CHECK_THAT(run.err, Contains("--threads needs a whole number from 1 to 64"));
    }
    SECTION("an unknown option") {
        const CheckRun run = run_check({PORTICO_DICE_PLUGIN, "--second", "1"}, 20s);
        CHECK(run.status.code == 2);
        CHECK_THAT(run.err, Contains("unknown option --second"));
    }
    SECTION("--help") {
        const CheckRun run = run_check({"--help"}, 20s);
        CHECK(run.status.code == 0);
        CHECK_THAT(run.out, Contains("usage: portico-plugin-check PLUGIN.so"));
    }
}
