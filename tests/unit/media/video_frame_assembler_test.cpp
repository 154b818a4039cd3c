// VideoFrameAssembler: in-order assembly, reordering, loss -> NACK -> retransmission, NACK
// spacing and retry limits, unrecoverable loss -> keyframe request, start mid-stream.
#include <tern/media/jitter_buffer.hpp>
#include <tern/media/vp8_payload.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace tern::media {
namespace {

using Bytes = std::vector<std::uint8_t>;

struct RtpLike {
  std::uint16_t seq = 0;
  std::uint32_t ts = 0;
  bool marker = false;
  Bytes payload;
};

Bytes makeFrame(bool key, std::size_t size, std::uint32_t seed) {
  Bytes f(std::max<std::size_t>(size, 10));
  std::mt19937 rng(seed);
  for (auto& b : f) b = static_cast<std::uint8_t>(rng());
  f[0] = key ? 0x50 : 0x51;
  if (key) {
    f[3] = 0x9d;
    f[4] = 0x01;
    f[5] = 0x2a;
    f[6] = 0x80;  // 640
    f[7] = 0x02;
    f[8] = 0xe0;  // 480
    f[9] = 0x01;
  }
  return f;
}

// A stream of frames: frame 0 and every `keyEvery`-th are key frames; ~3 packets each.
struct Stream {
  Vp8Packetizer packetizer{Vp8Packetizer::Config{500, true, false}, 0};
  std::uint16_t seq = 65530;  // wraps during the test
  std::uint32_t ts = 1000;
  std::vector<Bytes> frames;
  std::vector<RtpLike> frame(bool key, std::size_t size) {
    frames.push_back(makeFrame(key, size, static_cast<std::uint32_t>(frames.size())));
    auto pk = packetizer.packetize(frames.back().data(), frames.back().size());
    std::vector<RtpLike> out;
    for (auto& p : pk.value()) out.push_back({seq++, ts, p.marker, p.payload});
    ts += 3000;
    return out;
  }
};

bool feed(VideoFrameAssembler& a, const RtpLike& p, std::int64_t now) {
  return a.insert(p.seq, p.ts, p.marker, p.payload.data(), p.payload.size(), now);
}

TEST(VideoFrameAssembler, EmitsFramesInOrderAcrossWraparound) {
  Stream s;
  VideoFrameAssembler a;
  std::vector<AssembledFrame> got;
  for (int f = 0; f < 10; ++f) {
    auto pk = s.frame(f == 0, 1200);
    ASSERT_EQ(pk.size(), 3u);
    std::swap(pk[0], pk[2]);  // reordered within the frame
    for (auto& p : pk) EXPECT_TRUE(feed(a, p, f * 33000));
    auto out = a.popFrames(f * 33000);
    got.insert(got.end(), out.begin(), out.end());
  }
  ASSERT_EQ(got.size(), 10u);
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].data, s.frames[i]);
    EXPECT_EQ(got[i].keyframe, i == 0);
    EXPECT_EQ(got[i].pictureId, i);
  }
  EXPECT_EQ(got[0].width, 640);
  EXPECT_EQ(got[0].height, 480);
  EXPECT_TRUE(a.nackList(400000, 50000).empty());
  EXPECT_FALSE(a.pollKeyframeRequest(400000));
  EXPECT_EQ(a.bufferedPackets(), 0u);
  EXPECT_EQ(a.stats().framesEmitted, 10u);
}

TEST(VideoFrameAssembler, LossNackRetransmissionCompletesFrame) {
  Stream s;
  VideoFrameAssembler a;
  auto f0 = s.frame(true, 1200);
  auto f1 = s.frame(false, 1200);
  auto f2 = s.frame(false, 1200);
  for (auto& p : f0) feed(a, p, 0);
  ASSERT_EQ(a.popFrames(0).size(), 1u);
  // The middle packet of frame 1 is lost.
  feed(a, f1[0], 10000);
  feed(a, f1[2], 10000);
  for (auto& p : f2) feed(a, p, 12000);
  EXPECT_TRUE(a.popFrames(12000).empty());  // frame 2 waits for frame 1
  auto nack = a.nackList(12000, 50000);
  EXPECT_EQ(nack, std::vector<std::uint16_t>{f1[1].seq});
  // Not again before an RTT has passed.
  EXPECT_TRUE(a.nackList(30000, 50000).empty());
  EXPECT_EQ(a.nackList(62000, 50000), std::vector<std::uint16_t>{f1[1].seq});
  // The retransmission arrives.
  EXPECT_TRUE(feed(a, f1[1], 70000));
  auto out = a.popFrames(70000);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].data, s.frames[1]);
  EXPECT_EQ(out[1].data, s.frames[2]);
  EXPECT_EQ(a.stats().recovered, 1u);
  EXPECT_TRUE(a.nackList(200000, 50000).empty());
  EXPECT_FALSE(a.pollKeyframeRequest(200000));
  // A late duplicate of the retransmission is refused.
  EXPECT_FALSE(feed(a, f1[1], 80000));
}

TEST(VideoFrameAssembler, NackRetriesAreLimited) {
  VideoFrameAssembler::Config cfg;
  cfg.maxNackRetries = 3;
  cfg.frameTimeoutUs = 10000000;
  Stream s;
  VideoFrameAssembler a(cfg);
  auto f0 = s.frame(true, 1200);
  auto f1 = s.frame(false, 1200);
  for (auto& p : f0) feed(a, p, 0);
  feed(a, f1[0], 0);
  feed(a, f1[2], 0);
  int sent = 0;
  for (std::int64_t t = 0; t < 2000000; t += 10000) {
    sent += static_cast<int>(a.nackList(t, 100000).size());
  }
  EXPECT_EQ(sent, 3);
  EXPECT_EQ(a.stats().nacked, 3u);
}

TEST(VideoFrameAssembler, UnrecoverableLossRequestsKeyframe) {
  VideoFrameAssembler::Config cfg;
  cfg.maxNackRetries = 2;
  cfg.frameTimeoutUs = 600000;
  cfg.keyframeRequestIntervalUs = 300000;
  Stream s;
  VideoFrameAssembler a(cfg);
  auto f0 = s.frame(true, 1200);
  auto f1 = s.frame(false, 1200);
  auto f2 = s.frame(false, 1200);
  for (auto& p : f0) feed(a, p, 0);
  ASSERT_EQ(a.popFrames(0).size(), 1u);
  feed(a, f1[0], 0);  // f1[1] never arrives
  feed(a, f1[2], 0);
  for (auto& p : f2) feed(a, p, 30000);
  std::int64_t t = 30000;
  std::vector<AssembledFrame> out;
  for (; t < 2000000 && !a.waitingForKeyframe(); t += 10000) {
    a.nackList(t, 50000);
    auto o = a.popFrames(t);
    out.insert(out.end(), o.begin(), o.end());
  }
  EXPECT_TRUE(out.empty());  // frame 2 is a delta frame after a lost one: not decodable
  EXPECT_TRUE(a.waitingForKeyframe());
  EXPECT_LE(t, 400000);      // retries exhausted after 2 RTT-spaced NACKs: no need to wait 600 ms
  EXPECT_TRUE(a.pollKeyframeRequest(t));
  EXPECT_FALSE(a.pollKeyframeRequest(t + 1000));          // rate limited
  // More delta frames: dropped; the request repeats after the interval.
  auto f3 = s.frame(false, 1200);
  for (auto& p : f3) feed(a, p, t + 10000);
  EXPECT_TRUE(a.popFrames(t + 10000).empty());
  EXPECT_TRUE(a.pollKeyframeRequest(t + 300000));
  // The keyframe restores the stream.
  auto f4 = s.frame(true, 1200);
  auto f5 = s.frame(false, 1200);
  for (auto& p : f4) feed(a, p, t + 320000);
  for (auto& p : f5) feed(a, p, t + 330000);
  out = a.popFrames(t + 330000);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].keyframe);
  EXPECT_EQ(out[0].data, s.frames[4]);
  EXPECT_EQ(out[1].data, s.frames[5]);
  EXPECT_FALSE(a.waitingForKeyframe());
  EXPECT_FALSE(a.pollKeyframeRequest(t + 900000));
  EXPECT_GE(a.stats().framesDropped, 2u);
}

// Found by fuzz_video_assembler (fuzz/regressions/fuzz_video_assembler/): after a gap too large
// to NACK, the packets of a frame already emitted were accepted again and the old frame came
// out a second time, after newer ones.
TEST(VideoFrameAssembler, GapTooLargeToNackDoesNotReplayOldFrames) {
  VideoFrameAssembler::Config cfg;
  cfg.maxMissing = 12;
  Stream s;
  VideoFrameAssembler a(cfg);
  auto f0 = s.frame(true, 1200);
  for (auto& p : f0) feed(a, p, 0);
  ASSERT_EQ(a.popFrames(0).size(), 1u);
  s.seq = static_cast<std::uint16_t>(s.seq + 100);  // 100 packets lost: no NACK, a keyframe
  auto f1 = s.frame(false, 1200);
  for (auto& p : f1) feed(a, p, 10000);
  EXPECT_TRUE(a.nackList(10000, 20000).empty());
  // The first frame's packets again (duplicated by the network), before the next popFrames:
  // late, not a frame.
  for (auto& p : f0) EXPECT_FALSE(feed(a, p, 20000));
  EXPECT_TRUE(a.popFrames(20000).empty());  // f1 is a delta frame: dropped
  EXPECT_TRUE(a.waitingForKeyframe());
  auto f2 = s.frame(true, 1200);
  for (auto& p : f2) feed(a, p, 30000);
  auto out = a.popFrames(30000);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, s.frames[2]);
  EXPECT_EQ(a.stats().keyframesEmitted, 2u);
}

TEST(VideoFrameAssembler, IncompleteFrameTimesOut) {
  VideoFrameAssembler::Config cfg;
  cfg.frameTimeoutUs = 500000;
  Stream s;
  VideoFrameAssembler a(cfg);
  auto f0 = s.frame(true, 1200);
  auto f1 = s.frame(false, 1200);
  for (auto& p : f0) feed(a, p, 0);
  feed(a, f1[0], 0);  // then nothing else arrives for this frame
  feed(a, f1[2], 0);
  EXPECT_EQ(a.popFrames(0).size(), 1u);
  EXPECT_TRUE(a.popFrames(499000).empty());
  EXPECT_FALSE(a.waitingForKeyframe());
  EXPECT_TRUE(a.popFrames(500000).empty());
  EXPECT_TRUE(a.waitingForKeyframe());
  EXPECT_TRUE(a.pollKeyframeRequest(500000));
}

TEST(VideoFrameAssembler, StartingMidStreamWaitsForKeyframe) {
  Stream s;
  s.frame(true, 1200);  // never delivered
  VideoFrameAssembler a;
  auto d1 = s.frame(false, 1200);
  for (auto& p : d1) feed(a, p, 0);
  EXPECT_TRUE(a.popFrames(0).empty());
  EXPECT_TRUE(a.pollKeyframeRequest(0));
  auto k = s.frame(true, 1200);
  for (auto& p : k) feed(a, p, 10000);
  auto out = a.popFrames(10000);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].keyframe);
}

TEST(VideoFrameAssembler, LostKeyframeIsSkippedForALaterOne) {
  Stream s;
  VideoFrameAssembler a;
  auto k0 = s.frame(true, 1200);
  auto d1 = s.frame(false, 1200);
  auto k2 = s.frame(true, 1200);
  for (auto& p : k0) feed(a, p, 0);
  ASSERT_EQ(a.popFrames(0).size(), 1u);
  feed(a, d1[0], 10000);  // d1 incomplete
  for (auto& p : k2) feed(a, p, 20000);
  auto out = a.popFrames(20000);  // a complete keyframe resynchronises at once
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, s.frames[2]);
  EXPECT_TRUE(a.nackList(20000, 10000).empty());  // the gap before it is no longer wanted
}

TEST(VideoFrameAssembler, PaddingPacketsFillSequenceGaps) {
  Stream s;
  VideoFrameAssembler a;
  auto k0 = s.frame(true, 1200);
  for (auto& p : k0) feed(a, p, 0);
  const std::uint16_t padSeq = s.seq++;
  auto d1 = s.frame(false, 1200);
  for (auto& p : d1) feed(a, p, 1000);
  EXPECT_EQ(a.popFrames(1000).size(), 1u);  // keyframe; d1 waits for the gap
  EXPECT_TRUE(a.insert(padSeq, 0, false, nullptr, 0, 2000));
  auto out = a.popFrames(2000);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, s.frames[1]);
}

TEST(VideoFrameAssembler, RejectsMalformedAndRandomLoss) {
  VideoFrameAssembler a;
  const std::uint8_t bad[] = {0x80};
  EXPECT_FALSE(a.insert(1, 1, true, bad, 1, 0));
  EXPECT_EQ(a.stats().malformed, 1u);
  // 5% random loss with retransmission of everything NACKed: all frames come out, in order.
  std::mt19937 rng(9);
  Stream s;
  VideoFrameAssembler b;
  std::vector<RtpLike> lost;
  std::vector<AssembledFrame> out;
  for (int f = 0; f < 300; ++f) {
    const std::int64_t now = f * 33000;
    for (auto& p : s.frame(f % 100 == 0, 1000 + (rng() % 3000))) {
      if (rng() % 20 == 0) {
        lost.push_back(p);
      } else {
        feed(b, p, now);
      }
    }
    for (auto seq : b.nackList(now, 20000)) {
      auto it = std::find_if(lost.begin(), lost.end(),
                             [&](const RtpLike& p) { return p.seq == seq; });
      ASSERT_NE(it, lost.end());
      feed(b, *it, now + 1000);
    }
    auto o = b.popFrames(now + 1000);
    out.insert(out.end(), o.begin(), o.end());
  }
  ASSERT_GE(out.size(), 299u);
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i].data, s.frames[i]);
  EXPECT_EQ(b.stats().keyframeRequests, 0u);
}

}  // namespace
}  // namespace tern::media
