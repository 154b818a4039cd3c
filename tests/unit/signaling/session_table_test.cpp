// SessionTable: the XEP-0166 state machine and error rules, one test per rule.
#include <gtest/gtest.h>

#include "tern/signaling/session_table.hpp"

namespace tern::signaling {
namespace {

const gloox::JID kMe("bob@example.org/phone");
const gloox::JID kAlice("alice@example.org/laptop");
const gloox::JID kAliceOther("alice@example.org/desktop");
const gloox::JID kMallory("mallory@evil.example/x");

Content fileContent(const std::string& name = "f") {
  Content c;
  c.name = name;
  c.senders = Senders::Initiator;
  FileTransferDescription ft;
  ft.file = FileInfo{};
  ft.file->name = "a.txt";
  ft.file->size = 1;
  c.description = Description::fileTransfer(ft);
  IceUdpTransport ice;
  ice.sctpmap = SctpMap{};
  c.transport = Transport::iceUdp(ice);
  return c;
}

Jingle initiate(const std::string& sid) {
  Jingle j;
  j.action = Action::SessionInitiate;
  j.sid = sid;
  j.contents.push_back(fileContent());
  return j;
}

Jingle action(Action a, const std::string& sid) {
  Jingle j;
  j.action = a;
  j.sid = sid;
  if (a == Action::SessionAccept) {
    Content c = fileContent();
    c.description.reset();
    j.contents.push_back(c);
  }
  if (a == Action::TransportReplace || a == Action::TransportAccept || a == Action::TransportReject ||
      a == Action::ContentAdd || a == Action::ContentAccept || a == Action::ContentReject ||
      a == Action::ContentRemove || a == Action::ContentModify) {
    j.contents.push_back(fileContent());
  }
  return j;
}

void expectError(const Result<Dispatch>& r, StanzaCondition condition, JingleCondition jingle) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().condition, condition);
  EXPECT_EQ(r.error().jingle, jingle);
}

void expectUnknownSession(const Result<Dispatch>& r) {
  expectError(r, StanzaCondition::ItemNotFound, JingleCondition::UnknownSession);
  if (!r.ok()) {
    EXPECT_EQ(r.error().type, StanzaErrorType::Cancel);
  }
}

void expectOutOfOrder(const Result<Dispatch>& r) {
  expectError(r, StanzaCondition::UnexpectedRequest, JingleCondition::OutOfOrder);
}

TEST(SessionTable, IncomingInitiateCreatesPendingResponderSession) {
  SessionTable t;
  auto r = t.onIncoming(kAlice, kMe, initiate("s1"));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->created);
  EXPECT_EQ(r->action, Action::SessionInitiate);
  EXPECT_EQ(r->state, SessionState::Pending);
  const SessionRecord* rec = t.find(r->session);
  ASSERT_NE(rec, nullptr);
  EXPECT_EQ(rec->sid, "s1");
  EXPECT_EQ(rec->peer.full(), kAlice.full());
  EXPECT_EQ(rec->role, Role::Responder);
  EXPECT_EQ(rec->state, SessionState::Pending);
  EXPECT_EQ(t.find(kAlice, "s1"), rec);
}

TEST(SessionTable, UnknownSid) {
  SessionTable t;
  for (Action a : {Action::SessionAccept, Action::SessionTerminate, Action::TransportInfo, Action::SessionInfo,
                   Action::ContentAdd, Action::TransportReplace}) {
    expectUnknownSession(t.onIncoming(kAlice, kMe, action(a, "nope")));
  }
  EXPECT_EQ(t.size(), 0u);
}

TEST(SessionTable, WrongPeerGetsUnknownSessionNotTheSession) {
  SessionTable t;
  ASSERT_TRUE(t.onIncoming(kAlice, kMe, initiate("s1")).ok());
  // Another account, and another resource of the same account, are not the peer.
  expectUnknownSession(t.onIncoming(kMallory, kMe, action(Action::SessionTerminate, "s1")));
  expectUnknownSession(t.onIncoming(kAliceOther, kMe, action(Action::TransportInfo, "s1")));
  EXPECT_EQ(t.find(kAlice, "s1")->state, SessionState::Pending);  // untouched
  // The same sid from someone else is simply a different session.
  auto other = t.onIncoming(kMallory, kMe, initiate("s1"));
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->session, t.find(kAlice, "s1")->handle);
}

TEST(SessionTable, DuplicateInitiateIsOutOfOrder) {
  SessionTable t;
  ASSERT_TRUE(t.onIncoming(kAlice, kMe, initiate("s1")).ok());
  expectOutOfOrder(t.onIncoming(kAlice, kMe, initiate("s1")));
  ASSERT_TRUE(t.localAccept(t.find(kAlice, "s1")->handle).ok());
  expectOutOfOrder(t.onIncoming(kAlice, kMe, initiate("s1")));
}

TEST(SessionTable, CrossedInitiatesWithTheSameSidTieBreakOnJid) {
  // Our JID (bob@...) is higher than alice@...: alice's initiate wins, ours is overruled.
  {
    SessionTable t;
    auto ours = t.localInitiate(kAlice, "same");
    ASSERT_TRUE(ours.ok());
    auto r = t.onIncoming(kAlice, kMe, initiate("same"));
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->created);
    ASSERT_TRUE(r->overruled.has_value());
    EXPECT_EQ(*r->overruled, *ours);
    EXPECT_EQ(t.find(*ours)->state, SessionState::Ended);
    EXPECT_EQ(t.find(kAlice, "same")->handle, r->session);
    EXPECT_EQ(t.find(r->session)->role, Role::Responder);
    // Ending the overruled record must not touch the new session.
    EXPECT_FALSE(t.localTerminate(*ours).ok());
    EXPECT_EQ(t.find(r->session)->state, SessionState::Pending);
  }
  // Against a higher JID we win: conflict + tie-break, nothing changes.
  {
    SessionTable t;
    const gloox::JID zed("zed@example.org/r");
    auto ours = t.localInitiate(zed, "same");
    ASSERT_TRUE(ours.ok());
    auto r = t.onIncoming(zed, kMe, initiate("same"));
    expectError(r, StanzaCondition::Conflict, JingleCondition::TieBreak);
    EXPECT_EQ(t.find(*ours)->state, SessionState::Pending);
    EXPECT_EQ(t.find(*ours)->role, Role::Initiator);
  }
  EXPECT_TRUE(SessionTable::localWinsTieBreak("abc", kMe, "abd", kAlice));
  EXPECT_FALSE(SessionTable::localWinsTieBreak("abd", kAlice, "abc", kMe));
  EXPECT_FALSE(SessionTable::localWinsTieBreak("same", kMe, "same", kAlice));
  EXPECT_TRUE(SessionTable::localWinsTieBreak("same", kAlice, "same", kMe));
}

TEST(SessionTable, OutOfOrderSessionAccept) {
  SessionTable t;
  // We are the responder: the initiator cannot accept.
  auto in = t.onIncoming(kAlice, kMe, initiate("s1"));
  ASSERT_TRUE(in.ok());
  expectOutOfOrder(t.onIncoming(kAlice, kMe, action(Action::SessionAccept, "s1")));
  // We accepted it ourselves: still not acceptable from the peer.
  ASSERT_TRUE(t.localAccept(in->session).ok());
  expectOutOfOrder(t.onIncoming(kAlice, kMe, action(Action::SessionAccept, "s1")));
  // We cannot accept twice either.
  EXPECT_FALSE(t.localAccept(in->session).ok());

  // We are the initiator: the first accept activates, a second one is out of order.
  auto ours = t.localInitiate(kAlice, "s2");
  ASSERT_TRUE(ours.ok());
  auto acc = t.onIncoming(kAlice, kMe, action(Action::SessionAccept, "s2"));
  ASSERT_TRUE(acc.ok());
  EXPECT_EQ(acc->state, SessionState::Active);
  EXPECT_EQ(t.find(*ours)->state, SessionState::Active);
  expectOutOfOrder(t.onIncoming(kAlice, kMe, action(Action::SessionAccept, "s2")));
  // And we may not send session-accept on our own initiate.
  EXPECT_FALSE(t.localAccept(*ours).ok());
}

TEST(SessionTable, TerminateThenAnything) {
  SessionTable t;
  auto in = t.onIncoming(kAlice, kMe, initiate("s1"));
  ASSERT_TRUE(in.ok());
  auto term = t.onIncoming(kAlice, kMe, action(Action::SessionTerminate, "s1"));
  ASSERT_TRUE(term.ok());
  EXPECT_EQ(term->state, SessionState::Ended);
  EXPECT_EQ(t.find(in->session)->state, SessionState::Ended);
  // XEP-0166 6.7: after termination the session is unknown.
  for (Action a : {Action::SessionTerminate, Action::TransportInfo, Action::SessionInfo, Action::SessionAccept,
                   Action::ContentAdd}) {
    expectUnknownSession(t.onIncoming(kAlice, kMe, action(a, "s1")));
  }
  // Reusing the sid for a new session is out of order while the record is kept.
  expectOutOfOrder(t.onIncoming(kAlice, kMe, initiate("s1")));
  // Our own requests after terminate are refused too.
  EXPECT_FALSE(t.onOutgoing(kAlice, action(Action::TransportInfo, "s1")).ok());
  EXPECT_FALSE(t.localTerminate(in->session).ok());

  // Same after a local terminate.
  auto s2 = t.onIncoming(kAlice, kMe, initiate("s2"));
  ASSERT_TRUE(s2.ok());
  ASSERT_TRUE(t.localTerminate(s2->session).ok());
  expectUnknownSession(t.onIncoming(kAlice, kMe, action(Action::TransportInfo, "s2")));
  // Forgetting the record frees the sid.
  t.forget(s2->session);
  EXPECT_EQ(t.find(s2->session), nullptr);
  EXPECT_TRUE(t.onIncoming(kAlice, kMe, initiate("s2")).ok());
}

TEST(SessionTable, PendingOfferLimitPerPeer) {
  SessionTable t(4);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(t.onIncoming(kAlice, kMe, initiate("s" + std::to_string(i))).ok());
  }
  EXPECT_EQ(t.pendingIncomingFrom(kAlice), 4u);
  auto fifth = t.onIncoming(kAlice, kMe, initiate("s4"));
  expectError(fifth, StanzaCondition::ResourceConstraint, JingleCondition::None);
  EXPECT_EQ(fifth.error().type, StanzaErrorType::Wait);
  // Counted per bare JID: another resource of alice does not escape the limit.
  expectError(t.onIncoming(kAliceOther, kMe, initiate("s5")), StanzaCondition::ResourceConstraint,
              JingleCondition::None);
  // Other peers are not affected.
  EXPECT_TRUE(t.onIncoming(kMallory, kMe, initiate("m1")).ok());
  // Once one offer is accepted (ACTIVE) or ended, a new one fits.
  ASSERT_TRUE(t.localAccept(t.find(kAlice, "s0")->handle).ok());
  EXPECT_TRUE(t.onIncoming(kAlice, kMe, initiate("s6")).ok());
  ASSERT_TRUE(t.onIncoming(kAlice, kMe, action(Action::SessionTerminate, "s1")).ok());
  EXPECT_TRUE(t.onIncoming(kAlice, kMe, initiate("s7")).ok());
  expectError(t.onIncoming(kAlice, kMe, initiate("s8")), StanzaCondition::ResourceConstraint, JingleCondition::None);
}

TEST(SessionTable, LiveSessionLimit) {
  SessionTable t(SessionTableLimits{100, 3, 10});
  ASSERT_TRUE(t.onIncoming(kAlice, kMe, initiate("a")).ok());
  ASSERT_TRUE(t.onIncoming(kMallory, kMe, initiate("b")).ok());
  ASSERT_TRUE(t.localInitiate(kAliceOther, "c").ok());
  expectError(t.onIncoming(gloox::JID("carol@example.org/x"), kMe, initiate("d")),
              StanzaCondition::ResourceConstraint, JingleCondition::None);
}

TEST(SessionTable, InitiateValidation) {
  SessionTable t;
  Jingle empty = initiate("s1");
  empty.contents.clear();
  expectError(t.onIncoming(kAlice, kMe, empty), StanzaCondition::BadRequest, JingleCondition::None);
  Jingle no_transport = initiate("s2");
  no_transport.contents[0].transport.reset();
  expectError(t.onIncoming(kAlice, kMe, no_transport), StanzaCondition::BadRequest, JingleCondition::None);
  Jingle no_description = initiate("s3");
  no_description.contents[0].description.reset();
  expectError(t.onIncoming(kAlice, kMe, no_description), StanzaCondition::BadRequest, JingleCondition::None);
  Jingle early = initiate("s4");
  early.contents[0].disposition = "early-session";
  expectError(t.onIncoming(kAlice, kMe, early), StanzaCondition::BadRequest, JingleCondition::None);
  Jingle duplicate = initiate("s5");
  duplicate.contents.push_back(duplicate.contents[0]);
  expectError(t.onIncoming(kAlice, kMe, duplicate), StanzaCondition::BadRequest, JingleCondition::None);
  auto ours = t.localInitiate(kAlice, "s7");
  ASSERT_TRUE(ours.ok());
  Jingle bare_accept;
  bare_accept.action = Action::SessionAccept;
  bare_accept.sid = "s7";
  expectError(t.onIncoming(kAlice, kMe, bare_accept), StanzaCondition::BadRequest,
              JingleCondition::None);  // session-accept without content
  EXPECT_EQ(t.find(*ours)->state, SessionState::Pending);
  t.forget(*ours);
  Jingle unknown = initiate("s6");
  unknown.action = Action::Unknown;
  expectError(t.onIncoming(kAlice, kMe, unknown), StanzaCondition::BadRequest, JingleCondition::None);
  EXPECT_EQ(t.size(), 0u);
}

TEST(SessionTable, SessionInfoPayloads) {
  SessionTable t;
  ASSERT_TRUE(t.onIncoming(kAlice, kMe, initiate("s1")).ok());
  // An empty session-info is a ping.
  EXPECT_TRUE(t.onIncoming(kAlice, kMe, action(Action::SessionInfo, "s1")).ok());
  Jingle unknown = action(Action::SessionInfo, "s1");
  SessionInfoPayload p;
  p.kind = SessionInfoPayload::Kind::Unknown;
  p.xmlns = "urn:example:info";
  p.name = "wobble";
  unknown.session_info.push_back(p);
  auto r = t.onIncoming(kAlice, kMe, unknown);
  expectError(r, StanzaCondition::FeatureNotImplemented, JingleCondition::UnsupportedInfo);
  EXPECT_EQ(r.error().type, StanzaErrorType::Modify);
  ChecksumInfo checksum;
  checksum.name = "f";
  EXPECT_TRUE(t.onIncoming(kAlice, kMe, makeSessionInfo("s1", SessionInfoPayload::of(checksum))).ok());
}

TEST(SessionTable, TransportReplaceTieBreakAndAnswers) {
  // We initiated: our pending transport-replace overrules the peer's.
  SessionTable t;
  auto ours = t.localInitiate(kAlice, "s1");
  ASSERT_TRUE(ours.ok());
  ASSERT_TRUE(t.onIncoming(kAlice, kMe, action(Action::SessionAccept, "s1")).ok());
  ASSERT_TRUE(t.onOutgoing(kAlice, action(Action::TransportReplace, "s1")).ok());
  expectError(t.onIncoming(kAlice, kMe, action(Action::TransportReplace, "s1")), StanzaCondition::Conflict,
              JingleCondition::TieBreak);
  ASSERT_TRUE(t.onIncoming(kAlice, kMe, action(Action::TransportAccept, "s1")).ok());
  // Nothing pending any more: another transport-accept is out of order.
  expectOutOfOrder(t.onIncoming(kAlice, kMe, action(Action::TransportAccept, "s1")));
  expectOutOfOrder(t.onIncoming(kAlice, kMe, action(Action::TransportReject, "s1")));

  // We are the responder: the initiator's transport-replace overrules ours.
  SessionTable u;
  auto theirs = u.onIncoming(kAlice, kMe, initiate("s2"));
  ASSERT_TRUE(theirs.ok());
  ASSERT_TRUE(u.localAccept(theirs->session).ok());
  ASSERT_TRUE(u.onOutgoing(kAlice, action(Action::TransportReplace, "s2")).ok());
  auto r = u.onIncoming(kAlice, kMe, action(Action::TransportReplace, "s2"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->overruled, theirs->session);
  // We answer theirs; our own can no longer be answered.
  EXPECT_TRUE(u.onOutgoing(kAlice, action(Action::TransportAccept, "s2")).ok());
  expectOutOfOrder(u.onIncoming(kAlice, kMe, action(Action::TransportAccept, "s2")));
  EXPECT_FALSE(u.onOutgoing(kAlice, action(Action::TransportReject, "s2")).ok());
}

TEST(SessionTable, ContentAddAnswers) {
  SessionTable t;
  auto in = t.onIncoming(kAlice, kMe, initiate("s1"));
  ASSERT_TRUE(in.ok());
  ASSERT_TRUE(t.localAccept(in->session).ok());
  expectOutOfOrder(t.onIncoming(kAlice, kMe, action(Action::ContentAccept, "s1")));
  ASSERT_TRUE(t.onOutgoing(kAlice, action(Action::ContentAdd, "s1")).ok());
  EXPECT_FALSE(t.onOutgoing(kAlice, action(Action::ContentAdd, "s1")).ok());
  ASSERT_TRUE(t.onIncoming(kAlice, kMe, action(Action::ContentReject, "s1")).ok());
  ASSERT_TRUE(t.onIncoming(kAlice, kMe, action(Action::ContentAdd, "s1")).ok());
  EXPECT_TRUE(t.onOutgoing(kAlice, action(Action::ContentAccept, "s1")).ok());
  EXPECT_FALSE(t.onOutgoing(kAlice, action(Action::ContentAccept, "s1")).ok());
}

TEST(SessionTable, PendingAllowsEveryOtherAction) {
  SessionTable t;
  ASSERT_TRUE(t.onIncoming(kAlice, kMe, initiate("s1")).ok());
  for (Action a : {Action::TransportInfo, Action::SessionInfo, Action::DescriptionInfo, Action::SecurityInfo,
                   Action::ContentModify, Action::ContentRemove}) {
    auto r = t.onIncoming(kAlice, kMe, action(a, "s1"));
    ASSERT_TRUE(r.ok()) << toString(a);
    EXPECT_EQ(r->state, SessionState::Pending);
  }
  ASSERT_TRUE(t.localAccept(t.find(kAlice, "s1")->handle).ok());
  EXPECT_EQ(t.onIncoming(kAlice, kMe, action(Action::TransportInfo, "s1"))->state, SessionState::Active);
}

TEST(SessionTable, OutgoingRules) {
  SessionTable t;
  EXPECT_FALSE(t.onOutgoing(kAlice, action(Action::TransportInfo, "none")).ok());
  auto s = t.localInitiate(kAlice, "s1");
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(t.localInitiate(kAlice, "s1").ok());  // sid in use
  EXPECT_EQ(t.find(*s)->role, Role::Initiator);
  EXPECT_TRUE(t.onOutgoing(kAlice, action(Action::TransportInfo, "s1")).ok());
  t.markEnded(*s);  // e.g. the peer answered our initiate with an IQ error
  EXPECT_EQ(t.find(*s)->state, SessionState::Ended);
  expectUnknownSession(t.onIncoming(kAlice, kMe, action(Action::SessionAccept, "s1")));
  Jingle nothing;
  EXPECT_FALSE(t.onOutgoing(kAlice, nothing).ok());
}

TEST(SessionTable, KeepingNoEndedRecordsIsSafe) {
  SessionTable t(SessionTableLimits{4, 256, 0});
  auto a = t.onIncoming(kAlice, kMe, initiate("a"));
  ASSERT_TRUE(a.ok());
  auto term = t.onIncoming(kAlice, kMe, action(Action::SessionTerminate, "a"));
  ASSERT_TRUE(term.ok());
  EXPECT_EQ(term->state, SessionState::Ended);
  auto b = t.onIncoming(kAlice, kMe, initiate("b"));
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(t.localTerminate(b->session).ok());
  EXPECT_EQ(t.find(a->session), nullptr);
  expectUnknownSession(t.onIncoming(kAlice, kMe, action(Action::TransportInfo, "a")));
}

TEST(SessionTable, EndedRecordsAreBounded) {
  SessionTable t(SessionTableLimits{4, 256, 3});
  std::vector<SessionHandle> handles;
  for (int i = 0; i < 5; ++i) {
    auto r = t.onIncoming(kAlice, kMe, initiate("s" + std::to_string(i)));
    ASSERT_TRUE(r.ok());
    handles.push_back(r->session);
    ASSERT_TRUE(t.localTerminate(r->session).ok());
  }
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.find(handles[0]), nullptr);
  EXPECT_EQ(t.find(handles[1]), nullptr);
  EXPECT_NE(t.find(handles[4]), nullptr);
  expectUnknownSession(t.onIncoming(kAlice, kMe, action(Action::TransportInfo, "s0")));
}

}  // namespace
}  // namespace tern::signaling
