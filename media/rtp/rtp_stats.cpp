// RTP receive/send statistics (RFC 3550 appendix A.3, A.8, section 6.4.1). See rtp_stats.hpp.
#include <tern/media/rtp_stats.hpp>

#include <algorithm>
#include <cmath>

namespace tern::media {

void ReceiveStatistics::onPacket(std::uint16_t seq, std::uint32_t rtpTimestamp,
                                 std::int64_t arrivalUs) {
  const std::int64_t ext = unwrapper_.unwrap(seq);
  if (!started_) {
    started_ = true;
    baseSeq_ = ext;
    maxSeq_ = ext;
  }
  baseSeq_ = std::min(baseSeq_, ext);
  maxSeq_ = std::max(maxSeq_, ext);
  ++received_;
  // A.8: transit in timestamp units; J += (|D| - J) / 16.
  const double arrival = static_cast<double>(arrivalUs) * clockRate_ / 1e6;
  const double transit = arrival - static_cast<double>(rtpTimestamp);
  if (hasTransit_) {
    double d = transit - transit_;
    // Timestamps are 32-bit: fold a wrapped difference back.
    if (d > 2147483648.0) d -= 4294967296.0;
    if (d < -2147483648.0) d += 4294967296.0;
    jitter_ += (std::fabs(d) - jitter_) / 16.0;
  }
  transit_ = transit;
  hasTransit_ = true;
}

void ReceiveStatistics::onSenderReport(std::uint64_t ntpTimestamp, std::int64_t arrivalUs) {
  lastSrMiddle_ = ntpMiddle32(ntpTimestamp);
  lastSrArrivalUs_ = arrivalUs;
  hasSr_ = true;
}

std::uint32_t ReceiveStatistics::extendedHighestSeq() const noexcept {
  // The unwrapper starts at the first sequence number, so maxSeq_ already carries the cycles.
  return static_cast<std::uint32_t>(maxSeq_);
}

std::int64_t ReceiveStatistics::expected() const noexcept {
  return started_ ? maxSeq_ - baseSeq_ + 1 : 0;
}

std::int64_t ReceiveStatistics::cumulativeLost() const noexcept {
  return expected() - static_cast<std::int64_t>(received_);
}

ReportBlock ReceiveStatistics::makeReportBlock(std::uint32_t ssrc, std::int64_t nowUs) {
  ReportBlock b;
  b.ssrc = ssrc;
  const std::int64_t exp = expected();
  const std::int64_t expInterval = exp - expectedPrior_;
  const std::int64_t recvInterval = static_cast<std::int64_t>(received_ - receivedPrior_);
  const std::int64_t lostInterval = expInterval - recvInterval;
  expectedPrior_ = exp;
  receivedPrior_ = received_;
  b.fractionLost = (expInterval <= 0 || lostInterval <= 0)
                       ? 0
                       : static_cast<std::uint8_t>(std::min<std::int64_t>(
                             255, (lostInterval << 8) / expInterval));
  b.cumulativeLost = static_cast<std::int32_t>(
      std::clamp<std::int64_t>(cumulativeLost(), -0x800000, 0x7fffff));
  b.extendedHighestSeq = extendedHighestSeq();
  b.jitter = static_cast<std::uint32_t>(jitter_);
  if (hasSr_) {
    b.lastSr = lastSrMiddle_;
    const std::int64_t delay = std::max<std::int64_t>(0, nowUs - lastSrArrivalUs_);
    b.delaySinceLastSr = static_cast<std::uint32_t>((delay * 65536) / 1000000);
  }
  return b;
}

void SenderStatistics::onPacketSent(std::size_t payloadBytes, std::uint32_t rtpTimestamp,
                                    std::int64_t nowUs) {
  ++packets_;
  octets_ += static_cast<std::uint32_t>(payloadBytes);  // wraps modulo 2^32 as in 6.4.1
  hasPacket_ = true;
  lastRtpTs_ = rtpTimestamp;
  lastSendUs_ = nowUs;
}

SenderReport SenderStatistics::makeSenderReport(std::uint32_t ssrc, std::int64_t nowUs,
                                                std::int64_t unixMicros) {
  SenderReport sr;
  sr.ssrc = ssrc;
  sr.ntpTimestamp = unixMicrosToNtp(unixMicros);
  if (hasPacket_) {
    const std::int64_t elapsed = nowUs - lastSendUs_;
    sr.rtpTimestamp = lastRtpTs_ + static_cast<std::uint32_t>(elapsed * clockRate_ / 1000000);
  }
  sr.packetCount = packets_;
  sr.octetCount = octets_;
  return sr;
}

std::optional<std::int64_t> SenderStatistics::rttFromReportBlock(const ReportBlock& block,
                                                                 std::int64_t unixMicros) const {
  return computeRttUs(block.lastSr, block.delaySinceLastSr,
                      ntpMiddle32(unixMicrosToNtp(unixMicros)));
}

std::optional<std::int64_t> computeRttUs(std::uint32_t lsr, std::uint32_t dlsr,
                                         std::uint32_t arrivalNtpMiddle) noexcept {
  if (lsr == 0) return std::nullopt;
  const std::uint32_t rtt = arrivalNtpMiddle - lsr - dlsr;  // modulo 2^32
  if (rtt > 0x80000000u) return std::nullopt;                // negative: clocks inconsistent
  return static_cast<std::int64_t>((std::uint64_t{rtt} * 1000000) >> 16);
}

void BitrateEstimator::expire(std::int64_t nowUs) {
  while (!samples_.empty() && samples_.front().first <= nowUs - windowUs_) {
    bytes_ -= samples_.front().second;
    samples_.pop_front();
  }
}

void BitrateEstimator::add(std::size_t bytes, std::int64_t nowUs) {
  if (!firstUs_) firstUs_ = nowUs;
  samples_.emplace_back(nowUs, bytes);
  bytes_ += bytes;
  expire(nowUs);
}

std::uint64_t BitrateEstimator::bitsPerSecond(std::int64_t nowUs) {
  expire(nowUs);
  if (samples_.empty() || !firstUs_) return 0;
  std::int64_t span = std::min(windowUs_, nowUs - *firstUs_);
  span = std::max<std::int64_t>(span, 100000);
  return bytes_ * 8 * 1000000 / static_cast<std::uint64_t>(span);
}

}  // namespace tern::media
