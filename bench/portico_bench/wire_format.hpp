#pragma once

#include "bench_options.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace portico::bench {

enum class ReplyVerdict {
    good,       // a success reply (or an echo) for the id it names
    failed,     // the gateway answered with an error ("ok":false, "error: ...")
    malformed,  // not a reply the bench understands (not JSON, no id, ...)
};

struct ReplyCheck {
    ReplyVerdict verdict = ReplyVerdict::malformed;
    bool has_id = false;
    std::uint64_t id = 0;
};

// Builds request texts and judges reply texts for one wire form. The
// constant parts of a request are escaped once here, not per request.
class WireFormat {
public:
    // Fails (returns an error message) only if the texts cannot be encoded.
    static std::string make(WireForm form, std::string const& plugin, std::string const& payload, WireFormat& out);

    WireForm form() const { return form_; }
    // Whether requests carry ids that the replies name (not so in shorthand).
    bool carries_ids() const { return form_ != WireForm::shorthand; }

    // Appends the text of request `id` to `out` (the id is ignored in shorthand).
    void append_request(std::string& out, std::uint64_t id) const;

    ReplyCheck check_reply(std::string_view text) const;

private:
    WireForm form_ = WireForm::envelope;
    std::string prefix_;  // envelope: {"id":   shorthand: the whole request
    std::string suffix_;  // envelope: ,"plugin":"..","payload":".."}
};

}  // namespace portico::bench
