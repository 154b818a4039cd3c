// Signal helpers shared by the codec tests.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace tern::media::test {

/// Deterministic white noise with the given RMS (in sample units), interleaved.
inline std::vector<std::int16_t> whiteNoise(std::size_t samples, double rms, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> dist(0.0, rms);
  std::vector<std::int16_t> out(samples);
  for (auto& s : out) {
    double v = dist(rng);
    if (v > 32767) v = 32767;
    if (v < -32768) v = -32768;
    s = static_cast<std::int16_t>(v);
  }
  return out;
}

/// a + b, saturated.
inline std::vector<std::int16_t> mix(const std::vector<std::int16_t>& a,
                                     const std::vector<std::int16_t>& b) {
  std::vector<std::int16_t> out(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    int v = a[i] + (i < b.size() ? b[i] : 0);
    if (v > 32767) v = 32767;
    if (v < -32768) v = -32768;
    out[i] = static_cast<std::int16_t>(v);
  }
  return out;
}

}  // namespace tern::media::test
