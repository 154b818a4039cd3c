// Sans-IO table of Jingle sessions: decides, for every Jingle IQ-set, whether it is accepted
// (and for which session) or answered with an IQ error, and tracks each session's state.
//
// Implements:
//   - XEP-0166 5.1 (session state machine PENDING -> ACTIVE -> ENDED)
//   - XEP-0166 6.3.2 (errors on session-initiate: bad-request, resource-constraint)
//   - XEP-0166 6.7 (after session-terminate, further requests get <unknown-session/>)
//   - XEP-0166 7.2 (unknown action: bad-request), 7.2.10 (initiate validity)
//   - XEP-0166 7.2.16 (tie-breaking: same sid initiated by both sides; simultaneous
//     transport-replace / content-add in an existing session)
//   - XEP-0166 section 10 (out-of-order, tie-break, unknown-session, unsupported-info)
//
// Sessions are keyed by (peer full JID, sid): a request whose sid is known but which comes from
// another JID is answered exactly like an unknown sid, so the session is not revealed.
//
// Rules for an incoming request (in order):
//   1. validateIncoming() fails                          -> bad-request
//   2. session-initiate:
//        (peer, sid) exists and is our own PENDING initiate -> tie-break by JID (7.2.16):
//            our JID lower: conflict + <tie-break/>; else theirs wins, ours is ENDED (overruled)
//        (peer, sid) exists otherwise                   -> unexpected-request + <out-of-order/>
//        pending incoming offers from that bare JID >= limit, or table full
//                                                       -> resource-constraint (type wait)
//        else a new session (role Responder, PENDING)
//   3. any other action:
//        (peer, sid) unknown                            -> item-not-found + <unknown-session/>
//        session ENDED                                  -> item-not-found + <unknown-session/> (6.7)
//        session-accept unless we are the initiator and PENDING -> out-of-order
//        transport-accept/-reject without our pending transport-replace -> out-of-order
//        content-accept/-reject without our pending content-add          -> out-of-order
//        transport-replace (content-add) while ours is pending: we are initiator -> tie-break;
//            we are responder -> theirs is accepted and ours is dropped
//        session-info whose payloads are all unknown    -> feature-not-implemented + <unsupported-info/>
//        session-accept -> ACTIVE; session-terminate -> ENDED
//
// Not thread-safe: it lives on the XMPP thread with the rest of the signaling state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include <gloox/jid.h>

#include "tern/signaling/errors.hpp"
#include "tern/signaling/jingle.hpp"

namespace tern::signaling {

enum class Role { Initiator, Responder };
enum class SessionState { Pending, Active, Ended };
std::string_view toString(Role role) noexcept;
std::string_view toString(SessionState state) noexcept;

/// Table-local session handle, never reused within one table.
using SessionHandle = std::uint64_t;

struct SessionRecord {
  SessionHandle handle = 0;
  std::string sid;
  gloox::JID peer;  ///< full JID of the other party
  Role role = Role::Initiator;
  SessionState state = SessionState::Pending;
  bool local_transport_replace = false;   ///< we sent transport-replace, no answer yet
  bool remote_transport_replace = false;  ///< peer sent transport-replace, we did not answer
  bool local_content_add = false;
  bool remote_content_add = false;
};

/// What to do with an accepted incoming request.
struct Dispatch {
  SessionHandle session = 0;
  Action action = Action::Unknown;
  bool created = false;                     ///< a new session (session-initiate)
  SessionState state = SessionState::Pending;  ///< state after the request
  /// Our own pending session that lost a tie-break (7.2.16) and is now ENDED, or the session
  /// whose pending local transport-replace/content-add was overruled.
  std::optional<SessionHandle> overruled;
};

struct SessionTableLimits {
  std::size_t max_pending_incoming_per_peer = 4;  ///< per bare JID
  std::size_t max_live_sessions = 256;            ///< PENDING + ACTIVE, all peers
  std::size_t max_ended_kept = 256;               ///< ENDED records kept for lookups (at least 1)
};

class SessionTable {
 public:
  explicit SessionTable(std::size_t max_pending_incoming_per_peer = 4);
  explicit SessionTable(SessionTableLimits limits);

  /// An incoming Jingle IQ-set from `from` to `to` (our full JID, used for tie-breaking).
  /// On success the engine acknowledges the IQ and dispatches to Dispatch::session; on error it
  /// answers with makeErrorTag(error). Nothing in the table changes on error.
  Result<Dispatch> onIncoming(const gloox::JID& from, const gloox::JID& to, const Jingle& jingle);

  /// A Jingle request we are about to send to `peer`. Checks it is allowed in the session's state
  /// (an error here is a bug in the caller) and updates the table: session-initiate creates the
  /// session, session-accept makes it ACTIVE, session-terminate ENDS it.
  Result<SessionHandle> onOutgoing(const gloox::JID& peer, const Jingle& jingle);

  /// Shorthands for onOutgoing.
  Result<SessionHandle> localInitiate(const gloox::JID& peer, const std::string& sid);
  Status localAccept(SessionHandle session);
  Status localTerminate(SessionHandle session);

  /// The peer answered one of our requests with an IQ error, or it timed out, in a way that ends
  /// the session (e.g. our session-initiate was refused). Marks it ENDED.
  void markEnded(SessionHandle session);
  /// Drops a record (any state). Its sid can then be used again by that peer.
  void forget(SessionHandle session);

  const SessionRecord* find(SessionHandle session) const;
  const SessionRecord* find(const gloox::JID& peer, const std::string& sid) const;
  std::size_t pendingIncomingFrom(const gloox::JID& peer) const;
  std::size_t liveSessions() const;
  std::size_t size() const { return sessions_.size(); }

  /// XEP-0166 7.2.16, no existing session: both sides sent session-initiate for equivalent content
  /// with different sids. True if ours overrules theirs (lower sid by i;octet; equal sids: lower JID).
  static bool localWinsTieBreak(const std::string& local_sid, const gloox::JID& local_jid,
                                const std::string& remote_sid, const gloox::JID& remote_jid);

 private:
  using Key = std::pair<std::string, std::string>;  // (peer full JID, sid)
  SessionRecord* lookup(const gloox::JID& peer, const std::string& sid);
  SessionRecord* lookup(SessionHandle session);
  SessionHandle create(const gloox::JID& peer, const std::string& sid, Role role);
  void end(SessionRecord& record);
  void erase(SessionHandle session);
  Result<Dispatch> incomingInitiate(const gloox::JID& from, const gloox::JID& to, const Jingle& jingle);
  Result<Dispatch> incomingInSession(SessionRecord& record, const Jingle& jingle);
  Status applyOutgoing(SessionRecord& record, Action action);

  SessionTableLimits limits_;
  SessionHandle next_handle_ = 1;
  std::map<SessionHandle, SessionRecord> sessions_;
  std::map<Key, SessionHandle> by_key_;
  std::deque<SessionHandle> ended_order_;
};

}  // namespace tern::signaling
