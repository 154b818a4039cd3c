// DTLS 1.2 (OpenSSL) over an ICE component. The peer's certificate is checked
// against the fingerprint signalled in Jingle (XEP-0320); a missing or
// mismatching fingerprint fails the transport as a security failure.
//
// DTLS-SRTP (RFC 5764), when SRTP profiles are given: the use_srtp extension is
// offered (section 4.1.2; AEAD_AES_128_GCM of RFC 7714 first, then
// AES128_CM_HMAC_SHA1_80), and after the handshake the selected profile and the
// SRTP master keys and salts exported with "EXTRACTOR-dtls_srtp" (section 4.2) are
// available to the SRTP layer. Incoming datagrams are demultiplexed by their first
// byte (RFC 5764 section 5.1.2, RFC 7983): 20..63 is DTLS, 128..191 is
// SRTP/SRTCP and goes to the SRTP layer (buffered until it attaches); anything
// else is dropped and counted. Without SRTP profiles (data channels) only DTLS
// is accepted, as before.
//
// Threading: every method, and every callback, runs on the network thread.
#pragma once

#include "tern/transport/certificate.hpp"
#include "tern/transport/network_thread.hpp"
#include "tern/transport/transport.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct bio_st BIO;

namespace tern::transport {

/// SRTP protection profiles negotiated by use_srtp (RFC 5764 section 4.1.2;
/// RFC 7714 for AES-GCM).
enum class SrtpProfile {
    AeadAes128Gcm,   ///< SRTP_AEAD_AES_128_GCM: 128-bit key, 96-bit salt, 16-byte tag
    Aes128CmSha1_80  ///< SRTP_AES128_CM_HMAC_SHA1_80: 128-bit key, 112-bit salt, 80-bit tag
};

/// OpenSSL's name of the profile ("SRTP_AEAD_AES_128_GCM", "SRTP_AES128_CM_SHA1_80").
const char* toString(SrtpProfile profile);
/// Master key and master salt lengths in bytes (RFC 5764 section 4.2 SRTPSecurityParams).
std::size_t srtpMasterKeyLength(SrtpProfile profile);
std::size_t srtpMasterSaltLength(SrtpProfile profile);

/// The keying material of RFC 5764 section 4.2, split per direction. The
/// destructor wipes it.
struct SrtpKeyingMaterial {
    SrtpProfile profile = SrtpProfile::Aes128CmSha1_80;
    bool localIsClient = false;  ///< we were the DTLS client
    std::vector<std::uint8_t> clientWriteKey;
    std::vector<std::uint8_t> serverWriteKey;
    std::vector<std::uint8_t> clientWriteSalt;
    std::vector<std::uint8_t> serverWriteSalt;

    SrtpKeyingMaterial() = default;
    SrtpKeyingMaterial(const SrtpKeyingMaterial&) = default;
    SrtpKeyingMaterial& operator=(const SrtpKeyingMaterial&) = default;
    SrtpKeyingMaterial(SrtpKeyingMaterial&&) = default;
    SrtpKeyingMaterial& operator=(SrtpKeyingMaterial&&) = default;
    ~SrtpKeyingMaterial();

    /// key || salt (the layout libsrtp2 expects) of what we send: the client
    /// write pair when we are the client, else the server write pair.
    std::vector<std::uint8_t> localMasterKey() const;
    /// key || salt of what the peer sends.
    std::vector<std::uint8_t> remoteMasterKey() const;
};

class DtlsTransport final : public Transport {
public:
    enum class Role { Client, Server };  ///< client = setup "active"

    /// AES-GCM preferred, then AES-CM/HMAC-SHA1-80.
    static std::vector<SrtpProfile> defaultSrtpProfiles();

    /// Attaches to `lower` (receives from it, starts when it connects).
    /// `srtpProfiles`: empty for data channels (no use_srtp); else the profiles
    /// offered/accepted for DTLS-SRTP, most preferred first.
    DtlsTransport(NetworkThread& thread, Transport& lower, std::shared_ptr<Certificate> certificate, Role role,
                  std::vector<SrtpProfile> srtpProfiles = {});
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

    // --- DTLS-SRTP (RFC 5764) ---

    /// True when use_srtp is offered/accepted (SRTP profiles were given).
    bool srtpEnabled() const { return !srtpProfiles_.empty(); }
    /// The negotiated profile and exported keys; set when the transport turns
    /// Connected with a profile selected, empty otherwise (also when the peer
    /// did not agree on any profile).
    const std::optional<SrtpKeyingMaterial>& srtpKeyingMaterial() const { return srtpKeys_; }
    /// Receives SRTP/SRTCP datagrams (first byte 128..191) exactly as they came
    /// from the ICE component. Datagrams that arrive before a callback is set
    /// are buffered (bounded) and delivered when it is set.
    void onSrtpPacket(RecvCallback cb);
    /// A second state observer for the SRTP layer, so that SRTP and SCTP can
    /// share one DTLS association; called after the one set with onState().
    void onSrtpState(StateCallback cb) { srtpStateCb_ = std::move(cb); }
    /// Sends one protected SRTP/SRTCP packet on the ICE component, next to the
    /// DTLS records (RFC 5764 section 5.1.1). False unless Connected with keys
    /// exported, or when the first byte is not 128..191 (never DTLS-looking).
    bool sendSrtp(const std::uint8_t* data, std::size_t len);
    /// Datagrams dropped by the demultiplexer: first byte outside the DTLS and
    /// RTP ranges, short DTLS records, or RTP-range datagrams without SRTP.
    std::uint64_t droppedUnknown() const { return droppedUnknown_; }

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
    void setState(State state, const std::string& reason = {});
    void exportSrtpKeys();
    void incomingSrtp(const std::uint8_t* data, std::size_t len);

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
    std::vector<SrtpProfile> srtpProfiles_;
    std::optional<SrtpKeyingMaterial> srtpKeys_;
    RecvCallback srtpPacketCb_;
    StateCallback srtpStateCb_;
    std::deque<std::vector<std::uint8_t>> earlySrtp_;
    std::uint64_t droppedUnknown_ = 0;
    static constexpr std::size_t kMaxEarlySrtp = 512;
};

}  // namespace tern::transport
