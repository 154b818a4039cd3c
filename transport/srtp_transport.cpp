#include "tern/transport/srtp_transport.hpp"

#include "tern/transport/log.hpp"

#include <srtp2/srtp.h>

#include <cassert>
#include <cstring>
#include <limits>
#include <mutex>
#include <string>

namespace tern::transport {
namespace {

// libsrtp2 is initialised once per process and never shut down: srtp_shutdown()
// would pull the crypto kernel from under sessions other objects still hold.
bool ensureSrtpInitialised() {
  static std::once_flag once;
  static srtp_err_status_t status = srtp_err_status_fail;
  std::call_once(once, [] { status = srtp_init(); });
  return status == srtp_err_status_ok;
}

// Per-packet problems are logged on the 1st, 2nd, 4th, 8th... occurrence, with
// the running count, so that a flood of bad packets cannot flood the log.
void logCounted(Level level, std::uint64_t count, const std::string& what) {
  if (count == 0 || (count & (count - 1)) != 0) return;
  log(level, "srtp: " + what + " (" + std::to_string(count) + " so far)");
}

void wipe(std::vector<std::uint8_t>& v) {
  volatile std::uint8_t* p = v.data();
  for (std::size_t i = 0; i < v.size(); ++i) p[i] = 0;
}

// RFC 3550 section 5.1: a 12-byte fixed header, version 2.
constexpr std::size_t kRtpHeaderSize = 12;
// RFC 3550 section 6.4.1: V/P/RC, PT, length, SSRC.
constexpr std::size_t kRtcpHeaderSize = 8;
constexpr unsigned long kReplayWindow = 1024;

bool isVersion2(const std::uint8_t* data, std::size_t len) {
  return len > 0 && (data[0] >> 6) == 2;
}

const char* statusName(srtp_err_status_t status) {
  switch (status) {
    case srtp_err_status_ok: return "ok";
    case srtp_err_status_fail: return "fail";
    case srtp_err_status_bad_param: return "bad parameter";
    case srtp_err_status_alloc_fail: return "allocation failure";
    case srtp_err_status_init_fail: return "init failure";
    case srtp_err_status_auth_fail: return "authentication failure";
    case srtp_err_status_cipher_fail: return "cipher failure";
    case srtp_err_status_replay_fail: return "replay";
    case srtp_err_status_replay_old: return "replay (too old)";
    case srtp_err_status_no_ctx: return "no context";
    case srtp_err_status_parse_err: return "parse error";
    case srtp_err_status_key_expired: return "key expired";
    default: return "error";
  }
}

}  // namespace

bool isRtcpPacket(const std::uint8_t* data, std::size_t len) {
  if (len < 2) return false;
  const std::uint8_t pt = data[1] & 0x7f;
  return pt >= 64 && pt <= 95;
}

void SrtpTransport::SessionDeleter::operator()(srtp_ctx_t_* session) const {
  if (session) srtp_dealloc(session);
}

SrtpTransport::SrtpTransport(NetworkThread& thread, DtlsTransport& dtls)
    : thread_(thread),
      dtls_(dtls),
      sendBuffer_(kMaxPacketSize + SRTP_MAX_TRAILER_LEN + 4),
      recvBuffer_(2048) {
  assert(thread_.isCurrent());
  dtls_.onSrtpState([this](State state, const std::string& reason) { dtlsState(state, reason); });
  dtlsState(dtls_.state(), {});
  // Attached last: datagrams DTLS buffered so far arrive now (and are decrypted
  // at once when the keys are already installed).
  dtls_.onSrtpPacket([this](const std::uint8_t* data, std::size_t len) { incoming(data, len); });
}

SrtpTransport::~SrtpTransport() {
  assert(thread_.isCurrent());
  dtls_.onSrtpPacket(nullptr);
  dtls_.onSrtpState(nullptr);
}

void SrtpTransport::dtlsState(State state, const std::string& reason) {
  switch (state) {
    case State::New: break;
    case State::Connecting: changeState(State::Connecting); break;
    case State::Connected: installKeys(); break;
    case State::Failed: changeState(State::Failed, "DTLS failed: " + reason); break;
    case State::Closed: changeState(State::Closed, reason); break;
  }
}

void SrtpTransport::installKeys() {
  if (inbound_ || state() == State::Failed || state() == State::Closed) return;
  const auto& keys = dtls_.srtpKeyingMaterial();
  if (!keys) {
    changeState(State::Failed, "no SRTP profile was negotiated in DTLS");
    return;
  }
  if (!ensureSrtpInitialised()) {
    changeState(State::Failed, "libsrtp2 initialisation failed");
    return;
  }
  std::vector<std::uint8_t> local = keys->localMasterKey();
  std::vector<std::uint8_t> remote = keys->remoteMasterKey();

  srtp_policy_t policy;
  std::memset(&policy, 0, sizeof policy);
  if (keys->profile == SrtpProfile::AeadAes128Gcm) {
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
  } else {
    srtp_crypto_policy_set_rtp_default(&policy.rtp);    // AES_CM_128_HMAC_SHA1_80
    srtp_crypto_policy_set_rtcp_default(&policy.rtcp);  // AES_CM_128_HMAC_SHA1_80
  }
  policy.window_size = kReplayWindow;
  policy.next = nullptr;

  srtp_t out = nullptr;
  policy.ssrc.type = ssrc_any_outbound;
  policy.key = local.data();
  policy.allow_repeat_tx = 1;  // NACK retransmission of the same packet
  srtp_err_status_t status = srtp_create(&out, &policy);
  outbound_.reset(out);

  srtp_t in = nullptr;
  if (status == srtp_err_status_ok) {
    policy.ssrc.type = ssrc_any_inbound;
    policy.key = remote.data();
    policy.allow_repeat_tx = 0;
    status = srtp_create(&in, &policy);
    inbound_.reset(in);
  }
  wipe(local);
  wipe(remote);
  if (status != srtp_err_status_ok) {
    inbound_.reset();
    outbound_.reset();
    changeState(State::Failed, std::string("srtp_create failed: ") + statusName(status));
    return;
  }
  profile_ = keys->profile;
  logDebug(std::string("srtp: keys installed, ") + toString(keys->profile));
  changeState(State::Connected);

  // Datagrams that arrived before the keys.
  while (state() == State::Connected && !beforeKeys_.empty()) {
    auto packet = std::move(beforeKeys_.front());
    beforeKeys_.pop_front();
    unprotect(packet.data(), packet.size());
  }
}

std::optional<SrtpProfile> SrtpTransport::profile() const { return profile_; }

bool SrtpTransport::sendRtp(const std::uint8_t* data, std::size_t len) {
  assert(thread_.isCurrent());
  if (len < kRtpHeaderSize || !isVersion2(data, len) || isRtcpPacket(data, len)) {
    ++stats_.protectErrors;
    logCounted(Level::Warning, stats_.protectErrors, "refused to send a malformed RTP packet");
    return false;
  }
  return protectAndSend(data, len, false);
}

bool SrtpTransport::sendRtcp(const std::uint8_t* data, std::size_t len) {
  assert(thread_.isCurrent());
  if (len < kRtcpHeaderSize || !isVersion2(data, len) || !isRtcpPacket(data, len)) {
    ++stats_.protectErrors;
    logCounted(Level::Warning, stats_.protectErrors, "refused to send a malformed RTCP packet");
    return false;
  }
  return protectAndSend(data, len, true);
}

bool SrtpTransport::send(const std::uint8_t* data, std::size_t len) {
  return isRtcpPacket(data, len) ? sendRtcp(data, len) : sendRtp(data, len);
}

bool SrtpTransport::protectAndSend(const std::uint8_t* data, std::size_t len, bool rtcp) {
  if (state() != State::Connected || !outbound_) return false;
  if (len > kMaxPacketSize) {
    ++stats_.protectErrors;
    logCounted(Level::Warning, stats_.protectErrors, "refused to send an oversized packet");
    return false;
  }
  // The buffer has room for the SRTP/SRTCP trailer (tag, SRTCP index).
  std::memcpy(sendBuffer_.data(), data, len);
  int n = static_cast<int>(len);
  srtp_err_status_t status = rtcp ? srtp_protect_rtcp(outbound_.get(), sendBuffer_.data(), &n)
                                  : srtp_protect(outbound_.get(), sendBuffer_.data(), &n);
  if (status != srtp_err_status_ok) {
    ++stats_.protectErrors;
    logCounted(Level::Warning, stats_.protectErrors,
               std::string("protect failed: ") + statusName(status));
    return false;
  }
  ++stats_.packetsProtected;
  stats_.bytesProtected += len;
  if (lossProbability_ > 0) {
    // mt19937 output is fully specified, so the drop pattern is the same everywhere.
    const double draw = static_cast<double>(lossRng_()) / 4294967296.0;
    if (draw < lossProbability_) {
      ++stats_.droppedForTesting;
      return true;
    }
  }
  return dtls_.sendSrtp(sendBuffer_.data(), static_cast<std::size_t>(n));
}

void SrtpTransport::incoming(const std::uint8_t* data, std::size_t len) {
  switch (state()) {
    case State::Connected: unprotect(data, len); return;
    case State::New:
    case State::Connecting:
      // The peer finished its handshake first: keep the packet for the keys.
      if (beforeKeys_.size() < kMaxBuffered) {
        beforeKeys_.emplace_back(data, data + len);
      } else {
        ++stats_.droppedUnknown;
        logCounted(Level::Warning, stats_.droppedUnknown,
                   "dropped a packet received before the keys");
      }
      return;
    case State::Failed:
    case State::Closed: return;
  }
}

void SrtpTransport::unprotect(const std::uint8_t* data, std::size_t len) {
  // The smallest SRTP packet is an RTP header with an empty payload; DTLS has
  // already checked the first byte (version 2).
  if (len < kRtpHeaderSize || !isVersion2(data, len) ||
      len > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    ++stats_.droppedUnknown;
    logCounted(Level::Info, stats_.droppedUnknown, "dropped a datagram that is not SRTP/SRTCP");
    return;
  }
  const bool rtcp = isRtcpPacket(data, len);
  if (recvBuffer_.size() < len) recvBuffer_.resize(len);
  std::memcpy(recvBuffer_.data(), data, len);
  int n = static_cast<int>(len);
  srtp_err_status_t status = rtcp ? srtp_unprotect_rtcp(inbound_.get(), recvBuffer_.data(), &n)
                                  : srtp_unprotect(inbound_.get(), recvBuffer_.data(), &n);
  switch (status) {
    case srtp_err_status_ok: break;
    case srtp_err_status_auth_fail:
      ++stats_.authFailures;
      logCounted(Level::Warning, stats_.authFailures,
                 std::string(rtcp ? "SRTCP" : "SRTP") + " authentication failure, packet dropped");
      return;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
      ++stats_.replays;
      logCounted(Level::Info, stats_.replays,
                 std::string(rtcp ? "SRTCP" : "SRTP") + " replay dropped");
      return;
    default:
      ++stats_.unprotectErrors;
      logCounted(Level::Warning, stats_.unprotectErrors,
                 std::string(rtcp ? "SRTCP" : "SRTP") + " unprotect failed: " + statusName(status));
      return;
  }
  if (n < 0 || static_cast<std::size_t>(n) > len) {  // libsrtp2 only ever shrinks
    ++stats_.unprotectErrors;
    return;
  }
  ++stats_.packetsUnprotected;
  stats_.bytesUnprotected += static_cast<std::size_t>(n);
  deliverTo(rtcp ? rtcp_ : rtp_, recvBuffer_.data(), static_cast<std::size_t>(n));
}

void SrtpTransport::deliverTo(EarlyQueue& queue, const std::uint8_t* data, std::size_t len) {
  if (queue.cb) {
    queue.cb(data, len);
    return;
  }
  if (queue.packets.size() < kMaxBuffered) {
    queue.packets.emplace_back(data, data + len);
  } else {
    ++stats_.droppedUnknown;
    logCounted(Level::Warning, stats_.droppedUnknown,
               "dropped a decrypted packet nobody listens for");
  }
}

void SrtpTransport::attach(EarlyQueue& queue, RecvCallback cb) {
  queue.cb = std::move(cb);
  while (queue.cb && !queue.packets.empty()) {
    auto packet = std::move(queue.packets.front());
    queue.packets.pop_front();
    queue.cb(packet.data(), packet.size());
  }
}

void SrtpTransport::onRtp(RecvCallback cb) {
  assert(thread_.isCurrent());
  attach(rtp_, std::move(cb));
}

void SrtpTransport::onRtcp(RecvCallback cb) {
  assert(thread_.isCurrent());
  attach(rtcp_, std::move(cb));
}

void SrtpTransport::setSendLossForTesting(double probability, std::uint32_t seed) {
  assert(thread_.isCurrent());
  lossProbability_ = probability < 0 ? 0 : (probability > 1 ? 1 : probability);
  lossRng_.seed(seed);
}

}  // namespace tern::transport
