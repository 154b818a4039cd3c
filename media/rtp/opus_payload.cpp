// Opus RTP payload helpers (RFC 7587, RFC 6716 section 3.1). See tern/media/opus_payload.hpp.
#include <tern/media/opus_payload.hpp>

namespace tern::media {

OpusRtpPayload OpusPayloader::wrap(const std::uint8_t* opus, std::size_t size, bool dropDtx) {
  OpusRtpPayload out;
  out.timestampStep = step_;
  if (opus == nullptr || size == 0 || (dropDtx && size <= 2)) {
    talkspurtStart_ = true;
    return out;
  }
  out.payload.assign(opus, opus + size);
  out.marker = talkspurtStart_;
  talkspurtStart_ = false;
  return out;
}

std::uint32_t opusPacketSamples(const std::uint8_t* opus, std::size_t size) noexcept {
  if (opus == nullptr || size == 0) return 0;
  const std::uint8_t toc = opus[0];
  const unsigned config = toc >> 3;
  // Frame duration in 48 kHz samples per configuration (RFC 6716 table 2).
  std::uint32_t frame = 0;
  if (config < 12) {  // SILK: 10, 20, 40, 60 ms
    static constexpr std::uint32_t silk[4] = {480, 960, 1920, 2880};
    frame = silk[config % 4];
  } else if (config < 16) {  // Hybrid: 10, 20 ms
    frame = (config % 2) == 0 ? 480 : 960;
  } else {  // CELT: 2.5, 5, 10, 20 ms
    static constexpr std::uint32_t celt[4] = {120, 240, 480, 960};
    frame = celt[config % 4];
  }
  std::uint32_t frames = 0;
  switch (toc & 0x3) {
    case 0: frames = 1; break;
    case 1:
    case 2: frames = 2; break;
    default:
      if (size < 2) return 0;
      frames = opus[1] & 0x3f;
      break;
  }
  const std::uint32_t total = frame * frames;
  return total > 5760 ? 0 : total;  // RFC 6716 3.2.5: at most 120 ms
}

}  // namespace tern::media
