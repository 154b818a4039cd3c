// XEP-0215 (External Service Discovery, urn:xmpp:extdisco:2): asking the XMPP server for
// STUN/TURN servers and their (time-limited) credentials.
//
// Implements section 3.1/3.2 (<services [type]/> query and result), 3.3 (<credentials/> query and
// result) and the service attributes of section 2. Only stun, turn and turns services are kept;
// other types (ftp, ...) and services without a host are skipped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/signaling/errors.hpp"

namespace gloox {
class Tag;
}

namespace tern::signaling {

enum class ExternalServiceType { Stun, Turn, Turns };
enum class ExternalServiceTransport { Udp, Tcp };
std::string_view toString(ExternalServiceType type) noexcept;

struct ExternalService {
  ExternalServiceType type = ExternalServiceType::Stun;
  std::string host;
  std::optional<std::uint16_t> port;         ///< as sent; see effectivePort()
  std::optional<ExternalServiceTransport> transport;  ///< as sent; see effectiveTransport()
  std::optional<std::string> username;
  std::optional<std::string> password;
  std::optional<std::string> expires;        ///< XEP-0082 DateTime, as sent
  std::optional<std::int64_t> expires_unix;  ///< `expires` as seconds since the epoch, if it parses
  bool restricted = false;
  std::string name;
  std::string action = "add";                ///< pushes: add / modify / delete (or "remove")

  /// `port`, else 3478 (stun/turn) or 5349 (turns) (RFC 8489 / RFC 8656 defaults).
  std::uint16_t effectivePort() const noexcept;
  /// `transport`, else udp for stun/turn and tcp for turns.
  ExternalServiceTransport effectiveTransport() const noexcept;
};

/// <services xmlns='urn:xmpp:extdisco:2' [type='turn']/> to put in an IQ-get to the server.
gloox::Tag* makeServicesQuery(std::optional<ExternalServiceType> type = std::nullopt);
/// <credentials xmlns='urn:xmpp:extdisco:2'><service host type [port]/></credentials>.
gloox::Tag* makeCredentialsQuery(const std::string& host, ExternalServiceType type,
                                 std::optional<std::uint16_t> port = std::nullopt);

/// Parses a <services/> or <credentials/> element from an IQ result (or a push). At most
/// limits::kMaxExternalServices services are returned. Error only if the element itself is not
/// an extdisco:2 services/credentials element.
Result<std::vector<ExternalService>> parseExternalServices(const gloox::Tag& services) noexcept;

/// XEP-0082 DateTime ("2026-11-24T22:21:27Z", "...27.609+01:00") to Unix seconds.
std::optional<std::int64_t> parseXmppDateTime(std::string_view text) noexcept;

}  // namespace tern::signaling
