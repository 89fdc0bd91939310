#include "gateway/token_verifier.hpp"

#include <jwt/jwt.hpp>
#include <nlohmann/json.hpp>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>

namespace portico {
namespace {

using nlohmann::json;

constexpr std::size_t min_secret_bytes = 32;  // RFC 7518 3.2: at least the hash's size
constexpr std::size_t max_key_file_bytes = 64 * 1024;

Error config_error(const std::string& key, const std::string& problem) {
    return Error{"invalid_config", "gateway.auth.jwt." + key + ": " + problem};
}

Error refused(std::string reason) { return Error{"unauthorized", std::move(reason)}; }

Expected<std::string> read_key_file(const std::string& path, const std::string& key) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return config_error(key, "cannot read \"" + path + "\"");
    std::string text;
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (text.size() > max_key_file_bytes) return config_error(key, "\"" + path + "\" is larger than 64 KiB: not a key");
    return text;
}

// The public key's type must fit the configured algorithm, so that a key
// meant for one is never used for another.
Expected<void> check_public_key(const std::string& pem, const std::string& algorithm, const std::string& path) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                                 &BIO_free);
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
        bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr, &EVP_PKEY_free);
    if (!key)
        return config_error("public_key_file", "\"" + path + "\" holds no PEM public key (\"-----BEGIN PUBLIC KEY-----\")");
    if (algorithm == "RS256") {
        if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA)
            return config_error("public_key_file", "RS256 needs an RSA public key; \"" + path + "\" holds another kind");
        if (EVP_PKEY_get_bits(key.get()) < 2048)
            return config_error("public_key_file", "the RSA key in \"" + path + "\" has " +
                                                       std::to_string(EVP_PKEY_get_bits(key.get())) +
                                                       " bits; RS256 needs at least 2048");
        return {};
    }
    char curve[64] = {};
    std::size_t length = 0;
    if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_EC ||
        EVP_PKEY_get_utf8_string_param(key.get(), "group", curve, sizeof curve, &length) != 1 ||
        std::string_view(curve, length) != "prime256v1")
        return config_error("public_key_file", "ES256 needs an EC public key on P-256; \"" + path + "\" holds another kind");
    return {};
}

// exp, nbf and iat are NumericDates: non-negative numbers of seconds.
bool is_numeric_date(const json& value) {
    return value.is_number_unsigned() || (value.is_number_float() && value.get<double>() >= 0 &&
                                          value.get<double>() < 1e15);
}

// The "alg" the token's header names, as sent (short and printable), for messages.
std::string header_algorithm(const jwt::jwt_object& token) {
    const json& header = token.header().create_json_obj();
    auto alg = header.find("alg");
    if (alg == header.end() || !alg->is_string()) return "?";
    std::string name = alg->get<std::string>().substr(0, 16);
    for (char& c : name)
        if (c < 0x20 || c > 0x7e || c == '"') c = '?';
    return name;
}

std::string describe(const std::error_code& ec, const jwt::jwt_object& token) {
    if (ec == jwt::VerificationErrc::TokenExpired) return "the token has expired";
    if (ec == jwt::VerificationErrc::ImmatureSignature) return "the token is not valid yet (nbf)";
    // cpp-jwt reports a failed ECDSA check as a verification error of the algorithm.
    if (ec == jwt::VerificationErrc::InvalidSignature || ec == jwt::AlgorithmErrc::VerificationErr)
        return "the token's signature does not verify";
    if (ec == jwt::VerificationErrc::InvalidAlgorithm || ec == jwt::AlgorithmErrc::NoneAlgorithmUsed)
        return "the token's algorithm \"" + header_algorithm(token) + "\" is not accepted";
    if (ec == jwt::VerificationErrc::TypeConversionError) return "a claim of the token has the wrong type";
    return "malformed token (" + ec.message() + ")";
}

bool audience_matches(const json& aud, const std::string& wanted) {
    if (aud.is_string()) return aud.get_ref<const std::string&>() == wanted;
    if (!aud.is_array()) return false;
    for (const auto& item : aud)
        if (item.is_string() && item.get_ref<const std::string&>() == wanted) return true;
    return false;
}

}  // namespace

bool VerifiedToken::has_scope(std::string_view scope) const {
    for (const auto& held : scopes)
        if (held == scope) return true;
    return false;
}

Expected<std::shared_ptr<const TokenVerifier>> TokenVerifier::load(const JwtConfig& config) {
    std::string key;
    if (!config.secret_file.empty()) {
        auto text = read_key_file(config.secret_file, "secret_file");
        if (!text) return text.error();
        key = std::move(*text);
        if (!key.empty() && key.back() == '\n') key.pop_back();  // as `echo` writes it
        if (key.size() < min_secret_bytes)
            return config_error("secret_file", "the secret in \"" + config.secret_file + "\" has " +
                                                   std::to_string(key.size()) + " bytes; HS256 needs at least " +
                                                   std::to_string(min_secret_bytes));
    } else {
        auto text = read_key_file(config.public_key_file, "public_key_file");
        if (!text) return text.error();
        key = std::move(*text);
        for (const auto& algorithm : config.algorithms) {
            auto checked = check_public_key(key, algorithm, config.public_key_file);
            if (!checked) return checked.error();
        }
    }
    return std::shared_ptr<const TokenVerifier>(new TokenVerifier(config, std::move(key)));
}

Expected<VerifiedToken> TokenVerifier::verify(std::string_view token) const {
    if (token.empty()) return refused("no token: send \"Authorization: Bearer TOKEN\" or ?access_token=TOKEN");
    if (token.size() > max_token_bytes)
        return refused("the token is longer than " + std::to_string(max_token_bytes) + " bytes");
    // A compact JWS is base64url and two dots, nothing else. Checked here
    // first: cpp-jwt's base64 decoder indexes its table with a signed char,
    // so a byte above 0x7f would read outside it (found by fuzz_token).
    std::size_t dots = 0;
    for (const char c : token) {
        const bool base64url = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                               c == '-' || c == '_';
        if (c == '.') ++dots;
        else if (!base64url) return refused("malformed token: only base64url characters and two dots may appear");
    }
    if (dots != 2) return refused("malformed token: a JWT has three parts separated by two dots");
    try {
        std::error_code ec;
        // The date claims' types first, unverified: cpp-jwt converts exp and
        // nbf to integers as it verifies, and a huge or negative number there
        // is undefined behaviour in that conversion (found by fuzz_token).
        const auto unverified = jwt::decode(token, jwt::params::algorithms(std::vector<std::string>(config_.algorithms)),
                                            ec, jwt::params::verify(false));
        if (ec) return refused("malformed token (" + ec.message() + ")");
        const json& raw_claims = unverified.payload().create_json_obj();
        if (!raw_claims.is_object()) return refused("the token's payload is not a JSON object");
        for (const char* date : {"exp", "nbf", "iat"})
            if (auto it = raw_claims.find(date); it != raw_claims.end() && !is_numeric_date(*it))
                return refused(std::string("claim \"") + date + "\" must be a number of seconds");
        auto decoded = jwt::decode(token, jwt::params::algorithms(std::vector<std::string>(config_.algorithms)), ec,
                                   jwt::params::secret(key_), jwt::params::verify(true),
                                   jwt::params::leeway(static_cast<std::uint32_t>(config_.leeway.count())));
        if (ec) return refused(describe(ec, decoded));
        // The same payload as above, whose object shape and dates are checked.
        const json& claims = decoded.payload().create_json_obj();
        if (!config_.issuer.empty()) {
            auto iss = claims.find("iss");
            if (iss == claims.end() || !iss->is_string() || iss->get_ref<const std::string&>() != config_.issuer)
                return refused("the token's issuer (iss) is not \"" + config_.issuer + "\"");
        }
        if (!config_.audience.empty()) {
            auto aud = claims.find("aud");
            if (aud == claims.end() || !audience_matches(*aud, config_.audience))
                return refused("the token's audience (aud) does not name \"" + config_.audience + "\"");
        }
        auto caller = std::make_shared<Caller>();
        if (auto sub = claims.find("sub"); sub != claims.end()) {
            if (!sub->is_string()) return refused("claim \"sub\" must be a string");
            caller->subject = sub->get<std::string>();
        }
        VerifiedToken verified;
        if (auto scope = claims.find("scope"); scope != claims.end()) {
            if (!scope->is_string()) return refused("claim \"scope\" must be a string of space-separated scopes");
            std::istringstream words(scope->get<std::string>());
            for (std::string word; words >> word;) verified.scopes.push_back(word);
        }
        if (auto exp = claims.find("exp"); exp != claims.end())
            // Clamped to the year 2255: the clock's nanoseconds end in 2262.
            verified.expires_at = std::chrono::system_clock::time_point(std::chrono::seconds(
                static_cast<std::int64_t>(std::min(exp->get<double>(), 9'000'000'000.0))));
        caller->claims_json = claims.dump(-1, ' ', false, json::error_handler_t::replace);
        verified.caller = std::move(caller);
        return verified;
    } catch (const std::exception&) {
        // cpp-jwt throws on some malformed input (a non-string "alg", bad base64).
        return refused("malformed token");
    }
}

Expected<void> TokenVerifierStore::load(const JwtConfig& config) {
    auto loaded = TokenVerifier::load(config);
    if (!loaded) return loaded.error();
    set(std::move(*loaded));
    return {};
}

void TokenVerifierStore::set(std::shared_ptr<const TokenVerifier> verifier) {
    std::lock_guard<std::mutex> lock(mutex_);
    current_ = std::move(verifier);
}

std::shared_ptr<const TokenVerifier> TokenVerifierStore::current() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return current_;
}

std::string find_bearer_token(std::string_view authorization, std::string_view target) {
    constexpr std::string_view scheme = "bearer ";
    if (authorization.size() > scheme.size()) {
        bool matches = true;
        for (std::size_t i = 0; i < scheme.size(); ++i)
            if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i]) matches = false;
        if (matches) {
            auto token = authorization.substr(scheme.size());
            while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
            while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
            return std::string(token);
        }
    }
    const auto query_start = target.find('?');
    if (query_start == std::string_view::npos) return {};
    auto query = target.substr(query_start + 1);
    query = query.substr(0, query.find('#'));
    while (!query.empty()) {
        const auto end = query.find('&');
        const auto pair = query.substr(0, end);
        constexpr std::string_view name = "access_token=";
        if (pair.substr(0, name.size()) == name) {
            // Tokens are base64url and dots; a client may still percent-encode them.
            std::string token;
            const auto value = pair.substr(name.size());
            for (std::size_t i = 0; i < value.size(); ++i) {
                auto hex = [](char c) -> int {
                    if (c >= '0' && c <= '9') return c - '0';
                    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
                    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
                    return -1;
                };
                if (value[i] == '%' && i + 2 < value.size() && hex(value[i + 1]) >= 0 && hex(value[i + 2]) >= 0) {
                    token.push_back(static_cast<char>(hex(value[i + 1]) * 16 + hex(value[i + 2])));
                    i += 2;
                } else {
                    token.push_back(value[i]);
                }
            }
            return token;
        }
        if (end == std::string_view::npos) break;
        query.remove_prefix(end + 1);
    }
    return {};
}

}  // namespace portico
