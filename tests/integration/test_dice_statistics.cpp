// The real dice.so, through the loader and the engine's handle(): 1d6 is
// fair. Seeded, so the verdict is reproducible; the threshold is the
// chi-square critical value for 5 degrees of freedom at p = 0.001.
#include "plugin/plugin_loader.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <vector>

namespace {

constexpr double chi_square_5dof_p001 = 20.52;

std::shared_ptr<portico::LoadedPlugin> load_dice(const std::string& settings_json, unsigned workers) {
    portico::PluginConfig config;
    config.name = "dice";
    config.engine.library = PORTICO_DICE_PLUGIN;
    config.serve.endpoint = "tcp://127.0.0.1:*";
    config.engine.workers = workers;
    config.engine.settings_json = settings_json;
    auto loaded = portico::load_plugin(config);
    if (!loaded) FAIL(loaded.error().message);
    return loaded.value();
}

// One roll of 1d6 on `worker`: the single die, or 0 when the reply is not a
// well-formed roll of one die whose total is that die. (Plain checks: 60,000
// Catch2 assertions would cost more than the rolls.)
unsigned roll_d6(portico::LoadedPlugin& dice, unsigned worker) {
    portico::Request request;
    request.client_id = "statistics";
    request.payload = "1d6";
    request.worker = worker;
    const auto reply = dice.engine().handle(request);
    if (reply.kind() != portico::Reply::Kind::json) return 0;
    const auto result = nlohmann::json::parse(reply.body(), nullptr, false);
    if (result.is_discarded() || !result.contains("rolls") || result["rolls"].size() != 1) return 0;
    const auto& die = result["rolls"][0];
    if (!die.is_number_unsigned() || result.value("total", -1) != die.get<int>()) return 0;
    return die.get<unsigned>();
}

struct Tally {
    std::array<std::uint64_t, 7> faces{};  // [1..6]
    std::uint64_t rolls = 0;
    std::uint64_t bad = 0;  // malformed replies or faces outside 1..6

    void add(unsigned face) {
        if (face < 1 || face > 6) {
            ++bad;
            return;
        }
        ++faces[face];
        ++rolls;
    }
    double chi_square() const {
        const double expected = static_cast<double>(rolls) / 6.0;
        double sum = 0;
        for (int face = 1; face <= 6; ++face) {
            const double d = static_cast<double>(faces[face]) - expected;
            sum += d * d / expected;
        }
        return sum;
    }
};

}  // namespace

TEST_CASE("60,000 rolls of 1d6 are uniform over 1..6", "[statistics]") {
    auto dice = load_dice(R"({"seed": 20240601})", 1);
    Tally tally;
    for (int i = 0; i < 60'000; ++i) tally.add(roll_d6(*dice, 0));
    REQUIRE(tally.bad == 0);
    for (int face = 1; face <= 6; ++face) {
        INFO("face " << face);
        CHECK(tally.faces[face] > 0);
    }
    INFO("counts 1..6: " << tally.faces[1] << " " << tally.faces[2] << " " << tally.faces[3] << " "
                         << tally.faces[4] << " " << tally.faces[5] << " " << tally.faces[6]);
    CHECK(tally.chi_square() < chi_square_5dof_p001);
}

TEST_CASE("every worker's generator is uniform, and the workers' sequences differ", "[statistics]") {
    auto dice = load_dice(R"({"seed": 7})", 2);
    std::array<Tally, 2> tallies;
    std::array<std::vector<unsigned>, 2> first_rolls;
    for (int i = 0; i < 30'000; ++i) {
        for (unsigned worker = 0; worker < 2; ++worker) {
            const unsigned face = roll_d6(*dice, worker);
            tallies[worker].add(face);
            if (i < 64) first_rolls[worker].push_back(face);
        }
    }
    for (unsigned worker = 0; worker < 2; ++worker) {
        INFO("worker " << worker);
        REQUIRE(tallies[worker].bad == 0);
        CHECK(tallies[worker].chi_square() < chi_square_5dof_p001);
    }
    CHECK(first_rolls[0] != first_rolls[1]);
}
