// RTP stream statistics.
// - ReceiveStatistics: RFC 3550 appendix A.3 (extended highest sequence number, cumulative and
//   fraction lost per reporting interval) and A.8 (interarrival jitter), producing the report
//   block of section 6.4.1, with LSR/DLSR from the last sender report received.
// - SenderStatistics: packet and octet counts and the NTP/RTP timestamp pair of a sender report
//   (section 6.4.1), given the wallclock as a parameter.
// - computeRttUs(): round-trip time from a report block (section 6.4.1, "A - LSR - DLSR").
// - BitrateEstimator: bytes over a sliding time window.
//
// Threading: plain objects with no locking; each instance is used by one thread at a time.
// No clock is read: every time-dependent call takes the current time in microseconds.
#pragma once

#include <tern/media/rtcp.hpp>
#include <tern/media/rtp_packet.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

namespace tern::media {

class ReceiveStatistics {
 public:
  /// `clockRate`: RTP timestamp rate of the stream (48000 Opus, 90000 VP8).
  explicit ReceiveStatistics(std::uint32_t clockRate) : clockRate_(clockRate) {}

  /// Records a received packet (duplicates included, as in A.3). `arrivalUs` is the local
  /// receive time on any monotonic clock.
  void onPacket(std::uint16_t seq, std::uint32_t rtpTimestamp, std::int64_t arrivalUs);

  /// Records a sender report from this source (for LSR/DLSR).
  void onSenderReport(std::uint64_t ntpTimestamp, std::int64_t arrivalUs);

  /// Builds a report block for `ssrc` and starts a new reporting interval (fraction lost is
  /// relative to the previous call).
  ReportBlock makeReportBlock(std::uint32_t ssrc, std::int64_t nowUs);

  bool hasPackets() const noexcept { return started_; }
  std::uint64_t packetsReceived() const noexcept { return received_; }
  /// Cycles << 16 | highest seq (A.3 extended_max).
  std::uint32_t extendedHighestSeq() const noexcept;
  /// expected - received, may be negative with duplicates (A.3).
  std::int64_t cumulativeLost() const noexcept;
  std::int64_t expected() const noexcept;
  /// A.8 estimate J, in timestamp units and milliseconds.
  double jitter() const noexcept { return jitter_; }
  double jitterMs() const noexcept { return jitter_ * 1000.0 / clockRate_; }

 private:
  std::uint32_t clockRate_;
  bool started_ = false;
  SeqUnwrapper unwrapper_;
  std::int64_t baseSeq_ = 0;
  std::int64_t maxSeq_ = 0;
  std::uint64_t received_ = 0;
  std::int64_t expectedPrior_ = 0;
  std::uint64_t receivedPrior_ = 0;
  bool hasTransit_ = false;
  double transit_ = 0;
  double jitter_ = 0;
  std::uint32_t lastSrMiddle_ = 0;
  std::int64_t lastSrArrivalUs_ = 0;
  bool hasSr_ = false;
};

class SenderStatistics {
 public:
  explicit SenderStatistics(std::uint32_t clockRate) : clockRate_(clockRate) {}

  /// Records a sent RTP packet: `payloadBytes` excludes header and padding (section 6.4.1
  /// sender's octet count). `nowUs` is the send time on the same clock as makeSenderReport().
  void onPacketSent(std::size_t payloadBytes, std::uint32_t rtpTimestamp, std::int64_t nowUs);

  /// A sender report: NTP time from `unixMicros` (wallclock), RTP timestamp extrapolated from
  /// the last packet to `nowUs`. Remembers the report for RTT computation.
  SenderReport makeSenderReport(std::uint32_t ssrc, std::int64_t nowUs, std::int64_t unixMicros);

  /// RTT from a report block about our stream, received at `unixMicros` (wallclock). Nullopt if
  /// the block carries no LSR, or an inconsistent one.
  std::optional<std::int64_t> rttFromReportBlock(const ReportBlock& block,
                                                 std::int64_t unixMicros) const;

  std::uint32_t packetCount() const noexcept { return packets_; }
  std::uint32_t octetCount() const noexcept { return octets_; }

 private:
  std::uint32_t clockRate_;
  std::uint32_t packets_ = 0;
  std::uint32_t octets_ = 0;
  bool hasPacket_ = false;
  std::uint32_t lastRtpTs_ = 0;
  std::int64_t lastSendUs_ = 0;
};

/// RFC 3550 6.4.1: RTT = A - LSR - DLSR, all in 1/65536 s (NTP middle 32 bits). Returns
/// microseconds, or nullopt when LSR is 0 (no SR received by the peer) or the result is negative.
std::optional<std::int64_t> computeRttUs(std::uint32_t lsr, std::uint32_t dlsr,
                                         std::uint32_t arrivalNtpMiddle) noexcept;

/// Bitrate over a sliding window.
class BitrateEstimator {
 public:
  explicit BitrateEstimator(std::int64_t windowUs = 1000000) : windowUs_(windowUs) {}
  void add(std::size_t bytes, std::int64_t nowUs);
  /// Bits per second over the last window (or since the first sample if that is shorter, but
  /// at least 100 ms so that a single packet does not read as a huge rate); 0 when empty.
  std::uint64_t bitsPerSecond(std::int64_t nowUs);

 private:
  void expire(std::int64_t nowUs);
  std::int64_t windowUs_;
  std::deque<std::pair<std::int64_t, std::size_t>> samples_;
  std::uint64_t bytes_ = 0;
  std::optional<std::int64_t> firstUs_;
};

}  // namespace tern::media
