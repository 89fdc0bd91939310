#pragma once
// Certificates made at test time with OpenSSL (never committed keys): a CA of
// the test's own and server certificates it signs, all with P-256 keys, as
// PEM text to write where a config points.
#include <memory>
#include <string>
#include <vector>

namespace portico::test {

struct PemPair {
    std::string certificate;
    std::string private_key;
};

class TestCa {
public:
    explicit TestCa(const std::string& name = "portico test CA");
    ~TestCa();
    TestCa(const TestCa&) = delete;
    TestCa& operator=(const TestCa&) = delete;

    const std::string& certificate() const noexcept { return certificate_; }
    // A server certificate for `names` (DNS names, or IP addresses), valid
    // from a minute ago for a day.
    PemPair issue(const std::string& common_name,
                  const std::vector<std::string>& names = {"localhost", "127.0.0.1"}) const;

private:
    struct Key;
    std::unique_ptr<Key> key_;
    std::string certificate_;
};

}  // namespace portico::test
