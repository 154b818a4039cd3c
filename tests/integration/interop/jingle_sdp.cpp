#include "jingle_sdp.hpp"

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <vector>

namespace tern::interop {

namespace sig = signaling;

namespace {

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t end = s.find(sep, start);
    if (end == std::string_view::npos) end = s.size();
    out.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> out;
  std::istringstream in{std::string(s)};
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

std::string trim(std::string_view s) {
  std::size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  std::size_t e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

template <typename T>
std::optional<T> number(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v > std::numeric_limits<T>::max()) return std::nullopt;
  return static_cast<T>(v);
}

const char* direction(sig::Senders senders, SdpAuthor author) {
  bool initiator = author == SdpAuthor::Initiator;
  switch (senders) {
    case sig::Senders::Both: return "sendrecv";
    case sig::Senders::None: return "inactive";
    case sig::Senders::Initiator: return initiator ? "sendonly" : "recvonly";
    case sig::Senders::Responder: return initiator ? "recvonly" : "sendonly";
  }
  return "sendrecv";
}

std::optional<sig::Senders> sendersFrom(std::string_view dir, SdpAuthor author) {
  bool initiator = author == SdpAuthor::Initiator;
  if (dir == "sendrecv") return sig::Senders::Both;
  if (dir == "inactive") return sig::Senders::None;
  if (dir == "sendonly") return initiator ? sig::Senders::Initiator : sig::Senders::Responder;
  if (dir == "recvonly") return initiator ? sig::Senders::Responder : sig::Senders::Initiator;
  return std::nullopt;
}

std::string feedback(const sig::RtcpFeedback& fb) {
  return fb.subtype.empty() ? fb.type : fb.type + " " + fb.subtype;
}

std::string setupName(std::optional<sig::DtlsSetup> setup, SdpType type) {
  if (!setup) return type == SdpType::Offer ? "actpass" : "active";
  return sig::toString(*setup);
}

std::optional<sig::DtlsSetup> setupFrom(std::string_view s) {
  if (s == "actpass") return sig::DtlsSetup::ActPass;
  if (s == "active") return sig::DtlsSetup::Active;
  if (s == "passive") return sig::DtlsSetup::Passive;
  if (s == "holdconn") return sig::DtlsSetup::HoldConn;
  return std::nullopt;
}

std::optional<sig::CandidateType> candidateType(std::string_view s) {
  if (s == "host") return sig::CandidateType::Host;
  if (s == "srflx") return sig::CandidateType::ServerReflexive;
  if (s == "prflx") return sig::CandidateType::PeerReflexive;
  if (s == "relay") return sig::CandidateType::Relay;
  return std::nullopt;
}

void writeMedia(std::ostringstream& out, const sig::Content& content, SdpType type,
                SdpAuthor author) {
  const sig::RtpDescription& rtp = *content.description->rtp;
  const sig::IceUdpTransport& ice = content.transport->ice;
  out << "m=" << rtp.media << " 9 UDP/TLS/RTP/SAVPF";
  for (const auto& pt : rtp.payload_types) out << " " << static_cast<int>(pt.id);
  out << "\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n";
  out << "a=ice-ufrag:" << ice.ufrag.value_or("") << "\r\n";
  out << "a=ice-pwd:" << ice.pwd.value_or("") << "\r\n";
  std::optional<sig::DtlsSetup> setup;
  for (const auto& fp : ice.fingerprints) {
    out << "a=fingerprint:" << fp.hash << " " << fp.value << "\r\n";
    if (fp.setup) setup = fp.setup;
  }
  out << "a=setup:" << setupName(setup, type) << "\r\n";
  out << "a=mid:" << content.name << "\r\n";
  for (const auto& ext : rtp.header_extensions)
    out << "a=extmap:" << ext.id << " " << ext.uri << "\r\n";
  out << "a=" << direction(sig::effectiveSenders(content), author) << "\r\n";
  if (rtp.rtcp_mux) out << "a=rtcp-mux\r\n";
  if (rtp.rtcp_reduced_size) out << "a=rtcp-rsize\r\n";
  for (const auto& pt : rtp.payload_types) {
    int id = pt.id;
    out << "a=rtpmap:" << id << " " << pt.name << "/"
        << pt.clockrate.value_or(rtp.media == "audio" ? 8000 : 90000);
    if (rtp.media == "audio" && pt.channels != 1) out << "/" << static_cast<int>(pt.channels);
    out << "\r\n";
    if (!pt.parameters.empty()) {
      out << "a=fmtp:" << id << " ";
      for (std::size_t i = 0; i < pt.parameters.size(); ++i) {
        const auto& p = pt.parameters[i];
        out << (i ? ";" : "") << p.name << (p.value.empty() ? "" : "=" + p.value);
      }
      out << "\r\n";
    }
    for (const auto& fb : pt.rtcp_fb) out << "a=rtcp-fb:" << id << " " << feedback(fb) << "\r\n";
    if (pt.ptime) out << "a=ptime:" << *pt.ptime << "\r\n";
  }
  for (const auto& fb : rtp.rtcp_fb) out << "a=rtcp-fb:* " << feedback(fb) << "\r\n";
  for (const auto& g : rtp.ssrc_groups) {
    out << "a=ssrc-group:" << g.semantics;
    for (auto s : g.ssrcs) out << " " << s;
    out << "\r\n";
  }
  for (const auto& src : rtp.sources)
    for (const auto& p : src.parameters)
      out << "a=ssrc:" << src.ssrc << " " << p.name << ":" << p.value << "\r\n";
  for (const auto& c : ice.candidates)
    if (isLoopbackUdp(c)) out << "a=candidate:" << candidateToSdp(c) << "\r\n";
}

// One m= section while it is parsed.
struct Section {
  sig::Content content;
  sig::RtpDescription rtp;
  sig::IceUdpTransport ice;
  std::optional<sig::DtlsSetup> setup;
  std::string msid;                                         // media-level a=msid
  std::vector<std::pair<std::string, std::string>> fmtp;    // pt, parameters
  std::vector<std::pair<std::string, std::string>> rtcpFb;  // pt or "*", feedback
};

}  // namespace

std::string candidateToSdp(const sig::IceCandidate& c) {
  std::ostringstream out;
  out << c.foundation << " " << c.component << " " << c.protocol << " " << c.priority << " " << c.ip
      << " " << c.port << " typ " << sig::toString(c.type);
  if (c.rel_addr && c.rel_port) out << " raddr " << *c.rel_addr << " rport " << *c.rel_port;
  if (c.tcptype) out << " tcptype " << *c.tcptype;
  out << " generation " << c.generation;
  return out.str();
}

std::optional<sig::IceCandidate> candidateFromSdp(std::string_view value) {
  if (value.rfind("candidate:", 0) == 0) value.remove_prefix(10);
  auto w = words(value);
  if (w.size() < 8 || w[6] != "typ") return std::nullopt;
  sig::IceCandidate c;
  c.foundation = w[0];
  auto component = number<std::uint32_t>(w[1]);
  auto priority = number<std::uint32_t>(w[3]);
  auto port = number<std::uint16_t>(w[5]);
  auto type = candidateType(w[7]);
  if (!component || !priority || !port || !type) return std::nullopt;
  c.component = *component;
  c.protocol = w[2] == "UDP" ? "udp" : w[2] == "TCP" ? "tcp" : w[2];
  c.priority = *priority;
  c.ip = w[4];
  c.port = *port;
  c.type = *type;
  for (std::size_t i = 8; i + 1 < w.size(); i += 2) {
    if (w[i] == "raddr")
      c.rel_addr = w[i + 1];
    else if (w[i] == "rport")
      c.rel_port = number<std::uint16_t>(w[i + 1]);
    else if (w[i] == "tcptype")
      c.tcptype = w[i + 1];
    else if (w[i] == "generation")
      c.generation = number<std::uint32_t>(w[i + 1]).value_or(0);
  }
  return c;
}

bool isLoopbackUdp(const sig::IceCandidate& c) {
  return c.protocol == "udp" && (c.ip.rfind("127.", 0) == 0 || c.ip == "::1");
}

std::string jingleToSdp(const sig::Jingle& jingle, SdpType type, SdpAuthor author) {
  std::ostringstream out;
  out << "v=0\r\no=- " << std::hash<std::string>{}(jingle.sid) % 1000000000 << " "
      << (type == SdpType::Offer ? 1 : 2) << " IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
  for (const auto& g : jingle.groups) {
    out << "a=group:" << g.semantics;
    for (const auto& name : g.contents) out << " " << name;
    out << "\r\n";
  }
  for (const auto& c : jingle.contents) {
    if (!c.description || !c.description->rtp || !c.transport || !c.transport->hasIce()) continue;
    writeMedia(out, c, type, author);
  }
  return out.str();
}

std::variant<sig::Jingle, std::string> sdpToJingle(const std::string& sdp, SdpAuthor author,
                                                   sig::Creator creator) {
  sig::Jingle j;
  std::vector<Section> sections;
  // Session-level values, the defaults of every media section.
  std::optional<std::string> ufrag, pwd;
  std::vector<sig::DtlsFingerprint> fingerprints;
  std::optional<sig::DtlsSetup> setup;
  for (const std::string& raw : split(sdp, '\n')) {
    std::string line = trim(raw);
    if (line.size() < 2 || line[1] != '=') continue;
    if (line[0] == 'm') {
      auto w = words(std::string_view(line).substr(2));
      if (w.size() < 3) return "bad m= line: " + line;
      Section s;
      s.rtp.media = w[0];
      for (std::size_t i = 3; i < w.size(); ++i) {
        auto id = number<std::uint8_t>(w[i]);
        if (!id || *id > 127) return "bad payload type in: " + line;
        sig::PayloadType pt;
        pt.id = *id;
        s.rtp.payload_types.push_back(pt);
      }
      sections.push_back(std::move(s));
      continue;
    }
    if (line[0] != 'a') continue;
    std::string attr = line.substr(2), value;
    if (auto colon = attr.find(':'); colon != std::string::npos) {
      value = attr.substr(colon + 1);
      attr = attr.substr(0, colon);
    }
    Section* s = sections.empty() ? nullptr : &sections.back();
    auto w = words(value);
    if (attr == "ice-ufrag")
      (s ? s->ice.ufrag : ufrag) = value;
    else if (attr == "ice-pwd")
      (s ? s->ice.pwd : pwd) = value;
    else if (attr == "fingerprint") {
      if (w.size() != 2) return "bad fingerprint: " + line;
      (s ? s->ice.fingerprints : fingerprints).push_back({w[0], std::nullopt, w[1]});
    } else if (attr == "setup") {
      auto v = setupFrom(value);
      if (!v) return "bad setup: " + line;
      (s ? s->setup : setup) = v;
    } else if (attr == "group") {
      if (w.empty() || w[0] != "BUNDLE") continue;
      sig::Group g;
      g.contents.assign(w.begin() + 1, w.end());
      j.groups.push_back(g);
    } else if (!s) {
      continue;
    } else if (attr == "msid") {
      s->msid = value;
    } else if (attr == "mid") {
      s->content.name = value;
    } else if (attr == "candidate") {
      auto c = candidateFromSdp(value);
      if (!c) return "bad candidate: " + line;
      c->id = "c" + std::to_string(s->ice.candidates.size());
      if (isLoopbackUdp(*c)) s->ice.candidates.push_back(*c);
    } else if (attr == "rtcp-mux") {
      s->rtp.rtcp_mux = true;
    } else if (attr == "rtcp-rsize") {
      s->rtp.rtcp_reduced_size = true;
    } else if (auto senders = sendersFrom(attr, author)) {
      if (*senders != sig::Senders::Both) s->content.senders = *senders;  // both: the default
    } else if (attr == "rtpmap") {
      auto id = w.size() == 2 ? number<std::uint8_t>(w[0]) : std::nullopt;
      auto codec = w.size() == 2 ? split(w[1], '/') : std::vector<std::string>{};
      if (!id || codec.size() < 2) return "bad rtpmap: " + line;
      for (auto& pt : s->rtp.payload_types) {
        if (pt.id != *id) continue;
        pt.name = codec[0];
        pt.clockrate = number<std::uint32_t>(codec[1]);
        if (codec.size() > 2) pt.channels = number<std::uint8_t>(codec[2]).value_or(1);
      }
    } else if (attr == "fmtp" && w.size() >= 2) {
      s->fmtp.emplace_back(w[0], value.substr(value.find(' ') + 1));
    } else if (attr == "rtcp-fb" && w.size() >= 2) {
      s->rtcpFb.emplace_back(w[0], value.substr(value.find(' ') + 1));
    } else if (attr == "extmap" && w.size() >= 2) {
      auto id = number<std::uint16_t>(split(w[0], '/')[0]);
      if (!id) return "bad extmap: " + line;
      sig::HeaderExtension ext;
      ext.id = *id;
      ext.uri = w[1];
      s->rtp.header_extensions.push_back(ext);
    } else if (attr == "ssrc" && w.size() >= 2) {
      auto ssrc = number<std::uint32_t>(w[0]);
      auto rest = value.substr(value.find(' ') + 1);
      auto colon = rest.find(':');
      if (!ssrc) return "bad ssrc: " + line;
      sig::RtpSource* src = nullptr;
      for (auto& x : s->rtp.sources)
        if (x.ssrc == *ssrc) src = &x;
      if (!src) {
        s->rtp.sources.push_back({*ssrc, {}});
        src = &s->rtp.sources.back();
      }
      if (colon == std::string::npos)
        src->parameters.push_back({rest, ""});
      else
        src->parameters.push_back({rest.substr(0, colon), rest.substr(colon + 1)});
    } else if (attr == "ssrc-group" && !w.empty()) {
      sig::SsrcGroup g;
      g.semantics = w[0];
      for (std::size_t i = 1; i < w.size(); ++i)
        if (auto v = number<std::uint32_t>(w[i])) g.ssrcs.push_back(*v);
      s->rtp.ssrc_groups.push_back(g);
    }
  }
  if (sections.empty()) return std::string("no media section");
  for (auto& s : sections) {
    if (s.rtp.media != "audio" && s.rtp.media != "video") continue;
    if (s.content.name.empty()) return "a media section without a=mid";
    for (const auto& [id, params] : s.fmtp)
      for (auto& pt : s.rtp.payload_types)
        if (std::to_string(pt.id) == id)
          for (const auto& p : split(params, ';')) {
            auto kv = trim(p);
            auto eq = kv.find('=');
            if (!kv.empty())
              pt.parameters.push_back(
                  {kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1)});
          }
    for (const auto& [id, value] : s.rtcpFb) {
      auto w = words(value);
      if (w.empty()) continue;
      sig::RtcpFeedback fb{w[0], w.size() > 1 ? w[1] : "", {}};
      if (id == "*") s.rtp.rtcp_fb.push_back(fb);
      for (auto& pt : s.rtp.payload_types)
        if (std::to_string(pt.id) == id) pt.rtcp_fb.push_back(fb);
    }
    // XEP-0339 carries the msid as a source parameter.
    for (auto& src : s.rtp.sources)
      if (!s.msid.empty() && !src.parameter("msid")) src.parameters.push_back({"msid", s.msid});
    // Payload types without a=rtpmap cannot be described in Jingle (no name).
    std::vector<sig::PayloadType> named;
    for (auto& pt : s.rtp.payload_types)
      if (!pt.name.empty()) named.push_back(pt);
    s.rtp.payload_types = std::move(named);
    if (!s.ice.ufrag) s.ice.ufrag = ufrag;
    if (!s.ice.pwd) s.ice.pwd = pwd;
    if (s.ice.fingerprints.empty()) s.ice.fingerprints = fingerprints;
    if (!s.setup) s.setup = setup;
    if (!s.ice.ufrag || !s.ice.pwd) return "no ICE credentials for " + s.content.name;
    if (s.ice.fingerprints.empty() || !s.setup)
      return "no DTLS fingerprint or setup for " + s.content.name;
    for (auto& fp : s.ice.fingerprints) fp.setup = s.setup;
    s.content.creator = creator;
    s.content.description = sig::Description::rtpDescription(s.rtp);
    s.content.transport = sig::Transport::iceUdp(s.ice);
    j.contents.push_back(std::move(s.content));
  }
  if (j.contents.empty()) return std::string("no audio or video section");
  return j;
}

}  // namespace tern::interop
