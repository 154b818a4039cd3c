// Hostile input: every prefix of valid packets and random bytes through every parser and into
// the jitter buffers. Nothing may crash or read out of bounds (run under ASan/UBSan in CI).
#include <tern/media/jitter_buffer.hpp>
#include <tern/media/rtcp.hpp>
#include <tern/media/rtp_packet.hpp>
#include <tern/media/vp8_payload.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <vector>

namespace tern::media {
namespace {

using Bytes = std::vector<std::uint8_t>;

// Parses with every parser; the input is copied into an exactly-sized heap buffer so that an
// overread is caught by sanitizers.
void parseAll(const Bytes& input) {
  const std::unique_ptr<std::uint8_t[]> buf(new std::uint8_t[input.size() + 1]);
  std::copy(input.begin(), input.end(), buf.get());
  const std::uint8_t* d = input.empty() ? nullptr : buf.get();
  if (auto r = parseRtp(d, input.size())) {
    ASSERT_LE(r->payloadOffset + r->payloadSize + r->paddingSize, input.size());
    auto ext = r->extensions();
    if (ext) {
      for (const auto& e : ext.value()) {
        ASSERT_GE(e.data + e.size, r->extensionData);
        ASSERT_LE(e.data + e.size, r->extensionData + r->extensionSize);
      }
    }
    (void)r->findExtension(1);
  }
  (void)parseRtcp(d, input.size());
  if (auto v = depacketizeVp8(d, input.size())) {
    ASSERT_LE(v->descriptor.size, input.size());
  }
  (void)parseVp8PayloadHeader(d, input.size());
  (void)isRtcp(d, input.size());
}

std::vector<Bytes> validSamples() {
  std::vector<Bytes> out;
  RtpHeader h;
  h.payloadType = 96;
  h.csrcs = {1, 2};
  h.extensions = {{1, {1}}, {2, {1, 2, 3, 4, 5}}};
  const Bytes payload = {0x90, 0x80, 0x81, 0x23, 0x50, 0, 0, 0x9d, 1, 0x2a, 0x80, 2, 0xe0, 1};
  out.push_back(buildRtp(h, payload.data(), payload.size()).value());
  h.extensions = {{20, Bytes(30, 7)}};
  out.push_back(buildRtp(h, payload.data(), payload.size()).value());
  SenderReport sr;
  sr.reports.resize(2);
  out.push_back(buildRtcp({sr, Sdes{{{1, "cname@example"}}}, Bye{{1, 2}, "bye"},
                           Nack{1, 2, {1, 2, 40, 65535}}, Pli{1, 2}, Fir{1, {{2, 3}}}})
                    .value());
  out.push_back({0x8f, 0xce, 0x00, 0x05, 0x11, 0x11, 0x11, 0x11, 0x00, 0x00, 0x00, 0x00,
                 'R',  'E',  'M',  'B',  0x01, 0x0b, 0xd0, 0x90, 0x22, 0x22, 0x22, 0x22});
  out.push_back(payload);
  return out;
}

TEST(Hostile, EveryPrefixOfValidPackets) {
  for (const auto& sample : validSamples()) {
    for (std::size_t n = 0; n <= sample.size(); ++n) {
      parseAll(Bytes(sample.begin(), sample.begin() + static_cast<std::ptrdiff_t>(n)));
    }
  }
  // Shortened RTCP must never parse as the full compound.
  const Bytes rtcp = validSamples()[2];
  for (std::size_t n = 1; n < rtcp.size(); ++n) {
    auto r = parseRtcp(rtcp.data(), n);
    if (r) {
      EXPECT_LT(r->size(), 6u);
    }
  }
}

TEST(Hostile, RandomBytesAndBitFlips) {
  std::mt19937 rng(20261125);
  for (int iter = 0; iter < 20000; ++iter) {
    Bytes b(rng() % 80);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    if (!b.empty() && (iter & 1)) b[0] = static_cast<std::uint8_t>(0x80 | (b[0] & 0x3f));
    parseAll(b);
  }
  for (const auto& sample : validSamples()) {
    for (int iter = 0; iter < 2000; ++iter) {
      Bytes b = sample;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) {
        b[rng() % b.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
      }
      parseAll(b);
    }
  }
}

TEST(Hostile, JitterBuffersSurviveGarbage) {
  std::mt19937 rng(77);
  AudioJitterBuffer audio;
  VideoFrameAssembler video;
  std::int64_t now = 0;
  for (int i = 0; i < 20000; ++i) {
    now += static_cast<std::int64_t>(rng() % 30000);
    Bytes b(rng() % 40);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    const auto seq = static_cast<std::uint16_t>((rng() & 1) ? rng() : i);
    const auto ts = static_cast<std::uint32_t>((rng() & 1) ? rng() : i * 960u);
    audio.insert(seq, ts, rng() & 1, b.data(), b.size(), now);
    video.insert(seq, ts, rng() & 1, b.data(), b.size(), now);
    (void)audio.pull(now);
    (void)video.popFrames(now);
    (void)video.nackList(now, 50000);
    (void)video.pollKeyframeRequest(now);
  }
  EXPECT_LE(audio.buffered(), AudioJitterBuffer::Config{}.maxPackets);
  EXPECT_LE(video.bufferedPackets(), VideoFrameAssembler::Config{}.maxPackets);
}

}  // namespace
}  // namespace tern::media
