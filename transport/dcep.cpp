#include "tern/transport/dcep.hpp"

namespace tern::transport::dcep {

std::vector<std::uint8_t> encodeOpen(const Open& open) {
    std::vector<std::uint8_t> out;
    out.reserve(12 + open.label.size() + open.protocol.size());
    auto put16 = [&](std::uint16_t v) {
        out.push_back(static_cast<std::uint8_t>(v >> 8));
        out.push_back(static_cast<std::uint8_t>(v));
    };
    out.push_back(kMessageOpen);
    out.push_back(open.channelType);
    put16(open.priority);
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(open.reliability >> shift));
    put16(static_cast<std::uint16_t>(open.label.size()));
    put16(static_cast<std::uint16_t>(open.protocol.size()));
    out.insert(out.end(), open.label.begin(), open.label.end());
    out.insert(out.end(), open.protocol.begin(), open.protocol.end());
    return out;
}

std::vector<std::uint8_t> encodeAck() { return {kMessageAck}; }

std::optional<Open> parseOpen(const std::uint8_t* data, std::size_t len) {
    if (!data || len < 12 || data[0] != kMessageOpen) return std::nullopt;
    Open open;
    open.channelType = data[1];
    open.priority = static_cast<std::uint16_t>(data[2] << 8 | data[3]);
    open.reliability = static_cast<std::uint32_t>(data[4]) << 24 | static_cast<std::uint32_t>(data[5]) << 16 |
                       static_cast<std::uint32_t>(data[6]) << 8 | data[7];
    std::size_t labelLen = static_cast<std::size_t>(data[8] << 8 | data[9]);
    std::size_t protocolLen = static_cast<std::size_t>(data[10] << 8 | data[11]);
    if (12 + labelLen + protocolLen > len) return std::nullopt;
    open.label.assign(reinterpret_cast<const char*>(data + 12), labelLen);
    open.protocol.assign(reinterpret_cast<const char*>(data + 12 + labelLen), protocolLen);
    return open;
}

bool isAck(const std::uint8_t* data, std::size_t len) { return data && len >= 1 && data[0] == kMessageAck; }

}  // namespace tern::transport::dcep
