#pragma once
// Checks the JSON Web Token a client presents at the upgrade, or in a refresh
// message (gateway.auth.jwt): the signature with the one configured key
// (cpp-jwt over OpenSSL), the algorithm against the configured list ("none"
// never), exp and nbf with the leeway, iss and aud when configured, and the
// types of the claims it reads. What passes becomes a Caller with its scopes
// and expiry; what fails gets a one-line reason for the 401 body.
#include "config/config.hpp"
#include "core/caller.hpp"
#include "core/error.hpp"

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portico {

// Longer tokens are refused before any decoding.
inline constexpr std::size_t max_token_bytes = 4096;

struct VerifiedToken {
    CallerRef caller;
    std::vector<std::string> scopes;  // the "scope" claim, split at spaces
    std::optional<std::chrono::system_clock::time_point> expires_at;  // "exp" (without the leeway)

    bool has_scope(std::string_view scope) const;
};

class TokenVerifier {
public:
    // Reads the key file; errors name the key: "gateway.auth.jwt.secret_file: ...".
    static Expected<std::shared_ptr<const TokenVerifier>> load(const JwtConfig& config);

    // The token's identity, or Error{"unauthorized", reason}.
    Expected<VerifiedToken> verify(std::string_view token) const;
    std::chrono::seconds leeway() const noexcept { return config_.leeway; }

private:
    TokenVerifier(JwtConfig config, std::string key) : config_(std::move(config)), key_(std::move(key)) {}

    JwtConfig config_;
    std::string key_;  // the HMAC secret, or the public key's PEM text
};

// The verifier new upgrades use; a SIGHUP loads the key again (rotation).
// Swapped whole, from any thread, like the TLS context.
class TokenVerifierStore {
public:
    Expected<void> load(const JwtConfig& config);
    void set(std::shared_ptr<const TokenVerifier> verifier);
    std::shared_ptr<const TokenVerifier> current() const;

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const TokenVerifier> current_;
};

// The token of an upgrade request: "Authorization: Bearer TOKEN", else the
// access_token query parameter of `target` (browsers cannot set headers on a
// WebSocket). Empty when there is neither.
std::string find_bearer_token(std::string_view authorization, std::string_view target);

}  // namespace portico
