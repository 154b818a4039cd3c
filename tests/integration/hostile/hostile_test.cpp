// Hostile-input corpus against a real, in-process tern::Engine ("bob") logged in
// to Prosody: a hostile peer ("carol", raw stanzas) sends what a broken or
// malicious client would send, and each case checks the answer the XEPs require
// (XEP-0166 section 10 / RFC 6120 section 8.3 conditions) and that the engine
// still serves a well-behaved peer ("alice", a second Engine) afterwards.
// Cases covered elsewhere are listed in docs/robustness.md with where.
#include "harness.hpp"

#include "integration.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <set>

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace tern::hostile {
namespace {

class HostileTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_NE(bed(), nullptr);
    ASSERT_TRUE(bob.connect()) << bob.error();
    ASSERT_TRUE(alice.connect()) << alice.error();
    ASSERT_TRUE(mallory.connect()) << mallory.client().logTail();
  }

  std::vector<Pumped*> all() { return {&bob, &alice, &mallory}; }

  /// Sends `xml` from the hostile peer to the engine and waits for the answer.
  HostilePeer::Reply ask(const std::string& xml) {
    int ctx = mallory.sendXml(bob.jid(), xml);
    EXPECT_TRUE(pumpAll(all(), [&] { return mallory.answered(ctx); }, 10s)) << xml.substr(0, 300);
    return mallory.reply(ctx).value_or(HostilePeer::Reply{});
  }

  /// The offers the engine surfaced from `from`, removed from the list.
  std::vector<std::shared_ptr<IncomingFileOffer>> takeOffers(const gloox::JID& from) {
    std::vector<std::shared_ptr<IncomingFileOffer>> out, rest;
    for (auto& o : bob.offers) (o->peer() == from.full() ? out : rest).push_back(o);
    bob.offers = rest;
    return out;
  }

  struct Outcome {
    bool complete = false;
    bool failed = false;
    std::string error;
    TransferResult result;
  };

  /// The engine still works: alice sends a small file, bob accepts and both complete
  /// with the right hash.
  void expectStillWorks(std::size_t size = 64 * 1024) {
    TempDir dir;
    auto src = dir.path() / "good.bin";
    auto sha = writeRandomFile(src, size);
    auto sent = alice.engine().sendFile(bob.jid().full(), src.string());
    ASSERT_TRUE(sent) << sent.error().message;
    auto tx = sent.value();
    Outcome out, in;
    tx->onComplete([&](const TransferResult& r) { out.complete = true, out.result = r; });
    tx->onError([&](const Error& e) { out.failed = true, out.error = e.message; });
    std::shared_ptr<IncomingFileOffer> offer;
    ASSERT_TRUE(pumpAll(all(), [&] {
      auto o = takeOffers(alice.jid());
      if (!o.empty()) offer = o.front();
      return offer != nullptr || out.failed;
    }, 15s)) << "the engine no longer surfaces offers";
    ASSERT_TRUE(offer) << out.error;
    fs::create_directories(dir.path() / "in");
    auto accepted = offer->accept((dir.path() / "in").string());
    ASSERT_TRUE(accepted) << accepted.error().message;
    auto rx = accepted.value();
    rx->onComplete([&](const TransferResult& r) { in.complete = true, in.result = r; });
    rx->onError([&](const Error& e) { in.failed = true, in.error = e.message; });
    ASSERT_TRUE(pumpAll(all(), [&] { return (in.complete || in.failed) && (out.complete || out.failed); }, 30s))
        << "a good transfer did not finish after the hostile case";
    EXPECT_TRUE(in.complete) << in.error;
    EXPECT_TRUE(out.complete) << out.error;
    EXPECT_EQ(in.result.sha256, sha);
    EXPECT_EQ(sha256File(dir.path() / "in" / "good.bin"), sha);
  }

  EnginePeer bob{"bob", "engine"};
  EnginePeer alice{"alice", "good"};
  HostilePeer mallory{"carol", "hostile"};
};

// A syntactically complete session-accept body (XEP-0166 6.3 requires a content).
const std::string kAcceptContent =
    "<content creator='initiator' name='0'><description xmlns='urn:xmpp:jingle:apps:file-transfer:5'/>"
    "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='abcd' pwd='abcdefghijklmnopqrstuv'>"
    "<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='active'>"
    "E1:EB:3B:99:25:0C:BB:BD:F1:EC:C1:8F:E3:85:01:33:B2:D9:78:35:D1:3D:00:D3:EA:67:BA:FF:74:C2:39:3D"
    "</fingerprint></transport></content>";

std::string body(const std::string& action) {
  if (action == "session-terminate") return "<reason><cancel/></reason>";
  if (action == "session-accept") return kAcceptContent;
  return {};
}

std::string sid(const std::string& tag) {
  unsigned char b[6];
  RAND_bytes(b, sizeof b);
  std::string out = tag + "-";
  for (unsigned char c : b) out += "0123456789abcdef"[c & 15];
  return out;
}

// XEP-0166 section 10: sessions are keyed by the peer's full JID and the sid. A
// third party that learned the sid of a live session gets <item-not-found/> +
// <unknown-session/> for every action, and the real session goes on.
TEST_F(HostileTest, SidOfAnotherUsersSessionIsUnknownAndTheSessionGoesOn) {
  TempDir dir;
  auto src = dir.path() / "real.bin";
  auto sha = writeRandomFile(src, 256 * 1024);
  auto sent = alice.engine().sendFile(bob.jid().full(), src.string());
  ASSERT_TRUE(sent);
  auto tx = sent.value();
  bool txDone = false, txFailed = false;
  tx->onComplete([&](const TransferResult&) { txDone = true; });
  tx->onError([&](const Error&) { txFailed = true; });
  std::shared_ptr<IncomingFileOffer> offer;
  ASSERT_TRUE(pumpAll(all(), [&] {
    auto o = takeOffers(alice.jid());
    if (!o.empty()) offer = o.front();
    return offer != nullptr;
  }, 15s));
  const std::string realSid = offer->sid();

  for (const char* action : {"session-terminate", "session-accept", "transport-info", "session-info"}) {
    auto r = ask(jingleXml(action, realSid, body(action)));
    EXPECT_TRUE(r.isError("item-not-found", "unknown-session")) << action << ": " << r.error;
  }
  // The same sid with a forged "initiator" attribute naming the real peer changes nothing.
  auto r = ask("<jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' initiator='" + alice.jid().full() +
               "' sid='" + realSid + "'><reason><success/></reason></jingle>");
  EXPECT_TRUE(r.isError("item-not-found", "unknown-session")) << r.error;

  fs::create_directories(dir.path() / "in");
  auto rx = offer->accept((dir.path() / "in").string());
  ASSERT_TRUE(rx);
  bool rxDone = false, rxFailed = false;
  rx.value()->onComplete([&](const TransferResult&) { rxDone = true; });
  rx.value()->onError([&](const Error&) { rxFailed = true; });
  ASSERT_TRUE(pumpAll(all(), [&] { return (rxDone || rxFailed) && (txDone || txFailed); }, 30s));
  EXPECT_TRUE(rxDone);
  EXPECT_TRUE(txDone);
  EXPECT_EQ(sha256File(dir.path() / "in" / "real.bin"), sha);
}

// Every in-session action with a sid nobody uses (session-terminate is covered by
// filetransfer_test): <item-not-found/> + <unknown-session/>.
TEST_F(HostileTest, UnknownSidForEveryInSessionAction) {
  for (const char* action : {"session-accept", "session-info", "transport-info"}) {
    auto r = ask(jingleXml(action, "no-such-sid", body(action)));
    EXPECT_TRUE(r.isError("item-not-found", "unknown-session")) << action << ": " << r.error;
  }
  expectStillWorks();
}

// XEP-0166 section 10: a second session-initiate for a live sid is <unexpected-request/>
// + <out-of-order/>; only one offer reaches the app.
TEST_F(HostileTest, DuplicateSessionInitiateIsOutOfOrder) {
  OfferSpec spec;
  spec.sid = sid("dup");
  auto first = ask(offerXml(spec));
  EXPECT_EQ(first.type, gloox::IQ::Result) << first.error;
  auto second = ask(offerXml(spec));
  EXPECT_TRUE(second.isError("unexpected-request", "out-of-order")) << second.error;
  pumpFor(all(), 200ms);
  EXPECT_EQ(takeOffers(mallory.jid()).size(), 1u);
  expectStillWorks();
}

// Actions the state machine does not allow (XEP-0166 section 6.8 / 10): the
// initiator sending session-accept for its own offer, then anything after terminate.
TEST_F(HostileTest, ActionsOutOfOrder) {
  OfferSpec spec;
  spec.sid = sid("order");
  ASSERT_EQ(ask(offerXml(spec)).type, gloox::IQ::Result);
  auto accept = ask(jingleXml("session-accept", spec.sid, kAcceptContent));
  EXPECT_TRUE(accept.isError("unexpected-request", "out-of-order")) << accept.error;
  auto end = ask(jingleXml("session-terminate", spec.sid, "<reason><cancel/></reason>"));
  EXPECT_EQ(end.type, gloox::IQ::Result) << end.error;
  // After terminate the session is gone (section 6.7).
  auto late = ask(jingleXml("transport-info", spec.sid));
  EXPECT_TRUE(late.isError("item-not-found", "unknown-session")) << late.error;
  bob.offers.clear();
  expectStillWorks();
}

// XEP-0166 section 7.2.16: both sides send session-initiate with the same sid; the
// action of the lower JID wins. bob@localhost/engine < carol@localhost/hostile: the
// engine keeps its own session and answers <conflict/> + <tie-break/>.
TEST_F(HostileTest, TieBreakEngineHasTheLowerJid) {
  TempDir dir;
  auto src = dir.path() / "tie.bin";
  writeRandomFile(src, 4096);
  auto sent = bob.engine().sendFile(mallory.jid().full(), src.string());
  ASSERT_TRUE(sent) << sent.error().message;
  auto tx = sent.value();
  std::optional<Error> txError;
  tx->onError([&](const Error& e) { txError = e; });
  ASSERT_TRUE(pumpAll(all(), [&] { return !mallory.received.empty() || txError; }, 15s));
  ASSERT_FALSE(mallory.received.empty()) << (txError ? txError->message : "");
  const auto& initiate = *mallory.received.front().jingle;
  ASSERT_EQ(initiate.findAttribute("action"), "session-initiate");
  OfferSpec spec;
  spec.sid = initiate.findAttribute("sid");
  auto r = ask(offerXml(spec));
  EXPECT_TRUE(r.isError("conflict", "tie-break")) << r.error;
  pumpFor(all(), 200ms);
  EXPECT_TRUE(takeOffers(mallory.jid()).empty());
  EXPECT_FALSE(txError) << txError->message;
  // The engine's session is still the live one: the peer can decline it.
  auto decline = ask(jingleXml("session-terminate", spec.sid, "<reason><decline/></reason>"));
  EXPECT_EQ(decline.type, gloox::IQ::Result) << decline.error;
  ASSERT_TRUE(pumpAll(all(), [&] { return txError.has_value(); }, 10s));
  EXPECT_EQ(txError->category, ErrorCategory::Declined) << txError->message;
  expectStillWorks();
}

// The other side of section 7.2.16: alice@localhost/hostile < bob@localhost/engine, so
// the peer's session-initiate overrules the engine's own: acknowledged, and the
// engine's outgoing transfer ends.
TEST_F(HostileTest, TieBreakPeerHasTheLowerJid) {
  HostilePeer low("alice", "hostile");
  ASSERT_TRUE(low.connect());
  std::vector<Pumped*> who = {&bob, &alice, &mallory, &low};
  TempDir dir;
  auto src = dir.path() / "tie.bin";
  writeRandomFile(src, 4096);
  auto sent = bob.engine().sendFile(low.jid().full(), src.string());
  ASSERT_TRUE(sent);
  auto tx = sent.value();
  std::optional<Error> txError;
  tx->onError([&](const Error& e) { txError = e; });
  ASSERT_TRUE(pumpAll(who, [&] { return !low.received.empty() || txError; }, 15s));
  ASSERT_FALSE(low.received.empty());
  OfferSpec spec;
  spec.sid = low.received.front().jingle->findAttribute("sid");
  int ctx = low.sendXml(bob.jid(), offerXml(spec));
  ASSERT_TRUE(pumpAll(who, [&] { return low.answered(ctx); }, 10s));
  auto r = low.reply(ctx).value();
  EXPECT_EQ(r.type, gloox::IQ::Result) << r.error;
  EXPECT_TRUE(pumpAll(who, [&] { return txError.has_value(); }, 10s))
      << "the overruled outgoing session was not ended";
  expectStillWorks();
}

// Huge and deeply nested stanzas (below Prosody's stanza size limit, so they reach
// the engine): answered, never crash.
TEST_F(HostileTest, HugeAndDeeplyNestedStanzas) {
  // 2000 levels of unknown elements inside an in-session action for an unknown sid.
  std::string nested;
  for (int i = 0; i < 2000; ++i) nested += "<x xmlns='urn:example:deep'>";
  for (int i = 0; i < 2000; ++i) nested += "</x>";
  auto deep = ask(jingleXml("transport-info", "no-such-sid", nested));
  EXPECT_TRUE(deep.isError("item-not-found", "unknown-session")) << deep.error;

  // The same depth inside an offer's <file/>: unknown children are ignored (liberal).
  OfferSpec spec;
  spec.sid = sid("deep");
  spec.extra = nested;
  auto deepOffer = ask(offerXml(spec));
  EXPECT_NE(deepOffer.type, gloox::IQ::Invalid);

  // A 100 kB file name: accepted or refused, but the name the app sees is bounded.
  spec.sid = sid("huge");
  spec.extra.clear();
  spec.name = std::string(100 * 1024, 'n');
  auto huge = ask(offerXml(spec));
  EXPECT_NE(huge.type, gloox::IQ::Invalid);
  pumpFor(all(), 200ms);
  for (auto& o : takeOffers(mallory.jid())) EXPECT_LE(o->safeName().size(), 250u);

  // 1000 contents in one session-initiate (about 170 kB, under Prosody's 256 kB
  // stanza limit): a bounded parser refuses it.
  std::string contents;
  for (int i = 0; i < 1000; ++i)
    contents += "<content creator='initiator' name='c" + std::to_string(i) +
                "'><description xmlns='urn:xmpp:jingle:apps:file-transfer:5'><file><size>1</size></file>"
                "</description></content>";
  auto many = ask(jingleXml("session-initiate", sid("many"), contents));
  EXPECT_TRUE(many.isError("bad-request")) << many.error.substr(0, 300);
  EXPECT_TRUE(mallory.client().connected()) << "the server dropped the hostile peer's stream";

  bob.offers.clear();
  expectStillWorks();
}

// Duplicated fingerprints: the same one twice is harmless; two different sha-256
// fingerprints cannot both be right; one with md5 only is no usable fingerprint and
// the offer is refused. Whatever the answer, the engine keeps working.
TEST_F(HostileTest, DuplicatedAndConflictingFingerprints) {
  OfferSpec same;
  same.sid = sid("fp-same");
  same.fingerprints = OfferSpec::defaultFingerprint() + OfferSpec::defaultFingerprint();
  auto r = ask(offerXml(same));
  EXPECT_EQ(r.type, gloox::IQ::Result) << r.error;

  OfferSpec conflicting;
  conflicting.sid = sid("fp-conflict");
  conflicting.fingerprints =
      OfferSpec::defaultFingerprint() +
      "<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='actpass'>"
      "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF"
      "</fingerprint>";
  r = ask(offerXml(conflicting));
  EXPECT_NE(r.type, gloox::IQ::Invalid);

  // md5 only (RFC 8122 section 5: not to be used) is no fingerprint the engine can check:
  // fail closed. The offer is acknowledged, refused at once with <security-error/>, and
  // never reaches the app.
  pumpFor(all(), 300ms);
  bob.offers.clear();
  mallory.received.clear();
  OfferSpec md5;
  md5.sid = sid("fp-md5");
  md5.fingerprints =
      "<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='md5' setup='actpass'>"
      "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF</fingerprint>";
  r = ask(offerXml(md5));
  EXPECT_EQ(r.type, gloox::IQ::Result) << r.error;
  const gloox::Tag* terminate = nullptr;
  ASSERT_TRUE(pumpAll(all(), [&] {
    for (const auto& in : mallory.received)
      if (in.jingle && in.jingle->findAttribute("sid") == md5.sid &&
          in.jingle->findAttribute("action") == "session-terminate")
        terminate = in.jingle.get();
    return terminate != nullptr;
  }, 10s)) << "no session-terminate for the md5-only offer";
  EXPECT_NE(terminate->findChild("reason"), nullptr);
  EXPECT_NE(terminate->findTag("/jingle/reason/security-error"), nullptr) << terminate->xml();
  EXPECT_TRUE(takeOffers(mallory.jid()).empty()) << "an offer without a usable fingerprint reached the app";
  expectStillWorks();
}

// File names a hostile sender picks (XML 1.0 cannot carry NUL or most C0 controls:
// the server refuses those streams; the sanitizer itself is unit-tested).
TEST_F(HostileTest, HostileFileNamesStayInsideTheDirectory) {
  TempDir dir;
  auto target = dir.path() / "in";
  fs::create_directories(target);
  const std::vector<std::string> names = {
      "../../escape.bin", "/etc/passwd", "..", ".", "a/../../b.bin", "dir\\..\\win.bin",
      "tab\tnew\nline\rcr\x7f" "del.bin", std::string(300, 'L') + ".bin", "\xe2\x80\xae" "gpj.exe",
      "  ", "CON"};
  for (const auto& name : names) {
    OfferSpec spec;
    spec.sid = sid("name");
    spec.name = name;
    auto r = ask(offerXml(spec));
    ASSERT_EQ(r.type, gloox::IQ::Result) << name << ": " << r.error;
    std::shared_ptr<IncomingFileOffer> offer;
    ASSERT_TRUE(pumpAll(all(), [&] {
      auto o = takeOffers(mallory.jid());
      if (!o.empty()) offer = o.front();
      return offer != nullptr;
    }, 5s)) << name;
    auto safe = offer->safeName();
    EXPECT_FALSE(safe.empty()) << name;
    EXPECT_LE(safe.size(), 250u) << name;
    EXPECT_NE(safe, ".");
    EXPECT_NE(safe, "..");
    EXPECT_EQ(safe.find('/'), std::string::npos) << safe;
    EXPECT_TRUE(std::none_of(safe.begin(), safe.end(),
                             [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
        << safe;
    auto accepted = offer->accept(target.string());
    EXPECT_TRUE(accepted) << name << ": " << accepted.error().message;
    if (!accepted) continue;
    // Everything the engine wrote is directly inside the target directory.
    for (const auto& e : fs::recursive_directory_iterator(dir.path())) {
      if (e.path() == target) continue;
      EXPECT_EQ(e.path().parent_path(), target) << name << " wrote " << e.path();
    }
    accepted.value()->cancel();
    pumpFor(all(), 50ms);
  }
  EXPECT_FALSE(fs::exists(dir.path().parent_path() / "escape.bin"));
  EXPECT_FALSE(fs::exists(dir.path() / "b.bin"));
  expectStillWorks();
}

// A flood of session-initiates from one JID: at most Config::maxPendingOffersPerPeer
// (4) wait for the app; the rest are refused at once with <resource-constraint/>
// (RFC 6120 8.3.3.18), nothing accumulates, and once the pending ones are answered
// the same peer can offer again.
TEST_F(HostileTest, FloodOfSessionInitiatesIsBounded) {
  const int flood = 300;
  std::vector<int> contexts;
  for (int i = 0; i < flood; ++i) {
    OfferSpec spec;
    spec.sid = "flood-" + std::to_string(i);
    contexts.push_back(mallory.sendXml(bob.jid(), offerXml(spec)));
  }
  ASSERT_TRUE(pumpAll(all(), [&] {
    return std::all_of(contexts.begin(), contexts.end(), [&](int c) { return mallory.answered(c); });
  }, 60s));
  int results = 0, refused = 0, other = 0;
  std::string otherError;
  for (int c : contexts) {
    auto r = *mallory.reply(c);
    if (r.type == gloox::IQ::Result) ++results;
    else if (r.isError("resource-constraint") || r.isError("policy-violation")) ++refused;
    else ++other, otherError = r.error;
  }
  EXPECT_EQ(results, 4);
  EXPECT_EQ(refused, flood - 4);
  EXPECT_EQ(other, 0) << otherError;
  pumpFor(all(), 300ms);
  auto pending = takeOffers(mallory.jid());
  EXPECT_EQ(pending.size(), 4u);
  // The app declines them (dropping an unanswered offer declines it): room again.
  pending.clear();
  pumpFor(all(), 300ms);
  OfferSpec again;
  again.sid = sid("after-flood");
  auto r = ask(offerXml(again));
  EXPECT_EQ(r.type, gloox::IQ::Result) << r.error;
  bob.offers.clear();
  // Other peers were never limited by this peer's flood.
  expectStillWorks();
}

// ---------------------------------------------------------------- garbage on ICE ports

std::pair<std::string, std::uint16_t> splitAddress(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) return {address, 0};
  return {address.substr(0, colon), static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1)))};
}

// Random and malformed STUN, DTLS, SCTP-in-DTLS and RTP-looking datagrams to a
// loopback port.
void sendGarbage(std::uint16_t port, int count) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // loopback only
  std::vector<unsigned char> buf(1500);
  for (int i = 0; i < count; ++i) {
    std::size_t len = 1 + static_cast<std::size_t>(i * 7919 % 1400);
    RAND_bytes(buf.data(), static_cast<int>(len));
    switch (i % 6) {
      case 0: break;  // random
      case 1:         // STUN header: Binding request, magic cookie, lying length
        buf[0] = 0x00, buf[1] = 0x01, buf[2] = 0xff, buf[3] = 0xf0;
        buf[4] = 0x21, buf[5] = 0x12, buf[6] = 0xa4, buf[7] = 0x42;
        len = std::max<std::size_t>(len, 20);
        break;
      case 2:  // STUN success response with garbage attributes (unsolicited)
        buf[0] = 0x01, buf[1] = 0x01, buf[2] = 0x00, buf[3] = static_cast<unsigned char>((len - 20) & 0xfc);
        buf[4] = 0x21, buf[5] = 0x12, buf[6] = 0xa4, buf[7] = 0x42;
        len = std::max<std::size_t>(len, 20);
        break;
      case 3:  // DTLS handshake record, ClientHello-ish, lying length
        buf[0] = 22, buf[1] = 0xfe, buf[2] = 0xfd, buf[11] = 0xff, buf[12] = 0xff;
        len = std::max<std::size_t>(len, 13);
        break;
      case 4:  // DTLS application data (would carry SCTP): bad epoch, bad MAC
        buf[0] = 23, buf[1] = 0xfe, buf[2] = 0xfd, buf[3] = 0x00, buf[4] = 0x01;
        len = std::max<std::size_t>(len, 13);
        break;
      case 5:  // RTP/RTCP-looking
        buf[0] = 0x80, buf[1] = static_cast<unsigned char>(i % 2 ? 111 : 200);
        break;
    }
    (void)::sendto(fd, buf.data(), len, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
  ::close(fd);
}

// A transfer between two engines while a third party sprays both ICE ports with
// garbage: the transfer completes and verifies.
TEST_F(HostileTest, GarbageToIcePortsDuringATransfer) {
  TempDir dir;
  auto src = dir.path() / "big.bin";
  auto sha = writeRandomFile(src, 8 << 20);
  auto sent = alice.engine().sendFile(bob.jid().full(), src.string());
  ASSERT_TRUE(sent);
  auto tx = sent.value();
  Outcome out, in;
  PathInfo route;
  tx->onComplete([&](const TransferResult&) { out.complete = true; });
  tx->onError([&](const Error& e) { out.failed = true, out.error = e.message; });
  tx->onConnected([&](const PathInfo& p) { route = p; });
  std::shared_ptr<IncomingFileOffer> offer;
  ASSERT_TRUE(pumpAll(all(), [&] {
    auto o = takeOffers(alice.jid());
    if (!o.empty()) offer = o.front();
    return offer != nullptr;
  }, 15s));
  fs::create_directories(dir.path() / "in");
  auto rx = offer->accept((dir.path() / "in").string()).value();
  rx->onComplete([&](const TransferResult& r) { in.complete = true, in.result = r; });
  rx->onError([&](const Error& e) { in.failed = true, in.error = e.message; });
  ASSERT_TRUE(pumpAll(all(), [&] { return !route.localAddress.empty() || out.failed; }, 30s));
  ASSERT_FALSE(route.localAddress.empty()) << out.error;
  auto [ip1, senderPort] = splitAddress(route.localAddress);
  auto [ip2, receiverPort] = splitAddress(route.remoteAddress);
  ASSERT_EQ(ip1, "127.0.0.1");
  ASSERT_EQ(ip2, "127.0.0.1");
  bool sprayed = false;
  ASSERT_TRUE(pumpAll(all(), [&] {
    if (!sprayed || !(in.complete || in.failed)) {
      sendGarbage(senderPort, 60);
      sendGarbage(receiverPort, 60);
      sprayed = true;
    }
    return (in.complete || in.failed) && (out.complete || out.failed);
  }, 60s));
  EXPECT_TRUE(in.complete) << in.error;
  EXPECT_TRUE(out.complete) << out.error;
  EXPECT_EQ(in.result.sha256, sha);
  expectStillWorks();
}

// Garbage at the engine's ICE port while it runs connectivity checks toward a peer
// that never answers (the engine learned nothing real): nothing crashes, the
// session is cancelled cleanly, the engine keeps working.
TEST_F(HostileTest, GarbageToIcePortsWhileConnecting) {
  OfferSpec spec;
  spec.sid = sid("garbage");
  spec.fingerprints += "<candidate component='1' foundation='1' generation='0' id='c1' ip='127.0.0.1' "
                       "network='0' port='9' priority='2130706431' protocol='udp' type='host'/>";
  ASSERT_EQ(ask(offerXml(spec)).type, gloox::IQ::Result);
  std::shared_ptr<IncomingFileOffer> offer;
  ASSERT_TRUE(pumpAll(all(), [&] {
    auto o = takeOffers(mallory.jid());
    if (!o.empty()) offer = o.front();
    return offer != nullptr;
  }, 5s));
  TempDir dir;
  auto rx = offer->accept(dir.path().string()).value();
  std::set<std::uint16_t> ports;
  ASSERT_TRUE(pumpAll(all(), [&] {
    for (const auto& r : mallory.received) {
      for (const auto* content : r.jingle->findChildren("content"))
        for (const auto* transport : content->findChildren("transport"))
          for (const auto* c : transport->findChildren("candidate"))
            if (c->findAttribute("ip") == "127.0.0.1") ports.insert(static_cast<std::uint16_t>(
                                                           std::stoi(c->findAttribute("port"))));
    }
    return !ports.empty();
  }, 10s)) << "no host candidate on 127.0.0.1 in the engine's answer";
  for (int round = 0; round < 10; ++round) {
    for (auto p : ports) sendGarbage(p, 50);
    pumpFor(all(), 20ms);
  }
  rx->cancel();
  expectStillWorks();
}

}  // namespace
}  // namespace tern::hostile

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  tern::testbed::Options options;
  options.accounts = {"alice", "bob", "carol"};
  options.turn = false;
  options.bosh = false;
  options.proxy65 = false;
  ::testing::AddGlobalTestEnvironment(new tern::testbed::Suite(options));
  return RUN_ALL_TESTS();
}
