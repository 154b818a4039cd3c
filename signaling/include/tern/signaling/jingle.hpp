// The <jingle xmlns='urn:xmpp:jingle:1'/> element: model, parser, serializer.
//
// Implements:
//   - XEP-0166 section 7 (formal definition): 7.1 <jingle/> attributes (action, sid, initiator,
//     responder), 7.2 actions, 7.3 <content/> (creator, name, senders, disposition),
//     7.4 <reason/> (condition, <text/>, <alternative-session><sid/>)
//   - XEP-0338 (Jingle Grouping Framework) section 3: <group semantics='BUNDLE'><content name/>
//   - session-info payloads (XEP-0166 6.8): XEP-0234 8.1 <received/> and 8.2 <checksum/>,
//     XEP-0167 section 7 RTP informational messages; anything else is kept as Unknown so the
//     engine can answer <unsupported-info/>. A session-info without payload is a ping.
//
// Descriptions: XEP-0234 file transfer is parsed into FileTransferDescription; RTP (XEP-0167,
// with XEP-0293/0294/0339) into RtpDescription (rtp.hpp), and also kept verbatim (an owned copy of
// the element); unknown applications are kept verbatim only. The serializer emits RTP from the
// model when it is set, so what we send is always our strict form.
//
// parseJingle() never throws and never crashes, whatever the Tag: malformed or absurd input
// gives an Error (<bad-request/> in all cases, with a descriptive text).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/signaling/errors.hpp"
#include "tern/signaling/file_transfer.hpp"
#include "tern/signaling/rtp.hpp"
#include "tern/signaling/transport.hpp"

namespace gloox {
class Tag;
}

namespace tern::signaling {

/// XEP-0166 7.2.
enum class Action {
  ContentAccept,
  ContentAdd,
  ContentModify,
  ContentReject,
  ContentRemove,
  DescriptionInfo,
  SecurityInfo,
  SessionAccept,
  SessionInfo,
  SessionInitiate,
  SessionTerminate,
  TransportAccept,
  TransportInfo,
  TransportReject,
  TransportReplace,
  Unknown,
};
/// "session-initiate", ...; "unknown" for Action::Unknown.
std::string_view toString(Action action) noexcept;
/// Action::Unknown for anything not in XEP-0166 7.2.
Action actionFromString(std::string_view value) noexcept;

enum class Creator { Initiator, Responder };
enum class Senders { Both, Initiator, Responder, None };
std::string_view toString(Creator creator) noexcept;
std::string_view toString(Senders senders) noexcept;

enum class ApplicationKind {
  FileTransfer,  ///< XEP-0234, any of ft:5/4/3
  Rtp,           ///< XEP-0167 (parsed into Description::rtp)
  Unknown,
};

/// The <description/> of a content.
struct Description {
  ApplicationKind kind = ApplicationKind::FileTransfer;
  std::string xmlns;                        ///< as received
  std::optional<FileTransferDescription> file_transfer;  ///< set iff kind == FileTransfer
  std::string media;                        ///< RTP 'media' attribute ("audio", "video")
  /// Set iff kind == Rtp (parsed); when set, the serializer emits it and ignores `raw`.
  std::optional<RtpDescription> rtp;
  /// Rtp/Unknown: the element as received (self-contained copy). Re-emitted verbatim for Unknown,
  /// and for Rtp only when `rtp` is not set.
  std::shared_ptr<const gloox::Tag> raw;

  static Description fileTransfer(FileTransferDescription description);
  /// kind Rtp, xmlns urn:xmpp:jingle:apps:rtp:1, media copied from the model.
  static Description rtpDescription(RtpDescription description);
};

/// XEP-0166 7.3.
struct Content {
  Creator creator = Creator::Initiator;
  std::string name;
  std::optional<Senders> senders;       ///< absent = default "both" (use effectiveSenders())
  std::string disposition = "session";
  std::optional<Description> description;
  std::optional<Transport> transport;
};
Senders effectiveSenders(const Content& content) noexcept;

/// XEP-0166 7.4 defined conditions.
enum class ReasonCondition {
  AlternativeSession,
  Busy,
  Cancel,
  ConnectivityError,
  Decline,
  Expired,
  FailedApplication,
  FailedTransport,
  GeneralError,
  Gone,
  IncompatibleParameters,
  MediaError,
  SecurityError,
  Success,
  Timeout,
  UnsupportedApplications,
  UnsupportedTransports,
  Unknown,  ///< a condition we do not know; the element name is kept in Reason::condition_name
};
std::string_view toString(ReasonCondition condition) noexcept;
ReasonCondition reasonFromString(std::string_view value) noexcept;

struct Reason {
  ReasonCondition condition = ReasonCondition::Success;
  std::string condition_name;               ///< the element name as received/sent
  std::optional<std::string> text;
  std::optional<std::string> alternative_sid;  ///< <alternative-session><sid>..</sid>
  std::string app_condition_ns;             ///< first child in another namespace, if any
  std::string app_condition_name;           ///< e.g. file-not-available (XEP-0234 section 9)

  static Reason of(ReasonCondition condition, std::optional<std::string> text = std::nullopt);
};

/// XEP-0338 <group semantics='BUNDLE'>.
struct Group {
  std::string semantics = "BUNDLE";
  std::vector<std::string> contents;  ///< content names
  bool legacy_namespace = false;      ///< received as urn:ietf:rfc:5888 (serialized as-is)
};

/// A child of a session-info <jingle/>.
struct SessionInfoPayload {
  enum class Kind {
    Checksum,   ///< XEP-0234 8.2
    Received,   ///< XEP-0234 8.1
    Active,     ///< XEP-0167 7 (urn:xmpp:jingle:apps:rtp:info:1)
    Hold,
    Unhold,
    Mute,
    Unmute,
    Ringing,
    Unknown,
  };
  Kind kind = Kind::Unknown;
  std::string xmlns;
  std::string name;                        ///< element name
  std::optional<ChecksumInfo> checksum;    ///< Kind::Checksum
  std::optional<ReceivedInfo> received;    ///< Kind::Received
  std::optional<std::string> creator;      ///< RTP mute/unmute
  std::optional<std::string> content_name; ///< RTP mute/unmute 'name'

  static SessionInfoPayload of(ChecksumInfo checksum);
  static SessionInfoPayload of(ReceivedInfo received);
};

/// XEP-0166 7.1.
struct Jingle {
  Action action = Action::Unknown;
  std::string sid;
  std::optional<std::string> initiator;  ///< StanzaJS omits it; use the IQ 'from' (7.1)
  std::optional<std::string> responder;
  std::vector<Content> contents;
  std::optional<Reason> reason;
  std::vector<Group> groups;
  std::vector<SessionInfoPayload> session_info;  ///< only for Action::SessionInfo

  /// The first content with this name, or nullptr.
  const Content* findContent(std::string_view name) const noexcept;
};

/// Parses the <jingle/> element (not the <iq/>). Never throws.
Result<Jingle> parseJingle(const gloox::Tag& jingle) noexcept;

/// Serializes to <jingle xmlns='urn:xmpp:jingle:1'/> (caller owns). Strings are made XML-safe.
/// Contents go out with senders/disposition only when they are set/not the default.
gloox::Tag* serializeJingle(const Jingle& jingle);

/// Action-specific rules XEP-0166 puts on a received request (used by SessionTable):
///  - session-initiate: at least one content (6.2), each with a description and a transport (6.2),
///    at least one with disposition "session" (7.2.10);
///  - session-accept (7.2.8), content-*, transport-replace/-accept/-reject: at least one content
///    (descriptions are not required in session-accept: StanzaJS answers with the transport only);
///  - (creator, name) unique among the contents (7.3);
///  - Action::Unknown is a bad-request (7.2).
Status validateIncoming(const Jingle& jingle);

/// A <reason xmlns='urn:xmpp:jingle:1'/> on its own (XEP-0166 7.4), as XEP-0353 messages carry it.
/// Never throws; same rules as inside <jingle/>.
Result<Reason> parseReason(const gloox::Tag& reason) noexcept;
/// Serializes with xmlns='urn:xmpp:jingle:1' on the element (caller owns).
gloox::Tag* serializeReason(const Reason& reason);

/// Convenience builders for what the engine sends most.
Jingle makeSessionTerminate(std::string sid, Reason reason);
Jingle makeSessionInfo(std::string sid, SessionInfoPayload payload);

}  // namespace tern::signaling
