// Baselines of the call benchmarks: the codec work of a call done directly with libopus (Opus,
// RFC 6716, 20 ms frames as RTP carries them per RFC 7587) and libvpx (VP8, RFC 6386), with no
// engine, no threads and no network, at the settings the engine uses
// (media/codec/opus_codec.cpp, media/codec/vp8_codec.cpp, src/call_media.hpp defaults), and the
// audio processing (AEC + NS) the engine runs on captured audio, through the media layer.
// Costs are CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID).
//
// Threading: plain functions; each runs on the calling thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <tern/media/video_frame.hpp>
#include <vector>

namespace tern::bench {

/// Mono 48 kHz test audio: a 440 Hz tone at 0.3 of full scale plus low noise (a steady load for
/// the encoder; digital silence would be cheaper to encode). Costs next to nothing to make.
class TestAudio {
 public:
  explicit TestAudio(std::uint32_t seed = 1) : seed_(seed) {}
  void fill(std::int16_t* pcm, std::size_t samples);

 private:
  std::size_t position_ = 0;
  std::uint32_t seed_;
};

struct OpusBaseline {
  int complexity = 10;
  int bitrateBps = 32000;
  int frames = 0;
  double encodeMsPerFrame = 0;  ///< CPU ms per 20 ms frame
  double decodeMsPerFrame = 0;
};
/// Encodes and decodes `frames` 20 ms mono frames with raw libopus: OPUS_APPLICATION_VOIP,
/// 32 kbit/s, constrained VBR, in-band FEC with 5 % expected loss, no DTX, signal voice.
std::optional<OpusBaseline> measureRawOpus(int frames, int complexity, std::string& error);

/// Cost of the capture processing one leg runs per 20 ms frame: two 10 ms processCapture() and
/// two analyzeRender() calls (AEC + NS as configured by the engine), in CPU ms.
std::optional<double> measureAudioProcessingMsPerFrame(int frames, std::string& error);

/// How much later a burst's onset (first sample above a quarter of its amplitude, as the
/// mouth-to-ear probe detects it) comes out of raw libopus (20 ms frames, the settings above)
/// and out of the capture processing (AEC + NS, render side silent) than it went in: the part
/// of the mouth-to-ear figure these stages add on their own. Bursts: 1 kHz, 0.5 of full scale,
/// 40 ms, after silence.
struct OnsetDelays {
  int bursts = 0;
  double opusMs = 0;  ///< mean over the bursts found
  int opusFound = 0;
  double processingMs = 0;
  int processingFound = 0;  ///< bursts whose onset got through (NS may swallow some)
};
std::optional<OnsetDelays> measureOnsetDelays(std::string& error);

struct Vp8Baseline {
  int width = 0;
  int height = 0;
  int frames = 0;
  double encodeMsPerFrame = 0;  ///< CPU ms
  double decodeMsPerFrame = 0;
  double kbps = 0;  ///< bitrate the encoder produced at the nominal frame rate
};
/// Encodes `count` frames (cycling through `pictures`) with raw libvpx VP8 at the engine's
/// settings (real-time deadline, CBR `kbps`, cpu_used -6, error resilient, one thread, no
/// look-ahead) at `fps`, and decodes each output frame.
std::optional<Vp8Baseline> measureRawVp8(const std::vector<tern::media::VideoFrame>& pictures,
                                         int count, int fps, int kbps, std::string& error);

/// CPU seconds of the calling thread.
double threadCpuSeconds();

}  // namespace tern::bench
