// Receive statistics (RFC 3550 A.3, A.8) against a hand-computed example; sender report
// fields; RTT from LSR/DLSR; bitrate window; retransmission history.
#include <tern/media/rtp_stats.hpp>
#include <tern/media/rtx_history.hpp>

#include <gtest/gtest.h>

#include <vector>

namespace tern::media {
namespace {

TEST(ReceiveStatistics, HandComputedExample) {
  // 8 kHz clock, 20 ms packets (160 timestamp units). Sequence 12 is lost.
  //  seq  ts   arrival  arrival(ts units)  transit  |D|  J
  //  10    0       0          0              0      -   0
  //  11  160   20 ms        160              0      0   0
  //  13  480   70 ms        560             80     80   80/16 = 5
  //  14  640   80 ms        640              0     80   5 + 75/16 = 9.6875
  ReceiveStatistics rs(8000);
  rs.onPacket(10, 0, 0);
  rs.onPacket(11, 160, 20000);
  rs.onPacket(13, 480, 70000);
  rs.onPacket(14, 640, 80000);
  EXPECT_EQ(rs.expected(), 5);
  EXPECT_EQ(rs.cumulativeLost(), 1);
  EXPECT_EQ(rs.extendedHighestSeq(), 14u);
  EXPECT_DOUBLE_EQ(rs.jitter(), 9.6875);
  EXPECT_DOUBLE_EQ(rs.jitterMs(), 9.6875 / 8.0);
  ReportBlock b = rs.makeReportBlock(0xabcd, 90000);
  EXPECT_EQ(b.ssrc, 0xabcdu);
  EXPECT_EQ(b.fractionLost, 51);  // (1 << 8) / 5 = 51.2
  EXPECT_EQ(b.cumulativeLost, 1);
  EXPECT_EQ(b.extendedHighestSeq, 14u);
  EXPECT_EQ(b.jitter, 9u);
  EXPECT_EQ(b.lastSr, 0u);
  EXPECT_EQ(b.delaySinceLastSr, 0u);
  // Second interval: seq 15 arrives twice (duplicate): received exceeds expected in the
  // interval, fraction lost is clamped to 0, cumulative lost goes back to 0.
  rs.onPacket(15, 800, 100000);
  rs.onPacket(15, 800, 100000);
  EXPECT_DOUBLE_EQ(rs.jitter(), 9.6875 * 15.0 / 16.0 + (0 - 9.6875 * 15.0 / 16.0) / 16.0);
  rs.onSenderReport(0x0000123456780000ull, 1000000);
  b = rs.makeReportBlock(0xabcd, 1500000);
  EXPECT_EQ(b.fractionLost, 0);
  EXPECT_EQ(b.cumulativeLost, 0);
  EXPECT_EQ(b.extendedHighestSeq, 15u);
  EXPECT_EQ(b.lastSr, 0x12345678u);
  EXPECT_EQ(b.delaySinceLastSr, 32768u);  // 0.5 s in 1/65536 s
}

TEST(ReceiveStatistics, ExtendedSequenceCountsCycles) {
  ReceiveStatistics rs(48000);
  rs.onPacket(65534, 0, 0);
  rs.onPacket(65535, 960, 20000);
  rs.onPacket(1, 2880, 60000);
  rs.onPacket(0, 1920, 61000);  // reordered across the wrap
  EXPECT_EQ(rs.extendedHighestSeq(), 0x10001u);
  EXPECT_EQ(rs.expected(), 4);
  EXPECT_EQ(rs.cumulativeLost(), 0);
  // Half of the next interval is lost.
  rs.makeReportBlock(1, 70000);
  rs.onPacket(3, 4800, 100000);
  EXPECT_EQ(rs.makeReportBlock(1, 110000).fractionLost, 128);
}

TEST(SenderStatistics, ReportFieldsAndRtt) {
  SenderStatistics ss(48000);
  ss.onPacketSent(100, 1000, 0);
  ss.onPacketSent(200, 1960, 20000);
  const std::int64_t unix = 1700000000000000;  // whole seconds
  SenderReport sr = ss.makeSenderReport(0x1234, 30000, unix);
  EXPECT_EQ(sr.ssrc, 0x1234u);
  EXPECT_EQ(sr.packetCount, 2u);
  EXPECT_EQ(sr.octetCount, 300u);
  EXPECT_EQ(sr.rtpTimestamp, 1960u + 480u);  // 10 ms after the last packet
  EXPECT_EQ(sr.ntpTimestamp, (1700000000ull + 2208988800ull) << 32);
  // The peer echoes the SR as LSR, held it 0.25 s (DLSR), and we get the RR 0.3 s after the SR.
  ReportBlock rb;
  rb.lastSr = ntpMiddle32(sr.ntpTimestamp);
  rb.delaySinceLastSr = 16384;
  auto rtt = ss.rttFromReportBlock(rb, unix + 300000);
  ASSERT_TRUE(rtt.has_value());
  EXPECT_NEAR(static_cast<double>(*rtt), 50000.0, 20.0);
  rb.lastSr = 0;
  EXPECT_FALSE(ss.rttFromReportBlock(rb, unix + 300000).has_value());
}

TEST(Rtt, ComputedFromLsrAndDlsr) {
  // A = 2 s, LSR = 1 s, DLSR = 0.5 s: RTT = 0.5 s.
  EXPECT_EQ(computeRttUs(0x00010000, 0x00008000, 0x00020000), 500000);
  EXPECT_FALSE(computeRttUs(0, 0x8000, 0x20000).has_value());
  EXPECT_FALSE(computeRttUs(0x00020000, 0x00008000, 0x00020000).has_value());  // negative
  // Across the 32-bit wrap of the middle word.
  EXPECT_EQ(computeRttUs(0xffff8000u, 0x00008000, 0x00008000), 500000);
}

TEST(BitrateEstimator, SlidingWindow) {
  BitrateEstimator be(1000000);
  EXPECT_EQ(be.bitsPerSecond(0), 0u);
  for (int i = 0; i < 200; ++i) be.add(1000, i * 10000);  // 100 kB/s for 2 s
  EXPECT_EQ(be.bitsPerSecond(1990000), 800000u);
  EXPECT_EQ(be.bitsPerSecond(2490000), 400000u);  // half the window is empty
  EXPECT_EQ(be.bitsPerSecond(5000000), 0u);
}

std::vector<std::uint8_t> rtpWithSeq(std::uint16_t seq, std::uint8_t fill) {
  std::vector<std::uint8_t> p(20, fill);
  p[0] = 0x80;
  p[2] = static_cast<std::uint8_t>(seq >> 8);
  p[3] = static_cast<std::uint8_t>(seq);
  return p;
}

TEST(RtxHistory, AnswersNacksWithinLimits) {
  RtxHistory::Config cfg;
  cfg.maxPackets = 100;
  cfg.maxAgeUs = 1000000;
  cfg.minResendIntervalUs = 50000;
  RtxHistory h(cfg);
  for (int i = 0; i < 150; ++i) {
    const auto p = rtpWithSeq(static_cast<std::uint16_t>(65500 + i), static_cast<std::uint8_t>(i));
    h.store(p.data(), p.size(), i * 1000);
  }
  EXPECT_EQ(h.size(), 100u);
  EXPECT_FALSE(h.retransmit(65500, 150000).has_value());  // evicted by capacity
  auto p = h.retransmit(static_cast<std::uint16_t>(65500 + 120), 150000);  // seq 84 after wrap
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(*p, rtpWithSeq(84, 120));
  EXPECT_FALSE(h.retransmit(84, 160000).has_value());  // resent 10 ms ago
  EXPECT_TRUE(h.retransmit(84, 200000).has_value());
  auto many = h.retransmit(std::vector<std::uint16_t>{80, 81, 9999, 82}, 200000);
  EXPECT_EQ(many.size(), 3u);
  // Age limit: packets stored at 50..149 ms are gone after 1.15 s.
  EXPECT_FALSE(h.retransmit(83, 1150001).has_value());
  EXPECT_EQ(h.size(), 0u);
  const std::uint8_t shortPkt[4] = {0x80, 0, 0, 1};
  h.store(shortPkt, 4, 0);
  EXPECT_EQ(h.size(), 0u);
}

}  // namespace
}  // namespace tern::media
