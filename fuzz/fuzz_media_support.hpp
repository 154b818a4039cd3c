// Shared helpers of the media-layer fuzzers (fuzz_rtp, fuzz_rtcp, fuzz_vp8_payload, fuzz_opus,
// fuzz_vp8_decoder, fuzz_video_assembler, fuzz_audio_jitter): a bounds-checked reader that turns
// the fuzzer's bytes into operations and their arguments, and the writer that builds the same
// encoding for the seeds (fuzz/media_seeds.cpp), so that both sides share one definition.
//
// Threading: plain values; each fuzzer runs LLVMFuzzerTestOneInput on one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_support.hpp"  // TERN_FUZZ_CHECK

namespace tern::fuzz {

/// Reads integers and byte strings from the input. Past the end every read yields zeros (or
/// fewer bytes): a harness loops `while (!r.empty())`, so truncated operations are harmless.
class ByteReader {
 public:
  ByteReader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  bool empty() const noexcept { return pos_ >= size_; }
  std::size_t remaining() const noexcept { return size_ - pos_; }

  std::uint8_t u8() noexcept { return pos_ < size_ ? data_[pos_++] : 0; }
  std::uint16_t u16() noexcept {
    const std::uint16_t hi = u8();
    return static_cast<std::uint16_t>((hi << 8) | u8());
  }
  std::uint32_t u32() noexcept {
    const std::uint32_t hi = u16();
    return (hi << 16) | u16();
  }
  /// Up to `n` bytes (fewer at the end of the input).
  std::vector<std::uint8_t> bytes(std::size_t n) {
    if (n > remaining()) n = remaining();
    std::vector<std::uint8_t> out(data_ + pos_, data_ + pos_ + n);
    pos_ += n;
    return out;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

/// The inverse of ByteReader, for writing seeds.
class ByteWriter {
 public:
  ByteWriter& u8(std::uint32_t v) {
    out.push_back(static_cast<std::uint8_t>(v));
    return *this;
  }
  ByteWriter& u16(std::uint32_t v) { return u8(v >> 8).u8(v); }
  ByteWriter& u32(std::uint32_t v) { return u16(v >> 16).u16(v); }
  ByteWriter& bytes(const std::vector<std::uint8_t>& b) {
    out.insert(out.end(), b.begin(), b.end());
    return *this;
  }
  std::vector<std::uint8_t> out;
};

}  // namespace tern::fuzz
