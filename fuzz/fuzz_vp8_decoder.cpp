// Fuzzes the project's VP8 decoder wrapper (Vp8Decoder over libvpx, RFC 6386) with a sequence of
// complete frames, as the VideoFrameAssembler hands them over after a hostile peer's packets.
//
// Input: records of op (1 byte; bit 0: call notifyFrameLost() first), length (2 bytes), frame.
// The decoder accepts key frames up to 640x480 (the wrapper refuses larger ones before libvpx
// allocates; a small limit keeps the fuzzer fast).
//
// Invariants checked:
//   - a picture comes out only after a key frame was accepted, with that key frame's size
//     (RFC 6386 9.1 header), and never larger than the configured maximum;
//   - NeedKeyframe is returned exactly for delta frames (P bit 1) while waitingForKeyframe();
//     a key frame with a size over the limit, or with the P bit clear but no start code, is
//     CorruptInput without reaching libvpx;
//   - after any error the decoder waits for a key frame (except for a frame shorter than 3
//     bytes, which vp8_codec.cpp refuses without touching the chain); after a decoded key frame
//     it does not;
//   - the counters match the results (corrupt_frames counts CorruptInput and library errors,
//     waiting_for_keyframe counts NeedKeyframe, decoded_frames counts pictures).
//
// Threading: single-threaded (the engine decodes on its media worker).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "fuzz_media_support.hpp"
#include "tern/media/vp8_codec.hpp"

using namespace tern::media;

namespace {
constexpr int kMaxWidth = 640;
constexpr int kMaxHeight = 480;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Vp8DecoderConfig config;
  config.max_width = kMaxWidth;
  config.max_height = kMaxHeight;
  auto created = Vp8Decoder::create(config);
  TERN_FUZZ_CHECK(created.ok());
  Vp8Decoder decoder = std::move(created).value();
  TERN_FUZZ_CHECK(decoder.waitingForKeyframe());

  tern::fuzz::ByteReader r(data, size);
  std::optional<std::pair<int, int>> keySize;  // of the last key frame libvpx accepted
  std::uint64_t corrupt = 0;
  std::uint64_t waiting = 0;
  std::uint64_t pictures = 0;
  std::int64_t pts = 0;
  while (!r.empty()) {
    const std::uint8_t op = r.u8();
    if (op & 1) {
      decoder.notifyFrameLost();
      TERN_FUZZ_CHECK(decoder.waitingForKeyframe());
    }
    const std::vector<std::uint8_t> frame = r.bytes(r.u16());
    const bool wasWaiting = decoder.waitingForKeyframe();
    int w = 0;
    int h = 0;
    const bool key = isVp8Keyframe(frame.data(), frame.size(), &w, &h);
    const bool delta = frame.size() >= 3 && (frame[0] & 1) != 0;
    auto result = decoder.decode(frame.data(), frame.size(), ++pts);
    if (!result.ok()) {
      const CodecErrorCode code = result.error().code;
      if (code == CodecErrorCode::NeedKeyframe) {
        TERN_FUZZ_CHECK(delta && wasWaiting);
        ++waiting;
      } else {
        TERN_FUZZ_CHECK(code == CodecErrorCode::CorruptInput ||
                        code == CodecErrorCode::LibraryFailure);
        TERN_FUZZ_CHECK(!(delta && wasWaiting));
        ++corrupt;
      }
      TERN_FUZZ_CHECK(decoder.waitingForKeyframe());
    } else {
      TERN_FUZZ_CHECK(key || delta);
      TERN_FUZZ_CHECK(key || !wasWaiting);
      if (key) {
        TERN_FUZZ_CHECK(w > 0 && h > 0 && w <= kMaxWidth && h <= kMaxHeight);
        TERN_FUZZ_CHECK(!decoder.waitingForKeyframe());
        keySize = std::make_pair(w, h);
      }
      if (const auto& picture = result.value()) {
        ++pictures;
        TERN_FUZZ_CHECK(keySize.has_value());
        TERN_FUZZ_CHECK(picture->width() == keySize->first &&
                        picture->height() == keySize->second);
        TERN_FUZZ_CHECK(picture->timestamp == pts);
        TERN_FUZZ_CHECK(picture->byteSize() ==
                        static_cast<std::size_t>(picture->width()) * picture->height() +
                            2 * static_cast<std::size_t>(picture->chromaWidth()) *
                                picture->chromaHeight());
      }
    }
    const Vp8DecoderCounts& c = decoder.counts();
    TERN_FUZZ_CHECK(c.corrupt_frames == corrupt && c.waiting_for_keyframe == waiting &&
                    c.decoded_frames == pictures);
  }
  return 0;
}
