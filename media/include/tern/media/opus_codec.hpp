// Opus encoder and decoder (RFC 6716 through libopus; RTP use per RFC 7587: 48 kHz clock, one
// Opus packet per RTP payload).
//
// PCM is interleaved signed 16-bit at 48 kHz, 1 or 2 channels, in frames of 10 or 20 ms
// (480 or 960 samples per channel). The encoder uses OPUS_APPLICATION_VOIP, in-band FEC
// (RFC 6716 section 2.1.7, SILK LBRR) tuned by the expected packet loss that the engine updates
// from RTCP receiver reports, and optional DTX (RFC 6716 section 2.1.9). The decoder decodes
// normal packets, recovers a lost frame from the in-band FEC of the packet that follows it, and
// conceals a lost frame (libopus PLC) when no later packet is available.
//
// Complexity: the default is 10 (libopus' own default). Measured by the codec.Perf tests on the
// development machine (x86-64, one core, tone+noise input), encode+decode of one 20 ms frame:
//   mono 32 kbit/s:   complexity 5: 0.14 ms, 9: 0.24 ms, 10: 0.22 ms
//   stereo 64 kbit/s: complexity 5: 0.27 ms, 9: 0.44 ms, 10: 0.45 ms
// i.e. about 2% of one core at worst; 10 costs the same as 9 within noise, so the best quality
// is free here. On slow devices, complexity 5 halves the cost (setComplexity at run time).
//
// No exceptions: every fallible call returns a CodecResult/CodecStatus. No libopus type appears
// here (the state is hidden behind a pimpl).
//
// Threading: no threads inside and no shared state. Each object is used from one thread at a time
// (the engine's media worker); different objects may be used concurrently on different threads.
#pragma once

#include <tern/media/video_frame.hpp>  // CodecResult, CodecStatus, CodecError

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace tern::media {

inline constexpr int kOpusSampleRate = 48000;

struct OpusEncoderConfig {
  int channels = 2;                ///< 1 or 2
  int frame_ms = 20;               ///< 10 or 20
  int bitrate_bps = 64000;         ///< 6000..510000
  int complexity = 10;             ///< 0..10
  bool inband_fec = true;          ///< LBRR; only effective when expected_loss_percent > 0
  int expected_loss_percent = 10;  ///< 0..100, OPUS_SET_PACKET_LOSS_PERC
  bool dtx = false;                ///< discontinuous transmission during silence
};

/// Opus encoder. Move-only.
class OpusAudioEncoder {
public:
  static CodecResult<OpusAudioEncoder> create(const OpusEncoderConfig& config);

  OpusAudioEncoder(OpusAudioEncoder&&) noexcept;
  OpusAudioEncoder& operator=(OpusAudioEncoder&&) noexcept;
  ~OpusAudioEncoder();

  /// Encodes one frame. `samples_per_channel` must equal samplesPerChannel(); `pcm` holds
  /// samples_per_channel * channels interleaved samples. With DTX on, silent frames come back as
  /// the tiny (1-2 byte) packets libopus makes: the caller decides whether to send them
  /// (RFC 7587 section 3.3: they need not be transmitted).
  CodecResult<std::vector<std::uint8_t>> encode(const std::int16_t* pcm,
                                                std::size_t samples_per_channel);

  CodecStatus setBitrate(int bitrate_bps);
  /// Expected loss in percent (0..100), e.g. RTCP fraction lost * 100 / 256, smoothed.
  CodecStatus setExpectedPacketLoss(int percent);
  CodecStatus setDtx(bool enabled);
  CodecStatus setComplexity(int complexity);

  const OpusEncoderConfig& config() const noexcept;
  std::size_t samplesPerChannel() const noexcept;

private:
  struct Impl;
  explicit OpusAudioEncoder(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

struct OpusDecoderConfig {
  int channels = 2;   ///< output channels, 1 or 2 (libopus down/up-mixes whatever was sent)
  int frame_ms = 20;  ///< duration of a lost frame recovered by decodeFec()/conceal(): 10 or 20
};

struct OpusDecoderCounts {
  std::uint64_t normal_frames = 0;     ///< packets decoded normally
  std::uint64_t fec_frames = 0;        ///< frames recovered by decodeFec()
  std::uint64_t concealed_frames = 0;  ///< frames made up by conceal()
  std::uint64_t errors = 0;            ///< packets rejected as corrupt
};

/// Opus decoder. Move-only. Every call returns interleaved PCM (samples per channel * channels).
class OpusAudioDecoder {
public:
  static CodecResult<OpusAudioDecoder> create(const OpusDecoderConfig& config);

  OpusAudioDecoder(OpusAudioDecoder&&) noexcept;
  OpusAudioDecoder& operator=(OpusAudioDecoder&&) noexcept;
  ~OpusAudioDecoder();

  /// Decodes one received packet. The output has the packet's own duration (the sender's
  /// frame size, 2.5..120 ms), normally the configured one. An empty or corrupt packet is an
  /// error (CorruptInput); the decoder state stays usable.
  CodecResult<std::vector<std::int16_t>> decode(const std::uint8_t* data, std::size_t size);
  CodecResult<std::vector<std::int16_t>> decode(const std::vector<std::uint8_t>& payload) {
    return decode(payload.data(), payload.size());
  }

  /// Recovers the frame lost just before `next_payload` from that packet's in-band FEC data
  /// (libopus opus_decode with decode_fec=1). Produces samplesPerChannel() per channel. If the
  /// next packet carries no FEC data, libopus conceals instead (the call still succeeds). Call
  /// decode(next_payload) afterwards for the next frame itself.
  CodecResult<std::vector<std::int16_t>> decodeFec(const std::uint8_t* data, std::size_t size);
  CodecResult<std::vector<std::int16_t>> decodeFec(const std::vector<std::uint8_t>& next_payload) {
    return decodeFec(next_payload.data(), next_payload.size());
  }

  /// Packet-loss concealment for one lost frame (opus_decode with no data): samplesPerChannel()
  /// per channel, extrapolated from the previous audio, fading out over repeated losses.
  CodecResult<std::vector<std::int16_t>> conceal();

  const OpusDecoderCounts& counts() const noexcept;
  std::size_t samplesPerChannel() const noexcept;
  int channels() const noexcept;

private:
  struct Impl;
  explicit OpusAudioDecoder(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tern::media
