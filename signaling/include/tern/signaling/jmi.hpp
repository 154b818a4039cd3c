// Jingle Message Initiation (XEP-0353, urn:xmpp:jingle-message:0): ring every device of a contact
// with <message/> stanzas before the Jingle session-initiate.
//
// Implements:
//   - XEP-0353 section 3 (use cases) and section 11 (schema): <propose id> with one <description/>
//     per media (3.1), <ringing/> (3.2), <retract/> with <reason/> (3.3), <proceed/> (3.4) with
//     Conversations' optional <device id/> (ns::kOmemoDtlsVerification), <reject/> with <reason/>
//     and <tie-break/> (3.5, 4.1), <finish/> with <reason/> and <migrated to/> (3.7, 4.2); and
//     <accept/> from the pre-0.6 protocol, which Dino and Conversations still send to their own
//     bare JID so their other devices stop ringing.
//   - A per-call state machine (JmiCall) for both roles; see its comment for the decisions on
//     duplicate and late messages.
//
// Not here: tie-breaking between two crossed <propose/>s (section 4.1, it spans two calls: the
// engine compares ids with jmiProposeWins()), wrapping/unwrapping carbons (XEP-0280; the engine
// reports whether a message came as a carbon, after checking that the carbon came from our own
// bare JID, XEP-0280 section 11).
//
// Sans-IO: messages and JIDs in, events and messages out. JmiCall is a plain value: one thread at a
// time (the XMPP thread in the engine); parsers are stateless and never throw.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gloox/jid.h>

#include "tern/signaling/errors.hpp"
#include "tern/signaling/jingle.hpp"
#include "tern/signaling/namespaces.hpp"

namespace gloox {
class Tag;
}

namespace tern::signaling {

namespace limits {
inline constexpr std::size_t kMaxJmiDescriptions = 16;  ///< <description/> per <propose/>
}  // namespace limits

enum class JmiType { Propose, Ringing, Proceed, Accept, Reject, Retract, Finish };
/// Element names: "propose", "ringing", ...
std::string_view toString(JmiType type) noexcept;

/// A <description/> of a <propose/>: its namespace and, for RTP, the 'media'.
struct JmiDescription {
  std::string xmlns = ns::kRtp;
  std::string media;  ///< "audio", "video"; empty for non-RTP applications
};

/// One JMI element.
struct JmiMessage {
  JmiType type = JmiType::Propose;
  std::string id;                            ///< the call id; also the Jingle sid (3.1)
  std::vector<JmiDescription> descriptions;  ///< Propose only
  std::optional<Reason> reason;              ///< Reject, Retract, Finish
  bool tie_break = false;                    ///< Reject/Retract: <tie-break/> (4.1)
  std::optional<std::string> migrated_to;    ///< Finish: <migrated to/> (4.2)
  std::optional<std::string> device_id;      ///< Proceed: Conversations' OMEMO <device id/>

  /// True if a <description xmlns=rtp media=...> with this media is proposed.
  bool proposesMedia(std::string_view media) const noexcept;
};

bool operator==(const JmiDescription& a, const JmiDescription& b) noexcept;
bool operator==(const JmiMessage& a, const JmiMessage& b) noexcept;

/// Finds the JMI element in a <message/> (siblings such as <store xmlns='urn:xmpp:hints'/>,
/// <body/>, <origin-id/> are ignored) and parses it. Also accepts the JMI element itself.
/// Errors (bad-request): no JMI child, a missing/oversized 'id', a propose without description, or
/// limits. Unknown JMI element names are errors too (nothing to act on).
Result<JmiMessage> parseJmi(const gloox::Tag& message) noexcept;

/// The JMI element (caller owns), e.g. <propose xmlns='urn:xmpp:jingle-message:0' id=..>. The
/// engine puts it in a <message type='chat'> with a <store xmlns='urn:xmpp:hints'/> (section 3).
gloox::Tag* serializeJmi(const JmiMessage& message);

/// The whole stanza: <message to type='chat' id?><JMI/><store xmlns='urn:xmpp:hints'/></message>
/// (caller owns). `stanza_id` may be empty.
gloox::Tag* makeJmiMessageStanza(const gloox::JID& to, const JmiMessage& message,
                                 const std::string& stanza_id);

/// XEP-0353 4.1: of two crossed proposes, the one with the lower id (i;octet) wins; equal ids: the
/// one from the lower JID. True if `ours` wins over `theirs`.
bool jmiProposeWins(std::string_view our_id, std::string_view their_id, const gloox::JID& us,
                    const gloox::JID& them) noexcept;

/// A message to send: `to` is a bare or full JID as the protocol requires.
struct JmiOutgoing {
  gloox::JID to;
  JmiMessage message;
};

enum class JmiRole { Caller, Callee };

enum class JmiState {
  // caller
  Proposed,       ///< propose sent, nobody answered yet
  RemoteRinging,  ///< at least one device of the callee rings
  // callee
  Ringing,            ///< a propose arrived; we ring (whether or not we sent <ringing/>)
  AcceptedElsewhere,  ///< another of our devices accepted/proceeded: stop ringing (final)
  RejectedElsewhere,  ///< another of our devices rejected: stop ringing (final)
  // both
  Proceeded,  ///< caller: a device proceeded (remoteDevice()); callee: we proceeded here
  Rejected,   ///< caller: the callee rejected; callee: we rejected (final)
  Retracted,  ///< caller: we retracted; callee: the caller retracted (final)
  Finished,   ///< after Proceeded: either side finished (final)
};
std::string_view toString(JmiState state) noexcept;
/// AcceptedElsewhere, RejectedElsewhere, Rejected, Retracted, Finished.
bool isFinal(JmiState state) noexcept;

/// What an input did.
enum class JmiEvent {
  None,               ///< a local action (nothing was received)
  RemoteRinging,      ///< caller: the first <ringing/> (later ones are no events)
  Proceeded,          ///< caller: start Jingle: session-initiate to remoteDevice(), sid = id
  Rejected,           ///< caller: the callee declined (reason in lastReason())
  Retracted,          ///< callee: the caller retracted (before or after we proceeded)
  Finished,           ///< the other side finished the call (after Proceeded)
  AcceptedElsewhere,  ///< callee: stop ringing, answered on another of our devices
  RejectedElsewhere,  ///< callee: stop ringing, declined on another of our devices
  Ignored,            ///< duplicate, late, from a stranger, or not for this state: no change
};
std::string_view toString(JmiEvent event) noexcept;

struct JmiStep {
  JmiEvent event = JmiEvent::None;
  std::vector<JmiOutgoing> send;
};

/// One call's XEP-0353 state, for either role. JIDs: `self` is our full JID; the peer is known by
/// bare JID until a device proceeds (caller) or by the proposer's full JID (callee).
///
/// Routing (as Dino and Conversations do, see the Dino capture):
///   caller  propose -> callee's bare JID; retract -> callee's bare JID; finish -> the device.
///   callee  ringing, proceed, reject, finish -> the caller's full JID; also <accept/> -> our own
///           bare JID when proceeding, so our devices that predate 0.6 (no carbons) stop ringing.
///
/// Decisions on duplicates and races (deterministic; each documented case is tested):
///   - Anything from a JID other than the peer's bare JID (or, for accept/proceed/reject
///     "elsewhere", our own bare JID) is Ignored: nobody else can end or answer the call.
///   - Caller, second <proceed/> from ANOTHER device after one already won: the first one wins;
///     we send <finish/> with <cancel/> ("answered on another device") to the loser's full JID so
///     it stops waiting for a session-initiate. The loser's carbon copy reaches the winner too,
///     which must ignore it: see the next rule. A repeated proceed from the winner is Ignored.
///   - Callee: a <finish/> or <proceed/> that reaches us as a carbon (it was addressed to another
///     of our devices) never ends our own call; only one addressed to us does.
///   - Callee: <retract/> after we proceeded (it crossed our proceed) ends the call: Retracted.
///   - Caller: <ringing/>/<reject/>/<proceed/> after we retracted, and anything after a final
///     state: Ignored.
///   - Caller, after Proceeded: <reject/> or <finish/> from the device that proceeded ends the call
///     (Rejected / Finished); from any other device: Ignored (it declined while this one answered).
///   - Callee, while Ringing: <finish/> from the caller (even as a carbon: the call went on with
///     another of our devices and is over) stops the ringing: Finished.
class JmiCall {
 public:
  /// Caller: a new call. The returned step carries the <propose/> to the peer's bare JID.
  static std::pair<JmiCall, JmiStep> propose(std::string id, const gloox::JID& self,
                                             const gloox::JID& peer,
                                             std::vector<JmiDescription> descriptions);
  /// Callee: a received <propose/> from `from` (the caller's full JID). Fails (bad-request) if
  /// `propose` is not a Propose or `from` has no resource.
  static Result<JmiCall> incoming(const JmiMessage& propose, const gloox::JID& from,
                                  const gloox::JID& self);

  /// Feeds a received JMI message with this call's id. `carbon` is true when it arrived wrapped in
  /// a XEP-0280 carbon (received or sent) rather than addressed to us.
  JmiStep onMessage(const JmiMessage& message, const gloox::JID& from, bool carbon);

  // Local actions. Each fails (unexpected-request) when not allowed in the current state.
  /// Callee: tell the caller we ring (<ringing/>). In Ringing only; once.
  Result<JmiStep> ring();
  /// Callee: answer on this device (<accept/> to our bare JID, <proceed/> to the caller).
  Result<JmiStep> proceed(std::optional<std::string> device_id = std::nullopt);
  /// Callee: decline (<reject/>, default reason <busy/>, section 3.5).
  Result<JmiStep> reject(std::optional<Reason> reason = std::nullopt);
  /// Caller: hang up before anyone proceeded (<retract/>, default reason <cancel/>, section 3.3).
  Result<JmiStep> retract(std::optional<Reason> reason = std::nullopt);
  /// Either: end a proceeded call (<finish/>, default reason <success/>, section 3.7).
  Result<JmiStep> finish(std::optional<Reason> reason = std::nullopt);

  const std::string& id() const noexcept { return id_; }
  JmiRole role() const noexcept { return role_; }
  JmiState state() const noexcept { return state_; }
  /// Caller: the callee's bare JID (then, once proceeded, see remoteDevice()). Callee: the caller's
  /// full JID.
  const gloox::JID& peer() const noexcept { return peer_; }
  /// The full JID on the other side of the Jingle session: the device that proceeded (caller), or
  /// the proposer (callee). Empty until known.
  const gloox::JID& remoteDevice() const noexcept { return device_; }
  /// Media proposed (descriptions of the <propose/>).
  const std::vector<JmiDescription>& descriptions() const noexcept { return descriptions_; }
  /// The reason of the last reject/retract/finish received.
  const std::optional<Reason>& lastReason() const noexcept { return last_reason_; }
  /// The device id from the winning <proceed/> (Conversations' OMEMO verification), if any.
  const std::optional<std::string>& remoteDeviceId() const noexcept { return remote_device_id_; }

 private:
  JmiCall() = default;
  JmiMessage make(JmiType type) const;
  JmiStep onCaller(const JmiMessage& message, const gloox::JID& from);
  JmiStep onCallee(const JmiMessage& message, const gloox::JID& from, bool carbon);

  std::string id_;
  JmiRole role_ = JmiRole::Caller;
  JmiState state_ = JmiState::Proposed;
  gloox::JID self_;
  gloox::JID peer_;
  gloox::JID device_;
  std::vector<JmiDescription> descriptions_;
  std::optional<Reason> last_reason_;
  std::optional<std::string> remote_device_id_;
  bool ringing_sent_ = false;
};

}  // namespace tern::signaling
