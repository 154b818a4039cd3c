// Cost of the codecs on this machine: Opus encode+decode per 20 ms frame at complexities 5 and
// 10, VP8 640x480 encode per frame. Printed for the performance notes; the assertions only
// check that each stays far inside real time.
#include <tern/media/opus_codec.hpp>
#include <tern/media/tone.hpp>
#include <tern/media/vp8_codec.hpp>

#include "test_signals.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

namespace tern::media {
namespace {

using Clock = std::chrono::steady_clock;

double microsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

// Speech-like input: a tone plus noise, so the encoder does real work.
double opusFrameCostUs(int complexity, int channels, int bitrate) {
  OpusEncoderConfig ec;
  ec.channels = channels;
  ec.bitrate_bps = bitrate;
  ec.complexity = complexity;
  auto enc = OpusAudioEncoder::create(ec);
  auto dec = OpusAudioDecoder::create(OpusDecoderConfig{channels, 20});
  EXPECT_TRUE(enc.ok() && dec.ok());
  constexpr int kFrames = 500;  // 10 s of audio
  ToneGenerator gen(440.0, 0.2, channels);
  const auto noise =
      test::whiteNoise(960 * static_cast<std::size_t>(channels) * kFrames, 1500.0, 1);
  std::vector<std::vector<std::int16_t>> input;
  for (int i = 0; i < kFrames; ++i) {
    auto tone = gen.generate(960);
    std::vector<std::int16_t> n(noise.begin() + static_cast<std::ptrdiff_t>(i * tone.size()),
                                noise.begin() + static_cast<std::ptrdiff_t>((i + 1) * tone.size()));
    input.push_back(test::mix(tone, n));
  }
  const auto start = Clock::now();
  for (const auto& pcm : input) {
    auto p = enc.value().encode(pcm.data(), 960);
    EXPECT_TRUE(p.ok());
    EXPECT_TRUE(dec.value().decode(p.value()).ok());
  }
  return microsSince(start) / kFrames;
}

TEST(Perf, OpusCostPer20msFrame) {
  for (int channels : {1, 2}) {
    const int bitrate = channels == 1 ? 32000 : 64000;
    for (int complexity : {5, 9, 10}) {
      const double us = opusFrameCostUs(complexity, channels, bitrate);
      std::printf(
          "opus %s %d kbit/s complexity %2d: %.1f us per 20 ms frame (encode+decode),"
          " %.2f%% of real time\n",
          channels == 1 ? "mono  " : "stereo", bitrate / 1000, complexity, us,
          us / 20000.0 * 100.0);
      EXPECT_LT(us, 10000.0);  // far inside the 20 ms budget
    }
  }
}

TEST(Perf, Vp8EncodeAndDecodeCostPerFrameAt640x480) {
  for (int cpu_used : {-4, -6, -8}) {
    Vp8EncoderConfig cfg;
    cfg.cpu_used = cpu_used;
    auto enc = Vp8Encoder::create(cfg);
    auto dec = Vp8Decoder::create();
    ASSERT_TRUE(enc.ok() && dec.ok());
    VideoPattern pattern(640, 480);
    constexpr int kFrames = 90;
    std::vector<VideoFrame> frames;
    for (int i = 0; i < kFrames; ++i)
      frames.push_back(pattern.generate(static_cast<std::uint32_t>(i)));
    std::vector<EncodedVideoFrame> encoded;
    auto start = Clock::now();
    for (int i = 0; i < kFrames; ++i) {
      auto r = enc.value().encode(frames[i], false, i);
      ASSERT_TRUE(r.ok());
      for (auto& f : r.value()) encoded.push_back(std::move(f));
    }
    const double enc_us = microsSince(start) / kFrames;
    std::size_t bytes = 0;
    start = Clock::now();
    for (const auto& f : encoded) {
      bytes += f.data.size();
      ASSERT_TRUE(dec.value().decode(f.data).ok());
    }
    const double dec_us = microsSince(start) / static_cast<double>(encoded.size());
    std::printf(
        "vp8 640x480 800 kbit/s cpu_used %d: encode %.2f ms/frame, decode %.2f ms/frame,"
        " %.0f kbit/s at 30 fps\n",
        cpu_used, enc_us / 1000.0, dec_us / 1000.0, bytes * 8.0 / 1000.0 / (kFrames / 30.0));
    EXPECT_LT(enc_us, 33000.0);
  }
}

}  // namespace
}  // namespace tern::media
