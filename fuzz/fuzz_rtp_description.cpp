// Fuzzes the Jingle RTP description (XEP-0167 section 4 with XEP-0293 rtcp-fb, XEP-0294 header
// extensions, XEP-0339 sources, XEP-0338-adjacent msid) and the offer/answer on it: stanza bytes
// -> gloox parser -> parseRtpDescription -> negotiate() against the Opus and VP8 preferences.
//
// The first RTP <description/> in each top-level element is used, so whole session-initiate /
// session-accept IQs from the captures are valid inputs.
//
// Invariants checked: parse(serialize(d)) == d for valid XML text (isXmlText), apart from
// <encryption/>, which is never sent;
// a negotiated codec is one the peer listed, with the peer's payload type; the answer serializes
// and parses back to exactly one payload type.
//
// Threading: single-threaded.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "tern/signaling/namespaces.hpp"
#include "tern/signaling/rtp.hpp"

using namespace tern::signaling;
using tern::fuzz::TagPtr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto tags = tern::fuzz::parseXmlAll(data, size);
  const bool xml_text = tern::fuzz::isXmlText(data, size);
  for (const TagPtr& tag : tags) {
    const gloox::Tag* element = tern::fuzz::findDeep(*tag, "description", ns::kRtp, 4);
    if (!element) continue;
    auto parsed = parseRtpDescription(*element);
    if (!parsed.ok()) {
      TERN_FUZZ_CHECK(!parsed.error().text.empty());
      continue;
    }
    {
      TagPtr out(serializeRtpDescription(*parsed));
      TERN_FUZZ_CHECK(out != nullptr);
      TagPtr back = tern::fuzz::reparseOne(out->xml());
      auto again = parseRtpDescription(*back);
      RtpDescription expected = *parsed;
      expected.sdes_offered = false;
      expected.encryption_required = false;
      if (xml_text && (!again.ok() || !(*again == expected))) {
        std::fprintf(stderr, "RTP description round trip differs:\n%s\n", out->xml().c_str());
        std::abort();
      }
    }
    for (const CodecPreferences& prefs : {opusPreferences(1, "c", {"s t", true, false}),
                                          vp8Preferences(2, "c", {"", true, true})}) {
      auto negotiated = negotiate(*parsed, prefs);
      if (!negotiated.ok()) continue;
      const PayloadType* offered = parsed->findPayloadType(negotiated->codec.id);
      TERN_FUZZ_CHECK(offered != nullptr);
      TagPtr answer(serializeRtpDescription(negotiated->answer));
      TERN_FUZZ_CHECK(answer != nullptr);
      auto answer_back = parseRtpDescription(*tern::fuzz::reparseOne(answer->xml()));
      if (!xml_text) continue;
      TERN_FUZZ_CHECK(answer_back.ok());
      TERN_FUZZ_CHECK(answer_back->payload_types.size() == 1);
      TERN_FUZZ_CHECK(answer_back->payload_types.front().id == negotiated->codec.id);
    }
  }
  return 0;
}
