// Test-signal tools: tone generator, analyser, gap finder, video pattern.
#include <tern/media/tone.hpp>

#include "test_signals.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace tern::media {
namespace {

TEST(Tone, GeneratorAndAnalyserAgreeOnFrequencyAndLevel) {
  for (double f : {100.0, 440.0, 1000.0, 3333.0, 12000.0}) {
    ToneGenerator gen(f, 0.5, 2);
    auto pcm = gen.generate(960);
    const auto a = analyzeTone(pcm.data(), 960, 2);
    EXPECT_NEAR(a.frequency_hz, f, 1.0) << f;
    // Amplitude 0.5 of full scale: 20*log10(0.5/sqrt(2)) = -9.03 dBFS.
    EXPECT_NEAR(a.rms_dbfs, -9.03, 0.1) << f;
    EXPECT_NEAR(a.tone_dbfs, -9.03, 0.3) << f;
    EXPECT_NEAR(toneLevelDbfs(pcm.data(), 960, 2, f), -9.03, 0.3) << f;
  }
}

TEST(Tone, PhaseIsContinuousAcrossFrames) {
  ToneGenerator pieces(1000.0, 0.5, 1);
  ToneGenerator whole(1000.0, 0.5, 1);
  std::vector<std::int16_t> joined;
  for (int i = 0; i < 7; ++i) {
    auto p = pieces.generate(137);
    joined.insert(joined.end(), p.begin(), p.end());
  }
  EXPECT_EQ(joined, whole.generate(7 * 137));
}

TEST(Tone, SilenceAndNoise) {
  std::vector<std::int16_t> silence(960, 0);
  const auto a = analyzeTone(silence.data(), 960, 1);
  EXPECT_EQ(a.frequency_hz, 0.0);
  EXPECT_EQ(a.rms_dbfs, kSilenceDbfs);
  auto noise = test::whiteNoise(4800, 1000.0, 1);
  EXPECT_NEAR(rmsDbfs(noise.data(), noise.size()), 20 * std::log10(1000.0 / 32768.0), 0.3);
  EXPECT_EQ(analyzeTone(nullptr, 100, 1).rms_dbfs, kSilenceDbfs);
}

TEST(Tone, ToneInNoiseIsStillFound) {
  ToneGenerator gen(700.0, 0.1, 1);
  auto mixed = test::mix(gen.generate(4800), test::whiteNoise(4800, 1000.0, 2));
  EXPECT_NEAR(analyzeTone(mixed.data(), 4800, 1).frequency_hz, 700.0, 2.0);
}

TEST(Tone, GapsAreFoundAndCounted) {
  ToneGenerator gen(440.0, 0.3, 2);
  auto pcm = gen.generate(48000);
  // Silence 10 ms at 200 ms and 30 ms at 600 ms; 2 ms at 800 ms (too short to count at 5 ms).
  auto zero = [&](double from_ms, double len_ms) {
    for (std::size_t i = static_cast<std::size_t>(from_ms * 48);
         i < static_cast<std::size_t>((from_ms + len_ms) * 48); ++i)
      pcm[2 * i] = pcm[2 * i + 1] = 0;
  };
  zero(200, 10);
  zero(600, 30);
  zero(800, 2);
  auto gaps = findGaps(pcm.data(), 48000, 2, 5.0);
  ASSERT_EQ(gaps.size(), 2u);
  EXPECT_NEAR(static_cast<double>(gaps[0].start_sample), 200 * 48, 48);
  EXPECT_NEAR(static_cast<double>(gaps[0].length_samples), 10 * 48, 96);
  EXPECT_NEAR(static_cast<double>(gaps[1].length_samples), 30 * 48, 96);
  EXPECT_EQ(countGaps(pcm.data(), 48000, 2, 20.0), 1u);
  EXPECT_EQ(countGaps(pcm.data(), 48000, 2, 1.0), 3u);
  auto clean = gen.generate(48000);
  EXPECT_EQ(countGaps(clean.data(), 48000, 2, 1.0), 0u);
  // Trailing silence counts as a gap too.
  std::vector<std::int16_t> tail = gen.generate(4800);
  tail.resize(tail.size() + 2 * 960, 0);
  EXPECT_EQ(countGaps(tail.data(), tail.size() / 2, 2, 10.0), 1u);
}

TEST(VideoPattern, CounterRoundTripsExactly) {
  VideoPattern pattern(640, 480);
  for (std::uint32_t c : {0u, 1u, 2u, 255u, 256u, 65535u, 1234567u, 0xffffffu}) {
    auto frame = pattern.generate(c, 42);
    ASSERT_FALSE(frame.empty());
    EXPECT_EQ(frame.timestamp, 42);
    auto read = VideoPattern::read(frame);
    ASSERT_TRUE(read.has_value()) << c;
    EXPECT_EQ(*read, c);
  }
  EXPECT_EQ(*VideoPattern::read(pattern.generate(0x1000005)), 5u);  // modulo 2^24
}

TEST(VideoPattern, SmallAndOddSizes) {
  EXPECT_TRUE(VideoPattern(32, 32).generate(1).empty());
  EXPECT_FALSE(VideoPattern::read(VideoFrame(32, 32)).has_value());
  VideoPattern odd(175, 99);
  EXPECT_EQ(*VideoPattern::read(odd.generate(777)), 777u);
}

TEST(VideoPattern, DamagedFrameIsRejectedByTheCrc) {
  VideoPattern pattern(320, 240);
  auto frame = pattern.generate(4242);
  // Invert the first cell (top-left, 40x30).
  for (int row = 0; row < 30; ++row)
    for (int col = 0; col < 40; ++col) {
      auto& y = frame.dataY()[row * frame.strideY() + col];
      y = static_cast<std::uint8_t>(251 - y);
    }
  EXPECT_FALSE(VideoPattern::read(frame).has_value());
  // Uniform frames (all black, all white) carry no counter.
  VideoFrame blank(320, 240);
  blank.fill(16, 128, 128);
  EXPECT_FALSE(VideoPattern::read(blank).has_value());
  blank.fill(235, 128, 128);
  EXPECT_FALSE(VideoPattern::read(blank).has_value());
}

}  // namespace
}  // namespace tern::media
