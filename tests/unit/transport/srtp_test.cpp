// DTLS-SRTP end to end without XMPP: two real stacks (libnice ICE on loopback,
// OpenSSL DTLS with use_srtp, libsrtp2), each on its own network thread, with
// candidates and fingerprints handed over directly. A tap between ICE and DTLS
// on each side sees the protected datagrams as they cross the wire and can
// inject copies (tampered, replayed, hostile) into the receive path.
#include "tern/transport/dtls_transport.hpp"
#include "tern/transport/ice_transport.hpp"
#include "tern/transport/network_thread.hpp"
#include "tern/transport/sctp_transport.hpp"
#include "tern/transport/srtp_transport.hpp"

#include "event_box.hpp"

#include <gtest/gtest.h>
#include <srtp2/srtp.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <ostream>
#include <random>
#include <set>

namespace tern::transport {
// Readable parameter values in test output.
void PrintTo(SrtpProfile profile, std::ostream* os) { *os << toString(profile); }
}  // namespace tern::transport

using namespace tern::transport;
using namespace std::chrono_literals;

namespace {

using Packet = std::vector<std::uint8_t>;
using State = Transport::State;

constexpr auto kConnectTimeout = 20s;
constexpr auto kPacketTimeout = 10s;

Packet makeRtp(std::uint16_t seq, std::uint32_t ssrc, std::size_t payload, std::uint8_t salt) {
  Packet p(12 + payload);
  p[0] = 0x80;
  p[1] = 111;  // Opus
  p[2] = static_cast<std::uint8_t>(seq >> 8);
  p[3] = static_cast<std::uint8_t>(seq);
  const std::uint32_t ts = 960u * seq;
  for (int i = 0; i < 4; ++i) {
    p[4 + i] = static_cast<std::uint8_t>(ts >> (24 - 8 * i));
    p[8 + i] = static_cast<std::uint8_t>(ssrc >> (24 - 8 * i));
  }
  for (std::size_t i = 0; i < payload; ++i)
    p[12 + i] = static_cast<std::uint8_t>(i * 7 + seq + salt);
  return p;
}

// RFC 3550 section 6.4.1 sender report without report blocks (28 bytes).
Packet makeSenderReport(std::uint32_t ssrc, std::uint32_t n) {
  Packet p(28, 0);
  p[0] = 0x80;
  p[1] = 200;
  p[3] = 6;  // length in 32-bit words minus one
  for (int i = 0; i < 4; ++i) {
    p[4 + i] = static_cast<std::uint8_t>(ssrc >> (24 - 8 * i));
    p[20 + i] = static_cast<std::uint8_t>(n >> (24 - 8 * i));  // packet count
  }
  return p;
}

std::uint16_t seqOf(const Packet& p) { return static_cast<std::uint16_t>(p[2] << 8 | p[3]); }

struct Events : test::EventBox {
  State srtpState = State::New;
  std::string srtpReason;
  bool dtlsConnected = false;
  bool dtlsFailed = false;
  bool sctpUp = false;
  std::vector<Packet> rtp;
  std::vector<Packet> rtcp;
  std::vector<Packet> wire;  // non-DTLS datagrams seen by the tap, after processing

  template <class Pred>
  bool waitFor(Pred pred, std::chrono::milliseconds timeout = kPacketTimeout) {
    return EventBox::waitFor(pred, timeout);
  }
};

// Sits between ICE and DTLS: forwards both ways, reports every datagram that is
// not DTLS after the layers above have processed it, and lets the test inject.
class Tap final : public Transport {
public:
  explicit Tap(Transport& lower) : lower_(lower) {
    lower_.onState([this](State s, const std::string& reason) { changeState(s, reason); });
    lower_.onRecv([this](const std::uint8_t* d, std::size_t l) {
      const bool dtls = l > 0 && d[0] >= 20 && d[0] <= 63;
      if (dtls && holdFromChangeCipherSpec_ && d[0] == 20) holding_ = true;
      if (dtls && holding_) {
        held_.emplace_back(d, d + l);
        return;
      }
      deliver(d, l);
      if (observer && l > 0 && !dtls) observer(d, l);
    });
  }
  ~Tap() override {
    lower_.onRecv(nullptr);
    lower_.onState(nullptr);
  }
  bool send(const std::uint8_t* data, std::size_t len) override { return lower_.send(data, len); }
  void inject(const Packet& p) { deliver(p.data(), p.size()); }
  // Withholds every DTLS datagram from the first ChangeCipherSpec on (the
  // server's final flight, as seen by the client) until release().
  void holdFinalFlight() { holdFromChangeCipherSpec_ = true; }
  std::size_t held() const { return held_.size(); }
  void release() {
    holdFromChangeCipherSpec_ = holding_ = false;
    auto packets = std::move(held_);
    for (const auto& p : packets) deliver(p.data(), p.size());
  }

  RecvCallback observer;

private:
  Transport& lower_;
  bool holdFromChangeCipherSpec_ = false;
  bool holding_ = false;
  std::vector<Packet> held_;
};

class Peer {
public:
  Peer(bool controlling, DtlsTransport::Role role, std::vector<SrtpProfile> profiles)
      : controlling_(controlling),
        role_(role),
        profiles_(std::move(profiles)),
        cert_(Certificate::generate()) {}
  ~Peer() {
    thread.invoke([this] {
      sctp_.reset();
      srtp_.reset();
      dtls_.reset();
      tap_.reset();
      ice_.reset();
    });
  }

  // ICE, tap and DTLS; the SRTP layer now or later (attachSrtp).
  void create(Peer& other, bool withSrtp = true, bool withSctp = false) {
    thread.invoke([&] {
      IceConfig config;
      config.controlling = controlling_;
      config.localAddresses = {"127.0.0.1"};
      IceTransport::Callbacks cb;
      cb.candidate = [&other](const IceCandidate& c) {
        other.thread.post([&other, c] { other.ice_->addRemoteCandidate(c); });
      };
      cb.gatheringDone = [&other] {
        other.thread.post([&other] { other.ice_->remoteGatheringDone(); });
      };
      ice_ = std::make_unique<IceTransport>(thread, config, cb);
      tap_ = std::make_unique<Tap>(*ice_);
      tap_->observer = [this](const std::uint8_t* d, std::size_t l) {
        events.update([&] { events.wire.emplace_back(d, d + l); });
      };
      dtls_ = std::make_unique<DtlsTransport>(thread, *tap_, cert_, role_, profiles_);
      dtls_->onState([this](State s, const std::string&) {
        events.update([&] {
          if (s == State::Connected) events.dtlsConnected = true;
          if (s == State::Failed) events.dtlsFailed = true;
        });
      });
      if (withSctp) {
        sctp_ = SctpTransport::create(thread, *dtls_, SctpConfig{}, SctpTransport::Callbacks{});
        sctp_->onState([this](State s, const std::string&) {
          if (s == State::Connected) events.update([&] { events.sctpUp = true; });
        });
      }
      if (withSrtp) attachSrtpOnThread(true);
    });
  }

  void attachSrtp(bool withCallbacks) {
    thread.invoke([&] { attachSrtpOnThread(withCallbacks); });
  }
  void attachCallbacks() {
    thread.invoke([&] { attachCallbacksOnThread(); });
  }

  void exchange(Peer& other, const std::string& fingerprintOverride = {}) {
    std::string ufrag, pwd, fp;
    other.thread.invoke([&] {
      ufrag = other.ice_->localUfrag();
      pwd = other.ice_->localPwd();
      fp = other.cert_->fingerprint();
    });
    thread.invoke([&] {
      ice_->setRemoteCredentials(ufrag, pwd);
      dtls_->setRemoteFingerprint("sha-256",
                                  fingerprintOverride.empty() ? fp : fingerprintOverride);
    });
  }
  void gather() {
    thread.invoke([&] { ice_->gather(); });
  }

  bool sendRtp(const Packet& p) {
    bool ok = false;
    thread.invoke([&] { ok = srtp_->sendRtp(p.data(), p.size()); });
    return ok;
  }
  bool sendRtcp(const Packet& p) {
    bool ok = false;
    thread.invoke([&] { ok = srtp_->sendRtcp(p.data(), p.size()); });
    return ok;
  }
  void inject(const Packet& p) {
    thread.invoke([&] { tap_->inject(p); });
  }
  void holdFinalFlight() {
    thread.invoke([&] { tap_->holdFinalFlight(); });
  }
  std::size_t releaseHeld() {
    std::size_t n = 0;
    thread.invoke([&] {
      n = tap_->held();
      tap_->release();
    });
    return n;
  }
  bool tapSend(const Packet& p) {
    bool ok = false;
    thread.invoke([&] { ok = tap_->send(p.data(), p.size()); });
    return ok;
  }
  SrtpTransport::Stats stats() {
    SrtpTransport::Stats s;
    thread.invoke([&] { s = srtp_->stats(); });
    return s;
  }
  std::optional<SrtpKeyingMaterial> keys() {
    std::optional<SrtpKeyingMaterial> k;
    thread.invoke([&] { k = dtls_->srtpKeyingMaterial(); });
    return k;
  }
  std::uint64_t dtlsDropped() {
    std::uint64_t n = 0;
    thread.invoke([&] { n = dtls_->droppedUnknown(); });
    return n;
  }
  std::optional<SrtpProfile> profile() {
    std::optional<SrtpProfile> p;
    thread.invoke([&] { p = srtp_->profile(); });
    return p;
  }
  void setLoss(double probability, std::uint32_t seed) {
    thread.invoke([&] { srtp_->setSendLossForTesting(probability, seed); });
  }
  State srtpState() {
    State s = State::New;
    thread.invoke([&] { s = srtp_->state(); });
    return s;
  }
  bool waitSrtpSettled() {
    return events.waitFor(
        [&] { return events.srtpState == State::Connected || events.srtpState == State::Failed; },
        kConnectTimeout);
  }
  std::size_t rtpCount() {
    return events.read([&] { return events.rtp.size(); });
  }
  std::size_t wireCount() {
    return events.read([&] { return events.wire.size(); });
  }

  Events events;
  NetworkThread thread;

private:
  void attachSrtpOnThread(bool withCallbacks) {
    srtp_ = std::make_unique<SrtpTransport>(thread, *dtls_);
    const State now = srtp_->state();
    events.update([&] { events.srtpState = now; });
    srtp_->onState([this](State s, const std::string& reason) {
      events.update([&] {
        events.srtpState = s;
        events.srtpReason = reason;
      });
    });
    if (withCallbacks) attachCallbacksOnThread();
  }
  void attachCallbacksOnThread() {
    srtp_->onRtp([this](const std::uint8_t* d, std::size_t l) {
      events.update([&] { events.rtp.emplace_back(d, d + l); });
    });
    srtp_->onRtcp([this](const std::uint8_t* d, std::size_t l) {
      events.update([&] { events.rtcp.emplace_back(d, d + l); });
    });
  }

  bool controlling_;
  DtlsTransport::Role role_;
  std::vector<SrtpProfile> profiles_;
  std::shared_ptr<Certificate> cert_;
  std::unique_ptr<IceTransport> ice_;
  std::unique_ptr<Tap> tap_;
  std::unique_ptr<DtlsTransport> dtls_;
  std::unique_ptr<SrtpTransport> srtp_;
  std::shared_ptr<SctpTransport> sctp_;
};

// a: ICE controlling, DTLS server; b: ICE controlled, DTLS client.
struct Pair {
  Peer a;
  Peer b;
  Pair(std::vector<SrtpProfile> pa, std::vector<SrtpProfile> pb)
      : a(true, DtlsTransport::Role::Server, std::move(pa)),
        b(false, DtlsTransport::Role::Client, std::move(pb)) {}

  void start(bool aSrtp = true, bool bSrtp = true, bool sctp = false) {
    a.create(b, aSrtp, sctp);
    b.create(a, bSrtp, sctp);
    a.exchange(b);
    b.exchange(a);
    a.gather();
    b.gather();
  }
  void connect() {
    start();
    ASSERT_TRUE(a.waitSrtpSettled()) << "SRTP not up on a";
    ASSERT_TRUE(b.waitSrtpSettled()) << "SRTP not up on b";
    ASSERT_EQ(a.srtpState(), State::Connected) << a.events.srtpReason;
    ASSERT_EQ(b.srtpState(), State::Connected) << b.events.srtpReason;
  }
};

std::string profileName(const testing::TestParamInfo<SrtpProfile>& info) {
  return info.param == SrtpProfile::AeadAes128Gcm ? "AeadAes128Gcm" : "Aes128CmSha1_80";
}

class SrtpProfileTest : public testing::TestWithParam<SrtpProfile> {};

}  // namespace

// --- sans-IO pieces ---

TEST(Srtp, RtcpMuxDemultiplexesByPayloadType) {
  // RFC 5761 section 4: second byte with the marker bit masked in 64..95 is RTCP.
  const std::uint8_t opus[] = {0x80, 111};
  const std::uint8_t vp8Marker[] = {0x80, 0x80 | 96};
  const std::uint8_t sr[] = {0x80, 200};
  const std::uint8_t lowest[] = {0x80, 192};   // 64 | marker
  const std::uint8_t highest[] = {0x80, 223};  // 95 | marker
  const std::uint8_t pt63marker[] = {0x80, 0x80 | 63};
  const std::uint8_t pt64[] = {0x80, 64};
  EXPECT_FALSE(isRtcpPacket(opus, sizeof opus));
  EXPECT_FALSE(isRtcpPacket(vp8Marker, sizeof vp8Marker));
  EXPECT_TRUE(isRtcpPacket(sr, sizeof sr));
  EXPECT_TRUE(isRtcpPacket(lowest, sizeof lowest));
  EXPECT_TRUE(isRtcpPacket(highest, sizeof highest));
  EXPECT_FALSE(isRtcpPacket(pt63marker, sizeof pt63marker));
  EXPECT_TRUE(isRtcpPacket(pt64, sizeof pt64));
  EXPECT_FALSE(isRtcpPacket(sr, 1));
  EXPECT_FALSE(isRtcpPacket(nullptr, 0));
}

TEST(Srtp, KeyingMaterialSplitsPerDirection) {
  // RFC 5764 section 4.2; the libsrtp2 master key is key || salt.
  SrtpKeyingMaterial k;
  k.profile = SrtpProfile::AeadAes128Gcm;
  k.clientWriteKey = Packet(16, 0xc1);
  k.serverWriteKey = Packet(16, 0x51);
  k.clientWriteSalt = Packet(12, 0xc5);
  k.serverWriteSalt = Packet(12, 0x55);
  Packet client(16, 0xc1), server(16, 0x51);
  client.insert(client.end(), 12, 0xc5);
  server.insert(server.end(), 12, 0x55);
  k.localIsClient = true;
  EXPECT_EQ(k.localMasterKey(), client);
  EXPECT_EQ(k.remoteMasterKey(), server);
  k.localIsClient = false;
  EXPECT_EQ(k.localMasterKey(), server);
  EXPECT_EQ(k.remoteMasterKey(), client);
  EXPECT_EQ(srtpMasterKeyLength(SrtpProfile::AeadAes128Gcm), 16u);
  EXPECT_EQ(srtpMasterSaltLength(SrtpProfile::AeadAes128Gcm), 12u);
  EXPECT_EQ(srtpMasterKeyLength(SrtpProfile::Aes128CmSha1_80), 16u);
  EXPECT_EQ(srtpMasterSaltLength(SrtpProfile::Aes128CmSha1_80), 14u);
  EXPECT_STREQ(toString(SrtpProfile::AeadAes128Gcm), "SRTP_AEAD_AES_128_GCM");
  EXPECT_STREQ(toString(SrtpProfile::Aes128CmSha1_80), "SRTP_AES128_CM_SHA1_80");
}

// --- per profile, over real ICE + DTLS + libsrtp2 ---

TEST_P(SrtpProfileTest, RtpAndRtcpArriveDecryptedBothWays) {
  Pair pair({GetParam()}, {GetParam()});
  pair.connect();
  if (HasFatalFailure()) return;
  EXPECT_EQ(pair.a.profile(), GetParam());
  EXPECT_EQ(pair.b.profile(), GetParam());

  std::vector<Packet> aRtp, bRtp, aRtcp, bRtcp;
  for (std::uint16_t i = 0; i < 40; ++i) {
    aRtp.push_back(makeRtp(static_cast<std::uint16_t>(1000 + i), 0xa1a1a1a1, 20 + i * 10, 1));
    bRtp.push_back(makeRtp(static_cast<std::uint16_t>(5000 + i), 0xb2b2b2b2, 20 + i * 10, 2));
  }
  for (std::uint32_t i = 0; i < 4; ++i) {
    aRtcp.push_back(makeSenderReport(0xa1a1a1a1, i));
    bRtcp.push_back(makeSenderReport(0xb2b2b2b2, 100 + i));
  }
  for (std::size_t i = 0; i < aRtp.size(); ++i) {
    ASSERT_TRUE(pair.a.sendRtp(aRtp[i]));
    ASSERT_TRUE(pair.b.sendRtp(bRtp[i]));
    if (i % 10 == 0) {
      ASSERT_TRUE(pair.a.sendRtcp(aRtcp[i / 10]));
      ASSERT_TRUE(pair.b.sendRtcp(bRtcp[i / 10]));
    }
  }
  for (Peer* p : {&pair.a, &pair.b}) {
    ASSERT_TRUE(p->events.waitFor([&] {
      return p->events.rtp.size() >= 40 && p->events.rtcp.size() >= 4;
    })) << "rtp "
        << p->rtpCount();
  }
  EXPECT_EQ(pair.b.events.read([&] { return pair.b.events.rtp; }), aRtp);
  EXPECT_EQ(pair.b.events.read([&] { return pair.b.events.rtcp; }), aRtcp);
  EXPECT_EQ(pair.a.events.read([&] { return pair.a.events.rtp; }), bRtp);
  EXPECT_EQ(pair.a.events.read([&] { return pair.a.events.rtcp; }), bRtcp);

  // On the wire: encrypted and longer by the tag (and SRTCP index), never the plaintext.
  const std::size_t tag = GetParam() == SrtpProfile::AeadAes128Gcm ? 16 : 10;
  auto wire = pair.b.events.read([&] { return pair.b.events.wire; });
  ASSERT_GE(wire.size(), 44u);
  std::size_t rtpSeen = 0;
  for (const auto& w : wire) {
    if (isRtcpPacket(w.data(), w.size())) continue;
    const Packet& plain = aRtp[rtpSeen++];
    ASSERT_EQ(w.size(), plain.size() + tag);
    EXPECT_TRUE(std::equal(w.begin(), w.begin() + 12, plain.begin()));  // header in clear
    EXPECT_FALSE(std::equal(plain.begin() + 12, plain.end(), w.begin() + 12));
  }

  auto sa = pair.a.stats();
  auto sb = pair.b.stats();
  EXPECT_EQ(sa.packetsProtected, 44u);
  EXPECT_EQ(sa.packetsUnprotected, 44u);
  EXPECT_EQ(sb.packetsUnprotected, 44u);
  std::size_t bytes = 0;
  for (const auto& p : aRtp) bytes += p.size();
  for (const auto& p : aRtcp) bytes += p.size();
  EXPECT_EQ(sa.bytesProtected, bytes);
  EXPECT_EQ(sb.bytesUnprotected, bytes);
  EXPECT_EQ(sb.authFailures + sb.replays + sb.droppedUnknown + sb.unprotectErrors, 0u);
}

TEST_P(SrtpProfileTest, BothSidesExportTheSameKeys) {
  Pair pair({GetParam()}, {GetParam()});
  pair.connect();
  if (HasFatalFailure()) return;
  auto ka = pair.a.keys();
  auto kb = pair.b.keys();
  ASSERT_TRUE(ka && kb);
  EXPECT_EQ(ka->profile, GetParam());
  EXPECT_EQ(kb->profile, GetParam());
  EXPECT_FALSE(ka->localIsClient);  // a is the DTLS server
  EXPECT_TRUE(kb->localIsClient);
  EXPECT_EQ(ka->clientWriteKey, kb->clientWriteKey);
  EXPECT_EQ(ka->serverWriteKey, kb->serverWriteKey);
  EXPECT_EQ(ka->clientWriteSalt, kb->clientWriteSalt);
  EXPECT_EQ(ka->serverWriteSalt, kb->serverWriteSalt);
  EXPECT_EQ(ka->localMasterKey(), kb->remoteMasterKey());
  EXPECT_EQ(kb->localMasterKey(), ka->remoteMasterKey());
  EXPECT_NE(ka->localMasterKey(), ka->remoteMasterKey());
  EXPECT_EQ(ka->clientWriteKey.size(), srtpMasterKeyLength(GetParam()));
  EXPECT_EQ(ka->clientWriteSalt.size(), srtpMasterSaltLength(GetParam()));
  EXPECT_EQ(ka->localMasterKey().size(),
            srtpMasterKeyLength(GetParam()) + srtpMasterSaltLength(GetParam()));
  // The exported keys are the ones in use: b decrypts what a protected.
  auto p = makeRtp(1, 0x01020304, 100, 9);
  ASSERT_TRUE(pair.a.sendRtp(p));
  ASSERT_TRUE(pair.b.events.waitFor([&] { return !pair.b.events.rtp.empty(); }));
  EXPECT_EQ(pair.b.events.read([&] { return pair.b.events.rtp.front(); }), p);

  // RFC 5764 section 4.2, checked with libsrtp2 directly: what the client (b)
  // sends opens with client_write_SRTP_master_key/salt, and not with the server's.
  auto q = makeRtp(2, 0x0a0a0a0a, 80, 4);
  ASSERT_TRUE(pair.b.sendRtp(q));
  ASSERT_TRUE(pair.a.events.waitFor([&] { return !pair.a.events.wire.empty(); }));
  const Packet wire = pair.a.events.read([&] { return pair.a.events.wire.front(); });
  auto openWith = [&](const Packet& key, const Packet& salt) -> std::optional<Packet> {
    Packet master(key);
    master.insert(master.end(), salt.begin(), salt.end());
    srtp_policy_t policy;
    std::memset(&policy, 0, sizeof policy);
    if (GetParam() == SrtpProfile::AeadAes128Gcm) {
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
    } else {
      srtp_crypto_policy_set_rtp_default(&policy.rtp);
      srtp_crypto_policy_set_rtcp_default(&policy.rtcp);
    }
    policy.ssrc.type = ssrc_any_inbound;
    policy.key = master.data();
    srtp_t session = nullptr;
    // libsrtp2 is already initialised by SrtpTransport (a second srtp_init() fails).
    if (srtp_create(&session, &policy) != srtp_err_status_ok) return {};
    Packet buf(wire);
    int len = static_cast<int>(buf.size());
    const bool ok = srtp_unprotect(session, buf.data(), &len) == srtp_err_status_ok;
    srtp_dealloc(session);
    if (!ok) return {};
    buf.resize(static_cast<std::size_t>(len));
    return buf;
  };
  EXPECT_EQ(openWith(kb->clientWriteKey, kb->clientWriteSalt), q);
  EXPECT_FALSE(openWith(kb->serverWriteKey, kb->serverWriteSalt));
}

TEST_P(SrtpProfileTest, TamperedPacketsFailAuthentication) {
  Pair pair({GetParam()}, {GetParam()});
  pair.connect();
  if (HasFatalFailure()) return;
  auto rtp = makeRtp(10, 0x0a0b0c0d, 160, 3);
  auto rtcp = makeSenderReport(0x0a0b0c0d, 1);
  ASSERT_TRUE(pair.a.sendRtp(rtp));
  ASSERT_TRUE(pair.a.sendRtcp(rtcp));
  ASSERT_TRUE(pair.b.events.waitFor([&] { return pair.b.events.wire.size() >= 2; }));
  auto wire = pair.b.events.read([&] { return pair.b.events.wire; });
  ASSERT_EQ(pair.b.rtpCount(), 1u);

  // The same packets with one ciphertext byte flipped, and with a later
  // sequence number / SRTCP index so that the replay check does not decide.
  for (auto w : wire) {
    const bool isRtcp = isRtcpPacket(w.data(), w.size());
    if (isRtcp) {
      // RFC 3711 section 3.4: ... | E+index | tag(10); RFC 7714: ... | tag(16) | E+index.
      const bool gcm = GetParam() == SrtpProfile::AeadAes128Gcm;
      const std::size_t indexEnd = gcm ? w.size() : w.size() - 10;
      w[indexEnd - 1] = static_cast<std::uint8_t>(w[indexEnd - 1] + 1);  // SRTCP index 2
      w[indexEnd - 4 - (gcm ? 16 : 0) - 1] ^= 0x40;                      // last payload byte
    } else {
      w[3] = static_cast<std::uint8_t>(w[3] + 1);  // seq 11: authenticated header changed
      w[40] ^= 0x01;                               // and a ciphertext byte
    }
    pair.b.inject(w);
  }
  auto flipOnly = wire[0];
  if (isRtcpPacket(flipOnly.data(), flipOnly.size())) flipOnly = wire[1];
  flipOnly[3] = static_cast<std::uint8_t>(flipOnly[3] + 2);  // seq 12, only the header
  pair.b.inject(flipOnly);

  auto s = pair.b.stats();
  EXPECT_EQ(s.authFailures, 3u);
  EXPECT_EQ(s.replays, 0u);
  EXPECT_EQ(s.packetsUnprotected, 2u);
  EXPECT_EQ(pair.b.rtpCount(), 1u);
  EXPECT_EQ(pair.b.events.read([&] { return pair.b.events.rtcp.size(); }), 1u);
  // The session survives: the next genuine packet is accepted.
  auto next = makeRtp(11, 0x0a0b0c0d, 160, 4);
  ASSERT_TRUE(pair.a.sendRtp(next));
  ASSERT_TRUE(pair.b.events.waitFor([&] { return pair.b.events.rtp.size() >= 2; }));
  EXPECT_EQ(pair.b.events.read([&] { return pair.b.events.rtp.back(); }), next);
  EXPECT_EQ(pair.b.srtpState(), State::Connected);
}

TEST_P(SrtpProfileTest, ReplayedPacketsAreRejected) {
  Pair pair({GetParam()}, {GetParam()});
  pair.connect();
  if (HasFatalFailure()) return;
  // allow_repeat_tx: the sender may send the same packet again (NACK
  // retransmission); the receiver accepts it once.
  auto p = makeRtp(7, 0x11223344, 120, 5);
  ASSERT_TRUE(pair.a.sendRtp(p));
  ASSERT_TRUE(pair.a.sendRtp(p));
  ASSERT_TRUE(pair.b.events.waitFor([&] { return pair.b.events.wire.size() >= 2; }));
  auto wire = pair.b.events.read([&] { return pair.b.events.wire; });
  EXPECT_EQ(wire[0], wire[1]);  // same index, same keys: same bytes
  auto s = pair.b.stats();
  EXPECT_EQ(s.replays, 1u);
  EXPECT_EQ(s.packetsUnprotected, 1u);
  EXPECT_EQ(pair.b.rtpCount(), 1u);

  // Captured SRTCP replayed by an attacker.
  ASSERT_TRUE(pair.a.sendRtcp(makeSenderReport(0x11223344, 1)));
  ASSERT_TRUE(pair.b.events.waitFor([&] { return pair.b.events.wire.size() >= 3; }));
  auto srtcp = pair.b.events.read([&] { return pair.b.events.wire[2]; });
  ASSERT_TRUE(isRtcpPacket(srtcp.data(), srtcp.size()));
  pair.b.inject(srtcp);
  pair.b.inject(wire[0]);
  s = pair.b.stats();
  EXPECT_EQ(s.replays, 3u);
  EXPECT_EQ(s.authFailures, 0u);
  EXPECT_EQ(s.packetsUnprotected, 2u);
  EXPECT_EQ(pair.b.rtpCount(), 1u);
  EXPECT_EQ(pair.b.events.read([&] { return pair.b.events.rtcp.size(); }), 1u);
}

TEST_P(SrtpProfileTest, PacketsBeforeTheSrtpLayerAttachesAreDeliveredLater) {
  Pair pair({GetParam()}, {GetParam()});
  pair.start(true, false);  // b: DTLS with use_srtp, no SRTP layer yet
  ASSERT_TRUE(pair.a.waitSrtpSettled());
  ASSERT_EQ(pair.a.srtpState(), State::Connected) << pair.a.events.srtpReason;
  ASSERT_TRUE(pair.b.events.waitFor([&] { return pair.b.events.dtlsConnected; }, kConnectTimeout));

  std::vector<Packet> rtp;
  for (std::uint16_t i = 0; i < 3; ++i) rtp.push_back(makeRtp(i, 0x55667788, 50, 6));
  auto rtcp = makeSenderReport(0x55667788, 3);
  for (const auto& p : rtp) ASSERT_TRUE(pair.a.sendRtp(p));
  ASSERT_TRUE(pair.a.sendRtcp(rtcp));
  // They have reached b's DTLS demultiplexer, with nobody above it.
  ASSERT_TRUE(pair.b.events.waitFor([&] { return pair.b.events.wire.size() >= 4; }));

  // The SRTP layer attaches (keys installed at once) but nobody listens yet.
  pair.b.attachSrtp(false);
  EXPECT_EQ(pair.b.srtpState(), State::Connected);
  EXPECT_EQ(pair.b.stats().packetsUnprotected, 4u);
  EXPECT_EQ(pair.b.rtpCount(), 0u);
  pair.b.attachCallbacks();
  EXPECT_EQ(pair.b.events.read([&] { return pair.b.events.rtp; }), rtp);
  ASSERT_EQ(pair.b.events.read([&] { return pair.b.events.rtcp.size(); }), 1u);
  EXPECT_EQ(pair.b.events.read([&] { return pair.b.events.rtcp.front(); }), rtcp);

  // And packets that come later flow straight through.
  auto later = makeRtp(3, 0x55667788, 50, 6);
  ASSERT_TRUE(pair.a.sendRtp(later));
  ASSERT_TRUE(pair.b.events.waitFor([&] { return pair.b.events.rtp.size() >= 4; }));
  EXPECT_EQ(pair.b.events.read([&] { return pair.b.events.rtp.back(); }), later);
}

TEST_P(SrtpProfileTest, PacketsBeforeOurHandshakeCompletesAreKept) {
  // The DTLS server finishes first; its SRTP can reach the client before the
  // client has the server's Finished (here: withheld until the packets are in).
  Pair pair({GetParam()}, {GetParam()});
  pair.a.create(pair.b);
  pair.b.create(pair.a);
  pair.b.holdFinalFlight();
  pair.a.exchange(pair.b);
  pair.b.exchange(pair.a);
  pair.a.gather();
  pair.b.gather();
  ASSERT_TRUE(pair.a.waitSrtpSettled());
  ASSERT_EQ(pair.a.srtpState(), State::Connected) << pair.a.events.srtpReason;

  std::vector<Packet> rtp{makeRtp(1, 0x1234, 60, 1), makeRtp(2, 0x1234, 60, 1)};
  for (const auto& p : rtp) ASSERT_TRUE(pair.a.sendRtp(p));
  ASSERT_TRUE(pair.b.events.waitFor([&] { return pair.b.events.wire.size() >= 2; }));
  EXPECT_EQ(pair.b.srtpState(), State::Connecting);
  EXPECT_EQ(pair.b.stats().packetsUnprotected, 0u);
  EXPECT_EQ(pair.b.rtpCount(), 0u);

  EXPECT_GE(pair.b.releaseHeld(), 1u);
  ASSERT_TRUE(pair.b.waitSrtpSettled());
  ASSERT_EQ(pair.b.srtpState(), State::Connected) << pair.b.events.srtpReason;
  ASSERT_TRUE(pair.b.events.waitFor([&] { return pair.b.events.rtp.size() >= 2; }));
  EXPECT_EQ(pair.b.events.read([&] { return pair.b.events.rtp; }), rtp);
}

INSTANTIATE_TEST_SUITE_P(Profiles, SrtpProfileTest,
                         testing::Values(SrtpProfile::AeadAes128Gcm, SrtpProfile::Aes128CmSha1_80),
                         profileName);

// --- negotiation, failure, coexistence, hostile input, loss hook ---

TEST(SrtpChain, DefaultProfilesPreferAesGcm) {
  Pair pair(DtlsTransport::defaultSrtpProfiles(), DtlsTransport::defaultSrtpProfiles());
  pair.connect();
  if (HasFatalFailure()) return;
  EXPECT_EQ(pair.a.profile(), SrtpProfile::AeadAes128Gcm);
  EXPECT_EQ(pair.b.profile(), SrtpProfile::AeadAes128Gcm);
}

TEST(SrtpChain, FallsBackToTheCommonProfile) {
  Pair pair(DtlsTransport::defaultSrtpProfiles(), {SrtpProfile::Aes128CmSha1_80});
  pair.connect();
  if (HasFatalFailure()) return;
  EXPECT_EQ(pair.a.profile(), SrtpProfile::Aes128CmSha1_80);
  EXPECT_EQ(pair.b.profile(), SrtpProfile::Aes128CmSha1_80);
}

TEST(SrtpChain, NoCommonProfileFailsTheSrtpLayerOnly) {
  Pair pair({SrtpProfile::AeadAes128Gcm}, {SrtpProfile::Aes128CmSha1_80});
  pair.start();
  ASSERT_TRUE(pair.a.waitSrtpSettled());
  ASSERT_TRUE(pair.b.waitSrtpSettled());
  EXPECT_EQ(pair.a.srtpState(), State::Failed);
  EXPECT_EQ(pair.b.srtpState(), State::Failed);
  EXPECT_NE(pair.a.events.read([&] { return pair.a.events.srtpReason; }).find("no SRTP profile"),
            std::string::npos);
  EXPECT_TRUE(pair.a.events.read([&] { return pair.a.events.dtlsConnected; }));
  EXPECT_FALSE(pair.a.keys());
  EXPECT_FALSE(pair.a.sendRtp(makeRtp(1, 1, 10, 0)));
}

TEST(SrtpChain, PeerWithoutUseSrtpFailsTheSrtpLayer) {
  Pair pair(DtlsTransport::defaultSrtpProfiles(), {});
  pair.start(true, false);
  ASSERT_TRUE(pair.a.waitSrtpSettled());
  EXPECT_EQ(pair.a.srtpState(), State::Failed);
  EXPECT_TRUE(pair.b.events.waitFor([&] { return pair.b.events.dtlsConnected; }, kConnectTimeout));
}

TEST(SrtpChain, DtlsSecurityFailureFailsSrtp) {
  Pair pair(DtlsTransport::defaultSrtpProfiles(), DtlsTransport::defaultSrtpProfiles());
  pair.a.create(pair.b);
  pair.b.create(pair.a);
  pair.a.exchange(pair.b);
  pair.b.exchange(pair.a, Certificate::generate()->fingerprint());  // not a's certificate
  pair.a.gather();
  pair.b.gather();
  ASSERT_TRUE(pair.b.waitSrtpSettled());
  EXPECT_EQ(pair.b.srtpState(), State::Failed);
  EXPECT_NE(pair.b.events.read([&] { return pair.b.events.srtpReason; }).find("DTLS"),
            std::string::npos);
  EXPECT_FALSE(pair.b.sendRtp(makeRtp(1, 1, 10, 0)));
}

TEST(SrtpChain, DataChannelAndSrtpShareOneDtlsAssociation) {
  Pair pair(DtlsTransport::defaultSrtpProfiles(), DtlsTransport::defaultSrtpProfiles());
  pair.start(true, true, true);
  ASSERT_TRUE(pair.a.waitSrtpSettled());
  ASSERT_TRUE(pair.b.waitSrtpSettled());
  ASSERT_EQ(pair.a.srtpState(), State::Connected);
  ASSERT_TRUE(pair.a.events.waitFor([&] { return pair.a.events.sctpUp; }, kConnectTimeout));
  ASSERT_TRUE(pair.b.events.waitFor([&] { return pair.b.events.sctpUp; }, kConnectTimeout));
  auto p = makeRtp(1, 0x99, 64, 1);
  ASSERT_TRUE(pair.b.sendRtp(p));
  ASSERT_TRUE(pair.a.events.waitFor([&] { return !pair.a.events.rtp.empty(); }));
  EXPECT_EQ(pair.a.events.read([&] { return pair.a.events.rtp.front(); }), p);
}

TEST(SrtpChain, DataChannelDtlsDropsNonDtlsDatagrams) {
  Pair pair({}, {});
  pair.start(false, false);
  ASSERT_TRUE(pair.a.events.waitFor([&] { return pair.a.events.dtlsConnected; }, kConnectTimeout));
  ASSERT_TRUE(pair.b.events.waitFor([&] { return pair.b.events.dtlsConnected; }, kConnectTimeout));
  const std::uint64_t before = pair.b.dtlsDropped();
  ASSERT_TRUE(pair.a.tapSend(makeRtp(1, 2, 40, 0)));  // RTP-looking, but no SRTP here
  ASSERT_TRUE(pair.a.tapSend(Packet(30, 0x05)));      // outside every range
  ASSERT_TRUE(pair.b.events.waitFor([&] { return pair.b.events.wire.size() >= 2; }));
  EXPECT_EQ(pair.b.dtlsDropped(), before + 2);
  bool connected = false;
  pair.b.thread.invoke([&] { connected = pair.b.events.dtlsConnected; });
  EXPECT_TRUE(connected);
  EXPECT_FALSE(pair.b.events.read([&] { return pair.b.events.dtlsFailed; }));
}

TEST(SrtpChain, HostileDatagramsAreCountedNeverDelivered) {
  Pair pair(DtlsTransport::defaultSrtpProfiles(), DtlsTransport::defaultSrtpProfiles());
  pair.connect();
  if (HasFatalFailure()) return;
  const std::uint64_t dtlsBefore = pair.b.dtlsDropped();
  std::mt19937 rng(99);
  const int kCount = 300;
  for (int i = 0; i < kCount; ++i) {
    Packet p(rng() % 200);
    for (auto& b : p) b = static_cast<std::uint8_t>(rng());
    if (!p.empty()) p[0] = static_cast<std::uint8_t>(128 + rng() % 64);  // SRTP range
    pair.b.inject(p);
  }
  pair.b.inject(Packet(40, 0x07));  // first byte in no range: DTLS drops it
  auto s = pair.b.stats();
  EXPECT_EQ(s.packetsUnprotected, 0u);
  EXPECT_EQ(pair.b.rtpCount(), 0u);
  EXPECT_EQ(pair.b.events.read([&] { return pair.b.events.rtcp.size(); }), 0u);
  // Every one of them is accounted for (the empty ones by DTLS).
  EXPECT_EQ(s.authFailures + s.replays + s.droppedUnknown + s.unprotectErrors +
                (pair.b.dtlsDropped() - dtlsBefore),
            static_cast<std::uint64_t>(kCount) + 1);
  EXPECT_GT(s.droppedUnknown, 0u);  // shorter than an RTP header
  EXPECT_EQ(pair.b.srtpState(), State::Connected);
  auto p = makeRtp(1, 3, 30, 1);
  ASSERT_TRUE(pair.a.sendRtp(p));
  ASSERT_TRUE(pair.b.events.waitFor([&] { return !pair.b.events.rtp.empty(); }));
  EXPECT_EQ(pair.b.events.read([&] { return pair.b.events.rtp.front(); }), p);
}

TEST(SrtpChain, SendRefusesMalformedPackets) {
  Pair pair(DtlsTransport::defaultSrtpProfiles(), DtlsTransport::defaultSrtpProfiles());
  pair.connect();
  if (HasFatalFailure()) return;
  EXPECT_FALSE(pair.a.sendRtp(Packet(8, 0x80)));         // shorter than a header
  EXPECT_FALSE(pair.a.sendRtp(makeSenderReport(1, 1)));  // RTCP through sendRtp
  EXPECT_FALSE(pair.a.sendRtcp(makeRtp(1, 1, 10, 0)));   // RTP through sendRtcp
  EXPECT_FALSE(pair.a.sendRtp(makeRtp(1, 1, SrtpTransport::kMaxPacketSize, 0)));  // too large
  auto v1 = makeRtp(1, 1, 10, 0);
  v1[0] = 0x40;  // version 1
  EXPECT_FALSE(pair.a.sendRtp(v1));
  EXPECT_EQ(pair.a.stats().protectErrors, 5u);
  EXPECT_EQ(pair.a.stats().packetsProtected, 0u);
}

// Sends `count` RTP packets from a to b in batches, waiting for each batch to
// be received (loopback loses nothing by itself), and returns, per packet
// index, whether it arrived.
std::vector<bool> sendThroughLoss(Pair& pair, std::uint16_t firstSeq, int count) {
  const std::size_t base = pair.b.rtpCount();
  const auto s0 = pair.a.stats();
  for (int i = 0; i < count; ++i) {
    EXPECT_TRUE(pair.a.sendRtp(makeRtp(static_cast<std::uint16_t>(firstSeq + i), 0x10055, 100, 0)));
    if (i % 100 == 99 || i == count - 1) {
      const auto s = pair.a.stats();
      const std::size_t delivered =
          (s.packetsProtected - s0.packetsProtected) - (s.droppedForTesting - s0.droppedForTesting);
      EXPECT_TRUE(pair.b.events.waitFor([&] {
        return pair.b.events.rtp.size() - base >= delivered;
      })) << "received "
          << pair.b.rtpCount() - base << " of " << delivered;
    }
  }
  std::vector<bool> arrived(static_cast<std::size_t>(count), false);
  auto rtp = pair.b.events.read([&] { return pair.b.events.rtp; });
  for (std::size_t i = base; i < rtp.size(); ++i) {
    const std::size_t index = static_cast<std::uint16_t>(seqOf(rtp[i]) - firstSeq);
    if (index < arrived.size()) arrived[index] = true;
  }
  return arrived;
}

TEST(SrtpChain, LossHookDropsTheAskedFractionDeterministically) {
  Pair pair(DtlsTransport::defaultSrtpProfiles(), DtlsTransport::defaultSrtpProfiles());
  pair.connect();
  if (HasFatalFailure()) return;
  const int kPackets = 2000;

  pair.a.setLoss(0.10, 1234);
  auto first = sendThroughLoss(pair, 0, kPackets);
  const auto s1 = pair.a.stats();
  const auto lost1 = static_cast<std::uint64_t>(std::count(first.begin(), first.end(), false));
  // Binomial(2000, 0.1): mean 200, standard deviation 13.4.
  EXPECT_GE(s1.droppedForTesting, 140u);
  EXPECT_LE(s1.droppedForTesting, 260u);
  EXPECT_EQ(lost1, s1.droppedForTesting);  // dropped below SRTP, exactly those missing
  EXPECT_EQ(s1.packetsProtected, static_cast<std::uint64_t>(kPackets));
  EXPECT_EQ(pair.b.stats().packetsUnprotected, kPackets - s1.droppedForTesting);
  EXPECT_EQ(pair.b.stats().replays + pair.b.stats().authFailures, 0u);

  // The same seed drops the same packets of the same sequence.
  pair.a.setLoss(0.10, 1234);
  auto second = sendThroughLoss(pair, 10000, kPackets);
  EXPECT_EQ(first, second);
  // Another seed drops others.
  pair.a.setLoss(0.10, 4321);
  auto third = sendThroughLoss(pair, 20000, kPackets);
  EXPECT_NE(first, third);
  // Off again: nothing is dropped.
  const auto before = pair.a.stats().droppedForTesting;
  pair.a.setLoss(0, 0);
  auto fourth = sendThroughLoss(pair, 30000, 200);
  EXPECT_EQ(std::count(fourth.begin(), fourth.end(), false), 0);
  EXPECT_EQ(pair.a.stats().droppedForTesting, before);
}
