// AudioJitterBuffer under simulated networks: constant delay, random jitter up to 60-80 ms,
// 10% loss, reordering, duplicates, sequence and timestamp wraparound, DTX gaps, long silence,
// a burst of late packets and a peer restart. Time is simulated; no sleeps.
#include <tern/media/jitter_buffer.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <vector>

namespace tern::media {
namespace {

using Bytes = std::vector<std::uint8_t>;
using Kind = AudioJitterBuffer::Pull::Kind;
using Reason = AudioJitterBuffer::Pull::Reason;

constexpr std::int64_t kFrameUs = 20000;
constexpr std::uint32_t kFrameTs = 960;

struct SimPacket {
  std::int64_t index = 0;  // sender's running packet index (payload content)
  std::uint16_t seq = 0;
  std::uint32_t ts = 0;
  bool marker = false;
  std::int64_t sendUs = 0;
  std::int64_t arrivalUs = 0;
};

Bytes payloadFor(std::int64_t index) {
  Bytes b(24, 0x5a);
  for (int i = 0; i < 8; ++i) b[i] = static_cast<std::uint8_t>(index >> (8 * i));
  return b;
}

std::int64_t indexOf(const Bytes& b) {
  std::int64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<std::int64_t>(b.at(i)) << (8 * i);
  return v;
}

// A sender producing 20 ms frames. `silent(i)` frames are not sent (DTX): their timestamps
// still pass, sequence numbers do not, and the next sent frame carries the marker.
struct Sender {
  std::uint16_t seq0 = 0;
  std::uint32_t ts0 = 0;
  std::int64_t startUs = 0;
  std::vector<SimPacket> run(std::int64_t frames, const std::set<std::int64_t>& silent = {}) {
    std::vector<SimPacket> out;
    std::uint16_t seq = seq0;
    bool marker = true;
    std::int64_t index = 0;
    for (std::int64_t f = 0; f < frames; ++f) {
      if (silent.count(f) != 0) {
        marker = true;
        continue;
      }
      SimPacket p;
      p.index = index++;
      p.seq = seq++;
      p.ts = static_cast<std::uint32_t>(ts0 + static_cast<std::uint32_t>(f) * kFrameTs);
      p.marker = marker;
      marker = false;
      p.sendUs = startUs + f * kFrameUs;
      out.push_back(p);
    }
    return out;
  }
};

struct Outcome {
  std::int64_t timeUs = 0;
  AudioJitterBuffer::Pull pull;
};

// Delivers packets by arrival time and pulls every 20 ms (phase 7 ms) until `endUs`.
// `probe` is called after every pull.
template <class Probe>
std::vector<Outcome> simulate(AudioJitterBuffer& jb, std::vector<SimPacket> packets,
                              std::int64_t endUs, Probe probe) {
  std::stable_sort(packets.begin(), packets.end(),
                   [](const SimPacket& a, const SimPacket& b) {
                     return a.arrivalUs < b.arrivalUs;
                   });
  std::vector<Outcome> out;
  std::size_t next = 0;
  for (std::int64_t t = 7000; t < endUs; t += kFrameUs) {
    while (next < packets.size() && packets[next].arrivalUs <= t) {
      const auto& p = packets[next++];
      const Bytes pl = payloadFor(p.index);
      jb.insert(p.seq, p.ts, p.marker, pl.data(), pl.size(), p.arrivalUs);
    }
    out.push_back({t, jb.pull(t)});
    probe(t, out.back());
  }
  return out;
}

std::vector<Outcome> simulate(AudioJitterBuffer& jb, std::vector<SimPacket> packets,
                              std::int64_t endUs) {
  return simulate(jb, std::move(packets), endUs, [](std::int64_t, const Outcome&) {});
}

// Frames and losses come out in strictly increasing sequence order, no frame twice, each
// Frame's payload is the packet with that sequence number, and each FEC payload is the packet
// after the lost one. Returns the indices played.
std::set<std::int64_t> checkOrder(const std::vector<Outcome>& outcomes,
                                  const std::map<std::uint16_t, std::int64_t>& indexBySeq) {
  std::set<std::int64_t> played;
  SeqUnwrapper unwrap;
  std::int64_t last = INT64_MIN;
  for (const auto& o : outcomes) {
    if (o.pull.kind == Kind::Nothing) {
      EXPECT_TRUE(o.pull.payload.empty());
      continue;
    }
    const std::int64_t ext = unwrap.unwrap(o.pull.seq);
    EXPECT_GT(ext, last) << "out of order at t=" << o.timeUs;
    last = ext;
    if (o.pull.kind == Kind::Frame) {
      const std::int64_t idx = indexOf(o.pull.payload);
      EXPECT_EQ(indexBySeq.at(o.pull.seq), idx);
      EXPECT_TRUE(played.insert(idx).second) << "played twice: " << idx;
    } else if (!o.pull.payload.empty()) {
      EXPECT_EQ(indexBySeq.at(static_cast<std::uint16_t>(o.pull.seq + 1)),
                indexOf(o.pull.payload));
    }
  }
  return played;
}

std::map<std::uint16_t, std::int64_t> seqIndex(const std::vector<SimPacket>& packets) {
  std::map<std::uint16_t, std::int64_t> m;
  for (const auto& p : packets) m[p.seq] = p.index;
  return m;
}

TEST(AudioJitterBuffer, ConstantDelayPlaysEverythingAtMinimumDelay) {
  Sender s;
  s.seq0 = 100;
  s.ts0 = 5000;
  auto pkts = s.run(500);
  for (auto& p : pkts) p.arrivalUs = p.sendUs + 40000;
  AudioJitterBuffer jb;
  auto out = simulate(jb, pkts, 500 * kFrameUs + 200000);
  auto played = checkOrder(out, seqIndex(pkts));
  EXPECT_EQ(played.size(), 500u);
  const auto st = jb.stats(out.back().timeUs);
  EXPECT_EQ(st.lost, 0u);
  EXPECT_EQ(st.late, 0u);
  EXPECT_EQ(st.discarded, 0u);
  EXPECT_EQ(st.concealed, 0u);
  EXPECT_EQ(st.targetDelayUs, 20000);
  EXPECT_LE(st.currentDelayUs, 30000);
  // The first frame plays one target delay (+ at most one pull period) after it arrived.
  auto first = std::find_if(out.begin(), out.end(),
                            [](const Outcome& o) { return o.pull.kind == Kind::Frame; });
  ASSERT_NE(first, out.end());
  EXPECT_LE(first->timeUs, 40000 + 20000 + kFrameUs);
}

TEST(AudioJitterBuffer, ReportsLossWithNextPacketForFec) {
  Sender s;
  auto pkts = s.run(6);
  std::vector<SimPacket> sent;
  for (auto& p : pkts) {
    p.arrivalUs = p.sendUs + 10000;
    if (p.seq != 2) sent.push_back(p);
  }
  AudioJitterBuffer jb;
  auto out = simulate(jb, sent, 400000);
  std::vector<std::pair<Kind, std::uint16_t>> seq;
  for (const auto& o : out) {
    if (o.pull.kind != Kind::Nothing) seq.emplace_back(o.pull.kind, o.pull.seq);
  }
  const std::vector<std::pair<Kind, std::uint16_t>> want = {
      {Kind::Frame, 0}, {Kind::Frame, 1}, {Kind::Lost, 2},
      {Kind::Frame, 3}, {Kind::Frame, 4}, {Kind::Frame, 5}};
  EXPECT_EQ(seq, want);
  for (const auto& o : out) {
    if (o.pull.kind == Kind::Lost) {
      EXPECT_EQ(indexOf(o.pull.payload), 3);  // FEC source: the packet after the lost one
      EXPECT_EQ(o.pull.timestamp, 2 * kFrameTs);
    }
  }
  EXPECT_EQ(jb.stats(0).fecAvailable, 1u);
  // The lost packet finally shows up: it is late, not played.
  const Bytes pl = payloadFor(2);
  jb.insert(2, 2 * kFrameTs, false, pl.data(), pl.size(), 500000);
  EXPECT_EQ(jb.stats(0).late, 1u);
  // A duplicate of a played packet is a duplicate.
  const Bytes p4 = payloadFor(4);
  jb.insert(4, 4 * kFrameTs, false, p4.data(), p4.size(), 500000);
  EXPECT_EQ(jb.stats(0).duplicates, 1u);
  EXPECT_EQ(jb.pull(507000).kind, Kind::Nothing);
}

// Three consecutive packets lost just after the sequence wrap.
std::vector<SimPacket> burstLoss(std::vector<SimPacket>* all) {
  Sender s;
  s.seq0 = 65534;
  *all = s.run(10);
  std::vector<SimPacket> sent;
  for (auto& p : *all) {
    p.arrivalUs = p.sendUs + 10000;
    if (p.index < 3 || p.index > 5) sent.push_back(p);  // seq 1, 2, 3 lost
  }
  return sent;
}

TEST(AudioJitterBuffer, ConsecutiveLossesTakeOnePeriodEach) {
  std::vector<SimPacket> all;
  auto sent = burstLoss(&all);
  AudioJitterBuffer::Config cfg;
  cfg.minDelayUs = 100000;  // deep enough that packet 4 is buffered when slot 1 comes
  AudioJitterBuffer jb(cfg);
  auto out = simulate(jb, sent, 600000);
  checkOrder(out, seqIndex(all));
  std::vector<std::pair<Kind, std::uint16_t>> got;
  std::vector<bool> fec;
  for (const auto& o : out) {
    if (o.pull.kind == Kind::Nothing) continue;
    got.emplace_back(o.pull.kind, o.pull.seq);
    if (o.pull.kind == Kind::Lost) fec.push_back(!o.pull.payload.empty());
  }
  const std::vector<std::pair<Kind, std::uint16_t>> want = {
      {Kind::Frame, 65534}, {Kind::Frame, 65535}, {Kind::Frame, 0}, {Kind::Lost, 1},
      {Kind::Lost, 2},      {Kind::Lost, 3},      {Kind::Frame, 4}, {Kind::Frame, 5},
      {Kind::Frame, 6},     {Kind::Frame, 7}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(fec, (std::vector<bool>{false, false, true}));
  // Playout never stalled: the ten results came in ten consecutive periods.
  auto first = std::find_if(out.begin(), out.end(),
                            [](const Outcome& o) { return o.pull.kind != Kind::Nothing; });
  ASSERT_LE(first + 10, out.end());
  for (int i = 0; i < 10; ++i) EXPECT_NE((first + i)->pull.kind, Kind::Nothing);
}

// Packets lost while the buffer ran dry, then the next one arrives a little early (jitter):
// the periods until it is due are concealment, not a DTX gap (which would play silence).
TEST(AudioJitterBuffer, EarlyPacketAfterLossesWhileEmptyIsNotADtxGap) {
  Sender s;
  auto all = s.run(40);
  std::vector<SimPacket> sent;
  for (auto& p : all) {
    p.arrivalUs = p.sendUs + (p.index < 20 ? 12000 : 1000);  // the path gets 11 ms faster
    if (p.index != 18 && p.index != 19) sent.push_back(p);
  }
  AudioJitterBuffer jb;
  auto out = simulate(jb, sent, 1000000);
  checkOrder(out, seqIndex(all));
  bool started = false;
  for (const auto& o : out) {
    if (o.pull.kind != Kind::Nothing) started = true;
    if (started) {
      EXPECT_NE(o.pull.reason, Reason::Gap) << "at " << o.timeUs << " us";
    }
  }
  EXPECT_EQ(jb.stats(1000000).lost, 2u);
}

TEST(AudioJitterBuffer, LossesWhileEmptyAreCountedWithoutStallingPlayout) {
  // With a 20 ms target the buffer runs dry during the burst: those periods come back as
  // Nothing/Empty (the caller conceals), the gap is counted lost when packet 4 shows it, and
  // packet 4 still plays in its own period.
  std::vector<SimPacket> all;
  auto sent = burstLoss(&all);
  AudioJitterBuffer jb;
  auto out = simulate(jb, sent, 600000);
  checkOrder(out, seqIndex(all));
  auto first = std::find_if(out.begin(), out.end(),
                            [](const Outcome& o) { return o.pull.kind != Kind::Nothing; });
  ASSERT_LE(first + 10, out.end());
  for (int i = 0; i < 10; ++i) {
    const auto& p = (first + i)->pull;
    if (i >= 3 && i <= 5) {
      EXPECT_EQ(p.kind, Kind::Nothing);
      EXPECT_EQ(p.reason, Reason::Empty);
    } else {
      EXPECT_EQ(p.kind, Kind::Frame);
    }
  }
  EXPECT_EQ(jb.stats(600000).lost, 3u);
  EXPECT_EQ(jb.stats(600000).played, 7u);
}

TEST(AudioJitterBuffer, JitterLossReorderDuplicatesAndWraparound) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<std::int64_t> jitter(0, 60000);
  std::uniform_real_distribution<double> coin(0, 1);
  Sender s;
  s.seq0 = 65000;          // wraps after 536 packets
  s.ts0 = 0xffff0000u;     // wraps after 69 frames
  const std::int64_t frames = 3000;
  auto pkts = s.run(frames);
  std::vector<SimPacket> wire;
  std::set<std::int64_t> dropped;
  for (auto p : pkts) {
    if (coin(rng) < 0.10) {
      dropped.insert(p.index);
      continue;
    }
    p.arrivalUs = p.sendUs + 30000 + jitter(rng);
    wire.push_back(p);
    if (coin(rng) < 0.02) {
      p.arrivalUs = p.sendUs + 30000 + jitter(rng);
      wire.push_back(p);
    }
  }
  AudioJitterBuffer jb;
  std::int64_t maxTarget = 0;
  auto out = simulate(jb, wire, frames * kFrameUs + 1000000,
                      [&](std::int64_t t, const Outcome&) {
                        maxTarget = std::max(maxTarget, jb.targetDelayUs(t));
                      });
  const auto index = seqIndex(pkts);
  auto played = checkOrder(out, index);
  const auto st = jb.stats(out.back().timeUs);
  // Every sequence number was played, reported lost, or discarded to shrink the delay.
  EXPECT_EQ(st.played + st.lost + st.discarded, static_cast<std::uint64_t>(frames));
  EXPECT_EQ(st.played, played.size());
  for (auto idx : dropped) EXPECT_EQ(played.count(idx), 0u);
  // Network losses are reported as losses.
  EXPECT_GE(st.lost, dropped.size());
  EXPECT_GT(st.fecAvailable, st.lost / 2);
  EXPECT_GT(st.duplicates, 0u);
  EXPECT_LT(st.late, wire.size() / 20) << "late " << st.late;
  EXPECT_GE(played.size(), static_cast<std::size_t>(frames * 0.85));
  EXPECT_GE(maxTarget, 50000);
  EXPECT_LE(maxTarget, 100000);
  EXPECT_GE(st.targetDelayUs, 40000);
}

TEST(AudioJitterBuffer, TargetDelayAdaptsUpUnderJitterAndBackDownAfter) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::int64_t> jitter(0, 80000);
  Sender s;
  s.seq0 = 1;
  const std::int64_t calm1 = 500, jittery = 1000, calm2 = 1500;
  auto pkts = s.run(calm1 + jittery + calm2);
  for (auto& p : pkts) {
    p.arrivalUs = p.sendUs + 25000;
    if (p.index >= calm1 && p.index < calm1 + jittery) p.arrivalUs += jitter(rng);
  }
  AudioJitterBuffer jb;
  std::int64_t targetEndCalm1 = -1, targetEndJitter = -1, delayEndJitter = -1;
  std::int64_t lateDuringJitterEnd = 0;
  auto out = simulate(jb, pkts, (calm1 + jittery + calm2) * kFrameUs + 500000,
                      [&](std::int64_t t, const Outcome&) {
                        if (targetEndCalm1 < 0 && t >= calm1 * kFrameUs) {
                          targetEndCalm1 = jb.targetDelayUs(t);
                        }
                        if (targetEndJitter < 0 && t >= (calm1 + jittery) * kFrameUs) {
                          targetEndJitter = jb.targetDelayUs(t);
                          delayEndJitter = jb.stats(t).currentDelayUs;
                          lateDuringJitterEnd = static_cast<std::int64_t>(jb.stats(t).late);
                        }
                      });
  checkOrder(out, seqIndex(pkts));
  const auto st = jb.stats(out.back().timeUs);
  EXPECT_EQ(targetEndCalm1, 20000);
  EXPECT_GE(targetEndJitter, 70000);
  EXPECT_GE(delayEndJitter, 50000);
  EXPECT_LT(lateDuringJitterEnd, static_cast<std::int64_t>(jittery / 20));
  // 30 s after the jitter stopped, both the target and the actual delay are back down.
  EXPECT_LE(st.targetDelayUs, 30000);
  EXPECT_LE(st.currentDelayUs, 40000);
  EXPECT_GT(st.discarded, 0u);  // the shrink happened by dropping frames
  // Nothing was lost on the wire: every slot reported lost belongs to a packet that came late.
  EXPECT_EQ(st.lost, st.late);
}

TEST(AudioJitterBuffer, DtxGapsAreSilenceNotLoss) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<std::int64_t> jitter(0, 20000);
  Sender s;
  s.seq0 = 65500;
  std::set<std::int64_t> silent;
  for (std::int64_t f = 0; f < 1500; ++f) {
    if ((f / 50) % 3 == 2) silent.insert(f);  // 1 s talk, 1 s talk, 1 s silence, ...
  }
  auto pkts = s.run(1500, silent);
  for (auto& p : pkts) p.arrivalUs = p.sendUs + 30000 + jitter(rng);
  AudioJitterBuffer jb;
  auto out = simulate(jb, pkts, 1500 * kFrameUs + 500000);
  auto played = checkOrder(out, seqIndex(pkts));
  const auto st = jb.stats(out.back().timeUs);
  EXPECT_EQ(played.size() + st.discarded, pkts.size());
  EXPECT_EQ(st.lost, 0u);
  EXPECT_EQ(st.late, 0u);
  const auto gaps = std::count_if(out.begin(), out.end(), [](const Outcome& o) {
    return o.pull.kind == Kind::Nothing &&
           (o.pull.reason == Reason::Gap || o.pull.reason == Reason::Empty);
  });
  EXPECT_GE(gaps, static_cast<long>(silent.size()) - 100);
  // Markers of talkspurt starts are passed through.
  const auto markers = std::count_if(out.begin(), out.end(), [](const Outcome& o) {
    return o.pull.kind == Kind::Frame && o.pull.marker;
  });
  EXPECT_EQ(markers, 10);
}

TEST(AudioJitterBuffer, LongSilenceThenResume) {
  Sender s;
  s.seq0 = 10;
  std::set<std::int64_t> silent;
  for (std::int64_t f = 100; f < 3100; ++f) silent.insert(f);  // 60 s
  auto pkts = s.run(3200, silent);
  for (auto& p : pkts) p.arrivalUs = p.sendUs + 50000;
  AudioJitterBuffer jb;
  auto out = simulate(jb, pkts, 3200 * kFrameUs + 300000);
  auto played = checkOrder(out, seqIndex(pkts));
  EXPECT_EQ(played.size(), 200u);
  const auto st = jb.stats(out.back().timeUs);
  EXPECT_EQ(st.lost, 0u);
  EXPECT_EQ(st.late, 0u);
  // The first frame after the silence plays within a frame of its due time.
  const std::int64_t resumeArrival = 3100 * kFrameUs + 50000;
  auto it = std::find_if(out.begin(), out.end(), [](const Outcome& o) {
    return o.pull.kind == Kind::Frame && indexOf(o.pull.payload) == 100;
  });
  ASSERT_NE(it, out.end());
  EXPECT_TRUE(it->pull.marker);
  EXPECT_LE(it->timeUs, resumeArrival + 20000 + kFrameUs);
}

TEST(AudioJitterBuffer, LongOutageIsCountedLostWithoutReplayingEverySlot) {
  Sender s;
  s.seq0 = 65000;
  auto pkts = s.run(1300);
  std::vector<SimPacket> wire;
  for (auto p : pkts) {
    p.arrivalUs = p.sendUs + 30000;
    if (p.index < 100 || p.index >= 1100) wire.push_back(p);  // 20 s outage
  }
  AudioJitterBuffer jb;
  auto out = simulate(jb, wire, 1300 * kFrameUs + 300000);
  auto played = checkOrder(out, seqIndex(pkts));
  EXPECT_EQ(played.size(), 300u);
  const auto st = jb.stats(out.back().timeUs);
  EXPECT_EQ(st.lost, 1000u);
  EXPECT_EQ(st.played + st.lost + st.discarded, 1300u);
  // No period is spent on the slots that went by during the outage, and playout resumes
  // without extra delay.
  auto lostResults = std::count_if(out.begin(), out.end(), [](const Outcome& o) {
    return o.pull.kind == Kind::Lost;
  });
  EXPECT_EQ(lostResults, 0);
  auto resume = std::find_if(out.begin(), out.end(), [](const Outcome& o) {
    return o.pull.kind == Kind::Frame && indexOf(o.pull.payload) == 1100;
  });
  ASSERT_NE(resume, out.end());
  EXPECT_LE(resume->timeUs, 1100 * kFrameUs + 30000 + 20000 + kFrameUs / 2);
  EXPECT_LE(st.currentDelayUs, 30000);
}

TEST(AudioJitterBuffer, BurstOfLatePacketsGrowsDelayWithoutLoss) {
  Sender s;
  s.seq0 = 30000;
  auto pkts = s.run(2000);
  for (auto& p : pkts) {
    p.arrivalUs = p.sendUs + 30000;
    // A 300 ms outage: everything sent in [2.0 s, 2.3 s) arrives together at 2.33 s.
    if (p.sendUs >= 2000000 && p.sendUs < 2300000) p.arrivalUs = 2330000;
  }
  AudioJitterBuffer jb;
  std::int64_t targetAfterBurst = -1;
  auto out = simulate(jb, pkts, 2000 * kFrameUs + 600000, [&](std::int64_t t, const Outcome&) {
    if (targetAfterBurst < 0 && t > 2400000) targetAfterBurst = jb.targetDelayUs(t);
  });
  auto played = checkOrder(out, seqIndex(pkts));
  const auto st = jb.stats(out.back().timeUs);
  EXPECT_EQ(st.lost, 0u);
  EXPECT_EQ(st.late, 0u);
  EXPECT_GE(targetAfterBurst, 300000);
  EXPECT_EQ(played.size() + st.discarded, pkts.size());
  EXPECT_LE(st.targetDelayUs, 40000);  // 37 s later
  EXPECT_LE(st.currentDelayUs, 50000);
}

TEST(AudioJitterBuffer, PeerRestartResets) {
  Sender a;
  a.seq0 = 100;
  a.ts0 = 1000;
  auto first = a.run(200);
  Sender b;
  b.seq0 = 40000;      // far jump
  b.ts0 = 777777777;
  b.startUs = 200 * kFrameUs;
  auto second = b.run(200);
  std::vector<SimPacket> all = first;
  for (auto p : second) {
    p.index += 1000;
    all.push_back(p);
  }
  for (auto& p : all) p.arrivalUs = p.sendUs + 30000;
  AudioJitterBuffer jb;
  auto out = simulate(jb, all, 400 * kFrameUs + 300000);
  std::set<std::int64_t> played;
  for (const auto& o : out) {
    if (o.pull.kind == Kind::Frame) played.insert(indexOf(o.pull.payload));
  }
  const auto st = jb.stats(out.back().timeUs);
  EXPECT_EQ(st.resets, 1u);
  EXPECT_GE(played.size(), 395u);
  EXPECT_EQ(played.count(1199), 1u);  // the new stream plays to its end
  EXPECT_LE(st.currentDelayUs, 30000);
}

// Found by fuzz_audio_jitter (fuzz/regressions/fuzz_audio_jitter/): timestamps that each jump
// by almost 2^31 push the unwrapped timestamp past 2^43, where converting it to microseconds
// overflowed (undefined behaviour; UBSan reports it in the sanitizer build). Playout must
// carry on with whatever follows.
TEST(AudioJitterBuffer, HugeTimestampJumpsDoNotOverflow) {
  AudioJitterBuffer jb;
  const Bytes pl = payloadFor(0);
  std::uint16_t seq = 1;
  std::uint32_t ts = 0;
  std::int64_t now = 0;
  for (int i = 0; i < 5000; ++i, ++seq, now += kFrameUs) {
    ts += 0x7fffffff;
    jb.insert(seq, ts, false, pl.data(), pl.size(), now);
    jb.pull(now);
  }
  EXPECT_LE(jb.buffered(), AudioJitterBuffer::Config{}.maxPackets);
  // A well-behaved stream follows: it plays, in order, at a bounded delay.
  std::vector<std::uint16_t> played;
  for (int i = 0; i < 100; ++i, now += kFrameUs) {
    const Bytes p = payloadFor(i);
    ts += kFrameTs;
    jb.insert(static_cast<std::uint16_t>(seq + i), ts, false, p.data(), p.size(), now);
    const auto pull = jb.pull(now);
    if (pull.kind == Kind::Frame) played.push_back(pull.seq);
  }
  ASSERT_GE(played.size(), 80u);
  EXPECT_TRUE(std::is_sorted(played.begin(), played.end()));
  const auto st = jb.stats(now);
  EXPECT_GE(st.targetDelayUs, AudioJitterBuffer::Config{}.minDelayUs);
  EXPECT_LE(st.targetDelayUs, AudioJitterBuffer::Config{}.maxDelayUs);
}

TEST(AudioJitterBuffer, StraySequenceJumpDoesNotReset) {
  AudioJitterBuffer jb;
  const Bytes pl = payloadFor(0);
  for (std::uint16_t i = 0; i < 10; ++i) jb.insert(i, i * kFrameTs, false, pl.data(), pl.size(), 0);
  jb.insert(30000, 5, false, pl.data(), pl.size(), 0);  // a single stray packet
  jb.insert(10, 10 * kFrameTs, false, pl.data(), pl.size(), 0);
  const auto st = jb.stats(0);
  EXPECT_EQ(st.resets, 0u);
  EXPECT_EQ(st.discarded, 1u);
  EXPECT_EQ(jb.buffered(), 11u);
}

TEST(AudioJitterBuffer, TenMillisecondFrames) {
  AudioJitterBuffer::Config cfg;
  cfg.frameMs = 10;
  cfg.minDelayUs = 10000;
  AudioJitterBuffer jb(cfg);
  std::size_t frames = 0;
  for (int i = 0; i < 300; ++i) {
    const Bytes pl = payloadFor(i);
    jb.insert(static_cast<std::uint16_t>(i), static_cast<std::uint32_t>(i * 480), false, pl.data(),
              pl.size(), i * 10000 + 15000);
    auto p = jb.pull(i * 10000 + 15000 + 3000);
    if (p.kind == Kind::Frame) {
      EXPECT_EQ(indexOf(p.payload), static_cast<std::int64_t>(frames));
      ++frames;
    }
    EXPECT_NE(p.kind, Kind::Lost);
  }
  EXPECT_GE(frames, 297u);
}

// Pulled every 10 ms (a media tick) instead of once per 20 ms frame: a frame is handed out
// at most half a tick before its due time (fastest transit + target delay), not half a frame.
TEST(AudioJitterBuffer, PullIntervalSetsHowEarlyAFrameMayLeave) {
  AudioJitterBuffer::Config cfg;
  cfg.minDelayUs = 10000;
  cfg.pullIntervalMs = 10;
  AudioJitterBuffer jb(cfg);
  const Bytes pl = payloadFor(0);
  // Transit 1 ms, no spread: due at 1 ms + target (10 ms: half a frame above the spread).
  jb.insert(0, 0, true, pl.data(), pl.size(), 1000);
  const std::int64_t due = 1000 + jb.targetDelayUs(1000);
  EXPECT_EQ(jb.targetDelayUs(1000), 10000);
  EXPECT_EQ(jb.pull(due - 5001).kind, Kind::Nothing) << "more than half a tick early";
  auto p = jb.pull(due - 5000);
  ASSERT_EQ(p.kind, Kind::Frame);
  EXPECT_EQ(indexOf(p.payload), 0);

  // The default (one pull per frame) lets a frame leave up to half a frame early.
  AudioJitterBuffer::Config perFrame;
  perFrame.minDelayUs = 10000;
  AudioJitterBuffer jb2(perFrame);
  jb2.insert(0, 0, true, pl.data(), pl.size(), 1000);
  EXPECT_EQ(jb2.pull(due - 10000).kind, Kind::Frame);
}

// With fecHoldUs, a loss raises the target to a frame above the pull margin for a while: the
// packet after the next lost one is then at hand when the lost one's slot comes, and its FEC
// is handed out with the Lost report. Pulled every 10 ms, packets every 20 ms, 1 ms transit.
TEST(AudioJitterBuffer, FecHoldKeepsTheNextPacketAtHandAfterALoss) {
  AudioJitterBuffer::Config cfg;
  cfg.minDelayUs = 10000;
  cfg.pullIntervalMs = 10;
  cfg.fecHoldUs = 10000000;
  AudioJitterBuffer jb(cfg);
  const std::set<int> lost = {50, 150};
  std::vector<AudioJitterBuffer::Pull> lostPulls;
  int waitingAfterFirstLoss = 0;  // pulls the caller must conceal with nothing decodable
  std::int64_t targetBefore = 0, targetAfter = 0;
  int next = 0, hold = 0;
  for (std::int64_t now = 0; now < 4000000; now += 10000) {
    // Packets sent at i * 20 ms arrive 1 ms later; insert those that have arrived.
    while (next * kFrameUs + 1000 <= now) {
      if (lost.count(next) == 0) {
        const Bytes pl = payloadFor(next);
        jb.insert(static_cast<std::uint16_t>(next), static_cast<std::uint32_t>(next) * kFrameTs,
                  false, pl.data(), pl.size(), next * kFrameUs + 1000);
      }
      ++next;
    }
    if (now == 900000) targetBefore = jb.targetDelayUs(now);
    if (now == 3900000) targetAfter = jb.targetDelayUs(now);
    // A 20 ms frame covers two ticks: pull on every other tick once playing (as the call
    // media does when its 10 ms sink has consumed the frame).
    if (hold > 0) {
      --hold;
      continue;
    }
    auto p = jb.pull(now);
    if (p.kind == Kind::Lost) lostPulls.push_back(p);
    if (p.kind == Kind::Nothing && (p.reason == Reason::Waiting || p.reason == Reason::Empty) &&
        !lostPulls.empty())
      ++waitingAfterFirstLoss;
    if (p.kind != Kind::Nothing) hold = 1;
  }
  EXPECT_EQ(targetBefore, 10000);
  EXPECT_EQ(targetAfter, kFrameUs + 5000);
  ASSERT_EQ(lostPulls.size(), 2u);
  // The first loss finds the buffer at the clean-path target; from then on the next packet is
  // there when a lost one's slot comes, and no slot has to wait for it (concealment).
  ASSERT_FALSE(lostPulls[1].payload.empty()) << "the next packet's FEC was not at hand";
  EXPECT_EQ(indexOf(lostPulls[1].payload), 151);
  EXPECT_EQ(waitingAfterFirstLoss, 0) << "a slot waited for a packet after the first loss";
}

}  // namespace
}  // namespace tern::media
