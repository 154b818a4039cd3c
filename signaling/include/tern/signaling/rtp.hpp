// The RTP application of Jingle: <description xmlns='urn:xmpp:jingle:apps:rtp:1'/> as a typed
// model, its parser and serializer, and the offer/answer helpers for the codecs Tern speaks.
//
// Implements:
//   - XEP-0167 (Jingle RTP Sessions) section 4 and schema (16.1): 'media', 'ssrc', <payload-type id
//     name clockrate channels ptime maxptime> with <parameter name value/> (the SDP fmtp mapping of
//     section 8), <rtcp-mux/>, <bandwidth type>, <encryption>/<crypto> (SDES; recorded as a flag
//     only: Tern does DTLS-SRTP, XEP-0320, and never SDES), plus <rtcp-reduced-size/> (RFC 5506)
//     that browsers send.
//   - XEP-0293 (RTCP feedback) section 3: <rtcp-fb type subtype?> with <parameter/>, and
//     <rtcp-fb-trr-int value/>, both per payload type and for the whole description; the answer
//     rules of section 4 (accept as-is, never add).
//   - XEP-0294 (RTP header extensions) section 3: <rtp-hdrext id uri senders?> with <parameter/>,
//     <extmap-allow-mixed/>; answer rules of section 4 (never add, keep the offered id).
//   - XEP-0339 (source-specific media attributes) section 3: <source ssrc> with <parameter name
//     value/>, <ssrc-group semantics> with <source ssrc/>.
//   - The msid extension StanzaJS/browsers send: <stream xmlns='urn:xmpp:jingle:apps:rtp:msid:0'
//     id track/>.
//
// Liberal: missing optional attributes, unknown children, any payload type numbers. An entry
// that cannot be used (a payload type whose id is missing or > 127, whose clockrate is 0 or whose
// channels are 0 or > 255; a header extension with a bad id or no uri; a source with a bad ssrc) is
// skipped, not fatal: the rest of the offer may still make a call. More elements than the bounds
// below is a <bad-request/> (XEP-0166 section 13.2). Strict: what we send has every required
// attribute, each child in its own namespace (no prefixes), never SDES keys.
//
// Everything here is sans-IO and stateless: call from any thread; no function keeps a reference
// to its arguments. Parsers never throw.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/signaling/errors.hpp"

namespace gloox {
class Tag;
}

namespace tern::signaling {

namespace limits {
inline constexpr std::size_t kMaxPayloadTypes =
    128;  ///< <payload-type/> per description (ids are 7 bits)
inline constexpr std::size_t kMaxRtpParameters =
    32;  ///< <parameter/> per payload-type/source/rtcp-fb/hdrext
inline constexpr std::size_t kMaxRtcpFeedback = 32;  ///< <rtcp-fb/> per payload-type or description
inline constexpr std::size_t kMaxHeaderExtensions = 64;  ///< <rtp-hdrext/> per description
inline constexpr std::size_t kMaxSources = 64;           ///< XEP-0339 <source/> per description
inline constexpr std::size_t kMaxSsrcGroups = 32;        ///< <ssrc-group/> per description
inline constexpr std::size_t kMaxSsrcGroupSources = 16;  ///< <source/> per <ssrc-group/>
inline constexpr std::size_t kMaxCryptos = 16;           ///< <crypto/> looked at per <encryption/>
}  // namespace limits

/// <parameter name value/> (XEP-0167 section 8 fmtp mapping; XEP-0293/0294/0339 parameters).
/// An empty value is "name only" (e.g. RED's "111/111", or an rtcp-fb flag).
struct RtpParameter {
  std::string name;
  std::string value;
};

/// <rtcp-fb type subtype?/> (XEP-0293 section 3; RFC 4585 section 4.2).
struct RtcpFeedback {
  std::string type;     ///< "nack", "ccm", "goog-remb", "transport-cc", ...
  std::string subtype;  ///< "", "pli", "fir", ...
  std::vector<RtpParameter> parameters;
};

/// <payload-type/> (XEP-0167 section 4, table 2).
struct PayloadType {
  std::uint8_t id = 0;                     ///< 0..127
  std::string name;                        ///< encoding name, as sent ("opus", "VP8")
  std::optional<std::uint32_t> clockrate;  ///< RECOMMENDED but optional; never 0
  std::uint8_t channels = 1;               ///< default 1; never 0
  std::optional<std::uint32_t> ptime;
  std::optional<std::uint32_t> maxptime;
  std::vector<RtpParameter> parameters;
  std::vector<RtcpFeedback> rtcp_fb;  ///< XEP-0293, for this payload type only
  std::optional<std::uint32_t> rtcp_fb_trr_int;

  /// The value of a parameter, if present.
  std::optional<std::string> parameter(std::string_view name) const;
};

enum class ExtensionSenders { Both, Initiator, Responder };

/// <rtp-hdrext id uri senders?/> (XEP-0294 section 3; RFC 8285 a=extmap).
struct HeaderExtension {
  std::uint16_t id = 0;  ///< 1-256 or 4096-4351 (XEP-0294 table 1)
  std::string uri;
  std::optional<ExtensionSenders> senders;  ///< absent = both
  std::vector<RtpParameter> parameters;
};

/// XEP-0339 <source ssrc><parameter name value/></source>.
struct RtpSource {
  std::uint32_t ssrc = 0;
  std::vector<RtpParameter> parameters;  ///< "cname", "msid", ...
  std::optional<std::string> parameter(std::string_view name) const;
};

/// XEP-0339 <ssrc-group semantics><source ssrc/>...</ssrc-group> ("FID", "SIM", "FEC-FR", ...).
struct SsrcGroup {
  std::string semantics;
  std::vector<std::uint32_t> ssrcs;
};

/// XEP-0167 <bandwidth type>value</bandwidth> (SDP b= line; 'AS' in kbit/s, 'TIAS' in bit/s).
struct Bandwidth {
  std::string type;
  std::uint64_t value = 0;
};

/// <stream xmlns='urn:xmpp:jingle:apps:rtp:msid:0' id track/> (the a=msid mapping StanzaJS uses).
struct MediaStreamId {
  std::string id;
  std::string track;
};

/// <description xmlns='urn:xmpp:jingle:apps:rtp:1'/>.
struct RtpDescription {
  std::string media;                  ///< "audio" / "video" (required by the schema; not enforced)
  std::optional<std::uint32_t> ssrc;  ///< the sender's primary SSRC, if given
  std::vector<PayloadType> payload_types;
  std::vector<RtcpFeedback> rtcp_fb;  ///< XEP-0293, all payload types
  std::optional<std::uint32_t> rtcp_fb_trr_int;
  std::vector<HeaderExtension> header_extensions;
  bool extmap_allow_mixed = false;
  bool rtcp_mux = false;
  bool rtcp_reduced_size = false;
  std::vector<RtpSource> sources;
  std::vector<SsrcGroup> ssrc_groups;
  std::optional<Bandwidth> bandwidth;
  std::optional<MediaStreamId> stream;
  /// The peer offered SDES keys (<encryption><crypto/></encryption>, as Dino does). Never sent:
  /// answering without <crypto/> is how a peer learns we do DTLS-SRTP only.
  bool sdes_offered = false;
  /// <encryption required='true'/> (or '1') was received.
  bool encryption_required = false;

  const PayloadType* findPayloadType(std::uint8_t id) const noexcept;
  const RtpSource* findSource(std::uint32_t ssrc) const noexcept;
};

bool operator==(const RtpParameter& a, const RtpParameter& b) noexcept;
bool operator==(const RtcpFeedback& a, const RtcpFeedback& b) noexcept;
bool operator==(const PayloadType& a, const PayloadType& b) noexcept;
bool operator==(const HeaderExtension& a, const HeaderExtension& b) noexcept;
bool operator==(const RtpSource& a, const RtpSource& b) noexcept;
bool operator==(const SsrcGroup& a, const SsrcGroup& b) noexcept;
bool operator==(const Bandwidth& a, const Bandwidth& b) noexcept;
bool operator==(const MediaStreamId& a, const MediaStreamId& b) noexcept;
bool operator==(const RtpDescription& a, const RtpDescription& b) noexcept;

/// Parses <description xmlns='urn:xmpp:jingle:apps:rtp:1'/>. Errors (<bad-request/>) only for a
/// wrong element, an oversized attribute/text, or more children than the limits allow.
Result<RtpDescription> parseRtpDescription(const gloox::Tag& description) noexcept;

/// Serializes (caller owns). Children in this order: payload-types (parameters, rtcp-fb,
/// rtcp-fb-trr-int), description-level rtcp-fb and trr-int, rtp-hdrext, extmap-allow-mixed,
/// source, ssrc-group, rtcp-mux, rtcp-reduced-size, bandwidth, stream. 'channels' is emitted
/// when not 1. Never emits <encryption/>.
gloox::Tag* serializeRtpDescription(const RtpDescription& description);

// ---- Offers (what Tern sends)
// ---------------------------------------------------------------------

inline constexpr std::uint8_t kOpusPayloadType = 111;
inline constexpr std::uint8_t kVp8PayloadType = 96;
/// draft-holmer-rmcat-transport-wide-cc-extensions-01, what browsers pair with transport-cc.
inline constexpr char kTransportWideCcUri[] =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";

struct RtpOfferOptions {
  std::string msid;           ///< XEP-0339 'msid' source parameter ("stream track"); empty: none
  bool transport_cc = false;  ///< offer rtcp-fb transport-cc and its header extension
  bool goog_remb = false;     ///< video: offer rtcp-fb goog-remb
};

/// Opus 48000/2 as payload type 111 with minptime=10 and useinbandfec=1 (RFC 7587 section 7;
/// XEP-0167 section 8 fmtp mapping), <rtcp-mux/>, a source with cname (and msid).
RtpDescription makeOpusOffer(std::uint32_t ssrc, std::string cname, RtpOfferOptions options = {});
/// VP8/90000 as payload type 96 (RFC 7741) with rtcp-fb nack, nack pli, ccm fir (RFC 4585/5104),
/// <rtcp-mux/>, a source with cname (and msid).
RtpDescription makeVp8Offer(std::uint32_t ssrc, std::string cname, RtpOfferOptions options = {});

// ---- Negotiation (answering an offer, or accepting an answer)
// ---------------------------------------

/// A codec we can send and receive.
struct CodecPreference {
  std::string name;  ///< compared case-insensitively
  std::uint32_t clockrate = 0;
  std::uint8_t channels = 1;
  std::uint8_t preferred_id = 0;         ///< used in our offers only
  std::vector<RtpParameter> parameters;  ///< what we put in our answer for it (fmtp)
};

struct CodecPreferences {
  std::string media;                           ///< "audio" / "video"
  std::vector<CodecPreference> codecs;         ///< best first
  std::vector<RtcpFeedback> rtcp_fb;           ///< feedback we implement (type + subtype compared)
  std::vector<std::string> header_extensions;  ///< URIs we implement
  bool rtcp_mux = true;
  std::uint32_t ssrc = 0;  ///< our SSRC for the answer (0: none signalled)
  std::string cname;
  std::string msid;
};

/// Preferences matching makeOpusOffer / makeVp8Offer.
CodecPreferences opusPreferences(std::uint32_t ssrc, std::string cname,
                                 RtpOfferOptions options = {});
CodecPreferences vp8Preferences(std::uint32_t ssrc, std::string cname,
                                RtpOfferOptions options = {});

/// The outcome of matching a peer's description against ours.
struct NegotiatedRtp {
  /// The chosen codec with the PEER'S payload type number (e.g. Dino's VP8 = 98): the number used
  /// on the wire in both directions.
  PayloadType codec;
  std::vector<RtcpFeedback> rtcp_fb;               ///< agreed: payload-level and description-level
  std::vector<HeaderExtension> header_extensions;  ///< agreed, with the peer's ids
  bool rtcp_mux = false;
  /// The peer's SSRCs, if signalled: 'ssrc' of the description first, then the XEP-0339 sources.
  std::vector<std::uint32_t> remote_ssrcs;
  /// The description to send in session-accept (meaningful when `remote` was an offer): the chosen
  /// codec only, with our parameters, the agreed rtcp-fb and header extensions where the offer put
  /// them (XEP-0293/0294 section 4), rtcp-mux if agreed, our source.
  RtpDescription answer;
};

/// Picks the first of `local.codecs` that the peer lists (name case-insensitive + clockrate +
/// channels; a peer that omits clockrate matches any; Opus matches whatever 'channels' it is given,
/// RFC 7587 fixes it to 2). Fails (not-acceptable, type cancel) when the media differ or there is
/// no common codec: the engine then ends the session with <failed-application/> (XEP-0166 7.4), or
/// rejects that content when others remain.
Result<NegotiatedRtp> negotiate(const RtpDescription& remote, const CodecPreferences& local);

}  // namespace tern::signaling
