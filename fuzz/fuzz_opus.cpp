// Fuzzes the Opus receive path: the RFC 7587 payload helpers (opusPacketSamples, which reads
// the RFC 6716 section 3.1 TOC byte and the section 3.2 frame count, and OpusPayloader) and the
// project's decoder wrapper (OpusAudioDecoder: normal decode, in-band FEC recovery, PLC) fed a
// sequence of arbitrary payloads, as a peer can send them.
//
// Input: a config byte (bit 0: stereo output, bit 1: 10 ms frames), then records of
//   op (1 byte: op % 4 == 0 or 3 decode, 1 decodeFec, 2 conceal), length (2 bytes, modulo
//   1500; not present for conceal), payload.
//
// Invariants checked:
//   - opusPacketSamples() agrees with libopus' opus_packet_get_nb_samples() at 48 kHz (0 where
//     libopus reports an invalid packet), and is a whole number of 2.5 ms frames <= 120 ms;
//   - OpusPayloader passes the payload through unchanged, with the 48 kHz timestamp step, and
//     sets the marker exactly on the first packet and on the first after a dropped DTX packet;
//   - a successful decode returns exactly opusPacketSamples() samples per channel, interleaved
//     for the configured channel count; decodeFec() and conceal() return one configured frame;
//     a failed call is CorruptInput and is counted in counts().errors; the decoder stays usable
//     (the counts add up to the number of calls).
//
// Threading: single-threaded (the engine decodes on its media worker).
#include <cstddef>
#include <cstdint>
#include <vector>

#include <opus.h>

#include "fuzz_media_support.hpp"
#include "tern/media/opus_codec.hpp"
#include "tern/media/opus_payload.hpp"

using namespace tern::media;

namespace {

void checkPayloadHelpers(const std::vector<std::uint8_t>& packet, OpusPayloader& payloader,
                         bool& expectMarker, bool dropDtx, std::uint32_t step) {
  const std::uint32_t samples = opusPacketSamples(packet.data(), packet.size());
  if (!packet.empty()) {
    const int libopus = opus_packet_get_nb_samples(
        packet.data(), static_cast<opus_int32>(packet.size()), kOpusSampleRate);
    TERN_FUZZ_CHECK(samples == static_cast<std::uint32_t>(libopus < 0 ? 0 : libopus));
  } else {
    TERN_FUZZ_CHECK(samples == 0);
  }
  TERN_FUZZ_CHECK(samples % 120 == 0 && samples <= 5760);

  const OpusRtpPayload wrapped = payloader.wrap(packet.data(), packet.size(), dropDtx);
  TERN_FUZZ_CHECK(wrapped.timestampStep == step);
  const bool dropped = packet.empty() || (dropDtx && packet.size() <= 2);
  if (dropped) {
    TERN_FUZZ_CHECK(wrapped.payload.empty() && !wrapped.marker);
    expectMarker = true;
  } else {
    TERN_FUZZ_CHECK(wrapped.payload == packet && wrapped.marker == expectMarker);
    expectMarker = false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tern::fuzz::ByteReader r(data, size);
  const std::uint8_t config = r.u8();
  OpusDecoderConfig dc;
  dc.channels = (config & 1) ? 2 : 1;
  dc.frame_ms = (config & 2) ? 10 : 20;
  auto created = OpusAudioDecoder::create(dc);
  TERN_FUZZ_CHECK(created.ok());
  OpusAudioDecoder decoder = std::move(created).value();
  const std::size_t frame = static_cast<std::size_t>(dc.frame_ms) * 48;
  TERN_FUZZ_CHECK(decoder.samplesPerChannel() == frame && decoder.channels() == dc.channels);

  OpusPayloader payloader(static_cast<std::uint32_t>(dc.frame_ms));
  bool expectMarker = true;
  std::uint64_t calls = 0;
  std::uint64_t errors = 0;
  while (!r.empty()) {
    const std::uint8_t op = r.u8();
    ++calls;
    if (op % 4 == 2) {
      auto pcm = decoder.conceal();
      TERN_FUZZ_CHECK(pcm.ok() && pcm.value().size() == frame * dc.channels);
      continue;
    }
    const std::vector<std::uint8_t> packet = r.bytes(r.u16() % 1500);
    checkPayloadHelpers(packet, payloader, expectMarker, (op & 0x80) != 0,
                        opusTimestampStep(static_cast<std::uint32_t>(dc.frame_ms)));
    const std::uint32_t samples = opusPacketSamples(packet.data(), packet.size());
    const std::uint8_t* p = packet.empty() ? nullptr : packet.data();
    if (op % 4 == 1) {
      auto pcm = decoder.decodeFec(p, packet.size());
      if (pcm.ok()) {
        TERN_FUZZ_CHECK(samples > 0 && pcm.value().size() == frame * dc.channels);
      } else {
        ++errors;
        TERN_FUZZ_CHECK(pcm.error().code == CodecErrorCode::CorruptInput);
      }
    } else {
      auto pcm = decoder.decode(p, packet.size());
      if (pcm.ok()) {
        TERN_FUZZ_CHECK(samples > 0 && pcm.value().size() == samples * dc.channels);
      } else {
        ++errors;
        TERN_FUZZ_CHECK(pcm.error().code == CodecErrorCode::CorruptInput);
      }
    }
    TERN_FUZZ_CHECK(decoder.counts().errors == errors);
  }
  const OpusDecoderCounts& c = decoder.counts();
  TERN_FUZZ_CHECK(c.normal_frames + c.fec_frames + c.concealed_frames + c.errors == calls);
  return 0;
}
