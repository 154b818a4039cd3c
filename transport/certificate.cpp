#include "tern/transport/certificate.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <cctype>

namespace tern::transport {

std::shared_ptr<Certificate> Certificate::generate() {
    std::shared_ptr<Certificate> cert(new Certificate());
    cert->key_ = EVP_EC_gen("P-256");
    if (!cert->key_) return nullptr;
    cert->x509_ = X509_new();
    if (!cert->x509_) return nullptr;
    unsigned char serial[8];
    RAND_bytes(serial, sizeof serial);
    BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert->x509_));
    BN_free(bn);
    X509_set_version(cert->x509_, 2);
    X509_gmtime_adj(X509_getm_notBefore(cert->x509_), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert->x509_), 30L * 24 * 3600);
    X509_NAME* name = X509_get_subject_name(cert->x509_);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("tern"), -1, -1, 0);
    X509_set_issuer_name(cert->x509_, name);
    X509_set_pubkey(cert->x509_, cert->key_);
    if (!X509_sign(cert->x509_, cert->key_, EVP_sha256())) return nullptr;
    cert->fingerprint_ = fingerprintOf(cert->x509_, "sha-256");
    return cert;
}

Certificate::~Certificate() {
    X509_free(x509_);
    EVP_PKEY_free(key_);
}

std::string fingerprintOf(X509* cert, const std::string& hash) {
    std::string name;  // RFC 8122 hash names are case-insensitive ("SHA-256")
    for (char c : hash) name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const EVP_MD* md = nullptr;
    if (name == "sha-256") md = EVP_sha256();
    else if (name == "sha-384") md = EVP_sha384();
    else if (name == "sha-512") md = EVP_sha512();
    else if (name == "sha-1") md = EVP_sha1();
    if (!md || !cert) return {};
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!X509_digest(cert, md, digest, &len)) return {};
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        if (i) out += ':';
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 15];
    }
    return out;
}

bool fingerprintsEqual(const std::string& a, const std::string& b) {
    auto norm = [](const std::string& s) {
        std::string out;
        for (char c : s)
            if (std::isxdigit(static_cast<unsigned char>(c))) out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return out;
    };
    auto na = norm(a);
    return !na.empty() && na == norm(b);
}

}  // namespace tern::transport
