// Opus encoder/decoder: tone round trips, in-band FEC recovery, concealment, DTX, bad input.
#include <tern/media/opus_codec.hpp>
#include <tern/media/tone.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace tern::media {
namespace {

struct RoundTrip {
  std::vector<std::int16_t> input;
  std::vector<std::int16_t> output;
};

// Encodes `frames` frames of a tone and decodes every packet.
RoundTrip toneRoundTrip(double freq, double amplitude, int channels, int frame_ms, int frames,
                        int bitrate) {
  OpusEncoderConfig ec;
  ec.channels = channels;
  ec.frame_ms = frame_ms;
  ec.bitrate_bps = bitrate;
  auto enc = OpusAudioEncoder::create(ec);
  EXPECT_TRUE(enc.ok());
  auto dec = OpusAudioDecoder::create(OpusDecoderConfig{channels, frame_ms});
  EXPECT_TRUE(dec.ok());
  ToneGenerator gen(freq, amplitude, channels);
  RoundTrip rt;
  const std::size_t spc = enc.value().samplesPerChannel();
  for (int i = 0; i < frames; ++i) {
    auto pcm = gen.generate(spc);
    rt.input.insert(rt.input.end(), pcm.begin(), pcm.end());
    auto packet = enc.value().encode(pcm.data(), spc);
    EXPECT_TRUE(packet.ok());
    auto out = dec.value().decode(packet.value());
    EXPECT_TRUE(out.ok());
    EXPECT_EQ(out.value().size(), spc * channels);
    rt.output.insert(rt.output.end(), out.value().begin(), out.value().end());
  }
  EXPECT_EQ(dec.value().counts().normal_frames, static_cast<std::uint64_t>(frames));
  return rt;
}

void expectToneRecovered(double freq, int channels, int frame_ms, int bitrate) {
  const auto rt = toneRoundTrip(freq, 0.3, channels, frame_ms, 100, bitrate);
  // Skip the first 200 ms (encoder start-up and codec delay), analyse 500 ms.
  const std::size_t skip = 9600 * channels;
  const auto in = analyzeTone(rt.input.data() + skip, 24000, channels);
  const auto out = analyzeTone(rt.output.data() + skip, 24000, channels);
  EXPECT_NEAR(in.frequency_hz, freq, 1.0);
  EXPECT_NEAR(out.frequency_hz, freq, 2.0);
  EXPECT_NEAR(out.rms_dbfs, in.rms_dbfs, 1.0);
  EXPECT_NEAR(out.tone_dbfs, in.tone_dbfs, 1.0);
}

TEST(Opus, Stereo440HzRoundTripKeepsFrequencyAndLevel) { expectToneRecovered(440.0, 2, 20, 64000); }
TEST(Opus, Mono1kHzRoundTripKeepsFrequencyAndLevel) { expectToneRecovered(1000.0, 1, 20, 32000); }
TEST(Opus, TenMillisecondFrames) { expectToneRecovered(1000.0, 2, 10, 64000); }

TEST(Opus, RejectsBadConfigurationAndFrameSizes) {
  OpusEncoderConfig bad;
  bad.channels = 3;
  EXPECT_EQ(OpusAudioEncoder::create(bad).error().code, CodecErrorCode::InvalidArgument);
  bad = {};
  bad.frame_ms = 30;
  EXPECT_FALSE(OpusAudioEncoder::create(bad).ok());
  bad = {};
  bad.bitrate_bps = 100;
  EXPECT_FALSE(OpusAudioEncoder::create(bad).ok());
  EXPECT_FALSE(OpusAudioDecoder::create(OpusDecoderConfig{0, 20}).ok());

  auto enc = OpusAudioEncoder::create(OpusEncoderConfig{});
  ASSERT_TRUE(enc.ok());
  std::vector<std::int16_t> pcm(2 * 480);
  auto r = enc.value().encode(pcm.data(), 480);  // configured for 960
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, CodecErrorCode::InvalidArgument);
  EXPECT_FALSE(enc.value().setBitrate(1).ok());
  EXPECT_FALSE(enc.value().setExpectedPacketLoss(101).ok());
  EXPECT_TRUE(enc.value().setBitrate(24000).ok());
  EXPECT_EQ(enc.value().config().bitrate_bps, 24000);
  EXPECT_TRUE(enc.value().setExpectedPacketLoss(25).ok());
  EXPECT_EQ(enc.value().config().expected_loss_percent, 25);
}

// Encodes 440 Hz for 40 frames then 1 kHz; loses frame 40 (the first 1 kHz frame) and recovers it
// with decodeFec(packet 41) or conceal(). Returns the last 10 ms of the recovered frame.
std::vector<std::int16_t> recoverLostFrame(int channels, int bitrate, int loss_percent,
                                           bool use_fec) {
  OpusEncoderConfig ec;
  ec.channels = channels;
  ec.bitrate_bps = bitrate;
  ec.expected_loss_percent = loss_percent;
  auto enc = OpusAudioEncoder::create(ec);
  EXPECT_TRUE(enc.ok());
  const std::size_t spc = 960;
  constexpr int kLost = 40;
  ToneGenerator low(440.0, 0.3, channels);
  ToneGenerator high(1000.0, 0.3, channels);
  std::vector<std::vector<std::uint8_t>> packets;
  for (int i = 0; i < kLost + 2; ++i) {
    auto pcm = i < kLost ? low.generate(spc) : high.generate(spc);
    packets.push_back(enc.value().encode(pcm.data(), spc).value());
  }
  auto dec = OpusAudioDecoder::create(OpusDecoderConfig{channels, 20});
  EXPECT_TRUE(dec.ok());
  for (int i = 0; i < kLost; ++i) EXPECT_TRUE(dec.value().decode(packets[i]).ok());
  auto r = use_fec ? dec.value().decodeFec(packets[kLost + 1]) : dec.value().conceal();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.value().size(), spc * channels);
  EXPECT_TRUE(dec.value().decode(packets[kLost + 1]).ok());
  EXPECT_EQ(dec.value().counts().fec_frames, use_fec ? 1u : 0u);
  EXPECT_EQ(dec.value().counts().concealed_frames, use_fec ? 0u : 1u);
  EXPECT_EQ(dec.value().counts().normal_frames, static_cast<std::uint64_t>(kLost + 1));
  // The decoder output lags the input by the codec delay (~6.5 ms): the last 10 ms of the
  // recovered frame are all new signal.
  return std::vector<std::int16_t>(r.value().begin() + 480 * channels, r.value().end());
}

// A lost frame where the signal changes: the frame recovered from the next packet's FEC has the
// new signal, which concealment (extrapolating the old one) cannot invent.
void expectFecRecovers(int channels, int bitrate) {
  const auto fec = recoverLostFrame(channels, bitrate, 10, true);
  const auto plc = recoverLostFrame(channels, bitrate, 10, false);
  ToneGenerator high(1000.0, 0.3, channels);
  const auto original = high.generate(480);
  const auto fec_tone = analyzeTone(fec.data(), 480, channels);
  EXPECT_NEAR(fec_tone.frequency_hz, 1000.0, 30.0);
  EXPECT_NEAR(fec_tone.rms_dbfs, rmsDbfs(original.data(), 480, channels), 4.0);
  EXPECT_GT(toneLevelDbfs(fec.data(), 480, channels, 1000.0),
            toneLevelDbfs(plc.data(), 480, channels, 1000.0) + 10.0);
  EXPECT_NEAR(analyzeTone(plc.data(), 480, channels).frequency_hz, 440.0, 30.0);
}

TEST(Opus, FecRecoversTheLostFrameMono32k) { expectFecRecovers(1, 32000); }
TEST(Opus, FecRecoversTheLostFrameStereo64kDefaults) { expectFecRecovers(2, 64000); }

// libopus adds LBRR data only when told to expect loss: with 0% the "FEC" call can only conceal.
TEST(Opus, NoFecDataWhenNoLossIsExpected) {
  const auto fec = recoverLostFrame(2, 64000, 0, true);
  EXPECT_LT(toneLevelDbfs(fec.data(), 480, 2, 1000.0), -40.0);
}

TEST(Opus, ConcealmentProducesFramesOfTheConfiguredLength) {
  for (int channels : {1, 2}) {
    for (int ms : {10, 20}) {
      auto dec = OpusAudioDecoder::create(OpusDecoderConfig{channels, ms});
      ASSERT_TRUE(dec.ok());
      for (int i = 0; i < 5; ++i) {
        auto r = dec.value().conceal();
        ASSERT_TRUE(r.ok());
        EXPECT_EQ(r.value().size(), static_cast<std::size_t>(ms * 48 * channels));
      }
      EXPECT_EQ(dec.value().counts().concealed_frames, 5u);
      EXPECT_EQ(dec.value().samplesPerChannel(), static_cast<std::size_t>(ms * 48));
    }
  }
}

TEST(Opus, ConcealmentContinuesTheToneThenFades) {
  OpusEncoderConfig ec;
  ec.channels = 1;
  auto enc = OpusAudioEncoder::create(ec);
  auto dec = OpusAudioDecoder::create(OpusDecoderConfig{1, 20});
  ASSERT_TRUE(enc.ok() && dec.ok());
  ToneGenerator gen(440.0, 0.3, 1);
  for (int i = 0; i < 30; ++i) {
    auto pcm = gen.generate(960);
    ASSERT_TRUE(dec.value().decode(enc.value().encode(pcm.data(), 960).value()).ok());
  }
  auto first = dec.value().conceal().value();
  EXPECT_NEAR(analyzeTone(first.data(), 960, 1).frequency_hz, 440.0, 20.0);
  std::vector<std::int16_t> last;
  for (int i = 0; i < 20; ++i) last = dec.value().conceal().value();
  EXPECT_LT(rmsDbfs(last.data(), last.size()), rmsDbfs(first.data(), first.size()) - 20.0);
}

TEST(Opus, DtxSendsTinyPacketsDuringSilence) {
  OpusEncoderConfig ec;
  ec.channels = 1;
  ec.bitrate_bps = 32000;
  ec.dtx = true;
  auto enc = OpusAudioEncoder::create(ec);
  ASSERT_TRUE(enc.ok());
  std::vector<std::int16_t> silence(960, 0);
  int tiny = 0;
  for (int i = 0; i < 100; ++i) {
    auto p = enc.value().encode(silence.data(), 960);
    ASSERT_TRUE(p.ok());
    ASSERT_GE(p.value().size(), 1u);
    if (i >= 50 && p.value().size() <= 2) ++tiny;
  }
  EXPECT_GE(tiny, 45);  // after the hangover, (nearly) every packet is a DTX packet

  ToneGenerator gen(1000.0, 0.3, 1);
  std::size_t tone_bytes = 0;
  for (int i = 0; i < 20; ++i) {
    auto pcm = gen.generate(960);
    tone_bytes += enc.value().encode(pcm.data(), 960).value().size();
  }
  EXPECT_GT(tone_bytes / 20, 20u);

  // DTX off: silence still gives normal packets.
  ASSERT_TRUE(enc.value().setDtx(false).ok());
  int big = 0;
  for (int i = 0; i < 50; ++i) {
    if (enc.value().encode(silence.data(), 960).value().size() > 2) ++big;
  }
  EXPECT_EQ(big, 50);
}

TEST(Opus, DecoderRejectsBadPacketsAndStaysUsable) {
  auto dec = OpusAudioDecoder::create(OpusDecoderConfig{2, 20});
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(dec.value().decode(nullptr, 0).error().code, CodecErrorCode::CorruptInput);
  // Code-3 packet (RFC 6716 3.2.5) announcing zero frames.
  const std::vector<std::uint8_t> zero_frames = {0x03, 0x00};
  EXPECT_EQ(dec.value().decode(zero_frames).error().code, CodecErrorCode::CorruptInput);
  // Code-3 packet announcing 48 x 20 ms = 960 ms (> 120 ms).
  const std::vector<std::uint8_t> too_long = {0x1b, 0x30, 0x00};
  EXPECT_FALSE(dec.value().decode(too_long).ok());
  EXPECT_FALSE(dec.value().decodeFec(zero_frames).ok());
  EXPECT_GE(dec.value().counts().errors, 3u);

  // Random bytes: every result is a value or an error, never a crash.
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::vector<std::uint8_t> junk(1 + rng() % 400);
    for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
    auto r = dec.value().decode(junk);
    if (r.ok()) {
      EXPECT_EQ(r.value().size() % 2, 0u);
    }
    (void)dec.value().decodeFec(junk);
  }
  // Still decodes real audio afterwards.
  auto enc = OpusAudioEncoder::create(OpusEncoderConfig{});
  ASSERT_TRUE(enc.ok());
  ToneGenerator gen(440.0, 0.3, 2);
  std::vector<std::int16_t> out;
  for (int i = 0; i < 30; ++i) {
    auto pcm = gen.generate(960);
    out = dec.value().decode(enc.value().encode(pcm.data(), 960).value()).value();
  }
  EXPECT_NEAR(analyzeTone(out.data(), 960, 2).frequency_hz, 440.0, 5.0);
}

}  // namespace
}  // namespace tern::media
