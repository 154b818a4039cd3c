// VP8 encoder/decoder: the counter of the test pattern survives coding at 640x480, keyframes on
// request, bitrate changes, corrupt and hostile input.
#include <tern/media/tone.hpp>
#include <tern/media/vp8_codec.hpp>

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace tern::media {
namespace {

std::vector<EncodedVideoFrame> encodePattern(Vp8Encoder& enc, int width, int height, int first,
                                             int count, int force_key_at = -1) {
  VideoPattern pattern(width, height);
  std::vector<EncodedVideoFrame> out;
  for (int i = first; i < first + count; ++i) {
    auto r = enc.encode(pattern.generate(static_cast<std::uint32_t>(i)), i == force_key_at, i);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    if (!r.ok()) continue;
    EXPECT_EQ(r.value().size(), 1u) << "frame " << i;  // no lag, no frame dropping
    for (auto& f : r.value()) out.push_back(std::move(f));
  }
  return out;
}

TEST(Vp8, PatternCounterSurvivesEveryFrameAt640x480) {
  auto enc = Vp8Encoder::create(Vp8EncoderConfig{});
  ASSERT_TRUE(enc.ok());
  auto dec = Vp8Decoder::create();
  ASSERT_TRUE(dec.ok());
  const auto frames = encodePattern(enc.value(), 640, 480, 0, 90);
  ASSERT_EQ(frames.size(), 90u);
  EXPECT_TRUE(frames[0].keyframe);
  for (std::size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(frames[i].pts, static_cast<std::int64_t>(i));
    auto r = dec.value().decode(frames[i].data, frames[i].pts);
    ASSERT_TRUE(r.ok()) << i << ": " << r.error().message;
    ASSERT_TRUE(r.value().has_value());
    const VideoFrame& pic = *r.value();
    EXPECT_EQ(pic.width(), 640);
    EXPECT_EQ(pic.height(), 480);
    EXPECT_EQ(pic.timestamp, static_cast<std::int64_t>(i));
    auto counter = VideoPattern::read(pic);
    ASSERT_TRUE(counter.has_value()) << "frame " << i;
    EXPECT_EQ(*counter, i);
  }
  EXPECT_EQ(dec.value().counts().decoded_frames, 90u);
  EXPECT_EQ(dec.value().counts().corrupt_frames, 0u);
}

TEST(Vp8, ForceKeyframeGivesAKeyframe) {
  auto enc = Vp8Encoder::create(Vp8EncoderConfig{});
  ASSERT_TRUE(enc.ok());
  const auto frames = encodePattern(enc.value(), 640, 480, 0, 40, 25);
  ASSERT_EQ(frames.size(), 40u);
  int keyframes = 0;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(frames[i].keyframe, isVp8Keyframe(frames[i].data.data(), frames[i].data.size()));
    if (frames[i].keyframe) ++keyframes;
  }
  EXPECT_TRUE(frames[0].keyframe);
  EXPECT_TRUE(frames[25].keyframe);
  EXPECT_FALSE(frames[24].keyframe);
  EXPECT_FALSE(frames[26].keyframe);
  EXPECT_EQ(keyframes, 2);
  int w = 0;
  int h = 0;
  ASSERT_TRUE(isVp8Keyframe(frames[25].data.data(), frames[25].data.size(), &w, &h));
  EXPECT_EQ(w, 640);
  EXPECT_EQ(h, 480);
}

TEST(Vp8, MaxKeyframeIntervalIsHonoured) {
  Vp8EncoderConfig cfg;
  cfg.width = 320;
  cfg.height = 240;
  cfg.max_keyframe_interval = 10;
  auto enc = Vp8Encoder::create(cfg);
  ASSERT_TRUE(enc.ok());
  const auto frames = encodePattern(enc.value(), 320, 240, 0, 35);
  int since_key = 0;
  for (const auto& f : frames) {
    since_key = f.keyframe ? 0 : since_key + 1;
    EXPECT_LT(since_key, 10);
  }
}

TEST(Vp8, LowerBitrateGivesSmallerFrames) {
  Vp8EncoderConfig cfg;
  cfg.bitrate_kbps = 2000;
  auto enc = Vp8Encoder::create(cfg);
  ASSERT_TRUE(enc.ok());
  auto bytes = [](const std::vector<EncodedVideoFrame>& fs, std::size_t from) {
    std::size_t n = 0;
    for (std::size_t i = from; i < fs.size(); ++i) n += fs[i].data.size();
    return n;
  };
  const auto high = encodePattern(enc.value(), 640, 480, 0, 60);
  ASSERT_TRUE(enc.value().setBitrate(200).ok());
  EXPECT_EQ(enc.value().config().bitrate_kbps, 200);
  const auto low = encodePattern(enc.value(), 640, 480, 60, 60);
  // Compare steady state (skip the keyframe and the rate controller's reaction time).
  EXPECT_LT(bytes(low, 30) * 3, bytes(high, 30));
  EXPECT_FALSE(enc.value().setBitrate(0).ok());
}

TEST(Vp8, SizeChangeReinitialisesWithAKeyframe) {
  auto enc = Vp8Encoder::create(Vp8EncoderConfig{});
  auto dec = Vp8Decoder::create();
  ASSERT_TRUE(enc.ok() && dec.ok());
  auto a = encodePattern(enc.value(), 640, 480, 0, 5);
  auto b = encodePattern(enc.value(), 320, 240, 5, 5);
  ASSERT_EQ(b.size(), 5u);
  EXPECT_TRUE(b[0].keyframe);
  for (auto& f : a) ASSERT_TRUE(dec.value().decode(f.data).ok());
  for (std::size_t i = 0; i < b.size(); ++i) {
    auto r = dec.value().decode(b[i].data);
    ASSERT_TRUE(r.ok() && r.value().has_value());
    EXPECT_EQ(r.value()->width(), 320);
    EXPECT_EQ(VideoPattern::read(*r.value()), std::optional<std::uint32_t>(5 + i));
  }
}

TEST(Vp8, EncoderRejectsBadInput) {
  Vp8EncoderConfig cfg;
  cfg.width = 0;
  EXPECT_EQ(Vp8Encoder::create(cfg).error().code, CodecErrorCode::InvalidArgument);
  cfg = {};
  cfg.min_quantizer = 60;
  cfg.max_quantizer = 10;
  EXPECT_FALSE(Vp8Encoder::create(cfg).ok());
  auto enc = Vp8Encoder::create(Vp8EncoderConfig{});
  ASSERT_TRUE(enc.ok());
  EXPECT_FALSE(enc.value().encode(VideoFrame(), false, 0).ok());
}

TEST(Vp8, DeltaFramesBeforeTheFirstKeyframeNeedAKeyframe) {
  auto enc = Vp8Encoder::create(Vp8EncoderConfig{});
  auto dec = Vp8Decoder::create();
  ASSERT_TRUE(enc.ok() && dec.ok());
  const auto frames = encodePattern(enc.value(), 640, 480, 0, 10, 5);
  EXPECT_TRUE(dec.value().waitingForKeyframe());
  for (int i = 1; i < 5; ++i) {
    auto r = dec.value().decode(frames[i].data);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, CodecErrorCode::NeedKeyframe);
  }
  EXPECT_EQ(dec.value().counts().waiting_for_keyframe, 4u);
  for (int i = 5; i < 10; ++i) {
    auto r = dec.value().decode(frames[i].data);
    ASSERT_TRUE(r.ok() && r.value().has_value());
    EXPECT_EQ(VideoPattern::read(*r.value()), std::optional<std::uint32_t>(i));
  }
  EXPECT_FALSE(dec.value().waitingForKeyframe());
  dec.value().notifyFrameLost();
  EXPECT_EQ(dec.value().decode(frames[9].data).error().code, CodecErrorCode::NeedKeyframe);
}

TEST(Vp8, CorruptInputIsAnErrorNeverACrash) {
  auto enc = Vp8Encoder::create(Vp8EncoderConfig{});
  ASSERT_TRUE(enc.ok());
  const auto frames = encodePattern(enc.value(), 640, 480, 0, 20, 10);
  auto dec = Vp8Decoder::create();
  ASSERT_TRUE(dec.ok());

  // Garbage that claims to be a keyframe without the start code.
  std::vector<std::uint8_t> junk(100, 0x00);
  auto r = dec.value().decode(junk);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, CodecErrorCode::CorruptInput);
  EXPECT_FALSE(dec.value().decode(nullptr, 0).ok());
  // A keyframe cut short: the first partition no longer fits.
  std::vector<std::uint8_t> cut(frames[0].data.begin(), frames[0].data.begin() + 40);
  r = dec.value().decode(cut);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, CodecErrorCode::CorruptInput);
  // A keyframe announcing 16000x16000.
  std::vector<std::uint8_t> huge = frames[0].data;
  huge[6] = huge[8] = 0x80;
  huge[7] = huge[9] = 0x3e;
  r = dec.value().decode(huge);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, CodecErrorCode::CorruptInput);

  // Mutated and truncated real frames, and random bytes: values or errors only.
  std::mt19937 rng(3);
  int errors = 0;
  for (int round = 0; round < 300; ++round) {
    std::vector<std::uint8_t> data = frames[rng() % frames.size()].data;
    switch (round % 3) {
      case 0:
        for (int k = 0; k < 8; ++k)
          data[3 + rng() % (data.size() - 3)] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        break;
      case 1:
        data.resize(1 + rng() % data.size());
        break;
      default:
        for (auto& b : data) b = static_cast<std::uint8_t>(rng());
        break;
    }
    auto res = dec.value().decode(data);
    if (!res.ok()) ++errors;
  }
  EXPECT_GT(errors, 0);
  EXPECT_GT(dec.value().counts().corrupt_frames, 0u);

  // A keyframe brings the decoder back.
  r = dec.value().decode(frames[10].data);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r.value().has_value());
  EXPECT_EQ(VideoPattern::read(*r.value()), std::optional<std::uint32_t>(10));
  for (int i = 11; i < 20; ++i) {
    auto d = dec.value().decode(frames[i].data);
    ASSERT_TRUE(d.ok() && d.value().has_value());
    EXPECT_EQ(VideoPattern::read(*d.value()), std::optional<std::uint32_t>(i));
  }
}

}  // namespace
}  // namespace tern::media
