// XML namespaces used by the Jingle signaling layer (XEP-0166 and the XEPs that plug into it).
#pragma once

namespace tern::signaling::ns {

inline constexpr char kJingle[] = "urn:xmpp:jingle:1";                         // XEP-0166
inline constexpr char kJingleErrors[] = "urn:xmpp:jingle:errors:1";            // XEP-0166 section 10
inline constexpr char kStanzas[] = "urn:ietf:params:xml:ns:xmpp-stanzas";      // RFC 6120 8.3

inline constexpr char kFileTransfer5[] = "urn:xmpp:jingle:apps:file-transfer:5";  // XEP-0234 >= 0.18
inline constexpr char kFileTransfer4[] = "urn:xmpp:jingle:apps:file-transfer:4";  // XEP-0234 0.16-0.17
inline constexpr char kFileTransfer3[] = "urn:xmpp:jingle:apps:file-transfer:3";  // XEP-0234 0.14-0.15
inline constexpr char kFileTransferErrors[] = "urn:xmpp:jingle:apps:file-transfer:errors:0";

inline constexpr char kHashes2[] = "urn:xmpp:hashes:2";  // XEP-0300 >= 0.5 (base64 mandatory)
inline constexpr char kHashes1[] = "urn:xmpp:hashes:1";  // XEP-0300 0.3-0.4 (used by ft:3/ft:4 peers)

inline constexpr char kRtp[] = "urn:xmpp:jingle:apps:rtp:1";            // XEP-0167
inline constexpr char kRtpInfo[] = "urn:xmpp:jingle:apps:rtp:info:1";   // XEP-0167 section 7

inline constexpr char kIceUdp[] = "urn:xmpp:jingle:transports:ice-udp:1";                       // XEP-0176
inline constexpr char kDtls[] = "urn:xmpp:jingle:apps:dtls:0";                                  // XEP-0320
inline constexpr char kDtlsSctp[] = "urn:xmpp:jingle:transports:dtls-sctp:1";                   // XEP-0343
inline constexpr char kWebRtcDataChannel[] = "urn:xmpp:jingle:transports:webrtc-datachannel:1"; // Conversations
inline constexpr char kSocks5[] = "urn:xmpp:jingle:transports:s5b:1";                           // XEP-0260
inline constexpr char kIbb[] = "urn:xmpp:jingle:transports:ibb:1";                              // XEP-0261
inline constexpr char kRawUdp[] = "urn:xmpp:jingle:transports:raw-udp:1";                       // XEP-0177
inline constexpr char kIce0[] = "urn:xmpp:jingle:transports:ice:0";                             // XEP-0371

inline constexpr char kGrouping[] = "urn:xmpp:jingle:apps:grouping:0";  // XEP-0338
inline constexpr char kGroupingLegacy[] = "urn:ietf:rfc:5888";          // pre-XEP-0338 (Jitsi, old StanzaJS)

inline constexpr char kExtDisco[] = "urn:xmpp:extdisco:2";  // XEP-0215

}  // namespace tern::signaling::ns
