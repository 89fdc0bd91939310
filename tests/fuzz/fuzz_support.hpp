#pragma once
// What every fuzz target shares: a check that aborts with a message (libFuzzer
// reports an abort as a crash and saves the input; a replay test fails), and
// a UTF-8 check for text that goes out in WebSocket text frames.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace portico::fuzz {

[[noreturn]] inline void fail(const char* file, int line, const char* condition, const std::string& detail) {
    std::fprintf(stderr, "\nFUZZ CHECK FAILED at %s:%d: %s\n%s\n", file, line, condition, detail.c_str());
    std::fflush(stderr);
    std::abort();
}

// The input as text: every target reads its bytes as one string.
inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
inline bool is_valid_utf8(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        const auto byte = static_cast<unsigned char>(text[i]);
        std::size_t extra = 0;
        unsigned char low = 0x80;
        unsigned char high = 0xbf;
        if (byte < 0x80) {
            ++i;
            continue;
        } else if (byte >= 0xc2 && byte <= 0xdf) {
            extra = 1;
        } else if (byte >= 0xe0 && byte <= 0xef) {
            extra = 2;
            if (byte == 0xe0) low = 0xa0;       // overlong
            if (byte == 0xed) high = 0x9f;      // surrogates
        } else if (byte >= 0xf0 && byte <= 0xf4) {
            extra = 3;
            if (byte == 0xf0) low = 0x90;       // overlong
            if (byte == 0xf4) high = 0x8f;      // above U+10FFFF
        } else {
            return false;
        }
        if (text.size() - i <= extra) return false;
        for (std::size_t k = 1; k <= extra; ++k) {
            const auto next = static_cast<unsigned char>(text[i + k]);
            if (next < (k == 1 ? low : 0x80) || next > (k == 1 ? high : 0xbf)) return false;
        }
        i += extra + 1;
    }
    return true;
}

}  // namespace portico::fuzz

// Checks an invariant; `detail` (a std::string expression) is built only when it fails.
#define FUZZ_REQUIRE(condition, detail)                                                   \
    do {                                                                                  \
        if (!(condition)) ::portico::fuzz::fail(__FILE__, __LINE__, #condition, (detail)); \
    } while (false)
