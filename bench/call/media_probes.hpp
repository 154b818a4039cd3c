// Audio and video sources and sinks that the call benchmarks plug into tern::Call: they make
// test signals and time-stamp what passes through them on the steady clock, so that both ends
// of a call in one process can be compared on one clock.
//
//   ToneSource      tone + noise (TestAudio), counting pulls; optionally records pull times
//                   while a Window is open (lateness of the media worker's 20 ms slots)
//   FrameSink       counts frames by kind (decoded, concealed, silence) while a Window is open;
//                   remembers when the first decoded (neither concealed nor silence) frame came
//   BurstSource     silence with a 1 kHz burst every `periodFrames` frames, at the start of a
//                   frame; records each burst's mouth time (see below)
//   BurstSink       finds burst onsets in what it plays; records each onset's ear time
//   PatternCamera   cycles through pre-made 640x480 VideoPattern pictures
//   CountingScreen  counts decoded pictures
//
// Time model (mouth-to-ear): a source pulled at time t delivers the 20 ms captured during
// [t - 20 ms, t), so sample i of it was spoken at t - 20 ms + i / 48 kHz; a frame handed to a
// sink at time t plays sample j at t + j / 48 kHz. Device buffers are outside the figure.
//
// Threading: readAudio/writeAudio/readVideo/writeVideo run on a call's media thread; every
// other method may be called from any thread (internal mutex or atomics).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <tern/media.hpp>
#include <tern/media/video_frame.hpp>
#include <vector>

#include "endpoint.hpp"
#include "raw_codecs.hpp"

namespace tern::bench {

/// A measurement window shared by many sources and sinks: they record only while it is open.
struct Window {
  std::atomic<bool> open{false};
};

class ToneSource : public tern::AudioSource {
 public:
  explicit ToneSource(std::uint32_t seed, std::shared_ptr<Window> window = nullptr)
      : audio_(seed), window_(std::move(window)) {}
  tern::AudioFormat format() const override { return {48000, 1, 20}; }
  void readAudio(std::int16_t* pcm, std::size_t samplesPerChannel) override;
  /// Pull times recorded while the window was open (cleared by clear()).
  std::vector<Clock::time_point> pulls() const;
  void clear();

 private:
  TestAudio audio_;
  std::shared_ptr<Window> window_;
  mutable std::mutex mutex_;
  std::vector<Clock::time_point> pulls_;
};

class FrameSink : public tern::AudioSink {
 public:
  explicit FrameSink(std::shared_ptr<Window> window = nullptr) : window_(std::move(window)) {}
  tern::AudioFormat format() const override { return {48000, 1, 20}; }
  void writeAudio(const std::int16_t* pcm, std::size_t samplesPerChannel,
                  const tern::AudioFrameInfo& info) override;

  struct Counts {
    std::uint64_t frames = 0;
    std::uint64_t concealed = 0;
    std::uint64_t silence = 0;
  };
  Counts counts() const;  ///< while the window was open
  void clear();
  /// When the first decoded frame arrived; waits up to `timeout` for it.
  std::optional<Clock::time_point> waitFirstDecoded(std::chrono::milliseconds timeout) const;
  bool hasDecoded() const { return decoded_.load(); }

 private:
  std::shared_ptr<Window> window_;
  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  std::atomic<bool> decoded_{false};
  std::optional<Clock::time_point> firstDecoded_;
  Counts counts_;
};

class BurstSource : public tern::AudioSource {
 public:
  BurstSource(int warmupFrames, int periodFrames, int burstMs)
      : warmup_(warmupFrames), period_(periodFrames), burstSamples_(48 * burstMs) {}
  tern::AudioFormat format() const override { return {48000, 1, 20}; }
  void readAudio(std::int16_t* pcm, std::size_t samplesPerChannel) override;
  std::vector<Clock::time_point> mouthTimes() const;
  static constexpr double kAmplitude = 0.5 * 32767.0;

 private:
  int warmup_;
  int period_;
  int burstSamples_;
  std::int64_t frame_ = 0;
  int remaining_ = 0;
  double phase_ = 0;
  mutable std::mutex mutex_;
  std::vector<Clock::time_point> mouth_;
};

class BurstSink : public tern::AudioSink {
 public:
  tern::AudioFormat format() const override { return {48000, 1, 20}; }
  void writeAudio(const std::int16_t* pcm, std::size_t samplesPerChannel,
                  const tern::AudioFrameInfo& info) override;
  std::vector<Clock::time_point> earTimes() const;
  std::uint64_t decodedFrames() const { return decoded_.load(); }

 private:
  bool inBurst_ = false;
  int quiet_ = 0;
  std::atomic<std::uint64_t> decoded_{0};
  mutable std::mutex mutex_;
  std::vector<Clock::time_point> ear_;
};

class PatternCamera : public tern::VideoSource {
 public:
  PatternCamera(std::shared_ptr<const std::vector<tern::media::VideoFrame>> pictures, int fps)
      : pictures_(std::move(pictures)), fps_(fps) {}
  tern::VideoFormat format() const override;
  bool readVideo(tern::VideoBuffer& frame) override;
  std::uint64_t captured() const { return captured_.load(); }

 private:
  std::shared_ptr<const std::vector<tern::media::VideoFrame>> pictures_;
  int fps_;
  std::atomic<std::uint64_t> captured_{0};
};

class CountingScreen : public tern::VideoSink {
 public:
  void writeVideo(const tern::VideoFrame& frame) override;
  std::uint64_t frames() const { return frames_.load(); }
  int width() const { return width_.load(); }
  int height() const { return height_.load(); }

 private:
  std::atomic<std::uint64_t> frames_{0};
  std::atomic<int> width_{0};
  std::atomic<int> height_{0};
};

}  // namespace tern::bench
