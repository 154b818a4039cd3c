// Test signals and their analysis, for checking media paths end to end: a continuous-phase sine
// generator, a tone analyser (dominant frequency by a windowed Goertzel scan, RMS level in dBFS),
// a gap finder for continuity checks, and an I420 test pattern that carries a frame counter
// robustly enough to survive lossy VP8 coding.
//
// Levels: dBFS = 20*log10(rms / 32768), so a full-scale sine is -3.01 dBFS and digital silence
// is kSilenceDbfs.
//
// Threading: plain values and pure functions; a generator is used by one thread at a time.
#pragma once

#include <tern/media/video_frame.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace tern::media {

inline constexpr double kSilenceDbfs = -120.0;

/// Sine of a fixed frequency with continuous phase across calls, written to every channel.
class ToneGenerator {
public:
  /// `amplitude` is relative to full scale (0..1).
  ToneGenerator(double frequency_hz, double amplitude, int channels = 1,
                int sample_rate = 48000) noexcept;

  /// Writes samples_per_channel * channels interleaved samples.
  void generate(std::int16_t* out, std::size_t samples_per_channel) noexcept;
  std::vector<std::int16_t> generate(std::size_t samples_per_channel);

  int channels() const noexcept { return channels_; }
  int sampleRate() const noexcept { return sample_rate_; }

private:
  double phase_ = 0.0;      // radians, kept in [0, 2pi)
  double increment_ = 0.0;  // radians per sample
  double amplitude_ = 0.0;  // in sample units
  int channels_ = 1;
  int sample_rate_ = 48000;
};

struct ToneAnalysis {
  double frequency_hz = 0.0;        ///< dominant frequency (0 for silence or an empty block)
  double rms_dbfs = kSilenceDbfs;   ///< level of the whole block, all channels
  double tone_dbfs = kSilenceDbfs;  ///< level of the dominant component alone
};

/// Dominant frequency (20 Hz .. min(Nyquist, 20 kHz)) and levels of the first channel (level: all
/// channels). Frequency accuracy is a few Hz for blocks of 20 ms or more; at most the first 100 ms
/// are scanned for the frequency.
ToneAnalysis analyzeTone(const std::int16_t* pcm, std::size_t samples_per_channel, int channels,
                         int sample_rate = 48000);

/// RMS level in dBFS of all samples.
double rmsDbfs(const std::int16_t* pcm, std::size_t samples, int channels = 1);

/// Level in dBFS of the component at `frequency_hz` of the first channel (Hann-windowed Goertzel):
/// a sine of amplitude A at that frequency gives 20*log10(A/sqrt(2)/32768).
double toneLevelDbfs(const std::int16_t* pcm, std::size_t samples_per_channel, int channels,
                     double frequency_hz, int sample_rate = 48000);

struct AudioGap {
  std::size_t start_sample = 0;  ///< per channel
  std::size_t length_samples = 0;
};

/// Runs of near-silence (1 ms blocks whose RMS is below `threshold_dbfs`) lasting at least
/// `min_gap_ms`. Continuity checks count these in audio that should be continuous.
std::vector<AudioGap> findGaps(const std::int16_t* pcm, std::size_t samples_per_channel,
                               int channels, double min_gap_ms, double threshold_dbfs = -50.0,
                               int sample_rate = 48000);
inline std::size_t countGaps(const std::int16_t* pcm, std::size_t samples_per_channel, int channels,
                             double min_gap_ms, double threshold_dbfs = -50.0,
                             int sample_rate = 48000) {
  return findGaps(pcm, samples_per_channel, channels, min_gap_ms, threshold_dbfs, sample_rate)
      .size();
}

/// I420 test pattern: the top half holds 32 big black/white cells (8 columns x 4 rows) carrying a
/// 24-bit frame counter and an 8-bit CRC of it; the bottom half holds a moving ramp so the
/// encoder sees motion. Cells are at least 8x8 pixels; frames under 64x64 are refused.
class VideoPattern {
public:
  VideoPattern(int width, int height) noexcept : width_(width), height_(height) {}

  /// The frame for `counter` (taken modulo 2^24), with `timestamp` set. Empty if too small.
  VideoFrame generate(std::uint32_t counter, std::int64_t timestamp = 0) const;

  /// The counter carried by a (decoded) pattern frame, or nullopt if the cells do not read
  /// back with a matching CRC.
  static std::optional<std::uint32_t> read(const VideoFrame& frame);

  static constexpr int kMinDimension = 64;

private:
  int width_;
  int height_;
};

}  // namespace tern::media
