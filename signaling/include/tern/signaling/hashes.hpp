// XEP-0300 (Use of Cryptographic Hash Functions in XMPP): <hash algo='...'>base64</hash> and
// <hash-used algo='...'/>, plus the base64 codec (RFC 4648 section 4) they need.
//
// Peers that speak XEP-0234 ft:3/ft:4 use the older 'urn:xmpp:hashes:1' namespace, where some
// clients sent hex digests (see the XEP-0343 example); Hash::decode() accepts both encodings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::signaling {

/// Which XEP-0300 namespace a hash element used (replies reuse it).
enum class HashNamespace { V2, V1 };

/// One <hash/> element (XEP-0300 section 4).
struct Hash {
  std::string algo;   ///< IANA textual name, e.g. "sha-256", "sha-1" (compared case-insensitively)
  std::string value;  ///< character data as sent (whitespace-trimmed), base64 for urn:xmpp:hashes:2
  HashNamespace ns = HashNamespace::V2;

  /// The digest bytes: base64 (V2, or V1 when it decodes), else hex (V1 only).
  std::optional<std::vector<std::uint8_t>> decode() const;
  /// A V2 hash of `digest`.
  static Hash fromDigest(std::string algo, const std::vector<std::uint8_t>& digest);
};

bool operator==(const Hash& a, const Hash& b) noexcept;
inline bool operator!=(const Hash& a, const Hash& b) noexcept { return !(a == b); }

/// RFC 4648 base64 with padding.
std::string base64Encode(const std::uint8_t* data, std::size_t size);
std::string base64Encode(const std::vector<std::uint8_t>& data);
/// Strict RFC 4648 decode (padding required, no whitespace, no URL alphabet). nullopt if invalid.
std::optional<std::vector<std::uint8_t>> base64Decode(std::string_view text);

/// Case-insensitive algorithm-name comparison ("SHA-256" == "sha-256").
bool sameHashAlgo(std::string_view a, std::string_view b) noexcept;

}  // namespace tern::signaling
