#include "support/test_tokens.hpp"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <chrono>
#include <stdexcept>
#include <vector>

namespace portico::test {
namespace {

using Pkey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

[[noreturn]] void openssl_failed(const char* what) { throw std::runtime_error(std::string("openssl: ") + what); }

std::string hmac_sha256(const std::string& key, const std::string& data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
             data.size(), out, &length) == nullptr)
        openssl_failed("HMAC");
    return std::string(reinterpret_cast<char*>(out), length);
}

std::string public_pem(EVP_PKEY* key) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1) openssl_failed("PEM_write_bio_PUBKEY");
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(length));
}

std::string digest_sign(EVP_PKEY* key, const std::string& data) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    std::size_t length = 0;
    if (!context || EVP_DigestSignInit(context.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
        EVP_DigestSign(context.get(), nullptr, &length, reinterpret_cast<const unsigned char*>(data.data()),
                       data.size()) != 1)
        openssl_failed("EVP_DigestSign");
    std::string signature(length, '\0');
    if (EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1)
        openssl_failed("EVP_DigestSign");
    signature.resize(length);
    return signature;
}

// ECDSA signs in DER; JWS wants R and S as two 32-byte big-endian numbers.
std::string der_to_raw(const std::string& der) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(der.data());
    std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(d2i_ECDSA_SIG(nullptr, &bytes, static_cast<long>(der.size())),
                                                              &ECDSA_SIG_free);
    if (!sig) openssl_failed("d2i_ECDSA_SIG");
    const BIGNUM* r = nullptr;
    const BIGNUM* s = nullptr;
    ECDSA_SIG_get0(sig.get(), &r, &s);
    std::string raw(64, '\0');
    if (BN_bn2binpad(r, reinterpret_cast<unsigned char*>(raw.data()), 32) != 32 ||
        BN_bn2binpad(s, reinterpret_cast<unsigned char*>(raw.data()) + 32, 32) != 32)
        openssl_failed("BN_bn2binpad");
    return raw;
}

std::string signing_input(const std::string& algorithm, const nlohmann::json& claims) {
    return base64url(nlohmann::json{{"alg", algorithm}, {"typ", "JWT"}}.dump()) + "." + base64url(claims.dump());
}

}  // namespace

struct TokenSigner::Key {
    Pkey pkey{nullptr, &EVP_PKEY_free};
};

TokenSigner::~TokenSigner() = default;
TokenSigner::TokenSigner(TokenSigner&&) noexcept = default;
TokenSigner& TokenSigner::operator=(TokenSigner&&) noexcept = default;

TokenSigner TokenSigner::hs256(std::string secret) {
    TokenSigner signer;
    signer.algorithm_ = "HS256";
    signer.secret_ = secret;
    signer.verification_key_ = std::move(secret);
    return signer;
}

TokenSigner TokenSigner::rs256() {
    TokenSigner signer;
    signer.algorithm_ = "RS256";
    signer.key_ = std::make_unique<Key>();
    signer.key_->pkey.reset(EVP_RSA_gen(2048));
    if (!signer.key_->pkey) openssl_failed("EVP_RSA_gen");
    signer.verification_key_ = public_pem(signer.key_->pkey.get());
    return signer;
}

TokenSigner TokenSigner::es256() {
    TokenSigner signer;
    signer.algorithm_ = "ES256";
    signer.key_ = std::make_unique<Key>();
    signer.key_->pkey.reset(EVP_EC_gen("P-256"));
    if (!signer.key_->pkey) openssl_failed("EVP_EC_gen");
    signer.verification_key_ = public_pem(signer.key_->pkey.get());
    return signer;
}

std::string TokenSigner::sign(const nlohmann::json& claims) const {
    const std::string input = signing_input(algorithm_, claims);
    std::string signature;
    if (algorithm_ == "HS256") signature = hmac_sha256(secret_, input);
    else if (algorithm_ == "RS256") signature = digest_sign(key_->pkey.get(), input);
    else signature = der_to_raw(digest_sign(key_->pkey.get(), input));
    return input + "." + base64url(signature);
}

std::string base64url(const std::string& bytes) {
    std::vector<unsigned char> out(4 * ((bytes.size() + 2) / 3) + 1);
    const int length = EVP_EncodeBlock(out.data(), reinterpret_cast<const unsigned char*>(bytes.data()),
                                       static_cast<int>(bytes.size()));
    std::string text(reinterpret_cast<char*>(out.data()), static_cast<std::size_t>(length));
    while (!text.empty() && text.back() == '=') text.pop_back();
    for (char& c : text) {
        if (c == '+') c = '-';
        else if (c == '/') c = '_';
    }
    return text;
}

std::string unsigned_token(const nlohmann::json& claims) {
    return base64url(nlohmann::json{{"alg", "none"}, {"typ", "JWT"}}.dump()) + "." + base64url(claims.dump()) + ".";
}

std::string hs256_token_with_key(const std::string& key_bytes, const nlohmann::json& claims) {
    const std::string input = signing_input("HS256", claims);
    return input + "." + base64url(hmac_sha256(key_bytes, input));
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace portico::test
