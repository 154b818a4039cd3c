// Echo cancellation / noise suppression over webrtc-audio-processing 0.3. See
// tern/media/audio_processing.hpp.
#include <tern/media/audio_processing.hpp>

#include <webrtc/common.h>
#include <webrtc/modules/audio_processing/include/audio_processing.h>
#include <webrtc/modules/interface/module_common_types.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

namespace tern::media {
namespace {

CodecError invalid(std::string message) {
  return CodecError{CodecErrorCode::InvalidArgument, std::move(message)};
}

CodecStatus check(const char* what, int status) {
  if (status != webrtc::AudioProcessing::kNoError)
    return CodecError{CodecErrorCode::LibraryFailure,
                      std::string(what) + " failed (" + std::to_string(status) + ")"};
  return {};
}

webrtc::NoiseSuppression::Level toWebrtc(NoiseSuppressionLevel level) {
  switch (level) {
    case NoiseSuppressionLevel::Low:
      return webrtc::NoiseSuppression::kLow;
    case NoiseSuppressionLevel::Moderate:
      return webrtc::NoiseSuppression::kModerate;
    case NoiseSuppressionLevel::High:
      return webrtc::NoiseSuppression::kHigh;
    case NoiseSuppressionLevel::VeryHigh:
      return webrtc::NoiseSuppression::kVeryHigh;
  }
  return webrtc::NoiseSuppression::kHigh;
}

}  // namespace

struct AudioProcessor::Impl {
  AudioProcessorConfig config;
  std::unique_ptr<webrtc::AudioProcessing> apm;
  // webrtc::AudioFrame is ~7.7 KB: keep one for each direction instead of one per call.
  webrtc::AudioFrame capture;
  webrtc::AudioFrame render;

  std::size_t spc() const { return static_cast<std::size_t>(config.sample_rate / 100); }

  void prepare(webrtc::AudioFrame& f) const {
    f.sample_rate_hz_ = config.sample_rate;
    f.num_channels_ = config.channels;
    f.samples_per_channel_ = spc();
  }
};

CodecResult<AudioProcessor> AudioProcessor::create(const AudioProcessorConfig& config) {
  const int rate = config.sample_rate;
  if (rate != 8000 && rate != 16000 && rate != 32000 && rate != 48000)
    return invalid("apm: sample rate must be 8000, 16000, 32000 or 48000");
  if (config.channels != 1 && config.channels != 2) return invalid("apm: channels must be 1 or 2");
  if (config.stream_delay_ms < 0 || config.stream_delay_ms > 500)
    return invalid("apm: stream delay out of 0..500 ms");

  webrtc::Config wconfig;
  // Delay-agnostic AEC and the extended filter: the settings WebRTC uses on desktop, robust to
  // the inexact delays a portable audio stack reports.
  wconfig.Set<webrtc::DelayAgnostic>(new webrtc::DelayAgnostic(true));
  wconfig.Set<webrtc::ExtendedFilter>(new webrtc::ExtendedFilter(true));
  std::unique_ptr<webrtc::AudioProcessing> apm(webrtc::AudioProcessing::Create(wconfig));
  if (!apm) return CodecError{CodecErrorCode::LibraryFailure, "apm: Create failed"};

  const auto layout =
      config.channels == 1 ? webrtc::AudioProcessing::kMono : webrtc::AudioProcessing::kStereo;
  if (auto s = check("Initialize", apm->Initialize(rate, rate, rate, layout, layout, layout)); !s)
    return s.error();
  if (auto s = check("high_pass_filter", apm->high_pass_filter()->Enable(config.high_pass_filter));
      !s)
    return s.error();
  if (auto s = check("echo_cancellation", apm->echo_cancellation()->set_suppression_level(
                                              webrtc::EchoCancellation::kHighSuppression));
      !s)
    return s.error();
  if (auto s =
          check("echo_cancellation", apm->echo_cancellation()->Enable(config.echo_cancellation));
      !s)
    return s.error();
  if (auto s = check("noise_suppression",
                     apm->noise_suppression()->set_level(toWebrtc(config.ns_level)));
      !s)
    return s.error();
  if (auto s =
          check("noise_suppression", apm->noise_suppression()->Enable(config.noise_suppression));
      !s)
    return s.error();

  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->apm = std::move(apm);
  return AudioProcessor(std::move(impl));
}

AudioProcessor::AudioProcessor(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
AudioProcessor::AudioProcessor(AudioProcessor&&) noexcept = default;
AudioProcessor& AudioProcessor::operator=(AudioProcessor&&) noexcept = default;
AudioProcessor::~AudioProcessor() = default;

CodecStatus AudioProcessor::processCapture(std::int16_t* frame10ms) {
  if (!impl_) return invalid("apm: moved-from processor");
  if (frame10ms == nullptr) return invalid("apm: null frame");
  Impl& p = *impl_;
  const std::size_t n = p.spc() * static_cast<std::size_t>(p.config.channels);
  p.prepare(p.capture);
  std::memcpy(p.capture.data_, frame10ms, n * sizeof(std::int16_t));
  // "Must be called if and only if echo processing is enabled" (audio_processing.h).
  if (p.config.echo_cancellation) p.apm->set_stream_delay_ms(p.config.stream_delay_ms);
  if (auto s = check("ProcessStream", p.apm->ProcessStream(&p.capture)); !s) return s;
  std::memcpy(frame10ms, p.capture.data_, n * sizeof(std::int16_t));
  return {};
}

CodecStatus AudioProcessor::analyzeRender(const std::int16_t* frame10ms) {
  if (!impl_) return invalid("apm: moved-from processor");
  if (frame10ms == nullptr) return invalid("apm: null frame");
  Impl& p = *impl_;
  const std::size_t n = p.spc() * static_cast<std::size_t>(p.config.channels);
  p.prepare(p.render);
  std::memcpy(p.render.data_, frame10ms, n * sizeof(std::int16_t));
  return check("ProcessReverseStream", p.apm->ProcessReverseStream(&p.render));
}

CodecStatus AudioProcessor::setStreamDelayMs(int delay_ms) {
  if (!impl_) return invalid("apm: moved-from processor");
  if (delay_ms < 0 || delay_ms > 500) return invalid("apm: stream delay out of 0..500 ms");
  impl_->config.stream_delay_ms = delay_ms;
  return {};
}

CodecStatus AudioProcessor::setEchoCancellation(bool enabled) {
  if (!impl_) return invalid("apm: moved-from processor");
  auto s = check("echo_cancellation", impl_->apm->echo_cancellation()->Enable(enabled));
  if (s) impl_->config.echo_cancellation = enabled;
  return s;
}

CodecStatus AudioProcessor::setNoiseSuppression(bool enabled) {
  if (!impl_) return invalid("apm: moved-from processor");
  auto s = check("noise_suppression", impl_->apm->noise_suppression()->Enable(enabled));
  if (s) impl_->config.noise_suppression = enabled;
  return s;
}

std::size_t AudioProcessor::samplesPerChannel() const noexcept { return impl_->spc(); }
const AudioProcessorConfig& AudioProcessor::config() const noexcept { return impl_->config; }

}  // namespace tern::media
