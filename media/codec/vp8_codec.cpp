// VP8 encoder/decoder over libvpx. See tern/media/vp8_codec.hpp.
#include <tern/media/vp8_codec.hpp>

#include <vpx/vp8cx.h>
#include <vpx/vp8dx.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vpx_encoder.h>

#include <string>
#include <utility>

namespace tern::media {
namespace {

// vpx_codec_ctx_t is a plain struct that must be destroyed only once initialised: own it through a
// unique_ptr whose deleter calls vpx_codec_destroy().
struct CodecDeleter {
  void operator()(vpx_codec_ctx_t* ctx) const noexcept {
    vpx_codec_destroy(ctx);
    delete ctx;
  }
};
using CodecPtr = std::unique_ptr<vpx_codec_ctx_t, CodecDeleter>;

CodecError invalid(std::string message) {
  return CodecError{CodecErrorCode::InvalidArgument, std::move(message)};
}

CodecError vpxError(const char* what, vpx_codec_ctx_t* ctx, vpx_codec_err_t err) {
  std::string msg = std::string(what) + ": " + vpx_codec_err_to_string(err);
  if (ctx != nullptr) {
    if (const char* detail = vpx_codec_error_detail(ctx)) msg += std::string(" (") + detail + ")";
  }
  const CodecErrorCode code = (err == VPX_CODEC_CORRUPT_FRAME || err == VPX_CODEC_UNSUP_BITSTREAM ||
                               err == VPX_CODEC_INVALID_PARAM)
                                  ? CodecErrorCode::CorruptInput
                                  : CodecErrorCode::LibraryFailure;
  return CodecError{code, std::move(msg)};
}

bool validSize(int w, int h) {
  return w > 0 && h > 0 && w <= VideoFrame::kMaxDimension && h <= VideoFrame::kMaxDimension;
}

}  // namespace

bool isVp8Keyframe(const std::uint8_t* data, std::size_t size, int* width, int* height) noexcept {
  // RFC 6386 9.1: 3-byte frame tag (bit 0 = !key_frame), then for keyframes the start code
  // 0x9d 0x01 0x2a and two 16-bit little-endian fields (14 bits size, 2 bits scale).
  if (data == nullptr || size < 10) return false;
  if ((data[0] & 0x01) != 0) return false;
  if (data[3] != 0x9d || data[4] != 0x01 || data[5] != 0x2a) return false;
  if (width != nullptr) *width = (data[6] | (data[7] << 8)) & 0x3fff;
  if (height != nullptr) *height = (data[8] | (data[9] << 8)) & 0x3fff;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Encoder

struct Vp8Encoder::Impl {
  Vp8EncoderConfig config;
  vpx_codec_enc_cfg_t cfg{};
  CodecPtr codec;
  vpx_image_t image{};  // wraps the caller's planes per call (no copy)

  CodecStatus init() {
    codec.reset();
    vpx_codec_err_t err = vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &cfg, 0);
    if (err != VPX_CODEC_OK) return vpxError("vpx_codec_enc_config_default", nullptr, err);
    cfg.g_w = static_cast<unsigned>(config.width);
    cfg.g_h = static_cast<unsigned>(config.height);
    cfg.g_timebase.num = 1;
    cfg.g_timebase.den = config.fps;
    cfg.g_threads = 1;
    cfg.g_lag_in_frames = 0;
    cfg.g_error_resilient = config.error_resilient ? VPX_ERROR_RESILIENT_DEFAULT : 0;
    cfg.g_pass = VPX_RC_ONE_PASS;
    cfg.rc_end_usage = VPX_CBR;
    cfg.rc_target_bitrate = static_cast<unsigned>(config.bitrate_kbps);
    cfg.rc_min_quantizer = static_cast<unsigned>(config.min_quantizer);
    cfg.rc_max_quantizer = static_cast<unsigned>(config.max_quantizer);
    cfg.rc_undershoot_pct = 100;
    cfg.rc_overshoot_pct = 15;
    cfg.rc_buf_initial_sz = 500;
    cfg.rc_buf_optimal_sz = 600;
    cfg.rc_buf_sz = 1000;
    cfg.rc_dropframe_thresh = 0;  // the engine decides about dropping, not the encoder
    cfg.rc_resize_allowed = 0;
    cfg.kf_mode = VPX_KF_AUTO;
    cfg.kf_min_dist = 0;
    cfg.kf_max_dist = static_cast<unsigned>(config.max_keyframe_interval);
    cfg.ts_number_layers = 1;

    CodecPtr ctx(new vpx_codec_ctx_t{});
    err = vpx_codec_enc_init(ctx.get(), vpx_codec_vp8_cx(), &cfg, 0);
    if (err != VPX_CODEC_OK) {
      // Not initialised: must not be destroyed by vpx_codec_destroy (it would fail harmlessly,
      // but keep the contract clear).
      delete ctx.release();
      return vpxError("vpx_codec_enc_init", nullptr, err);
    }
    vpx_codec_control(ctx.get(), VP8E_SET_CPUUSED, config.cpu_used);
    vpx_codec_control(ctx.get(), VP8E_SET_STATIC_THRESHOLD, 1);
    vpx_codec_control(ctx.get(), VP8E_SET_NOISE_SENSITIVITY, 0);
    vpx_codec_control(ctx.get(), VP8E_SET_TOKEN_PARTITIONS, VP8_ONE_TOKENPARTITION);
    // Keyframes cost many packets at once: cap them to ~3x an average frame (as WebRTC does).
    vpx_codec_control(ctx.get(), VP8E_SET_MAX_INTRA_BITRATE_PCT, 300u);
    vpx_codec_control(ctx.get(), VP8E_SET_SCREEN_CONTENT_MODE, 0u);
    codec = std::move(ctx);
    return {};
  }
};

CodecResult<Vp8Encoder> Vp8Encoder::create(const Vp8EncoderConfig& config) {
  if (!validSize(config.width, config.height)) return invalid("vp8: invalid frame size");
  if (config.fps <= 0 || config.fps > 240) return invalid("vp8: fps out of 1..240");
  if (config.bitrate_kbps <= 0 || config.bitrate_kbps > 100000)
    return invalid("vp8: bitrate out of range");
  if (config.max_keyframe_interval <= 0) return invalid("vp8: keyframe interval must be positive");
  if (config.cpu_used < -16 || config.cpu_used > 16) return invalid("vp8: cpu_used out of -16..16");
  if (config.min_quantizer < 0 || config.max_quantizer > 63 ||
      config.min_quantizer > config.max_quantizer)
    return invalid("vp8: quantizer range invalid");
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  if (auto s = impl->init(); !s) return s.error();
  return Vp8Encoder(std::move(impl));
}

Vp8Encoder::Vp8Encoder(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Vp8Encoder::Vp8Encoder(Vp8Encoder&&) noexcept = default;
Vp8Encoder& Vp8Encoder::operator=(Vp8Encoder&&) noexcept = default;
Vp8Encoder::~Vp8Encoder() = default;

CodecResult<std::vector<EncodedVideoFrame>> Vp8Encoder::encode(const VideoFrame& frame,
                                                               bool force_keyframe,
                                                               std::int64_t pts) {
  if (!impl_) return invalid("vp8: moved-from encoder");
  if (frame.empty()) return invalid("vp8: empty frame");
  if (frame.width() != impl_->config.width || frame.height() != impl_->config.height) {
    impl_->config.width = frame.width();
    impl_->config.height = frame.height();
    if (auto s = impl_->init(); !s) return s.error();
    force_keyframe = true;
  }
  vpx_image_t& img = impl_->image;
  // vpx_img_wrap needs a contiguous buffer with its own layout; describe the planes directly.
  vpx_img_wrap(&img, VPX_IMG_FMT_I420, static_cast<unsigned>(frame.width()),
               static_cast<unsigned>(frame.height()), 1,
               const_cast<std::uint8_t*>(frame.dataY()));  // libvpx only reads the planes
  img.planes[VPX_PLANE_Y] = const_cast<std::uint8_t*>(frame.dataY());
  img.planes[VPX_PLANE_U] = const_cast<std::uint8_t*>(frame.dataU());
  img.planes[VPX_PLANE_V] = const_cast<std::uint8_t*>(frame.dataV());
  img.stride[VPX_PLANE_Y] = frame.strideY();
  img.stride[VPX_PLANE_U] = frame.strideU();
  img.stride[VPX_PLANE_V] = frame.strideV();

  const vpx_enc_frame_flags_t flags = force_keyframe ? VPX_EFLAG_FORCE_KF : 0;
  const vpx_codec_err_t err =
      vpx_codec_encode(impl_->codec.get(), &img, pts, 1, flags, VPX_DL_REALTIME);
  if (err != VPX_CODEC_OK) return vpxError("vpx_codec_encode", impl_->codec.get(), err);

  std::vector<EncodedVideoFrame> out;
  vpx_codec_iter_t iter = nullptr;
  while (const vpx_codec_cx_pkt_t* pkt = vpx_codec_get_cx_data(impl_->codec.get(), &iter)) {
    if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
    EncodedVideoFrame f;
    const auto* bytes = static_cast<const std::uint8_t*>(pkt->data.frame.buf);
    f.data.assign(bytes, bytes + pkt->data.frame.sz);
    f.keyframe = (pkt->data.frame.flags & VPX_FRAME_IS_KEY) != 0;
    f.pts = pkt->data.frame.pts;
    out.push_back(std::move(f));
  }
  return out;
}

CodecStatus Vp8Encoder::setBitrate(int bitrate_kbps) {
  if (!impl_) return invalid("vp8: moved-from encoder");
  if (bitrate_kbps <= 0 || bitrate_kbps > 100000) return invalid("vp8: bitrate out of range");
  impl_->cfg.rc_target_bitrate = static_cast<unsigned>(bitrate_kbps);
  const vpx_codec_err_t err = vpx_codec_enc_config_set(impl_->codec.get(), &impl_->cfg);
  if (err != VPX_CODEC_OK) return vpxError("vpx_codec_enc_config_set", impl_->codec.get(), err);
  impl_->config.bitrate_kbps = bitrate_kbps;
  return {};
}

const Vp8EncoderConfig& Vp8Encoder::config() const noexcept { return impl_->config; }

// ---------------------------------------------------------------------------------------------
// Decoder

struct Vp8Decoder::Impl {
  Vp8DecoderConfig config;
  CodecPtr codec;
  bool waiting_for_keyframe = true;
  Vp8DecoderCounts counts;
};

CodecResult<Vp8Decoder> Vp8Decoder::create(const Vp8DecoderConfig& config) {
  if (!validSize(config.max_width, config.max_height)) return invalid("vp8: invalid max size");
  vpx_codec_dec_cfg_t cfg{};
  cfg.threads = 1;
  CodecPtr ctx(new vpx_codec_ctx_t{});
  const vpx_codec_err_t err = vpx_codec_dec_init(ctx.get(), vpx_codec_vp8_dx(), &cfg, 0);
  if (err != VPX_CODEC_OK) {
    delete ctx.release();
    return vpxError("vpx_codec_dec_init", nullptr, err);
  }
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->codec = std::move(ctx);
  return Vp8Decoder(std::move(impl));
}

Vp8Decoder::Vp8Decoder(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Vp8Decoder::Vp8Decoder(Vp8Decoder&&) noexcept = default;
Vp8Decoder& Vp8Decoder::operator=(Vp8Decoder&&) noexcept = default;
Vp8Decoder::~Vp8Decoder() = default;

CodecResult<std::optional<VideoFrame>> Vp8Decoder::decode(const std::uint8_t* data,
                                                          std::size_t size, std::int64_t pts) {
  if (!impl_) return invalid("vp8: moved-from decoder");
  Impl& d = *impl_;
  // The shortest valid frame is a 3-byte tag plus some data; keyframes carry 7 more bytes.
  if (data == nullptr || size < 3 || size > (1u << 30)) {
    ++d.counts.corrupt_frames;
    d.waiting_for_keyframe = true;  // like every corrupt frame: the reference chain is broken
    return CodecError{CodecErrorCode::CorruptInput, "vp8: frame too short"};
  }
  int w = 0;
  int h = 0;
  const bool key = isVp8Keyframe(data, size, &w, &h);
  if (key) {
    if (w <= 0 || h <= 0 || w > d.config.max_width || h > d.config.max_height) {
      ++d.counts.corrupt_frames;
      d.waiting_for_keyframe = true;
      return CodecError{CodecErrorCode::CorruptInput, "vp8: keyframe size " + std::to_string(w) +
                                                          "x" + std::to_string(h) + " refused"};
    }
  } else if ((data[0] & 0x01) == 0) {
    // P bit says keyframe but no start code: not VP8.
    ++d.counts.corrupt_frames;
    d.waiting_for_keyframe = true;
    return CodecError{CodecErrorCode::CorruptInput, "vp8: keyframe without start code"};
  } else if (d.waiting_for_keyframe) {
    ++d.counts.waiting_for_keyframe;
    return CodecError{CodecErrorCode::NeedKeyframe, "vp8: waiting for a keyframe"};
  }
  // RFC 6386 9.1: first_part_size (19 bits) must fit in the frame.
  const std::size_t first_part =
      (static_cast<std::size_t>(data[0]) | (static_cast<std::size_t>(data[1]) << 8) |
       (static_cast<std::size_t>(data[2]) << 16)) >>
      5;
  if (first_part + (key ? 10u : 3u) > size) {
    ++d.counts.corrupt_frames;
    d.waiting_for_keyframe = true;
    return CodecError{CodecErrorCode::CorruptInput, "vp8: first partition exceeds the frame"};
  }

  vpx_codec_err_t err =
      vpx_codec_decode(d.codec.get(), data, static_cast<unsigned int>(size), nullptr, 0);
  int corrupted = 0;
  if (err == VPX_CODEC_OK) {
    if (vpx_codec_control(d.codec.get(), VP8D_GET_FRAME_CORRUPTED, &corrupted) != VPX_CODEC_OK)
      corrupted = 0;
  }
  if (err != VPX_CODEC_OK || corrupted != 0) {
    ++d.counts.corrupt_frames;
    d.waiting_for_keyframe = true;
    // Drain whatever the decoder holds so the next call starts clean.
    vpx_codec_iter_t iter = nullptr;
    while (vpx_codec_get_frame(d.codec.get(), &iter) != nullptr) {
    }
    if (err != VPX_CODEC_OK) return vpxError("vpx_codec_decode", d.codec.get(), err);
    return CodecError{CodecErrorCode::CorruptInput, "vp8: frame decoded corrupt"};
  }
  if (key) d.waiting_for_keyframe = false;

  std::optional<VideoFrame> picture;
  vpx_codec_iter_t iter = nullptr;
  while (const vpx_image_t* img = vpx_codec_get_frame(d.codec.get(), &iter)) {
    if (img->fmt != VPX_IMG_FMT_I420 ||
        !validSize(static_cast<int>(img->d_w), static_cast<int>(img->d_h)))
      continue;
    VideoFrame f(static_cast<int>(img->d_w), static_cast<int>(img->d_h));
    f.copyPlaneFrom(0, img->planes[VPX_PLANE_Y], img->stride[VPX_PLANE_Y]);
    f.copyPlaneFrom(1, img->planes[VPX_PLANE_U], img->stride[VPX_PLANE_U]);
    f.copyPlaneFrom(2, img->planes[VPX_PLANE_V], img->stride[VPX_PLANE_V]);
    f.timestamp = pts;
    picture = std::move(f);
  }
  if (picture) ++d.counts.decoded_frames;
  return picture;
}

void Vp8Decoder::notifyFrameLost() noexcept {
  if (impl_) impl_->waiting_for_keyframe = true;
}
bool Vp8Decoder::waitingForKeyframe() const noexcept { return impl_->waiting_for_keyframe; }
const Vp8DecoderCounts& Vp8Decoder::counts() const noexcept { return impl_->counts; }

}  // namespace tern::media
