#include "support/test_certificates.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>

#include <atomic>
#include <stdexcept>

namespace portico::test {
namespace {

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("test certificates: " + what); }

struct PkeyFree {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct X509Free {
    void operator()(X509* cert) const { X509_free(cert); }
};
struct BioFree {
    void operator()(BIO* bio) const { BIO_free(bio); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

PkeyPtr new_key() {
    PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) fail("cannot make a P-256 key");
    return key;
}

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(size));
}

std::string pem_of(X509* cert) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) fail("cannot write a certificate");
    return bio_text(bio.get());
}

std::string pem_of(EVP_PKEY* key) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
        fail("cannot write a key");
    return bio_text(bio.get());
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
    if (extension == nullptr) fail("bad extension " + value);
    X509_add_ext(cert, extension, -1);
    X509_EXTENSION_free(extension);
}

X509Ptr new_certificate(EVP_PKEY* subject_key, const std::string& common_name) {
    static std::atomic<long> serial{1};
    X509Ptr cert(X509_new());
    if (!cert) fail("cannot make a certificate");
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial.fetch_add(1));
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
    X509_set_pubkey(cert.get(), subject_key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                               -1, -1, 0);
    return cert;
}

bool is_ip_address(const std::string& text) {
    unsigned char buffer[16];
    return inet_pton(AF_INET, text.c_str(), buffer) == 1 || inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

}  // namespace

struct TestCa::Key {
    PkeyPtr key;
    X509Ptr certificate;
};

TestCa::TestCa(const std::string& name) : key_(std::make_unique<Key>()) {
    key_->key = new_key();
    key_->certificate = new_certificate(key_->key.get(), name);
    X509* cert = key_->certificate.get();
    X509_set_issuer_name(cert, X509_get_subject_name(cert));
    add_extension(cert, cert, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_extension(cert, cert, NID_subject_key_identifier, "hash");
    if (X509_sign(cert, key_->key.get(), EVP_sha256()) == 0) fail("cannot sign the CA");
    certificate_ = pem_of(cert);
}

TestCa::~TestCa() = default;

PemPair TestCa::issue(const std::string& common_name, const std::vector<std::string>& names) const {
    PkeyPtr key = new_key();
    X509Ptr cert = new_certificate(key.get(), common_name);
    X509* issuer = key_->certificate.get();
    X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer));
    std::string alt;
    for (const auto& entry : names) alt += (alt.empty() ? "" : ",") + std::string(is_ip_address(entry) ? "IP:" : "DNS:") + entry;
    if (!alt.empty()) add_extension(cert.get(), issuer, NID_subject_alt_name, alt);
    add_extension(cert.get(), issuer, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert.get(), issuer, NID_ext_key_usage, "serverAuth");
    add_extension(cert.get(), issuer, NID_authority_key_identifier, "keyid");
    if (X509_sign(cert.get(), key_->key.get(), EVP_sha256()) == 0) fail("cannot sign a certificate");
    return {pem_of(cert.get()), pem_of(key.get())};
}

}  // namespace portico::test
