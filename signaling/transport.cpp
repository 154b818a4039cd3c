#include "tern/signaling/transport.hpp"

#include <gloox/tag.h>

#include "tern/signaling/namespaces.hpp"
#include "xml_util.hpp"

namespace tern::signaling {

using detail::namespaceOf;

Transport Transport::iceUdp(IceUdpTransport ice) {
  Transport t;
  t.kind = TransportKind::IceUdp;
  t.xmlns = ns::kIceUdp;
  t.ice = std::move(ice);
  return t;
}

Transport Transport::webRtcDataChannel(IceUdpTransport ice, std::optional<std::uint16_t> sctp_port,
                                       std::optional<std::uint64_t> max_message_size) {
  Transport t;
  t.kind = TransportKind::WebRtcDataChannel;
  t.xmlns = ns::kWebRtcDataChannel;
  t.ice = std::move(ice);
  t.sctp_port = sctp_port;
  t.max_message_size = max_message_size;
  return t;
}

DataChannelDialect dataChannelDialect(const Transport& transport) noexcept {
  switch (transport.kind) {
    case TransportKind::WebRtcDataChannel:
      return DataChannelDialect::ConversationsWrapper;
    case TransportKind::IceUdp:
      if (transport.ice.sctpmap) return DataChannelDialect::Xep0343Sctpmap;
      if (transport.ice.sctp_port) return DataChannelDialect::Xep0343SctpPort;
      return DataChannelDialect::None;
    default:
      return DataChannelDialect::None;
  }
}

namespace {

Result<Transport> parseImpl(const gloox::Tag& tag) {
  if (auto s = detail::checkAttributes(tag); !s) return s.error();
  const std::string tns = namespaceOf(tag);
  Transport out;
  out.xmlns = tns;
  if (tns == ns::kIceUdp) {
    auto ice = parseIceUdpTransport(tag);
    if (!ice) return ice.error();
    out.kind = TransportKind::IceUdp;
    out.ice = std::move(ice.value());
    return out;
  }
  if (tns == ns::kWebRtcDataChannel) {
    out.kind = TransportKind::WebRtcDataChannel;
    auto port = detail::numericAttribute(tag, "sctp-port", 65535);
    if (!port) return port.error();
    if (port.value()) out.sctp_port = static_cast<std::uint16_t>(*port.value());
    auto mms = detail::numericAttribute(tag, "max-message-size", UINT64_MAX);
    if (!mms) return mms.error();
    out.max_message_size = mms.value();
    if (const gloox::Tag* inner = detail::findChild(tag, "transport", ns::kIceUdp)) {
      auto ice = parseIceUdpTransport(*inner);
      if (!ice) return ice.error();
      out.ice = std::move(ice.value());
    }
    return out;
  }
  if (tns == ns::kSocks5) {
    out.kind = TransportKind::Socks5;
  } else if (tns == ns::kIbb) {
    out.kind = TransportKind::Ibb;
    auto bs = detail::numericAttribute(tag, "block-size", UINT32_MAX);
    if (!bs) return bs.error();
    if (bs.value()) out.block_size = static_cast<std::uint32_t>(*bs.value());
  } else {
    out.kind = TransportKind::Unknown;
  }
  out.stream_sid = detail::attribute(tag, "sid").value_or(std::string());
  auto raw = detail::cloneOpaque(tag);
  if (!raw) return raw.error();
  out.raw = std::move(raw.value());
  return out;
}

}  // namespace

Result<Transport> parseTransport(const gloox::Tag& transport) noexcept {
  try {
    return parseImpl(transport);
  } catch (...) {
    return Error::badRequest("malformed <transport/>");
  }
}

gloox::Tag* serializeTransport(const Transport& t) {
  switch (t.kind) {
    case TransportKind::IceUdp:
      return serializeIceUdpTransport(t.ice);
    case TransportKind::WebRtcDataChannel: {
      gloox::Tag* tag = detail::newTag("transport", ns::kWebRtcDataChannel);
      if (t.sctp_port) tag->addAttribute("sctp-port", std::to_string(*t.sctp_port));
      if (t.max_message_size) tag->addAttribute("max-message-size", std::to_string(*t.max_message_size));
      tag->addChild(serializeIceUdpTransport(t.ice));
      return tag;
    }
    default:
      break;
  }
  if (t.raw) {
    return detail::emitOpaque(*t.raw);
  }
  const char* fallback = t.kind == TransportKind::Socks5 ? ns::kSocks5 : t.kind == TransportKind::Ibb ? ns::kIbb : "";
  gloox::Tag* tag = detail::newTag("transport", t.xmlns.empty() ? std::string(fallback) : detail::xmlSafe(t.xmlns));
  if (!t.stream_sid.empty()) detail::setAttribute(tag, "sid", t.stream_sid);
  if (t.block_size) tag->addAttribute("block-size", std::to_string(*t.block_size));
  return tag;
}

}  // namespace tern::signaling
