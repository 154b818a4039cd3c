// Fuzzes Jingle Message Initiation (XEP-0353): <message/> bytes -> gloox parser -> parseJmi ->
// the JmiCall state machines of both roles, as the engine runs them for every JMI message.
//
// One input is a sequence of stanzas. The first parsed <propose/> starts a callee call (we are
// bob@localhost/phone) and a caller call with the same id (we are alice@localhost/laptop, calling
// bob@localhost); every parsed message is then fed to both. Pseudo-elements
// <local role='caller|callee' action='ring|proceed|reject|retract|finish'/> interleave our own
// actions. A message's sender is its 'from' attribute (default: the other party).
//
// Invariants checked:
//   - rejected input is a <bad-request/> with a text;
//   - parse(serialize(m)) == m for valid XML text (isXmlText; a reason without a condition becomes
//     <general-error/>, a description without a namespace an RTP one, and children sent on a
//     type that does not carry them, e.g. <tie-break/> in <propose/>, are dropped), and the
//     message stanza parses back;
//   - a final state never changes again, and an Ignored message changes nothing;
//   - a message from a JID that is neither the peer's nor our own bare JID is Ignored
//     (nobody else can answer or end a call, jmi.hpp).
//
// Threading: single-threaded, like the XMPP thread that runs this code in the engine.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <gloox/jid.h>

#include "fuzz_support.hpp"
#include "tern/signaling/jmi.hpp"

using namespace tern::signaling;
using tern::fuzz::TagPtr;

namespace {

const gloox::JID kBobPhone("bob@localhost/phone");
const gloox::JID kAliceLaptop("alice@localhost/laptop");

void feed(std::optional<JmiCall>& call, const JmiMessage& message, const gloox::JID& from,
          const gloox::JID& self) {
  if (!call) return;
  const JmiState before = call->state();
  const bool carbon = from.bare() == self.bare();
  JmiStep step = call->onMessage(message, from, carbon);
  if (isFinal(before)) TERN_FUZZ_CHECK(call->state() == before);
  if (step.event == JmiEvent::Ignored) {
    TERN_FUZZ_CHECK(call->state() == before);
    // The one exception: a late <proceed/> from another device gets a <finish/> (jmi.hpp).
    if (message.type != JmiType::Proceed) TERN_FUZZ_CHECK(step.send.empty());
  }
  const std::string peer_bare = gloox::JID(call->peer().bare()).bare();
  if (from.bare() != peer_bare && from.bare() != self.bare()) {
    TERN_FUZZ_CHECK(step.event == JmiEvent::Ignored);
  }
  for (const JmiOutgoing& out : step.send) {
    TagPtr stanza(makeJmiMessageStanza(out.to, out.message, "id"));
    TERN_FUZZ_CHECK(stanza != nullptr);
    tern::fuzz::reparseOne(stanza->xml());
  }
}

void local(std::optional<JmiCall>& call, const std::string& action) {
  if (!call) return;
  const JmiState before = call->state();
  Result<JmiStep> step = Error::badRequest("no action");
  if (action == "ring")
    step = call->ring();
  else if (action == "proceed")
    step = call->proceed("1234");
  else if (action == "reject")
    step = call->reject();
  else if (action == "retract")
    step = call->retract();
  else if (action == "finish")
    step = call->finish();
  else
    return;
  if (!step.ok()) {
    TERN_FUZZ_CHECK(call->state() == before);
    return;
  }
  TERN_FUZZ_CHECK(!isFinal(before));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto tags = tern::fuzz::parseXmlAll(data, size);
  const bool xml_text = tern::fuzz::isXmlText(data, size);
  std::optional<JmiCall> callee;
  std::optional<JmiCall> caller;

  for (const TagPtr& tag : tags) {
    if (tag->name() == "local") {
      local(tag->findAttribute("role") == "caller" ? caller : callee, tag->findAttribute("action"));
      continue;
    }
    auto parsed = parseJmi(*tag);
    if (!parsed.ok()) {
      TERN_FUZZ_CHECK(parsed.error().condition == StanzaCondition::BadRequest);
      TERN_FUZZ_CHECK(!parsed.error().text.empty());
      continue;
    }
    const JmiMessage& message = *parsed;
    {
      TagPtr out(serializeJmi(message));
      TERN_FUZZ_CHECK(out != nullptr);
      TagPtr back = tern::fuzz::reparseOne(out->xml());
      auto again = parseJmi(*back);
      // A <reason/> without a condition (invalid, accepted liberally) goes out as
      // <general-error/>, the XEP-0166 7.4 catch-all.
      JmiMessage expected = message;
      if (expected.reason && expected.reason->condition == ReasonCondition::Unknown &&
          expected.reason->condition_name.empty()) {
        expected.reason->condition = ReasonCondition::GeneralError;
        expected.reason->condition_name = "general-error";
      }
      // A <description/> without a namespace goes out as an RTP one (the serializer's default).
      for (JmiDescription& d : expected.descriptions) {
        if (d.xmlns.empty()) d.xmlns = ns::kRtp;
      }
      // Children the parser accepts anywhere go out only where jmi.hpp says they belong.
      const JmiType t = expected.type;
      if (t != JmiType::Reject && t != JmiType::Retract && t != JmiType::Finish)
        expected.reason.reset();
      if (t != JmiType::Reject && t != JmiType::Retract) expected.tie_break = false;
      if (t != JmiType::Finish) expected.migrated_to.reset();
      if (t != JmiType::Proceed) expected.device_id.reset();
      if (xml_text && (!again.ok() || !(*again == expected))) {
        std::fprintf(stderr, "JMI round trip changed the message:\n%s\n", out->xml().c_str());
        std::abort();
      }
    }

    const bool has_from = tag->hasAttribute("from");
    const gloox::JID from_caller = has_from ? gloox::JID(tag->findAttribute("from")) : kAliceLaptop;
    const gloox::JID from_callee = has_from ? gloox::JID(tag->findAttribute("from")) : kBobPhone;

    if (message.type == JmiType::Propose && !callee) {
      auto incoming = JmiCall::incoming(message, from_caller, kBobPhone);
      if (incoming.ok()) callee.emplace(std::move(incoming.value()));
      auto proposed = JmiCall::propose(message.id, kAliceLaptop, gloox::JID("bob@localhost"),
                                       message.descriptions);
      TERN_FUZZ_CHECK(proposed.second.send.size() == 1);
      caller.emplace(std::move(proposed.first));
      continue;
    }
    feed(callee, message, from_caller, kBobPhone);
    feed(caller, message, from_callee, kAliceLaptop);
  }
  return 0;
}
