#include "tern/signaling/rtp.hpp"

#include <string>
#include <utility>

#include <gloox/tag.h>

#include "tern/signaling/namespaces.hpp"
#include "xml_util.hpp"

namespace tern::signaling {

using detail::namespaceOf;

namespace {

constexpr std::uint64_t kMaxU32 = 0xFFFFFFFFull;

Error tooMany(const char* what) {
  return Error::badRequest(std::string("too many <") + what + "/> in RTP description");
}

// A number from an attribute: nullopt if absent or invalid (callers decide whether that matters).
std::optional<std::uint64_t> number(const gloox::Tag& tag, const std::string& name,
                                    std::uint64_t max) {
  auto raw = detail::attribute(tag, name);
  if (!raw) return std::nullopt;
  return detail::parseUnsigned(*raw, max);
}

// <parameter name value?/> children of `parent`, whatever their namespace (each XEP puts them in
// its own); nameless ones are skipped.
Status parseParameters(const gloox::Tag& parent, std::vector<RtpParameter>& out) {
  std::size_t seen = 0;
  for (const gloox::Tag* child : parent.children()) {
    if (child == nullptr || child->name() != "parameter") continue;
    if (++seen > limits::kMaxRtpParameters) return tooMany("parameter");
    if (auto s = detail::checkAttributes(*child); !s) return s;
    auto name = detail::attribute(*child, "name");
    if (!name) continue;
    out.push_back(
        RtpParameter{std::move(*name), detail::attribute(*child, "value").value_or(std::string())});
  }
  return Status::success();
}

Result<std::optional<RtcpFeedback>> parseFeedback(const gloox::Tag& tag) {
  if (auto s = detail::checkAttributes(tag); !s) return s.error();
  auto type = detail::attribute(tag, "type");
  if (!type) return std::optional<RtcpFeedback>();
  RtcpFeedback fb;
  fb.type = std::move(*type);
  fb.subtype = detail::attribute(tag, "subtype").value_or(std::string());
  if (auto s = parseParameters(tag, fb.parameters); !s) return s.error();
  return std::optional<RtcpFeedback>(std::move(fb));
}

bool inRtpOr(const std::string& ns, const char* expected) {
  // Liberal: also accept the XEP-0293/0294/0339 elements when a peer forgot their namespace and
  // they inherited the RTP one.
  return ns == expected || ns == ns::kRtp;
}

// XEP-0293 children common to <payload-type/> and <description/>.
Status parseFeedbackChild(const gloox::Tag& child, const std::string& cns,
                          std::vector<RtcpFeedback>& fbs, std::optional<std::uint32_t>& trr_int,
                          std::size_t& seen) {
  if (!inRtpOr(cns, ns::kRtcpFb)) return Status::success();
  if (child.name() == "rtcp-fb") {
    if (++seen > limits::kMaxRtcpFeedback) return tooMany("rtcp-fb");
    auto fb = parseFeedback(child);
    if (!fb) return fb.error();
    if (fb.value()) fbs.push_back(std::move(*fb.value()));
  } else if (child.name() == "rtcp-fb-trr-int") {
    if (auto s = detail::checkAttributes(child); !s) return s;
    if (auto v = number(child, "value", kMaxU32)) trr_int = static_cast<std::uint32_t>(*v);
  }
  return Status::success();
}

// A usable payload type, nullopt for one to skip, or an error on limits.
Result<std::optional<PayloadType>> parsePayloadType(const gloox::Tag& tag) {
  if (auto s = detail::checkAttributes(tag); !s) return s.error();
  PayloadType pt;
  std::optional<PayloadType> skip;
  auto id = number(tag, "id", 127);
  if (!id) return skip;
  pt.id = static_cast<std::uint8_t>(*id);
  pt.name = detail::attribute(tag, "name").value_or(std::string());
  if (detail::attribute(tag, "clockrate")) {
    auto rate = number(tag, "clockrate", kMaxU32);
    if (!rate || *rate == 0) return skip;
    pt.clockrate = static_cast<std::uint32_t>(*rate);
  }
  if (detail::attribute(tag, "channels")) {
    auto channels = number(tag, "channels", 255);
    if (!channels || *channels == 0) return skip;
    pt.channels = static_cast<std::uint8_t>(*channels);
  }
  if (detail::attribute(tag, "ptime")) {
    auto v = number(tag, "ptime", kMaxU32);
    if (!v) return skip;
    pt.ptime = static_cast<std::uint32_t>(*v);
  }
  if (detail::attribute(tag, "maxptime")) {
    auto v = number(tag, "maxptime", kMaxU32);
    if (!v) return skip;
    pt.maxptime = static_cast<std::uint32_t>(*v);
  }
  if (auto s = parseParameters(tag, pt.parameters); !s) return s.error();
  std::size_t feedback_seen = 0;
  for (const gloox::Tag* child : tag.children()) {
    if (child == nullptr || child->name() == "parameter") continue;
    const std::string cns = namespaceOf(*child);
    if (auto s = parseFeedbackChild(*child, cns, pt.rtcp_fb, pt.rtcp_fb_trr_int, feedback_seen); !s)
      return s.error();
  }
  return std::optional<PayloadType>(std::move(pt));
}

Result<std::optional<HeaderExtension>> parseHeaderExtension(const gloox::Tag& tag) {
  if (auto s = detail::checkAttributes(tag); !s) return s.error();
  std::optional<HeaderExtension> skip;
  HeaderExtension ext;
  auto id = number(tag, "id", 4351);
  if (!id || *id == 0 || (*id > 256 && *id < 4096)) return skip;
  ext.id = static_cast<std::uint16_t>(*id);
  auto uri = detail::attribute(tag, "uri");
  if (!uri) return skip;
  ext.uri = std::move(*uri);
  if (auto senders = detail::attribute(tag, "senders")) {
    if (*senders == "both")
      ext.senders = ExtensionSenders::Both;
    else if (*senders == "initiator")
      ext.senders = ExtensionSenders::Initiator;
    else if (*senders == "responder")
      ext.senders = ExtensionSenders::Responder;
    // anything else: treated as absent (both)
  }
  if (auto s = parseParameters(tag, ext.parameters); !s) return s.error();
  return std::optional<HeaderExtension>(std::move(ext));
}

Result<std::optional<RtpSource>> parseSource(const gloox::Tag& tag) {
  if (auto s = detail::checkAttributes(tag); !s) return s.error();
  auto ssrc = number(tag, "ssrc", kMaxU32);
  if (!ssrc) return std::optional<RtpSource>();
  RtpSource source;
  source.ssrc = static_cast<std::uint32_t>(*ssrc);
  if (auto s = parseParameters(tag, source.parameters); !s) return s.error();
  return std::optional<RtpSource>(std::move(source));
}

Result<std::optional<SsrcGroup>> parseSsrcGroup(const gloox::Tag& tag) {
  if (auto s = detail::checkAttributes(tag); !s) return s.error();
  auto semantics = detail::attribute(tag, "semantics");
  if (!semantics) return std::optional<SsrcGroup>();
  SsrcGroup group;
  group.semantics = std::move(*semantics);
  std::size_t seen = 0;
  for (const gloox::Tag* child : tag.children()) {
    if (child == nullptr || child->name() != "source") continue;
    if (++seen > limits::kMaxSsrcGroupSources) return tooMany("source");
    if (auto s = detail::checkAttributes(*child); !s) return s.error();
    if (auto ssrc = number(*child, "ssrc", kMaxU32))
      group.ssrcs.push_back(static_cast<std::uint32_t>(*ssrc));
  }
  return std::optional<SsrcGroup>(std::move(group));
}

Result<RtpDescription> parseRtpDescriptionImpl(const gloox::Tag& tag) {
  if (tag.name() != "description" || namespaceOf(tag) != ns::kRtp) {
    return Error::badRequest("not a <description xmlns='urn:xmpp:jingle:apps:rtp:1'/> element");
  }
  if (auto s = detail::checkAttributes(tag); !s) return s.error();
  RtpDescription d;
  d.media = detail::attribute(tag, "media").value_or(std::string());
  if (auto ssrc = number(tag, "ssrc", kMaxU32)) d.ssrc = static_cast<std::uint32_t>(*ssrc);
  std::size_t payload_types = 0;
  std::size_t feedback = 0;
  std::size_t extensions = 0;
  std::size_t sources = 0;
  std::size_t groups = 0;
  for (const gloox::Tag* child : tag.children()) {
    if (child == nullptr) continue;
    const std::string cns = namespaceOf(*child);
    const std::string& name = child->name();
    if (cns == ns::kRtp) {
      if (name == "payload-type") {
        if (++payload_types > limits::kMaxPayloadTypes) return tooMany("payload-type");
        auto pt = parsePayloadType(*child);
        if (!pt) return pt.error();
        if (pt.value()) d.payload_types.push_back(std::move(*pt.value()));
        continue;
      }
      if (name == "rtcp-mux") {
        d.rtcp_mux = true;
        continue;
      }
      if (name == "rtcp-reduced-size") {
        d.rtcp_reduced_size = true;
        continue;
      }
      if (name == "encryption") {
        if (auto s = detail::checkAttributes(*child); !s) return s.error();
        const auto required = detail::attribute(*child, "required");
        d.encryption_required = required && (*required == "true" || *required == "1");
        std::size_t seen = 0;
        for (const gloox::Tag* crypto : child->children()) {
          if (crypto == nullptr || crypto->name() != "crypto") continue;
          d.sdes_offered = true;
          if (++seen >= limits::kMaxCryptos) break;
        }
        continue;
      }
      if (name == "bandwidth") {
        if (auto s = detail::checkAttributes(*child); !s) return s.error();
        auto type = detail::attribute(*child, "type");
        auto text = detail::text(*child);
        if (!text) return text.error();
        auto value = detail::parseUnsigned(text.value());
        if (type && value) d.bandwidth = Bandwidth{std::move(*type), *value};
        continue;
      }
    }
    if (name == "rtcp-fb" || name == "rtcp-fb-trr-int") {
      if (auto s = parseFeedbackChild(*child, cns, d.rtcp_fb, d.rtcp_fb_trr_int, feedback); !s)
        return s.error();
      continue;
    }
    if (inRtpOr(cns, ns::kRtpHdrExt)) {
      if (name == "rtp-hdrext") {
        if (++extensions > limits::kMaxHeaderExtensions) return tooMany("rtp-hdrext");
        auto ext = parseHeaderExtension(*child);
        if (!ext) return ext.error();
        if (ext.value()) d.header_extensions.push_back(std::move(*ext.value()));
        continue;
      }
      if (name == "extmap-allow-mixed") {
        d.extmap_allow_mixed = true;
        continue;
      }
    }
    if (inRtpOr(cns, ns::kSsma)) {
      if (name == "source") {
        if (++sources > limits::kMaxSources) return tooMany("source");
        auto source = parseSource(*child);
        if (!source) return source.error();
        if (source.value()) d.sources.push_back(std::move(*source.value()));
        continue;
      }
      if (name == "ssrc-group") {
        if (++groups > limits::kMaxSsrcGroups) return tooMany("ssrc-group");
        auto group = parseSsrcGroup(*child);
        if (!group) return group.error();
        if (group.value()) d.ssrc_groups.push_back(std::move(*group.value()));
        continue;
      }
    }
    if (cns == ns::kRtpMsid && name == "stream" && !d.stream) {
      if (auto s = detail::checkAttributes(*child); !s) return s.error();
      auto id = detail::attribute(*child, "id");
      if (id)
        d.stream = MediaStreamId{std::move(*id),
                                 detail::attribute(*child, "track").value_or(std::string())};
      continue;
    }
    // anything else: ignored, never descended into
  }
  return d;
}

void addParameters(gloox::Tag* parent, const std::vector<RtpParameter>& parameters) {
  for (const RtpParameter& p : parameters) {
    if (p.name.empty()) continue;
    gloox::Tag* tag = detail::addChild(parent, "parameter");
    detail::setAttribute(tag, "name", p.name);
    detail::setAttribute(tag, "value", p.value);
  }
}

void addFeedback(gloox::Tag* parent, const std::vector<RtcpFeedback>& feedback,
                 const std::optional<std::uint32_t>& trr_int) {
  for (const RtcpFeedback& fb : feedback) {
    if (fb.type.empty()) continue;
    gloox::Tag* tag = detail::addChild(parent, "rtcp-fb", ns::kRtcpFb);
    detail::setAttribute(tag, "type", fb.type);
    detail::setAttribute(tag, "subtype", fb.subtype);
    addParameters(tag, fb.parameters);
  }
  if (trr_int) {
    detail::addChild(parent, "rtcp-fb-trr-int", ns::kRtcpFb)
        ->addAttribute("value", std::to_string(*trr_int));
  }
}

const char* toString(ExtensionSenders senders) noexcept {
  switch (senders) {
    case ExtensionSenders::Initiator: return "initiator";
    case ExtensionSenders::Responder: return "responder";
    case ExtensionSenders::Both: break;
  }
  return "both";
}

bool sameFeedback(const RtcpFeedback& a, const RtcpFeedback& b) noexcept {
  return detail::equalsIgnoreCase(a.type, b.type) && detail::equalsIgnoreCase(a.subtype, b.subtype);
}

std::vector<RtcpFeedback> agreedFeedback(const std::vector<RtcpFeedback>& offered,
                                         const std::vector<RtcpFeedback>& supported) {
  std::vector<RtcpFeedback> out;
  for (const RtcpFeedback& fb : offered) {
    for (const RtcpFeedback& ours : supported) {
      if (sameFeedback(fb, ours)) {
        out.push_back(fb);  // XEP-0293 section 4: as-is
        break;
      }
    }
  }
  return out;
}

bool codecMatches(const PayloadType& remote, const CodecPreference& local) {
  if (!detail::equalsIgnoreCase(remote.name, local.name)) return false;
  if (remote.clockrate && *remote.clockrate != local.clockrate) return false;
  if (detail::equalsIgnoreCase(local.name, "opus"))
    return true;  // RFC 7587 section 7: always opus/48000/2
  return remote.channels == local.channels;
}

RtpSource makeSource(std::uint32_t ssrc, std::string cname, std::string msid) {
  RtpSource source;
  source.ssrc = ssrc;
  if (!cname.empty()) source.parameters.push_back({"cname", std::move(cname)});
  if (!msid.empty()) source.parameters.push_back({"msid", std::move(msid)});
  return source;
}

std::optional<std::string> findParameter(const std::vector<RtpParameter>& parameters,
                                         std::string_view name) {
  for (const RtpParameter& p : parameters) {
    if (p.name == name) return p.value;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> PayloadType::parameter(std::string_view name) const {
  return findParameter(parameters, name);
}

std::optional<std::string> RtpSource::parameter(std::string_view name) const {
  return findParameter(parameters, name);
}

const PayloadType* RtpDescription::findPayloadType(std::uint8_t id) const noexcept {
  for (const PayloadType& pt : payload_types) {
    if (pt.id == id) return &pt;
  }
  return nullptr;
}

const RtpSource* RtpDescription::findSource(std::uint32_t id) const noexcept {
  for (const RtpSource& s : sources) {
    if (s.ssrc == id) return &s;
  }
  return nullptr;
}

bool operator==(const RtpParameter& a, const RtpParameter& b) noexcept {
  return a.name == b.name && a.value == b.value;
}

bool operator==(const RtcpFeedback& a, const RtcpFeedback& b) noexcept {
  return a.type == b.type && a.subtype == b.subtype && a.parameters == b.parameters;
}

bool operator==(const PayloadType& a, const PayloadType& b) noexcept {
  return a.id == b.id && a.name == b.name && a.clockrate == b.clockrate &&
         a.channels == b.channels && a.ptime == b.ptime && a.maxptime == b.maxptime &&
         a.parameters == b.parameters && a.rtcp_fb == b.rtcp_fb &&
         a.rtcp_fb_trr_int == b.rtcp_fb_trr_int;
}

bool operator==(const HeaderExtension& a, const HeaderExtension& b) noexcept {
  return a.id == b.id && a.uri == b.uri && a.senders == b.senders && a.parameters == b.parameters;
}

bool operator==(const RtpSource& a, const RtpSource& b) noexcept {
  return a.ssrc == b.ssrc && a.parameters == b.parameters;
}

bool operator==(const SsrcGroup& a, const SsrcGroup& b) noexcept {
  return a.semantics == b.semantics && a.ssrcs == b.ssrcs;
}

bool operator==(const Bandwidth& a, const Bandwidth& b) noexcept {
  return a.type == b.type && a.value == b.value;
}

bool operator==(const MediaStreamId& a, const MediaStreamId& b) noexcept {
  return a.id == b.id && a.track == b.track;
}

bool operator==(const RtpDescription& a, const RtpDescription& b) noexcept {
  return a.media == b.media && a.ssrc == b.ssrc && a.payload_types == b.payload_types &&
         a.rtcp_fb == b.rtcp_fb && a.rtcp_fb_trr_int == b.rtcp_fb_trr_int &&
         a.header_extensions == b.header_extensions &&
         a.extmap_allow_mixed == b.extmap_allow_mixed && a.rtcp_mux == b.rtcp_mux &&
         a.rtcp_reduced_size == b.rtcp_reduced_size && a.sources == b.sources &&
         a.ssrc_groups == b.ssrc_groups && a.bandwidth == b.bandwidth && a.stream == b.stream &&
         a.sdes_offered == b.sdes_offered && a.encryption_required == b.encryption_required;
}

Result<RtpDescription> parseRtpDescription(const gloox::Tag& description) noexcept {
  try {
    return parseRtpDescriptionImpl(description);
  } catch (...) {
    return Error::badRequest("malformed RTP <description/>");
  }
}

gloox::Tag* serializeRtpDescription(const RtpDescription& d) {
  gloox::Tag* tag = detail::newTag("description", ns::kRtp);
  detail::setAttribute(tag, "media", d.media);
  if (d.ssrc) tag->addAttribute("ssrc", std::to_string(*d.ssrc));
  for (const PayloadType& pt : d.payload_types) {
    if (pt.id > 127) continue;
    gloox::Tag* p = detail::addChild(tag, "payload-type");
    p->addAttribute("id", std::to_string(pt.id));
    detail::setAttribute(p, "name", pt.name);
    if (pt.clockrate && *pt.clockrate != 0)
      p->addAttribute("clockrate", std::to_string(*pt.clockrate));
    if (pt.channels > 1) p->addAttribute("channels", std::to_string(pt.channels));
    if (pt.ptime) p->addAttribute("ptime", std::to_string(*pt.ptime));
    if (pt.maxptime) p->addAttribute("maxptime", std::to_string(*pt.maxptime));
    addParameters(p, pt.parameters);
    addFeedback(p, pt.rtcp_fb, pt.rtcp_fb_trr_int);
  }
  addFeedback(tag, d.rtcp_fb, d.rtcp_fb_trr_int);
  for (const HeaderExtension& ext : d.header_extensions) {
    if (ext.id == 0 || ext.uri.empty()) continue;
    gloox::Tag* e = detail::addChild(tag, "rtp-hdrext", ns::kRtpHdrExt);
    e->addAttribute("id", std::to_string(ext.id));
    detail::setAttribute(e, "uri", ext.uri);
    if (ext.senders) e->addAttribute("senders", toString(*ext.senders));
    addParameters(e, ext.parameters);
  }
  if (d.extmap_allow_mixed) detail::addChild(tag, "extmap-allow-mixed", ns::kRtpHdrExt);
  for (const RtpSource& source : d.sources) {
    gloox::Tag* s = detail::addChild(tag, "source", ns::kSsma);
    s->addAttribute("ssrc", std::to_string(source.ssrc));
    addParameters(s, source.parameters);
  }
  for (const SsrcGroup& group : d.ssrc_groups) {
    if (group.semantics.empty()) continue;
    gloox::Tag* g = detail::addChild(tag, "ssrc-group", ns::kSsma);
    detail::setAttribute(g, "semantics", group.semantics);
    for (std::uint32_t ssrc : group.ssrcs)
      detail::addChild(g, "source")->addAttribute("ssrc", std::to_string(ssrc));
  }
  if (d.rtcp_mux) detail::addChild(tag, "rtcp-mux");
  if (d.rtcp_reduced_size) detail::addChild(tag, "rtcp-reduced-size");
  if (d.bandwidth && !d.bandwidth->type.empty()) {
    gloox::Tag* b = detail::addChild(tag, "bandwidth");
    detail::setAttribute(b, "type", d.bandwidth->type);
    b->setCData(std::to_string(d.bandwidth->value));
  }
  if (d.stream && !d.stream->id.empty()) {
    gloox::Tag* s = detail::addChild(tag, "stream", ns::kRtpMsid);
    detail::setAttribute(s, "id", d.stream->id);
    detail::setAttribute(s, "track", d.stream->track);
  }
  return tag;
}

namespace {

// What each of Tern's offers has around its one payload type: transport-cc feedback when
// asked, rtcp-mux, and our source.
RtpDescription offerWith(std::string media, PayloadType codec, std::uint32_t ssrc, std::string cname,
                         RtpOfferOptions options) {
  RtpDescription d;
  d.media = std::move(media);
  d.ssrc = ssrc;
  if (options.transport_cc) {
    codec.rtcp_fb.push_back({"transport-cc", "", {}});
    d.header_extensions.push_back({1, kTransportWideCcUri, std::nullopt, {}});
  }
  d.payload_types.push_back(std::move(codec));
  d.rtcp_mux = true;
  d.sources.push_back(makeSource(ssrc, std::move(cname), std::move(options.msid)));
  return d;
}

// The same for what Tern accepts from a peer's offer.
CodecPreferences preferencesWith(std::string media, CodecPreferences p, std::uint32_t ssrc, std::string cname,
                                 RtpOfferOptions options) {
  p.media = std::move(media);
  if (options.transport_cc) {
    p.rtcp_fb.push_back({"transport-cc", "", {}});
    p.header_extensions.push_back(kTransportWideCcUri);
  }
  p.ssrc = ssrc;
  p.cname = std::move(cname);
  p.msid = std::move(options.msid);
  return p;
}

}  // namespace

RtpDescription makeOpusOffer(std::uint32_t ssrc, std::string cname, RtpOfferOptions options) {
  PayloadType opus;
  opus.id = kOpusPayloadType;
  opus.name = "opus";
  opus.clockrate = 48000;
  opus.channels = 2;
  opus.parameters = {{"minptime", "10"}, {"useinbandfec", "1"}};
  return offerWith("audio", std::move(opus), ssrc, std::move(cname), std::move(options));
}

RtpDescription makeVp8Offer(std::uint32_t ssrc, std::string cname, RtpOfferOptions options) {
  PayloadType vp8;
  vp8.id = kVp8PayloadType;
  vp8.name = "VP8";
  vp8.clockrate = 90000;
  vp8.rtcp_fb = {{"nack", "", {}}, {"nack", "pli", {}}, {"ccm", "fir", {}}};
  if (options.goog_remb) vp8.rtcp_fb.push_back({"goog-remb", "", {}});
  return offerWith("video", std::move(vp8), ssrc, std::move(cname), std::move(options));
}

CodecPreferences opusPreferences(std::uint32_t ssrc, std::string cname, RtpOfferOptions options) {
  CodecPreferences p;
  p.codecs.push_back(
      {"opus", 48000, 2, kOpusPayloadType, {{"minptime", "10"}, {"useinbandfec", "1"}}});
  return preferencesWith("audio", std::move(p), ssrc, std::move(cname), std::move(options));
}

CodecPreferences vp8Preferences(std::uint32_t ssrc, std::string cname, RtpOfferOptions options) {
  CodecPreferences p;
  p.codecs.push_back({"VP8", 90000, 1, kVp8PayloadType, {}});
  p.rtcp_fb = {{"nack", "", {}}, {"nack", "pli", {}}, {"ccm", "fir", {}}};
  if (options.goog_remb) p.rtcp_fb.push_back({"goog-remb", "", {}});
  return preferencesWith("video", std::move(p), ssrc, std::move(cname), std::move(options));
}

Result<NegotiatedRtp> negotiate(const RtpDescription& remote, const CodecPreferences& local) {
  auto failure = [](std::string text) {
    Error e;
    e.condition = StanzaCondition::NotAcceptable;
    e.type = StanzaErrorType::Cancel;
    e.text = std::move(text);
    return e;
  };
  if (!remote.media.empty() && !detail::equalsIgnoreCase(remote.media, local.media)) {
    return failure("media '" + detail::xmlSafe(remote.media.substr(0, 32)) + "' is not '" +
                   local.media + "'");
  }
  const PayloadType* chosen = nullptr;
  const CodecPreference* ours = nullptr;
  for (const CodecPreference& pref : local.codecs) {
    for (const PayloadType& pt : remote.payload_types) {
      if (codecMatches(pt, pref)) {
        chosen = &pt;
        ours = &pref;
        break;
      }
    }
    if (chosen != nullptr) break;
  }
  if (chosen == nullptr) return failure("no common " + local.media + " codec");

  NegotiatedRtp n;
  n.codec = *chosen;
  const std::vector<RtcpFeedback> pt_fb = agreedFeedback(chosen->rtcp_fb, local.rtcp_fb);
  const std::vector<RtcpFeedback> desc_fb = agreedFeedback(remote.rtcp_fb, local.rtcp_fb);
  n.rtcp_fb = pt_fb;
  for (const RtcpFeedback& fb : desc_fb) {
    bool dup = false;
    for (const RtcpFeedback& have : n.rtcp_fb) dup = dup || sameFeedback(have, fb);
    if (!dup) n.rtcp_fb.push_back(fb);
  }
  for (const HeaderExtension& ext : remote.header_extensions) {
    for (const std::string& uri : local.header_extensions) {
      if (ext.uri == uri) {
        n.header_extensions.push_back(ext);  // XEP-0294 section 4: the offered id
        break;
      }
    }
  }
  n.rtcp_mux = remote.rtcp_mux && local.rtcp_mux;
  if (remote.ssrc) n.remote_ssrcs.push_back(*remote.ssrc);
  for (const RtpSource& s : remote.sources) {
    bool dup = false;
    for (std::uint32_t have : n.remote_ssrcs) dup = dup || have == s.ssrc;
    if (!dup) n.remote_ssrcs.push_back(s.ssrc);
  }

  RtpDescription& a = n.answer;
  a.media = remote.media.empty() ? local.media : remote.media;
  if (local.ssrc != 0) a.ssrc = local.ssrc;
  PayloadType pt;
  pt.id = chosen->id;
  pt.name = chosen->name;
  pt.clockrate =
      chosen->clockrate ? chosen->clockrate : std::optional<std::uint32_t>(ours->clockrate);
  pt.channels = chosen->channels;
  if (detail::equalsIgnoreCase(ours->name, "opus")) pt.channels = 2;
  pt.parameters = ours->parameters;
  pt.rtcp_fb = pt_fb;
  a.payload_types.push_back(std::move(pt));
  a.rtcp_fb = desc_fb;
  a.header_extensions = n.header_extensions;
  a.rtcp_mux = n.rtcp_mux;
  if (local.ssrc != 0) a.sources.push_back(makeSource(local.ssrc, local.cname, local.msid));
  return n;
}

}  // namespace tern::signaling
