#pragma once
// Who sent a request, as the gateway's token check found it: the token's
// "sub" and all its claims as JSON text. It travels with each request to the
// engine (in this process or over the wire) and reaches the plugin as
// Request::caller_subject and Request::caller_claims_json. Shared, never
// copied per request: a connection holds one until a refresh replaces it.
#include <memory>
#include <string>

namespace portico {

struct Caller {
    std::string subject;      // "sub"; may be empty when the token has none
    std::string claims_json;  // the token's payload, as JSON text
};

// Null when the gateway has no auth configured.
using CallerRef = std::shared_ptr<const Caller>;

}  // namespace portico
