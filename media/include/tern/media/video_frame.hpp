// Plain I420 video frames, and the value-or-error type of the codec headers (opus_codec.hpp,
// vp8_codec.hpp, audio_processing.hpp).
//
// I420 is the planar 4:2:0 layout libvpx (VPX_IMG_FMT_I420) and the public frame type use: a full
// resolution Y plane, then U and V planes of ceil(width/2) x ceil(height/2) samples, each plane
// with its own stride. VideoFrame owns its storage (one allocation for the three planes).
//
// Threading: plain values; no shared state. A frame may be moved between threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace tern::media {

/// Why a codec call failed.
enum class CodecErrorCode {
  InvalidArgument,  ///< the caller passed an unusable size, rate, channel count or buffer
  CorruptInput,     ///< the payload could not be decoded (truncated, corrupt, hostile)
  NeedKeyframe,     ///< the decoder lost its reference: a keyframe (RTCP PLI/FIR) is needed
  LibraryFailure,   ///< the codec library reported an unexpected failure
};

/// Stable lower-case name ("invalid-argument", "corrupt-input", ...).
const char* toString(CodecErrorCode code) noexcept;

struct CodecError {
  CodecErrorCode code = CodecErrorCode::LibraryFailure;
  std::string message;
};

/// Value-or-error of the codec layer. `ok()` tells which; `value()`/`error()` must match it.
template <class T>
class CodecResult {
public:
  CodecResult(T value) : v_(std::move(value)) {}           // NOLINT(google-explicit-constructor)
  CodecResult(CodecError error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const CodecError& error() const { return std::get<1>(v_); }

private:
  std::variant<T, CodecError> v_;
};

/// Success without a value, or an error.
class CodecStatus {
public:
  CodecStatus() = default;
  CodecStatus(CodecError error)
      : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  bool ok() const noexcept { return !error_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  const CodecError& error() const { return *error_; }

private:
  std::optional<CodecError> error_;
};

/// An I420 frame with owned storage. A default-constructed frame is empty (0x0).
class VideoFrame {
public:
  VideoFrame() = default;
  /// Allocates a width x height frame (strides: width and ceil(width/2)), planes zeroed.
  /// Non-positive or absurd sizes (over kMaxDimension) give an empty frame.
  VideoFrame(int width, int height);

  /// Largest width or height accepted anywhere in the codec layer.
  static constexpr int kMaxDimension = 8192;

  bool empty() const noexcept { return width_ == 0 || height_ == 0; }
  int width() const noexcept { return width_; }
  int height() const noexcept { return height_; }
  int chromaWidth() const noexcept { return (width_ + 1) / 2; }
  int chromaHeight() const noexcept { return (height_ + 1) / 2; }
  int strideY() const noexcept { return width_; }
  int strideU() const noexcept { return chromaWidth(); }
  int strideV() const noexcept { return chromaWidth(); }

  std::uint8_t* dataY() noexcept { return storage_.data(); }
  std::uint8_t* dataU() noexcept { return storage_.data() + sizeY(); }
  std::uint8_t* dataV() noexcept { return storage_.data() + sizeY() + sizeChroma(); }
  const std::uint8_t* dataY() const noexcept { return storage_.data(); }
  const std::uint8_t* dataU() const noexcept { return storage_.data() + sizeY(); }
  const std::uint8_t* dataV() const noexcept { return storage_.data() + sizeY() + sizeChroma(); }

  /// Bytes of the packed frame (Y, U, V without padding): width*height + 2*chroma plane size.
  std::size_t byteSize() const noexcept { return storage_.size(); }

  /// Copies one plane from strided source rows (e.g. a decoder's image). `plane` 0=Y, 1=U, 2=V.
  void copyPlaneFrom(int plane, const std::uint8_t* src, int src_stride) noexcept;

  /// Sets every sample of the three planes.
  void fill(std::uint8_t y, std::uint8_t u, std::uint8_t v) noexcept;

  /// Presentation time stamp in the caller's units (the codec layer carries it, never reads it).
  std::int64_t timestamp = 0;

private:
  std::size_t sizeY() const noexcept { return static_cast<std::size_t>(width_) * height_; }
  std::size_t sizeChroma() const noexcept {
    return static_cast<std::size_t>(chromaWidth()) * chromaHeight();
  }

  int width_ = 0;
  int height_ = 0;
  std::vector<std::uint8_t> storage_;
};

}  // namespace tern::media
