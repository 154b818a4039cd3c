#include "tern/signaling/extdisco.hpp"

#include <gloox/tag.h>

#include "tern/signaling/limits.hpp"
#include "tern/signaling/namespaces.hpp"
#include "xml_util.hpp"

namespace tern::signaling {

std::string_view toString(ExternalServiceType type) noexcept {
  switch (type) {
    case ExternalServiceType::Stun: return "stun";
    case ExternalServiceType::Turn: return "turn";
    case ExternalServiceType::Turns: return "turns";
  }
  return "stun";
}

std::uint16_t ExternalService::effectivePort() const noexcept {
  if (port) return *port;
  return type == ExternalServiceType::Turns ? 5349 : 3478;
}

ExternalServiceTransport ExternalService::effectiveTransport() const noexcept {
  if (transport) return *transport;
  return type == ExternalServiceType::Turns ? ExternalServiceTransport::Tcp : ExternalServiceTransport::Udp;
}

gloox::Tag* makeServicesQuery(std::optional<ExternalServiceType> type) {
  gloox::Tag* tag = detail::newTag("services", ns::kExtDisco);
  if (type) tag->addAttribute("type", std::string(toString(*type)));
  return tag;
}

gloox::Tag* makeCredentialsQuery(const std::string& host, ExternalServiceType type, std::optional<std::uint16_t> port) {
  gloox::Tag* tag = detail::newTag("credentials", ns::kExtDisco);
  gloox::Tag* service = detail::addChild(tag, "service");
  detail::setAttribute(service, "host", host);
  service->addAttribute("type", std::string(toString(type)));
  if (port) service->addAttribute("port", std::to_string(*port));
  return tag;
}

namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t daysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::optional<ExternalServiceType> serviceType(std::string_view value) {
  if (detail::equalsIgnoreCase(value, "stun")) return ExternalServiceType::Stun;
  if (detail::equalsIgnoreCase(value, "turn")) return ExternalServiceType::Turn;
  if (detail::equalsIgnoreCase(value, "turns")) return ExternalServiceType::Turns;
  return std::nullopt;
}

// nullopt: skip this service (not ours, or unusable).
std::optional<ExternalService> parseService(const gloox::Tag& tag) {
  if (!detail::checkAttributes(tag)) return std::nullopt;
  auto type = detail::attribute(tag, "type");
  if (!type) return std::nullopt;
  const auto t = serviceType(*type);
  if (!t) return std::nullopt;
  ExternalService s;
  s.type = *t;
  auto host = detail::attribute(tag, "host");
  if (!host) return std::nullopt;
  s.host = std::move(*host);
  if (auto port = detail::attribute(tag, "port")) {
    auto p = detail::parseUnsigned(*port, 65535);
    if (!p || *p == 0) return std::nullopt;
    s.port = static_cast<std::uint16_t>(*p);
  }
  if (auto transport = detail::attribute(tag, "transport")) {
    if (detail::equalsIgnoreCase(*transport, "udp")) s.transport = ExternalServiceTransport::Udp;
    else if (detail::equalsIgnoreCase(*transport, "tcp")) s.transport = ExternalServiceTransport::Tcp;
    else return std::nullopt;  // e.g. sctp: not something we can use
  }
  s.username = detail::attribute(tag, "username");
  s.password = detail::attribute(tag, "password");
  s.expires = detail::attribute(tag, "expires");
  if (s.expires) s.expires_unix = parseXmppDateTime(*s.expires);
  if (auto restricted = detail::attribute(tag, "restricted")) {
    s.restricted = *restricted == "true" || *restricted == "1";
  }
  s.name = detail::attribute(tag, "name").value_or(std::string());
  if (auto action = detail::attribute(tag, "action")) s.action = std::move(*action);
  return s;
}

}  // namespace

std::optional<std::int64_t> parseXmppDateTime(std::string_view text) noexcept {
  // CCYY-MM-DDThh:mm:ss[.sss]TZD, TZD = Z | (+|-)hh:mm  (XEP-0082 section 3.2)
  const std::string_view s = detail::trim(text);
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, month) || s[7] != '-' ||
      !digits(s, 8, 2, day) || s[10] != 'T' || !digits(s, 11, 2, hour) || s[13] != ':' ||
      !digits(s, 14, 2, minute) || s[16] != ':' || !digits(s, 17, 2, second)) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    if (pos == start) return std::nullopt;
  }
  int offset_minutes = 0;
  if (pos < s.size() && s[pos] == 'Z') {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh = 0, om = 0;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' || !digits(s, pos + 4, 2, om) ||
        oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_minutes = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  static constexpr int kDaysInMonth[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 || day > kDaysInMonth[month - 1] || hour > 23 || minute > 59 ||
      second > 60) {
    return std::nullopt;
  }
  const std::int64_t days = daysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return days * 86400 + hour * 3600 + minute * 60 + second - static_cast<std::int64_t>(offset_minutes) * 60;
}

Result<std::vector<ExternalService>> parseExternalServices(const gloox::Tag& services) noexcept {
  try {
    if ((services.name() != "services" && services.name() != "credentials") ||
        detail::namespaceOf(services) != ns::kExtDisco) {
      return Error::badRequest("not an urn:xmpp:extdisco:2 services/credentials element");
    }
    std::vector<ExternalService> out;
    for (const gloox::Tag* child : services.children()) {
      if (child == nullptr || child->name() != "service" || detail::namespaceOf(*child) != ns::kExtDisco) continue;
      if (out.size() >= limits::kMaxExternalServices) break;
      if (auto s = parseService(*child)) out.push_back(std::move(*s));
    }
    return out;
  } catch (...) {
    return Error::badRequest("malformed external services");
  }
}

}  // namespace tern::signaling
