// Media files for the sample programs and the tests: WAV (RIFF/WAVE, PCM 16-bit, any channel
// count; Microsoft "Multimedia Programming Interface and Data Specifications 1.0", WAVE_FORMAT_PCM
// and WAVE_FORMAT_EXTENSIBLE with the PCM subformat) and Y4M (YUV4MPEG2 as written by
// ffmpeg/mjpegtools: 4:2:0 only, i.e. C420, C420jpeg, C420paldv, C420mpeg2, all read as I420).
//
// Readers report what the file holds (rate, channels, size, frame rate) and convert nothing:
// callers check for 48 kHz themselves. Every malformed or unsupported file is an error value
// (category InvalidArgument, or Io for a failing read/write); nothing throws. Writers patch the
// WAV sizes on close() and on destruction, so a file cut short by an early exit is still valid.
//
// Threading: each object is used by one thread at a time.
#pragma once

#include <tern/error.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tern::samples {

/// Result<Done> is success without a value.
struct Done {};

namespace detail {
struct FileCloser {
  void operator()(std::FILE* f) const noexcept {
    if (f != nullptr) std::fclose(f);
  }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;
}  // namespace detail

struct WavInfo {
  int sample_rate = 0;
  int channels = 0;
  std::uint64_t frames = 0;  ///< samples per channel in the data chunk
};

class WavReader {
public:
  static Result<WavReader> open(const std::string& path);

  const WavInfo& info() const noexcept { return info_; }

  /// Reads up to `max_frames` frames (samples per channel) of interleaved PCM into `out`
  /// (room for max_frames * channels samples). Returns the number of frames read; 0 at the end.
  Result<std::size_t> read(std::int16_t* out, std::size_t max_frames);
  /// Reads everything that remains.
  Result<std::vector<std::int16_t>> readAll();

private:
  WavReader() = default;
  detail::FilePtr file_;
  WavInfo info_;
  std::uint64_t remaining_frames_ = 0;
};

class WavWriter {
public:
  static Result<WavWriter> create(const std::string& path, int sample_rate, int channels);

  WavWriter(WavWriter&&) noexcept = default;
  WavWriter& operator=(WavWriter&& other) noexcept;
  ~WavWriter();

  /// Appends `frames` frames of interleaved PCM (frames * channels samples).
  Result<Done> write(const std::int16_t* pcm, std::size_t frames);
  /// Patches the RIFF and data sizes and closes the file. Idempotent.
  Result<Done> close();

  std::uint64_t framesWritten() const noexcept { return frames_; }

private:
  WavWriter() = default;
  Result<Done> patchSizes();
  detail::FilePtr file_;
  int channels_ = 0;
  std::uint64_t frames_ = 0;
};

struct Y4mInfo {
  int width = 0;
  int height = 0;
  int fps_num = 0;  ///< 0/0 when the header has no F parameter
  int fps_den = 0;
  std::string colorspace = "420jpeg";  ///< the C parameter (default 420jpeg)
};

/// One picture as packed I420: Y (width*height), then U and V (ceil(w/2)*ceil(h/2) each).
struct I420Picture {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> data;
};

class Y4mReader {
public:
  static Result<Y4mReader> open(const std::string& path);

  const Y4mInfo& info() const noexcept { return info_; }

  /// The next frame, or nullopt at a clean end of file. A truncated frame or a bad FRAME line
  /// is an error.
  Result<std::optional<I420Picture>> readFrame();

private:
  Y4mReader() = default;
  detail::FilePtr file_;
  Y4mInfo info_;
};

class Y4mWriter {
public:
  /// Writes "YUV4MPEG2 W.. H.. F num:den Ip A1:1 C420jpeg".
  static Result<Y4mWriter> create(const std::string& path, int width, int height, int fps_num,
                                  int fps_den);

  /// Appends one frame; its size must match the header.
  Result<Done> write(const I420Picture& picture);
  Result<Done> close();

private:
  Y4mWriter() = default;
  detail::FilePtr file_;
  int width_ = 0;
  int height_ = 0;
};

/// Size in bytes of a packed I420 picture (0 for non-positive sizes).
std::size_t i420Size(int width, int height) noexcept;

}  // namespace tern::samples
