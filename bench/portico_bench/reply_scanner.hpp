#pragma once

#include <cstdint>
#include <string_view>

namespace portico::bench {

// The two top-level members of a gateway reply that the bench checks.
struct ReplyFields {
    bool has_id = false;
    std::uint64_t id = 0;
    bool has_ok = false;
    bool ok = false;
};

// Fast path: a hand scanner that walks the top-level object, skips values it
// does not need, and stops as soon as it has the id (and "ok" when wanted).
// It relies on no member order. Returns false when unsure (escaped keys,
// non-integer ids, odd JSON); the caller then uses parse_reply_fields.
bool scan_reply_fields(std::string_view text, bool want_ok, ReplyFields& out);

// Slow path: a full JSON parse. Returns false when the text is not a JSON object.
bool parse_reply_fields(std::string_view text, ReplyFields& out);

// Fast path first, full parse when the fast path is unsure.
bool read_reply_fields(std::string_view text, bool want_ok, ReplyFields& out);

}  // namespace portico::bench
