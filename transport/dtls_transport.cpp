#include "tern/transport/dtls_transport.hpp"

#include "tern/transport/log.hpp"

#include <algorithm>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/srtp.h>
#include <openssl/ssl.h>

#include <mutex>

namespace tern::transport {
namespace {

std::string opensslError() {
    unsigned long e = ERR_get_error();
    if (!e) return "unknown error";
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return buf;
}

int acceptAnyCertificate(int, X509_STORE_CTX*) {
    // Self-signed certificates are the norm here; what matters is the
    // fingerprint comparison in checkPeer().
    return 1;
}

// Demultiplexing by the first byte (RFC 5764 section 5.1.2, RFC 7983):
// 20..63 DTLS, 128..191 RTP/RTCP.
bool isDtlsRange(std::uint8_t b) { return b >= 20 && b <= 63; }
bool isSrtpRange(std::uint8_t b) { return b >= 128 && b <= 191; }
// A DTLS record header is 13 bytes (RFC 6347 section 4.1).
bool isDtls(const std::uint8_t* data, std::size_t len) { return len >= 13 && isDtlsRange(data[0]); }

// Smallest ciphertext a protected record (epoch > 0) can have with the negotiated AEAD cipher:
// AES-GCM carries an 8-byte explicit nonce and a 16-byte tag (RFC 5288 section 3), ChaCha20-Poly1305
// a 16-byte tag (RFC 7905 section 2). 0 when unknown (no check).
std::size_t minProtectedRecord(SSL* ssl) {
    const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
    if (!cipher) return 0;
    switch (SSL_CIPHER_get_cipher_nid(cipher)) {
    case NID_aes_128_gcm:
    case NID_aes_256_gcm: return 8 + 16;
    case NID_chacha20_poly1305: return 16;
    default: return 0;
    }
}

// True if every DTLS record of the datagram (RFC 6347 section 4.1: 13-byte header, then
// 'length' bytes) fits in it and no protected record is shorter than the cipher's overhead.
// OpenSSL 3.0 answers a too-short AEAD record with a fatal internal_error alert instead of
// discarding it (RFC 6347 section 4.1.2.7 says invalid records SHOULD be discarded silently), so
// one spoofed 14-byte datagram would end the association: such datagrams never reach it.
bool plausibleRecords(const std::uint8_t* data, std::size_t len, std::size_t minProtected) {
    while (len > 0) {
        if (len < 13) return false;
        const std::size_t epoch = static_cast<std::size_t>(data[3] << 8 | data[4]);
        const std::size_t length = static_cast<std::size_t>(data[11] << 8 | data[12]);
        if (length > len - 13) return false;
        if (epoch != 0 && length < minProtected) return false;
        data += 13 + length;
        len -= 13 + length;
    }
    return true;
}

// RFC 5764 section 4.2.
constexpr char kSrtpExporterLabel[] = "EXTRACTOR-dtls_srtp";

std::string srtpProfileList(const std::vector<SrtpProfile>& profiles) {
    std::string list;
    for (auto p : profiles) {
        if (!list.empty()) list += ':';
        list += toString(p);
    }
    return list;
}

void wipe(std::vector<std::uint8_t>& v) {
    if (!v.empty()) OPENSSL_cleanse(v.data(), v.size());
}

}  // namespace

const char* toString(SrtpProfile profile) {
    switch (profile) {
    case SrtpProfile::AeadAes128Gcm: return "SRTP_AEAD_AES_128_GCM";
    case SrtpProfile::Aes128CmSha1_80: return "SRTP_AES128_CM_SHA1_80";
    }
    return "?";
}

std::size_t srtpMasterKeyLength(SrtpProfile) { return 16; }  // both profiles: AES-128

std::size_t srtpMasterSaltLength(SrtpProfile profile) {
    // RFC 7714 (96-bit salt for AEAD) / RFC 5764 section 4.1.2 (112 bits).
    return profile == SrtpProfile::AeadAes128Gcm ? 12 : 14;
}

SrtpKeyingMaterial::~SrtpKeyingMaterial() {
    wipe(clientWriteKey);
    wipe(serverWriteKey);
    wipe(clientWriteSalt);
    wipe(serverWriteSalt);
}

std::vector<std::uint8_t> SrtpKeyingMaterial::localMasterKey() const {
    const auto& key = localIsClient ? clientWriteKey : serverWriteKey;
    const auto& salt = localIsClient ? clientWriteSalt : serverWriteSalt;
    std::vector<std::uint8_t> out(key);
    out.insert(out.end(), salt.begin(), salt.end());
    return out;
}

std::vector<std::uint8_t> SrtpKeyingMaterial::remoteMasterKey() const {
    const auto& key = localIsClient ? serverWriteKey : clientWriteKey;
    const auto& salt = localIsClient ? serverWriteSalt : clientWriteSalt;
    std::vector<std::uint8_t> out(key);
    out.insert(out.end(), salt.begin(), salt.end());
    return out;
}

std::vector<SrtpProfile> DtlsTransport::defaultSrtpProfiles() {
    return {SrtpProfile::AeadAes128Gcm, SrtpProfile::Aes128CmSha1_80};
}

DtlsTransport::DtlsTransport(NetworkThread& thread, Transport& lower, std::shared_ptr<Certificate> certificate, Role role,
                             std::vector<SrtpProfile> srtpProfiles)
    : thread_(thread),
      lower_(lower),
      certificate_(std::move(certificate)),
      role_(role),
      timer_(thread),
      srtpProfiles_(std::move(srtpProfiles)) {
    static BIO_METHOD* method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "tern-dtls-out");
        BIO_meth_set_write(m, &DtlsTransport::bioWrite);
        BIO_meth_set_ctrl(m, &DtlsTransport::bioCtrl);
        BIO_meth_set_create(m, [](BIO* b) {
            BIO_set_init(b, 1);
            return 1;
        });
        return m;
    }();

    readBuffer_.resize(1 << 16);
    ctx_ = SSL_CTX_new(DTLS_method());
    SSL_CTX_set_min_proto_version(ctx_, DTLS1_2_VERSION);
    SSL_CTX_set_cipher_list(ctx_, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                                  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:"
                                  "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305");
    SSL_CTX_set1_groups_list(ctx_, "X25519:P-256:P-384");
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, &acceptAnyCertificate);
    SSL_CTX_use_certificate(ctx_, certificate_->x509());
    SSL_CTX_use_PrivateKey(ctx_, certificate_->key());
    SSL_CTX_set_options(ctx_, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET);
    SSL_CTX_set_read_ahead(ctx_, 1);
    if (!srtpProfiles_.empty()) {
        // RFC 5764 section 4.1.1: offer (client) / select from (server) these profiles.
        // Note the inverted convention: 0 is success.
        if (SSL_CTX_set_tlsext_use_srtp(ctx_, srtpProfileList(srtpProfiles_).c_str()) != 0) {
            logWarning("dtls: cannot enable use_srtp: " + opensslError());
        }
    }

    ssl_ = SSL_new(ctx_);
    // Handshake retransmissions from 100 ms, doubling to at most 3 s, instead of OpenSSL's
    // 1 s start (RFC 6347 4.2.4.1 allows a smaller initial timer): a lost flight on a lossy
    // path would otherwise hold a call's media back by a second or more.
    DTLS_set_timer_cb(ssl_, [](SSL*, unsigned int previousUs) -> unsigned int {
        return previousUs == 0 ? 100000u : std::min(previousUs * 2, 3000000u);
    });
    SSL_set_mtu(ssl_, kMtu);
    DTLS_set_link_mtu(ssl_, kMtu);
    rbio_ = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(rbio_, -1);
    BIO* wbio = BIO_new(method);
    BIO_set_data(wbio, this);
    SSL_set_bio(ssl_, rbio_, wbio);
    if (role_ == Role::Client) SSL_set_connect_state(ssl_);
    else SSL_set_accept_state(ssl_);

    lower_.onState([this](State s, const std::string& reason) {
        if (s == State::Connected) start();
        else if (s == State::Failed) fail(reason, false);
        else if (s == State::Closed) setState(State::Closed, reason);
    });
    lower_.onRecv([this](const std::uint8_t* d, std::size_t l) { incoming(d, l); });
    if (lower_.state() == State::Connected) start();
}

DtlsTransport::~DtlsTransport() {
    timer_.cancel();
    lower_.onRecv(nullptr);
    lower_.onState(nullptr);
    if (ssl_) {
        if (handshakeDone_ && state() == State::Connected) SSL_shutdown(ssl_);  // close_notify, best effort
        SSL_free(ssl_);
    }
    SSL_CTX_free(ctx_);
}

void DtlsTransport::setState(State state, const std::string& reason) {
    State before = this->state();
    changeState(state, reason);
    if (this->state() != before && srtpStateCb_) srtpStateCb_(this->state(), reason);
}

void DtlsTransport::onSrtpPacket(RecvCallback cb) {
    srtpPacketCb_ = std::move(cb);
    while (srtpPacketCb_ && !earlySrtp_.empty()) {
        auto packet = std::move(earlySrtp_.front());
        earlySrtp_.pop_front();
        srtpPacketCb_(packet.data(), packet.size());
    }
}

void DtlsTransport::incomingSrtp(const std::uint8_t* data, std::size_t len) {
    if (srtpPacketCb_) {
        srtpPacketCb_(data, len);
        return;
    }
    if (earlySrtp_.size() < kMaxEarlySrtp) earlySrtp_.emplace_back(data, data + len);
    else ++droppedUnknown_;
}

bool DtlsTransport::sendSrtp(const std::uint8_t* data, std::size_t len) {
    if (state() != State::Connected || !srtpKeys_ || len == 0 || !isSrtpRange(data[0])) return false;
    return lower_.send(data, len);
}

void DtlsTransport::exportSrtpKeys() {
    if (srtpProfiles_.empty()) return;
    const SRTP_PROTECTION_PROFILE* selected = SSL_get_selected_srtp_profile(ssl_);
    if (!selected) {
        logWarning("dtls: peer did not negotiate use_srtp with any offered profile");
        return;
    }
    SrtpProfile profile;
    if (selected->id == SRTP_AEAD_AES_128_GCM) profile = SrtpProfile::AeadAes128Gcm;
    else if (selected->id == SRTP_AES128_CM_SHA1_80) profile = SrtpProfile::Aes128CmSha1_80;
    else {
        logWarning(std::string("dtls: unsupported SRTP profile ") + (selected->name ? selected->name : "?"));
        return;
    }
    const std::size_t keyLen = srtpMasterKeyLength(profile);
    const std::size_t saltLen = srtpMasterSaltLength(profile);
    std::vector<std::uint8_t> material(2 * (keyLen + saltLen));
    if (SSL_export_keying_material(ssl_, material.data(), material.size(), kSrtpExporterLabel,
                                   sizeof kSrtpExporterLabel - 1, nullptr, 0, 0) != 1) {
        logWarning("dtls: SRTP key export failed: " + opensslError());
        wipe(material);
        return;
    }
    // RFC 5764 section 4.2: client key, server key, client salt, server salt.
    SrtpKeyingMaterial keys;
    keys.profile = profile;
    keys.localIsClient = SSL_is_server(ssl_) == 0;
    auto at = material.begin();
    keys.clientWriteKey.assign(at, at + static_cast<std::ptrdiff_t>(keyLen));
    at += static_cast<std::ptrdiff_t>(keyLen);
    keys.serverWriteKey.assign(at, at + static_cast<std::ptrdiff_t>(keyLen));
    at += static_cast<std::ptrdiff_t>(keyLen);
    keys.clientWriteSalt.assign(at, at + static_cast<std::ptrdiff_t>(saltLen));
    at += static_cast<std::ptrdiff_t>(saltLen);
    keys.serverWriteSalt.assign(at, at + static_cast<std::ptrdiff_t>(saltLen));
    wipe(material);
    srtpKeys_ = std::move(keys);
    logDebug(std::string("dtls: SRTP profile ") + toString(profile));
}

int DtlsTransport::bioWrite(BIO* bio, const char* data, int len) {
    auto* self = static_cast<DtlsTransport*>(BIO_get_data(bio));
    if (len <= 0) return len;
    if (!self->handshakeDone_) logDebug("dtls: out " + std::to_string(len) + " bytes");
    // Each write is one datagram; a lost one is DTLS's (handshake) or SCTP's
    // (data) to retransmit, so report success either way.
    self->lower_.send(reinterpret_cast<const std::uint8_t*>(data), static_cast<std::size_t>(len));
    return len;
}

long DtlsTransport::bioCtrl(BIO*, int cmd, long, void*) {
    switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_DGRAM_QUERY_MTU: return static_cast<long>(kMtu);
    case BIO_CTRL_WPENDING:
    case BIO_CTRL_PENDING: return 0;
    default: return 0;
    }
}

void DtlsTransport::setRemoteFingerprint(const std::string& hash, const std::string& value) {
    logDebug("dtls: remote fingerprint " + hash + " " + value);
    remoteHash_ = hash;
    remoteFingerprint_ = value;
    if (handshakeDone_ && !peerVerified_) checkPeer();
}

void DtlsTransport::setRole(Role role) {
    if (started_ || role == role_) return;
    role_ = role;
    if (role_ == Role::Client) SSL_set_connect_state(ssl_);
    else SSL_set_accept_state(ssl_);
}

void DtlsTransport::start() {
    if (started_) return;
    started_ = true;
    setState(State::Connecting);
    handshake();
}

void DtlsTransport::fail(const std::string& reason, bool security) {
    if (state() == State::Failed || state() == State::Closed) return;
    securityFailure_ = security;
    timer_.cancel();
    logWarning("dtls: " + reason);
    setState(State::Failed, reason);
}

void DtlsTransport::handshake() {
    int ret = SSL_do_handshake(ssl_);
    int err = SSL_get_error(ssl_, ret);
    if (ret == 1) {
        logDebug("dtls: handshake done, fingerprint " + std::string(remoteFingerprint_.empty() ? "not yet known" : "known"));
        timer_.cancel();
        handshakeDone_ = true;
        checkPeer();
        return;
    }
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        armTimer();
        return;
    }
    fail("handshake failed: " + opensslError(), true);
}

void DtlsTransport::armTimer() {
    timeval tv{};
    if (DTLSv1_get_timeout(ssl_, &tv) != 1) return;
    auto ms = std::chrono::milliseconds(tv.tv_sec * 1000 + tv.tv_usec / 1000);
    timer_.start(ms, [this] {
        if (handshakeDone_) return false;
        if (DTLSv1_handle_timeout(ssl_) < 0) {
            fail("handshake timed out", false);
            return false;
        }
        armTimer();  // re-arms with the backed-off timeout
        return false;
    });
}

void DtlsTransport::checkPeer() {
    if (remoteFingerprint_.empty()) return;  // wait for signaling
    X509* peer = SSL_get1_peer_certificate(ssl_);
    if (!peer) {
        fail("peer sent no certificate", true);
        return;
    }
    std::string actual = fingerprintOf(peer, remoteHash_.empty() ? "sha-256" : remoteHash_);
    X509_free(peer);
    if (actual.empty()) {
        fail("unsupported fingerprint hash " + remoteHash_, true);
        return;
    }
    if (!fingerprintsEqual(actual, remoteFingerprint_)) {
        fail("peer certificate does not match the signalled fingerprint", true);
        return;
    }
    peerVerified_ = true;
    exportSrtpKeys();
    setState(State::Connected);
    readRecords();  // application data that arrived with the last flight
}

void DtlsTransport::incoming(const std::uint8_t* data, std::size_t len) {
    if (!handshakeDone_) logDebug("dtls: in " + std::to_string(len) + " bytes");
    if (state() == State::Failed || state() == State::Closed) return;
    if (len > 0 && isSrtpRange(data[0]) && !srtpProfiles_.empty()) {
        incomingSrtp(data, len);
        return;
    }
    if (!isDtls(data, len) || !plausibleRecords(data, len, minProtectedRecord(ssl_))) {
        ++droppedUnknown_;
        return;
    }
    if (!started_) start();
    BIO_write(rbio_, data, static_cast<int>(len));
    if (!handshakeDone_) {
        handshake();
        if (!handshakeDone_) return;
    }
    readRecords();
}

void DtlsTransport::readRecords() {
    if (!peerVerified_) return;  // nothing reaches upper layers before the peer is verified
    for (;;) {
        int n = SSL_read(ssl_, readBuffer_.data(), static_cast<int>(readBuffer_.size()));
        if (n > 0) {
            deliver(readBuffer_.data(), static_cast<std::size_t>(n));
            if (state() != State::Connected) return;
            continue;
        }
        int err = SSL_get_error(ssl_, n);
        if (err == SSL_ERROR_WANT_READ) return;
        if (err == SSL_ERROR_ZERO_RETURN) {
            setState(State::Closed, "peer closed DTLS");
            return;
        }
        // A corrupt or unauthenticated record is dropped by OpenSSL; anything else is fatal.
        // SSL_ERROR_SYSCALL included: with memory BIOs it means OpenSSL gave up on the
        // connection (after sending a fatal alert), and staying Connected would hide that.
        if (err == SSL_ERROR_SSL || err == SSL_ERROR_SYSCALL) {
            fail("record error: " + opensslError(), false);
            return;
        }
        return;
    }
}

bool DtlsTransport::send(const std::uint8_t* data, std::size_t len) {
    if (state() != State::Connected) return false;
    int n = SSL_write(ssl_, data, static_cast<int>(len));
    return n == static_cast<int>(len);
}

}  // namespace tern::transport
