#include "tern/signaling/ice_udp.hpp"

#include <gloox/tag.h>

#include "tern/signaling/limits.hpp"
#include "tern/signaling/namespaces.hpp"
#include "xml_util.hpp"

namespace tern::signaling {

using detail::namespaceOf;

const char* toString(CandidateType type) noexcept {
  switch (type) {
    case CandidateType::Host: return "host";
    case CandidateType::ServerReflexive: return "srflx";
    case CandidateType::PeerReflexive: return "prflx";
    case CandidateType::Relay: return "relay";
  }
  return "host";
}

const char* toString(DtlsSetup setup) noexcept {
  switch (setup) {
    case DtlsSetup::ActPass: return "actpass";
    case DtlsSetup::Active: return "active";
    case DtlsSetup::Passive: return "passive";
    case DtlsSetup::HoldConn: return "holdconn";
  }
  return "actpass";
}

namespace {

std::optional<CandidateType> candidateType(std::string_view value) {
  if (value == "host") return CandidateType::Host;
  if (value == "srflx") return CandidateType::ServerReflexive;
  if (value == "prflx") return CandidateType::PeerReflexive;
  if (value == "relay") return CandidateType::Relay;
  return std::nullopt;
}

Error missing(const char* element, const char* attr) {
  return Error::badRequest(std::string("<") + element + "/> without '" + attr + "'");
}

template <typename T>
Status required(const gloox::Tag& tag, const char* element, const char* name, std::uint64_t max, T& out) {
  auto v = detail::numericAttribute(tag, name, max);
  if (!v) return v.error();
  if (!v.value()) return missing(element, name);
  out = static_cast<T>(*v.value());
  return Status::success();
}

template <typename T>
Status optional(const gloox::Tag& tag, const char* name, std::uint64_t max, std::optional<T>& out) {
  auto v = detail::numericAttribute(tag, name, max);
  if (!v) return v.error();
  if (v.value()) out = static_cast<T>(*v.value());
  return Status::success();
}

// Returns nullopt (skip) for a candidate of an unknown type; an error when malformed.
Result<std::optional<IceCandidate>> parseCandidate(const gloox::Tag& tag) {
  if (auto s = detail::checkAttributes(tag); !s) return s.error();
  IceCandidate c;
  if (auto s = required(tag, "candidate", "component", 256, c.component); !s) return s.error();
  if (c.component == 0) return Error::badRequest("<candidate/> with component 0");
  if (auto s = required(tag, "candidate", "port", 65535, c.port); !s) return s.error();
  if (auto s = required(tag, "candidate", "priority", UINT32_MAX, c.priority); !s) return s.error();
  std::optional<std::uint32_t> generation;
  if (auto s = optional(tag, "generation", UINT32_MAX, generation); !s) return s.error();
  c.generation = generation.value_or(0);
  if (auto s = optional(tag, "network", UINT32_MAX, c.network); !s) return s.error();
  if (auto s = optional(tag, "rel-port", 65535, c.rel_port); !s) return s.error();
  auto foundation = detail::attribute(tag, "foundation");
  if (!foundation) return missing("candidate", "foundation");
  c.foundation = std::move(*foundation);
  auto ip = detail::attribute(tag, "ip");
  if (!ip) return missing("candidate", "ip");
  c.ip = std::move(*ip);
  c.id = detail::attribute(tag, "id").value_or(std::string());
  c.protocol = detail::toLower(detail::attribute(tag, "protocol").value_or("udp"));
  c.rel_addr = detail::attribute(tag, "rel-addr");
  c.tcptype = detail::attribute(tag, "tcptype");
  auto type = detail::attribute(tag, "type");
  if (!type) return missing("candidate", "type");
  const auto t = candidateType(*type);
  if (!t) return std::optional<IceCandidate>();  // future/unknown candidate type: ignore it
  c.type = *t;
  return std::optional<IceCandidate>(std::move(c));
}

Result<RemoteCandidate> parseRemoteCandidate(const gloox::Tag& tag) {
  if (auto s = detail::checkAttributes(tag); !s) return s.error();
  RemoteCandidate r;
  if (auto s = required(tag, "remote-candidate", "component", 256, r.component); !s) return s.error();
  if (auto s = required(tag, "remote-candidate", "port", 65535, r.port); !s) return s.error();
  auto ip = detail::attribute(tag, "ip");
  if (!ip) return missing("remote-candidate", "ip");
  r.ip = std::move(*ip);
  return r;
}

Result<DtlsFingerprint> parseFingerprint(const gloox::Tag& tag) {
  if (auto s = detail::checkAttributes(tag); !s) return s.error();
  DtlsFingerprint f;
  auto hash = detail::attribute(tag, "hash");
  if (!hash) return missing("fingerprint", "hash");
  f.hash = std::move(*hash);
  if (auto setup = detail::attribute(tag, "setup")) {
    if (*setup == "actpass") f.setup = DtlsSetup::ActPass;
    else if (*setup == "active") f.setup = DtlsSetup::Active;
    else if (*setup == "passive") f.setup = DtlsSetup::Passive;
    else if (*setup == "holdconn") f.setup = DtlsSetup::HoldConn;
    else return Error::badRequest("<fingerprint/> with an invalid 'setup'");
  }
  auto value = detail::text(tag);
  if (!value) return value.error();
  if (value.value().empty()) return Error::badRequest("empty <fingerprint/>");
  for (char c : value.value()) {
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex && c != ':') return Error::badRequest("<fingerprint/> is not colon-separated hex");
  }
  f.value = std::move(value.value());
  return f;
}

Result<SctpMap> parseSctpMap(const gloox::Tag& tag) {
  if (auto s = detail::checkAttributes(tag); !s) return s.error();
  SctpMap m;
  std::optional<std::uint16_t> number;
  if (auto s = optional(tag, "number", 65535, number); !s) return s.error();
  if (!number) {
    if (auto s = optional(tag, "port", 65535, number); !s) return s.error();  // the XEP's table says 'port'
  }
  if (number) m.number = *number;
  if (auto protocol = detail::attribute(tag, "protocol")) m.protocol = std::move(*protocol);
  if (auto s = optional(tag, "streams", 65535, m.streams); !s) return s.error();
  return m;
}

Result<IceUdpTransport> parseImpl(const gloox::Tag& transport) {
  if (auto s = detail::checkAttributes(transport); !s) return s.error();
  const std::string tns = namespaceOf(transport);
  if (tns != ns::kIceUdp) return Error::badRequest("not an ICE-UDP transport");
  IceUdpTransport out;
  out.ufrag = detail::attribute(transport, "ufrag");
  out.pwd = detail::attribute(transport, "pwd");
  if (auto s = optional(transport, "sctp-port", 65535, out.sctp_port); !s) return s.error();
  if (auto s = optional(transport, "max-message-size", UINT64_MAX, out.max_message_size); !s) return s.error();
  std::size_t candidates_seen = 0;
  for (const gloox::Tag* child : transport.children()) {
    if (child == nullptr) continue;
    const std::string& name = child->name();
    if (name == "candidate" || name == "remote-candidate" || name == "gathering-complete") {
      if (namespaceOf(*child) != tns) continue;
      if (name == "candidate") {
        if (++candidates_seen > limits::kMaxCandidates) return Error::badRequest("too many candidates");
        auto c = parseCandidate(*child);
        if (!c) return c.error();
        if (c.value()) out.candidates.push_back(std::move(*c.value()));
      } else if (name == "remote-candidate") {
        if (!out.remote_candidate) {
          auto r = parseRemoteCandidate(*child);
          if (!r) return r.error();
          out.remote_candidate = std::move(r.value());
        }
      } else {
        out.gathering_complete = true;
      }
    } else if (name == "fingerprint" && namespaceOf(*child) == ns::kDtls) {
      if (out.fingerprints.size() >= limits::kMaxFingerprints) return Error::badRequest("too many fingerprints");
      auto f = parseFingerprint(*child);
      if (!f) return f.error();
      out.fingerprints.push_back(std::move(f.value()));
    } else if (name == "sctpmap" && namespaceOf(*child) == ns::kDtlsSctp) {
      if (!out.sctpmap) {
        auto m = parseSctpMap(*child);
        if (!m) return m.error();
        out.sctpmap = std::move(m.value());
      }
    }
  }
  return out;
}

}  // namespace

Result<IceUdpTransport> parseIceUdpTransport(const gloox::Tag& transport) noexcept {
  try {
    return parseImpl(transport);
  } catch (...) {
    return Error::badRequest("malformed ICE-UDP <transport/>");
  }
}

gloox::Tag* serializeIceUdpTransport(const IceUdpTransport& t) {
  gloox::Tag* tag = detail::newTag("transport", ns::kIceUdp);
  if (t.ufrag) detail::setAttribute(tag, "ufrag", *t.ufrag);
  if (t.pwd) detail::setAttribute(tag, "pwd", *t.pwd);
  if (t.sctp_port) tag->addAttribute("sctp-port", std::to_string(*t.sctp_port));
  if (t.max_message_size) tag->addAttribute("max-message-size", std::to_string(*t.max_message_size));
  for (const DtlsFingerprint& f : t.fingerprints) {
    gloox::Tag* fp = detail::addChild(tag, "fingerprint", ns::kDtls);
    detail::setAttribute(fp, "hash", f.hash);
    if (f.setup) fp->addAttribute("setup", toString(*f.setup));
    detail::setText(fp, f.value);
  }
  if (t.sctpmap) {
    gloox::Tag* m = detail::addChild(tag, "sctpmap", ns::kDtlsSctp);
    m->addAttribute("number", std::to_string(t.sctpmap->number));
    detail::setAttribute(m, "protocol", t.sctpmap->protocol);
    if (t.sctpmap->streams) m->addAttribute("streams", std::to_string(*t.sctpmap->streams));
  }
  for (const IceCandidate& c : t.candidates) {
    gloox::Tag* ct = detail::addChild(tag, "candidate");
    ct->addAttribute("component", std::to_string(c.component));
    detail::setAttribute(ct, "foundation", c.foundation);
    ct->addAttribute("generation", std::to_string(c.generation));
    detail::setAttribute(ct, "id", c.id);
    detail::setAttribute(ct, "ip", c.ip);
    if (c.network) ct->addAttribute("network", std::to_string(*c.network));
    ct->addAttribute("port", std::to_string(c.port));
    ct->addAttribute("priority", std::to_string(c.priority));
    detail::setAttribute(ct, "protocol", c.protocol);
    if (c.rel_addr) detail::setAttribute(ct, "rel-addr", *c.rel_addr);
    if (c.rel_port) ct->addAttribute("rel-port", std::to_string(*c.rel_port));
    if (c.tcptype) detail::setAttribute(ct, "tcptype", *c.tcptype);
    ct->addAttribute("type", toString(c.type));
  }
  if (t.remote_candidate) {
    gloox::Tag* r = detail::addChild(tag, "remote-candidate");
    r->addAttribute("component", std::to_string(t.remote_candidate->component));
    detail::setAttribute(r, "ip", t.remote_candidate->ip);
    r->addAttribute("port", std::to_string(t.remote_candidate->port));
  }
  if (t.gathering_complete) {
    detail::addChild(tag, "gathering-complete");
  }
  return tag;
}

bool operator==(const IceCandidate& a, const IceCandidate& b) noexcept {
  return a.component == b.component && a.foundation == b.foundation && a.generation == b.generation &&
         a.id == b.id && a.ip == b.ip && a.network == b.network && a.port == b.port && a.priority == b.priority &&
         a.protocol == b.protocol && a.type == b.type && a.rel_addr == b.rel_addr && a.rel_port == b.rel_port &&
         a.tcptype == b.tcptype;
}

bool operator==(const RemoteCandidate& a, const RemoteCandidate& b) noexcept {
  return a.component == b.component && a.ip == b.ip && a.port == b.port;
}

bool operator==(const DtlsFingerprint& a, const DtlsFingerprint& b) noexcept {
  return a.hash == b.hash && a.setup == b.setup && a.value == b.value;
}

bool operator==(const SctpMap& a, const SctpMap& b) noexcept {
  return a.number == b.number && a.protocol == b.protocol && a.streams == b.streams;
}

bool operator==(const IceUdpTransport& a, const IceUdpTransport& b) noexcept {
  return a.ufrag == b.ufrag && a.pwd == b.pwd && a.candidates == b.candidates &&
         a.remote_candidate == b.remote_candidate && a.gathering_complete == b.gathering_complete &&
         a.fingerprints == b.fingerprints && a.sctpmap == b.sctpmap && a.sctp_port == b.sctp_port &&
         a.max_message_size == b.max_message_size;
}

}  // namespace tern::signaling
