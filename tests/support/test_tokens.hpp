#pragma once
// JSON Web Tokens made at test time, signed with OpenSSL directly (not with
// the cpp-jwt library the gateway verifies with, so that the two check each
// other): HS256 with a secret, RS256 with a fresh 2048-bit RSA key, ES256
// with a fresh P-256 key (the signature as JOSE's raw R||S). Also the forged
// kinds an attacker sends: "alg": "none", and an HS256 token whose HMAC key
// is the server's RSA public key (algorithm confusion).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace portico::test {

class TokenSigner {
public:
    static TokenSigner hs256(std::string secret);
    static TokenSigner rs256();
    static TokenSigner es256();
    ~TokenSigner();
    TokenSigner(TokenSigner&&) noexcept;
    TokenSigner& operator=(TokenSigner&&) noexcept;

    const std::string& algorithm() const noexcept { return algorithm_; }
    // The key a gateway config points at: the secret, or the PEM public key.
    const std::string& verification_key() const noexcept { return verification_key_; }

    // header.payload.signature, with {"alg": algorithm(), "typ": "JWT"}.
    std::string sign(const nlohmann::json& claims) const;

private:
    TokenSigner() = default;
    struct Key;
    std::string algorithm_;
    std::string verification_key_;
    std::string secret_;
    std::unique_ptr<Key> key_;
};

// base64url without padding.
std::string base64url(const std::string& bytes);
// A token with {"alg":"none"} and an empty signature.
std::string unsigned_token(const nlohmann::json& claims);
// An HS256 token whose HMAC key is `key_bytes` (e.g. a server's PEM public key).
std::string hs256_token_with_key(const std::string& key_bytes, const nlohmann::json& claims);
// Seconds since the epoch, now.
std::int64_t unix_now();

}  // namespace portico::test
