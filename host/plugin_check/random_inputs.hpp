#pragma once
// Inputs for the random phase, one generator per worker (no sharing, no
// lock). Each next() is, by chance: a usage example again (30%), any fixed
// input again (10%), an example with a random tail after a space (20%),
// random printable ASCII (20%) or random bytes (20%), up to 256 bytes.
// Tails hold no digits: "sleep 3" must not become "sleep 3999999".
#include "input_corpus.hpp"

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace portico::plugin_check {

class RandomInputs {
public:
    RandomInputs(std::uint64_t seed, unsigned worker, const InputCorpus& corpus);

    // The next input; valid until the next call.
    std::string_view next();

private:
    std::size_t below(std::size_t bound) { return std::uniform_int_distribution<std::size_t>(0, bound - 1)(rng_); }

    std::mt19937_64 rng_;
    const InputCorpus& corpus_;
    std::string buffer_;
};

}  // namespace portico::plugin_check
