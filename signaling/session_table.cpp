#include "tern/signaling/session_table.hpp"

#include <algorithm>

namespace tern::signaling {

std::string_view toString(Role role) noexcept { return role == Role::Initiator ? "initiator" : "responder"; }

std::string_view toString(SessionState state) noexcept {
  switch (state) {
    case SessionState::Pending: return "pending";
    case SessionState::Active: return "active";
    case SessionState::Ended: return "ended";
  }
  return "ended";
}

SessionTable::SessionTable(std::size_t max_pending_incoming_per_peer)
    : SessionTable(SessionTableLimits{max_pending_incoming_per_peer, 256, 256}) {}

SessionTable::SessionTable(SessionTableLimits limits) : limits_(limits) {
  // The record being ended is always kept at least until the call that ended it returns.
  limits_.max_ended_kept = std::max<std::size_t>(limits_.max_ended_kept, 1);
}

bool SessionTable::localWinsTieBreak(const std::string& local_sid, const gloox::JID& local_jid,
                                     const std::string& remote_sid, const gloox::JID& remote_jid) {
  // "i;octet" collation (RFC 4790 9.3) is a plain byte comparison.
  if (local_sid != remote_sid) {
    return local_sid < remote_sid;
  }
  return local_jid.full() < remote_jid.full();
}

SessionRecord* SessionTable::lookup(const gloox::JID& peer, const std::string& sid) {
  auto it = by_key_.find(Key(peer.full(), sid));
  return it == by_key_.end() ? nullptr : lookup(it->second);
}

SessionRecord* SessionTable::lookup(SessionHandle session) {
  auto it = sessions_.find(session);
  return it == sessions_.end() ? nullptr : &it->second;
}

const SessionRecord* SessionTable::find(SessionHandle session) const {
  auto it = sessions_.find(session);
  return it == sessions_.end() ? nullptr : &it->second;
}

const SessionRecord* SessionTable::find(const gloox::JID& peer, const std::string& sid) const {
  auto it = by_key_.find(Key(peer.full(), sid));
  return it == by_key_.end() ? nullptr : find(it->second);
}

std::size_t SessionTable::pendingIncomingFrom(const gloox::JID& peer) const {
  const std::string bare = peer.bare();
  return static_cast<std::size_t>(std::count_if(sessions_.begin(), sessions_.end(), [&](const auto& entry) {
    const SessionRecord& r = entry.second;
    return r.role == Role::Responder && r.state == SessionState::Pending && r.peer.bare() == bare;
  }));
}

std::size_t SessionTable::liveSessions() const {
  return static_cast<std::size_t>(std::count_if(sessions_.begin(), sessions_.end(), [](const auto& entry) {
    return entry.second.state != SessionState::Ended;
  }));
}

SessionHandle SessionTable::create(const gloox::JID& peer, const std::string& sid, Role role) {
  const SessionHandle handle = next_handle_++;
  SessionRecord r;
  r.handle = handle;
  r.sid = sid;
  r.peer = peer;
  r.role = role;
  r.state = SessionState::Pending;
  sessions_.emplace(handle, std::move(r));
  by_key_[Key(peer.full(), sid)] = handle;
  return handle;
}

void SessionTable::end(SessionRecord& record) {
  if (record.state == SessionState::Ended) return;
  record.state = SessionState::Ended;
  record.local_transport_replace = record.remote_transport_replace = false;
  record.local_content_add = record.remote_content_add = false;
  ended_order_.push_back(record.handle);
  while (ended_order_.size() > limits_.max_ended_kept) {
    const SessionHandle oldest = ended_order_.front();
    ended_order_.pop_front();
    erase(oldest);
  }
}

void SessionTable::erase(SessionHandle session) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  auto key = by_key_.find(Key(it->second.peer.full(), it->second.sid));
  if (key != by_key_.end() && key->second == session) by_key_.erase(key);
  sessions_.erase(it);
}

void SessionTable::markEnded(SessionHandle session) {
  if (SessionRecord* r = lookup(session)) end(*r);
}

void SessionTable::forget(SessionHandle session) {
  ended_order_.erase(std::remove(ended_order_.begin(), ended_order_.end(), session), ended_order_.end());
  erase(session);
}

Result<Dispatch> SessionTable::onIncoming(const gloox::JID& from, const gloox::JID& to, const Jingle& jingle) {
  if (auto s = validateIncoming(jingle); !s) return s.error();
  if (jingle.action == Action::SessionInitiate) {
    return incomingInitiate(from, to, jingle);
  }
  SessionRecord* record = lookup(from, jingle.sid);
  if (record == nullptr || record->state == SessionState::Ended) {
    // Unknown sid, a sid that belongs to another peer (not revealed), or after terminate (6.7).
    return Error::unknownSession();
  }
  return incomingInSession(*record, jingle);
}

Result<Dispatch> SessionTable::incomingInitiate(const gloox::JID& from, const gloox::JID& to, const Jingle& jingle) {
  std::optional<SessionHandle> overruled;
  if (SessionRecord* existing = lookup(from, jingle.sid)) {
    const bool crossed_initiates = existing->role == Role::Initiator && existing->state == SessionState::Pending;
    if (!crossed_initiates) {
      return Error::outOfOrder("session-initiate for an existing session");
    }
    // Both sides sent session-initiate with the same sid: the lower JID wins (7.2.16).
    if (to.full() < from.full()) {
      return Error::tieBreak();
    }
    overruled = existing->handle;
  }
  if (!overruled) {
    if (pendingIncomingFrom(from) >= limits_.max_pending_incoming_per_peer) {
      return Error::resourceConstraint("too many pending session requests");
    }
    if (liveSessions() >= limits_.max_live_sessions) {
      return Error::resourceConstraint("too many sessions");
    }
  }
  if (overruled) {
    SessionRecord* ours = lookup(*overruled);
    end(*ours);
    // The key now belongs to the incoming session; our record stays reachable by handle.
    by_key_.erase(Key(from.full(), jingle.sid));
  }
  Dispatch d;
  d.session = create(from, jingle.sid, Role::Responder);
  d.action = Action::SessionInitiate;
  d.created = true;
  d.state = SessionState::Pending;
  d.overruled = overruled;
  return d;
}

Result<Dispatch> SessionTable::incomingInSession(SessionRecord& r, const Jingle& jingle) {
  Dispatch d;
  d.session = r.handle;
  d.action = jingle.action;
  switch (jingle.action) {
    case Action::SessionAccept:
      if (r.role != Role::Initiator || r.state != SessionState::Pending) {
        return Error::outOfOrder("session-accept not expected");
      }
      r.state = SessionState::Active;
      break;
    case Action::SessionTerminate:
      end(r);
      break;
    case Action::TransportReplace:
      if (r.local_transport_replace) {
        if (r.role == Role::Initiator) return Error::tieBreak();  // ours overrules (7.2.16)
        r.local_transport_replace = false;                        // theirs overrules ours
        d.overruled = r.handle;
      }
      r.remote_transport_replace = true;
      break;
    case Action::TransportAccept:
    case Action::TransportReject:
      if (!r.local_transport_replace) return Error::outOfOrder("no transport-replace to answer");
      r.local_transport_replace = false;
      break;
    case Action::ContentAdd:
      if (r.local_content_add) {
        if (r.role == Role::Initiator) return Error::tieBreak();
        r.local_content_add = false;
        d.overruled = r.handle;
      }
      r.remote_content_add = true;
      break;
    case Action::ContentAccept:
    case Action::ContentReject:
      if (!r.local_content_add) return Error::outOfOrder("no content-add to answer");
      r.local_content_add = false;
      break;
    case Action::SessionInfo:
      if (!jingle.session_info.empty() &&
          std::all_of(jingle.session_info.begin(), jingle.session_info.end(), [](const SessionInfoPayload& p) {
            return p.kind == SessionInfoPayload::Kind::Unknown;
          })) {
        return Error::unsupportedInfo();
      }
      break;
    default:
      break;  // content-modify, content-remove, description-info, security-info, transport-info
  }
  d.state = r.state;
  return d;
}

Status SessionTable::applyOutgoing(SessionRecord& r, Action action) {
  if (r.state == SessionState::Ended) return Error::unknownSession();
  switch (action) {
    case Action::SessionInitiate:
      return Error::outOfOrder("sid already in use with this peer");
    case Action::SessionAccept:
      if (r.role != Role::Responder || r.state != SessionState::Pending) {
        return Error::outOfOrder("we cannot accept this session");
      }
      r.state = SessionState::Active;
      break;
    case Action::SessionTerminate:
      end(r);
      break;
    case Action::TransportReplace:
      if (r.local_transport_replace) return Error::outOfOrder("a transport-replace is already pending");
      r.local_transport_replace = true;
      break;
    case Action::TransportAccept:
    case Action::TransportReject:
      if (!r.remote_transport_replace) return Error::outOfOrder("no transport-replace to answer");
      r.remote_transport_replace = false;
      break;
    case Action::ContentAdd:
      if (r.local_content_add) return Error::outOfOrder("a content-add is already pending");
      r.local_content_add = true;
      break;
    case Action::ContentAccept:
    case Action::ContentReject:
      if (!r.remote_content_add) return Error::outOfOrder("no content-add to answer");
      r.remote_content_add = false;
      break;
    default:
      break;
  }
  return Status::success();
}

Result<SessionHandle> SessionTable::onOutgoing(const gloox::JID& peer, const Jingle& jingle) {
  if (jingle.action == Action::Unknown || jingle.sid.empty()) {
    return Error::badRequest("refusing to send a Jingle request without action or sid");
  }
  SessionRecord* r = lookup(peer, jingle.sid);
  if (jingle.action == Action::SessionInitiate && r == nullptr) {
    return create(peer, jingle.sid, Role::Initiator);
  }
  if (r == nullptr) return Error::unknownSession();
  if (auto s = applyOutgoing(*r, jingle.action); !s) return s.error();
  return r->handle;
}

Result<SessionHandle> SessionTable::localInitiate(const gloox::JID& peer, const std::string& sid) {
  Jingle j;
  j.action = Action::SessionInitiate;
  j.sid = sid;
  return onOutgoing(peer, j);
}

Status SessionTable::localAccept(SessionHandle session) {
  SessionRecord* r = lookup(session);
  if (r == nullptr) return Error::unknownSession();
  return applyOutgoing(*r, Action::SessionAccept);
}

Status SessionTable::localTerminate(SessionHandle session) {
  SessionRecord* r = lookup(session);
  if (r == nullptr) return Error::unknownSession();
  return applyOutgoing(*r, Action::SessionTerminate);
}

}  // namespace tern::signaling
