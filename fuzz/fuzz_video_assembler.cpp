// Fuzzes the VideoFrameAssembler (RFC 7741 4.5.1 frame assembly from VP8 RTP packets, RFC 4585
// 6.2.1 NACK scheduling, PLI/FIR keyframe requests) with a hostile packet sequence: reordering,
// duplicates, gaps, sequence numbers across the wraparound and far jumps (restarts), mixed and
// huge RTP timestamps, malformed descriptors, padding-only packets, and arbitrary timing of the
// popFrames / nackList / pollKeyframeRequest calls.
//
// Input: a config byte (bit 0: small limits, so that the bounds are reached; bits 1-2: reorder
// wait), then operations, op & 7 selecting:
//   0, 1  insert a packet; op >> 3: bit 0 marker, bits 1-2 sequence number (0: last + 1,
//         1: last + signed byte, 2: 2 bytes, 3: last again), bits 3-4 timestamp (0: last,
//         1: last + 3000, 2: 4 bytes, 3: last + 4 bytes); then payload length (1 byte), payload
//   2     insert a padding-only packet (empty payload), next sequence number
//   3     popFrames
//   4     nackList with an RTT of (1 byte) ms
//   5     pollKeyframeRequest
//   6     advance the clock by (2 bytes) * 50 us
//   7     advance the clock by ((op >> 3) + 1) * 10 ms, then popFrames
//
// Invariants checked against a model of the packets the assembler accepted:
//   - every frame is exactly the concatenation of the VP8 bytes of accepted packets
//     firstSeq..lastSeq, all with its RTP timestamp, the first starting a frame (S=1, PID=0),
//     the last carrying the marker, none padding-only; no frame spans more than maxPackets;
//   - all frames together never hold more bytes than the packets accepted;
//   - its keyframe flag and size are those of its VP8 payload header;
//   - frames come out in decode order (each starts after the previous one ended) as long as the
//     stream was not restarted; the first frame after waiting for a key frame is a key frame;
//   - insert() rejects exactly the payloads whose descriptor does not parse (counted as
//     malformed); bufferedPackets() never exceeds maxPackets;
//   - a NACK list names each sequence number once, no number is NACKed more than maxNackRetries
//     times, and keyframe requests are at least keyframeRequestIntervalUs apart.
//
// Threading: single-threaded (the engine runs it on its media worker).
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "fuzz_media_support.hpp"
#include "tern/media/jitter_buffer.hpp"
#include "tern/media/vp8_payload.hpp"

using namespace tern::media;

namespace {

struct Accepted {
  std::uint32_t ts = 0;
  bool marker = false;
  bool filler = false;
  bool startsFrame = false;
  std::vector<std::uint8_t> data;  // VP8 bytes after the descriptor
};

struct Harness {
  explicit Harness(const VideoFrameAssembler::Config& c) : config(c), assembler(c) {}

  void insert(std::uint16_t seq, std::uint32_t ts, bool marker,
              const std::vector<std::uint8_t>& payload) {
    const std::uint8_t* p = payload.empty() ? nullptr : payload.data();
    auto parsed = depacketizeVp8(p, payload.size());
    const std::uint64_t malformedBefore = assembler.stats().malformed;
    const std::uint64_t resetsBefore = assembler.stats().resets;
    const bool stored = assembler.insert(seq, ts, marker, p, payload.size(), now);
    if (assembler.stats().resets != resetsBefore) nacks.clear();  // a new stream
    const bool malformed = !payload.empty() && !parsed.ok();
    TERN_FUZZ_CHECK(assembler.stats().malformed == malformedBefore + (malformed ? 1 : 0));
    if (malformed) TERN_FUZZ_CHECK(!stored);
    TERN_FUZZ_CHECK(assembler.bufferedPackets() <= config.maxPackets);
    if (!stored) return;
    Accepted a;
    a.ts = ts;
    a.marker = marker;
    a.filler = payload.empty();
    if (!a.filler) {
      a.startsFrame = parsed->descriptor.startsFrame();
      a.data.assign(parsed->data, parsed->data + parsed->size);
    }
    acceptedBytes += a.data.size();
    model[seq] = std::move(a);
    // A sequence number can be missing again after the number space went round: NACK counts
    // are per trip around it.
    const std::int64_t ext = unwrap.unwrap(seq);
    if (ext - tripStart > 30000 || ext < tripStart) {
      nacks.clear();
      tripStart = ext;
    }
  }

  void pop() {
    const bool wasWaiting = assembler.waitingForKeyframe();
    const std::uint64_t resets = assembler.stats().resets;
    const auto frames = assembler.popFrames(now);
    for (std::size_t i = 0; i < frames.size(); ++i) checkFrame(frames[i], i == 0 && wasWaiting,
                                                               resets);
  }

  void checkFrame(const AssembledFrame& f, bool mustBeKey, std::uint64_t resets) {
    const std::size_t span = static_cast<std::uint16_t>(f.lastSeq - f.firstSeq) + std::size_t{1};
    TERN_FUZZ_CHECK(span <= config.maxPackets);
    std::vector<std::uint8_t> expected;
    for (std::size_t i = 0; i < span; ++i) {
      const auto seq = static_cast<std::uint16_t>(f.firstSeq + i);
      auto it = model.find(seq);
      TERN_FUZZ_CHECK(it != model.end());
      const Accepted& a = it->second;
      TERN_FUZZ_CHECK(!a.filler && a.ts == f.rtpTimestamp);
      TERN_FUZZ_CHECK(a.startsFrame == (i == 0));
      TERN_FUZZ_CHECK(a.marker == (i + 1 == span));
      expected.insert(expected.end(), a.data.begin(), a.data.end());
    }
    TERN_FUZZ_CHECK(f.data == expected);
    emittedBytes += f.data.size();
    TERN_FUZZ_CHECK(emittedBytes <= acceptedBytes);
    auto header = parseVp8PayloadHeader(f.data.data(), f.data.size());
    TERN_FUZZ_CHECK(f.keyframe == (header.ok() && header->keyframe));
    if (f.keyframe) TERN_FUZZ_CHECK(f.width == header->width && f.height == header->height);
    if (mustBeKey) TERN_FUZZ_CHECK(f.keyframe);
    if (lastEmitted && resets == epoch) TERN_FUZZ_CHECK(seqNewer(f.firstSeq, *lastEmitted));
    lastEmitted = f.lastSeq;
    epoch = resets;
  }

  void nack(std::int64_t rttUs) {
    const auto list = assembler.nackList(now, rttUs);
    std::set<std::uint16_t> unique(list.begin(), list.end());
    TERN_FUZZ_CHECK(unique.size() == list.size());
    for (auto seq : list) TERN_FUZZ_CHECK(++nacks[seq] <= config.maxNackRetries);
  }

  void pollKeyframe() {
    if (!assembler.pollKeyframeRequest(now)) return;
    if (lastRequest) TERN_FUZZ_CHECK(now - *lastRequest >= config.keyframeRequestIntervalUs);
    lastRequest = now;
  }

  VideoFrameAssembler::Config config;
  VideoFrameAssembler assembler;
  std::int64_t now = 1000000;
  std::map<std::uint16_t, Accepted> model;
  std::uint64_t acceptedBytes = 0;
  std::uint64_t emittedBytes = 0;
  std::optional<std::uint16_t> lastEmitted;
  std::uint64_t epoch = 0;
  std::map<std::uint16_t, int> nacks;
  SeqUnwrapper unwrap;
  std::int64_t tripStart = 0;
  std::optional<std::int64_t> lastRequest;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tern::fuzz::ByteReader r(data, size);
  const std::uint8_t c = r.u8();
  VideoFrameAssembler::Config config;
  if (c & 1) {
    config.maxPackets = 24;
    config.maxMissing = 12;
    config.maxNackRetries = 3;
    config.frameTimeoutUs = 200000;
    config.keyframeRequestIntervalUs = 100000;
  }
  config.reorderWaitUs = ((c >> 1) & 3) * 10000;
  Harness h(config);
  std::uint16_t seq = r.u16();
  std::uint32_t ts = r.u32();
  while (!r.empty()) {
    const std::uint8_t op = r.u8();
    const std::uint8_t f = op >> 3;
    switch (op & 7) {
      case 0:
      case 1: {
        switch ((f >> 1) & 3) {
          case 0: ++seq; break;
          case 1: seq = static_cast<std::uint16_t>(seq + static_cast<std::int8_t>(r.u8())); break;
          case 2: seq = r.u16(); break;
          default: break;
        }
        switch ((f >> 3) & 3) {
          case 0: break;
          case 1: ts += 3000; break;
          case 2: ts = r.u32(); break;
          default: ts += r.u32(); break;
        }
        const std::vector<std::uint8_t> payload = r.bytes(r.u8());
        h.insert(seq, ts, (f & 1) != 0, payload);
        break;
      }
      case 2:
        h.insert(++seq, ts, false, {});
        break;
      case 3:
        h.pop();
        break;
      case 4:
        h.nack(std::int64_t{r.u8()} * 1000);
        break;
      case 5:
        h.pollKeyframe();
        break;
      case 6:
        h.now += std::int64_t{r.u16()} * 50;
        break;
      default:
        h.now += (std::int64_t{f} + 1) * 10000;
        h.pop();
        break;
    }
  }
  h.pop();
  return 0;
}
