// VP8 encoder and decoder (RFC 6386 bitstream through libvpx; RTP packetization is in
// vp8_payload.hpp, RFC 7741).
//
// The encoder is set up for real-time calls: VPX_DL_REALTIME deadline, CBR rate control with
// g_lag_in_frames 0 (no look-ahead: one frame in, its packet out), error-resilient mode (so that a
// lost frame damages as little as possible of what follows), one temporal layer, one thread,
// keyframes at least every max_keyframe_interval frames and on request (RTCP PLI/FIR,
// RFC 4585 6.3.1 / RFC 5104 4.3.1). cpu_used defaults to -6, measured by the codec.Perf tests
// (640x480, 800 kbit/s, synthetic test pattern, one x86-64 core): encode 2.0 ms/frame at -4,
// 1.3 ms at -6, 1.0 ms at -8 (which also undershoots the target rate: lower quality); all far
// inside the 33 ms of a 30 fps frame, so -6 trades little speed for quality. Camera content costs
// more than the test pattern.
//
// The decoder never crashes on hostile input: a frame that libvpx rejects, or marks corrupt,
// comes back as an error. After an error the decoder waits for a keyframe and reports
// NeedKeyframe for the delta frames that arrive meanwhile, which is the engine's cue to send a
// PLI. Keyframes larger than the configured maximum size are refused before libvpx allocates.
//
// No libvpx type appears here (pimpl). Threading: no threads inside and no shared state; each
// object is used from one thread at a time (the engine's media worker).
#pragma once

#include <tern/media/video_frame.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace tern::media {

struct Vp8EncoderConfig {
  int width = 640;
  int height = 480;
  int fps = 30;                      ///< nominal frame rate (timebase for rate control)
  int bitrate_kbps = 800;            ///< target, CBR
  int max_keyframe_interval = 3000;  ///< frames between forced keyframes (kf_max_dist)
  int cpu_used = -6;                 ///< -16..16: speed/quality trade-off (negative: real-time)
  int min_quantizer = 2;             ///< 0..63
  int max_quantizer = 56;            ///< 0..63
  bool error_resilient = true;
};

/// One compressed VP8 frame as produced by the encoder.
struct EncodedVideoFrame {
  std::vector<std::uint8_t> data;
  bool keyframe = false;
  std::int64_t pts = 0;
};

/// VP8 encoder. Move-only. A frame of another size than configured re-initialises the encoder
/// (the next output is then a keyframe).
class Vp8Encoder {
public:
  static CodecResult<Vp8Encoder> create(const Vp8EncoderConfig& config);

  Vp8Encoder(Vp8Encoder&&) noexcept;
  Vp8Encoder& operator=(Vp8Encoder&&) noexcept;
  ~Vp8Encoder();

  /// Encodes one I420 frame. Usually returns one frame; may return none (the rate controller
  /// dropped it). `pts` counts in frames-per-second units of the configured fps, or any
  /// monotonically increasing value: it is carried through to the output.
  CodecResult<std::vector<EncodedVideoFrame>> encode(const VideoFrame& frame, bool force_keyframe,
                                                     std::int64_t pts);

  /// Changes the target bitrate at once (e.g. from REMB/transport-cc bandwidth estimates).
  CodecStatus setBitrate(int bitrate_kbps);

  const Vp8EncoderConfig& config() const noexcept;

private:
  struct Impl;
  explicit Vp8Encoder(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

struct Vp8DecoderConfig {
  int max_width = 3840;  ///< keyframes announcing a larger size are refused
  int max_height = 2160;
};

struct Vp8DecoderCounts {
  std::uint64_t decoded_frames = 0;
  std::uint64_t corrupt_frames = 0;        ///< rejected or flagged corrupt by libvpx
  std::uint64_t waiting_for_keyframe = 0;  ///< delta frames refused while waiting for a keyframe
};

/// VP8 decoder. Move-only.
class Vp8Decoder {
public:
  static CodecResult<Vp8Decoder> create(const Vp8DecoderConfig& config = {});

  Vp8Decoder(Vp8Decoder&&) noexcept;
  Vp8Decoder& operator=(Vp8Decoder&&) noexcept;
  ~Vp8Decoder();

  /// Decodes one complete compressed frame. Returns the picture (with `pts` as its timestamp),
  /// nullopt when the frame produced no picture (e.g. a non-shown frame), CorruptInput for a
  /// frame that cannot be decoded, NeedKeyframe for a delta frame after a loss or error.
  CodecResult<std::optional<VideoFrame>> decode(const std::uint8_t* data, std::size_t size,
                                                std::int64_t pts = 0);
  CodecResult<std::optional<VideoFrame>> decode(const std::vector<std::uint8_t>& data,
                                                std::int64_t pts = 0) {
    return decode(data.data(), data.size(), pts);
  }

  /// Tells the decoder a frame was lost before the next one: until a keyframe arrives, delta
  /// frames are refused with NeedKeyframe.
  void notifyFrameLost() noexcept;

  /// True until the first keyframe, and again after an error or notifyFrameLost().
  bool waitingForKeyframe() const noexcept;

  const Vp8DecoderCounts& counts() const noexcept;

private:
  struct Impl;
  explicit Vp8Decoder(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

/// True if `data` starts a VP8 keyframe (RFC 6386 section 9.1: P bit 0 of the frame tag, then the
/// start code 9d 01 2a). Reports the frame's width and height when it is a keyframe.
bool isVp8Keyframe(const std::uint8_t* data, std::size_t size, int* width = nullptr,
                   int* height = nullptr) noexcept;

}  // namespace tern::media
