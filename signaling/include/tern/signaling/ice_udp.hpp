// The ICE-UDP transport and what rides inside it.
//
// Implements:
//   - XEP-0176 (Jingle ICE-UDP Transport Method) section 5.3 and schema (section 13): ufrag/pwd,
//     <candidate/>, <remote-candidate/> (section 5.7); plus <gathering-complete/>, the end-of-
//     candidates marker StanzaJS sends (RFC 8838 section 8.2 semantics).
//   - XEP-0320 (DTLS-SRTP in Jingle) section 3: <fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0'
//     hash setup>VALUE</fingerprint>, zero, one or several.
//   - XEP-0343 (WebRTC datachannels in Jingle) section 4.2: <sctpmap
//     xmlns='urn:xmpp:jingle:transports:dtls-sctp:1' number protocol streams/>, and the later
//     'sctp-port' / 'max-message-size' attributes on the transport itself.
//
// Liberal: missing optional candidate attributes (id, generation, network: StanzaJS omits them)
// are fine; candidates of an unknown 'type' are skipped. Strict: a missing required attribute or a
// number that does not parse is a <bad-request/>.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tern/signaling/errors.hpp"

namespace gloox {
class Tag;
}

namespace tern::signaling {

enum class CandidateType { Host, ServerReflexive, PeerReflexive, Relay };
/// "host", "srflx", "prflx", "relay".
const char* toString(CandidateType type) noexcept;

/// <candidate/> (XEP-0176 section 5.3, table 2).
struct IceCandidate {
  std::uint32_t component = 1;
  std::string foundation;
  std::uint32_t generation = 0;
  std::string id;                       ///< empty if the peer did not send one
  std::string ip;                       ///< IPv4/IPv6 literal or (mDNS) host name, unvalidated
  std::optional<std::uint32_t> network;
  std::uint16_t port = 0;
  std::uint32_t priority = 0;
  std::string protocol = "udp";         ///< "udp" or "tcp" (lower-cased)
  CandidateType type = CandidateType::Host;
  std::optional<std::string> rel_addr;
  std::optional<std::uint16_t> rel_port;
  std::optional<std::string> tcptype;   ///< "active" / "passive" / "so" (RFC 6544)
};

/// <remote-candidate component ip port/> (XEP-0176 section 5.7).
struct RemoteCandidate {
  std::uint32_t component = 1;
  std::string ip;
  std::uint16_t port = 0;
};

/// XEP-0320 'setup' (RFC 4145 / RFC 8842 a=setup).
enum class DtlsSetup { ActPass, Active, Passive, HoldConn };
const char* toString(DtlsSetup setup) noexcept;

/// <fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash setup>AB:CD:...</fingerprint>.
struct DtlsFingerprint {
  std::string hash;                 ///< "sha-256", ... (as sent)
  std::optional<DtlsSetup> setup;   ///< absent only from very old peers
  std::string value;                ///< colon-separated hex, whitespace-trimmed, as sent
};

/// <sctpmap number protocol streams/> (XEP-0343 section 4.2).
struct SctpMap {
  std::uint16_t number = 5000;  ///< the SCTP port ('number', or 'port' in the XEP's table)
  std::string protocol = "webrtc-datachannel";
  std::optional<std::uint32_t> streams;
};

/// <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'>.
struct IceUdpTransport {
  std::optional<std::string> ufrag;  ///< both optional: transport-info often carries neither
  std::optional<std::string> pwd;
  std::vector<IceCandidate> candidates;
  std::optional<RemoteCandidate> remote_candidate;
  bool gathering_complete = false;
  std::vector<DtlsFingerprint> fingerprints;
  std::optional<SctpMap> sctpmap;                  ///< XEP-0343 0.3 dialect (StanzaJS, browsers)
  std::optional<std::uint16_t> sctp_port;          ///< XEP-0343 later revision, on <transport/>
  std::optional<std::uint64_t> max_message_size;   ///< idem
};

/// Parses an ICE-UDP <transport/> element.
Result<IceUdpTransport> parseIceUdpTransport(const gloox::Tag& transport) noexcept;
/// Serializes with xmlns='urn:xmpp:jingle:transports:ice-udp:1'. Caller owns the Tag.
/// Children go out as: fingerprints, sctpmap, candidates, remote-candidate, gathering-complete.
gloox::Tag* serializeIceUdpTransport(const IceUdpTransport& transport);

bool operator==(const IceCandidate& a, const IceCandidate& b) noexcept;
bool operator==(const RemoteCandidate& a, const RemoteCandidate& b) noexcept;
bool operator==(const DtlsFingerprint& a, const DtlsFingerprint& b) noexcept;
bool operator==(const SctpMap& a, const SctpMap& b) noexcept;
bool operator==(const IceUdpTransport& a, const IceUdpTransport& b) noexcept;

}  // namespace tern::signaling
