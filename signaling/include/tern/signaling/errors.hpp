// Stanza errors for Jingle IQs, and the value-or-error type the signaling API returns.
//
// Implements:
//   - RFC 6120 section 8.3 (stanza error syntax: <error type='...'><condition/>[<text/>][app]</error>)
//   - XEP-0166 section 10 (Jingle error conditions, urn:xmpp:jingle:errors:1) and
//     section 9 (<security-required/>)
//
// Nothing in tern::signaling throws on bad input: every parser and every SessionTable
// call returns a Result<T> (a value or an Error). An Error carries exactly what the
// engine needs to answer the offending IQ with type='error'.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace gloox {
class Tag;
class Error;
}  // namespace gloox

namespace tern::signaling {

/// RFC 6120 8.3.2 error types.
enum class StanzaErrorType { Auth, Cancel, Continue, Modify, Wait };

/// The RFC 6120 8.3.3 defined conditions that this layer produces.
enum class StanzaCondition {
  BadRequest,
  Conflict,
  FeatureNotImplemented,
  Forbidden,
  InternalServerError,
  ItemNotFound,
  NotAcceptable,
  NotAllowed,
  ResourceConstraint,
  ServiceUnavailable,
  UnexpectedRequest,
};

/// XEP-0166 section 10 (and section 9) application-specific conditions.
enum class JingleCondition { None, OutOfOrder, TieBreak, UnknownSession, UnsupportedInfo, SecurityRequired };

std::string_view toString(StanzaErrorType type) noexcept;
std::string_view toString(StanzaCondition condition) noexcept;
/// Empty for JingleCondition::None.
std::string_view toString(JingleCondition condition) noexcept;

/// An error to send back in an IQ of type 'error'.
struct Error {
  StanzaCondition condition = StanzaCondition::BadRequest;
  StanzaErrorType type = StanzaErrorType::Modify;
  JingleCondition jingle = JingleCondition::None;
  /// Human-readable detail. Goes into <text/> (English); never contains peer-controlled bytes
  /// unescaped (the serializer escapes, see makeErrorTag).
  std::string text;

  /// bad-request, type modify (XEP-0166 6.3.2 example uses cancel; RFC 6120 8.3.3.1 uses modify;
  /// both are accepted by every client we know; modify is the RFC default).
  static Error badRequest(std::string text = {});
  /// feature-not-implemented, type cancel.
  static Error featureNotImplemented(std::string text = {});
  /// item-not-found + <unknown-session/>, type cancel (XEP-0166 6.7, example 29).
  static Error unknownSession();
  /// unexpected-request + <out-of-order/>, type cancel (XEP-0166 section 10).
  static Error outOfOrder(std::string text = {});
  /// conflict + <tie-break/>, type cancel (XEP-0166 7.2.16, example 34).
  static Error tieBreak();
  /// feature-not-implemented + <unsupported-info/>, type modify (XEP-0166 6.8, example 31).
  static Error unsupportedInfo();
  /// resource-constraint, type wait (XEP-0166 6.3.2, example 15).
  static Error resourceConstraint(std::string text = {});
  /// not-acceptable + <security-required/>, type cancel (XEP-0166 section 9, example 37).
  static Error securityRequired();
  /// service-unavailable, type cancel (XEP-0166 6.3.2, examples 12 and 13).
  static Error serviceUnavailable();
};

bool operator==(const Error& a, const Error& b) noexcept;
inline bool operator!=(const Error& a, const Error& b) noexcept { return !(a == b); }

/// Builds the <error type='...'> child for an IQ of type 'error':
///   <error type='cancel'>
///     <item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
///     [<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>...</text>]
///     <unknown-session xmlns='urn:xmpp:jingle:errors:1'/>
///   </error>
/// The caller owns the returned Tag (attach it to an IQ with gloox::Tag::addChild).
gloox::Tag* makeErrorTag(const Error& error);

/// The same error as a gloox::Error stanza extension, for `gloox::IQ::addExtension()`.
/// The caller owns the returned object.
gloox::Error* makeGlooxError(const Error& error);

/// Value-or-error. Modelled on WebRTC's RTCErrorOr<T>.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}          // NOLINT(implicit)
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}      // NOLINT(implicit)

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  /// Precondition: ok().
  const T& value() const& { return std::get<0>(v_); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  /// Precondition: !ok().
  const Error& error() const& { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

/// Success-or-error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT(implicit)
  static Result success() { return Result(); }

  bool ok() const noexcept { return !error_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  /// Precondition: !ok().
  const Error& error() const& { return *error_; }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;

}  // namespace tern::signaling
