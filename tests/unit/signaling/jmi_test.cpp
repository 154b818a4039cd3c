// XEP-0353 Jingle Message Initiation: parser, serializer, Dino's real messages, and the per-call
// state machine for both roles (including accept-elsewhere, late retract, duplicate proceed).
#include <string>

#include <gtest/gtest.h>

#include "tern/signaling/jmi.hpp"
#include "tern/signaling/namespaces.hpp"
#include "xml_test_util.hpp"

namespace tern::signaling {
namespace {

using test::parseXml;
using test::parseXmlAll;
using test::xmlAndDelete;

// Dino 0.4.2's JMI messages of the dino-call-video capture (alice.jmi.xml, bob.jmi.xml; see
// tests/data/interop-captures/README.md), verbatim.
constexpr char kDinoVideoJmi[] = R"(
<message xmlns="jabber:client" id="98fc30af-4c61-4ffa-864b-4a6446caf863" to="bob@localhost" type="chat">
  <propose xmlns="urn:xmpp:jingle-message:0" id="9c27bdef-5b33-4c04-b3f3-6c29529f9fdb">
    <description xmlns="urn:xmpp:jingle:apps:rtp:1" media="audio"/>
    <description xmlns="urn:xmpp:jingle:apps:rtp:1" media="video"/>
  </propose>
</message>
<message xmlns="jabber:client" id="00a8bfdd-6978-46e8-bc6a-8284094436bc" to="bob@localhost" type="chat">
  <accept xmlns="urn:xmpp:jingle-message:0" id="9c27bdef-5b33-4c04-b3f3-6c29529f9fdb"/>
</message>
<message xmlns="jabber:client" id="0308dd07-59d1-4a8e-925b-d61d3262d1a2" to="alice@localhost/dino" type="chat">
  <proceed xmlns="urn:xmpp:jingle-message:0" id="9c27bdef-5b33-4c04-b3f3-6c29529f9fdb"/>
</message>)";

// The same from dino-call-audio.
constexpr char kDinoAudioJmi[] = R"(
<message xmlns="jabber:client" id="a89035c1-0469-4a65-be16-2d26bb3ad497" to="bob@localhost" type="chat">
  <propose xmlns="urn:xmpp:jingle-message:0" id="70e4ea2a-05ea-44b5-9229-2638397deab9">
    <description xmlns="urn:xmpp:jingle:apps:rtp:1" media="audio"/>
  </propose>
</message>
<message xmlns="jabber:client" id="1906784b-151a-4871-89b4-097cb7dfd49b" to="bob@localhost" type="chat">
  <accept xmlns="urn:xmpp:jingle-message:0" id="70e4ea2a-05ea-44b5-9229-2638397deab9"/>
</message>
<message xmlns="jabber:client" id="30d96b89-11e5-49c9-b081-58fcdc5356c5" to="alice@localhost/dino" type="chat">
  <proceed xmlns="urn:xmpp:jingle-message:0" id="70e4ea2a-05ea-44b5-9229-2638397deab9"/>
</message>)";

JmiMessage parseText(const std::string& xml) {
  auto tag = parseXml(xml);
  EXPECT_NE(tag, nullptr) << xml;
  if (!tag) return {};
  auto m = parseJmi(*tag);
  EXPECT_TRUE(m.ok()) << xml << ": " << (m.ok() ? "" : m.error().text);
  return m.ok() ? m.value() : JmiMessage{};
}

JmiMessage roundTrip(const JmiMessage& m, std::string* xml_out = nullptr) {
  const std::string xml = xmlAndDelete(serializeJmi(m));
  if (xml_out) *xml_out = xml;
  return parseText(xml);
}

TEST(JmiParse, DinoCaptures) {
  auto video = parseXmlAll(kDinoVideoJmi);
  ASSERT_EQ(video.size(), 3u);
  auto propose = parseJmi(*video[0]);
  ASSERT_TRUE(propose.ok());
  EXPECT_EQ(propose->type, JmiType::Propose);
  EXPECT_EQ(propose->id, "9c27bdef-5b33-4c04-b3f3-6c29529f9fdb");
  ASSERT_EQ(propose->descriptions.size(), 2u);
  EXPECT_EQ(propose->descriptions[0].xmlns, ns::kRtp);
  EXPECT_EQ(propose->descriptions[0].media, "audio");
  EXPECT_EQ(propose->descriptions[1].media, "video");
  EXPECT_TRUE(propose->proposesMedia("video"));
  auto accept = parseJmi(*video[1]);
  ASSERT_TRUE(accept.ok());
  EXPECT_EQ(accept->type, JmiType::Accept);
  EXPECT_EQ(accept->id, propose->id);
  auto proceed = parseJmi(*video[2]);
  ASSERT_TRUE(proceed.ok());
  EXPECT_EQ(proceed->type, JmiType::Proceed);
  EXPECT_FALSE(proceed->device_id.has_value());

  auto audio = parseXmlAll(kDinoAudioJmi);
  ASSERT_EQ(audio.size(), 3u);
  auto audio_propose = parseJmi(*audio[0]);
  ASSERT_TRUE(audio_propose.ok());
  EXPECT_EQ(audio_propose->id,
            "70e4ea2a-05ea-44b5-9229-2638397deab9");  // = the Jingle sid of the capture
  EXPECT_TRUE(audio_propose->proposesMedia("audio"));
  EXPECT_FALSE(audio_propose->proposesMedia("video"));
}

TEST(JmiParse, SiblingsAndHintsAreTolerated) {
  const JmiMessage m = parseText(
      "<message xmlns='jabber:client' from='juliet@capulet.example/phone' "
      "to='romeo@montague.example/orchard' "
      "type='chat'><body>Calling...</body><origin-id xmlns='urn:xmpp:sid:0' id='x'/>"
      "<ringing xmlns='urn:xmpp:jingle-message:0' id='ca3cf894'/><store "
      "xmlns='urn:xmpp:hints'/></message>");
  EXPECT_EQ(m.type, JmiType::Ringing);
  EXPECT_EQ(m.id, "ca3cf894");
}

// XEP-0353 examples 4, 7, 9, 11 and 12, and Conversations' device id.
TEST(JmiParse, ReasonsTieBreakMigratedDevice) {
  JmiMessage retract = parseText(
      "<message><retract xmlns='urn:xmpp:jingle-message:0' id='a'><reason "
      "xmlns='urn:xmpp:jingle:1'><cancel/>"
      "<text>Retracted</text></reason></retract><store xmlns='urn:xmpp:hints'/></message>");
  EXPECT_EQ(retract.type, JmiType::Retract);
  ASSERT_TRUE(retract.reason.has_value());
  EXPECT_EQ(retract.reason->condition, ReasonCondition::Cancel);
  EXPECT_EQ(retract.reason->text, "Retracted");

  JmiMessage reject = parseText(
      "<message><reject xmlns='urn:xmpp:jingle-message:0' id='b'><reason "
      "xmlns='urn:xmpp:jingle:1'><expired/>"
      "<text>Tie-Break</text></reason><tie-break/></reject></message>");
  EXPECT_EQ(reject.type, JmiType::Reject);
  EXPECT_EQ(reject.reason->condition, ReasonCondition::Expired);
  EXPECT_TRUE(reject.tie_break);

  JmiMessage finish = parseText(
      "<message><finish xmlns='urn:xmpp:jingle-message:0' id='c'><reason "
      "xmlns='urn:xmpp:jingle:1'><expired/>"
      "<text>Session migrated</text></reason><migrated to='989a46a6'/></finish></message>");
  EXPECT_EQ(finish.type, JmiType::Finish);
  EXPECT_EQ(finish.migrated_to, "989a46a6");

  JmiMessage proceed = parseText(
      "<message><proceed xmlns='urn:xmpp:jingle-message:0' id='d'>"
      "<device xmlns='http://gultsch.de/xmpp/drafts/omemo/dlts-srtp-verification' "
      "id='123456'/></proceed></message>");
  EXPECT_EQ(proceed.device_id, "123456");
}

TEST(JmiParse, Errors) {
  for (const char* xml : {
           // no JMI element
           "<message><body>hi</body></message>",
           // no id
           "<message><propose xmlns='urn:xmpp:jingle-message:0'><description "
           "xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose></message>",
           "<message><proceed xmlns='urn:xmpp:jingle-message:0'/></message>",
           // no description
           "<message><propose xmlns='urn:xmpp:jingle-message:0' id='x'/></message>",
           // another namespace
           "<message><propose xmlns='urn:xmpp:jingle-message:1' id='x'><description "
           "xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose></message>",
           // unknown element
           "<message><hangup xmlns='urn:xmpp:jingle-message:0' id='x'/></message>",
       }) {
    auto tag = parseXml(xml);
    ASSERT_NE(tag, nullptr) << xml;
    auto m = parseJmi(*tag);
    ASSERT_FALSE(m.ok()) << xml;
    EXPECT_EQ(m.error().condition, StanzaCondition::BadRequest);
    EXPECT_FALSE(m.error().text.empty());
  }
  // Hostile: an oversized id, too many descriptions, deep junk.
  const std::string big(5000, 'x');
  EXPECT_FALSE(parseJmi(*parseXml("<message><ringing xmlns='urn:xmpp:jingle-message:0' id='" + big +
                                  "'/></message>"))
                   .ok());
  std::string many = "<message><propose xmlns='urn:xmpp:jingle-message:0' id='x'>";
  for (std::size_t i = 0; i <= limits::kMaxJmiDescriptions; ++i) {
    many += "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/>";
  }
  many += "</propose></message>";
  EXPECT_FALSE(parseJmi(*parseXml(many)).ok());
  std::string deep = "<message><finish xmlns='urn:xmpp:jingle-message:0' id='x'>";
  for (int i = 0; i < 2000; ++i) deep += "<j>";
  for (int i = 0; i < 2000; ++i) deep += "</j>";
  deep += "</finish></message>";
  auto tag = parseXml(deep);
  ASSERT_NE(tag, nullptr);
  auto m = parseJmi(*tag);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->type, JmiType::Finish);
}

TEST(JmiSerialize, EveryTypeRoundTrips) {
  for (JmiType type : {JmiType::Propose, JmiType::Ringing, JmiType::Proceed, JmiType::Accept,
                       JmiType::Reject, JmiType::Retract, JmiType::Finish}) {
    JmiMessage m;
    m.type = type;
    m.id = "ca3cf894-5325-482f-a412-a6e9f832298d";
    if (type == JmiType::Propose) m.descriptions = {{ns::kRtp, "audio"}, {ns::kRtp, "video"}};
    if (type == JmiType::Reject || type == JmiType::Retract || type == JmiType::Finish) {
      m.reason = Reason::of(ReasonCondition::Busy, std::string("Busy"));
    }
    if (type == JmiType::Reject) m.tie_break = true;
    if (type == JmiType::Finish) m.migrated_to = "989a46a6";
    if (type == JmiType::Proceed) m.device_id = "42";
    std::string xml;
    EXPECT_EQ(roundTrip(m, &xml), m) << xml;
    EXPECT_EQ(xml.rfind(std::string("<") + std::string(toString(type)) +
                            " xmlns='urn:xmpp:jingle-message:0' id=",
                        0),
              0u)
        << xml;
  }
}

TEST(JmiSerialize, ExactForms) {
  JmiMessage propose;
  propose.type = JmiType::Propose;
  propose.id = "id1";
  propose.descriptions = {{ns::kRtp, "audio"}};
  EXPECT_EQ(xmlAndDelete(makeJmiMessageStanza(gloox::JID("juliet@capulet.example"), propose, "m1")),
            "<message to='juliet@capulet.example' type='chat' id='m1'>"
            "<propose xmlns='urn:xmpp:jingle-message:0' id='id1'>"
            "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose>"
            "<store xmlns='urn:xmpp:hints'/></message>");
  JmiMessage retract;
  retract.type = JmiType::Retract;
  retract.id = "id1";
  retract.reason = Reason::of(ReasonCondition::Cancel, std::string("Retracted"));
  EXPECT_EQ(xmlAndDelete(serializeJmi(retract)),
            "<retract xmlns='urn:xmpp:jingle-message:0' id='id1'><reason "
            "xmlns='urn:xmpp:jingle:1'><cancel/>"
            "<text>Retracted</text></reason></retract>");
  // Fields that do not belong to a type are not sent.
  JmiMessage ringing;
  ringing.type = JmiType::Ringing;
  ringing.id = "id1";
  ringing.reason = Reason::of(ReasonCondition::Success);
  ringing.tie_break = true;
  ringing.descriptions = {{ns::kRtp, "audio"}};
  EXPECT_EQ(xmlAndDelete(serializeJmi(ringing)),
            "<ringing xmlns='urn:xmpp:jingle-message:0' id='id1'/>");
}

TEST(JmiTieBreak, LowerIdWinsThenLowerJid) {
  const gloox::JID a("alice@example.org/a");
  const gloox::JID b("bob@example.org/b");
  EXPECT_TRUE(jmiProposeWins("ca3cf894", "fecbea35", b, a));  // XEP-0353 example 11
  EXPECT_FALSE(jmiProposeWins("fecbea35", "ca3cf894", a, b));
  EXPECT_TRUE(jmiProposeWins("same", "same", a, b));
  EXPECT_FALSE(jmiProposeWins("same", "same", b, a));
}

// ---- state machine
// -----------------------------------------------------------------------------------

const gloox::JID kAlice("alice@localhost/dino");
const gloox::JID kAlicePhone("alice@localhost/phone");
const gloox::JID kBob("bob@localhost/dino");
const gloox::JID kBobPhone("bob@localhost/phone");
const gloox::JID kBobBare("bob@localhost");
const gloox::JID kMallory("mallory@evil.example/x");
constexpr char kId[] = "70e4ea2a-05ea-44b5-9229-2638397deab9";

JmiMessage msg(JmiType type, std::string id = kId) {
  JmiMessage m;
  m.type = type;
  m.id = std::move(id);
  if (type == JmiType::Propose) m.descriptions = {{ns::kRtp, "audio"}};
  return m;
}

JmiCall caller() {
  auto [call, step] = JmiCall::propose(kId, kAlice, kBob, {{ns::kRtp, "audio"}});
  return call;
}

JmiCall callee(const gloox::JID& self = kBob) {
  auto call = JmiCall::incoming(msg(JmiType::Propose), kAlice, self);
  EXPECT_TRUE(call.ok());
  return call.value();
}

TEST(JmiCaller, DinoFlow) {
  auto [call, step] = JmiCall::propose(kId, kAlice, kBob, {{ns::kRtp, "audio"}});
  EXPECT_EQ(call.role(), JmiRole::Caller);
  EXPECT_EQ(call.state(), JmiState::Proposed);
  ASSERT_EQ(step.send.size(), 1u);
  EXPECT_EQ(step.send[0].to.full(), "bob@localhost");  // propose to the bare JID
  EXPECT_EQ(step.send[0].message.type, JmiType::Propose);
  EXPECT_EQ(step.send[0].message.id, kId);
  EXPECT_EQ(step.send[0].message.descriptions.size(), 1u);

  EXPECT_EQ(call.onMessage(msg(JmiType::Ringing), kBobPhone, false).event, JmiEvent::RemoteRinging);
  EXPECT_EQ(call.state(), JmiState::RemoteRinging);
  EXPECT_EQ(call.onMessage(msg(JmiType::Ringing), kBob, false).event, JmiEvent::Ignored);  // once

  // Dino's accept goes to bob's own bare JID; only the proceed reaches us.
  JmiMessage proceed = msg(JmiType::Proceed);
  proceed.device_id = "7";
  const JmiStep p = call.onMessage(proceed, kBob, false);
  EXPECT_EQ(p.event, JmiEvent::Proceeded);
  EXPECT_TRUE(p.send.empty());
  EXPECT_EQ(call.state(), JmiState::Proceeded);
  EXPECT_EQ(call.remoteDevice().full(),
            "bob@localhost/dino");  // session-initiate goes here, sid = id
  EXPECT_EQ(call.remoteDeviceId(), "7");

  auto f = call.finish();
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(f->send.size(), 1u);
  EXPECT_EQ(f->send[0].to.full(), "bob@localhost/dino");
  EXPECT_EQ(f->send[0].message.type, JmiType::Finish);
  EXPECT_EQ(f->send[0].message.reason->condition, ReasonCondition::Success);
  EXPECT_EQ(call.state(), JmiState::Finished);
  EXPECT_FALSE(call.finish().ok());
}

TEST(JmiCaller, DuplicateProceedFromAnotherDevice) {
  JmiCall call = caller();
  ASSERT_EQ(call.onMessage(msg(JmiType::Proceed), kBob, false).event, JmiEvent::Proceeded);
  // The same device again: nothing.
  JmiStep again = call.onMessage(msg(JmiType::Proceed), kBob, false);
  EXPECT_EQ(again.event, JmiEvent::Ignored);
  EXPECT_TRUE(again.send.empty());
  // A second device also proceeded: the first one keeps the call, the loser gets a finish.
  JmiStep loser = call.onMessage(msg(JmiType::Proceed), kBobPhone, false);
  EXPECT_EQ(loser.event, JmiEvent::Ignored);
  ASSERT_EQ(loser.send.size(), 1u);
  EXPECT_EQ(loser.send[0].to.full(), "bob@localhost/phone");
  EXPECT_EQ(loser.send[0].message.type, JmiType::Finish);
  EXPECT_EQ(loser.send[0].message.reason->condition, ReasonCondition::Cancel);
  EXPECT_EQ(call.state(), JmiState::Proceeded);
  EXPECT_EQ(call.remoteDevice().full(), "bob@localhost/dino");
  // The loser's late reject does not end the call; the winner's finish does.
  EXPECT_EQ(call.onMessage(msg(JmiType::Reject), kBobPhone, false).event, JmiEvent::Ignored);
  EXPECT_EQ(call.onMessage(msg(JmiType::Finish), kBobPhone, false).event, JmiEvent::Ignored);
  JmiMessage fin = msg(JmiType::Finish);
  fin.reason = Reason::of(ReasonCondition::Success);
  EXPECT_EQ(call.onMessage(fin, kBob, false).event, JmiEvent::Finished);
  EXPECT_EQ(call.state(), JmiState::Finished);
  EXPECT_EQ(call.lastReason()->condition, ReasonCondition::Success);
}

TEST(JmiCaller, RejectRetractAndLateMessages) {
  JmiCall rejected = caller();
  JmiMessage reject = msg(JmiType::Reject);
  reject.reason = Reason::of(ReasonCondition::Busy);
  EXPECT_EQ(rejected.onMessage(reject, kBobPhone, false).event, JmiEvent::Rejected);
  EXPECT_EQ(rejected.state(), JmiState::Rejected);
  EXPECT_EQ(rejected.lastReason()->condition, ReasonCondition::Busy);
  EXPECT_EQ(rejected.onMessage(msg(JmiType::Proceed), kBob, false).event,
            JmiEvent::Ignored);  // final
  EXPECT_FALSE(rejected.retract().ok());

  JmiCall retracted = caller();
  auto r = retracted.retract();
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->send.size(), 1u);
  EXPECT_EQ(r->send[0].to.full(), "bob@localhost");
  EXPECT_EQ(r->send[0].message.type, JmiType::Retract);
  EXPECT_EQ(r->send[0].message.reason->condition, ReasonCondition::Cancel);
  EXPECT_EQ(retracted.state(), JmiState::Retracted);
  // A proceed that crossed our retract: the callee will see the retract and stop; nothing to do.
  const JmiStep late = retracted.onMessage(msg(JmiType::Proceed), kBob, false);
  EXPECT_EQ(late.event, JmiEvent::Ignored);
  EXPECT_TRUE(late.send.empty());
  EXPECT_EQ(retracted.state(), JmiState::Retracted);

  // The proceeded device's reject ends the call.
  JmiCall hung = caller();
  ASSERT_EQ(hung.onMessage(msg(JmiType::Proceed), kBob, false).event, JmiEvent::Proceeded);
  EXPECT_FALSE(hung.retract().ok());  // use finish once proceeded
  EXPECT_EQ(hung.onMessage(msg(JmiType::Reject), kBob, false).event, JmiEvent::Rejected);
}

TEST(JmiCaller, StrangersOtherIdsAndBareJidsAreIgnored) {
  JmiCall call = caller();
  EXPECT_EQ(call.onMessage(msg(JmiType::Proceed), kMallory, false).event, JmiEvent::Ignored);
  EXPECT_EQ(call.onMessage(msg(JmiType::Reject), kMallory, false).event, JmiEvent::Ignored);
  EXPECT_EQ(call.onMessage(msg(JmiType::Proceed, "other-id"), kBob, false).event,
            JmiEvent::Ignored);
  EXPECT_EQ(call.onMessage(msg(JmiType::Proceed), kBobBare, false).event,
            JmiEvent::Ignored);  // need a device
  EXPECT_EQ(call.onMessage(msg(JmiType::Proceed), kAlicePhone, true).event,
            JmiEvent::Ignored);  // our own carbon
  EXPECT_EQ(call.onMessage(msg(JmiType::Retract), kBob, false).event, JmiEvent::Ignored);
  EXPECT_EQ(call.onMessage(msg(JmiType::Finish), kBob, false).event,
            JmiEvent::Ignored);  // before proceed
  EXPECT_EQ(call.state(), JmiState::Proposed);
}

TEST(JmiCallee, DinoFlow) {
  auto bad = JmiCall::incoming(msg(JmiType::Proceed), kAlice, kBob);
  EXPECT_FALSE(bad.ok());
  EXPECT_FALSE(JmiCall::incoming(msg(JmiType::Propose), gloox::JID("alice@localhost"), kBob).ok());

  JmiCall call = callee();
  EXPECT_EQ(call.role(), JmiRole::Callee);
  EXPECT_EQ(call.state(), JmiState::Ringing);
  EXPECT_EQ(call.peer().full(), "alice@localhost/dino");
  EXPECT_EQ(call.descriptions().size(), 1u);
  auto ring = call.ring();
  ASSERT_TRUE(ring.ok());
  ASSERT_EQ(ring->send.size(), 1u);
  EXPECT_EQ(ring->send[0].to.full(), "alice@localhost/dino");
  EXPECT_EQ(ring->send[0].message.type, JmiType::Ringing);
  EXPECT_FALSE(call.ring().ok());  // once

  auto p = call.proceed();
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->send.size(), 2u);  // as Dino: accept to our own bare JID, proceed to the caller
  EXPECT_EQ(p->send[0].to.full(), "bob@localhost");
  EXPECT_EQ(p->send[0].message.type, JmiType::Accept);
  EXPECT_EQ(p->send[1].to.full(), "alice@localhost/dino");
  EXPECT_EQ(p->send[1].message.type, JmiType::Proceed);
  EXPECT_EQ(p->send[1].message.id, kId);
  EXPECT_EQ(call.state(), JmiState::Proceeded);
  EXPECT_EQ(call.remoteDevice().full(), "alice@localhost/dino");

  // Our own accept, echoed back to us (sent to our bare JID), changes nothing.
  EXPECT_EQ(call.onMessage(msg(JmiType::Accept), kBob, false).event, JmiEvent::Ignored);
  // The caller's finish addressed to us ends the call.
  EXPECT_EQ(call.onMessage(msg(JmiType::Finish), kAlice, false).event, JmiEvent::Finished);
  EXPECT_EQ(call.state(), JmiState::Finished);
}

TEST(JmiCallee, AcceptedOrRejectedElsewhere) {
  // Dino's <accept/> from our other device to our bare JID.
  JmiCall accepted = callee(kBobPhone);
  EXPECT_EQ(accepted.onMessage(msg(JmiType::Accept), kBob, false).event,
            JmiEvent::AcceptedElsewhere);
  EXPECT_EQ(accepted.state(), JmiState::AcceptedElsewhere);
  EXPECT_FALSE(accepted.proceed().ok());
  // A 0.6+ client: only the <proceed/> to the caller, seen as a sent carbon.
  JmiCall proceeded = callee(kBobPhone);
  EXPECT_EQ(proceeded.onMessage(msg(JmiType::Proceed), kBob, true).event,
            JmiEvent::AcceptedElsewhere);

  JmiCall rejected = callee(kBobPhone);
  EXPECT_EQ(rejected.onMessage(msg(JmiType::Reject), kBob, true).event,
            JmiEvent::RejectedElsewhere);
  EXPECT_EQ(rejected.state(), JmiState::RejectedElsewhere);
  // A stranger cannot make us stop ringing.
  JmiCall ringing = callee(kBobPhone);
  EXPECT_EQ(ringing.onMessage(msg(JmiType::Accept), kMallory, false).event, JmiEvent::Ignored);
  EXPECT_EQ(ringing.onMessage(msg(JmiType::Retract), kMallory, false).event, JmiEvent::Ignored);
  EXPECT_EQ(ringing.state(), JmiState::Ringing);
}

TEST(JmiCallee, RejectHere) {
  JmiCall call = callee();
  auto r = call.reject();
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->send.size(), 1u);
  EXPECT_EQ(r->send[0].to.full(), "alice@localhost/dino");
  EXPECT_EQ(r->send[0].message.type, JmiType::Reject);
  EXPECT_EQ(r->send[0].message.reason->condition, ReasonCondition::Busy);
  EXPECT_EQ(call.state(), JmiState::Rejected);
  EXPECT_FALSE(call.proceed().ok());
  EXPECT_FALSE(call.finish().ok());
  EXPECT_EQ(call.onMessage(msg(JmiType::Retract), kAlice, false).event, JmiEvent::Ignored);
}

TEST(JmiCallee, RetractWhileRingingAndLateRetractAfterProceed) {
  JmiCall ringing = callee();
  JmiMessage retract = msg(JmiType::Retract);
  retract.reason = Reason::of(ReasonCondition::Cancel, std::string("Retracted"));
  EXPECT_EQ(ringing.onMessage(retract, kAlice, false).event, JmiEvent::Retracted);
  EXPECT_EQ(ringing.state(), JmiState::Retracted);
  EXPECT_EQ(ringing.lastReason()->text, "Retracted");
  EXPECT_FALSE(ringing.proceed().ok());

  // The caller hung up while our proceed was on its way: the call is over.
  JmiCall late = callee();
  ASSERT_TRUE(late.proceed().ok());
  EXPECT_EQ(late.onMessage(retract, kAlice, false).event, JmiEvent::Retracted);
  EXPECT_EQ(late.state(), JmiState::Retracted);
  // Anything after a final state is ignored.
  EXPECT_EQ(late.onMessage(msg(JmiType::Finish), kAlice, false).event, JmiEvent::Ignored);
}

TEST(JmiCallee, FinishForAnotherDeviceDoesNotEndOurCall) {
  // Two of bob's devices proceeded; the caller kept bob/dino and finished bob/phone. bob/dino sees
  // that finish only as a carbon and keeps its call.
  JmiCall winner = callee(kBob);
  ASSERT_TRUE(winner.proceed().ok());
  EXPECT_EQ(winner.onMessage(msg(JmiType::Proceed), kBobPhone, true).event, JmiEvent::Ignored);
  EXPECT_EQ(winner.onMessage(msg(JmiType::Finish), kAlice, true).event, JmiEvent::Ignored);
  EXPECT_EQ(winner.state(), JmiState::Proceeded);
  // The loser gets it addressed to itself.
  JmiCall loser = callee(kBobPhone);
  ASSERT_TRUE(loser.proceed().ok());
  EXPECT_EQ(loser.onMessage(msg(JmiType::Finish), kAlice, false).event, JmiEvent::Finished);
  // While ringing, a finish from the caller (the call happened elsewhere) stops the ringing.
  JmiCall ringing = callee(kBobPhone);
  EXPECT_EQ(ringing.onMessage(msg(JmiType::Finish), kAlice, true).event, JmiEvent::Finished);
  EXPECT_TRUE(isFinal(ringing.state()));
}

TEST(JmiCallee, FinishHere) {
  JmiCall call = callee();
  ASSERT_TRUE(call.proceed().ok());
  auto f = call.finish(Reason::of(ReasonCondition::ConnectivityError));
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(f->send.size(), 1u);
  EXPECT_EQ(f->send[0].to.full(), "alice@localhost/dino");
  EXPECT_EQ(f->send[0].message.reason->condition, ReasonCondition::ConnectivityError);
  EXPECT_EQ(call.state(), JmiState::Finished);
}

TEST(JmiCall, LocalActionsOfTheOtherRoleFail) {
  JmiCall c = caller();
  EXPECT_FALSE(c.ring().ok());
  EXPECT_FALSE(c.proceed().ok());
  EXPECT_FALSE(c.reject().ok());
  EXPECT_EQ(c.proceed().error().condition, StanzaCondition::UnexpectedRequest);
  JmiCall r = callee();
  EXPECT_FALSE(r.retract().ok());
  EXPECT_FALSE(r.finish().ok());  // not proceeded yet
  EXPECT_EQ(toString(JmiState::AcceptedElsewhere), "accepted-elsewhere");
  EXPECT_EQ(toString(JmiEvent::Proceeded), "proceeded");
}

// The whole Dino exchange, both ends driven by the messages the other end produces.
TEST(JmiCall, BothEndsTalkToEachOther) {
  auto [alice, propose] =
      JmiCall::propose(kId, kAlice, kBobBare, {{ns::kRtp, "audio"}, {ns::kRtp, "video"}});
  ASSERT_EQ(propose.send.size(), 1u);
  // Through XML, as on the wire.
  auto wire = parseXml(
      xmlAndDelete(makeJmiMessageStanza(propose.send[0].to, propose.send[0].message, "s1")));
  ASSERT_NE(wire, nullptr);
  auto received = parseJmi(*wire);
  ASSERT_TRUE(received.ok());
  auto bob_or = JmiCall::incoming(received.value(), kAlice, kBob);
  ASSERT_TRUE(bob_or.ok());
  JmiCall bob = bob_or.value();
  EXPECT_EQ(bob.descriptions().size(), 2u);
  auto ring = bob.ring();
  ASSERT_TRUE(ring.ok());
  EXPECT_EQ(alice.onMessage(ring->send[0].message, kBob, false).event, JmiEvent::RemoteRinging);
  auto p = bob.proceed();
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(alice.onMessage(p->send[1].message, kBob, false).event, JmiEvent::Proceeded);
  auto f = alice.finish();
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->send[0].to.full(), kBob.full());
  EXPECT_EQ(bob.onMessage(f->send[0].message, kAlice, false).event, JmiEvent::Finished);
  EXPECT_EQ(alice.state(), JmiState::Finished);
  EXPECT_EQ(bob.state(), JmiState::Finished);
}

}  // namespace
}  // namespace tern::signaling
