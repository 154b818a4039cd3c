// Fuzzes the RTCP compound packet parser and builder: RFC 3550 sections 6.4.1 (SR), 6.4.2 (RR),
// 6.5 (SDES), 6.6 (BYE), padding and unknown types; RFC 4585 6.2.1 (generic NACK) and 6.3.1
// (PLI); RFC 5104 4.3.1 (FIR); REMB (parse only); RFC 5506 reduced-size packets. Also the NACK
// FCI packing (nackToFci / fciToNack).
//
// Input: one (compound) RTCP packet as it comes out of SRTCP. The same bytes are also read as a
// list of 16-bit sequence numbers for the FCI packing.
//
// Invariants checked:
//   - a parsed packet yields at most one message per 4 bytes, and every variable-length part
//     (report blocks, SDES chunks and CNAMEs, BYE SSRCs and reason, NACK pairs, FIR entries,
//     REMB SSRCs) fits in the input;
//   - round trip: buildRtcp() of the parsed messages (REMB, which is parse-only, and feedback
//     messages without entries, which cannot be encoded, left out) succeeds and parses back to
//     the same messages in RFC 3550 6.1 order (NACK lists compared as sets: the packing sorts
//     and merges them); building again from that parse gives the same messages, and identical
//     bytes when no NACK is involved;
//   - packing a NACK list into (PID, BLP) pairs and expanding it again gives the same set of
//     sequence numbers, with no more pairs than distinct numbers.
//
// Threading: single-threaded (the engine parses on the network thread).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <variant>
#include <vector>

#include "fuzz_media_support.hpp"
#include "tern/media/rtcp.hpp"

using namespace tern::media;

namespace {

std::set<std::uint16_t> asSet(const std::vector<std::uint16_t>& v) { return {v.begin(), v.end()}; }

bool same(const RtcpMessage& a, const RtcpMessage& b) {
  if (a.index() != b.index()) return false;
  if (const auto* x = std::get_if<SenderReport>(&a)) {
    const auto& y = std::get<SenderReport>(b);
    return x->ssrc == y.ssrc && x->ntpTimestamp == y.ntpTimestamp &&
           x->rtpTimestamp == y.rtpTimestamp && x->packetCount == y.packetCount &&
           x->octetCount == y.octetCount && x->reports == y.reports;
  }
  if (const auto* x = std::get_if<ReceiverReport>(&a)) {
    const auto& y = std::get<ReceiverReport>(b);
    return x->ssrc == y.ssrc && x->reports == y.reports;
  }
  if (const auto* x = std::get_if<Sdes>(&a)) {
    const auto& y = std::get<Sdes>(b);
    if (x->chunks.size() != y.chunks.size()) return false;
    for (std::size_t i = 0; i < x->chunks.size(); ++i) {
      if (x->chunks[i].ssrc != y.chunks[i].ssrc || x->chunks[i].cname != y.chunks[i].cname) {
        return false;
      }
    }
    return true;
  }
  if (const auto* x = std::get_if<Bye>(&a)) {
    const auto& y = std::get<Bye>(b);
    return x->ssrcs == y.ssrcs && x->reason == y.reason;
  }
  if (const auto* x = std::get_if<Nack>(&a)) {
    const auto& y = std::get<Nack>(b);
    return x->senderSsrc == y.senderSsrc && x->mediaSsrc == y.mediaSsrc &&
           asSet(x->sequenceNumbers) == asSet(y.sequenceNumbers);
  }
  if (const auto* x = std::get_if<Pli>(&a)) {
    const auto& y = std::get<Pli>(b);
    return x->senderSsrc == y.senderSsrc && x->mediaSsrc == y.mediaSsrc;
  }
  if (const auto* x = std::get_if<Fir>(&a)) {
    const auto& y = std::get<Fir>(b);
    if (x->senderSsrc != y.senderSsrc || x->entries.size() != y.entries.size()) return false;
    for (std::size_t i = 0; i < x->entries.size(); ++i) {
      if (x->entries[i].ssrc != y.entries[i].ssrc ||
          x->entries[i].sequenceNumber != y.entries[i].sequenceNumber) {
        return false;
      }
    }
    return true;
  }
  const auto& x = std::get<Remb>(a);
  const auto& y = std::get<Remb>(b);
  return x.senderSsrc == y.senderSsrc && x.bitrateBps == y.bitrateBps && x.ssrcs == y.ssrcs;
}

int rank(const RtcpMessage& m) {
  if (std::holds_alternative<SenderReport>(m) || std::holds_alternative<ReceiverReport>(m)) {
    return 0;
  }
  if (std::holds_alternative<Sdes>(m)) return 1;
  if (std::holds_alternative<Bye>(m)) return 3;
  return 2;
}

/// Whether the builder can encode the message at all (REMB is parse-only; a NACK or FIR needs
/// at least one entry).
bool encodable(const RtcpMessage& m) {
  if (std::holds_alternative<Remb>(m)) return false;
  if (const auto* n = std::get_if<Nack>(&m)) return !n->sequenceNumbers.empty();
  if (const auto* f = std::get_if<Fir>(&m)) return !f->entries.empty();
  return true;
}

void checkSizes(const std::vector<RtcpMessage>& messages, std::size_t size) {
  TERN_FUZZ_CHECK(messages.size() <= size / 4);
  for (const auto& m : messages) {
    if (const auto* sr = std::get_if<SenderReport>(&m)) {
      TERN_FUZZ_CHECK(sr->reports.size() <= 31 && 28 + 24 * sr->reports.size() <= size);
    } else if (const auto* rr = std::get_if<ReceiverReport>(&m)) {
      TERN_FUZZ_CHECK(rr->reports.size() <= 31 && 8 + 24 * rr->reports.size() <= size);
    } else if (const auto* sdes = std::get_if<Sdes>(&m)) {
      std::size_t bytes = 4;  // a chunk: SSRC, the CNAME item (type, length, text), END
      for (const auto& c : sdes->chunks) bytes += 4 + (c.cname.empty() ? 1 : 3 + c.cname.size());
      TERN_FUZZ_CHECK(sdes->chunks.size() <= 31 && bytes <= size);
    } else if (const auto* bye = std::get_if<Bye>(&m)) {
      TERN_FUZZ_CHECK(bye->ssrcs.size() <= 31 && bye->reason.size() <= 255);
      TERN_FUZZ_CHECK(4 + 4 * bye->ssrcs.size() + bye->reason.size() <= size);
    } else if (const auto* nack = std::get_if<Nack>(&m)) {
      TERN_FUZZ_CHECK(nack->sequenceNumbers.size() <= 17 * ((size - 12) / 4));
    } else if (const auto* fir = std::get_if<Fir>(&m)) {
      TERN_FUZZ_CHECK(12 + 8 * fir->entries.size() <= size);
    } else if (const auto* remb = std::get_if<Remb>(&m)) {
      TERN_FUZZ_CHECK(20 + 4 * remb->ssrcs.size() <= size);
    }
  }
}

void checkCompound(const std::uint8_t* data, std::size_t size) {
  auto parsed = parseRtcp(data, size);
  if (!parsed) return;
  const std::vector<RtcpMessage>& messages = parsed.value();
  checkSizes(messages, size);

  std::vector<RtcpMessage> kept;
  for (const auto& m : messages) {
    if (encodable(m)) kept.push_back(m);
  }
  auto built = buildRtcp(kept);
  TERN_FUZZ_CHECK(built.ok());
  std::stable_sort(kept.begin(), kept.end(),
                   [](const RtcpMessage& a, const RtcpMessage& b) { return rank(a) < rank(b); });
  auto again = parseRtcp(built->data(), built->size());
  if (kept.empty()) {
    TERN_FUZZ_CHECK(built->empty() && !again.ok());
    return;
  }
  TERN_FUZZ_CHECK(again.ok() && again->size() == kept.size());
  for (std::size_t i = 0; i < kept.size(); ++i) TERN_FUZZ_CHECK(same(kept[i], again.value()[i]));
  // Building again is stable: the same messages, and the same bytes unless a NACK list is
  // involved (its pairs are packed relative to the list's first number, so a list spanning more
  // than half the sequence space may come out in another, equally valid, order).
  auto rebuilt = buildRtcp(again.value());
  TERN_FUZZ_CHECK(rebuilt.ok());
  const bool anyNack = std::any_of(kept.begin(), kept.end(), [](const RtcpMessage& m) {
    return std::holds_alternative<Nack>(m);
  });
  if (!anyNack) TERN_FUZZ_CHECK(rebuilt.value() == built.value());
  auto third = parseRtcp(rebuilt->data(), rebuilt->size());
  TERN_FUZZ_CHECK(third.ok() && third->size() == kept.size());
  for (std::size_t i = 0; i < kept.size(); ++i) TERN_FUZZ_CHECK(same(kept[i], third.value()[i]));
}

void checkNackPacking(const std::uint8_t* data, std::size_t size) {
  tern::fuzz::ByteReader r(data, size);
  std::vector<std::uint16_t> seqs;
  while (r.remaining() >= 2) seqs.push_back(r.u16());
  const auto fci = nackToFci(seqs);
  const auto expanded = fciToNack(fci);
  const auto distinct = asSet(seqs);
  TERN_FUZZ_CHECK(fci.size() <= distinct.size());
  TERN_FUZZ_CHECK(expanded.size() == distinct.size());  // no number twice
  TERN_FUZZ_CHECK(asSet(expanded) == distinct);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> copy(data, data + size);  // exactly sized: overreads hit ASan
  const std::uint8_t* p = copy.empty() ? nullptr : copy.data();
  checkCompound(p, size);
  checkNackPacking(p, size);
  return 0;
}
