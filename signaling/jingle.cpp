#include "tern/signaling/jingle.hpp"

#include <set>
#include <utility>

#include <gloox/tag.h>

#include "tern/signaling/limits.hpp"
#include "tern/signaling/namespaces.hpp"
#include "xml_util.hpp"

namespace tern::signaling {

using detail::namespaceOf;

namespace {

struct ActionName {
  Action action;
  std::string_view name;
};

constexpr ActionName kActions[] = {
    {Action::ContentAccept, "content-accept"},       {Action::ContentAdd, "content-add"},
    {Action::ContentModify, "content-modify"},       {Action::ContentReject, "content-reject"},
    {Action::ContentRemove, "content-remove"},       {Action::DescriptionInfo, "description-info"},
    {Action::SecurityInfo, "security-info"},         {Action::SessionAccept, "session-accept"},
    {Action::SessionInfo, "session-info"},           {Action::SessionInitiate, "session-initiate"},
    {Action::SessionTerminate, "session-terminate"}, {Action::TransportAccept, "transport-accept"},
    {Action::TransportInfo, "transport-info"},       {Action::TransportReject, "transport-reject"},
    {Action::TransportReplace, "transport-replace"},
};

struct ReasonName {
  ReasonCondition condition;
  std::string_view name;
};

constexpr ReasonName kReasons[] = {
    {ReasonCondition::AlternativeSession, "alternative-session"},
    {ReasonCondition::Busy, "busy"},
    {ReasonCondition::Cancel, "cancel"},
    {ReasonCondition::ConnectivityError, "connectivity-error"},
    {ReasonCondition::Decline, "decline"},
    {ReasonCondition::Expired, "expired"},
    {ReasonCondition::FailedApplication, "failed-application"},
    {ReasonCondition::FailedTransport, "failed-transport"},
    {ReasonCondition::GeneralError, "general-error"},
    {ReasonCondition::Gone, "gone"},
    {ReasonCondition::IncompatibleParameters, "incompatible-parameters"},
    {ReasonCondition::MediaError, "media-error"},
    {ReasonCondition::SecurityError, "security-error"},
    {ReasonCondition::Success, "success"},
    {ReasonCondition::Timeout, "timeout"},
    {ReasonCondition::UnsupportedApplications, "unsupported-applications"},
    {ReasonCondition::UnsupportedTransports, "unsupported-transports"},
};

struct InfoName {
  SessionInfoPayload::Kind kind;
  std::string_view name;
};

constexpr InfoName kRtpInfo[] = {
    {SessionInfoPayload::Kind::Active, "active"}, {SessionInfoPayload::Kind::Hold, "hold"},
    {SessionInfoPayload::Kind::Unhold, "unhold"}, {SessionInfoPayload::Kind::Mute, "mute"},
    {SessionInfoPayload::Kind::Unmute, "unmute"}, {SessionInfoPayload::Kind::Ringing, "ringing"},
};

Result<Description> parseDescription(const gloox::Tag& tag) {
  if (auto s = detail::checkAttributes(tag); !s) return s.error();
  Description d;
  d.xmlns = namespaceOf(tag);
  if (fileTransferVersion(d.xmlns)) {
    d.kind = ApplicationKind::FileTransfer;
    auto ft = parseFileTransferDescription(tag);
    if (!ft) return ft.error();
    d.file_transfer = std::move(ft.value());
    return d;
  }
  d.kind = d.xmlns == ns::kRtp ? ApplicationKind::Rtp : ApplicationKind::Unknown;
  d.media = detail::attribute(tag, "media").value_or(std::string());
  if (d.kind == ApplicationKind::Rtp) {
    auto rtp = parseRtpDescription(tag);
    if (!rtp) return rtp.error();
    d.rtp = std::move(rtp.value());
  }
  auto raw = detail::cloneOpaque(tag);
  if (!raw) return raw.error();
  d.raw = std::move(raw.value());
  return d;
}

Result<Content> parseContent(const gloox::Tag& tag) {
  if (auto s = detail::checkAttributes(tag); !s) return s.error();
  Content c;
  if (auto creator = detail::attribute(tag, "creator")) {
    if (*creator == "initiator") c.creator = Creator::Initiator;
    else if (*creator == "responder") c.creator = Creator::Responder;
    else return Error::badRequest("<content/> with an invalid 'creator'");
  }
  auto name = detail::attribute(tag, "name");
  if (!name) return Error::badRequest("<content/> without 'name'");
  c.name = std::move(*name);
  if (auto senders = detail::attribute(tag, "senders")) {
    if (*senders == "both") c.senders = Senders::Both;
    else if (*senders == "initiator") c.senders = Senders::Initiator;
    else if (*senders == "responder") c.senders = Senders::Responder;
    else if (*senders == "none") c.senders = Senders::None;
    else return Error::badRequest("<content/> with an invalid 'senders'");
  }
  if (auto disposition = detail::attribute(tag, "disposition")) c.disposition = std::move(*disposition);
  for (const gloox::Tag* child : tag.children()) {
    if (child == nullptr) continue;
    if (child->name() == "description" && !c.description) {
      auto d = parseDescription(*child);
      if (!d) return d.error();
      c.description = std::move(d.value());
    } else if (child->name() == "transport" && !c.transport) {
      auto t = parseTransport(*child);
      if (!t) return t.error();
      c.transport = std::move(t.value());
    }
  }
  return c;
}

Result<Reason> parseReasonImpl(const gloox::Tag& tag) {
  if (auto s = detail::checkAttributes(tag); !s) return s.error();
  Reason r;
  r.condition = ReasonCondition::Unknown;
  bool have_condition = false;
  for (const gloox::Tag* child : tag.children()) {
    if (child == nullptr) continue;
    const std::string cns = namespaceOf(*child);
    if (cns != ns::kJingle) {
      if (r.app_condition_name.empty()) {
        if (auto s = detail::checkAttributes(*child); !s) return s.error();
        r.app_condition_ns = cns;
        r.app_condition_name = child->name();
      }
      continue;
    }
    if (child->name() == "text") {
      if (!r.text) {
        auto t = detail::text(*child);
        if (!t) return t.error();
        r.text = std::move(t.value());
      }
      continue;
    }
    if (have_condition) continue;
    have_condition = true;
    r.condition_name = child->name();
    r.condition = reasonFromString(child->name());
    if (r.condition == ReasonCondition::AlternativeSession) {
      if (const gloox::Tag* sid = detail::findChild(*child, "sid", ns::kJingle)) {
        auto t = detail::text(*sid);
        if (!t) return t.error();
        if (!t.value().empty()) r.alternative_sid = std::move(t.value());
      }
    }
  }
  return r;
}

Result<std::optional<Group>> parseGroup(const gloox::Tag& tag) {
  if (auto s = detail::checkAttributes(tag); !s) return s.error();
  Group g;
  g.legacy_namespace = namespaceOf(tag) == ns::kGroupingLegacy;
  auto semantics = detail::attribute(tag, "semantics");
  if (!semantics) semantics = detail::attribute(tag, "type");  // pre-XEP-0338 drafts
  if (!semantics) return std::optional<Group>();
  g.semantics = std::move(*semantics);
  for (const gloox::Tag* child : tag.children()) {
    if (child == nullptr || child->name() != "content") continue;
    if (g.contents.size() >= limits::kMaxGroupContents) return Error::badRequest("too many contents in <group/>");
    if (auto s = detail::checkAttributes(*child); !s) return s.error();
    if (auto name = detail::attribute(*child, "name")) g.contents.push_back(std::move(*name));
  }
  return std::optional<Group>(std::move(g));
}

Result<SessionInfoPayload> parseSessionInfoPayload(const gloox::Tag& tag) {
  if (auto s = detail::checkAttributes(tag); !s) return s.error();
  SessionInfoPayload p;
  p.xmlns = namespaceOf(tag);
  p.name = tag.name();
  if (fileTransferVersion(p.xmlns)) {
    if (p.name == "checksum") {
      auto c = parseChecksum(tag);
      if (!c) return c.error();
      p.kind = SessionInfoPayload::Kind::Checksum;
      p.checksum = std::move(c.value());
      return p;
    }
    if (p.name == "received") {
      auto r = parseReceived(tag);
      if (!r) return r.error();
      p.kind = SessionInfoPayload::Kind::Received;
      p.received = std::move(r.value());
      return p;
    }
  } else if (p.xmlns == ns::kRtpInfo) {
    for (const InfoName& info : kRtpInfo) {
      if (p.name == info.name) {
        p.kind = info.kind;
        p.creator = detail::attribute(tag, "creator");
        p.content_name = detail::attribute(tag, "name");
        return p;
      }
    }
  }
  p.kind = SessionInfoPayload::Kind::Unknown;
  return p;
}

Result<Jingle> parseJingleImpl(const gloox::Tag& tag) {
  if (tag.name() != "jingle" || namespaceOf(tag) != ns::kJingle) {
    return Error::badRequest("not a <jingle xmlns='urn:xmpp:jingle:1'/> element");
  }
  if (auto s = detail::checkAttributes(tag); !s) return s.error();
  Jingle j;
  auto action = detail::attribute(tag, "action");
  if (!action) return Error::badRequest("<jingle/> without 'action'");
  j.action = actionFromString(*action);
  if (j.action == Action::Unknown) return Error::badRequest("unknown Jingle action");
  auto sid = detail::attribute(tag, "sid");
  if (!sid) return Error::badRequest("<jingle/> without 'sid'");
  j.sid = std::move(*sid);
  j.initiator = detail::attribute(tag, "initiator");
  j.responder = detail::attribute(tag, "responder");
  for (const gloox::Tag* child : tag.children()) {
    if (child == nullptr) continue;
    const std::string cns = namespaceOf(*child);
    const std::string& name = child->name();
    if (cns == ns::kJingle) {
      if (name == "content") {
        if (j.contents.size() >= limits::kMaxContents) return Error::badRequest("too many contents");
        auto c = parseContent(*child);
        if (!c) return c.error();
        j.contents.push_back(std::move(c.value()));
      } else if (name == "reason" && !j.reason) {
        auto r = parseReasonImpl(*child);
        if (!r) return r.error();
        j.reason = std::move(r.value());
      }
      continue;
    }
    if (name == "group" && (cns == ns::kGrouping || cns == ns::kGroupingLegacy)) {
      if (j.groups.size() >= limits::kMaxGroups) return Error::badRequest("too many groups");
      auto g = parseGroup(*child);
      if (!g) return g.error();
      if (g.value()) j.groups.push_back(std::move(*g.value()));
      continue;
    }
    if (j.action == Action::SessionInfo) {
      if (j.session_info.size() >= limits::kMaxSessionInfoPayloads) {
        return Error::badRequest("too many session-info payloads");
      }
      auto p = parseSessionInfoPayload(*child);
      if (!p) return p.error();
      j.session_info.push_back(std::move(p.value()));
    }
  }
  return j;
}

gloox::Tag* serializeDescription(const Description& d) {
  if (d.kind == ApplicationKind::FileTransfer) {
    if (d.file_transfer) return serializeFileTransferDescription(*d.file_transfer);
    FileTransferDescription empty;
    if (auto v = fileTransferVersion(d.xmlns)) empty.version = *v;
    return serializeFileTransferDescription(empty);
  }
  if (d.kind == ApplicationKind::Rtp && d.rtp) return serializeRtpDescription(*d.rtp);
  if (d.raw) return detail::emitOpaque(*d.raw);
  gloox::Tag* tag = detail::newTag("description", detail::xmlSafe(d.kind == ApplicationKind::Rtp ? ns::kRtp : d.xmlns));
  detail::setAttribute(tag, "media", d.media);
  return tag;
}

gloox::Tag* serializeContent(const Content& c) {
  gloox::Tag* tag = detail::newTag("content");
  tag->addAttribute("creator", std::string(toString(c.creator)));
  detail::setAttribute(tag, "name", c.name);
  if (c.senders) tag->addAttribute("senders", std::string(toString(*c.senders)));
  if (!c.disposition.empty() && c.disposition != "session") detail::setAttribute(tag, "disposition", c.disposition);
  if (c.description) tag->addChild(serializeDescription(*c.description));
  if (c.transport) tag->addChild(serializeTransport(*c.transport));
  return tag;
}

gloox::Tag* serializeReasonImpl(const Reason& r) {
  gloox::Tag* tag = detail::newTag("reason");
  std::string name;
  if (r.condition != ReasonCondition::Unknown) {
    name = std::string(toString(r.condition));
  } else {
    name = r.condition_name.empty() ? std::string("general-error") : detail::xmlSafe(r.condition_name);
  }
  gloox::Tag* cond = detail::addChild(tag, name);
  if (r.condition == ReasonCondition::AlternativeSession && r.alternative_sid) {
    detail::setText(detail::addChild(cond, "sid"), *r.alternative_sid);
  }
  if (r.text && !r.text->empty()) {
    detail::setText(detail::addChild(tag, "text"), *r.text);
  }
  if (!r.app_condition_name.empty() && !r.app_condition_ns.empty()) {
    detail::addChild(tag, detail::xmlSafe(r.app_condition_name), detail::xmlSafe(r.app_condition_ns));
  }
  return tag;
}

gloox::Tag* serializeGroup(const Group& g) {
  gloox::Tag* tag = detail::newTag("group", g.legacy_namespace ? ns::kGroupingLegacy : ns::kGrouping);
  detail::setAttribute(tag, "semantics", g.semantics);
  for (const std::string& name : g.contents) {
    detail::setAttribute(detail::addChild(tag, "content"), "name", name);
  }
  return tag;
}

gloox::Tag* serializeSessionInfoPayload(const SessionInfoPayload& p) {
  switch (p.kind) {
    case SessionInfoPayload::Kind::Checksum:
      if (p.checksum) return serializeChecksum(*p.checksum);
      break;
    case SessionInfoPayload::Kind::Received:
      if (p.received) return serializeReceived(*p.received);
      break;
    case SessionInfoPayload::Kind::Unknown:
      break;
    default:
      for (const InfoName& info : kRtpInfo) {
        if (info.kind == p.kind) {
          gloox::Tag* tag = detail::newTag(std::string(info.name), ns::kRtpInfo);
          if (p.creator) detail::setAttribute(tag, "creator", *p.creator);
          if (p.content_name) detail::setAttribute(tag, "name", *p.content_name);
          return tag;
        }
      }
      break;
  }
  if (p.name.empty() || p.xmlns.empty()) return nullptr;
  return detail::newTag(detail::xmlSafe(p.name), detail::xmlSafe(p.xmlns));
}

}  // namespace

std::string_view toString(Action action) noexcept {
  for (const ActionName& a : kActions) {
    if (a.action == action) return a.name;
  }
  return "unknown";
}

Action actionFromString(std::string_view value) noexcept {
  for (const ActionName& a : kActions) {
    if (a.name == value) return a.action;
  }
  return Action::Unknown;
}

std::string_view toString(Creator creator) noexcept {
  return creator == Creator::Responder ? "responder" : "initiator";
}

std::string_view toString(Senders senders) noexcept {
  switch (senders) {
    case Senders::Both: return "both";
    case Senders::Initiator: return "initiator";
    case Senders::Responder: return "responder";
    case Senders::None: return "none";
  }
  return "both";
}

std::string_view toString(ReasonCondition condition) noexcept {
  for (const ReasonName& r : kReasons) {
    if (r.condition == condition) return r.name;
  }
  return "unknown";
}

ReasonCondition reasonFromString(std::string_view value) noexcept {
  for (const ReasonName& r : kReasons) {
    if (r.name == value) return r.condition;
  }
  return ReasonCondition::Unknown;
}

Description Description::fileTransfer(FileTransferDescription description) {
  Description d;
  d.kind = ApplicationKind::FileTransfer;
  d.xmlns = fileTransferNamespace(description.version);
  d.file_transfer = std::move(description);
  return d;
}

Description Description::rtpDescription(RtpDescription description) {
  Description d;
  d.kind = ApplicationKind::Rtp;
  d.xmlns = ns::kRtp;
  d.media = description.media;
  d.rtp = std::move(description);
  return d;
}

Result<Reason> parseReason(const gloox::Tag& reason) noexcept {
  try {
    if (reason.name() != "reason" || namespaceOf(reason) != ns::kJingle) {
      return Error::badRequest("not a <reason xmlns='urn:xmpp:jingle:1'/> element");
    }
    return parseReasonImpl(reason);
  } catch (...) {
    return Error::badRequest("malformed <reason/>");
  }
}

gloox::Tag* serializeReason(const Reason& reason) {
  gloox::Tag* tag = serializeReasonImpl(reason);
  tag->setXmlns(ns::kJingle);
  return tag;
}

Senders effectiveSenders(const Content& content) noexcept { return content.senders.value_or(Senders::Both); }

Reason Reason::of(ReasonCondition condition, std::optional<std::string> text) {
  Reason r;
  r.condition = condition;
  r.condition_name = std::string(toString(condition));
  r.text = std::move(text);
  return r;
}

SessionInfoPayload SessionInfoPayload::of(ChecksumInfo checksum) {
  SessionInfoPayload p;
  p.kind = Kind::Checksum;
  p.xmlns = fileTransferNamespace(checksum.version);
  p.name = "checksum";
  p.checksum = std::move(checksum);
  return p;
}

SessionInfoPayload SessionInfoPayload::of(ReceivedInfo received) {
  SessionInfoPayload p;
  p.kind = Kind::Received;
  p.xmlns = fileTransferNamespace(received.version);
  p.name = "received";
  p.received = std::move(received);
  return p;
}

const Content* Jingle::findContent(std::string_view name) const noexcept {
  for (const Content& c : contents) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

Result<Jingle> parseJingle(const gloox::Tag& jingle) noexcept {
  try {
    return parseJingleImpl(jingle);
  } catch (...) {
    return Error::badRequest("malformed <jingle/>");
  }
}

gloox::Tag* serializeJingle(const Jingle& j) {
  gloox::Tag* tag = detail::newTag("jingle", ns::kJingle);
  tag->addAttribute("action", std::string(toString(j.action)));
  detail::setAttribute(tag, "sid", j.sid);
  if (j.initiator) detail::setAttribute(tag, "initiator", *j.initiator);
  if (j.responder) detail::setAttribute(tag, "responder", *j.responder);
  for (const Content& c : j.contents) tag->addChild(serializeContent(c));
  if (j.reason) tag->addChild(serializeReasonImpl(*j.reason));
  for (const Group& g : j.groups) tag->addChild(serializeGroup(g));
  if (j.action == Action::SessionInfo) {
    for (const SessionInfoPayload& p : j.session_info) {
      if (gloox::Tag* t = serializeSessionInfoPayload(p)) tag->addChild(t);
    }
  }
  return tag;
}

Status validateIncoming(const Jingle& j) {
  if (j.action == Action::Unknown) return Error::badRequest("unknown Jingle action");
  if (j.sid.empty()) return Error::badRequest("<jingle/> without 'sid'");
  std::set<std::pair<Creator, std::string>> seen;
  for (const Content& c : j.contents) {
    if (!seen.emplace(c.creator, c.name).second) {
      return Error::badRequest("duplicate content '" + detail::xmlSafe(c.name.substr(0, 64)) + "'");
    }
  }
  switch (j.action) {
    case Action::SessionInitiate: {
      if (j.contents.empty()) return Error::badRequest("session-initiate without content");
      bool session_disposition = false;
      for (const Content& c : j.contents) {
        if (!c.description) return Error::badRequest("session-initiate content without <description/>");
        if (!c.transport) return Error::badRequest("session-initiate content without <transport/>");
        if (c.disposition == "session") session_disposition = true;
      }
      if (!session_disposition) return Error::badRequest("session-initiate without a 'session' content");
      break;
    }
    case Action::SessionAccept:  // 7.2.8: one or more <content/>
    case Action::ContentAccept:
    case Action::ContentAdd:
    case Action::ContentModify:
    case Action::ContentReject:
    case Action::ContentRemove:
    case Action::TransportAccept:
    case Action::TransportReject:
    case Action::TransportReplace:
      if (j.contents.empty()) return Error::badRequest(std::string(toString(j.action)) + " without content");
      break;
    default:
      break;
  }
  return Status::success();
}

Jingle makeSessionTerminate(std::string sid, Reason reason) {
  Jingle j;
  j.action = Action::SessionTerminate;
  j.sid = std::move(sid);
  j.reason = std::move(reason);
  return j;
}

Jingle makeSessionInfo(std::string sid, SessionInfoPayload payload) {
  Jingle j;
  j.action = Action::SessionInfo;
  j.sid = std::move(sid);
  j.session_info.push_back(std::move(payload));
  return j;
}

}  // namespace tern::signaling
