// RTP packets: parse a packet into a non-owning view and build one from a header and a payload.
// Implements RFC 3550 section 5.1 (fixed header, CSRCs, padding, header extension), RFC 8285
// (one-byte and two-byte header extension elements), RFC 3550 appendix A.1 style sequence-number
// arithmetic, and the RFC 5761 section 4 demultiplexing rule for RTP/RTCP on one port.
//
// Threading: free functions and value types only; no shared state. Safe from any thread.
// Parsers never throw and never read outside [data, data + size): they return an Expected.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <variant>
#include <vector>

namespace tern::media {

/// Why a parse or a build failed.
enum class MediaError {
  Truncated,        ///< the input ends before a field the headers announce
  BadVersion,       ///< RTP/RTCP version is not 2
  BadPadding,       ///< padding count is zero or larger than the packet
  BadLength,        ///< a length field is inconsistent with the data
  BadExtension,     ///< malformed RFC 8285 header extension block
  InvalidArgument,  ///< a builder was given values that cannot be encoded
};

/// Stable lower-case name of an error ("truncated", "bad-version", ...).
const char* toString(MediaError error) noexcept;

/// Value-or-error used by every parser and builder of the media layer.
template <class T>
class Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}       // NOLINT(google-explicit-constructor)
  Expected(MediaError error) : v_(error) {}         // NOLINT(google-explicit-constructor)
  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& operator*() const& { return value(); }
  const T* operator->() const { return &value(); }
  MediaError error() const { return std::get<1>(v_); }

 private:
  std::variant<T, MediaError> v_;
};

/// One RFC 8285 header extension element inside a parsed packet (points into the packet).
struct RtpExtensionView {
  std::uint8_t id = 0;
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
};

/// A parsed RTP packet. All pointers point into the buffer given to parseRtp(), which must
/// outlive the view.
struct RtpPacketView {
  bool marker = false;
  std::uint8_t payloadType = 0;
  std::uint16_t sequenceNumber = 0;
  std::uint32_t timestamp = 0;
  std::uint32_t ssrc = 0;
  std::uint8_t csrcCount = 0;
  std::uint32_t csrcs[15] = {};
  bool hasExtension = false;
  std::uint16_t extensionProfile = 0;            ///< 0xBEDE one-byte, 0x100X two-byte (RFC 8285)
  const std::uint8_t* extensionData = nullptr;   ///< extension body, after the 4-byte header
  std::size_t extensionSize = 0;                 ///< in bytes (a multiple of 4)
  std::size_t payloadOffset = 0;
  const std::uint8_t* payload = nullptr;
  std::size_t payloadSize = 0;
  std::uint8_t paddingSize = 0;                  ///< including the count octet; 0 if none
  const std::uint8_t* data = nullptr;            ///< the whole packet
  std::size_t size = 0;

  /// RFC 8285 elements of a one-byte (0xBEDE) or two-byte (0x100X) extension block. Padding
  /// octets are skipped; a one-byte ID of 15 stops processing (section 4.2), and so does a
  /// one-byte ID of 0 with a nonzero length (not a padding octet). An extension with
  /// another profile yields an empty list. Errors: BadExtension if an element overruns the block.
  Expected<std::vector<RtpExtensionView>> extensions() const;
  /// The element with this ID, or nullptr-data view (size 0, data nullptr) if absent/malformed.
  RtpExtensionView findExtension(std::uint8_t id) const;
};

/// Parses an RTP packet (RFC 3550 section 5.1). Rejects: fewer than 12 bytes, version != 2,
/// CSRC list, extension or padding beyond the end, padding count 0 or overlapping the header.
Expected<RtpPacketView> parseRtp(const std::uint8_t* data, std::size_t size) noexcept;

/// One header extension element to send.
struct RtpExtension {
  std::uint8_t id = 0;                 ///< 1..14 for the one-byte form, 1..255 for two-byte
  std::vector<std::uint8_t> data;      ///< 1..16 bytes for one-byte, 0..255 for two-byte
};

/// Header fields of a packet to build.
struct RtpHeader {
  bool marker = false;
  std::uint8_t payloadType = 0;        ///< 0..127
  std::uint16_t sequenceNumber = 0;
  std::uint32_t timestamp = 0;
  std::uint32_t ssrc = 0;
  std::vector<std::uint32_t> csrcs;    ///< at most 15
  std::vector<RtpExtension> extensions;
};

/// Builds header + extensions + payload (no padding). Extensions use the one-byte form
/// (RFC 8285 section 4.2) when every element fits it, else the two-byte form (section 4.3).
/// Errors: InvalidArgument (payload type > 127, > 15 CSRCs, ID 0 or 15 in one-byte form,
/// element longer than 255 bytes, block longer than 65535 words).
Expected<std::vector<std::uint8_t>> buildRtp(const RtpHeader& header, const std::uint8_t* payload,
                                              std::size_t payloadSize);

// ---- Sequence numbers (RFC 3550 appendix A.1) ----

/// Signed distance a - b in the 16-bit sequence space, in [-32768, 32767].
constexpr int seqDiff(std::uint16_t a, std::uint16_t b) noexcept {
  return static_cast<std::int16_t>(static_cast<std::uint16_t>(a - b));
}
/// True if a comes after b (wraparound aware; exactly half apart counts as newer when a > b).
constexpr bool seqNewer(std::uint16_t a, std::uint16_t b) noexcept {
  const std::uint16_t d = static_cast<std::uint16_t>(a - b);
  return d != 0 && (d < 0x8000 || (d == 0x8000 && a > b));
}

/// Extends 16-bit sequence numbers to 64 bits, choosing the value closest to the last one
/// returned (so reordering by up to 32767 packets either way is handled).
class SeqUnwrapper {
 public:
  std::int64_t unwrap(std::uint16_t seq) noexcept;
  /// The value unwrap(seq) would return, without updating the state.
  std::int64_t peek(std::uint16_t seq) const noexcept;
  void reset() noexcept { has_ = false; }

 private:
  bool has_ = false;
  std::int64_t last_ = 0;
};

/// Same for 32-bit RTP timestamps.
class TimestampUnwrapper {
 public:
  std::int64_t unwrap(std::uint32_t ts) noexcept;
  std::int64_t peek(std::uint32_t ts) const noexcept;
  void reset() noexcept { has_ = false; }

 private:
  bool has_ = false;
  std::int64_t last_ = 0;
};

/// RFC 5761 section 4: on a muxed port, a packet whose second octet is 192..223 (RTP payload
/// type 64..95 with the marker set, i.e. RTCP packet types SR, RR, SDES, BYE, APP, RTPFB, PSFB,
/// XR...) is RTCP. Needs at least 2 bytes; shorter input is reported as not RTCP.
bool isRtcp(const std::uint8_t* data, std::size_t size) noexcept;

/// Big-endian load/store helpers shared by the media parsers (no bounds check: callers check).
inline std::uint16_t readU16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
inline std::uint32_t readU24(const std::uint8_t* p) noexcept {
  return (std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8) | p[2];
}
inline std::uint32_t readU32(const std::uint8_t* p) noexcept {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}
inline void appendU16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}
inline void appendU24(std::vector<std::uint8_t>& out, std::uint32_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 16));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}
inline void appendU32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  appendU16(out, static_cast<std::uint16_t>(v >> 16));
  appendU16(out, static_cast<std::uint16_t>(v));
}

}  // namespace tern::media
