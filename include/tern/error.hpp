// Tern public API: errors as values.
//
// Every fallible call returns a Result<T> (a value or an Error); asynchronous
// failures reach the application as an Error through a callback. Nothing in the
// public API throws for a network, protocol or peer failure.
#pragma once

#include <tern/export.hpp>

#include <string>
#include <utility>
#include <variant>

namespace tern {

/// What kind of failure an Error is. Samples map each category to its own exit code.
enum class ErrorCategory {
    InvalidArgument,     ///< the caller passed something unusable (bad JID, missing file...)
    NotConnected,        ///< the XMPP client is not connected
    PeerUnavailable,     ///< the peer is offline or did not answer
    FeatureNotSupported, ///< the peer does not support what is needed (XEP-0030 features)
    Declined,            ///< the peer declined the session
    Cancelled,           ///< cancelled by the local app or by the peer
    NoIcePath,           ///< ICE found no working candidate pair (or it stopped working)
    Security,            ///< DTLS failed, or fingerprint missing or mismatching
    HashMismatch,        ///< received data does not match the announced hash
    Io,                  ///< a local file could not be read or written
    Timeout,             ///< a bounded wait ran out
    Protocol,            ///< the peer sent something invalid or out of order
    PeerGone,            ///< the peer stopped responding mid-session
    Internal,            ///< a bug or an unexpected library failure
};

/// Stable lower-case name of a category ("no-ice-path", "hash-mismatch", ...).
TERN_EXPORT const char* toString(ErrorCategory category) noexcept;

struct Error {
    ErrorCategory category = ErrorCategory::Internal;
    std::string message;
};

/// Value-or-error. `ok()` tells which; `value()`/`error()` must match it.
template <class T>
class Result {
public:
    Result(T value) : v_(std::move(value)) {}            // NOLINT(google-explicit-constructor)
    Result(Error error) : v_(std::move(error)) {}        // NOLINT(google-explicit-constructor)
    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    const Error& error() const { return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

}  // namespace tern
