// The <transport/> of a Jingle <content/>, whatever its method (XEP-0166 section 12.2).
//
// Data channels are signalled in two dialects, and we answer a peer in the one it used:
//   - XEP-0343 (StanzaJS, browsers): an ICE-UDP transport carrying <sctpmap/> (and/or the
//     'sctp-port'/'max-message-size' attributes):
//       <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag pwd>
//         <fingerprint .../><sctpmap number='5000' protocol='webrtc-datachannel'/>
//       </transport>
//   - Conversations: a wrapper transport around an ICE-UDP transport, in every action that
//     carries a transport (initiate, accept, transport-info with trickled candidates):
//       <transport xmlns='urn:xmpp:jingle:transports:webrtc-datachannel:1'
//                  sctp-port='5000' max-message-size='262144'>
//         <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag pwd>...</transport>
//       </transport>
// SOCKS5 (XEP-0260), IBB (XEP-0261) and anything else are recognised by namespace and kept
// verbatim, so the engine can reply (transport-replace / unsupported-transports) correctly.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "tern/signaling/errors.hpp"
#include "tern/signaling/ice_udp.hpp"

namespace gloox {
class Tag;
}

namespace tern::signaling {

enum class TransportKind {
  IceUdp,             ///< urn:xmpp:jingle:transports:ice-udp:1
  WebRtcDataChannel,  ///< urn:xmpp:jingle:transports:webrtc-datachannel:1 (Conversations)
  Socks5,             ///< urn:xmpp:jingle:transports:s5b:1
  Ibb,                ///< urn:xmpp:jingle:transports:ibb:1
  Unknown,            ///< anything else (raw-udp, ice:0, ...)
};

/// How a peer signals an SCTP data channel, so the answer can use the same form.
enum class DataChannelDialect {
  None,               ///< no data channel signalled (e.g. RTP, or a bare ICE-UDP transport-info)
  Xep0343Sctpmap,     ///< <sctpmap/> inside ICE-UDP (StanzaJS, browsers)
  Xep0343SctpPort,    ///< 'sctp-port' attribute on the ICE-UDP transport, no <sctpmap/>
  ConversationsWrapper,
};

struct Transport {
  TransportKind kind = TransportKind::IceUdp;
  /// The namespace as received (or to send, for Unknown).
  std::string xmlns;
  /// For IceUdp: the transport. For WebRtcDataChannel: the wrapped ICE-UDP transport.
  IceUdpTransport ice;
  /// WebRtcDataChannel wrapper attributes.
  std::optional<std::uint16_t> sctp_port;
  std::optional<std::uint64_t> max_message_size;
  /// Socks5/Ibb: the bytestream 'sid'; Ibb: 'block-size'. Informational.
  std::string stream_sid;
  std::optional<std::uint32_t> block_size;
  /// Socks5/Ibb/Unknown: the element as received, re-emitted verbatim by the serializer.
  std::shared_ptr<const gloox::Tag> raw;

  /// An ICE-UDP transport (kind IceUdp).
  static Transport iceUdp(IceUdpTransport ice);
  /// A Conversations-dialect data channel transport.
  static Transport webRtcDataChannel(IceUdpTransport ice, std::optional<std::uint16_t> sctp_port,
                                     std::optional<std::uint64_t> max_message_size);
  /// True for IceUdp and WebRtcDataChannel, i.e. when `ice` is meaningful.
  bool hasIce() const noexcept { return kind == TransportKind::IceUdp || kind == TransportKind::WebRtcDataChannel; }
};

/// The dialect a transport uses (None if it is not ICE-based or signals no data channel).
DataChannelDialect dataChannelDialect(const Transport& transport) noexcept;

/// Parses any <transport/> element. Fails only on a malformed ICE-UDP/data-channel transport or
/// on limits; unknown methods parse to TransportKind::Unknown.
Result<Transport> parseTransport(const gloox::Tag& transport) noexcept;
/// Serializes (caller owns). Unknown kinds without `raw` become an empty <transport xmlns=.../>.
gloox::Tag* serializeTransport(const Transport& transport);

}  // namespace tern::signaling
