// Test tones, tone analysis, gap finding and the counter-carrying video pattern. See
// tern/media/tone.hpp.
#include <tern/media/tone.hpp>

#include <algorithm>
#include <cmath>

namespace tern::media {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kTwoPi = 2.0 * kPi;
constexpr double kFullScale = 32768.0;

double toDbfs(double rms) {
  if (!(rms > 0.0)) return kSilenceDbfs;
  return std::max(kSilenceDbfs, 20.0 * std::log10(rms / kFullScale));
}

// Hann-windowed first channel of a block, as doubles.
std::vector<double> windowed(const std::int16_t* pcm, std::size_t n, int channels) {
  std::vector<double> x(n);
  const double denom = n > 1 ? static_cast<double>(n - 1) : 1.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double w = 0.5 - 0.5 * std::cos(kTwoPi * static_cast<double>(i) / denom);
    x[i] = w * pcm[i * static_cast<std::size_t>(channels)];
  }
  return x;
}

// Amplitude (in sample units) of the component at `freq` in a Hann-windowed block: the Goertzel
// magnitude |X(f)|, scaled by 2 / sum(window) = 4 / n.
double goertzelAmplitude(const std::vector<double>& x, double freq, int sample_rate) {
  const double w = kTwoPi * freq / sample_rate;
  const double coeff = 2.0 * std::cos(w);
  double s1 = 0.0;
  double s2 = 0.0;
  for (double v : x) {
    const double s = v + coeff * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  const double power = std::max(0.0, s1 * s1 + s2 * s2 - coeff * s1 * s2);
  return 4.0 * std::sqrt(power) / static_cast<double>(x.size());
}

// CRC-8 (polynomial 0x07) with initial value 0xff, so that uniform frames (all bits 0 or all 1)
// never pass as a valid counter.
std::uint8_t crc8(std::uint32_t value) {
  std::uint8_t crc = 0xff;
  for (int byte = 2; byte >= 0; --byte) {
    crc ^= static_cast<std::uint8_t>(value >> (8 * byte));
    for (int bit = 0; bit < 8; ++bit)
      crc = static_cast<std::uint8_t>((crc & 0x80) ? (crc << 1) ^ 0x07 : crc << 1);
  }
  return crc;
}

constexpr int kCellColumns = 8;
constexpr int kCellRows = 4;
constexpr std::uint8_t kBlack = 16;
constexpr std::uint8_t kWhite = 235;

}  // namespace

ToneGenerator::ToneGenerator(double frequency_hz, double amplitude, int channels,
                             int sample_rate) noexcept
    : channels_(std::max(1, channels)), sample_rate_(std::max(1, sample_rate)) {
  increment_ = kTwoPi * frequency_hz / sample_rate_;
  amplitude_ = std::clamp(amplitude, 0.0, 1.0) * 32767.0;
}

void ToneGenerator::generate(std::int16_t* out, std::size_t samples_per_channel) noexcept {
  if (out == nullptr) return;
  for (std::size_t i = 0; i < samples_per_channel; ++i) {
    const auto v = static_cast<std::int16_t>(std::lround(amplitude_ * std::sin(phase_)));
    for (int c = 0; c < channels_; ++c) out[i * static_cast<std::size_t>(channels_) + c] = v;
    phase_ += increment_;
    if (phase_ >= kTwoPi) phase_ = std::fmod(phase_, kTwoPi);
  }
}

std::vector<std::int16_t> ToneGenerator::generate(std::size_t samples_per_channel) {
  std::vector<std::int16_t> out(samples_per_channel * static_cast<std::size_t>(channels_));
  generate(out.data(), samples_per_channel);
  return out;
}

double rmsDbfs(const std::int16_t* pcm, std::size_t samples, int channels) {
  if (pcm == nullptr || samples == 0 || channels <= 0) return kSilenceDbfs;
  const std::size_t total = samples * static_cast<std::size_t>(channels);
  double sum = 0.0;
  for (std::size_t i = 0; i < total; ++i) sum += static_cast<double>(pcm[i]) * pcm[i];
  return toDbfs(std::sqrt(sum / static_cast<double>(total)));
}

double toneLevelDbfs(const std::int16_t* pcm, std::size_t samples_per_channel, int channels,
                     double frequency_hz, int sample_rate) {
  if (pcm == nullptr || samples_per_channel < 2 || channels <= 0 || sample_rate <= 0)
    return kSilenceDbfs;
  const auto x = windowed(pcm, samples_per_channel, channels);
  return toDbfs(goertzelAmplitude(x, frequency_hz, sample_rate) / std::sqrt(2.0));
}

ToneAnalysis analyzeTone(const std::int16_t* pcm, std::size_t samples_per_channel, int channels,
                         int sample_rate) {
  ToneAnalysis result;
  if (pcm == nullptr || samples_per_channel < 16 || channels <= 0 || sample_rate <= 0)
    return result;
  result.rms_dbfs = rmsDbfs(pcm, samples_per_channel, channels);
  if (result.rms_dbfs <= kSilenceDbfs) return result;

  const std::size_t n = std::min(samples_per_channel, static_cast<std::size_t>(sample_rate / 10));
  const auto x = windowed(pcm, n, channels);
  const double top = std::min(sample_rate / 2.0 - 1.0, 20000.0);
  // Coarse scan at a quarter of the Hann main-lobe half-width, so the peak lobe is never missed.
  const double step = static_cast<double>(sample_rate) / static_cast<double>(n) / 2.0;
  double best_f = 0.0;
  double best_a = -1.0;
  for (double f = 20.0; f <= top; f += step) {
    const double a = goertzelAmplitude(x, f, sample_rate);
    if (a > best_a) {
      best_a = a;
      best_f = f;
    }
  }
  // Refine by ternary search on the (unimodal) main lobe around the coarse peak.
  double lo = std::max(1.0, best_f - step);
  double hi = std::min(top, best_f + step);
  for (int i = 0; i < 40; ++i) {
    const double m1 = lo + (hi - lo) / 3.0;
    const double m2 = hi - (hi - lo) / 3.0;
    if (goertzelAmplitude(x, m1, sample_rate) < goertzelAmplitude(x, m2, sample_rate))
      lo = m1;
    else
      hi = m2;
  }
  result.frequency_hz = (lo + hi) / 2.0;
  result.tone_dbfs =
      toDbfs(goertzelAmplitude(x, result.frequency_hz, sample_rate) / std::sqrt(2.0));
  return result;
}

std::vector<AudioGap> findGaps(const std::int16_t* pcm, std::size_t samples_per_channel,
                               int channels, double min_gap_ms, double threshold_dbfs,
                               int sample_rate) {
  std::vector<AudioGap> gaps;
  if (pcm == nullptr || channels <= 0 || sample_rate < 1000) return gaps;
  const std::size_t block = static_cast<std::size_t>(sample_rate / 1000);  // 1 ms
  const auto min_len = static_cast<std::size_t>(std::max(0.0, min_gap_ms) * sample_rate / 1000.0);
  std::size_t run_start = 0;
  bool in_run = false;
  auto close_run = [&](std::size_t end) {
    if (in_run && end - run_start >= min_len && end > run_start)
      gaps.push_back(AudioGap{run_start, end - run_start});
    in_run = false;
  };
  for (std::size_t start = 0; start < samples_per_channel; start += block) {
    const std::size_t len = std::min(block, samples_per_channel - start);
    const bool quiet =
        rmsDbfs(pcm + start * static_cast<std::size_t>(channels), len, channels) < threshold_dbfs;
    if (quiet && !in_run) {
      in_run = true;
      run_start = start;
    } else if (!quiet) {
      close_run(start);
    }
  }
  close_run(samples_per_channel);
  return gaps;
}

VideoFrame VideoPattern::generate(std::uint32_t counter, std::int64_t timestamp) const {
  if (width_ < kMinDimension || height_ < kMinDimension) return {};
  VideoFrame frame(width_, height_);
  if (frame.empty()) return frame;
  frame.timestamp = timestamp;
  frame.fill(kBlack, 128, 128);
  const std::uint32_t value = counter & 0xffffff;
  const std::uint32_t word = (value << 8) | crc8(value);
  const int cell_w = width_ / kCellColumns;
  const int cell_h = (height_ / 2) / kCellRows;
  std::uint8_t* y = frame.dataY();
  for (int bit = 0; bit < kCellColumns * kCellRows; ++bit) {
    const bool one = ((word >> (31 - bit)) & 1u) != 0;
    const int x0 = (bit % kCellColumns) * cell_w;
    const int y0 = (bit / kCellColumns) * cell_h;
    for (int row = y0; row < y0 + cell_h; ++row)
      std::fill(y + static_cast<std::size_t>(row) * frame.strideY() + x0,
                y + static_cast<std::size_t>(row) * frame.strideY() + x0 + cell_w,
                one ? kWhite : kBlack);
  }
  // Bottom half: a diagonal ramp that moves with the counter.
  for (int row = height_ / 2; row < height_; ++row) {
    for (int col = 0; col < width_; ++col) {
      y[static_cast<std::size_t>(row) * frame.strideY() + col] =
          static_cast<std::uint8_t>(32 + ((col + row + 4 * static_cast<int>(counter)) % 192));
    }
  }
  for (int row = frame.chromaHeight() / 2; row < frame.chromaHeight(); ++row) {
    for (int col = 0; col < frame.chromaWidth(); ++col) {
      frame.dataU()[static_cast<std::size_t>(row) * frame.strideU() + col] =
          static_cast<std::uint8_t>(96 + (col % 64));
      frame.dataV()[static_cast<std::size_t>(row) * frame.strideV() + col] =
          static_cast<std::uint8_t>(96 + (row % 64));
    }
  }
  return frame;
}

std::optional<std::uint32_t> VideoPattern::read(const VideoFrame& frame) {
  if (frame.width() < kMinDimension || frame.height() < kMinDimension) return std::nullopt;
  const int cell_w = frame.width() / kCellColumns;
  const int cell_h = (frame.height() / 2) / kCellRows;
  std::uint32_t word = 0;
  for (int bit = 0; bit < kCellColumns * kCellRows; ++bit) {
    const int x0 = (bit % kCellColumns) * cell_w;
    const int y0 = (bit / kCellColumns) * cell_h;
    // Average the inner half of the cell: edges blur under lossy coding.
    std::uint64_t sum = 0;
    std::uint64_t count = 0;
    for (int row = y0 + cell_h / 4; row < y0 + cell_h - cell_h / 4; ++row) {
      for (int col = x0 + cell_w / 4; col < x0 + cell_w - cell_w / 4; ++col) {
        sum += frame.dataY()[static_cast<std::size_t>(row) * frame.strideY() + col];
        ++count;
      }
    }
    const bool one = count > 0 && sum / count >= (kBlack + kWhite) / 2;
    word = (word << 1) | (one ? 1u : 0u);
  }
  const std::uint32_t value = word >> 8;
  if (crc8(value) != static_cast<std::uint8_t>(word & 0xff)) return std::nullopt;
  return value;
}

}  // namespace tern::media
