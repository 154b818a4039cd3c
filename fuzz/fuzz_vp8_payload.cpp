// Fuzzes the VP8 RTP payload format (RFC 7741): the payload descriptor parser and encoder
// (section 4.2), depacketization, the payload header / key frame header reader (section 4.3,
// RFC 6386 section 9.1) against the codec layer's own key frame test, and the packetizer
// (section 4.4) followed by the VideoFrameAssembler (section 4.5.1).
//
// Input, read two ways:
//   1. the whole input is one RTP payload (descriptor + VP8 bytes);
//   2. a packetizer run: flags (1 byte: bit 0 PictureID, bit 1 temporal layers, bit 2 Y,
//      bits 3-4 TID), maxPayloadSize (2 bytes, modulo 1500), initial PictureID (2 bytes), first
//      sequence number (2 bytes), then the frame.
//
// Invariants checked:
//   - the descriptor length and the data after it tile the payload; every field equals its bits;
//     values are in range (PID <= 7, PictureID < 2^7 or 2^15, TID <= 3, KEYIDX <= 31);
//   - re-encoding a parsed descriptor parses back to the same fields (an L without T comes back
//     with TID 0, as documented), and gives back the input bytes exactly when the input used
//     no reserved bits and no empty extension byte;
//   - parseVp8PayloadHeader() finds a key frame exactly when isVp8Keyframe() does, with the same
//     size;
//   - packetize: payloads no larger than maxPayloadSize, S and PID 0 on the first only, marker
//     on the last only, one PictureID for all, slice sizes balanced, and the depacketized slices
//     concatenate to the frame; fed to a VideoFrameAssembler (in order, from any sequence
//     number, across the wraparound), the frame comes back byte for byte if it is a key frame,
//     and is held back (a key frame requested) if it is not.
//
// Threading: single-threaded.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz_media_support.hpp"
#include "tern/media/jitter_buffer.hpp"
#include "tern/media/vp8_codec.hpp"
#include "tern/media/vp8_payload.hpp"

using namespace tern::media;

namespace {

bool sameDescriptor(const Vp8Descriptor& a, const Vp8Descriptor& b) {
  return a.nonReference == b.nonReference && a.startOfPartition == b.startOfPartition &&
         a.partitionId == b.partitionId && a.pictureId == b.pictureId &&
         (!a.pictureId || a.pictureId15 == b.pictureId15) && a.tl0PicIdx == b.tl0PicIdx &&
         a.temporalId == b.temporalId && a.layerSync == b.layerSync && a.keyIdx == b.keyIdx;
}

void checkDescriptor(const std::uint8_t* p, std::size_t size) {
  auto v = depacketizeVp8(p, size);
  if (!v) {
    TERN_FUZZ_CHECK(v.error() == MediaError::Truncated);
    return;
  }
  const Vp8Descriptor& d = v->descriptor;
  TERN_FUZZ_CHECK(d.size >= 1 && d.size <= 6 && d.size <= size);
  TERN_FUZZ_CHECK(v->data == p + d.size && v->size == size - d.size);
  const std::uint8_t b0 = p[0];
  TERN_FUZZ_CHECK(d.nonReference == ((b0 & 0x20) != 0) &&
                  d.startOfPartition == ((b0 & 0x10) != 0) && d.partitionId == (b0 & 0x07));
  const std::uint8_t x = (b0 & 0x80) ? p[1] : 0;
  TERN_FUZZ_CHECK(d.pictureId.has_value() == ((x & 0x80) != 0));
  TERN_FUZZ_CHECK(d.tl0PicIdx.has_value() == ((x & 0x40) != 0));
  TERN_FUZZ_CHECK(d.temporalId.has_value() == ((x & 0x20) != 0));
  TERN_FUZZ_CHECK(d.keyIdx.has_value() == ((x & 0x10) != 0));
  if (d.pictureId) TERN_FUZZ_CHECK(*d.pictureId <= (d.pictureId15 ? 0x7fff : 0x7f));
  if (d.temporalId) TERN_FUZZ_CHECK(*d.temporalId <= 3);
  if (d.keyIdx) TERN_FUZZ_CHECK(*d.keyIdx <= 31);
  const std::size_t expectSize = 1 + ((b0 & 0x80) ? 1 : 0) +
                                 (d.pictureId ? (d.pictureId15 ? 2 : 1) : 0) +
                                 (d.tl0PicIdx ? 1 : 0) + ((x & 0x30) ? 1 : 0);
  TERN_FUZZ_CHECK(d.size == expectSize);

  std::vector<std::uint8_t> encoded;
  TERN_FUZZ_CHECK(appendVp8Descriptor(encoded, d).ok());
  auto back = parseVp8Descriptor(encoded.data(), encoded.size());
  TERN_FUZZ_CHECK(back.ok() && back->size == encoded.size());
  Vp8Descriptor expected = d;
  if (expected.tl0PicIdx && !expected.temporalId) expected.temporalId = 0;  // L requires T
  TERN_FUZZ_CHECK(sameDescriptor(back.value(), expected));
  // Canonical input: no reserved bit set, no extension byte without a flag, no L without T, no
  // bits set in an absent TID or KEYIDX field.
  bool canonical = (b0 & 0x48) == 0;
  if (b0 & 0x80) {
    canonical = canonical && (x & 0x0f) == 0 && (x & 0xf0) != 0 && !((x & 0x40) && !(x & 0x20));
    if (x & 0x30) {
      const std::uint8_t tk = p[d.size - 1];
      canonical = canonical && ((x & 0x20) || (tk & 0xc0) == 0) && ((x & 0x10) || (tk & 0x1f) == 0);
    }
  }
  if (canonical) {
    TERN_FUZZ_CHECK(encoded.size() == d.size && std::memcmp(encoded.data(), p, d.size) == 0);
  }

  // Payload header vs. the codec layer's key frame test.
  auto header = parseVp8PayloadHeader(v->data, v->size);
  int w = -1;
  int h = -1;
  const bool key = isVp8Keyframe(v->data, v->size, &w, &h);
  TERN_FUZZ_CHECK(key == (header.ok() && header->keyframe));
  if (key) TERN_FUZZ_CHECK(header->width == w && header->height == h);
  if (header.ok() && !header->keyframe) TERN_FUZZ_CHECK(v->size >= 3 && (v->data[0] & 1) != 0);
}

void checkPacketizer(const std::uint8_t* data, std::size_t size) {
  tern::fuzz::ByteReader r(data, size);
  const std::uint8_t flags = r.u8();
  Vp8Packetizer::Config config;
  config.pictureId = (flags & 1) != 0;
  config.temporalLayers = (flags & 2) != 0;
  const bool layerSync = (flags & 4) != 0;
  const auto tid = static_cast<std::uint8_t>((flags >> 3) & 3);
  config.maxPayloadSize = r.u16() % 1500;
  const std::uint16_t initialPid = r.u16();
  const std::uint16_t firstSeq = r.u16();
  const std::vector<std::uint8_t> frame = r.bytes(r.remaining());

  Vp8Packetizer packetizer(config, initialPid);
  auto packets = packetizer.packetize(frame.data(), frame.size(), tid, layerSync);
  const std::size_t descriptorSize = 1 + ((config.pictureId || config.temporalLayers) ? 1 : 0) +
                                     (config.pictureId ? 2 : 0) + (config.temporalLayers ? 2 : 0);
  if (!packets) {
    TERN_FUZZ_CHECK(config.maxPayloadSize <= descriptorSize);
    return;
  }
  TERN_FUZZ_CHECK(config.maxPayloadSize > descriptorSize);
  TERN_FUZZ_CHECK(!packets->empty());
  TERN_FUZZ_CHECK(packetizer.nextPictureId() == ((initialPid + 1) & 0x7fff));
  std::vector<std::uint8_t> joined;
  std::size_t previousSlice = SIZE_MAX;
  for (std::size_t i = 0; i < packets->size(); ++i) {
    const auto& pkt = packets.value()[i];
    TERN_FUZZ_CHECK(pkt.payload.size() <= config.maxPayloadSize);
    TERN_FUZZ_CHECK(pkt.marker == (i + 1 == packets->size()));
    auto v = depacketizeVp8(pkt.payload.data(), pkt.payload.size());
    TERN_FUZZ_CHECK(v.ok() && v->descriptor.size == descriptorSize);
    TERN_FUZZ_CHECK(v->descriptor.startsFrame() == (i == 0));
    TERN_FUZZ_CHECK(v->descriptor.partitionId == 0);
    if (config.pictureId) {
      TERN_FUZZ_CHECK(v->descriptor.pictureId == (initialPid & 0x7fff) &&
                      v->descriptor.pictureId15);
    } else {
      TERN_FUZZ_CHECK(!v->descriptor.pictureId);
    }
    if (config.temporalLayers) {
      TERN_FUZZ_CHECK(v->descriptor.temporalId == tid && v->descriptor.layerSync == layerSync);
      TERN_FUZZ_CHECK(v->descriptor.tl0PicIdx == (tid == 0 ? 1 : 0));
    }
    // Balanced split: sizes differ by at most one byte, larger ones first.
    TERN_FUZZ_CHECK(v->size <= previousSlice);
    if (i > 0) TERN_FUZZ_CHECK(previousSlice - v->size <= 1);
    previousSlice = v->size;
    joined.insert(joined.end(), v->data, v->data + v->size);
  }
  TERN_FUZZ_CHECK(joined == frame);

  // Through the frame assembler.
  VideoFrameAssembler assembler;
  if (packets->size() > VideoFrameAssembler::Config{}.maxPackets) return;
  std::uint16_t seq = firstSeq;
  for (const auto& pkt : packets.value()) {
    TERN_FUZZ_CHECK(assembler.insert(seq++, 90000, pkt.marker, pkt.payload.data(),
                                     pkt.payload.size(), 1000));
  }
  const auto frames = assembler.popFrames(2000);
  auto header = parseVp8PayloadHeader(frame.data(), frame.size());
  const bool key = header.ok() && header->keyframe;
  if (!key) {
    TERN_FUZZ_CHECK(frames.empty() && assembler.waitingForKeyframe());
    TERN_FUZZ_CHECK(assembler.pollKeyframeRequest(3000));
    return;
  }
  TERN_FUZZ_CHECK(frames.size() == 1);
  const AssembledFrame& f = frames.front();
  TERN_FUZZ_CHECK(f.data == frame && f.keyframe && f.rtpTimestamp == 90000);
  TERN_FUZZ_CHECK(f.width == header->width && f.height == header->height);
  TERN_FUZZ_CHECK(f.firstSeq == firstSeq &&
                  f.lastSeq == static_cast<std::uint16_t>(firstSeq + packets->size() - 1));
  TERN_FUZZ_CHECK(!assembler.waitingForKeyframe() && assembler.bufferedPackets() == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> copy(data, data + size);  // exactly sized: overreads hit ASan
  const std::uint8_t* p = copy.empty() ? nullptr : copy.data();
  checkDescriptor(p, size);
  checkPacketizer(p, size);
  return 0;
}
