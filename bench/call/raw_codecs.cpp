#include "raw_codecs.hpp"

#include <opus/opus.h>
#include <time.h>
#include <vpx/vp8cx.h>
#include <vpx/vp8dx.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vpx_encoder.h>

#include <cmath>
#include <memory>
#include <tern/media/audio_processing.hpp>

namespace tern::bench {

namespace {

constexpr int kSamplesPerFrame = 960;  // 20 ms at 48 kHz, mono

struct OpusEncoderDeleter {
  void operator()(OpusEncoder* e) const { opus_encoder_destroy(e); }
};
struct OpusDecoderDeleter {
  void operator()(OpusDecoder* d) const { opus_decoder_destroy(d); }
};
struct VpxCodecDeleter {
  void operator()(vpx_codec_ctx_t* c) const {
    vpx_codec_destroy(c);
    delete c;
  }
};
using VpxCodec = std::unique_ptr<vpx_codec_ctx_t, VpxCodecDeleter>;

}  // namespace

double threadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

namespace {
// One second of the 440 Hz tone (a whole number of periods, so it loops without a seam), made
// once: the sources of many legs must not spend their CPU on sin().
const std::vector<std::int16_t>& toneSecond() {
  static const std::vector<std::int16_t> table = [] {
    std::vector<std::int16_t> t(48000);
    for (std::size_t i = 0; i < t.size(); ++i) {
      t[i] = static_cast<std::int16_t>(
          std::lround(std::sin(2 * M_PI * 440.0 * static_cast<double>(i) / 48000.0) * 0.3 * 32767));
    }
    return t;
  }();
  return table;
}
}  // namespace

void TestAudio::fill(std::int16_t* pcm, std::size_t samples) {
  const auto& tone = toneSecond();
  for (std::size_t i = 0; i < samples; ++i) {
    seed_ = seed_ * 1664525u + 1013904223u;
    const int noise = static_cast<int>(seed_ >> 22) - 512;  // about -54 dBFS RMS
    pcm[i] = static_cast<std::int16_t>(tone[position_] + noise);
    position_ = position_ + 1 == tone.size() ? 0 : position_ + 1;
  }
}

std::optional<OpusBaseline> measureRawOpus(int frames, int complexity, std::string& error) {
  int status = OPUS_OK;
  std::unique_ptr<OpusEncoder, OpusEncoderDeleter> enc(
      opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &status));
  if (status != OPUS_OK || !enc) {
    error = std::string("opus_encoder_create: ") + opus_strerror(status);
    return std::nullopt;
  }
  std::unique_ptr<OpusDecoder, OpusDecoderDeleter> dec(opus_decoder_create(48000, 1, &status));
  if (status != OPUS_OK || !dec) {
    error = std::string("opus_decoder_create: ") + opus_strerror(status);
    return std::nullopt;
  }
  OpusBaseline b;
  b.complexity = complexity;
  opus_encoder_ctl(enc.get(), OPUS_SET_BITRATE(b.bitrateBps));
  opus_encoder_ctl(enc.get(), OPUS_SET_COMPLEXITY(complexity));
  opus_encoder_ctl(enc.get(), OPUS_SET_INBAND_FEC(1));
  opus_encoder_ctl(enc.get(), OPUS_SET_PACKET_LOSS_PERC(5));
  opus_encoder_ctl(enc.get(), OPUS_SET_DTX(0));
  opus_encoder_ctl(enc.get(), OPUS_SET_VBR_CONSTRAINT(1));
  opus_encoder_ctl(enc.get(), OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));

  // All input made up front: only codec work is timed.
  const int warmup = 50;
  const int total = frames + warmup;
  std::vector<std::int16_t> input(static_cast<std::size_t>(total) * kSamplesPerFrame);
  TestAudio audio;
  audio.fill(input.data(), input.size());
  std::vector<unsigned char> packet(1500);
  std::vector<std::int16_t> output(kSamplesPerFrame);
  double encodeS = 0, decodeS = 0;
  for (int i = 0; i < total; ++i) {
    const double t0 = threadCpuSeconds();
    const opus_int32 n =
        opus_encode(enc.get(), input.data() + static_cast<std::size_t>(i) * kSamplesPerFrame,
                    kSamplesPerFrame, packet.data(), static_cast<opus_int32>(packet.size()));
    const double t1 = threadCpuSeconds();
    if (n < 0) {
      error = std::string("opus_encode: ") + opus_strerror(n);
      return std::nullopt;
    }
    const int d = opus_decode(dec.get(), packet.data(), n, output.data(), kSamplesPerFrame, 0);
    const double t2 = threadCpuSeconds();
    if (d != kSamplesPerFrame) {
      error = std::string("opus_decode: ") + (d < 0 ? opus_strerror(d) : "short frame");
      return std::nullopt;
    }
    if (i >= warmup) {
      encodeS += t1 - t0;
      decodeS += t2 - t1;
    }
  }
  b.frames = frames;
  b.encodeMsPerFrame = encodeS * 1000.0 / frames;
  b.decodeMsPerFrame = decodeS * 1000.0 / frames;
  return b;
}

std::optional<double> measureAudioProcessingMsPerFrame(int frames, std::string& error) {
  tern::media::AudioProcessorConfig config;  // the engine's: AEC + NS (High), high-pass on
  config.channels = 1;
  auto apm = tern::media::AudioProcessor::create(config);
  if (!apm) {
    error = "audio processing: " + apm.error().message;
    return std::nullopt;
  }
  const int warmup = 50;
  std::vector<std::int16_t> capture(480), render(480);
  TestAudio nearEnd(1), farEnd(2);
  double spent = 0;
  for (int i = 0; i < frames + warmup; ++i) {
    for (int half = 0; half < 2; ++half) {
      farEnd.fill(render.data(), render.size());
      nearEnd.fill(capture.data(), capture.size());
      const double t0 = threadCpuSeconds();
      (void)apm.value().analyzeRender(render.data());
      (void)apm.value().processCapture(capture.data());
      if (i >= warmup) spent += threadCpuSeconds() - t0;
    }
  }
  return spent * 1000.0 / frames;
}

namespace {

// Silence with 40 ms bursts of 1 kHz starting at frame boundaries every 300 ms after 1 s.
std::vector<std::int16_t> burstSignal(int bursts, std::vector<std::size_t>& starts) {
  const std::size_t period = 48 * 300, first = 48000, length = 48 * 40;
  std::vector<std::int16_t> pcm(first + period * static_cast<std::size_t>(bursts) + 48000, 0);
  for (int b = 0; b < bursts; ++b) {
    const std::size_t at = first + period * static_cast<std::size_t>(b);
    starts.push_back(at);
    for (std::size_t i = 0; i < length; ++i) {
      pcm[at + i] = static_cast<std::int16_t>(std::lround(
          std::sin(2 * M_PI * 1000.0 * static_cast<double>(i) / 48000.0) * 0.5 * 32767));
    }
  }
  return pcm;
}

// Mean delay (ms) of the first sample above a quarter of the burst amplitude after each start,
// output against input, over the bursts found in both within 200 ms; counts those in `found`.
double onsetDelayMs(const std::vector<std::int16_t>& in, const std::vector<std::int16_t>& out,
                    const std::vector<std::size_t>& starts, int& found) {
  const int threshold = static_cast<int>(0.5 * 32767 / 4);
  auto onset = [&](const std::vector<std::int16_t>& x,
                   std::size_t from) -> std::optional<std::size_t> {
    for (std::size_t i = from; i < x.size() && i < from + 48 * 200; ++i)
      if (std::abs(static_cast<int>(x[i])) > threshold) return i;
    return std::nullopt;
  };
  double sum = 0;
  found = 0;
  for (std::size_t s : starts) {
    auto a = onset(in, s), b = onset(out, s);
    if (!a || !b) continue;
    sum += static_cast<double>(*b - *a) / 48.0;
    ++found;
  }
  return found ? sum / found : 0;
}

}  // namespace

std::optional<OnsetDelays> measureOnsetDelays(std::string& error) {
  std::vector<std::size_t> starts;
  const std::vector<std::int16_t> in = burstSignal(8, starts);
  const std::size_t frames = in.size() / kSamplesPerFrame;
  OnsetDelays d;

  int status = OPUS_OK;
  std::unique_ptr<OpusEncoder, OpusEncoderDeleter> enc(
      opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &status));
  std::unique_ptr<OpusDecoder, OpusDecoderDeleter> dec(opus_decoder_create(48000, 1, &status));
  if (!enc || !dec) {
    error = "opus: cannot create the codec";
    return std::nullopt;
  }
  opus_encoder_ctl(enc.get(), OPUS_SET_BITRATE(32000));
  opus_encoder_ctl(enc.get(), OPUS_SET_COMPLEXITY(10));
  opus_encoder_ctl(enc.get(), OPUS_SET_INBAND_FEC(1));
  opus_encoder_ctl(enc.get(), OPUS_SET_PACKET_LOSS_PERC(5));
  opus_encoder_ctl(enc.get(), OPUS_SET_VBR_CONSTRAINT(1));
  opus_encoder_ctl(enc.get(), OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
  std::vector<std::int16_t> out(frames * kSamplesPerFrame, 0);
  std::vector<unsigned char> packet(1500);
  for (std::size_t f = 0; f < frames; ++f) {
    const opus_int32 n = opus_encode(enc.get(), in.data() + f * kSamplesPerFrame, kSamplesPerFrame,
                                     packet.data(), static_cast<opus_int32>(packet.size()));
    if (n < 0 || opus_decode(dec.get(), packet.data(), n, out.data() + f * kSamplesPerFrame,
                             kSamplesPerFrame, 0) != kSamplesPerFrame) {
      error = "opus: encode/decode failed";
      return std::nullopt;
    }
  }
  d.opusMs = onsetDelayMs(in, out, starts, d.opusFound);

  tern::media::AudioProcessorConfig config;
  config.channels = 1;
  auto apm = tern::media::AudioProcessor::create(config);
  if (!apm) {
    error = "audio processing: " + apm.error().message;
    return std::nullopt;
  }
  std::vector<std::int16_t> processed(
      in.begin(), in.begin() + static_cast<std::ptrdiff_t>(frames * kSamplesPerFrame));
  const std::vector<std::int16_t> silence(480, 0);
  for (std::size_t off = 0; off + 480 <= processed.size(); off += 480) {
    (void)apm.value().analyzeRender(silence.data());
    (void)apm.value().processCapture(processed.data() + off);
  }
  d.processingMs = onsetDelayMs(in, processed, starts, d.processingFound);
  d.bursts = static_cast<int>(starts.size());
  return d;
}

std::optional<Vp8Baseline> measureRawVp8(const std::vector<tern::media::VideoFrame>& pictures,
                                         int count, int fps, int kbps, std::string& error) {
  if (pictures.empty() || count <= 0) {
    error = "vp8 baseline: no pictures";
    return std::nullopt;
  }
  const int w = pictures.front().width(), h = pictures.front().height();
  vpx_codec_enc_cfg_t cfg{};
  if (vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &cfg, 0) != VPX_CODEC_OK) {
    error = "vpx_codec_enc_config_default failed";
    return std::nullopt;
  }
  // As media/codec/vp8_codec.cpp sets them.
  cfg.g_w = static_cast<unsigned>(w);
  cfg.g_h = static_cast<unsigned>(h);
  cfg.g_timebase.num = 1;
  cfg.g_timebase.den = fps;
  cfg.g_threads = 1;
  cfg.g_lag_in_frames = 0;
  cfg.g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
  cfg.g_pass = VPX_RC_ONE_PASS;
  cfg.rc_end_usage = VPX_CBR;
  cfg.rc_target_bitrate = static_cast<unsigned>(kbps);
  cfg.rc_min_quantizer = 2;
  cfg.rc_max_quantizer = 56;
  cfg.rc_undershoot_pct = 100;
  cfg.rc_overshoot_pct = 15;
  cfg.rc_buf_initial_sz = 500;
  cfg.rc_buf_optimal_sz = 600;
  cfg.rc_buf_sz = 1000;
  cfg.rc_dropframe_thresh = 0;
  cfg.rc_resize_allowed = 0;
  cfg.kf_mode = VPX_KF_AUTO;
  cfg.kf_min_dist = 0;
  cfg.kf_max_dist = 3000;
  cfg.ts_number_layers = 1;
  VpxCodec enc(new vpx_codec_ctx_t{});
  if (vpx_codec_enc_init(enc.get(), vpx_codec_vp8_cx(), &cfg, 0) != VPX_CODEC_OK) {
    delete enc.release();
    error = "vpx_codec_enc_init failed";
    return std::nullopt;
  }
  vpx_codec_control(enc.get(), VP8E_SET_CPUUSED, -6);
  vpx_codec_control(enc.get(), VP8E_SET_STATIC_THRESHOLD, 1);
  vpx_codec_control(enc.get(), VP8E_SET_NOISE_SENSITIVITY, 0);
  vpx_codec_control(enc.get(), VP8E_SET_TOKEN_PARTITIONS, VP8_ONE_TOKENPARTITION);
  vpx_codec_control(enc.get(), VP8E_SET_MAX_INTRA_BITRATE_PCT, 300u);
  vpx_codec_control(enc.get(), VP8E_SET_SCREEN_CONTENT_MODE, 0u);
  vpx_codec_dec_cfg_t dcfg{};
  dcfg.threads = 1;
  VpxCodec dec(new vpx_codec_ctx_t{});
  if (vpx_codec_dec_init(dec.get(), vpx_codec_vp8_dx(), &dcfg, 0) != VPX_CODEC_OK) {
    delete dec.release();
    error = "vpx_codec_dec_init failed";
    return std::nullopt;
  }

  double encodeS = 0, decodeS = 0;
  std::uint64_t bytes = 0;
  vpx_image_t img{};
  for (int i = 0; i < count; ++i) {
    const auto& f = pictures[static_cast<std::size_t>(i) % pictures.size()];
    vpx_img_wrap(&img, VPX_IMG_FMT_I420, static_cast<unsigned>(w), static_cast<unsigned>(h), 1,
                 const_cast<std::uint8_t*>(f.dataY()));
    img.planes[VPX_PLANE_Y] = const_cast<std::uint8_t*>(f.dataY());
    img.planes[VPX_PLANE_U] = const_cast<std::uint8_t*>(f.dataU());
    img.planes[VPX_PLANE_V] = const_cast<std::uint8_t*>(f.dataV());
    img.stride[VPX_PLANE_Y] = f.strideY();
    img.stride[VPX_PLANE_U] = f.strideU();
    img.stride[VPX_PLANE_V] = f.strideV();
    const double t0 = threadCpuSeconds();
    if (vpx_codec_encode(enc.get(), &img, i, 1, i == 0 ? VPX_EFLAG_FORCE_KF : 0, VPX_DL_REALTIME) !=
        VPX_CODEC_OK) {
      error = "vpx_codec_encode failed";
      return std::nullopt;
    }
    std::vector<std::vector<std::uint8_t>> out;
    vpx_codec_iter_t iter = nullptr;
    while (const vpx_codec_cx_pkt_t* pkt = vpx_codec_get_cx_data(enc.get(), &iter)) {
      if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
      const auto* p = static_cast<const std::uint8_t*>(pkt->data.frame.buf);
      out.emplace_back(p, p + pkt->data.frame.sz);
    }
    const double t1 = threadCpuSeconds();
    encodeS += t1 - t0;
    for (const auto& data : out) {
      bytes += data.size();
      const double t2 = threadCpuSeconds();
      if (vpx_codec_decode(dec.get(), data.data(), static_cast<unsigned>(data.size()), nullptr,
                           0) != VPX_CODEC_OK) {
        error = "vpx_codec_decode failed";
        return std::nullopt;
      }
      vpx_codec_iter_t diter = nullptr;
      while (vpx_codec_get_frame(dec.get(), &diter) != nullptr) {
      }
      decodeS += threadCpuSeconds() - t2;
    }
  }
  Vp8Baseline b;
  b.width = w;
  b.height = h;
  b.frames = count;
  b.encodeMsPerFrame = encodeS * 1000.0 / count;
  b.decodeMsPerFrame = decodeS * 1000.0 / count;
  b.kbps = static_cast<double>(bytes) * 8.0 / 1000.0 / (static_cast<double>(count) / fps);
  return b;
}

}  // namespace tern::bench
