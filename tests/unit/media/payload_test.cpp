// Opus (RFC 7587) and VP8 (RFC 7741) payload formats: descriptor byte vectors, packetizer
// round trips, key frame detection.
#include <tern/media/opus_payload.hpp>
#include <tern/media/vp8_payload.hpp>

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace tern::media {
namespace {

using Bytes = std::vector<std::uint8_t>;

TEST(OpusPayload, TimestampStepAndMarker) {
  EXPECT_EQ(kOpusRtpClockRate, 48000u);
  EXPECT_EQ(opusTimestampStep(20), 960u);
  EXPECT_EQ(opusTimestampStep(10), 480u);
  OpusPayloader p(20);
  const Bytes speech(60, 0x78);
  const Bytes dtx = {0x78};
  auto a = p.wrap(speech.data(), speech.size(), true);
  EXPECT_TRUE(a.marker);  // first packet of the stream starts a talkspurt
  EXPECT_EQ(a.payload, speech);
  EXPECT_EQ(a.timestampStep, 960u);
  EXPECT_FALSE(p.wrap(speech.data(), speech.size(), true).marker);
  auto silent = p.wrap(dtx.data(), dtx.size(), true);
  EXPECT_TRUE(silent.payload.empty());
  EXPECT_EQ(silent.timestampStep, 960u);
  EXPECT_TRUE(p.wrap(speech.data(), speech.size(), true).marker);  // talkspurt resumes
  // Without dropDtx the DTX frame is sent and the stream continues without a marker.
  EXPECT_EQ(p.wrap(dtx.data(), dtx.size(), false).payload, dtx);
  EXPECT_FALSE(p.wrap(speech.data(), speech.size(), false).marker);
}

TEST(OpusPayload, PacketDurationFromToc) {
  const std::uint8_t celt20[] = {static_cast<std::uint8_t>(31 << 3), 0};       // CELT FB 20 ms
  const std::uint8_t silk60x2[] = {static_cast<std::uint8_t>((3 << 3) | 1), 0};  // 2 x 60 ms
  const std::uint8_t code3[] = {static_cast<std::uint8_t>((19 << 3) | 3), 4};  // code 3, 4 frames
  EXPECT_EQ(opusPacketSamples(celt20, 2), 960u);
  EXPECT_EQ(opusPacketSamples(silk60x2, 2), 5760u);
  EXPECT_EQ(opusPacketSamples(code3, 2), 4u * 960u);  // config 19: CELT NB 20 ms
  EXPECT_EQ(opusPacketSamples(code3, 1), 0u);
  EXPECT_EQ(opusPacketSamples(nullptr, 0), 0u);
  const std::uint8_t tooLong[] = {static_cast<std::uint8_t>((3 << 3) | 3), 3};  // 180 ms
  EXPECT_EQ(opusPacketSamples(tooLong, 2), 0u);
}

TEST(Vp8Descriptor, ParsesHandWrittenVariants) {
  {
    const Bytes b = {0x10, 0xaa};
    auto d = parseVp8Descriptor(b.data(), b.size());
    ASSERT_TRUE(d.ok());
    EXPECT_TRUE(d->startOfPartition);
    EXPECT_TRUE(d->startsFrame());
    EXPECT_EQ(d->size, 1u);
    EXPECT_FALSE(d->pictureId.has_value());
  }
  {
    const Bytes b = {0x90, 0x80, 0x81, 0x23};  // X S, I, M=1 PictureID 0x0123
    auto d = parseVp8Descriptor(b.data(), b.size());
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->pictureId, 0x0123);
    EXPECT_TRUE(d->pictureId15);
    EXPECT_EQ(d->size, 4u);
  }
  {
    const Bytes b = {0xa3, 0xe0, 0x05, 0x07, 0xa0};  // X N PID=3, I L T, 7-bit PID, TL0, TID=2 Y
    auto d = parseVp8Descriptor(b.data(), b.size());
    ASSERT_TRUE(d.ok());
    EXPECT_TRUE(d->nonReference);
    EXPECT_FALSE(d->startOfPartition);
    EXPECT_EQ(d->partitionId, 3);
    EXPECT_EQ(d->pictureId, 5);
    EXPECT_FALSE(d->pictureId15);
    EXPECT_EQ(d->tl0PicIdx, 7);
    EXPECT_EQ(d->temporalId, 2);
    EXPECT_TRUE(d->layerSync);
    EXPECT_FALSE(d->keyIdx.has_value());
    EXPECT_EQ(d->size, 5u);
  }
  {
    const Bytes b = {0x80, 0x10, 0xcf};  // K only: KEYIDX 15, TID bits ignored
    auto d = parseVp8Descriptor(b.data(), b.size());
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->keyIdx, 15);
    EXPECT_FALSE(d->temporalId.has_value());
    EXPECT_EQ(d->size, 3u);
  }
  const Bytes truncated[] = {{}, {0x80}, {0x80, 0x80}, {0x80, 0x80, 0x80}, {0x80, 0x40},
                             {0x80, 0x20}, {0x80, 0xf0, 0x01, 0x02}};
  for (const auto& t : truncated) {
    auto d = parseVp8Descriptor(t.data(), t.size());
    EXPECT_FALSE(d.ok()) << "size " << t.size();
  }
}

TEST(Vp8Descriptor, EncodesAndRejectsOutOfRange) {
  Vp8Descriptor d;
  d.startOfPartition = true;
  d.pictureId = 0x0123;
  d.pictureId15 = true;
  Bytes out;
  ASSERT_TRUE(appendVp8Descriptor(out, d).ok());
  EXPECT_EQ(out, (Bytes{0x90, 0x80, 0x81, 0x23}));
  Vp8Descriptor l;
  l.tl0PicIdx = 9;  // L implies T (TID 0)
  out.clear();
  ASSERT_TRUE(appendVp8Descriptor(out, l).ok());
  EXPECT_EQ(out, (Bytes{0x80, 0x60, 0x09, 0x00}));
  Vp8Descriptor bad;
  bad.pictureId = 200;  // 7-bit
  EXPECT_FALSE(appendVp8Descriptor(out, bad).ok());
  bad.pictureId15 = true;
  EXPECT_TRUE(appendVp8Descriptor(out, bad).ok());
  bad.partitionId = 8;
  EXPECT_FALSE(appendVp8Descriptor(out, bad).ok());
}

Bytes keyframeBytes(std::size_t size, std::uint16_t w, std::uint16_t h, std::uint32_t seed) {
  Bytes f(std::max<std::size_t>(size, 10));
  std::mt19937 rng(seed);
  for (auto& b : f) b = static_cast<std::uint8_t>(rng());
  f[0] = 0x50;  // P=0: key frame
  f[3] = 0x9d;
  f[4] = 0x01;
  f[5] = 0x2a;
  f[6] = static_cast<std::uint8_t>(w);
  f[7] = static_cast<std::uint8_t>(w >> 8);
  f[8] = static_cast<std::uint8_t>(h);
  f[9] = static_cast<std::uint8_t>(h >> 8);
  return f;
}

TEST(Vp8PayloadHeader, DetectsKeyframeAndSize) {
  const Bytes key = keyframeBytes(10, 640, 480, 1);
  auto info = parseVp8PayloadHeader(key.data(), key.size());
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->keyframe);
  EXPECT_EQ(info->width, 640);
  EXPECT_EQ(info->height, 480);
  const Bytes scaled = keyframeBytes(10, 0xc000 | 1280, 0x4000 | 720, 2);  // scale bits masked
  info = parseVp8PayloadHeader(scaled.data(), scaled.size());
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->width, 1280);
  EXPECT_EQ(info->height, 720);
  const Bytes delta = {0x51, 0x00, 0x00};
  info = parseVp8PayloadHeader(delta.data(), delta.size());
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->keyframe);
  EXPECT_FALSE(parseVp8PayloadHeader(key.data(), 9).ok());
  Bytes badStart = key;
  badStart[4] = 0;
  EXPECT_EQ(parseVp8PayloadHeader(badStart.data(), badStart.size()).error(),
            MediaError::BadLength);
}

// Packetizes, checks every packet, depacketizes and compares.
void roundTrip(Vp8Packetizer::Config cfg, std::size_t frameSize, std::size_t expectPackets) {
  Vp8Packetizer pz(cfg, 0x7ffe);
  const Bytes frame = keyframeBytes(frameSize, 320, 240, static_cast<std::uint32_t>(frameSize));
  for (int f = 0; f < 3; ++f) {  // PictureID wraps 0x7ffe -> 0x7fff -> 0
    const std::uint16_t expectPid = static_cast<std::uint16_t>((0x7ffe + f) & 0x7fff);
    auto packets = pz.packetize(frame.data(), frame.size(), 0, false);
    ASSERT_TRUE(packets.ok());
    ASSERT_EQ(packets->size(), expectPackets) << "frame size " << frameSize;
    Bytes rebuilt;
    for (std::size_t i = 0; i < packets->size(); ++i) {
      const auto& p = packets.value()[i];
      EXPECT_LE(p.payload.size(), cfg.maxPayloadSize);
      EXPECT_EQ(p.marker, i + 1 == packets->size());
      auto v = depacketizeVp8(p.payload.data(), p.payload.size());
      ASSERT_TRUE(v.ok());
      EXPECT_EQ(v->descriptor.startOfPartition, i == 0);
      EXPECT_EQ(v->descriptor.partitionId, 0);
      if (cfg.pictureId) {
        EXPECT_EQ(v->descriptor.pictureId, expectPid);
        EXPECT_TRUE(v->descriptor.pictureId15);
      }
      rebuilt.insert(rebuilt.end(), v->data, v->data + v->size);
    }
    EXPECT_EQ(rebuilt, frame);
  }
}

TEST(Vp8Packetizer, RoundTripsOneToThreePackets) {
  Vp8Packetizer::Config cfg;
  cfg.maxPayloadSize = 104;  // 4-byte descriptor + 100 bytes
  roundTrip(cfg, 10, 1);
  roundTrip(cfg, 100, 1);
  roundTrip(cfg, 101, 2);
  roundTrip(cfg, 200, 2);
  roundTrip(cfg, 201, 3);
  roundTrip(cfg, 300, 3);
}

TEST(Vp8Packetizer, RoundTripsLargeFrames) {
  Vp8Packetizer::Config cfg;
  cfg.maxPayloadSize = 1200;
  roundTrip(cfg, 100 * 1024, (100 * 1024 + 1195) / 1196);
  cfg.pictureId = false;
  roundTrip(cfg, 100 * 1024, (100 * 1024 + 1198) / 1199);
}

TEST(Vp8Packetizer, EmptyFrameAndTemporalLayers) {
  Vp8Packetizer::Config cfg;
  cfg.temporalLayers = true;
  Vp8Packetizer pz(cfg, 5);
  auto empty = pz.packetize(nullptr, 0);
  ASSERT_TRUE(empty.ok());
  ASSERT_EQ(empty->size(), 1u);
  EXPECT_TRUE(empty.value()[0].marker);
  auto v = depacketizeVp8(empty.value()[0].payload.data(), empty.value()[0].payload.size());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->size, 0u);
  EXPECT_EQ(v->descriptor.pictureId, 5);
  EXPECT_EQ(v->descriptor.temporalId, 0);
  const std::uint8_t tl0 = *v->descriptor.tl0PicIdx;
  const Bytes frame(50, 1);
  auto t1 = pz.packetize(frame.data(), frame.size(), 1, true);
  ASSERT_TRUE(t1.ok());
  v = depacketizeVp8(t1.value()[0].payload.data(), t1.value()[0].payload.size());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->descriptor.temporalId, 1);
  EXPECT_TRUE(v->descriptor.layerSync);
  EXPECT_EQ(v->descriptor.tl0PicIdx, tl0);  // TID 1 does not advance TL0PICIDX
  auto t0 = pz.packetize(frame.data(), frame.size(), 0, false);
  ASSERT_TRUE(t0.ok());
  v = depacketizeVp8(t0.value()[0].payload.data(), t0.value()[0].payload.size());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->descriptor.tl0PicIdx, static_cast<std::uint8_t>(tl0 + 1));
  EXPECT_FALSE(pz.packetize(frame.data(), frame.size(), 4, false).ok());
  Vp8Packetizer::Config tiny;
  tiny.maxPayloadSize = 4;  // only room for the descriptor
  Vp8Packetizer small(tiny);
  EXPECT_FALSE(small.packetize(frame.data(), frame.size()).ok());
}

}  // namespace
}  // namespace tern::media
