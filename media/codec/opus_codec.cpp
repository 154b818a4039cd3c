// Opus encoder/decoder over libopus. See tern/media/opus_codec.hpp.
#include <tern/media/opus_codec.hpp>

#include <opus.h>

#include <string>
#include <utility>

namespace tern::media {
namespace {

// Largest Opus packet duration (RFC 6716 section 3.2.5: 120 ms) at 48 kHz.
constexpr int kMaxPacketSamplesPerChannel = 120 * kOpusSampleRate / 1000;
// Recommended upper bound for one encoded packet (libopus docs: 1275 bytes per frame, 3 frames
// of a code-3 packet plus headers); generous on purpose.
constexpr int kMaxEncodedBytes = 4000;

struct EncoderDeleter {
  void operator()(OpusEncoder* e) const noexcept { opus_encoder_destroy(e); }
};
struct DecoderDeleter {
  void operator()(OpusDecoder* d) const noexcept { opus_decoder_destroy(d); }
};

CodecError invalid(std::string message) {
  return CodecError{CodecErrorCode::InvalidArgument, std::move(message)};
}

CodecError libraryError(const char* what, int status) {
  return CodecError{CodecErrorCode::LibraryFailure,
                    std::string(what) + ": " + opus_strerror(status)};
}

bool validChannels(int channels) { return channels == 1 || channels == 2; }
bool validFrameMs(int ms) { return ms == 10 || ms == 20; }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Encoder

struct OpusAudioEncoder::Impl {
  OpusEncoderConfig config;
  std::unique_ptr<OpusEncoder, EncoderDeleter> enc;

  CodecStatus ctl(const char* what, int status) {
    if (status != OPUS_OK) return libraryError(what, status);
    return {};
  }
};

CodecResult<OpusAudioEncoder> OpusAudioEncoder::create(const OpusEncoderConfig& config) {
  if (!validChannels(config.channels)) return invalid("opus: channels must be 1 or 2");
  if (!validFrameMs(config.frame_ms)) return invalid("opus: frame_ms must be 10 or 20");
  if (config.bitrate_bps < 6000 || config.bitrate_bps > 510000)
    return invalid("opus: bitrate out of 6000..510000");
  if (config.complexity < 0 || config.complexity > 10)
    return invalid("opus: complexity out of 0..10");
  if (config.expected_loss_percent < 0 || config.expected_loss_percent > 100)
    return invalid("opus: expected loss out of 0..100");

  int status = OPUS_OK;
  std::unique_ptr<OpusEncoder, EncoderDeleter> enc(
      opus_encoder_create(kOpusSampleRate, config.channels, OPUS_APPLICATION_VOIP, &status));
  if (status != OPUS_OK || !enc) return libraryError("opus_encoder_create", status);

  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->enc = std::move(enc);
  OpusEncoder* e = impl->enc.get();
  // VBR (the RFC 7587 default), constrained so that a talkspurt does not burst.
  const std::pair<const char*, int> settings[] = {
      {"OPUS_SET_BITRATE", opus_encoder_ctl(e, OPUS_SET_BITRATE(config.bitrate_bps))},
      {"OPUS_SET_COMPLEXITY", opus_encoder_ctl(e, OPUS_SET_COMPLEXITY(config.complexity))},
      {"OPUS_SET_INBAND_FEC", opus_encoder_ctl(e, OPUS_SET_INBAND_FEC(config.inband_fec ? 1 : 0))},
      {"OPUS_SET_PACKET_LOSS_PERC",
       opus_encoder_ctl(e, OPUS_SET_PACKET_LOSS_PERC(config.expected_loss_percent))},
      {"OPUS_SET_DTX", opus_encoder_ctl(e, OPUS_SET_DTX(config.dtx ? 1 : 0))},
      {"OPUS_SET_VBR_CONSTRAINT", opus_encoder_ctl(e, OPUS_SET_VBR_CONSTRAINT(1))},
      {"OPUS_SET_SIGNAL", opus_encoder_ctl(e, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE))},
  };
  for (const auto& [name, status] : settings) {
    if (status != OPUS_OK) return libraryError(name, status);
  }
  return OpusAudioEncoder(std::move(impl));
}

OpusAudioEncoder::OpusAudioEncoder(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
OpusAudioEncoder::OpusAudioEncoder(OpusAudioEncoder&&) noexcept = default;
OpusAudioEncoder& OpusAudioEncoder::operator=(OpusAudioEncoder&&) noexcept = default;
OpusAudioEncoder::~OpusAudioEncoder() = default;

CodecResult<std::vector<std::uint8_t>> OpusAudioEncoder::encode(const std::int16_t* pcm,
                                                                std::size_t samples_per_channel) {
  if (!impl_) return invalid("opus: moved-from encoder");
  if (pcm == nullptr) return invalid("opus: null PCM");
  if (samples_per_channel != samplesPerChannel())
    return invalid("opus: frame must be " + std::to_string(samplesPerChannel()) +
                   " samples per channel");
  std::vector<std::uint8_t> out(kMaxEncodedBytes);
  const opus_int32 n = opus_encode(impl_->enc.get(), pcm, static_cast<int>(samples_per_channel),
                                   out.data(), static_cast<opus_int32>(out.size()));
  if (n < 0) return libraryError("opus_encode", n);
  out.resize(static_cast<std::size_t>(n));
  return out;
}

CodecStatus OpusAudioEncoder::setBitrate(int bitrate_bps) {
  if (!impl_) return invalid("opus: moved-from encoder");
  if (bitrate_bps < 6000 || bitrate_bps > 510000) return invalid("opus: bitrate out of range");
  auto s = impl_->ctl("OPUS_SET_BITRATE",
                      opus_encoder_ctl(impl_->enc.get(), OPUS_SET_BITRATE(bitrate_bps)));
  if (s) impl_->config.bitrate_bps = bitrate_bps;
  return s;
}

CodecStatus OpusAudioEncoder::setExpectedPacketLoss(int percent) {
  if (!impl_) return invalid("opus: moved-from encoder");
  if (percent < 0 || percent > 100) return invalid("opus: loss out of 0..100");
  auto s = impl_->ctl("OPUS_SET_PACKET_LOSS_PERC",
                      opus_encoder_ctl(impl_->enc.get(), OPUS_SET_PACKET_LOSS_PERC(percent)));
  if (s) impl_->config.expected_loss_percent = percent;
  return s;
}

CodecStatus OpusAudioEncoder::setDtx(bool enabled) {
  if (!impl_) return invalid("opus: moved-from encoder");
  auto s =
      impl_->ctl("OPUS_SET_DTX", opus_encoder_ctl(impl_->enc.get(), OPUS_SET_DTX(enabled ? 1 : 0)));
  if (s) impl_->config.dtx = enabled;
  return s;
}

CodecStatus OpusAudioEncoder::setComplexity(int complexity) {
  if (!impl_) return invalid("opus: moved-from encoder");
  if (complexity < 0 || complexity > 10) return invalid("opus: complexity out of 0..10");
  auto s = impl_->ctl("OPUS_SET_COMPLEXITY",
                      opus_encoder_ctl(impl_->enc.get(), OPUS_SET_COMPLEXITY(complexity)));
  if (s) impl_->config.complexity = complexity;
  return s;
}

const OpusEncoderConfig& OpusAudioEncoder::config() const noexcept { return impl_->config; }

std::size_t OpusAudioEncoder::samplesPerChannel() const noexcept {
  return static_cast<std::size_t>(impl_->config.frame_ms * kOpusSampleRate / 1000);
}

// ---------------------------------------------------------------------------------------------
// Decoder

struct OpusAudioDecoder::Impl {
  OpusDecoderConfig config;
  std::unique_ptr<OpusDecoder, DecoderDeleter> dec;
  OpusDecoderCounts counts;

  std::size_t frameSamples() const {
    return static_cast<std::size_t>(config.frame_ms * kOpusSampleRate / 1000);
  }

  // Runs opus_decode into a buffer of `max_spc` samples per channel; returns the PCM trimmed to
  // what was decoded.
  CodecResult<std::vector<std::int16_t>> run(const std::uint8_t* data, std::size_t size,
                                             int max_spc, int fec) {
    std::vector<std::int16_t> pcm(static_cast<std::size_t>(max_spc) * config.channels);
    const int n =
        opus_decode(dec.get(), data, static_cast<opus_int32>(size), pcm.data(), max_spc, fec);
    if (n < 0) {
      ++counts.errors;
      const CodecErrorCode code = (n == OPUS_INVALID_PACKET || n == OPUS_BUFFER_TOO_SMALL)
                                      ? CodecErrorCode::CorruptInput
                                      : CodecErrorCode::LibraryFailure;
      return CodecError{code, std::string("opus_decode: ") + opus_strerror(n)};
    }
    pcm.resize(static_cast<std::size_t>(n) * config.channels);
    return pcm;
  }
};

CodecResult<OpusAudioDecoder> OpusAudioDecoder::create(const OpusDecoderConfig& config) {
  if (!validChannels(config.channels)) return invalid("opus: channels must be 1 or 2");
  if (!validFrameMs(config.frame_ms)) return invalid("opus: frame_ms must be 10 or 20");
  int status = OPUS_OK;
  std::unique_ptr<OpusDecoder, DecoderDeleter> dec(
      opus_decoder_create(kOpusSampleRate, config.channels, &status));
  if (status != OPUS_OK || !dec) return libraryError("opus_decoder_create", status);
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->dec = std::move(dec);
  return OpusAudioDecoder(std::move(impl));
}

OpusAudioDecoder::OpusAudioDecoder(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
OpusAudioDecoder::OpusAudioDecoder(OpusAudioDecoder&&) noexcept = default;
OpusAudioDecoder& OpusAudioDecoder::operator=(OpusAudioDecoder&&) noexcept = default;
OpusAudioDecoder::~OpusAudioDecoder() = default;

CodecResult<std::vector<std::int16_t>> OpusAudioDecoder::decode(const std::uint8_t* data,
                                                                std::size_t size) {
  if (!impl_) return invalid("opus: moved-from decoder");
  if (data == nullptr || size == 0) {
    ++impl_->counts.errors;
    return CodecError{CodecErrorCode::CorruptInput, "opus: empty packet"};
  }
  // Check the TOC and frame count before decoding (RFC 6716 section 3.2).
  const int samples =
      opus_packet_get_nb_samples(data, static_cast<opus_int32>(size), kOpusSampleRate);
  if (samples <= 0 || samples > kMaxPacketSamplesPerChannel) {
    ++impl_->counts.errors;
    return CodecError{CodecErrorCode::CorruptInput, "opus: invalid packet"};
  }
  auto r = impl_->run(data, size, kMaxPacketSamplesPerChannel, 0);
  if (r) ++impl_->counts.normal_frames;
  return r;
}

CodecResult<std::vector<std::int16_t>> OpusAudioDecoder::decodeFec(const std::uint8_t* data,
                                                                   std::size_t size) {
  if (!impl_) return invalid("opus: moved-from decoder");
  if (data == nullptr || size == 0) {
    ++impl_->counts.errors;
    return CodecError{CodecErrorCode::CorruptInput, "opus: empty packet"};
  }
  if (opus_packet_get_nb_samples(data, static_cast<opus_int32>(size), kOpusSampleRate) <= 0) {
    ++impl_->counts.errors;
    return CodecError{CodecErrorCode::CorruptInput, "opus: invalid packet"};
  }
  auto r = impl_->run(data, size, static_cast<int>(impl_->frameSamples()), 1);
  if (r) ++impl_->counts.fec_frames;
  return r;
}

CodecResult<std::vector<std::int16_t>> OpusAudioDecoder::conceal() {
  if (!impl_) return invalid("opus: moved-from decoder");
  auto r = impl_->run(nullptr, 0, static_cast<int>(impl_->frameSamples()), 0);
  if (r) ++impl_->counts.concealed_frames;
  return r;
}

const OpusDecoderCounts& OpusAudioDecoder::counts() const noexcept { return impl_->counts; }
std::size_t OpusAudioDecoder::samplesPerChannel() const noexcept { return impl_->frameSamples(); }
int OpusAudioDecoder::channels() const noexcept { return impl_->config.channels; }

}  // namespace tern::media
