// RTCP parse/build against hand-written RFC 3550 6.4-6.6, RFC 4585 6.2.1/6.3.1, RFC 5104 4.3.1
// and REMB byte layouts; NACK list <-> FCI round trips.
#include <tern/media/rtcp.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace tern::media {
namespace {

using Bytes = std::vector<std::uint8_t>;

const Bytes kSr = {
    0x81, 0xc8, 0x00, 0x0c,  // V=2 RC=1 PT=200 length=12
    0x11, 0x11, 0x11, 0x11,  // SSRC
    0xe1, 0xb2, 0xc3, 0xd4, 0x80, 0x00, 0x00, 0x00,  // NTP
    0x00, 0x01, 0x00, 0x00,  // RTP timestamp
    0x00, 0x00, 0x00, 0x64,  // packet count 100
    0x00, 0x00, 0x3e, 0x80,  // octet count 16000
    0x22, 0x22, 0x22, 0x22,  // report block: SSRC
    0x40, 0x00, 0x00, 0x05,  // fraction 0x40, cumulative lost 5
    0x00, 0x01, 0x12, 0x34,  // extended highest seq
    0x00, 0x00, 0x00, 0x20,  // jitter
    0xc3, 0xd4, 0x80, 0x00,  // LSR
    0x00, 0x01, 0x00, 0x00,  // DLSR
};
const Bytes kSdes = {0x81, 0xca, 0x00, 0x03, 0x11, 0x11, 0x11, 0x11,
                     0x01, 0x04, 'a',  'b',  'c',  'd',  0x00, 0x00};
const Bytes kBye = {0x81, 0xcb, 0x00, 0x02, 0x11, 0x11, 0x11, 0x11, 0x01, 'x', 0x00, 0x00};
const Bytes kNack = {0x81, 0xcd, 0x00, 0x03, 0x11, 0x11, 0x11, 0x11,
                     0x22, 0x22, 0x22, 0x22, 0x00, 0x64, 0x00, 0x05};
const Bytes kPli = {0x81, 0xce, 0x00, 0x02, 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22};
const Bytes kFir = {0x84, 0xce, 0x00, 0x04, 0x11, 0x11, 0x11, 0x11, 0x00, 0x00, 0x00, 0x00,
                    0x22, 0x22, 0x22, 0x22, 0x07, 0x00, 0x00, 0x00};
const Bytes kRemb = {0x8f, 0xce, 0x00, 0x05, 0x11, 0x11, 0x11, 0x11, 0x00, 0x00, 0x00, 0x00,
                     'R',  'E',  'M',  'B',  0x01, 0x0b, 0xd0, 0x90, 0x22, 0x22, 0x22, 0x22};

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(Rtcp, ParsesHandWrittenCompound) {
  const Bytes compound = concat({kSr, kSdes, kBye});
  auto r = parseRtcp(compound.data(), compound.size());
  ASSERT_TRUE(r.ok()) << toString(r.error());
  ASSERT_EQ(r->size(), 3u);
  const auto& sr = std::get<SenderReport>(r.value()[0]);
  EXPECT_EQ(sr.ssrc, 0x11111111u);
  EXPECT_EQ(sr.ntpTimestamp, 0xe1b2c3d480000000ull);
  EXPECT_EQ(sr.rtpTimestamp, 0x10000u);
  EXPECT_EQ(sr.packetCount, 100u);
  EXPECT_EQ(sr.octetCount, 16000u);
  ASSERT_EQ(sr.reports.size(), 1u);
  const ReportBlock& b = sr.reports[0];
  EXPECT_EQ(b.ssrc, 0x22222222u);
  EXPECT_EQ(b.fractionLost, 0x40);
  EXPECT_EQ(b.cumulativeLost, 5);
  EXPECT_EQ(b.extendedHighestSeq, 0x11234u);
  EXPECT_EQ(b.jitter, 0x20u);
  EXPECT_EQ(b.lastSr, 0xc3d48000u);
  EXPECT_EQ(b.delaySinceLastSr, 0x10000u);
  EXPECT_EQ(ntpMiddle32(sr.ntpTimestamp), b.lastSr);
  const auto& sdes = std::get<Sdes>(r.value()[1]);
  ASSERT_EQ(sdes.chunks.size(), 1u);
  EXPECT_EQ(sdes.chunks[0].ssrc, 0x11111111u);
  EXPECT_EQ(sdes.chunks[0].cname, "abcd");
  const auto& bye = std::get<Bye>(r.value()[2]);
  EXPECT_EQ(bye.ssrcs, std::vector<std::uint32_t>{0x11111111u});
  EXPECT_EQ(bye.reason, "x");
}

TEST(Rtcp, BuildsTheSameBytes) {
  auto parsed = parseRtcp(concat({kSr, kSdes, kBye}).data(), concat({kSr, kSdes, kBye}).size());
  ASSERT_TRUE(parsed.ok());
  // Deliberately out of order: the builder puts SR first, then SDES, then BYE.
  std::vector<RtcpMessage> msgs = {parsed.value()[2], parsed.value()[1], parsed.value()[0]};
  auto built = buildRtcp(msgs);
  ASSERT_TRUE(built.ok());
  EXPECT_EQ(built.value(), concat({kSr, kSdes, kBye}));
  auto fb = buildRtcp({Nack{0x11111111, 0x22222222, {100, 101, 103}}, Pli{0x11111111, 0x22222222},
                       Fir{0x11111111, {{0x22222222, 7}}}});
  ASSERT_TRUE(fb.ok());
  EXPECT_EQ(fb.value(), concat({kNack, kPli, kFir}));
  // BYE goes after feedback, SR before everything.
  auto mixed = buildRtcp({parsed.value()[2], Pli{0x11111111, 0x22222222}, parsed.value()[0]});
  ASSERT_TRUE(mixed.ok());
  EXPECT_EQ(mixed.value(), concat({kSr, kPli, kBye}));
}

TEST(Rtcp, ParsesFeedbackReducedSize) {
  const Bytes pkt = concat({kNack, kPli, kFir, kRemb});
  auto r = parseRtcp(pkt.data(), pkt.size());
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 4u);
  const auto& nack = std::get<Nack>(r.value()[0]);
  EXPECT_EQ(nack.senderSsrc, 0x11111111u);
  EXPECT_EQ(nack.mediaSsrc, 0x22222222u);
  EXPECT_EQ(nack.sequenceNumbers, (std::vector<std::uint16_t>{100, 101, 103}));
  const auto& pli = std::get<Pli>(r.value()[1]);
  EXPECT_EQ(pli.mediaSsrc, 0x22222222u);
  const auto& fir = std::get<Fir>(r.value()[2]);
  ASSERT_EQ(fir.entries.size(), 1u);
  EXPECT_EQ(fir.entries[0].ssrc, 0x22222222u);
  EXPECT_EQ(fir.entries[0].sequenceNumber, 7);
  const auto& remb = std::get<Remb>(r.value()[3]);
  EXPECT_EQ(remb.bitrateBps, 1000000u);
  EXPECT_EQ(remb.ssrcs, std::vector<std::uint32_t>{0x22222222u});
}

TEST(Rtcp, ReceiverReportWithNegativeCumulativeLostRoundTrips) {
  ReportBlock b;
  b.ssrc = 5;
  b.cumulativeLost = -3;
  b.extendedHighestSeq = 70000;
  ReceiverReport rr{9, {b, b}};
  auto bytes = buildRtcp({rr});
  ASSERT_TRUE(bytes.ok());
  ASSERT_EQ(bytes->size(), 4u + 4 + 48);
  EXPECT_EQ(bytes.value()[0], 0x82);
  EXPECT_EQ(bytes.value()[1], 201);
  EXPECT_EQ(bytes.value()[3], 13);
  EXPECT_EQ(bytes.value()[13], 0xff);  // -3 as 24-bit two's complement: ff ff fd
  EXPECT_EQ(bytes.value()[15], 0xfd);
  auto back = parseRtcp(bytes->data(), bytes->size());
  ASSERT_TRUE(back.ok());
  const auto& rr2 = std::get<ReceiverReport>(back.value()[0]);
  EXPECT_EQ(rr2.ssrc, 9u);
  ASSERT_EQ(rr2.reports.size(), 2u);
  EXPECT_TRUE(rr2.reports[1] == b);
}

TEST(Rtcp, SkipsUnknownTypesAndFormats) {
  const Bytes app = {0x80, 0xcc, 0x00, 0x02, 0, 0, 0, 1, 'n', 'a', 'm', 'e'};
  const Bytes xr = {0x80, 0xcf, 0x00, 0x01, 0, 0, 0, 1};
  const Bytes tcc = {0x8f, 0xcd, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1, 0, 0};  // RTPFB 15
  const Bytes pkt = concat({app, kPli, xr, tcc});
  auto r = parseRtcp(pkt.data(), pkt.size());
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_TRUE(std::holds_alternative<Pli>(r.value()[0]));
}

TEST(Rtcp, RejectsBrokenStructure) {
  Bytes longLen = kPli;
  longLen[3] = 9;
  EXPECT_EQ(parseRtcp(longLen.data(), longLen.size()).error(), MediaError::Truncated);
  Bytes badVersion = kPli;
  badVersion[0] = 0x41;
  EXPECT_EQ(parseRtcp(badVersion.data(), badVersion.size()).error(), MediaError::BadVersion);
  Bytes rcTooBig = kSr;
  rcTooBig[0] = 0x82;  // two report blocks announced, one present
  EXPECT_EQ(parseRtcp(rcTooBig.data(), rcTooBig.size()).error(), MediaError::BadLength);
  Bytes padded = kPli;
  padded[0] |= 0x20;
  padded.back() = 9;  // padding longer than the body
  EXPECT_EQ(parseRtcp(padded.data(), padded.size()).error(), MediaError::BadPadding);
  Bytes sdesNoEnd = {0x81, 0xca, 0x00, 0x02, 0x11, 0x11, 0x11, 0x11, 0x01, 0x02, 'a', 'b'};
  EXPECT_EQ(parseRtcp(sdesNoEnd.data(), sdesNoEnd.size()).error(), MediaError::BadLength);
  EXPECT_EQ(parseRtcp(kPli.data(), 3).error(), MediaError::Truncated);
}

TEST(Rtcp, BuildRejectsUnencodable) {
  EXPECT_FALSE(buildRtcp({Nack{1, 2, {}}}).ok());
  EXPECT_FALSE(buildRtcp({Sdes{{{1, std::string(256, 'a')}}}}).ok());
  EXPECT_FALSE(buildRtcp({ReceiverReport{1, std::vector<ReportBlock>(32)}}).ok());
  EXPECT_FALSE(buildRtcp({Remb{}}).ok());
  std::vector<std::uint8_t> out = {1, 2, 3};
  EXPECT_FALSE(appendRtcp(out, Nack{1, 2, {}}).ok());
  EXPECT_EQ(out, (Bytes{1, 2, 3}));  // nothing half-written
}

TEST(RtcpNack, FciPacksSixteenFollowers) {
  auto fci = nackToFci({100, 101, 103, 116, 117});
  ASSERT_EQ(fci.size(), 2u);
  EXPECT_EQ(fci[0].first, 100);
  EXPECT_EQ(fci[0].second, 0x8005);  // 101 (bit 0), 103 (bit 2), 116 (bit 15)
  EXPECT_EQ(fci[1].first, 117);
  EXPECT_EQ(fci[1].second, 0);
}

TEST(RtcpNack, RoundTripsAcrossWraparound) {
  const std::vector<std::uint16_t> seqs = {65530, 65535, 0, 2, 20, 65533};
  auto fci = nackToFci(seqs);
  ASSERT_EQ(fci.size(), 2u);
  EXPECT_EQ(fci[0].first, 65530);
  EXPECT_EQ(fci[1].first, 20);
  auto back = fciToNack(fci);
  EXPECT_EQ(back, (std::vector<std::uint16_t>{65530, 65533, 65535, 0, 2, 20}));
}

TEST(RtcpNack, RandomListsRoundTripThroughBytes) {
  std::mt19937 rng(1234);
  for (int iter = 0; iter < 200; ++iter) {
    const std::uint16_t base = static_cast<std::uint16_t>(rng());
    std::vector<std::uint16_t> seqs;
    const int n = 1 + static_cast<int>(rng() % 60);
    for (int i = 0; i < n; ++i) {
      seqs.push_back(static_cast<std::uint16_t>(base + rng() % 300));
    }
    auto bytes = buildRtcp({Nack{1, 2, seqs}});
    ASSERT_TRUE(bytes.ok());
    auto parsed = parseRtcp(bytes->data(), bytes->size());
    ASSERT_TRUE(parsed.ok());
    auto got = std::get<Nack>(parsed.value()[0]).sequenceNumbers;
    // Expected: unique, in wraparound order starting from the base.
    std::vector<std::uint16_t> want = seqs;
    std::sort(want.begin(), want.end(), [&](std::uint16_t a, std::uint16_t b) {
      return static_cast<std::uint16_t>(a - base) < static_cast<std::uint16_t>(b - base);
    });
    want.erase(std::unique(want.begin(), want.end()), want.end());
    ASSERT_EQ(got, want) << "iteration " << iter;
  }
}

TEST(RtcpNtp, ConvertsUnixMicros) {
  // 1970-01-01 is NTP second 2208988800; half a second is 0x80000000 in the fraction.
  EXPECT_EQ(unixMicrosToNtp(500000), (2208988800ull << 32) | 0x80000000ull);
  EXPECT_EQ(ntpMiddle32(0x0000123456780000ull), 0x12345678u);
}

}  // namespace
}  // namespace tern::media
