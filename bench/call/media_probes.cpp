#include "media_probes.hpp"

#include <cmath>
#include <cstdlib>
#include <cstring>

namespace tern::bench {

namespace {
constexpr double kSampleMs = 1.0 / 48.0;  // one sample at 48 kHz, in ms

Clock::time_point plusMs(Clock::time_point t, double ms) {
  return t +
         std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(ms));
}
}  // namespace

// ---- ToneSource

void ToneSource::readAudio(std::int16_t* pcm, std::size_t samplesPerChannel) {
  const auto now = Clock::now();
  audio_.fill(pcm, samplesPerChannel);
  if (window_ && window_->open.load(std::memory_order_relaxed)) {
    std::lock_guard<std::mutex> lock(mutex_);
    pulls_.push_back(now);
  }
}

std::vector<Clock::time_point> ToneSource::pulls() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return pulls_;
}

void ToneSource::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  pulls_.clear();
}

// ---- FrameSink

void FrameSink::writeAudio(const std::int16_t*, std::size_t, const tern::AudioFrameInfo& info) {
  const auto now = Clock::now();
  const bool decoded = !info.concealed && !info.silence;
  const bool recording = window_ && window_->open.load(std::memory_order_relaxed);
  if (!recording && (!decoded || decoded_.load(std::memory_order_relaxed))) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (decoded && !firstDecoded_) {
    firstDecoded_ = now;
    decoded_ = true;
    cv_.notify_all();
  }
  if (recording) {
    ++counts_.frames;
    if (info.concealed) ++counts_.concealed;
    if (info.silence) ++counts_.silence;
  }
}

FrameSink::Counts FrameSink::counts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counts_;
}

void FrameSink::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  counts_ = Counts{};
}

std::optional<Clock::time_point> FrameSink::waitFirstDecoded(
    std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait_for(lock, timeout, [this] { return firstDecoded_.has_value(); });
  return firstDecoded_;
}

// ---- BurstSource

void BurstSource::readAudio(std::int16_t* pcm, std::size_t samplesPerChannel) {
  const auto now = Clock::now();
  const std::int64_t f = frame_++;
  if (f >= warmup_ && (f - warmup_) % period_ == 0) {
    remaining_ = burstSamples_;
    phase_ = 0;
    std::lock_guard<std::mutex> lock(mutex_);
    // The frame holds the 20 ms before the pull; the burst starts at its first sample.
    mouth_.push_back(plusMs(now, -kSampleMs * static_cast<double>(samplesPerChannel)));
  }
  const double step = 2 * M_PI * 1000.0 / 48000.0;
  for (std::size_t i = 0; i < samplesPerChannel; ++i) {
    if (remaining_ > 0) {
      pcm[i] = static_cast<std::int16_t>(std::lround(std::sin(phase_) * kAmplitude));
      phase_ += step;
      --remaining_;
    } else {
      pcm[i] = 0;
    }
  }
}

std::vector<Clock::time_point> BurstSource::mouthTimes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return mouth_;
}

// ---- BurstSink

void BurstSink::writeAudio(const std::int16_t* pcm, std::size_t samplesPerChannel,
                           const tern::AudioFrameInfo& info) {
  const auto now = Clock::now();
  if (!info.concealed && !info.silence) ++decoded_;
  // Onset: the first sample above a quarter of the burst's amplitude; the burst is over after
  // 50 ms below a sixteenth of it.
  const int onset = static_cast<int>(BurstSource::kAmplitude / 4);
  const int quiet = onset / 4;
  for (std::size_t j = 0; j < samplesPerChannel; ++j) {
    const int v = std::abs(static_cast<int>(pcm[j]));
    if (!inBurst_) {
      if (v > onset) {
        inBurst_ = true;
        quiet_ = 0;
        std::lock_guard<std::mutex> lock(mutex_);
        ear_.push_back(plusMs(now, kSampleMs * static_cast<double>(j)));
      }
    } else {
      quiet_ = v < quiet ? quiet_ + 1 : 0;
      if (quiet_ > 48 * 50) inBurst_ = false;
    }
  }
}

std::vector<Clock::time_point> BurstSink::earTimes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return ear_;
}

// ---- video

tern::VideoFormat PatternCamera::format() const {
  const auto& first = pictures_->front();
  return {first.width(), first.height(), fps_};
}

bool PatternCamera::readVideo(tern::VideoBuffer& b) {
  const auto& p = (*pictures_)[captured_++ % pictures_->size()];
  if (b.width != p.width() || b.height != p.height()) return false;
  for (int r = 0; r < p.height(); ++r)
    std::memcpy(b.y + r * b.strideY, p.dataY() + r * p.strideY(),
                static_cast<std::size_t>(p.width()));
  for (int r = 0; r < p.chromaHeight(); ++r) {
    std::memcpy(b.u + r * b.strideU, p.dataU() + r * p.strideU(),
                static_cast<std::size_t>(p.chromaWidth()));
    std::memcpy(b.v + r * b.strideV, p.dataV() + r * p.strideV(),
                static_cast<std::size_t>(p.chromaWidth()));
  }
  return true;
}

void CountingScreen::writeVideo(const tern::VideoFrame& frame) {
  width_ = frame.width;
  height_ = frame.height;
  ++frames_;
}

}  // namespace tern::bench
