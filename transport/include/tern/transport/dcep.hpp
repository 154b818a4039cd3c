// WebRTC Data Channel Establishment Protocol (RFC 8832), sans-IO.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tern::transport::dcep {

// SCTP payload protocol identifiers (RFC 8831 section 8).
constexpr std::uint32_t kPpidControl = 50;
constexpr std::uint32_t kPpidString = 51;
constexpr std::uint32_t kPpidBinary = 53;
constexpr std::uint32_t kPpidStringEmpty = 56;
constexpr std::uint32_t kPpidBinaryEmpty = 57;

constexpr std::uint8_t kMessageAck = 0x02;
constexpr std::uint8_t kMessageOpen = 0x03;
constexpr std::uint8_t kChannelReliable = 0x00;

struct Open {
    std::uint8_t channelType = kChannelReliable;
    std::uint16_t priority = 256;
    std::uint32_t reliability = 0;
    std::string label;
    std::string protocol;
};

std::vector<std::uint8_t> encodeOpen(const Open& open);
std::vector<std::uint8_t> encodeAck();
/// Parses a DATA_CHANNEL_OPEN; nullopt when malformed (lengths, type).
std::optional<Open> parseOpen(const std::uint8_t* data, std::size_t len);
bool isAck(const std::uint8_t* data, std::size_t len);

}  // namespace tern::transport::dcep
