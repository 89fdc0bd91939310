#include "random_inputs.hpp"

namespace portico::plugin_check {
namespace {

constexpr std::size_t max_random_bytes = 256;
constexpr std::string_view tail_characters =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

}  // namespace

RandomInputs::RandomInputs(std::uint64_t seed, unsigned worker, const InputCorpus& corpus)
    : rng_(seed ^ (0x9e3779b97f4a7c15ull * (worker + 1))), corpus_(corpus) {
    buffer_.reserve(max_random_bytes + 64);
}

std::string_view RandomInputs::next() {
    const bool have_examples = !corpus_.examples.empty();
    const std::size_t roll = below(100);
    if (roll < 30 && have_examples) return corpus_.examples[below(corpus_.examples.size())];
    if (roll < 40 && !corpus_.generic.empty()) return corpus_.generic[below(corpus_.generic.size())];
    buffer_.clear();
    if (roll < 60 && have_examples) {
        const std::string& base = corpus_.examples[below(corpus_.examples.size())];
        if (base.size() < max_random_bytes) buffer_ = base;
        buffer_ += ' ';
        for (std::size_t n = 1 + below(24); n > 0; --n) buffer_ += tail_characters[below(tail_characters.size())];
        return buffer_;
    }
    const std::size_t length = below(max_random_bytes + 1);
    if (roll < 80) {
        for (std::size_t i = 0; i < length; ++i) buffer_ += static_cast<char>(0x20 + below(0x7f - 0x20));
    } else {
        for (std::size_t i = 0; i < length; ++i) buffer_ += static_cast<char>(below(256));
    }
    return buffer_;
}

}  // namespace portico::plugin_check
