// I420 frame storage and codec error names. See tern/media/video_frame.hpp.
#include <tern/media/video_frame.hpp>

#include <algorithm>
#include <cstring>

namespace tern::media {

const char* toString(CodecErrorCode code) noexcept {
  switch (code) {
    case CodecErrorCode::InvalidArgument:
      return "invalid-argument";
    case CodecErrorCode::CorruptInput:
      return "corrupt-input";
    case CodecErrorCode::NeedKeyframe:
      return "need-keyframe";
    case CodecErrorCode::LibraryFailure:
      return "library-failure";
  }
  return "unknown";
}

VideoFrame::VideoFrame(int width, int height) {
  if (width <= 0 || height <= 0 || width > kMaxDimension || height > kMaxDimension) return;
  width_ = width;
  height_ = height;
  storage_.assign(sizeY() + 2 * sizeChroma(), 0);
}

void VideoFrame::copyPlaneFrom(int plane, const std::uint8_t* src, int src_stride) noexcept {
  if (empty() || src == nullptr || plane < 0 || plane > 2) return;
  const int w = plane == 0 ? width_ : chromaWidth();
  const int h = plane == 0 ? height_ : chromaHeight();
  if (src_stride < w) return;
  std::uint8_t* dst = plane == 0 ? dataY() : (plane == 1 ? dataU() : dataV());
  for (int row = 0; row < h; ++row) {
    std::memcpy(dst + static_cast<std::size_t>(row) * w,
                src + static_cast<std::size_t>(row) * src_stride, static_cast<std::size_t>(w));
  }
}

void VideoFrame::fill(std::uint8_t y, std::uint8_t u, std::uint8_t v) noexcept {
  if (empty()) return;
  std::fill(dataY(), dataY() + sizeY(), y);
  std::fill(dataU(), dataU() + sizeChroma(), u);
  std::fill(dataV(), dataV() + sizeChroma(), v);
}

}  // namespace tern::media
