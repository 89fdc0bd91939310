// The token check at the upgrade (gateway/token_verifier.hpp) on any input.
//
// Input: the first byte picks what the rest is.
//   even: a whole token as a client sends it (header.payload.signature);
//   odd:  a token payload: the target signs it with the gateway's own HS256
//         secret, so that what follows the signature check (the claim types,
//         exp/nbf, iss, aud, sub, scope) is reached by every input.
// Also: the input as an upgrade target and Authorization header, for
// find_bearer_token.
//
// Checks: verify() never throws and never crashes; a refusal is code
// "unauthorized" with a one-line, non-empty reason; an accepted token's
// claims are a JSON object whose "sub" is the caller's subject, and its
// scopes are the words of "scope".
#include "fuzz_support.hpp"
#include "gateway/token_verifier.hpp"

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string secret = "the fuzz target's secret, thirty-two bytes or more";
std::shared_ptr<const portico::TokenVerifier> verifier;
std::string key_dir;

void remove_key_dir() {
    std::error_code ec;
    fs::remove_all(key_dir, ec);
}

std::string base64url(const std::string& bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                       reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(length));
    while (!out.empty() && out.back() == '=') out.pop_back();
    for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
    return out;
}

std::string signed_token(const std::string& payload) {
    const std::string input = base64url(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url(payload);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(input.data()),
         input.size(), mac, &length);
    return input + "." + base64url(std::string(reinterpret_cast<char*>(mac), length));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    std::error_code ec;
    std::string pattern = (fs::temp_directory_path(ec) / "portico-fuzz-token-XXXXXX").string();
    if (ec || ::mkdtemp(pattern.data()) == nullptr) {
        std::fprintf(stderr, "fuzz_token: cannot make a temporary directory\n");
        std::abort();
    }
    key_dir = pattern;
    std::atexit(remove_key_dir);
    std::ofstream(fs::path(key_dir) / "secret") << secret;
    portico::JwtConfig config;
    config.algorithms = {"HS256"};
    config.secret_file = (fs::path(key_dir) / "secret").string();
    config.issuer = "https://issuer.fuzz";
    config.audience = "portico";
    auto loaded = portico::TokenVerifier::load(config);
    FUZZ_REQUIRE(loaded.has_value(), loaded.error().message);
    verifier = *loaded;
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string rest(portico::fuzz::as_text(data + 1, size - 1));
    const std::string token = (data[0] & 1) ? signed_token(rest) : rest;
    const auto verified = verifier->verify(token);
    if (!verified) {
        FUZZ_REQUIRE(verified.error().code == "unauthorized", verified.error().code);
        const std::string& reason = verified.error().message;
        FUZZ_REQUIRE(!reason.empty() && reason.find('\n') == std::string::npos, reason);
    } else {
        FUZZ_REQUIRE(verified->caller != nullptr, "no caller");
        const json claims = json::parse(verified->caller->claims_json, nullptr, false);
        FUZZ_REQUIRE(claims.is_object(), verified->caller->claims_json);
        FUZZ_REQUIRE(claims.value("iss", "") == "https://issuer.fuzz", verified->caller->claims_json);
        if (claims.contains("sub")) FUZZ_REQUIRE(claims["sub"] == verified->caller->subject, verified->caller->subject);
        for (const auto& scope : verified->scopes)
            FUZZ_REQUIRE(!scope.empty() && scope.find(' ') == std::string::npos, scope);
    }
    const std::string found = portico::find_bearer_token(rest, "/ws?" + rest);
    FUZZ_REQUIRE(found.size() <= rest.size() + 4, found);
    return 0;
}
