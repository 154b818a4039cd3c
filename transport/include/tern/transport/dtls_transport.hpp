// DTLS 1.2 (OpenSSL) over an ICE component. The peer's certificate is checked
// against the fingerprint signalled in Jingle (XEP-0320); a missing or
// mismatching fingerprint fails the transport as a security failure.
#pragma once

#include "tern/transport/certificate.hpp"
#include "tern/transport/network_thread.hpp"
#include "tern/transport/transport.hpp"

#include <memory>
#include <string>
#include <vector>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct bio_st BIO;

namespace tern::transport {

class DtlsTransport final : public Transport {
public:
    enum class Role { Client, Server };  ///< client = setup "active"

    /// Attaches to `lower` (receives from it, starts when it connects).
    DtlsTransport(NetworkThread& thread, Transport& lower, std::shared_ptr<Certificate> certificate, Role role);
    ~DtlsTransport() override;

    /// The peer's fingerprint from signaling; may come before or after the handshake.
    void setRemoteFingerprint(const std::string& hash, const std::string& value);
    /// Application data: one DTLS record.
    bool send(const std::uint8_t* data, std::size_t len) override;
    /// True when the failure was a certificate/fingerprint problem.
    bool securityFailure() const { return securityFailure_; }
    Role role() const { return role_; }
    /// Changes the role before the handshake has started (the answer decides it).
    void setRole(Role role);

    /// Largest application payload per record (path MTU minus DTLS overhead).
    static constexpr std::size_t kMtu = 1200;

private:
    static int bioWrite(BIO* bio, const char* data, int len);
    static long bioCtrl(BIO* bio, int cmd, long num, void* ptr);
    void start();
    void incoming(const std::uint8_t* data, std::size_t len);
    void handshake();
    void readRecords();
    void armTimer();
    void checkPeer();
    void fail(const std::string& reason, bool security);

    NetworkThread& thread_;
    Transport& lower_;
    std::shared_ptr<Certificate> certificate_;
    Role role_;
    SSL_CTX* ctx_ = nullptr;
    SSL* ssl_ = nullptr;
    BIO* rbio_ = nullptr;  // owned by ssl_
    bool started_ = false;
    bool handshakeDone_ = false;
    bool peerVerified_ = false;
    bool securityFailure_ = false;
    std::string remoteHash_;
    std::string remoteFingerprint_;
    std::vector<std::uint8_t> readBuffer_;
    Timer timer_;
};

}  // namespace tern::transport
