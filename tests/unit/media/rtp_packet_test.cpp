// RTP parse/build against hand-written RFC 3550 5.1 / RFC 8285 byte layouts; sequence helpers;
// RFC 5761 demultiplexing.
#include <tern/media/rtp_packet.hpp>

#include <gtest/gtest.h>

#include <vector>

namespace tern::media {
namespace {

using Bytes = std::vector<std::uint8_t>;

TEST(RtpPacket, ParsesMinimalPacket) {
  const Bytes pkt = {0x80, 0xef, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef,
                     0x11, 0x22, 0x33, 0x44, 0x01, 0x02, 0x03};
  auto r = parseRtp(pkt.data(), pkt.size());
  ASSERT_TRUE(r.ok());
  const auto& v = r.value();
  EXPECT_TRUE(v.marker);
  EXPECT_EQ(v.payloadType, 111);
  EXPECT_EQ(v.sequenceNumber, 0x1234);
  EXPECT_EQ(v.timestamp, 0xdeadbeefu);
  EXPECT_EQ(v.ssrc, 0x11223344u);
  EXPECT_EQ(v.csrcCount, 0);
  EXPECT_FALSE(v.hasExtension);
  EXPECT_EQ(v.payloadOffset, 12u);
  ASSERT_EQ(v.payloadSize, 3u);
  EXPECT_EQ(Bytes(v.payload, v.payload + v.payloadSize), (Bytes{1, 2, 3}));
}

// P=1, X=1, CC=1; one-byte extension with a padding octet between elements; 3 bytes padding.
const Bytes kFullPacket = {
    0xb1, 0x60, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,  // header
    0xaa, 0xbb, 0xcc, 0xdd,                                                  // CSRC
    0xbe, 0xde, 0x00, 0x02,                                                  // 0xBEDE, 2 words
    0x10, 0x42, 0x00, 0x23, 0x01, 0x02, 0x03, 0x04,                          // id1 L0, pad, id2 L3
    0xaa, 0xbb,                                                              // payload
    0x00, 0x00, 0x03};                                                       // padding

TEST(RtpPacket, ParsesCsrcExtensionAndPadding) {
  auto r = parseRtp(kFullPacket.data(), kFullPacket.size());
  ASSERT_TRUE(r.ok()) << toString(r.error());
  const auto& v = r.value();
  EXPECT_FALSE(v.marker);
  EXPECT_EQ(v.payloadType, 96);
  EXPECT_EQ(v.sequenceNumber, 0xffff);
  ASSERT_EQ(v.csrcCount, 1);
  EXPECT_EQ(v.csrcs[0], 0xaabbccddu);
  EXPECT_TRUE(v.hasExtension);
  EXPECT_EQ(v.extensionProfile, 0xBEDE);
  EXPECT_EQ(v.extensionSize, 8u);
  EXPECT_EQ(v.paddingSize, 3);
  EXPECT_EQ(v.payloadOffset, 28u);
  EXPECT_EQ(Bytes(v.payload, v.payload + v.payloadSize), (Bytes{0xaa, 0xbb}));
  auto ext = v.extensions();
  ASSERT_TRUE(ext.ok());
  ASSERT_EQ(ext->size(), 2u);
  EXPECT_EQ(ext.value()[0].id, 1);
  EXPECT_EQ(Bytes(ext.value()[0].data, ext.value()[0].data + ext.value()[0].size), Bytes{0x42});
  EXPECT_EQ(ext.value()[1].id, 2);
  EXPECT_EQ(Bytes(ext.value()[1].data, ext.value()[1].data + ext.value()[1].size),
            (Bytes{1, 2, 3, 4}));
  EXPECT_EQ(v.findExtension(2).size, 4u);
  EXPECT_EQ(v.findExtension(3).data, nullptr);
}

TEST(RtpPacket, ParsesTwoByteExtension) {
  const Bytes pkt = {0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1,
                     0x10, 0x00, 0x00, 0x02,                    // 0x1000, 2 words
                     0x05, 0x02, 0xab, 0xcd, 0x00, 0x07, 0x00,  // id5 len2, pad, id7 len0
                     0x00,                                      // pad
                     0x99};
  auto r = parseRtp(pkt.data(), pkt.size());
  ASSERT_TRUE(r.ok());
  auto ext = r->extensions();
  ASSERT_TRUE(ext.ok());
  ASSERT_EQ(ext->size(), 2u);
  EXPECT_EQ(ext.value()[0].id, 5);
  EXPECT_EQ(ext.value()[0].size, 2u);
  EXPECT_EQ(ext.value()[0].data[1], 0xcd);
  EXPECT_EQ(ext.value()[1].id, 7);
  EXPECT_EQ(ext.value()[1].size, 0u);
  EXPECT_EQ(r->payloadSize, 1u);
}

TEST(RtpPacket, OneByteIdFifteenStopsProcessing) {
  const Bytes pkt = {0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1,
                     0xbe, 0xde, 0x00, 0x01, 0x10, 0x01, 0xf0, 0x33};
  auto r = parseRtp(pkt.data(), pkt.size());
  ASSERT_TRUE(r.ok());
  auto ext = r->extensions();
  ASSERT_TRUE(ext.ok());
  EXPECT_EQ(ext->size(), 1u);
}

// Found by fuzz_rtp (fuzz/regressions/fuzz_rtp/): a one-byte element header with ID 0 and a
// length (0x01: not a padding octet) came out as an element with the reserved ID 0.
TEST(RtpPacket, OneByteIdZeroWithLengthStopsProcessing) {
  const Bytes pkt = {0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0x00, 0x02,
                     0x10, 0x42, 0x00, 0x00, 0x01, 0x02, 0x03, 0x00};
  auto r = parseRtp(pkt.data(), pkt.size());
  ASSERT_TRUE(r.ok());
  auto ext = r->extensions();
  ASSERT_TRUE(ext.ok());
  ASSERT_EQ(ext->size(), 1u);
  EXPECT_EQ(ext.value()[0].id, 1);
  EXPECT_EQ(ext.value()[0].size, 1u);
  EXPECT_EQ(r->findExtension(0).data, nullptr);
}

TEST(RtpPacket, ExtensionElementOverrunIsAnError) {
  const Bytes pkt = {0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1,
                     0xbe, 0xde, 0x00, 0x01, 0x1f, 0x01, 0x02, 0x03};  // L=15: 16 bytes
  auto r = parseRtp(pkt.data(), pkt.size());
  ASSERT_TRUE(r.ok());
  auto ext = r->extensions();
  ASSERT_FALSE(ext.ok());
  EXPECT_EQ(ext.error(), MediaError::BadExtension);
}

TEST(RtpPacket, RejectsBadInput) {
  Bytes pkt = {0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1};
  EXPECT_TRUE(parseRtp(pkt.data(), pkt.size()).ok());
  EXPECT_EQ(parseRtp(pkt.data(), 11).error(), MediaError::Truncated);
  EXPECT_EQ(parseRtp(nullptr, 0).error(), MediaError::Truncated);
  Bytes v1 = pkt;
  v1[0] = 0x40;
  EXPECT_EQ(parseRtp(v1.data(), v1.size()).error(), MediaError::BadVersion);
  Bytes csrc = pkt;
  csrc[0] = 0x82;  // two CSRCs announced, none present
  EXPECT_EQ(parseRtp(csrc.data(), csrc.size()).error(), MediaError::Truncated);
  Bytes ext = pkt;
  ext[0] = 0x90;
  ext.insert(ext.end(), {0xbe, 0xde, 0x00, 0x05, 0, 0, 0, 0});  // 5 words announced, 1 present
  EXPECT_EQ(parseRtp(ext.data(), ext.size()).error(), MediaError::Truncated);
  Bytes pad = pkt;
  pad[0] = 0xa0;
  pad.push_back(0);  // padding count 0
  EXPECT_EQ(parseRtp(pad.data(), pad.size()).error(), MediaError::BadPadding);
  pad.back() = 2;  // padding reaching into the header
  EXPECT_EQ(parseRtp(pad.data(), pad.size()).error(), MediaError::BadPadding);
  pad.back() = 1;  // only the count octet: empty payload
  auto ok = parseRtp(pad.data(), pad.size());
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->payloadSize, 0u);
}

TEST(RtpPacket, BuildsExactBytes) {
  RtpHeader h;
  h.marker = true;
  h.payloadType = 111;
  h.sequenceNumber = 0x1234;
  h.timestamp = 0xdeadbeef;
  h.ssrc = 0x11223344;
  const Bytes payload = {1, 2, 3};
  auto b = buildRtp(h, payload.data(), payload.size());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b.value(), (Bytes{0x80, 0xef, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x11, 0x22, 0x33,
                              0x44, 1, 2, 3}));
}

TEST(RtpPacket, BuildsOneByteExtensionsAndParsesThemBack) {
  RtpHeader h;
  h.payloadType = 96;
  h.sequenceNumber = 7;
  h.timestamp = 9;
  h.ssrc = 1;
  h.csrcs = {0xaabbccdd};
  h.extensions = {{1, {0x42}}, {3, {1, 2, 3}}};
  const Bytes payload = {0x55};
  auto b = buildRtp(h, payload.data(), payload.size());
  ASSERT_TRUE(b.ok());
  const Bytes expected = {0x91, 0x60, 0x00, 0x07, 0, 0, 0, 9, 0, 0, 0, 1, 0xaa, 0xbb, 0xcc, 0xdd,
                          0xbe, 0xde, 0x00, 0x02, 0x10, 0x42, 0x32, 1, 2, 3, 0, 0, 0x55};
  EXPECT_EQ(b.value(), expected);
  auto p = parseRtp(b->data(), b->size());
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->findExtension(3).size, 3u);
  EXPECT_EQ(p->payloadSize, 1u);
}

TEST(RtpPacket, FallsBackToTwoByteExtensions) {
  RtpHeader h;
  h.extensions = {{20, Bytes(17, 0x11)}};
  auto b = buildRtp(h, nullptr, 0);
  ASSERT_TRUE(b.ok());
  auto p = parseRtp(b->data(), b->size());
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->extensionProfile, 0x1000);
  auto e = p->findExtension(20);
  EXPECT_EQ(e.size, 17u);
  EXPECT_EQ(p->payloadSize, 0u);
}

TEST(RtpPacket, BuildRejectsUnencodableHeaders) {
  RtpHeader h;
  h.payloadType = 128;
  EXPECT_EQ(buildRtp(h, nullptr, 0).error(), MediaError::InvalidArgument);
  h.payloadType = 0;
  h.csrcs.assign(16, 1);
  EXPECT_EQ(buildRtp(h, nullptr, 0).error(), MediaError::InvalidArgument);
  h.csrcs.clear();
  h.extensions = {{0, {1}}};
  EXPECT_EQ(buildRtp(h, nullptr, 0).error(), MediaError::InvalidArgument);
  h.extensions = {{1, Bytes(256, 0)}};
  EXPECT_EQ(buildRtp(h, nullptr, 0).error(), MediaError::InvalidArgument);
}

TEST(RtpSequence, ComparesAcrossWraparound) {
  EXPECT_TRUE(seqNewer(1, 0));
  EXPECT_TRUE(seqNewer(0, 65535));
  EXPECT_FALSE(seqNewer(65535, 0));
  EXPECT_FALSE(seqNewer(5, 5));
  EXPECT_EQ(seqDiff(2, 65534), 4);
  EXPECT_EQ(seqDiff(65534, 2), -4);
  EXPECT_TRUE(seqNewer(0x8000, 0));
  EXPECT_FALSE(seqNewer(0, 0x8000));
}

TEST(RtpSequence, UnwrapsForwardAndBackward) {
  SeqUnwrapper u;
  EXPECT_EQ(u.unwrap(65534), 65534);
  EXPECT_EQ(u.unwrap(65535), 65535);
  EXPECT_EQ(u.unwrap(0), 65536);
  EXPECT_EQ(u.unwrap(65535), 65535);  // reordered
  EXPECT_EQ(u.unwrap(3), 65539);
  EXPECT_EQ(u.peek(10), 65546);
  // Many cycles.
  std::int64_t last = 0;
  for (int i = 0; i < 5 * 65536; i += 1000) last = u.unwrap(static_cast<std::uint16_t>(3 + i));
  EXPECT_EQ(last, 65539 + (5 * 65536 - 1) / 1000 * 1000);
  TimestampUnwrapper t;
  EXPECT_EQ(t.unwrap(0xfffffc40u), 0xfffffc40ll);
  EXPECT_EQ(t.unwrap(0x00000000u), 0x100000000ll);
  EXPECT_EQ(t.unwrap(0x000003c0u), 0x1000003c0ll);
}

TEST(RtpDemux, ClassifiesRtcpByPayloadTypeRange) {
  const std::uint8_t sr[] = {0x80, 200};
  const std::uint8_t psfb[] = {0x81, 206};
  const std::uint8_t opus[] = {0x80, 111};
  const std::uint8_t opusMarker[] = {0x80, 0xef};
  const std::uint8_t vp8Marker[] = {0x80, 0xe0};
  EXPECT_TRUE(isRtcp(sr, 2));
  EXPECT_TRUE(isRtcp(psfb, 2));
  EXPECT_FALSE(isRtcp(opus, 2));
  EXPECT_FALSE(isRtcp(opusMarker, 2));
  EXPECT_FALSE(isRtcp(vp8Marker, 2));
  EXPECT_FALSE(isRtcp(sr, 1));
  const std::uint8_t lo[] = {0x80, 191};
  const std::uint8_t hi[] = {0x80, 224};
  EXPECT_FALSE(isRtcp(lo, 2));
  EXPECT_FALSE(isRtcp(hi, 2));
}

}  // namespace
}  // namespace tern::media
