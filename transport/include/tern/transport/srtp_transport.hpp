// SRTP/SRTCP (RFC 3711) keyed by DTLS-SRTP (RFC 5764) with libsrtp2, over a
// DtlsTransport that negotiated use_srtp.
//
// - Keys: the master key and salt exported by the DTLS handshake (RFC 5764
//   section 4.2); we protect with the client write pair when we were the DTLS
//   client and with the server write pair otherwise, and unprotect with the
//   other pair. AEAD_AES_128_GCM (RFC 7714) or AES_CM_128_HMAC_SHA1_80
//   (RFC 3711 section 5) for both RTP and RTCP, as the DTLS profile says.
// - One inbound session (ssrc_any_inbound) and one outbound session
//   (ssrc_any_outbound). Replay protection (RFC 3711 section 3.3.2) with a
//   1024-packet window; allow_repeat_tx lets a packet be sent again with the
//   same sequence number (NACK retransmission without RTX).
// - rtcp-mux (RFC 5761 section 4): one ICE component carries RTP and RTCP; a
//   received packet whose second byte, marker bit masked, is 64..95 is RTCP.
// - Packets are sent on the ICE component below DTLS (RFC 5764 section 5.1.1)
//   and received from DTLS's demultiplexer (RFC 7983: 128..191).
// - State through the Transport interface: Connecting while DTLS runs,
//   Connected once the keys are installed, Failed when DTLS fails or when no
//   SRTP profile was negotiated, Closed when DTLS closes.
// - Per-packet errors (authentication, replay, malformed) are counted and
//   logged rate-limited; they never change the state.
//
// Threading: construct, use and destroy on the network thread that owns the
// DtlsTransport; every callback (onRtp, onRtcp, onState) runs on that thread.
#pragma once

#include "tern/transport/dtls_transport.hpp"
#include "tern/transport/network_thread.hpp"
#include "tern/transport/transport.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <vector>

struct srtp_ctx_t_;

namespace tern::transport {

/// RFC 5761 section 4: true when `data` is an RTCP packet (payload type field,
/// marker bit masked, in 64..95). False for anything shorter than 2 bytes.
bool isRtcpPacket(const std::uint8_t* data, std::size_t len);

class SrtpTransport final : public Transport {
public:
  struct Stats {
    std::uint64_t packetsProtected = 0;    ///< RTP + RTCP handed to ICE (incl. test-dropped)
    std::uint64_t bytesProtected = 0;      ///< plaintext bytes of those packets
    std::uint64_t packetsUnprotected = 0;  ///< RTP + RTCP decrypted and delivered
    std::uint64_t bytesUnprotected = 0;    ///< plaintext bytes of those packets
    std::uint64_t authFailures = 0;        ///< srtp_err_status_auth_fail
    std::uint64_t replays = 0;             ///< srtp_err_status_replay_fail / replay_old
    std::uint64_t droppedUnknown = 0;      ///< not RTP/RTCP, too short, or early buffer full
    std::uint64_t protectErrors = 0;       ///< sends refused by libsrtp2
    std::uint64_t unprotectErrors = 0;     ///< other libsrtp2 receive errors
    std::uint64_t droppedForTesting = 0;   ///< dropped by setSendLossForTesting()
  };

  /// Largest RTP/RTCP packet (plaintext) that can be sent.
  static constexpr std::size_t kMaxPacketSize = 4096;

  /// Attaches to `dtls` (its SRTP demultiplexer output and SRTP state hook).
  /// `dtls` must have been created with SRTP profiles and must outlive this.
  SrtpTransport(NetworkThread& thread, DtlsTransport& dtls);
  ~SrtpTransport() override;
  SrtpTransport(const SrtpTransport&) = delete;
  SrtpTransport& operator=(const SrtpTransport&) = delete;

  /// Protects and sends one RTP packet. False when not Connected, malformed,
  /// too large, refused by libsrtp2 or by the ICE component.
  bool sendRtp(const std::uint8_t* data, std::size_t len);
  /// Protects and sends one (compound) RTCP packet; false as for sendRtp().
  bool sendRtcp(const std::uint8_t* data, std::size_t len);
  /// Transport::send: sendRtcp() or sendRtp() by the RFC 5761 test.
  bool send(const std::uint8_t* data, std::size_t len) override;

  /// Decrypted RTP packets. Packets decrypted before a callback is set are
  /// buffered (bounded) and delivered when it is set. Transport::onRecv() is
  /// not used by this layer.
  void onRtp(RecvCallback cb);
  /// Decrypted RTCP packets, buffered like onRtp().
  void onRtcp(RecvCallback cb);

  /// The negotiated profile, once Connected.
  std::optional<SrtpProfile> profile() const;
  const Stats& stats() const { return stats_; }

  /// TEST HOOK (fault injection, like libnice's instrument-send): drops
  /// `probability` (0..1) of the protected packets just before they reach the
  /// ICE component, as a lossy network would; sendRtp()/sendRtcp() still return
  /// true for them. Deterministic for a given `seed` and packet sequence.
  /// 0 turns it off. Not for production use.
  void setSendLossForTesting(double probability, std::uint32_t seed);

private:
  struct SessionDeleter {
    void operator()(srtp_ctx_t_* session) const;
  };
  using Session = std::unique_ptr<srtp_ctx_t_, SessionDeleter>;
  struct EarlyQueue {
    RecvCallback cb;
    std::deque<std::vector<std::uint8_t>> packets;
  };

  void dtlsState(State state, const std::string& reason);
  void installKeys();
  void incoming(const std::uint8_t* data, std::size_t len);
  void unprotect(const std::uint8_t* data, std::size_t len);
  bool protectAndSend(const std::uint8_t* data, std::size_t len, bool rtcp);
  void deliverTo(EarlyQueue& queue, const std::uint8_t* data, std::size_t len);
  static void attach(EarlyQueue& queue, RecvCallback cb);

  static constexpr std::size_t kMaxBuffered = 512;

  NetworkThread& thread_;
  DtlsTransport& dtls_;
  Session inbound_;
  Session outbound_;
  std::optional<SrtpProfile> profile_;
  std::vector<std::uint8_t> sendBuffer_;
  std::vector<std::uint8_t> recvBuffer_;
  std::deque<std::vector<std::uint8_t>> beforeKeys_;  // SRTP received before the keys
  EarlyQueue rtp_;
  EarlyQueue rtcp_;
  Stats stats_;
  double lossProbability_ = 0;
  std::mt19937 lossRng_;
};

}  // namespace tern::transport
