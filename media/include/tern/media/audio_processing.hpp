// Echo cancellation and noise suppression for captured audio, through webrtc-audio-processing
// 0.3 (the AudioProcessing module of WebRTC: AEC with delay-agnostic mode and extended filter,
// or the mobile AECM; NS at a configurable level).
//
// Frames are 10 ms of interleaved int16 PCM (sample_rate / 100 samples per channel) at 8, 16, 32
// or 48 kHz, 1 or 2 channels. The capture (near-end, microphone) frame is processed in place;
// the render (far-end, what the loudspeaker plays) frame is only analysed, as the echo
// reference. The stream delay is the time between analyzeRender() of a frame and
// processCapture() of the capture frame holding its echo (loudspeaker latency + capture
// latency); the AEC's delay estimator refines it.
//
// Echo cancellation and noise suppression can be switched on and off at run time.
//
// No webrtc type appears here (pimpl). Threading: no threads inside; one thread at a time (the
// engine's media worker calls both processCapture() and analyzeRender(), interleaved in time
// order).
#pragma once

#include <tern/media/video_frame.hpp>  // CodecResult, CodecStatus

#include <cstddef>
#include <cstdint>
#include <memory>

namespace tern::media {

enum class NoiseSuppressionLevel { Low, Moderate, High, VeryHigh };

struct AudioProcessorConfig {
  int sample_rate = 48000;  ///< 8000, 16000, 32000 or 48000
  int channels = 1;         ///< 1 or 2, for both capture and render
  bool echo_cancellation = true;
  bool noise_suppression = true;
  NoiseSuppressionLevel ns_level = NoiseSuppressionLevel::High;
  int stream_delay_ms = 50;      ///< initial estimate, 0..500
  bool high_pass_filter = true;  ///< removes DC and rumble below ~80 Hz (cheap, helps AEC and NS)
};

class AudioProcessor {
public:
  static CodecResult<AudioProcessor> create(const AudioProcessorConfig& config);

  AudioProcessor(AudioProcessor&&) noexcept;
  AudioProcessor& operator=(AudioProcessor&&) noexcept;
  ~AudioProcessor();

  /// Processes one 10 ms capture frame (samplesPerChannel() * channels samples) in place.
  CodecStatus processCapture(std::int16_t* frame10ms);
  /// Feeds one 10 ms frame of the far-end signal about to be played.
  CodecStatus analyzeRender(const std::int16_t* frame10ms);

  /// Delay between render analysis and the capture of its echo, 0..500 ms.
  CodecStatus setStreamDelayMs(int delay_ms);
  CodecStatus setEchoCancellation(bool enabled);
  CodecStatus setNoiseSuppression(bool enabled);

  std::size_t samplesPerChannel() const noexcept;
  const AudioProcessorConfig& config() const noexcept;

private:
  struct Impl;
  explicit AudioProcessor(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tern::media
