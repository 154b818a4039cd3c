// RTCP compound packet parsing and building. See tern/media/rtcp.hpp.
#include <tern/media/rtcp.hpp>

#include <algorithm>

namespace tern::media {
namespace {

constexpr std::size_t kReportBlockSize = 24;

ReportBlock readReportBlock(const std::uint8_t* p) {
  ReportBlock b;
  b.ssrc = readU32(p);
  b.fractionLost = p[4];
  std::uint32_t lost = readU24(p + 5);
  if (lost & 0x800000u) lost |= 0xff000000u;  // sign-extend 24 bits
  b.cumulativeLost = static_cast<std::int32_t>(lost);
  b.extendedHighestSeq = readU32(p + 8);
  b.jitter = readU32(p + 12);
  b.lastSr = readU32(p + 16);
  b.delaySinceLastSr = readU32(p + 20);
  return b;
}

void appendReportBlock(std::vector<std::uint8_t>& out, const ReportBlock& b) {
  appendU32(out, b.ssrc);
  out.push_back(b.fractionLost);
  std::int32_t lost = std::clamp<std::int32_t>(b.cumulativeLost, -0x800000, 0x7fffff);
  appendU24(out, static_cast<std::uint32_t>(lost) & 0xffffffu);
  appendU32(out, b.extendedHighestSeq);
  appendU32(out, b.jitter);
  appendU32(out, b.lastSr);
  appendU32(out, b.delaySinceLastSr);
}

// Writes the common header with a placeholder length; returns the header offset.
std::size_t beginPacket(std::vector<std::uint8_t>& out, std::uint8_t count, std::uint8_t type) {
  const std::size_t start = out.size();
  out.push_back(static_cast<std::uint8_t>(0x80 | (count & 0x1f)));
  out.push_back(type);
  appendU16(out, 0);
  return start;
}

void endPacket(std::vector<std::uint8_t>& out, std::size_t start) {
  while ((out.size() - start) % 4 != 0) out.push_back(0);
  const std::size_t words = (out.size() - start) / 4 - 1;
  out[start + 2] = static_cast<std::uint8_t>(words >> 8);
  out[start + 3] = static_cast<std::uint8_t>(words);
}

// Parses one sub-packet body (after the 4-byte header; `n` bytes, padding removed).
// Returns false on a structural error.
bool parseOne(std::uint8_t count, std::uint8_t type, const std::uint8_t* p, std::size_t n,
              std::vector<RtcpMessage>& out) {
  switch (type) {
    case kRtcpSr: {
      if (n < 24 || (n - 24) / kReportBlockSize < count) return false;
      SenderReport sr;
      sr.ssrc = readU32(p);
      sr.ntpTimestamp = (std::uint64_t{readU32(p + 4)} << 32) | readU32(p + 8);
      sr.rtpTimestamp = readU32(p + 12);
      sr.packetCount = readU32(p + 16);
      sr.octetCount = readU32(p + 20);
      for (std::uint8_t i = 0; i < count; ++i) {
        sr.reports.push_back(readReportBlock(p + 24 + i * kReportBlockSize));
      }
      out.emplace_back(std::move(sr));
      return true;
    }
    case kRtcpRr: {
      if (n < 4 || (n - 4) / kReportBlockSize < count) return false;
      ReceiverReport rr;
      rr.ssrc = readU32(p);
      for (std::uint8_t i = 0; i < count; ++i) {
        rr.reports.push_back(readReportBlock(p + 4 + i * kReportBlockSize));
      }
      out.emplace_back(std::move(rr));
      return true;
    }
    case kRtcpSdes: {
      Sdes sdes;
      std::size_t i = 0;
      for (std::uint8_t c = 0; c < count; ++c) {
        if (n - i < 4) return false;
        Sdes::Chunk chunk;
        chunk.ssrc = readU32(p + i);
        i += 4;
        bool ended = false;
        while (i < n) {
          const std::uint8_t itemType = p[i];
          if (itemType == 0) {  // END: skip to the next 32-bit boundary
            ++i;
            i = (i + 3) & ~std::size_t{3};
            ended = true;
            break;
          }
          if (n - i < 2) return false;
          const std::size_t len = p[i + 1];
          if (n - i - 2 < len) return false;
          if (itemType == 1) chunk.cname.assign(reinterpret_cast<const char*>(p + i + 2), len);
          i += 2 + len;
        }
        if (!ended || i > n) return false;
        sdes.chunks.push_back(std::move(chunk));
      }
      out.emplace_back(std::move(sdes));
      return true;
    }
    case kRtcpBye: {
      if (n / 4 < count) return false;
      Bye bye;
      for (std::uint8_t i = 0; i < count; ++i) bye.ssrcs.push_back(readU32(p + 4 * i));
      const std::size_t pos = std::size_t{count} * 4;
      if (n > pos) {
        const std::size_t len = p[pos];
        if (n - pos - 1 < len) return false;
        bye.reason.assign(reinterpret_cast<const char*>(p + pos + 1), len);
      }
      out.emplace_back(std::move(bye));
      return true;
    }
    case kRtcpRtpfb:
    case kRtcpPsfb: {
      if (n < 8) return false;
      const std::uint32_t sender = readU32(p);
      const std::uint32_t media = readU32(p + 4);
      const std::uint8_t* fci = p + 8;
      const std::size_t fciSize = n - 8;
      const std::uint8_t fmt = count;
      if (type == kRtcpRtpfb && fmt == 1) {
        if (fciSize % 4 != 0) return false;
        std::vector<std::pair<std::uint16_t, std::uint16_t>> pairs;
        for (std::size_t i = 0; i < fciSize; i += 4) {
          pairs.emplace_back(readU16(fci + i), readU16(fci + i + 2));
        }
        out.emplace_back(Nack{sender, media, fciToNack(pairs)});
      } else if (type == kRtcpPsfb && fmt == 1) {
        out.emplace_back(Pli{sender, media});
      } else if (type == kRtcpPsfb && fmt == 4) {
        if (fciSize % 8 != 0) return false;
        Fir fir;
        fir.senderSsrc = sender;
        for (std::size_t i = 0; i < fciSize; i += 8) {
          fir.entries.push_back({readU32(fci + i), fci[i + 4]});
        }
        out.emplace_back(std::move(fir));
      } else if (type == kRtcpPsfb && fmt == 15 && fciSize >= 8 && fci[0] == 'R' &&
                 fci[1] == 'E' && fci[2] == 'M' && fci[3] == 'B') {
        Remb remb;
        remb.senderSsrc = sender;
        const std::size_t numSsrc = fci[4];
        if ((fciSize - 8) / 4 < numSsrc) return false;
        const unsigned exp = fci[5] >> 2;
        const std::uint64_t mantissa = readU24(fci + 5) & 0x3ffffu;
        remb.bitrateBps = exp > 46 ? UINT64_MAX : (mantissa << exp);
        for (std::size_t i = 0; i < numSsrc; ++i) remb.ssrcs.push_back(readU32(fci + 8 + 4 * i));
        out.emplace_back(std::move(remb));
      }
      return true;  // other formats (TMMBR, transport-cc, ...) are skipped
    }
    default:
      return true;  // APP, XR and unknown types are skipped
  }
}

}  // namespace

bool ReportBlock::operator==(const ReportBlock& o) const {
  return ssrc == o.ssrc && fractionLost == o.fractionLost && cumulativeLost == o.cumulativeLost &&
         extendedHighestSeq == o.extendedHighestSeq && jitter == o.jitter && lastSr == o.lastSr &&
         delaySinceLastSr == o.delaySinceLastSr;
}

Expected<std::vector<RtcpMessage>> parseRtcp(const std::uint8_t* data, std::size_t size) {
  if (data == nullptr || size < 4) return MediaError::Truncated;
  std::vector<RtcpMessage> out;
  std::size_t pos = 0;
  while (pos < size) {
    if (size - pos < 4) return MediaError::Truncated;
    const std::uint8_t* h = data + pos;
    if ((h[0] >> 6) != 2) return MediaError::BadVersion;
    const std::size_t total = (std::size_t{readU16(h + 2)} + 1) * 4;
    if (size - pos < total) return MediaError::Truncated;
    std::size_t body = total - 4;
    if (h[0] & 0x20) {
      const std::uint8_t pad = h[total - 1];
      if (pad == 0 || pad > body) return MediaError::BadPadding;
      body -= pad;
    }
    if (!parseOne(h[0] & 0x1f, h[1], h + 4, body, out)) return MediaError::BadLength;
    pos += total;
  }
  return out;
}

Expected<bool> appendRtcp(std::vector<std::uint8_t>& out, const RtcpMessage& message) {
  const std::size_t rollback = out.size();
  auto fail = [&]() -> Expected<bool> {
    out.resize(rollback);
    return MediaError::InvalidArgument;
  };
  if (const auto* sr = std::get_if<SenderReport>(&message)) {
    if (sr->reports.size() > 31) return fail();
    const auto start = beginPacket(out, static_cast<std::uint8_t>(sr->reports.size()), kRtcpSr);
    appendU32(out, sr->ssrc);
    appendU32(out, static_cast<std::uint32_t>(sr->ntpTimestamp >> 32));
    appendU32(out, static_cast<std::uint32_t>(sr->ntpTimestamp));
    appendU32(out, sr->rtpTimestamp);
    appendU32(out, sr->packetCount);
    appendU32(out, sr->octetCount);
    for (const auto& b : sr->reports) appendReportBlock(out, b);
    endPacket(out, start);
  } else if (const auto* rr = std::get_if<ReceiverReport>(&message)) {
    if (rr->reports.size() > 31) return fail();
    const auto start = beginPacket(out, static_cast<std::uint8_t>(rr->reports.size()), kRtcpRr);
    appendU32(out, rr->ssrc);
    for (const auto& b : rr->reports) appendReportBlock(out, b);
    endPacket(out, start);
  } else if (const auto* sdes = std::get_if<Sdes>(&message)) {
    if (sdes->chunks.size() > 31) return fail();
    const auto start = beginPacket(out, static_cast<std::uint8_t>(sdes->chunks.size()), kRtcpSdes);
    for (const auto& c : sdes->chunks) {
      if (c.cname.size() > 255) return fail();
      const std::size_t chunkStart = out.size();
      appendU32(out, c.ssrc);
      out.push_back(1);
      out.push_back(static_cast<std::uint8_t>(c.cname.size()));
      out.insert(out.end(), c.cname.begin(), c.cname.end());
      out.push_back(0);  // END item; at least one null octet, then pad to 32 bits
      while ((out.size() - chunkStart) % 4 != 0) out.push_back(0);
    }
    endPacket(out, start);
  } else if (const auto* bye = std::get_if<Bye>(&message)) {
    if (bye->ssrcs.size() > 31 || bye->reason.size() > 255) return fail();
    const auto start = beginPacket(out, static_cast<std::uint8_t>(bye->ssrcs.size()), kRtcpBye);
    for (auto s : bye->ssrcs) appendU32(out, s);
    if (!bye->reason.empty()) {
      out.push_back(static_cast<std::uint8_t>(bye->reason.size()));
      out.insert(out.end(), bye->reason.begin(), bye->reason.end());
    }
    endPacket(out, start);
  } else if (const auto* nack = std::get_if<Nack>(&message)) {
    if (nack->sequenceNumbers.empty()) return fail();
    const auto fci = nackToFci(nack->sequenceNumbers);
    if (fci.size() > 0xfffd) return fail();
    const auto start = beginPacket(out, 1, kRtcpRtpfb);
    appendU32(out, nack->senderSsrc);
    appendU32(out, nack->mediaSsrc);
    for (const auto& [pid, blp] : fci) {
      appendU16(out, pid);
      appendU16(out, blp);
    }
    endPacket(out, start);
  } else if (const auto* pli = std::get_if<Pli>(&message)) {
    const auto start = beginPacket(out, 1, kRtcpPsfb);
    appendU32(out, pli->senderSsrc);
    appendU32(out, pli->mediaSsrc);
    endPacket(out, start);
  } else if (const auto* fir = std::get_if<Fir>(&message)) {
    if (fir->entries.empty()) return fail();
    const auto start = beginPacket(out, 4, kRtcpPsfb);
    appendU32(out, fir->senderSsrc);
    appendU32(out, 0);  // RFC 5104 4.3.1.2: media source SSRC SHALL be 0
    for (const auto& e : fir->entries) {
      appendU32(out, e.ssrc);
      out.push_back(e.sequenceNumber);
      appendU24(out, 0);
    }
    endPacket(out, start);
  } else {
    return fail();  // REMB is parse-only
  }
  return true;
}

Expected<std::vector<std::uint8_t>> buildRtcp(const std::vector<RtcpMessage>& messages) {
  auto rank = [](const RtcpMessage& m) {
    if (std::holds_alternative<SenderReport>(m) || std::holds_alternative<ReceiverReport>(m)) {
      return 0;
    }
    if (std::holds_alternative<Sdes>(m)) return 1;
    if (std::holds_alternative<Bye>(m)) return 3;  // RFC 3550 6.1: BYE comes last
    return 2;
  };
  std::vector<const RtcpMessage*> ordered;
  for (const auto& m : messages) ordered.push_back(&m);
  std::stable_sort(ordered.begin(), ordered.end(),
                   [&](const RtcpMessage* a, const RtcpMessage* b) { return rank(*a) < rank(*b); });
  std::vector<std::uint8_t> out;
  for (const auto* m : ordered) {
    auto r = appendRtcp(out, *m);
    if (!r) return r.error();
  }
  return out;
}

std::vector<std::pair<std::uint16_t, std::uint16_t>> nackToFci(
    std::vector<std::uint16_t> sequenceNumbers) {
  std::vector<std::pair<std::uint16_t, std::uint16_t>> fci;
  if (sequenceNumbers.empty()) return fci;
  // Order relative to the first entry so that a list spanning 65535 -> 0 sorts correctly.
  const std::uint16_t ref = sequenceNumbers.front();
  std::vector<int> rel;
  rel.reserve(sequenceNumbers.size());
  for (auto s : sequenceNumbers) rel.push_back(seqDiff(s, ref));
  std::sort(rel.begin(), rel.end());
  rel.erase(std::unique(rel.begin(), rel.end()), rel.end());
  for (std::size_t i = 0; i < rel.size();) {
    const int pid = rel[i];
    std::uint16_t blp = 0;
    std::size_t j = i + 1;
    while (j < rel.size() && rel[j] - pid <= 16) {
      blp = static_cast<std::uint16_t>(blp | (1u << (rel[j] - pid - 1)));
      ++j;
    }
    fci.emplace_back(static_cast<std::uint16_t>(ref + pid), blp);
    i = j;
  }
  return fci;
}

std::vector<std::uint16_t> fciToNack(
    const std::vector<std::pair<std::uint16_t, std::uint16_t>>& fci) {
  std::vector<std::uint16_t> out;
  for (const auto& [pid, blp] : fci) {
    out.push_back(pid);
    for (unsigned bit = 0; bit < 16; ++bit) {
      if (blp & (1u << bit)) out.push_back(static_cast<std::uint16_t>(pid + bit + 1));
    }
  }
  return out;
}

std::uint64_t unixMicrosToNtp(std::int64_t unixMicros) noexcept {
  constexpr std::uint64_t kNtpUnixOffsetSeconds = 2208988800ull;  // 1900-01-01 to 1970-01-01
  const std::uint64_t us = static_cast<std::uint64_t>(unixMicros < 0 ? 0 : unixMicros);
  const std::uint64_t seconds = us / 1000000 + kNtpUnixOffsetSeconds;
  const std::uint64_t frac = ((us % 1000000) << 32) / 1000000;
  return (seconds << 32) | frac;
}

}  // namespace tern::media
