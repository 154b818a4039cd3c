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
inline constexpr char kRtpErrors[] = "urn:xmpp:jingle:apps:rtp:errors:1";  // XEP-0167 section 16.2
inline constexpr char kRtpAudio[] = "urn:xmpp:jingle:apps:rtp:audio";  // XEP-0167 11, disco
inline constexpr char kRtpVideo[] = "urn:xmpp:jingle:apps:rtp:video";  // XEP-0167 11, disco
inline constexpr char kRtcpFb[] = "urn:xmpp:jingle:apps:rtp:rtcp-fb:0";       // XEP-0293
inline constexpr char kRtpHdrExt[] = "urn:xmpp:jingle:apps:rtp:rtp-hdrext:0"; // XEP-0294
inline constexpr char kSsma[] = "urn:xmpp:jingle:apps:rtp:ssma:0";            // XEP-0339
inline constexpr char kRtpMsid[] = "urn:xmpp:jingle:apps:rtp:msid:0";         // a=msid (StanzaJS)

inline constexpr char kJingleMessage[] = "urn:xmpp:jingle-message:0";  // XEP-0353
inline constexpr char kHints[] = "urn:xmpp:hints";                     // XEP-0334 (<store/>)
inline constexpr char kCarbons[] = "urn:xmpp:carbons:2";               // XEP-0280
inline constexpr char kForward[] = "urn:xmpp:forward:0";               // XEP-0297
/// Conversations' <device id/> in <proceed/> (OMEMO-verified DTLS-SRTP).
inline constexpr char kOmemoDtlsVerification[] =
    "http://gultsch.de/xmpp/drafts/omemo/dlts-srtp-verification";

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
