#include "tern/signaling/hashes.hpp"

#include "xml_util.hpp"

namespace tern::signaling {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64Value(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

int hexValue(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::vector<std::uint8_t>> hexDecode(std::string_view text) {
  if (text.empty() || text.size() % 2 != 0) {
    return std::nullopt;
  }
  std::vector<std::uint8_t> out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const int hi = hexValue(text[i]);
    const int lo = hexValue(text[i + 1]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    out.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
  }
  return out;
}

bool looksHex(std::string_view text) noexcept {
  // A hex digest of a known size (md5 16, sha-1 20, sha-256 32, sha-512 64 bytes) that is all hex.
  const std::size_t n = text.size();
  if (n != 32 && n != 40 && n != 56 && n != 64 && n != 96 && n != 128) return false;
  for (char c : text) {
    if (hexValue(c) < 0) return false;
  }
  return true;
}

}  // namespace

std::string base64Encode(const std::uint8_t* data, std::size_t size) {
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < size; i += 3) {
    const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) | data[i + 2];
    out.push_back(kAlphabet[(v >> 18) & 0x3F]);
    out.push_back(kAlphabet[(v >> 12) & 0x3F]);
    out.push_back(kAlphabet[(v >> 6) & 0x3F]);
    out.push_back(kAlphabet[v & 0x3F]);
  }
  if (i + 1 == size) {
    const std::uint32_t v = std::uint32_t{data[i]} << 16;
    out.push_back(kAlphabet[(v >> 18) & 0x3F]);
    out.push_back(kAlphabet[(v >> 12) & 0x3F]);
    out += "==";
  } else if (i + 2 == size) {
    const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8);
    out.push_back(kAlphabet[(v >> 18) & 0x3F]);
    out.push_back(kAlphabet[(v >> 12) & 0x3F]);
    out.push_back(kAlphabet[(v >> 6) & 0x3F]);
    out.push_back('=');
  }
  return out;
}

std::string base64Encode(const std::vector<std::uint8_t>& data) { return base64Encode(data.data(), data.size()); }

std::optional<std::vector<std::uint8_t>> base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return std::nullopt;
  }
  std::vector<std::uint8_t> out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + static_cast<std::size_t>(k)];
      if (c == '=' && last && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad != 0) {
        return std::nullopt;  // data after padding
      }
      v[k] = base64Value(c);
      if (v[k] < 0) {
        return std::nullopt;
      }
    }
    const std::uint32_t w = (static_cast<std::uint32_t>(v[0]) << 18) | (static_cast<std::uint32_t>(v[1]) << 12) |
                            (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
    out.push_back(static_cast<std::uint8_t>((w >> 16) & 0xFF));
    if (pad < 2) out.push_back(static_cast<std::uint8_t>((w >> 8) & 0xFF));
    if (pad < 1) out.push_back(static_cast<std::uint8_t>(w & 0xFF));
    // Canonical form: unused bits must be zero.
    if ((pad == 1 && (v[2] & 0x3) != 0) || (pad == 2 && (v[1] & 0xF) != 0)) {
      return std::nullopt;
    }
  }
  return out;
}

bool sameHashAlgo(std::string_view a, std::string_view b) noexcept { return detail::equalsIgnoreCase(a, b); }

std::optional<std::vector<std::uint8_t>> Hash::decode() const {
  if (ns == HashNamespace::V1 && looksHex(value)) {
    return hexDecode(value);
  }
  return base64Decode(value);
}

Hash Hash::fromDigest(std::string algo, const std::vector<std::uint8_t>& digest) {
  return Hash{std::move(algo), base64Encode(digest), HashNamespace::V2};
}

bool operator==(const Hash& a, const Hash& b) noexcept {
  return a.algo == b.algo && a.value == b.value && a.ns == b.ns;
}

}  // namespace tern::signaling
