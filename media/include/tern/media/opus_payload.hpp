// Opus RTP payload format (RFC 7587).
//
// Section 4.1: the RTP timestamp clock is always 48000 Hz, whatever the Opus internal or
// negotiated rates ("opus/48000/2" in SDP and Jingle), so a 20 ms frame advances the timestamp
// by 960 and a 10 ms frame by 480.
// Section 4.2: one Opus packet (RFC 6716 section 3, one or more frames with a TOC byte) is the
// whole RTP payload; there is no payload header and no fragmentation.
// Marker bit and DTX (RFC 7587 sections 4.1 and 3.1.3, which defer to RFC 3551 section 4.1):
// with DTX the sender drops whole silent frames; the timestamp keeps counting while the
// sequence number does not, so a receiver tells DTX (timestamp jump, no sequence gap) from
// loss (sequence gap). The first packet after a silence (the start of a talkspurt) carries
// the marker bit.
//
// Threading: free functions are stateless; an OpusPayloader is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tern::media {

/// RTP clock rate of Opus (RFC 7587 section 4.1).
inline constexpr std::uint32_t kOpusRtpClockRate = 48000;

/// Timestamp increment of one packet of `frameMs` whole milliseconds (10, 20, 40, 60 ms).
constexpr std::uint32_t opusTimestampStep(std::uint32_t frameMs) noexcept {
  return kOpusRtpClockRate / 1000 * frameMs;
}

/// One Opus packet to send as an RTP payload.
struct OpusRtpPayload {
  std::vector<std::uint8_t> payload;  ///< the Opus packet, unchanged
  bool marker = false;                ///< first packet of a talkspurt
  std::uint32_t timestampStep = 0;    ///< increment to apply after this packet
};

/// Stateful sender-side helper that decides the marker bit: marker on the first packet and on
/// the first packet after the encoder produced DTX/silence frames that were not sent.
class OpusPayloader {
 public:
  explicit OpusPayloader(std::uint32_t frameMs = 20) : step_(opusTimestampStep(frameMs)) {}
  /// Wraps an encoded packet. Packets of 2 bytes or less are what libopus emits for DTX
  /// silence (its opus_encode() documentation: "does not need to be transmitted"); when
  /// `dropDtx` they are not sent (returns an empty payload), the timestamp still advances,
  /// and the next real packet carries the marker.
  OpusRtpPayload wrap(const std::uint8_t* opus, std::size_t size, bool dropDtx = false);

 private:
  std::uint32_t step_;
  bool talkspurtStart_ = true;
};

/// Number of 48 kHz samples in an Opus packet, from its TOC byte and frame count code
/// (RFC 6716 section 3.1 and 3.2). 0 when the packet is empty or malformed.
std::uint32_t opusPacketSamples(const std::uint8_t* opus, std::size_t size) noexcept;

}  // namespace tern::media
