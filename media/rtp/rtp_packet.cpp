// RTP packet parsing and building (RFC 3550 section 5.1, RFC 8285), sequence helpers, RFC 5761
// demultiplexing. See tern/media/rtp_packet.hpp.
#include <tern/media/rtp_packet.hpp>

namespace tern::media {

const char* toString(MediaError error) noexcept {
  switch (error) {
    case MediaError::Truncated: return "truncated";
    case MediaError::BadVersion: return "bad-version";
    case MediaError::BadPadding: return "bad-padding";
    case MediaError::BadLength: return "bad-length";
    case MediaError::BadExtension: return "bad-extension";
    case MediaError::InvalidArgument: return "invalid-argument";
  }
  return "unknown";
}

Expected<RtpPacketView> parseRtp(const std::uint8_t* data, std::size_t size) noexcept {
  constexpr std::size_t kFixed = 12;
  if (data == nullptr || size < kFixed) return MediaError::Truncated;
  if ((data[0] >> 6) != 2) return MediaError::BadVersion;
  RtpPacketView v;
  v.data = data;
  v.size = size;
  const bool padding = (data[0] & 0x20) != 0;
  v.hasExtension = (data[0] & 0x10) != 0;
  v.csrcCount = data[0] & 0x0f;
  v.marker = (data[1] & 0x80) != 0;
  v.payloadType = data[1] & 0x7f;
  v.sequenceNumber = readU16(data + 2);
  v.timestamp = readU32(data + 4);
  v.ssrc = readU32(data + 8);
  std::size_t pos = kFixed;
  if (size - pos < std::size_t{v.csrcCount} * 4) return MediaError::Truncated;
  for (std::uint8_t i = 0; i < v.csrcCount; ++i, pos += 4) v.csrcs[i] = readU32(data + pos);
  if (v.hasExtension) {
    if (size - pos < 4) return MediaError::Truncated;
    v.extensionProfile = readU16(data + pos);
    const std::size_t words = readU16(data + pos + 2);
    pos += 4;
    if (size - pos < words * 4) return MediaError::Truncated;
    v.extensionData = data + pos;
    v.extensionSize = words * 4;
    pos += words * 4;
  }
  std::size_t end = size;
  if (padding) {
    const std::uint8_t pad = data[size - 1];
    if (pad == 0 || pad > size - pos) return MediaError::BadPadding;
    v.paddingSize = pad;
    end = size - pad;
  }
  v.payloadOffset = pos;
  v.payload = data + pos;
  v.payloadSize = end - pos;
  return v;
}

Expected<std::vector<RtpExtensionView>> RtpPacketView::extensions() const {
  std::vector<RtpExtensionView> out;
  if (!hasExtension || extensionData == nullptr) return out;
  const std::uint8_t* p = extensionData;
  const std::size_t n = extensionSize;
  std::size_t i = 0;
  if (extensionProfile == 0xBEDE) {
    while (i < n) {
      const std::uint8_t b = p[i];
      if (b == 0) {  // padding
        ++i;
        continue;
      }
      const std::uint8_t id = b >> 4;
      // RFC 8285 4.2: ID 15 stops processing. ID 0 is only valid as a padding byte (value 0);
      // one with a length is no element: stop there too, as libwebrtc does.
      if (id == 15 || id == 0) break;
      const std::size_t len = std::size_t{b & 0x0fu} + 1;
      ++i;
      if (n - i < len) return MediaError::BadExtension;
      out.push_back({id, p + i, len});
      i += len;
    }
  } else if ((extensionProfile & 0xfff0) == 0x1000) {
    while (i < n) {
      const std::uint8_t id = p[i];
      if (id == 0) {
        ++i;
        continue;
      }
      if (n - i < 2) return MediaError::BadExtension;
      const std::size_t len = p[i + 1];
      i += 2;
      if (n - i < len) return MediaError::BadExtension;
      out.push_back({id, len ? p + i : nullptr, len});
      i += len;
    }
  }
  return out;
}

RtpExtensionView RtpPacketView::findExtension(std::uint8_t id) const {
  auto all = extensions();
  if (!all) return {};
  for (const auto& e : all.value()) {
    if (e.id == id) return e;
  }
  return {};
}

Expected<std::vector<std::uint8_t>> buildRtp(const RtpHeader& h, const std::uint8_t* payload,
                                              std::size_t payloadSize) {
  if (h.payloadType > 127 || h.csrcs.size() > 15) return MediaError::InvalidArgument;
  if (payloadSize > 0 && payload == nullptr) return MediaError::InvalidArgument;
  bool oneByte = true;
  for (const auto& e : h.extensions) {
    if (e.id == 0 || e.data.size() > 255) return MediaError::InvalidArgument;
    if (e.id >= 15 || e.data.empty() || e.data.size() > 16) oneByte = false;
  }
  std::vector<std::uint8_t> out;
  out.reserve(12 + h.csrcs.size() * 4 + payloadSize + 64);
  out.push_back(static_cast<std::uint8_t>(0x80 | (h.extensions.empty() ? 0 : 0x10) |
                                          h.csrcs.size()));
  out.push_back(static_cast<std::uint8_t>((h.marker ? 0x80 : 0) | h.payloadType));
  appendU16(out, h.sequenceNumber);
  appendU32(out, h.timestamp);
  appendU32(out, h.ssrc);
  for (auto c : h.csrcs) appendU32(out, c);
  if (!h.extensions.empty()) {
    const std::size_t start = out.size();
    appendU16(out, oneByte ? 0xBEDE : 0x1000);
    appendU16(out, 0);  // length, patched below
    for (const auto& e : h.extensions) {
      if (oneByte) {
        out.push_back(static_cast<std::uint8_t>((e.id << 4) | (e.data.size() - 1)));
      } else {
        out.push_back(e.id);
        out.push_back(static_cast<std::uint8_t>(e.data.size()));
      }
      out.insert(out.end(), e.data.begin(), e.data.end());
    }
    while ((out.size() - start) % 4 != 0) out.push_back(0);
    const std::size_t words = (out.size() - start - 4) / 4;
    if (words > 0xffff) return MediaError::InvalidArgument;
    out[start + 2] = static_cast<std::uint8_t>(words >> 8);
    out[start + 3] = static_cast<std::uint8_t>(words);
  }
  if (payloadSize > 0) out.insert(out.end(), payload, payload + payloadSize);
  return out;
}

std::int64_t SeqUnwrapper::peek(std::uint16_t seq) const noexcept {
  if (!has_) return seq;
  return last_ + seqDiff(seq, static_cast<std::uint16_t>(last_));
}

std::int64_t SeqUnwrapper::unwrap(std::uint16_t seq) noexcept {
  last_ = peek(seq);
  has_ = true;
  return last_;
}

std::int64_t TimestampUnwrapper::peek(std::uint32_t ts) const noexcept {
  if (!has_) return ts;
  const auto d = static_cast<std::int32_t>(ts - static_cast<std::uint32_t>(last_));
  return last_ + d;
}

std::int64_t TimestampUnwrapper::unwrap(std::uint32_t ts) noexcept {
  last_ = peek(ts);
  has_ = true;
  return last_;
}

bool isRtcp(const std::uint8_t* data, std::size_t size) noexcept {
  if (data == nullptr || size < 2) return false;
  return data[1] >= 192 && data[1] <= 223;
}

}  // namespace tern::media
