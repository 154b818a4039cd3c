// Fuzzes the sans-IO part of the Jingle IQ handler: stanza bytes -> gloox parser -> parseJingle
// (XEP-0166 with every application and transport it embeds: XEP-0167/0293/0294/0339 RTP,
// XEP-0234 file transfer, XEP-0176 ICE-UDP, XEP-0320 fingerprints, XEP-0343 data channels,
// XEP-0338 groups, session-info payloads) -> SessionTable rules (XEP-0166 5.1, 6.3.2, 6.7,
// 7.2.16) -> the answer (IQ error or acceptance), as the engine does for each incoming IQ-set.
//
// One input is a sequence of stanzas (up to 64): <iq type='set' from='...'><jingle/></iq> or a bare
// <jingle/>, fed in order to one SessionTable, so the fuzzer reaches session states (accept after
// initiate, tie-breaks, terminate then more requests).
//
// Invariants checked (abort = a crash for libFuzzer):
//   - a rejected stanza is a <bad-request/> of type modify with a text (jingle.hpp);
//   - whatever parses serializes to XML that parses again and is accepted again (strict output),
//     with the same action, sid and contents when the input was valid XML text (isXmlText);
//   - the error the table returns serializes to an <error/> element;
//   - sanitizeFileName() of any offered name is non-empty, has no '/' or '\\', is not "." / "..".
//
// Threading: single-threaded, like the XMPP thread that runs this code in the engine.
#include <cstddef>
#include <cstdint>
#include <string>

#include <gloox/jid.h>

#include "fuzz_support.hpp"
#include "tern/signaling/errors.hpp"
#include "tern/signaling/filename.hpp"
#include "tern/signaling/jingle.hpp"
#include "tern/signaling/namespaces.hpp"
#include "tern/signaling/rtp.hpp"
#include "tern/signaling/session_table.hpp"

using namespace tern::signaling;
using tern::fuzz::TagPtr;

namespace {

void checkFileName(const std::string& offered) {
  const std::string safe = sanitizeFileName(offered);
  TERN_FUZZ_CHECK(!safe.empty());
  TERN_FUZZ_CHECK(safe.size() <= 255);
  TERN_FUZZ_CHECK(safe.find('/') == std::string::npos);
  TERN_FUZZ_CHECK(safe.find('\\') == std::string::npos);
  TERN_FUZZ_CHECK(safe != "." && safe != "..");
}

void checkError(const Error& error) {
  TagPtr tag(makeErrorTag(error));
  TERN_FUZZ_CHECK(tag != nullptr);
  tern::fuzz::reparseOne(tag->xml());
}

void exercise(const Jingle& jingle) {
  for (const Content& content : jingle.contents) {
    if (!content.description) continue;
    const Description& d = *content.description;
    if (d.file_transfer && d.file_transfer->file && d.file_transfer->file->name) {
      checkFileName(*d.file_transfer->file->name);
    }
    if (d.rtp) {
      // What the engine does with an offer or an answer: match it against what it speaks.
      for (const CodecPreferences& prefs : {opusPreferences(1, "c"), vp8Preferences(2, "c")}) {
        auto negotiated = negotiate(*d.rtp, prefs);
        if (negotiated.ok()) {
          TagPtr answer(serializeRtpDescription(negotiated->answer));
          TERN_FUZZ_CHECK(answer != nullptr);
          tern::fuzz::reparseOne(answer->xml());
        }
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto tags = tern::fuzz::parseXmlAll(data, size);
  const bool xml_text = tern::fuzz::isXmlText(data, size);
  SessionTable table(SessionTableLimits{2, 8, 4});
  const gloox::JID self("bob@localhost/harness");

  for (const TagPtr& tag : tags) {
    const gloox::Tag* element = nullptr;
    gloox::JID from("alice@localhost/web");
    if (tag->name() == "iq") {
      element = tag->findChild("jingle", "xmlns", ns::kJingle);
      if (tag->hasAttribute("from")) from = gloox::JID(tag->findAttribute("from"));
    } else if (tag->name() == "jingle") {
      element = tag.get();
    } else if (tag->name() == "local" && tag->hasAttribute("sid")) {
      // Not XMPP: lets the fuzzer interleave our own requests (initiate, accept, terminate).
      const std::string sid = tag->findAttribute("sid");
      const std::string what = tag->findAttribute("action");
      if (what == "initiate") {
        (void)table.localInitiate(from, sid);
      } else if (const SessionRecord* record = table.find(from, sid)) {
        if (what == "accept")
          (void)table.localAccept(record->handle);
        else if (what == "terminate")
          (void)table.localTerminate(record->handle);
        else if (what == "ended")
          table.markEnded(record->handle);
        else if (what == "forget")
          table.forget(record->handle);
      }
      continue;
    }
    if (!element) continue;

    auto parsed = parseJingle(*element);
    if (!parsed.ok()) {
      TERN_FUZZ_CHECK(parsed.error().condition == StanzaCondition::BadRequest);
      TERN_FUZZ_CHECK(parsed.error().type == StanzaErrorType::Modify);
      TERN_FUZZ_CHECK(!parsed.error().text.empty());
      checkError(parsed.error());
      continue;
    }

    // Strict output: what we parsed serializes to XML that we accept again.
    {
      TagPtr out(serializeJingle(*parsed));
      TERN_FUZZ_CHECK(out != nullptr);
      TagPtr back = tern::fuzz::reparseOne(out->xml());
      auto again = parseJingle(*back);
      if (xml_text && !again.ok()) {
        std::fprintf(stderr, "re-parse failed: %s\n%s\n", again.error().text.c_str(),
                     out->xml().c_str());
        std::abort();
      }
      if (xml_text && again.ok() &&
          (again->action != parsed->action || again->sid != parsed->sid ||
           again->contents.size() != parsed->contents.size())) {
        std::fprintf(stderr, "round trip changed the request: sid [%s] -> [%s]\n%s\n",
                     parsed->sid.c_str(), again->sid.c_str(), out->xml().c_str());
        std::abort();
      }
    }

    auto dispatched = table.onIncoming(from, self, *parsed);
    if (!dispatched.ok()) {
      checkError(dispatched.error());
      continue;
    }
    TERN_FUZZ_CHECK(table.find(dispatched->session) != nullptr);
    if (dispatched->created) TERN_FUZZ_CHECK(table.pendingIncomingFrom(from) <= 2);
    exercise(*parsed);
  }
  return 0;
}
