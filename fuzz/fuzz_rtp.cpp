// Fuzzes the RTP packet parser and builder (RFC 3550 section 5.1: fixed header, CSRC list,
// padding, header extension; RFC 8285 one-byte and two-byte extension elements), the RFC 5761
// section 4 RTP/RTCP demultiplexing test, the sequence/timestamp unwrappers (RFC 3550 A.1) and
// the retransmission history (RtxHistory, which reads the sequence number of a stored packet).
//
// Input: one RTP packet as it comes out of SRTP. The same bytes are also read as a list of
// 16-bit sequence numbers and 32-bit timestamps for the unwrappers.
//
// Invariants checked:
//   - a parsed packet's parts tile the input exactly: 12 + 4 * CC (+ 4 + extension) bytes of
//     header, then the payload, then paddingSize bytes; every field equals its bits in the input;
//   - extension elements lie inside the extension block and respect the RFC 8285 limits of their
//     form (one-byte: ID 1..14, 1..16 bytes); findExtension() returns the first element with its
//     ID, and nothing when the block is malformed;
//   - round trip: buildRtp() of the parsed header, elements and payload parses back to the same
//     fields, elements and payload; without extension and padding it gives back the input bytes
//     exactly; building from that parse again gives identical bytes (the build is canonical);
//   - RtxHistory returns exactly the stored bytes for the packet's sequence number, once within
//     the resend interval;
//   - isRtcp() is the RFC 5761 range test on the second byte;
//   - unwrapped sequence numbers / timestamps keep their low bits and move by at most half the
//     number space; peek() agrees with unwrap(); seqNewer() is antisymmetric.
//
// Threading: single-threaded (the engine parses on the network thread).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz_media_support.hpp"
#include "tern/media/rtp_packet.hpp"
#include "tern/media/rtx_history.hpp"

using namespace tern::media;

namespace {

bool sameElements(const std::vector<RtpExtensionView>& a, const std::vector<RtpExtensionView>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].id != b[i].id || a[i].size != b[i].size) return false;
    if (a[i].size != 0 && std::memcmp(a[i].data, b[i].data, a[i].size) != 0) return false;
  }
  return true;
}

std::vector<RtpExtensionView> elementsOf(const RtpPacketView& v) {
  auto all = v.extensions();
  TERN_FUZZ_CHECK(all.ok());
  return all.value();
}

/// Builds a packet from a parsed view: header fields, the RFC 8285 elements (when the block
/// parses), the payload. Padding and unknown extension profiles are not carried over.
std::vector<std::uint8_t> rebuild(const RtpPacketView& v) {
  RtpHeader h;
  h.marker = v.marker;
  h.payloadType = v.payloadType;
  h.sequenceNumber = v.sequenceNumber;
  h.timestamp = v.timestamp;
  h.ssrc = v.ssrc;
  h.csrcs.assign(v.csrcs, v.csrcs + v.csrcCount);
  if (auto elements = v.extensions()) {
    for (const auto& e : elements.value()) {
      h.extensions.push_back({e.id, std::vector<std::uint8_t>(e.data, e.data + e.size)});
    }
  }
  auto built = buildRtp(h, v.payload, v.payloadSize);
  TERN_FUZZ_CHECK(built.ok());
  return std::move(built).value();
}

void checkPacket(const std::uint8_t* data, std::size_t size) {
  auto parsed = parseRtp(data, size);
  if (!parsed) {
    TERN_FUZZ_CHECK(size < 12 || (data[0] >> 6) != 2 || parsed.error() != MediaError::BadVersion);
    return;
  }
  const RtpPacketView& v = parsed.value();
  TERN_FUZZ_CHECK(size >= 12 && (data[0] >> 6) == 2);
  TERN_FUZZ_CHECK(v.data == data && v.size == size);
  TERN_FUZZ_CHECK(v.csrcCount == (data[0] & 0x0f));
  TERN_FUZZ_CHECK(v.hasExtension == ((data[0] & 0x10) != 0));
  TERN_FUZZ_CHECK(v.marker == ((data[1] & 0x80) != 0) && v.payloadType == (data[1] & 0x7f));
  TERN_FUZZ_CHECK(v.sequenceNumber == readU16(data + 2) && v.timestamp == readU32(data + 4) &&
                  v.ssrc == readU32(data + 8));
  for (unsigned i = 0; i < v.csrcCount; ++i) {
    TERN_FUZZ_CHECK(v.csrcs[i] == readU32(data + 12 + 4 * i));
  }
  std::size_t header = 12 + 4 * std::size_t{v.csrcCount};
  if (v.hasExtension) {
    TERN_FUZZ_CHECK(v.extensionData == data + header + 4);
    TERN_FUZZ_CHECK(v.extensionSize == 4 * std::size_t{readU16(data + header + 2)});
    TERN_FUZZ_CHECK(v.extensionProfile == readU16(data + header));
    header += 4 + v.extensionSize;
  }
  TERN_FUZZ_CHECK(v.payloadOffset == header && v.payload == data + header);
  TERN_FUZZ_CHECK(v.payloadOffset + v.payloadSize + v.paddingSize == size);
  TERN_FUZZ_CHECK((v.paddingSize != 0) == ((data[0] & 0x20) != 0));
  if (v.paddingSize != 0) TERN_FUZZ_CHECK(v.paddingSize == data[size - 1]);

  // RFC 8285 elements.
  auto elements = v.extensions();
  const bool oneByte = v.extensionProfile == 0xBEDE;
  const bool twoByte = (v.extensionProfile & 0xfff0) == 0x1000;
  if (elements) {
    if (!v.hasExtension || (!oneByte && !twoByte)) TERN_FUZZ_CHECK(elements->empty());
    for (const auto& e : elements.value()) {
      TERN_FUZZ_CHECK(e.id != 0);
      TERN_FUZZ_CHECK(e.size == 0 || (e.data >= v.extensionData &&
                                      e.data + e.size <= v.extensionData + v.extensionSize));
      if (oneByte) TERN_FUZZ_CHECK(e.id <= 14 && e.size >= 1 && e.size <= 16);
      if (twoByte) TERN_FUZZ_CHECK(e.size <= 255);
      const RtpExtensionView found = v.findExtension(e.id);
      for (const auto& first : elements.value()) {
        if (first.id != e.id) continue;
        TERN_FUZZ_CHECK(found.id == first.id && found.data == first.data &&
                        found.size == first.size);
        break;
      }
    }
  } else {
    TERN_FUZZ_CHECK(v.hasExtension && (oneByte || twoByte));
    for (unsigned id = 1; id < 256; id += 17) {
      const RtpExtensionView none = v.findExtension(static_cast<std::uint8_t>(id));
      TERN_FUZZ_CHECK(none.data == nullptr && none.size == 0);
    }
  }

  // Round trip through buildRtp.
  const std::vector<std::uint8_t> built = rebuild(v);
  auto again = parseRtp(built.data(), built.size());
  TERN_FUZZ_CHECK(again.ok());
  const RtpPacketView& w = again.value();
  TERN_FUZZ_CHECK(w.marker == v.marker && w.payloadType == v.payloadType &&
                  w.sequenceNumber == v.sequenceNumber && w.timestamp == v.timestamp &&
                  w.ssrc == v.ssrc && w.csrcCount == v.csrcCount && w.paddingSize == 0);
  TERN_FUZZ_CHECK(std::memcmp(w.csrcs, v.csrcs, sizeof v.csrcs) == 0);
  TERN_FUZZ_CHECK(w.payloadSize == v.payloadSize);
  TERN_FUZZ_CHECK(v.payloadSize == 0 || std::memcmp(w.payload, v.payload, v.payloadSize) == 0);
  if (elements) TERN_FUZZ_CHECK(sameElements(elementsOf(w), elements.value()));
  if (!v.hasExtension && v.paddingSize == 0) {
    TERN_FUZZ_CHECK(built.size() == size && std::memcmp(built.data(), data, size) == 0);
  }
  TERN_FUZZ_CHECK(rebuild(w) == built);

  // Retransmission history: the stored bytes come back once per resend interval.
  RtxHistory::Config config;
  config.maxPackets = 4;
  config.minResendIntervalUs = 1000;
  RtxHistory history(config);
  history.store(data, size, 0);
  auto resent = history.retransmit(v.sequenceNumber, 10);
  TERN_FUZZ_CHECK(resent && resent->size() == size &&
                  std::memcmp(resent->data(), data, size) == 0);
  TERN_FUZZ_CHECK(!history.retransmit(v.sequenceNumber, 20));
  const std::vector<std::uint16_t> nack{v.sequenceNumber};
  TERN_FUZZ_CHECK(history.retransmit(nack, 2000).size() == 1);
  TERN_FUZZ_CHECK(history.retransmit(static_cast<std::uint16_t>(v.sequenceNumber + 1), 5000) ==
                  std::nullopt);
  TERN_FUZZ_CHECK(!history.retransmit(v.sequenceNumber, 2000000));  // older than maxAgeUs
  TERN_FUZZ_CHECK(history.size() == 0);
}

void checkUnwrappers(const std::uint8_t* data, std::size_t size) {
  tern::fuzz::ByteReader r(data, size);
  SeqUnwrapper seqs;
  TimestampUnwrapper stamps;
  bool first = true;
  std::int64_t lastSeq = 0;
  std::int64_t lastTs = 0;
  std::uint16_t prev = 0;
  while (r.remaining() >= 6) {
    const std::uint16_t s = r.u16();
    const std::uint32_t t = r.u32();
    const std::int64_t peekS = seqs.peek(s);
    const std::int64_t peekT = stamps.peek(t);
    const std::int64_t es = seqs.unwrap(s);
    const std::int64_t et = stamps.unwrap(t);
    TERN_FUZZ_CHECK(es == peekS && et == peekT);
    TERN_FUZZ_CHECK(static_cast<std::uint16_t>(es) == s);
    TERN_FUZZ_CHECK(static_cast<std::uint32_t>(et) == t);
    if (!first) {
      TERN_FUZZ_CHECK(es - lastSeq >= -32768 && es - lastSeq <= 32767);
      TERN_FUZZ_CHECK(et - lastTs >= -2147483648LL && et - lastTs <= 2147483647LL);
      TERN_FUZZ_CHECK(es - lastSeq == seqDiff(s, prev));
      if (s != prev) TERN_FUZZ_CHECK(seqNewer(s, prev) != seqNewer(prev, s));
      TERN_FUZZ_CHECK(!seqNewer(s, s));
    }
    first = false;
    lastSeq = es;
    lastTs = et;
    prev = s;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // An exactly-sized copy, so that ASan sees any read past the packet.
  std::vector<std::uint8_t> copy(data, data + size);
  const std::uint8_t* p = copy.empty() ? nullptr : copy.data();
  TERN_FUZZ_CHECK(isRtcp(p, size) == (size >= 2 && p[1] >= 192 && p[1] <= 223));
  checkPacket(p, size);
  checkUnwrappers(p, size);
  return 0;
}
