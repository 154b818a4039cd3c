// Jingle <-> SDP, for the interoperability test's shim: enough of the mapping to let an aiortc
// RTCPeerConnection (which speaks SDP, RFC 8866 / JSEP) take part in a Jingle RTP session.
//
// Implements the SDP mappings the XEPs define:
//   - XEP-0167 section 8 (RTP description <-> m= line, a=rtpmap, a=fmtp, a=rtcp-mux,
//     a=sendrecv/sendonly/recvonly from the content's 'senders');
//   - XEP-0176 section 5.3 / RFC 8839 (ICE-UDP transport <-> a=ice-ufrag, a=ice-pwd, a=candidate);
//   - XEP-0320 section 3 (<fingerprint hash setup> <-> a=fingerprint, a=setup);
//   - XEP-0293 section 3 (<rtcp-fb> <-> a=rtcp-fb, '*' for description-level feedback);
//   - XEP-0294 section 3 (<rtp-hdrext> <-> a=extmap);
//   - XEP-0339 section 3 (<source>/<ssrc-group> <-> a=ssrc / a=ssrc-group);
//   - XEP-0338 section 3 (<group semantics='BUNDLE'> <-> a=group:BUNDLE).
// Content names are SDP mids; a media-level a=msid becomes the 'msid' parameter of each source
// (XEP-0339 section 3). a=end-of-candidates has no counterpart in XEP-0176 and is dropped. Only
// RTP contents over ICE-UDP are translated; other contents are skipped (the shim's calls never
// carry any).
//
// Only candidates on a loopback address (127.0.0.0/8, ::1) over UDP are kept, in both
// directions: the test's traffic stays on this machine.
//
// Sans-IO and stateless: call from any thread. The SDP parser never throws: malformed input gives
// an error text.
#pragma once

#include "tern/signaling/jingle.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace tern::interop {

enum class SdpType { Offer, Answer };

/// Which side of the Jingle session wrote the SDP: decides a=sendonly/recvonly from 'senders'.
enum class SdpAuthor { Initiator, Responder };

/// The SDP for the contents (and BUNDLE groups) of a session-initiate (Offer) or session-accept
/// (Answer). Contents without an RTP description or an ICE-UDP transport are left out.
/// A fingerprint without 'setup' is taken as actpass in an offer and active in an answer.
std::string jingleToSdp(const signaling::Jingle& jingle, SdpType type, SdpAuthor author);

/// The contents and BUNDLE groups an SDP describes (the caller fills in action, sid, initiator,
/// responder). Every content gets `creator`, its mid as name, an RTP description and an ICE-UDP
/// transport. Gives an error text for SDP it cannot use (no m= line, a media section without mid,
/// ICE credentials or fingerprint, a line that does not parse).
std::variant<signaling::Jingle, std::string> sdpToJingle(const std::string& sdp, SdpAuthor author,
                                                         signaling::Creator creator);

/// The value of an a=candidate line ("1 1 udp 2130706431 127.0.0.1 5000 typ host generation 0").
std::string candidateToSdp(const signaling::IceCandidate& candidate);
/// Parses the value of an a=candidate line (with or without the "candidate:" prefix).
std::optional<signaling::IceCandidate> candidateFromSdp(std::string_view value);

/// True for a UDP candidate on a loopback address.
bool isLoopbackUdp(const signaling::IceCandidate& candidate);

}  // namespace tern::interop
