// A self-signed ECDSA P-256 certificate for DTLS, and fingerprints (RFC 8122
// format, as carried by XEP-0320: "AB:CD:...").
#pragma once

#include <memory>
#include <string>

typedef struct x509_st X509;
typedef struct evp_pkey_st EVP_PKEY;

namespace tern::transport {

class Certificate {
public:
    /// Generates a fresh key and certificate (valid 30 days). Null on failure.
    static std::shared_ptr<Certificate> generate();
    ~Certificate();

    X509* x509() const { return x509_; }
    EVP_PKEY* key() const { return key_; }
    /// SHA-256 fingerprint, upper-case hex pairs joined by ':'.
    const std::string& fingerprint() const { return fingerprint_; }

private:
    Certificate() = default;
    X509* x509_ = nullptr;
    EVP_PKEY* key_ = nullptr;
    std::string fingerprint_;
};

/// Fingerprint of `cert` with hash algorithm `hash` ("sha-256", "sha-384",
/// "sha-512", "sha-1"); empty for an unknown algorithm.
std::string fingerprintOf(X509* cert, const std::string& hash);
/// Compares two fingerprints ignoring case and separators.
bool fingerprintsEqual(const std::string& a, const std::string& b);

}  // namespace tern::transport
