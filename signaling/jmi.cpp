#include "tern/signaling/jmi.hpp"

#include <utility>

#include <gloox/tag.h>

#include "tern/signaling/namespaces.hpp"
#include "xml_util.hpp"

namespace tern::signaling {

using detail::namespaceOf;

namespace {

struct TypeName {
  JmiType type;
  std::string_view name;
};

constexpr TypeName kTypes[] = {
    {JmiType::Propose, "propose"}, {JmiType::Ringing, "ringing"}, {JmiType::Proceed, "proceed"},
    {JmiType::Accept, "accept"},   {JmiType::Reject, "reject"},   {JmiType::Retract, "retract"},
    {JmiType::Finish, "finish"},
};

std::optional<JmiType> typeFromName(std::string_view name) noexcept {
  for (const TypeName& t : kTypes) {
    if (t.name == name) return t.type;
  }
  return std::nullopt;
}

bool isJmiElement(const gloox::Tag& tag) {
  return typeFromName(tag.name()).has_value() && namespaceOf(tag) == ns::kJingleMessage;
}

Result<JmiMessage> parseElement(const gloox::Tag& tag) {
  if (auto s = detail::checkAttributes(tag); !s) return s.error();
  JmiMessage m;
  m.type = *typeFromName(tag.name());
  auto id = detail::attribute(tag, "id");
  if (!id) return Error::badRequest("<" + tag.name() + "/> without 'id'");
  m.id = std::move(*id);
  for (const gloox::Tag* child : tag.children()) {
    if (child == nullptr) continue;
    const std::string& name = child->name();
    if (m.type == JmiType::Propose && name == "description") {
      if (m.descriptions.size() >= limits::kMaxJmiDescriptions) {
        return Error::badRequest("too many <description/> in <propose/>");
      }
      if (auto s = detail::checkAttributes(*child); !s) return s.error();
      JmiDescription d;
      d.xmlns = namespaceOf(*child);
      d.media = detail::attribute(*child, "media").value_or(std::string());
      m.descriptions.push_back(std::move(d));
      continue;
    }
    const std::string cns = namespaceOf(*child);
    if (name == "reason" && cns == ns::kJingle && !m.reason) {
      auto r = parseReason(*child);
      if (!r) return r.error();
      m.reason = std::move(r.value());
    } else if (name == "tie-break") {
      m.tie_break = true;
    } else if (name == "migrated" && !m.migrated_to) {
      if (auto s = detail::checkAttributes(*child); !s) return s.error();
      m.migrated_to = detail::attribute(*child, "to");
    } else if (name == "device" && cns == ns::kOmemoDtlsVerification && !m.device_id) {
      if (auto s = detail::checkAttributes(*child); !s) return s.error();
      m.device_id = detail::attribute(*child, "id");
    }
  }
  if (m.type == JmiType::Propose && m.descriptions.empty()) {
    return Error::badRequest("<propose/> without <description/>");
  }
  return m;
}

Result<JmiMessage> parseJmiImpl(const gloox::Tag& tag) {
  if (isJmiElement(tag)) return parseElement(tag);
  for (const gloox::Tag* child : tag.children()) {
    if (child != nullptr && isJmiElement(*child)) return parseElement(*child);
  }
  return Error::badRequest("no urn:xmpp:jingle-message:0 element");
}

Error notNow(JmiState state, const char* action) {
  Error e;
  e.condition = StanzaCondition::UnexpectedRequest;
  e.type = StanzaErrorType::Cancel;
  e.text = std::string(action) + " is not allowed in state " + std::string(toString(state));
  return e;
}

bool sameBare(const gloox::JID& a, const gloox::JID& b) {
  return !a.bare().empty() && a.bare() == b.bare();
}

}  // namespace

std::string_view toString(JmiType type) noexcept {
  for (const TypeName& t : kTypes) {
    if (t.type == type) return t.name;
  }
  return "propose";
}

bool JmiMessage::proposesMedia(std::string_view media) const noexcept {
  for (const JmiDescription& d : descriptions) {
    if (d.xmlns == ns::kRtp && d.media == media) return true;
  }
  return false;
}

bool operator==(const JmiDescription& a, const JmiDescription& b) noexcept {
  return a.xmlns == b.xmlns && a.media == b.media;
}

bool operator==(const JmiMessage& a, const JmiMessage& b) noexcept {
  const bool same_reason = a.reason.has_value() == b.reason.has_value() &&
                           (!a.reason || (a.reason->condition == b.reason->condition &&
                                          a.reason->condition_name == b.reason->condition_name &&
                                          a.reason->text == b.reason->text));
  return a.type == b.type && a.id == b.id && a.descriptions == b.descriptions && same_reason &&
         a.tie_break == b.tie_break && a.migrated_to == b.migrated_to && a.device_id == b.device_id;
}

Result<JmiMessage> parseJmi(const gloox::Tag& message) noexcept {
  try {
    return parseJmiImpl(message);
  } catch (...) {
    return Error::badRequest("malformed JMI message");
  }
}

gloox::Tag* serializeJmi(const JmiMessage& m) {
  gloox::Tag* tag = detail::newTag(std::string(toString(m.type)), ns::kJingleMessage);
  detail::setAttribute(tag, "id", m.id);
  if (m.type == JmiType::Propose) {
    for (const JmiDescription& d : m.descriptions) {
      gloox::Tag* desc = detail::addChild(
          tag, "description", d.xmlns.empty() ? std::string(ns::kRtp) : detail::xmlSafe(d.xmlns));
      detail::setAttribute(desc, "media", d.media);
    }
  }
  if (m.reason &&
      (m.type == JmiType::Reject || m.type == JmiType::Retract || m.type == JmiType::Finish)) {
    tag->addChild(serializeReason(*m.reason));
  }
  if (m.tie_break && (m.type == JmiType::Reject || m.type == JmiType::Retract))
    detail::addChild(tag, "tie-break");
  if (m.migrated_to && m.type == JmiType::Finish) {
    detail::setAttribute(detail::addChild(tag, "migrated"), "to", *m.migrated_to);
  }
  if (m.device_id && m.type == JmiType::Proceed) {
    detail::setAttribute(detail::addChild(tag, "device", ns::kOmemoDtlsVerification), "id",
                         *m.device_id);
  }
  return tag;
}

gloox::Tag* makeJmiMessageStanza(const gloox::JID& to, const JmiMessage& message,
                                 const std::string& stanza_id) {
  gloox::Tag* stanza = detail::newTag("message");
  detail::setAttribute(stanza, "to", to.full());
  stanza->addAttribute("type", "chat");
  detail::setAttribute(stanza, "id", stanza_id);
  stanza->addChild(serializeJmi(message));
  detail::addChild(stanza, "store", ns::kHints);
  return stanza;
}

bool jmiProposeWins(std::string_view our_id, std::string_view their_id, const gloox::JID& us,
                    const gloox::JID& them) noexcept {
  if (our_id != their_id) return our_id < their_id;  // std::string_view compares bytes: i;octet
  return us.full() < them.full();
}

std::string_view toString(JmiState state) noexcept {
  switch (state) {
    case JmiState::Proposed: return "proposed";
    case JmiState::RemoteRinging: return "remote-ringing";
    case JmiState::Ringing: return "ringing";
    case JmiState::AcceptedElsewhere: return "accepted-elsewhere";
    case JmiState::RejectedElsewhere: return "rejected-elsewhere";
    case JmiState::Proceeded: return "proceeded";
    case JmiState::Rejected: return "rejected";
    case JmiState::Retracted: return "retracted";
    case JmiState::Finished: return "finished";
  }
  return "unknown";
}

bool isFinal(JmiState state) noexcept {
  switch (state) {
    case JmiState::AcceptedElsewhere:
    case JmiState::RejectedElsewhere:
    case JmiState::Rejected:
    case JmiState::Retracted:
    case JmiState::Finished: return true;
    default: return false;
  }
}

std::string_view toString(JmiEvent event) noexcept {
  switch (event) {
    case JmiEvent::None: return "none";
    case JmiEvent::RemoteRinging: return "remote-ringing";
    case JmiEvent::Proceeded: return "proceeded";
    case JmiEvent::Rejected: return "rejected";
    case JmiEvent::Retracted: return "retracted";
    case JmiEvent::Finished: return "finished";
    case JmiEvent::AcceptedElsewhere: return "accepted-elsewhere";
    case JmiEvent::RejectedElsewhere: return "rejected-elsewhere";
    case JmiEvent::Ignored: return "ignored";
  }
  return "unknown";
}

std::pair<JmiCall, JmiStep> JmiCall::propose(std::string id, const gloox::JID& self,
                                             const gloox::JID& peer,
                                             std::vector<JmiDescription> descriptions) {
  JmiCall call;
  call.id_ = std::move(id);
  call.role_ = JmiRole::Caller;
  call.state_ = JmiState::Proposed;
  call.self_ = self;
  call.peer_ = peer.bareJID();
  call.descriptions_ = std::move(descriptions);
  JmiStep step;
  JmiMessage m = call.make(JmiType::Propose);
  m.descriptions = call.descriptions_;
  step.send.push_back({call.peer_, std::move(m)});
  return {std::move(call), std::move(step)};
}

Result<JmiCall> JmiCall::incoming(const JmiMessage& propose, const gloox::JID& from,
                                  const gloox::JID& self) {
  if (propose.type != JmiType::Propose) return Error::badRequest("not a <propose/>");
  if (propose.id.empty()) return Error::badRequest("<propose/> without 'id'");
  if (from.resource().empty()) return Error::badRequest("<propose/> not from a full JID");
  JmiCall call;
  call.id_ = propose.id;
  call.role_ = JmiRole::Callee;
  call.state_ = JmiState::Ringing;
  call.self_ = self;
  call.peer_ = from;
  call.device_ = from;
  call.descriptions_ = propose.descriptions;
  return call;
}

JmiMessage JmiCall::make(JmiType type) const {
  JmiMessage m;
  m.type = type;
  m.id = id_;
  return m;
}

JmiStep JmiCall::onMessage(const JmiMessage& message, const gloox::JID& from, bool carbon) {
  if (message.id != id_ || isFinal(state_)) return JmiStep{JmiEvent::Ignored, {}};
  return role_ == JmiRole::Caller ? onCaller(message, from) : onCallee(message, from, carbon);
}

JmiStep JmiCall::onCaller(const JmiMessage& message, const gloox::JID& from) {
  JmiStep ignored{JmiEvent::Ignored, {}};
  if (!sameBare(from, peer_)) return ignored;  // our own devices' carbons, strangers
  const bool waiting = state_ == JmiState::Proposed || state_ == JmiState::RemoteRinging;
  const bool from_device = state_ == JmiState::Proceeded && from.full() == device_.full();
  switch (message.type) {
    case JmiType::Ringing:
      if (state_ != JmiState::Proposed) return ignored;
      state_ = JmiState::RemoteRinging;
      return JmiStep{JmiEvent::RemoteRinging, {}};
    case JmiType::Proceed:
      if (from.resource().empty()) return ignored;
      if (waiting) {
        state_ = JmiState::Proceeded;
        device_ = from;
        remote_device_id_ = message.device_id;
        return JmiStep{JmiEvent::Proceeded, {}};
      }
      if (state_ == JmiState::Proceeded && !from_device) {
        JmiMessage finish = make(JmiType::Finish);
        finish.reason =
            Reason::of(ReasonCondition::Cancel, std::string("answered on another device"));
        ignored.send.push_back({from, std::move(finish)});
      }
      return ignored;
    case JmiType::Reject:
      if (waiting || from_device) {
        state_ = JmiState::Rejected;
        last_reason_ = message.reason;
        return JmiStep{JmiEvent::Rejected, {}};
      }
      return ignored;
    case JmiType::Finish:
      if (!from_device) return ignored;
      state_ = JmiState::Finished;
      last_reason_ = message.reason;
      return JmiStep{JmiEvent::Finished, {}};
    case JmiType::Propose:
    case JmiType::Accept:
    case JmiType::Retract: break;
  }
  return ignored;
}

JmiStep JmiCall::onCallee(const JmiMessage& message, const gloox::JID& from, bool carbon) {
  JmiStep ignored{JmiEvent::Ignored, {}};
  const bool from_caller = sameBare(from, peer_);
  const bool from_sibling = sameBare(from, self_) && from.full() != self_.full();
  switch (message.type) {
    case JmiType::Retract:
      if (!from_caller) return ignored;
      state_ = JmiState::Retracted;  // while ringing, or crossing our proceed
      last_reason_ = message.reason;
      return JmiStep{JmiEvent::Retracted, {}};
    case JmiType::Finish:
      if (!from_caller) return ignored;
      if (state_ == JmiState::Proceeded && carbon) return ignored;  // addressed to another device
      state_ = JmiState::Finished;
      last_reason_ = message.reason;
      return JmiStep{JmiEvent::Finished, {}};
    case JmiType::Accept:
    case JmiType::Proceed:
      if (!from_sibling || state_ != JmiState::Ringing) return ignored;
      state_ = JmiState::AcceptedElsewhere;
      return JmiStep{JmiEvent::AcceptedElsewhere, {}};
    case JmiType::Reject:
      if (!from_sibling || state_ != JmiState::Ringing) return ignored;
      state_ = JmiState::RejectedElsewhere;
      last_reason_ = message.reason;
      return JmiStep{JmiEvent::RejectedElsewhere, {}};
    case JmiType::Propose:
    case JmiType::Ringing: break;
  }
  return ignored;
}

Result<JmiStep> JmiCall::ring() {
  if (role_ != JmiRole::Callee || state_ != JmiState::Ringing || ringing_sent_)
    return notNow(state_, "ringing");
  ringing_sent_ = true;
  JmiStep step;
  step.send.push_back({peer_, make(JmiType::Ringing)});
  return step;
}

Result<JmiStep> JmiCall::proceed(std::optional<std::string> device_id) {
  if (role_ != JmiRole::Callee || state_ != JmiState::Ringing) return notNow(state_, "proceed");
  state_ = JmiState::Proceeded;
  JmiStep step;
  step.send.push_back({self_.bareJID(), make(JmiType::Accept)});
  JmiMessage proceed = make(JmiType::Proceed);
  proceed.device_id = std::move(device_id);
  step.send.push_back({peer_, std::move(proceed)});
  return step;
}

Result<JmiStep> JmiCall::reject(std::optional<Reason> reason) {
  if (role_ != JmiRole::Callee || state_ != JmiState::Ringing) return notNow(state_, "reject");
  state_ = JmiState::Rejected;
  JmiMessage m = make(JmiType::Reject);
  m.reason = reason ? std::move(reason) : Reason::of(ReasonCondition::Busy);
  JmiStep step;
  step.send.push_back({peer_, std::move(m)});
  return step;
}

Result<JmiStep> JmiCall::retract(std::optional<Reason> reason) {
  if (role_ != JmiRole::Caller ||
      (state_ != JmiState::Proposed && state_ != JmiState::RemoteRinging)) {
    return notNow(state_, "retract");
  }
  state_ = JmiState::Retracted;
  JmiMessage m = make(JmiType::Retract);
  m.reason = reason ? std::move(reason) : Reason::of(ReasonCondition::Cancel);
  JmiStep step;
  step.send.push_back({peer_, std::move(m)});
  return step;
}

Result<JmiStep> JmiCall::finish(std::optional<Reason> reason) {
  if (state_ != JmiState::Proceeded) return notNow(state_, "finish");
  state_ = JmiState::Finished;
  JmiMessage m = make(JmiType::Finish);
  m.reason = reason ? std::move(reason) : Reason::of(ReasonCondition::Success);
  JmiStep step;
  step.send.push_back({device_, std::move(m)});
  return step;
}

}  // namespace tern::signaling
