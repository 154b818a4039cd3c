// VP8 RTP payload format (RFC 7741 section 4): payload descriptor (4.2), payload header and
// key frame detection (4.3), packetization of a frame without regard to partition boundaries
// (4.4: S=1, PID=0 on the first packet only, marker on the last), and the VP8 key frame header
// (RFC 6386 section 9.1: start code, 14-bit width and height) for the frame size.
//
// Threading: value types and free functions only. The descriptor parser never throws and never
// reads past the buffer.
#pragma once

#include <tern/media/rtp_packet.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace tern::media {

/// RTP clock rate of VP8 (RFC 7741 section 4.1).
inline constexpr std::uint32_t kVp8RtpClockRate = 90000;

/// The VP8 payload descriptor (RFC 7741 section 4.2).
struct Vp8Descriptor {
  bool nonReference = false;         ///< N
  bool startOfPartition = false;     ///< S
  std::uint8_t partitionId = 0;      ///< PID, 0..7
  std::optional<std::uint16_t> pictureId;  ///< 7 or 15 bits
  bool pictureId15 = false;          ///< M: the PictureID used 15 bits
  std::optional<std::uint8_t> tl0PicIdx;
  std::optional<std::uint8_t> temporalId;  ///< TID (T bit), 0..3
  bool layerSync = false;            ///< Y (meaningful with T or K)
  std::optional<std::uint8_t> keyIdx;      ///< KEYIDX (K bit), 0..31
  std::size_t size = 0;              ///< descriptor length in bytes (parsing only)

  /// True when this packet starts a frame (S=1 and PID=0).
  bool startsFrame() const noexcept { return startOfPartition && partitionId == 0; }
};

/// Parses the descriptor at the start of an RTP payload. Error: Truncated when the payload is
/// empty or ends inside an announced field. Nothing after the descriptor is allowed.
Expected<Vp8Descriptor> parseVp8Descriptor(const std::uint8_t* payload, std::size_t size) noexcept;

/// Appends the encoding of `d` (its `size` field is ignored). L without T is encoded with T=1
/// and TID 0 (RFC 7741 4.2: L requires T). Error: InvalidArgument for a PID > 7, a 7-bit
/// PictureID > 127, a 15-bit one > 32767, TID > 3 or KEYIDX > 31.
Expected<bool> appendVp8Descriptor(std::vector<std::uint8_t>& out, const Vp8Descriptor& d);

/// Information from the VP8 payload header (RFC 7741 4.3) of a frame's first packet.
struct Vp8FrameInfo {
  bool keyframe = false;        ///< P bit == 0
  std::uint16_t width = 0;      ///< key frames only (14 bits)
  std::uint16_t height = 0;     ///< key frames only (14 bits)
};

/// Reads the payload header at the start of an encoded VP8 frame (the bytes after the
/// descriptor of the packet with S=1, PID=0). Key frames need 10 bytes and the start code
/// 9d 01 2a; anything shorter or mismatching is Truncated / BadLength.
Expected<Vp8FrameInfo> parseVp8PayloadHeader(const std::uint8_t* frame, std::size_t size) noexcept;

/// Splits one encoded frame into RTP payloads of at most `maxPayloadSize` bytes, each a
/// descriptor followed by a slice of the frame.
class Vp8Packetizer {
 public:
  struct Config {
    std::size_t maxPayloadSize = 1200;  ///< descriptor included
    bool pictureId = true;              ///< send a 15-bit PictureID (M=1)
    bool temporalLayers = false;        ///< send TL0PICIDX and TID/Y
  };
  Vp8Packetizer() : Vp8Packetizer(Config{}) {}
  /// `initialPictureId` lets tests and restarts choose the first PictureID (masked to 15 bits).
  explicit Vp8Packetizer(Config config, std::uint16_t initialPictureId = 0);

  struct Packet {
    std::vector<std::uint8_t> payload;
    bool marker = false;  ///< set on the last packet of the frame
  };

  /// Packetizes a frame. `temporalId`/`layerSync` are used with temporalLayers; TL0PICIDX is
  /// incremented on each frame with TID 0. An empty frame gives one packet with an empty body.
  /// Error: InvalidArgument when maxPayloadSize leaves no room for one byte after the descriptor.
  Expected<std::vector<Packet>> packetize(const std::uint8_t* frame, std::size_t size,
                                          std::uint8_t temporalId = 0, bool layerSync = false);

  std::uint16_t nextPictureId() const noexcept { return pictureId_; }

 private:
  Config config_;
  std::uint16_t pictureId_;
  std::uint8_t tl0PicIdx_ = 0;
};

/// Result of depacketizing one RTP payload.
struct Vp8PayloadView {
  Vp8Descriptor descriptor;
  const std::uint8_t* data = nullptr;  ///< the VP8 bytes after the descriptor
  std::size_t size = 0;
};

/// Splits an RTP payload into descriptor and VP8 data.
Expected<Vp8PayloadView> depacketizeVp8(const std::uint8_t* payload, std::size_t size) noexcept;

}  // namespace tern::media
