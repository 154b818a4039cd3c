// VP8 RTP payload format (RFC 7741 section 4). See tern/media/vp8_payload.hpp.
#include <tern/media/vp8_payload.hpp>

namespace tern::media {

Expected<Vp8Descriptor> parseVp8Descriptor(const std::uint8_t* p, std::size_t size) noexcept {
  if (p == nullptr || size < 1) return MediaError::Truncated;
  Vp8Descriptor d;
  const std::uint8_t b0 = p[0];
  d.nonReference = (b0 & 0x20) != 0;
  d.startOfPartition = (b0 & 0x10) != 0;
  d.partitionId = b0 & 0x07;
  std::size_t pos = 1;
  if (b0 & 0x80) {  // X
    if (size < 2) return MediaError::Truncated;
    const std::uint8_t x = p[1];
    pos = 2;
    if (x & 0x80) {  // I
      if (size - pos < 1) return MediaError::Truncated;
      if (p[pos] & 0x80) {  // M: 15 bits
        if (size - pos < 2) return MediaError::Truncated;
        d.pictureId = static_cast<std::uint16_t>(((p[pos] & 0x7f) << 8) | p[pos + 1]);
        d.pictureId15 = true;
        pos += 2;
      } else {
        d.pictureId = p[pos] & 0x7f;
        pos += 1;
      }
    }
    if (x & 0x40) {  // L
      if (size - pos < 1) return MediaError::Truncated;
      d.tl0PicIdx = p[pos++];
    }
    if (x & 0x30) {  // T or K
      if (size - pos < 1) return MediaError::Truncated;
      const std::uint8_t t = p[pos++];
      if (x & 0x20) d.temporalId = static_cast<std::uint8_t>(t >> 6);
      d.layerSync = (t & 0x20) != 0;
      if (x & 0x10) d.keyIdx = t & 0x1f;
    }
  }
  d.size = pos;
  return d;
}

Expected<bool> appendVp8Descriptor(std::vector<std::uint8_t>& out, const Vp8Descriptor& d) {
  if (d.partitionId > 7) return MediaError::InvalidArgument;
  if (d.pictureId && *d.pictureId > (d.pictureId15 ? 0x7fff : 0x7f)) {
    return MediaError::InvalidArgument;
  }
  if (d.temporalId && *d.temporalId > 3) return MediaError::InvalidArgument;
  if (d.keyIdx && *d.keyIdx > 31) return MediaError::InvalidArgument;
  const bool t = d.temporalId.has_value() || d.tl0PicIdx.has_value();
  const bool k = d.keyIdx.has_value();
  const bool x = d.pictureId || d.tl0PicIdx || t || k;
  out.push_back(static_cast<std::uint8_t>((x ? 0x80 : 0) | (d.nonReference ? 0x20 : 0) |
                                          (d.startOfPartition ? 0x10 : 0) | d.partitionId));
  if (!x) return true;
  out.push_back(static_cast<std::uint8_t>((d.pictureId ? 0x80 : 0) | (d.tl0PicIdx ? 0x40 : 0) |
                                          (t ? 0x20 : 0) | (k ? 0x10 : 0)));
  if (d.pictureId) {
    if (d.pictureId15) {
      out.push_back(static_cast<std::uint8_t>(0x80 | (*d.pictureId >> 8)));
      out.push_back(static_cast<std::uint8_t>(*d.pictureId));
    } else {
      out.push_back(static_cast<std::uint8_t>(*d.pictureId));
    }
  }
  if (d.tl0PicIdx) out.push_back(*d.tl0PicIdx);
  if (t || k) {
    out.push_back(static_cast<std::uint8_t>((d.temporalId.value_or(0) << 6) |
                                            (d.layerSync ? 0x20 : 0) | d.keyIdx.value_or(0)));
  }
  return true;
}

Expected<Vp8FrameInfo> parseVp8PayloadHeader(const std::uint8_t* f, std::size_t size) noexcept {
  if (f == nullptr || size < 3) return MediaError::Truncated;
  Vp8FrameInfo info;
  info.keyframe = (f[0] & 0x01) == 0;
  if (!info.keyframe) return info;
  if (size < 10) return MediaError::Truncated;
  if (f[3] != 0x9d || f[4] != 0x01 || f[5] != 0x2a) return MediaError::BadLength;
  info.width = static_cast<std::uint16_t>((f[6] | (f[7] << 8)) & 0x3fff);
  info.height = static_cast<std::uint16_t>((f[8] | (f[9] << 8)) & 0x3fff);
  return info;
}

Vp8Packetizer::Vp8Packetizer(Config config, std::uint16_t initialPictureId)
    : config_(config), pictureId_(initialPictureId & 0x7fff) {}

Expected<std::vector<Vp8Packetizer::Packet>> Vp8Packetizer::packetize(const std::uint8_t* frame,
                                                                      std::size_t size,
                                                                      std::uint8_t temporalId,
                                                                      bool layerSync) {
  if (size > 0 && frame == nullptr) return MediaError::InvalidArgument;
  Vp8Descriptor d;
  if (config_.pictureId) {
    d.pictureId = pictureId_;
    d.pictureId15 = true;
  }
  if (config_.temporalLayers) {
    if (temporalId > 3) return MediaError::InvalidArgument;
    if (temporalId == 0) ++tl0PicIdx_;
    d.tl0PicIdx = tl0PicIdx_;
    d.temporalId = temporalId;
    d.layerSync = layerSync;
  }
  // Descriptor length is the same for every packet of the frame (only S differs).
  std::vector<std::uint8_t> probe;
  if (!appendVp8Descriptor(probe, d)) return MediaError::InvalidArgument;
  if (config_.maxPayloadSize <= probe.size()) return MediaError::InvalidArgument;
  const std::size_t room = config_.maxPayloadSize - probe.size();
  const std::size_t count = size == 0 ? 1 : (size + room - 1) / room;
  // Balanced split: sizes differ by at most one byte, the larger ones first.
  const std::size_t base = size / count;
  std::size_t extra = size % count;
  std::vector<Packet> packets;
  packets.reserve(count);
  std::size_t offset = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t len = base + (extra > 0 ? 1 : 0);
    if (extra > 0) --extra;
    d.startOfPartition = (i == 0);
    Packet pkt;
    pkt.payload.reserve(probe.size() + len);
    appendVp8Descriptor(pkt.payload, d);
    if (len > 0) pkt.payload.insert(pkt.payload.end(), frame + offset, frame + offset + len);
    offset += len;
    pkt.marker = (i + 1 == count);
    packets.push_back(std::move(pkt));
  }
  pictureId_ = static_cast<std::uint16_t>((pictureId_ + 1) & 0x7fff);
  return packets;
}

Expected<Vp8PayloadView> depacketizeVp8(const std::uint8_t* payload, std::size_t size) noexcept {
  auto d = parseVp8Descriptor(payload, size);
  if (!d) return d.error();
  Vp8PayloadView v;
  v.descriptor = d.value();
  v.data = payload + v.descriptor.size;
  v.size = size - v.descriptor.size;
  return v;
}

}  // namespace tern::media
