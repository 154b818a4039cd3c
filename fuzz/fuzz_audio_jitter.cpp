// Fuzzes the AudioJitterBuffer (Opus over RTP, RFC 7587; delay estimate after RFC 3550 A.8;
// restart detection after A.1) with fuzz-chosen packets and pull times: reordering, duplicates,
// loss, DTX gaps, sequence numbers across the wraparound and far jumps, arbitrary and huge RTP
// timestamp jumps, bursts and outages.
//
// Input: a config byte (bit 0: 10 ms frames, bit 1: small limits, bit 2: 16 kHz clock), then
// operations, op & 3 selecting:
//   0, 1  insert a packet; op >> 2: bits 0-1 sequence number (0: last + 1, 1: last + signed
//         byte, 2: 2 bytes, 3: last again), bits 2-3 timestamp (0: last + one frame,
//         1: last + (1 byte) frames, 2: 4 bytes, 3: last + 4 bytes), bit 4 marker, bit 5 the
//         clock advances by (1 byte) * 500 us first; then payload length (1 byte), payload
//   2     pull() now, then the clock advances by one frame period
//   3     if bit 5 of op >> 2 is set, first a burst of (1 byte) * 16 packets with consecutive
//         sequence numbers, each timestamp (4 bytes) after the previous one, arriving now (at
//         most 256 such packets per input, to keep inputs fast); then
//         ((op >> 2 & 31) + 1) such pulls
//
// Invariants checked:
//   - a Frame result is a packet that was inserted: same sequence number, timestamp, marker and
//     payload; a Lost result's FEC payload is that of a packet inserted with the next sequence
//     number;
//   - Frame and Lost results move forward in sequence-number order (never the same number
//     twice, never back) until the buffer detects a restart;
//   - buffered() never exceeds maxPackets; the target delay stays within [minDelay, maxDelay];
//   - stats().played counts the Frame results exactly; lost and concealed at least count the
//     Lost results.
//
// Threading: single-threaded (the engine runs it on its media worker).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "fuzz_media_support.hpp"
#include "tern/media/jitter_buffer.hpp"

using namespace tern::media;

namespace {

struct Inserted {
  std::uint32_t ts = 0;
  bool marker = false;
  std::vector<std::uint8_t> payload;
  bool operator==(const Inserted& o) const {
    return ts == o.ts && marker == o.marker && payload == o.payload;
  }
};

struct Harness {
  explicit Harness(const AudioJitterBuffer::Config& c) : config(c), buffer(c) {}

  void insert(std::uint16_t seq, std::uint32_t ts, bool marker, std::vector<std::uint8_t> payload) {
    buffer.insert(seq, ts, marker, payload.empty() ? nullptr : payload.data(), payload.size(),
                  now);
    TERN_FUZZ_CHECK(buffer.buffered() <= config.maxPackets);
    auto& list = model[seq];
    Inserted rec{ts, marker, std::move(payload)};
    for (const auto& old : list) {
      if (old == rec) return;
    }
    list.push_back(std::move(rec));
  }

  bool wasInserted(std::uint16_t seq, const Inserted& rec) const {
    auto it = model.find(seq);
    if (it == model.end()) return false;
    for (const auto& old : it->second) {
      if (old == rec) return true;
    }
    return false;
  }

  void pull() {
    const AudioJitterBuffer::Pull p = buffer.pull(now);
    const AudioJitterBuffer::Stats s = buffer.stats(now);
    TERN_FUZZ_CHECK(s.targetDelayUs >= config.minDelayUs && s.targetDelayUs <= config.maxDelayUs);
    TERN_FUZZ_CHECK(buffer.buffered() <= config.maxPackets);
    using Kind = AudioJitterBuffer::Pull::Kind;
    if (p.kind == Kind::Frame) {
      ++frames;
      TERN_FUZZ_CHECK(wasInserted(p.seq, Inserted{p.timestamp, p.marker, p.payload}));
    } else if (p.kind == Kind::Lost) {
      ++lost;
      if (!p.payload.empty()) {
        auto it = model.find(static_cast<std::uint16_t>(p.seq + 1));
        bool found = false;
        if (it != model.end()) {
          for (const auto& rec : it->second) found = found || rec.payload == p.payload;
        }
        TERN_FUZZ_CHECK(found);
      }
    } else {
      TERN_FUZZ_CHECK(p.payload.empty());
    }
    if (p.kind != Kind::Nothing) {
      if (lastSeq && s.resets == epoch) TERN_FUZZ_CHECK(seqNewer(p.seq, *lastSeq));
      lastSeq = p.seq;
      epoch = s.resets;
    }
    TERN_FUZZ_CHECK(s.played == frames);
    TERN_FUZZ_CHECK(s.lost >= lost && s.concealed >= lost);
    now += static_cast<std::int64_t>(config.frameMs) * 1000;
  }

  AudioJitterBuffer::Config config;
  AudioJitterBuffer buffer;
  std::int64_t now = 5000000;
  std::map<std::uint16_t, std::vector<Inserted>> model;
  std::uint64_t frames = 0;
  std::uint64_t lost = 0;
  std::optional<std::uint16_t> lastSeq;
  std::uint64_t epoch = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tern::fuzz::ByteReader r(data, size);
  const std::uint8_t c = r.u8();
  AudioJitterBuffer::Config config;
  config.frameMs = (c & 1) ? 10 : 20;
  if (c & 2) {
    config.maxPackets = 16;
    config.historyPackets = 8;
    config.maxDelayUs = 200000;
    config.minShrinkIntervalUs = 40000;
  }
  if (c & 4) config.clockRate = 16000;
  Harness h(config);
  const std::uint32_t frameTs = config.clockRate / 1000 * config.frameMs;
  std::uint16_t seq = r.u16();
  std::uint32_t ts = r.u32();
  int burstBudget = 256;  // burst packets per input: a burst costs about 5 us a packet
  while (!r.empty()) {
    const std::uint8_t op = r.u8();
    const std::uint8_t f = op >> 2;
    switch (op & 3) {
      case 0:
      case 1: {
        switch (f & 3) {
          case 0: ++seq; break;
          case 1: seq = static_cast<std::uint16_t>(seq + static_cast<std::int8_t>(r.u8())); break;
          case 2: seq = r.u16(); break;
          default: break;
        }
        switch ((f >> 2) & 3) {
          case 0: ts += frameTs; break;
          case 1: ts += frameTs * r.u8(); break;
          case 2: ts = r.u32(); break;
          default: ts += r.u32(); break;
        }
        if (f & 0x20) h.now += std::int64_t{r.u8()} * 500;
        h.insert(seq, ts, (f & 0x10) != 0, r.bytes(r.u8()));
        break;
      }
      case 2:
        h.pull();
        break;
      default:
        if (f & 0x20) {
          // A burst: (1 byte) * 16 packets, consecutive sequence numbers, each timestamp
          // (4 bytes) after the last, 1-byte payloads, all arriving now.
          int count = r.u8() * 16;
          const std::uint32_t step = r.u32();
          count = std::min(count, burstBudget);  // keeps an input fast
          burstBudget -= count;
          for (int i = 0; i < count; ++i) {
            ts += step;
            h.insert(++seq, ts, false, {static_cast<std::uint8_t>(i)});
          }
        }
        for (int i = 0; i <= (f & 0x1f); ++i) h.pull();
        break;
    }
  }
  return 0;
}
