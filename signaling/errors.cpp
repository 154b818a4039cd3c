#include "tern/signaling/errors.hpp"

#include <gloox/error.h>
#include <gloox/tag.h>

#include "tern/signaling/namespaces.hpp"
#include "xml_util.hpp"

namespace tern::signaling {

std::string_view toString(StanzaErrorType type) noexcept {
  switch (type) {
    case StanzaErrorType::Auth: return "auth";
    case StanzaErrorType::Cancel: return "cancel";
    case StanzaErrorType::Continue: return "continue";
    case StanzaErrorType::Modify: return "modify";
    case StanzaErrorType::Wait: return "wait";
  }
  return "cancel";
}

std::string_view toString(StanzaCondition condition) noexcept {
  switch (condition) {
    case StanzaCondition::BadRequest: return "bad-request";
    case StanzaCondition::Conflict: return "conflict";
    case StanzaCondition::FeatureNotImplemented: return "feature-not-implemented";
    case StanzaCondition::Forbidden: return "forbidden";
    case StanzaCondition::InternalServerError: return "internal-server-error";
    case StanzaCondition::ItemNotFound: return "item-not-found";
    case StanzaCondition::NotAcceptable: return "not-acceptable";
    case StanzaCondition::NotAllowed: return "not-allowed";
    case StanzaCondition::ResourceConstraint: return "resource-constraint";
    case StanzaCondition::ServiceUnavailable: return "service-unavailable";
    case StanzaCondition::UnexpectedRequest: return "unexpected-request";
  }
  return "undefined-condition";
}

std::string_view toString(JingleCondition condition) noexcept {
  switch (condition) {
    case JingleCondition::None: return {};
    case JingleCondition::OutOfOrder: return "out-of-order";
    case JingleCondition::TieBreak: return "tie-break";
    case JingleCondition::UnknownSession: return "unknown-session";
    case JingleCondition::UnsupportedInfo: return "unsupported-info";
    case JingleCondition::SecurityRequired: return "security-required";
  }
  return {};
}

Error Error::badRequest(std::string text) {
  return {StanzaCondition::BadRequest, StanzaErrorType::Modify, JingleCondition::None, std::move(text)};
}
Error Error::featureNotImplemented(std::string text) {
  return {StanzaCondition::FeatureNotImplemented, StanzaErrorType::Cancel, JingleCondition::None, std::move(text)};
}
Error Error::unknownSession() {
  return {StanzaCondition::ItemNotFound, StanzaErrorType::Cancel, JingleCondition::UnknownSession, {}};
}
Error Error::outOfOrder(std::string text) {
  return {StanzaCondition::UnexpectedRequest, StanzaErrorType::Cancel, JingleCondition::OutOfOrder, std::move(text)};
}
Error Error::tieBreak() {
  return {StanzaCondition::Conflict, StanzaErrorType::Cancel, JingleCondition::TieBreak, {}};
}
Error Error::unsupportedInfo() {
  return {StanzaCondition::FeatureNotImplemented, StanzaErrorType::Modify, JingleCondition::UnsupportedInfo, {}};
}
Error Error::resourceConstraint(std::string text) {
  return {StanzaCondition::ResourceConstraint, StanzaErrorType::Wait, JingleCondition::None, std::move(text)};
}
Error Error::securityRequired() {
  return {StanzaCondition::NotAcceptable, StanzaErrorType::Cancel, JingleCondition::SecurityRequired, {}};
}
Error Error::serviceUnavailable() {
  return {StanzaCondition::ServiceUnavailable, StanzaErrorType::Cancel, JingleCondition::None, {}};
}

bool operator==(const Error& a, const Error& b) noexcept {
  return a.condition == b.condition && a.type == b.type && a.jingle == b.jingle && a.text == b.text;
}

gloox::Tag* makeErrorTag(const Error& error) {
  gloox::Tag* tag = detail::newTag("error");
  tag->addAttribute("type", std::string(toString(error.type)));
  detail::addChild(tag, std::string(toString(error.condition)), ns::kStanzas);
  if (!error.text.empty()) {
    gloox::Tag* text = detail::addChild(tag, "text", ns::kStanzas);
    text->addAttribute("xml:lang", "en");
    detail::setText(text, error.text);
  }
  if (error.jingle != JingleCondition::None) {
    detail::addChild(tag, std::string(toString(error.jingle)), ns::kJingleErrors);
  }
  return tag;
}

namespace {

gloox::StanzaErrorType toGloox(StanzaErrorType type) {
  switch (type) {
    case StanzaErrorType::Auth: return gloox::StanzaErrorTypeAuth;
    case StanzaErrorType::Cancel: return gloox::StanzaErrorTypeCancel;
    case StanzaErrorType::Continue: return gloox::StanzaErrorTypeContinue;
    case StanzaErrorType::Modify: return gloox::StanzaErrorTypeModify;
    case StanzaErrorType::Wait: return gloox::StanzaErrorTypeWait;
  }
  return gloox::StanzaErrorTypeCancel;
}

gloox::StanzaError toGloox(StanzaCondition condition) {
  switch (condition) {
    case StanzaCondition::BadRequest: return gloox::StanzaErrorBadRequest;
    case StanzaCondition::Conflict: return gloox::StanzaErrorConflict;
    case StanzaCondition::FeatureNotImplemented: return gloox::StanzaErrorFeatureNotImplemented;
    case StanzaCondition::Forbidden: return gloox::StanzaErrorForbidden;
    case StanzaCondition::InternalServerError: return gloox::StanzaErrorInternalServerError;
    case StanzaCondition::ItemNotFound: return gloox::StanzaErrorItemNotFound;
    case StanzaCondition::NotAcceptable: return gloox::StanzaErrorNotAcceptable;
    case StanzaCondition::NotAllowed: return gloox::StanzaErrorNotAllowed;
    case StanzaCondition::ResourceConstraint: return gloox::StanzaErrorResourceConstraint;
    case StanzaCondition::ServiceUnavailable: return gloox::StanzaErrorServiceUnavailable;
    case StanzaCondition::UnexpectedRequest: return gloox::StanzaErrorUnexpectedRequest;
  }
  return gloox::StanzaErrorUndefinedCondition;
}

}  // namespace

gloox::Error* makeGlooxError(const Error& error) {
  gloox::Tag* app = nullptr;
  if (error.jingle != JingleCondition::None) {
    app = detail::newTag(std::string(toString(error.jingle)), ns::kJingleErrors);
  }
  auto* e = new gloox::Error(toGloox(error.type), toGloox(error.condition), app);
  if (!error.text.empty()) {
    e->setText(detail::xmlSafe(error.text), "en");
  }
  return e;
}

}  // namespace tern::signaling
