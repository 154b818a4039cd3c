// RTCP packets: parse a compound packet into typed messages and build compound packets.
// Implements RFC 3550 section 6.4.1 (SR), 6.4.2 (RR), 6.5 (SDES, CNAME item), 6.6 (BYE);
// RFC 4585 section 6.1 (feedback header), 6.2.1 (generic NACK: PID + BLP), 6.3.1 (PLI);
// RFC 5104 section 4.3.1 (FIR with a sequence number); the REMB draft
// (draft-alvestrand-rmcat-remb, parse only); RFC 5506 reduced-size (feedback-only) packets.
//
// Threading: free functions and value types only. Parsers never throw and bounds-check every
// field; unknown packet types and feedback formats are skipped, not errors.
#pragma once

#include <tern/media/rtp_packet.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace tern::media {

/// RTCP packet types (RFC 3550 section 12.1, RFC 4585 section 6.1).
enum RtcpPacketType : std::uint8_t {
  kRtcpSr = 200,
  kRtcpRr = 201,
  kRtcpSdes = 202,
  kRtcpBye = 203,
  kRtcpApp = 204,
  kRtcpRtpfb = 205,
  kRtcpPsfb = 206,
};

/// Report block (RFC 3550 section 6.4.1), 24 bytes on the wire.
struct ReportBlock {
  std::uint32_t ssrc = 0;              ///< source this block reports on
  std::uint8_t fractionLost = 0;       ///< fixed point, lost/expected * 256
  std::int32_t cumulativeLost = 0;     ///< signed 24-bit
  std::uint32_t extendedHighestSeq = 0;
  std::uint32_t jitter = 0;            ///< timestamp units
  std::uint32_t lastSr = 0;            ///< LSR: middle 32 bits of the last SR's NTP time
  std::uint32_t delaySinceLastSr = 0;  ///< DLSR, units of 1/65536 s
  bool operator==(const ReportBlock& o) const;
};

struct SenderReport {
  std::uint32_t ssrc = 0;
  std::uint64_t ntpTimestamp = 0;      ///< 32.32 fixed point seconds since 1900
  std::uint32_t rtpTimestamp = 0;
  std::uint32_t packetCount = 0;
  std::uint32_t octetCount = 0;
  std::vector<ReportBlock> reports;
};

struct ReceiverReport {
  std::uint32_t ssrc = 0;
  std::vector<ReportBlock> reports;
};

/// SDES (RFC 3550 section 6.5): only CNAME (item type 1) is kept; other items are skipped.
struct Sdes {
  struct Chunk {
    std::uint32_t ssrc = 0;
    std::string cname;
  };
  std::vector<Chunk> chunks;
};

struct Bye {
  std::vector<std::uint32_t> ssrcs;
  std::string reason;
};

/// Generic NACK (RFC 4585 section 6.2.1), expanded to the list of missing sequence numbers.
struct Nack {
  std::uint32_t senderSsrc = 0;
  std::uint32_t mediaSsrc = 0;
  std::vector<std::uint16_t> sequenceNumbers;
};

/// Picture Loss Indication (RFC 4585 section 6.3.1).
struct Pli {
  std::uint32_t senderSsrc = 0;
  std::uint32_t mediaSsrc = 0;
};

/// Full Intra Request (RFC 5104 section 4.3.1). Media source SSRC in the header is 0.
struct Fir {
  struct Entry {
    std::uint32_t ssrc = 0;
    std::uint8_t sequenceNumber = 0;
  };
  std::uint32_t senderSsrc = 0;
  std::vector<Entry> entries;
};

/// Receiver Estimated Maximum Bitrate (PSFB FMT 15, "REMB"). Parse only.
struct Remb {
  std::uint32_t senderSsrc = 0;
  std::uint64_t bitrateBps = 0;
  std::vector<std::uint32_t> ssrcs;
};

using RtcpMessage = std::variant<SenderReport, ReceiverReport, Sdes, Bye, Nack, Pli, Fir, Remb>;

/// Parses a (possibly reduced-size, RFC 5506) compound RTCP packet. Each sub-packet must have
/// version 2 and a length within the buffer; padding is honoured on any sub-packet. Unknown
/// packet types and feedback formats are skipped. A structurally broken sub-packet (bad version,
/// length past the end, report count larger than the length allows) fails the whole packet.
Expected<std::vector<RtcpMessage>> parseRtcp(const std::uint8_t* data, std::size_t size);

/// Appends one RTCP packet to `out`. Errors: InvalidArgument when a count exceeds 31 or a
/// field cannot be encoded (CNAME > 255 bytes, NACK list empty).
Expected<bool> appendRtcp(std::vector<std::uint8_t>& out, const RtcpMessage& message);

/// Builds a compound packet in RFC 3550 section 6.1 order: SR/RR first, then SDES, then
/// feedback, then BYE; the relative order within each group is kept. A list with no SR/RR
/// gives a reduced-size packet (RFC 5506). Errors from appendRtcp() propagate.
Expected<std::vector<std::uint8_t>> buildRtcp(const std::vector<RtcpMessage>& messages);

/// RFC 4585 6.2.1 FCI: packs a list of sequence numbers (any order, duplicates allowed,
/// wraparound aware) into (PID, BLP) pairs, each covering PID..PID+16.
std::vector<std::pair<std::uint16_t, std::uint16_t>> nackToFci(
    std::vector<std::uint16_t> sequenceNumbers);
/// Expands (PID, BLP) pairs back into sequence numbers, in FCI order.
std::vector<std::uint16_t> fciToNack(
    const std::vector<std::pair<std::uint16_t, std::uint16_t>>& fci);

/// NTP helpers (RFC 3550 section 4): the middle 32 bits of a 64-bit NTP time (the LSR value).
constexpr std::uint32_t ntpMiddle32(std::uint64_t ntp) noexcept {
  return static_cast<std::uint32_t>(ntp >> 16);
}
/// Microseconds since the Unix epoch to 32.32 NTP time.
std::uint64_t unixMicrosToNtp(std::int64_t unixMicros) noexcept;

}  // namespace tern::media
