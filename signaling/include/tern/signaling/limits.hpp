// Bounds applied to every peer-supplied Jingle stanza (XEP-0166 section 13.2, denial of service).
//
// Anything beyond these bounds is rejected with <bad-request/>: no real client comes close
// (StanzaJS and Dino offers use 1-2 contents and a handful of candidates).
#pragma once

#include <cstddef>

namespace tern::signaling::limits {

inline constexpr std::size_t kMaxAttributeBytes = 1024;  ///< any attribute value of a visited element
inline constexpr std::size_t kMaxTextBytes = 4096;       ///< character data of a visited element
inline constexpr std::size_t kMaxContents = 64;          ///< <content/> per <jingle/>
inline constexpr std::size_t kMaxCandidates = 64;        ///< <candidate/> per <transport/>
inline constexpr std::size_t kMaxFingerprints = 16;      ///< <fingerprint/> per <transport/>
inline constexpr std::size_t kMaxHashes = 16;            ///< <hash/> + <hash-used/> per <file/> or <range/>
inline constexpr std::size_t kMaxGroups = 16;            ///< <group/> per <jingle/>
inline constexpr std::size_t kMaxGroupContents = 64;     ///< <content/> per <group/>
inline constexpr std::size_t kMaxSessionInfoPayloads = 16;
inline constexpr std::size_t kMaxExternalServices = 64;  ///< XEP-0215 <service/> kept per result
/// Opaque subtrees kept verbatim (RTP descriptions, S5B/IBB transports) must fit in these.
inline constexpr std::size_t kMaxOpaqueElements = 4096;
inline constexpr std::size_t kMaxOpaqueDepth = 32;

}  // namespace tern::signaling::limits
