// Writes starting corpora for the media fuzzers from real media: Opus packets from the project's
// Opus encoder (a tone, and DTX silence), VP8 frames from its VP8 encoder (a moving pattern,
// key frame first), RTP packets from buildRtp (RFC 3550, RFC 8285 extensions), VP8 payloads
// from the Vp8Packetizer (RFC 7741), RTCP compounds from buildRtcp, and operation sequences in
// the input formats of fuzz_opus, fuzz_vp8_decoder, fuzz_video_assembler and fuzz_audio_jitter
// (in order, with loss, reordering, duplicates and the sequence-number wraparound).
//
// Usage: tern_fuzz_media_seeds OUTDIR   (fuzz/make-corpus runs it; files are named by a hash of
// their content, so running it again adds nothing new).
//
// Threading: a plain single-threaded program.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <sys/stat.h>
#include <vector>

#include "fuzz_media_support.hpp"
#include "tern/media/opus_codec.hpp"
#include "tern/media/rtcp.hpp"
#include "tern/media/rtp_packet.hpp"
#include "tern/media/vp8_codec.hpp"
#include "tern/media/vp8_payload.hpp"

using namespace tern::media;
using Bytes = std::vector<std::uint8_t>;
using tern::fuzz::ByteWriter;

namespace {

std::string g_out;
int g_written = 0;

void write(const std::string& fuzzer, const Bytes& data) {
  const std::string dir = g_out + "/" + fuzzer;
  mkdir(g_out.c_str(), 0755);
  mkdir(dir.c_str(), 0755);
  std::uint64_t hash = 1469598103934665603ull;  // FNV-1a
  for (auto b : data) hash = (hash ^ b) * 1099511628211ull;
  char name[32];
  std::snprintf(name, sizeof name, "/%016llx", static_cast<unsigned long long>(hash));
  const std::string path = dir + name;
  if (FILE* f = std::fopen(path.c_str(), "wb")) {
    if (!data.empty()) std::fwrite(data.data(), 1, data.size(), f);
    std::fclose(f);
    ++g_written;
  }
}

std::vector<Bytes> opusPackets(int channels, bool dtx) {
  OpusEncoderConfig config;
  config.channels = channels;
  config.bitrate_bps = 24000;
  config.dtx = dtx;
  auto enc = OpusAudioEncoder::create(config);
  std::vector<Bytes> out;
  if (!enc) return out;
  const std::size_t spc = enc.value().samplesPerChannel();
  std::vector<std::int16_t> pcm(spc * channels);
  for (int frame = 0; frame < 12; ++frame) {
    const bool silent = dtx && frame >= 4;
    for (std::size_t i = 0; i < spc; ++i) {
      const double t = static_cast<double>(frame * spc + i) / kOpusSampleRate;
      const auto s = static_cast<std::int16_t>(silent ? 0 : 8000 * std::sin(2 * M_PI * 440 * t));
      for (int c = 0; c < channels; ++c) pcm[i * channels + c] = s;
    }
    auto packet = enc.value().encode(pcm.data(), spc);
    if (packet) out.push_back(packet.value());
  }
  return out;
}

std::vector<Bytes> vp8Frames() {
  Vp8EncoderConfig config;
  config.width = 96;
  config.height = 64;
  config.bitrate_kbps = 150;
  auto enc = Vp8Encoder::create(config);
  std::vector<Bytes> out;
  if (!enc) return out;
  for (int n = 0; n < 6; ++n) {
    VideoFrame frame(config.width, config.height);
    for (int y = 0; y < config.height; ++y) {
      for (int x = 0; x < config.width; ++x) {
        frame.dataY()[y * frame.strideY() + x] = static_cast<std::uint8_t>((x + 3 * n) ^ y);
      }
    }
    auto encoded = enc.value().encode(frame, n == 4, n);
    if (!encoded) continue;
    for (auto& e : encoded.value()) out.push_back(e.data);
  }
  return out;
}

void rtpSeeds(const std::vector<Bytes>& opus, const std::vector<Vp8Packetizer::Packet>& vp8) {
  RtpHeader h;
  h.payloadType = 111;
  h.ssrc = 0x11223344;
  h.sequenceNumber = 65534;
  h.timestamp = 0xfffffe00;
  h.extensions = {{1, {0x80 | 30}}, {3, {0x12, 0x34, 0x56}}};  // audio level, abs-send-time
  for (std::size_t i = 0; i < opus.size() && i < 3; ++i) {
    h.marker = i == 0;
    write("fuzz_rtp", buildRtp(h, opus[i].data(), opus[i].size()).value());
    ++h.sequenceNumber;
    h.timestamp += 960;
  }
  h.payloadType = 96;
  h.csrcs = {0xaabbccdd, 0x01020304};
  h.extensions = {{5, Bytes(20, 0x5a)}, {200, {}}};  // two-byte form (RFC 8285 4.3)
  for (std::size_t i = 0; i < vp8.size() && i < 3; ++i) {
    h.marker = vp8[i].marker;
    write("fuzz_rtp", buildRtp(h, vp8[i].payload.data(), vp8[i].payload.size()).value());
  }
  h.extensions.clear();
  h.csrcs.clear();
  Bytes padded = buildRtp(h, vp8[0].payload.data(), vp8[0].payload.size()).value();
  padded[0] |= 0x20;  // RFC 3550 5.1: padding, the last octet counts it
  padded.insert(padded.end(), {0, 0, 0, 4});
  write("fuzz_rtp", padded);
}

void rtcpSeeds() {
  SenderReport sr;
  sr.ssrc = 0x11111111;
  sr.ntpTimestamp = unixMicrosToNtp(1700000000000000);
  sr.rtpTimestamp = 123456;
  sr.packetCount = 100;
  sr.octetCount = 16000;
  ReportBlock b;
  b.ssrc = 0x22222222;
  b.fractionLost = 12;
  b.cumulativeLost = -3;
  b.extendedHighestSeq = 0x10005;
  b.jitter = 40;
  b.lastSr = 0x12345678;
  b.delaySinceLastSr = 0x10000;
  sr.reports = {b, b};
  const Sdes sdes{{{0x11111111, "alice@example.com/phone"}}};
  ReceiverReport rr{0x33333333, {b}};
  write("fuzz_rtcp", buildRtcp({sr, sdes}).value());
  write("fuzz_rtcp", buildRtcp({rr, sdes, Nack{1, 2, {65530, 65533, 2, 40}}}).value());
  write("fuzz_rtcp", buildRtcp({Pli{1, 2}}).value());
  write("fuzz_rtcp", buildRtcp({Fir{1, {{2, 7}, {3, 8}}}}).value());
  write("fuzz_rtcp", buildRtcp({rr, Bye{{0x33333333}, "hang up"}}).value());
  // REMB (PSFB FMT 15) and an APP packet, which are parsed or skipped but never built.
  write("fuzz_rtcp", {0x8f, 0xce, 0x00, 0x05, 0x11, 0x11, 0x11, 0x11, 0x00, 0x00, 0x00, 0x00, 'R',
                      'E', 'M', 'B', 0x01, 0x0b, 0xd0, 0x90, 0x22, 0x22, 0x22, 0x22});
  write("fuzz_rtcp", {0x81, 0xcc, 0x00, 0x03, 0x11, 0x11, 0x11, 0x11, 'n', 'a', 'm', 'e', 1, 2,
                      3, 4});
}

void vp8PayloadSeeds(const std::vector<Bytes>& frames) {
  Vp8Packetizer::Config small;
  small.maxPayloadSize = 200;
  Vp8Packetizer plain(small, 32760);
  Vp8Packetizer::Config layered = small;
  layered.temporalLayers = true;
  Vp8Packetizer temporal(layered, 5);
  for (std::size_t i = 0; i < frames.size() && i < 2; ++i) {
    for (auto* p : {&plain, &temporal}) {
      auto packets = p->packetize(frames[i].data(), frames[i].size(), 0, true);
      if (!packets) continue;
      write("fuzz_vp8_payload", packets.value().front().payload);
      write("fuzz_vp8_payload", packets.value().back().payload);
    }
  }
  // Packetizer runs: flags, maxPayloadSize, PictureID, first sequence number, frame.
  for (std::size_t i = 0; i < frames.size() && i < 2; ++i) {
    write("fuzz_vp8_payload",
          ByteWriter().u8(1).u16(300).u16(32767).u16(65533).bytes(frames[i]).out);
    write("fuzz_vp8_payload",
          ByteWriter().u8(2 | 4 | (1 << 3)).u16(64).u16(7).u16(1).bytes(frames[i]).out);
  }
}

void opusSeeds(const std::vector<Bytes>& packets, std::uint8_t config) {
  ByteWriter w;
  w.u8(config);
  for (std::size_t i = 0; i < packets.size(); ++i) {
    if (i == 3) w.u8(2);                                           // a lost frame: conceal
    const std::uint8_t op = (i == 4) ? 1 : 0;                      // recover it from FEC
    w.u8(op).u16(static_cast<std::uint32_t>(packets[i].size())).bytes(packets[i]);
    if (op == 1) w.u8(0).u16(static_cast<std::uint32_t>(packets[i].size())).bytes(packets[i]);
  }
  write("fuzz_opus", w.out);
}

void vp8DecoderSeeds(const std::vector<Bytes>& frames) {
  ByteWriter all;
  ByteWriter lost;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    all.u8(0).u16(static_cast<std::uint32_t>(frames[i].size())).bytes(frames[i]);
    if (i == 2) continue;  // lost: the next delta is refused until the key frame
    lost.u8(i == 3 ? 1 : 0).u16(static_cast<std::uint32_t>(frames[i].size())).bytes(frames[i]);
  }
  write("fuzz_vp8_decoder", all.out);
  write("fuzz_vp8_decoder", lost.out);
}

// fuzz_video_assembler operations (see its header).
struct AssemblerOps {
  ByteWriter w;
  AssemblerOps(std::uint8_t config, std::uint16_t seq, std::uint32_t ts) {
    w.u8(config).u16(seq).u32(ts);
  }
  // seqMode 0: next; 2: absolute. tsMode 0: same; 2: absolute.
  void insert(const Bytes& payload, bool marker, int seqMode, std::uint16_t seq, int tsMode,
              std::uint32_t ts) {
    const std::uint8_t f = static_cast<std::uint8_t>((marker ? 1 : 0) | (seqMode << 1) |
                                                     (tsMode << 3));
    w.u8(static_cast<std::uint32_t>(f << 3));
    if (seqMode == 2) w.u16(seq);
    if (tsMode == 2) w.u32(ts);
    w.u8(static_cast<std::uint32_t>(payload.size())).bytes(payload);
  }
  void pop() { w.u8(3); }
  void nack(std::uint8_t rttMs) { w.u8(4).u8(rttMs); }
  void keyframe() { w.u8(5); }
  void advance(std::uint16_t units50us) { w.u8(6).u16(units50us); }
};

void assemblerSeeds(const std::vector<Bytes>& frames) {
  Vp8Packetizer::Config config;
  config.maxPayloadSize = 120;  // payload length is one byte in the operation format
  for (int variant = 0; variant < 4; ++variant) {
    Vp8Packetizer packetizer(config, 100);
    const std::uint16_t first = 65530;  // crosses the wraparound
    AssemblerOps ops(variant == 3 ? 1 : 0, static_cast<std::uint16_t>(first - 1), 0);
    std::uint16_t seq = first;
    std::uint32_t ts = 90000;
    for (std::size_t n = 0; n < frames.size() && n < 4; ++n) {
      auto packets = packetizer.packetize(frames[n].data(), frames[n].size());
      if (!packets) continue;
      std::vector<std::uint16_t> order;
      for (std::size_t i = 0; i < packets.value().size(); ++i) {
        order.push_back(static_cast<std::uint16_t>(seq + i));
      }
      if (variant == 1 && order.size() >= 2) std::swap(order[0], order[1]);  // reordered
      bool tsSent = false;  // the first packet inserted for a frame carries its timestamp
      for (std::size_t i = 0; i < order.size(); ++i) {
        const std::size_t k = static_cast<std::uint16_t>(order[i] - seq);
        const auto& pkt = packets.value()[k];
        if (variant == 2 && n == 1 && k == 0) continue;  // lost, NACKed, retransmitted below
        ops.insert(pkt.payload, pkt.marker, 2, order[i], tsSent ? 0 : 2, ts);
        tsSent = true;
        if (variant == 1 && i == 0) ops.insert(pkt.payload, pkt.marker, 2, order[i], 0, ts);
      }
      if (variant == 2 && n == 1) {
        ops.advance(200);
        ops.nack(30);
        ops.advance(600);
        ops.insert(packets.value()[0].payload, packets.value()[0].marker, 2, seq, 2, ts);
      }
      ops.pop();
      ops.keyframe();
      seq = static_cast<std::uint16_t>(seq + packets.value().size());
      ts += 3000;
      ops.advance(660);
    }
    ops.nack(50);
    ops.pop();
    write("fuzz_video_assembler", ops.w.out);
  }
}

void jitterSeeds(const std::vector<Bytes>& packets) {
  // Variants: in order; loss of one packet; an outage (pulls without packets); a DTX gap; a
  // restart (a far sequence number jump, confirmed by the next packet), with small limits.
  for (int variant = 0; variant < 5; ++variant) {
    ByteWriter w;
    w.u8(variant == 4 ? 2 : 0).u16(65530).u32(0xffff0000);
    for (std::size_t i = 0; i < packets.size(); ++i) {
      if (packets[i].size() > 255) continue;
      int seqMode = 0;
      int tsMode = 0;
      if (variant == 1 && i == 3) continue;
      if (variant == 1 && i == 4) seqMode = 1;
      if (variant == 3 && i == 6) tsMode = 1;
      std::uint8_t f = static_cast<std::uint8_t>(seqMode | (tsMode << 2) | 0x20);
      if (i == 0) f |= 0x10;  // marker: start of a talkspurt
      if (variant == 4 && i == 6) f = static_cast<std::uint8_t>(2 | (2 << 2));  // restart
      w.u8(static_cast<std::uint32_t>(1 | (f << 2)));
      if (seqMode == 1) w.u8(2);
      if (variant == 4 && i == 6) w.u16(4000).u32(12345);
      if (tsMode == 1) w.u8(5);
      if (f & 0x20) w.u8(static_cast<std::uint32_t>((i * 7) % 40));  // arrival jitter
      w.u8(static_cast<std::uint32_t>(packets[i].size())).bytes(packets[i]);
      w.u8(2);  // one pull per frame period
      if (variant == 2 && i == 5) w.u8(3 | (3 << 2));
    }
    w.u8(3 | (20 << 2));  // drain
    write("fuzz_audio_jitter", w.out);
  }
  // A hostile sender: bursts of packets whose timestamps each jump by almost half the 32-bit
  // space, then pulls (the unwrapped timestamp grows by 2^31 per packet).
  write("fuzz_audio_jitter", ByteWriter()
                                 .u8(0).u16(1).u32(0)
                                 .u8(3 | ((0x20 | 1) << 2)).u8(255).u32(0x7fffffff)
                                 .u8(3 | ((0x20 | 1) << 2)).u8(255).u32(0x7fffffff)
                                 .u8(3 | (4 << 2))
                                 .out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
    return 2;
  }
  g_out = argv[1];
  const auto mono = opusPackets(1, false);
  const auto stereo = opusPackets(2, false);
  const auto dtx = opusPackets(1, true);
  const auto frames = vp8Frames();
  if (mono.empty() || stereo.empty() || frames.empty()) {
    std::fprintf(stderr, "media_seeds: the encoders produced nothing\n");
    return 1;
  }
  Vp8Packetizer packetizer;
  auto vp8 = packetizer.packetize(frames[0].data(), frames[0].size());
  rtpSeeds(mono, vp8.value());
  rtcpSeeds();
  vp8PayloadSeeds(frames);
  opusSeeds(mono, 0);
  opusSeeds(stereo, 1);
  opusSeeds(dtx, 2);
  vp8DecoderSeeds(frames);
  assemblerSeeds(frames);
  jitterSeeds(mono);
  jitterSeeds(dtx);
  std::printf("media_seeds: %d inputs written to %s\n", g_written, g_out.c_str());
  return 0;
}
