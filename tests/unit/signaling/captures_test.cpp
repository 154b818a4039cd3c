// Real stanzas from StanzaJS and Dino (tests/data/interop-captures, see its README) parse with
// the values the clients put in them.
#include <cctype>

#include <gtest/gtest.h>

#include "tern/signaling/jingle.hpp"
#include "tern/signaling/namespaces.hpp"
#include "tern/signaling/session_table.hpp"
#include "xml_test_util.hpp"

namespace tern::signaling {
namespace {

using test::jingleOf;
using test::loadCapture;

constexpr char kD[] = "stanzajs-D-file-transfer";
constexpr char kSidD[] = "0fc0183a-7537-4d56-a22a-db7de336dcca";

// Parses every <jingle/> of a capture file; fails the test on any error.
std::vector<Jingle> parseCapture(const std::string& folder, const std::string& file) {
  std::vector<Jingle> out;
  for (const auto& iq : loadCapture(folder, file)) {
    const gloox::Tag* j = jingleOf(*iq);
    EXPECT_NE(j, nullptr) << folder << "/" << file;
    if (j == nullptr) continue;
    auto parsed = parseJingle(*j);
    EXPECT_TRUE(parsed.ok()) << folder << "/" << file << ": " << (parsed.ok() ? "" : parsed.error().text);
    if (parsed.ok()) out.push_back(std::move(parsed.value()));
  }
  return out;
}

Jingle parseOne(const std::string& folder, const std::string& file) {
  auto all = parseCapture(folder, file);
  EXPECT_EQ(all.size(), 1u) << folder << "/" << file;
  return all.empty() ? Jingle{} : all.front();
}

TEST(StanzaJsFileTransfer, SessionInitiate) {
  const Jingle j = parseOne(kD, "alice.session-initiate.xml");
  EXPECT_EQ(j.action, Action::SessionInitiate);
  EXPECT_EQ(j.sid, kSidD);
  EXPECT_FALSE(j.initiator.has_value());  // StanzaJS omits initiator/responder
  EXPECT_FALSE(j.responder.has_value());
  ASSERT_EQ(j.contents.size(), 1u);
  const Content& c = j.contents[0];
  EXPECT_EQ(c.creator, Creator::Initiator);
  EXPECT_EQ(c.name, "0");
  EXPECT_FALSE(c.senders.has_value());
  EXPECT_EQ(effectiveSenders(c), Senders::Both);
  EXPECT_EQ(c.disposition, "session");

  ASSERT_TRUE(c.description.has_value());
  EXPECT_EQ(c.description->kind, ApplicationKind::FileTransfer);
  ASSERT_TRUE(c.description->file_transfer.has_value());
  const FileTransferDescription& ft = *c.description->file_transfer;
  EXPECT_EQ(ft.version, FtVersion::V5);
  ASSERT_TRUE(ft.file.has_value());
  EXPECT_EQ(ft.file->name, "random-20971520.bin");
  EXPECT_EQ(ft.file->size, 20971520u);
  EXPECT_EQ(ft.file->date, "2026-11-24T22:21:27.609Z");
  EXPECT_TRUE(ft.file->hashes.empty());
  ASSERT_EQ(ft.file->hash_used.size(), 1u);
  EXPECT_EQ(ft.file->hash_used[0], "sha-1");
  EXPECT_FALSE(ft.file->range.has_value());
  EXPECT_FALSE(ft.file->media_type.has_value());

  ASSERT_TRUE(c.transport.has_value());
  const Transport& t = *c.transport;
  EXPECT_EQ(t.kind, TransportKind::IceUdp);
  EXPECT_EQ(dataChannelDialect(t), DataChannelDialect::Xep0343Sctpmap);
  EXPECT_EQ(t.ice.ufrag, "ShtS");
  EXPECT_EQ(t.ice.pwd, "HHM42z0+cclNbCHyUOPfpyLF");
  EXPECT_TRUE(t.ice.candidates.empty());
  EXPECT_FALSE(t.ice.gathering_complete);
  ASSERT_EQ(t.ice.fingerprints.size(), 1u);
  EXPECT_EQ(t.ice.fingerprints[0].hash, "sha-256");
  EXPECT_EQ(t.ice.fingerprints[0].setup, DtlsSetup::ActPass);
  EXPECT_EQ(t.ice.fingerprints[0].value,
            "E1:EB:3B:99:25:0C:BB:BD:F1:EC:C1:8F:E3:85:01:33:B2:D9:78:35:D1:3D:00:D3:EA:67:BA:FF:74:C2:39:3D");
  ASSERT_TRUE(t.ice.sctpmap.has_value());
  EXPECT_EQ(t.ice.sctpmap->number, 5000);
  EXPECT_EQ(t.ice.sctpmap->protocol, "webrtc-datachannel");
  EXPECT_FALSE(t.ice.sctpmap->streams.has_value());
  EXPECT_FALSE(t.ice.sctp_port.has_value());

  ASSERT_EQ(j.groups.size(), 1u);
  EXPECT_EQ(j.groups[0].semantics, "BUNDLE");
  EXPECT_EQ(j.groups[0].contents, std::vector<std::string>{"0"});
  EXPECT_FALSE(j.groups[0].legacy_namespace);
  EXPECT_TRUE(validateIncoming(j).ok());
}

TEST(StanzaJsFileTransfer, TrickledCandidateThenGatheringComplete) {
  const auto all = parseCapture(kD, "alice.transport-info.xml");
  ASSERT_EQ(all.size(), 2u);
  const Jingle& first = all[0];
  EXPECT_EQ(first.action, Action::TransportInfo);
  EXPECT_EQ(first.sid, kSidD);
  ASSERT_EQ(first.contents.size(), 1u);
  EXPECT_FALSE(first.contents[0].description.has_value());
  ASSERT_TRUE(first.contents[0].transport.has_value());
  const IceUdpTransport& ice = first.contents[0].transport->ice;
  EXPECT_EQ(ice.ufrag, "ShtS");
  EXPECT_FALSE(ice.pwd.has_value());
  EXPECT_TRUE(ice.fingerprints.empty());
  ASSERT_EQ(ice.candidates.size(), 1u);
  const IceCandidate& cand = ice.candidates[0];
  EXPECT_EQ(cand.component, 1u);
  EXPECT_EQ(cand.foundation, "854651563");
  EXPECT_EQ(cand.ip, "127.0.0.1");
  EXPECT_EQ(cand.port, 38677);
  EXPECT_EQ(cand.priority, 2122260223u);
  EXPECT_EQ(cand.protocol, "udp");
  EXPECT_EQ(cand.type, CandidateType::Host);
  EXPECT_TRUE(cand.id.empty());          // no id,
  EXPECT_EQ(cand.generation, 0u);        // no generation,
  EXPECT_FALSE(cand.network.has_value());  // no network
  EXPECT_FALSE(ice.gathering_complete);
  EXPECT_EQ(dataChannelDialect(*first.contents[0].transport), DataChannelDialect::None);

  const Jingle& second = all[1];
  ASSERT_EQ(second.contents.size(), 1u);
  ASSERT_TRUE(second.contents[0].transport.has_value());
  EXPECT_TRUE(second.contents[0].transport->ice.gathering_complete);
  EXPECT_TRUE(second.contents[0].transport->ice.candidates.empty());
}

TEST(StanzaJsFileTransfer, SessionAcceptIsActiveWithoutDescription) {
  const Jingle j = parseOne(kD, "bob.session-accept.xml");
  EXPECT_EQ(j.action, Action::SessionAccept);
  ASSERT_EQ(j.contents.size(), 1u);
  EXPECT_FALSE(j.contents[0].description.has_value());  // StanzaJS answers with the transport only
  ASSERT_TRUE(j.contents[0].transport.has_value());
  const IceUdpTransport& ice = j.contents[0].transport->ice;
  EXPECT_EQ(ice.ufrag, "7scQ");
  EXPECT_EQ(ice.pwd, "z5q97vQd6SZaHjDDJw5Q+qeZ");
  ASSERT_EQ(ice.fingerprints.size(), 1u);
  EXPECT_EQ(ice.fingerprints[0].setup, DtlsSetup::Active);
  ASSERT_TRUE(ice.sctpmap.has_value());
  EXPECT_EQ(ice.sctpmap->number, 5000);
  ASSERT_EQ(j.groups.size(), 1u);
}

TEST(StanzaJsFileTransfer, ChecksumSessionInfo) {
  const Jingle j = parseOne(kD, "alice.session-info.xml");
  EXPECT_EQ(j.action, Action::SessionInfo);
  EXPECT_TRUE(j.contents.empty());
  ASSERT_EQ(j.session_info.size(), 1u);
  const SessionInfoPayload& p = j.session_info[0];
  EXPECT_EQ(p.kind, SessionInfoPayload::Kind::Checksum);
  ASSERT_TRUE(p.checksum.has_value());
  EXPECT_EQ(p.checksum->version, FtVersion::V5);
  EXPECT_EQ(p.checksum->creator, "initiator");
  EXPECT_EQ(p.checksum->name, "0");
  ASSERT_EQ(p.checksum->file.hashes.size(), 1u);
  const Hash& h = p.checksum->file.hashes[0];
  EXPECT_EQ(h.algo, "sha-1");
  EXPECT_EQ(h.value, "8Xp57/V2ti+n9lXAWf12gs6LYA4=");
  EXPECT_EQ(h.ns, HashNamespace::V2);
  auto digest = h.decode();
  ASSERT_TRUE(digest.has_value());
  EXPECT_EQ(digest->size(), 20u);  // SHA-1
}

TEST(StanzaJsFileTransfer, TerminateAndAnswerTransportInfo) {
  const Jingle t = parseOne(kD, "bob.session-terminate.xml");
  EXPECT_EQ(t.action, Action::SessionTerminate);
  ASSERT_TRUE(t.reason.has_value());
  EXPECT_EQ(t.reason->condition, ReasonCondition::Success);
  EXPECT_FALSE(t.reason->text.has_value());

  const auto infos = parseCapture(kD, "bob.transport-info.xml");
  ASSERT_EQ(infos.size(), 2u);
  ASSERT_EQ(infos[0].contents.size(), 1u);
  ASSERT_EQ(infos[0].contents[0].transport->ice.candidates.size(), 1u);
  EXPECT_EQ(infos[0].contents[0].transport->ice.candidates[0].port, 33385);
  EXPECT_TRUE(infos[1].contents[0].transport->ice.gathering_complete);
}

// The whole D exchange, seen from bob (the receiver), through the session table.
TEST(StanzaJsFileTransfer, FlowThroughSessionTable) {
  const gloox::JID alice("alice@localhost/harness");
  const gloox::JID bob("bob@localhost/harness");
  SessionTable table;
  auto init = table.onIncoming(alice, bob, parseOne(kD, "alice.session-initiate.xml"));
  ASSERT_TRUE(init.ok());
  EXPECT_TRUE(init->created);
  for (const Jingle& ti : parseCapture(kD, "alice.transport-info.xml")) {
    auto r = table.onIncoming(alice, bob, ti);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->session, init->session);
  }
  Jingle accept = parseOne(kD, "bob.session-accept.xml");
  auto sent = table.onOutgoing(alice, accept);
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(table.find(init->session)->state, SessionState::Active);
  auto info = table.onIncoming(alice, bob, parseOne(kD, "alice.session-info.xml"));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->state, SessionState::Active);
  ASSERT_TRUE(table.onOutgoing(alice, parseOne(kD, "bob.session-terminate.xml")).ok());
  EXPECT_EQ(table.find(init->session)->state, SessionState::Ended);
}

struct CallCapture {
  const char* folder;
  std::size_t contents;
};

class StanzaJsCalls : public ::testing::TestWithParam<CallCapture> {};

TEST_P(StanzaJsCalls, SessionInitiateTransportsFingerprintsGroups) {
  const CallCapture cc = GetParam();
  const Jingle j = parseOne(cc.folder, "alice.session-initiate.xml");
  EXPECT_EQ(j.action, Action::SessionInitiate);
  ASSERT_EQ(j.contents.size(), cc.contents);
  std::vector<std::string> names;
  for (const Content& c : j.contents) {
    names.push_back(c.name);
    ASSERT_TRUE(c.description.has_value());
    EXPECT_EQ(c.description->kind, ApplicationKind::Rtp);
    EXPECT_EQ(c.description->xmlns, ns::kRtp);
    ASSERT_NE(c.description->raw, nullptr);  // kept verbatim for the media layer
    EXPECT_EQ(c.description->raw->name(), "description");
    ASSERT_TRUE(c.transport.has_value());
    EXPECT_EQ(c.transport->kind, TransportKind::IceUdp);
    EXPECT_EQ(dataChannelDialect(*c.transport), DataChannelDialect::None);
    EXPECT_TRUE(c.transport->ice.ufrag.has_value());
    EXPECT_TRUE(c.transport->ice.pwd.has_value());
    ASSERT_EQ(c.transport->ice.fingerprints.size(), 1u);
    EXPECT_EQ(c.transport->ice.fingerprints[0].hash, "sha-256");
    EXPECT_EQ(c.transport->ice.fingerprints[0].setup, DtlsSetup::ActPass);
    EXPECT_EQ(c.transport->ice.fingerprints[0].value.size(), 95u);  // 32 bytes as XX:..:XX
  }
  EXPECT_EQ(j.contents[0].description->media, "audio");
  ASSERT_EQ(j.groups.size(), 1u);
  EXPECT_EQ(j.groups[0].semantics, "BUNDLE");
  EXPECT_EQ(j.groups[0].contents, names);
  EXPECT_TRUE(validateIncoming(j).ok());

  const Jingle accept = parseOne(cc.folder, "bob.session-accept.xml");
  ASSERT_EQ(accept.contents.size(), cc.contents);
  EXPECT_EQ(accept.contents[0].transport->ice.fingerprints[0].setup, DtlsSetup::Active);
}

INSTANTIATE_TEST_SUITE_P(Captures, StanzaJsCalls,
                         ::testing::Values(CallCapture{"stanzajs-A-audio", 1}, CallCapture{"stanzajs-B-audio-relay", 1},
                                           CallCapture{"stanzajs-C-video-vp8", 2}),
                         [](const auto& info) { return std::string(1, info.param.folder[9]); });

TEST(StanzaJsCalls, VideoContentIsVideo) {
  const Jingle j = parseOne("stanzajs-C-video-vp8", "alice.session-initiate.xml");
  ASSERT_EQ(j.contents.size(), 2u);
  EXPECT_EQ(j.contents[1].description->media, "video");
}

TEST(StanzaJsCalls, RelayAndTcpCandidates) {
  const auto relay = parseCapture("stanzajs-B-audio-relay", "alice.transport-info.xml");
  ASSERT_EQ(relay.size(), 3u);
  const IceCandidate& r = relay[0].contents[0].transport->ice.candidates.at(0);
  EXPECT_EQ(r.type, CandidateType::Relay);
  EXPECT_EQ(r.rel_addr, "0.0.0.0");
  EXPECT_FALSE(r.rel_port.has_value());

  const auto direct = parseCapture("stanzajs-A-audio", "alice.transport-info.xml");
  ASSERT_EQ(direct.size(), 5u);
  const IceCandidate& relayed = direct[1].contents[0].transport->ice.candidates.at(0);
  EXPECT_EQ(relayed.rel_port, 34063);
  const IceCandidate& tcp = direct[3].contents[0].transport->ice.candidates.at(0);
  EXPECT_EQ(tcp.protocol, "tcp");
  EXPECT_EQ(tcp.tcptype, "active");
  EXPECT_EQ(tcp.port, 9);
  EXPECT_TRUE(direct[4].contents[0].transport->ice.gathering_complete);
}

TEST(DinoFileTransfer, Socks5Offer) {
  const Jingle j = parseOne("dino-file-s5b", "alice.session-initiate.xml");
  EXPECT_EQ(j.initiator, "alice@localhost/dino");
  ASSERT_EQ(j.contents.size(), 1u);
  const Content& c = j.contents[0];
  EXPECT_EQ(c.name, "a-file-offer");
  EXPECT_EQ(c.senders, Senders::Initiator);
  ASSERT_TRUE(c.description && c.description->file_transfer && c.description->file_transfer->file);
  EXPECT_EQ(c.description->file_transfer->file->name, "interop-file-s5b-1048576.bin");
  EXPECT_EQ(c.description->file_transfer->file->size, 1048576u);
  EXPECT_TRUE(c.description->file_transfer->file->hashes.empty());
  ASSERT_TRUE(c.transport.has_value());
  EXPECT_EQ(c.transport->kind, TransportKind::Socks5);
  EXPECT_EQ(c.transport->xmlns, ns::kSocks5);
  EXPECT_EQ(c.transport->stream_sid, "d2b4cb13-623a-4ccb-8a53-1cda8318a0f4");
  ASSERT_NE(c.transport->raw, nullptr);
  EXPECT_EQ(c.transport->raw->children().size(), 1u);  // the direct candidate, kept verbatim
  EXPECT_FALSE(c.transport->hasIce());
  EXPECT_EQ(dataChannelDialect(*c.transport), DataChannelDialect::None);

  for (const char* file : {"alice.transport-info.xml", "bob.transport-info.xml", "bob.session-accept.xml"}) {
    const Jingle other = parseOne("dino-file-s5b", file);
    ASSERT_EQ(other.contents.size(), 1u) << file;
    EXPECT_EQ(other.contents[0].transport->kind, TransportKind::Socks5) << file;
  }
  const Jingle t = parseOne("dino-file-s5b", "bob.session-terminate.xml");
  EXPECT_EQ(t.reason->condition, ReasonCondition::Success);
}

TEST(DinoFileTransfer, IbbOffer) {
  for (const char* file : {"alice.session-initiate.xml", "bob.session-accept.xml"}) {
    const Jingle j = parseOne("dino-file-ibb", file);
    ASSERT_EQ(j.contents.size(), 1u);
    const Transport& t = *j.contents[0].transport;
    EXPECT_EQ(t.kind, TransportKind::Ibb) << file;
    EXPECT_EQ(t.xmlns, ns::kIbb);
    EXPECT_EQ(t.block_size, 4096u);
    EXPECT_EQ(t.stream_sid, "d1447f7d-e084-4759-be55-f04145c65110");
    EXPECT_EQ(j.contents[0].description->file_transfer->file->name, "interop-file-ibb-1048576.bin");
  }
}

TEST(DinoCalls, UnbundledInlineCandidates) {
  for (const char* folder : {"dino-call-audio", "dino-call-video"}) {
    const Jingle j = parseOne(folder, "alice.session-initiate.xml");
    EXPECT_TRUE(j.groups.empty()) << folder;  // Dino does not bundle
    for (const Content& c : j.contents) {
      const IceUdpTransport& ice = c.transport->ice;
      ASSERT_EQ(ice.candidates.size(), 2u) << folder;
      EXPECT_EQ(ice.candidates[0].component, 1u);
      EXPECT_EQ(ice.candidates[1].component, 2u);
      EXPECT_EQ(ice.candidates[0].network, 0u);
      EXPECT_FALSE(ice.candidates[0].id.empty());
      EXPECT_EQ(ice.fingerprints.at(0).setup, DtlsSetup::ActPass);
      EXPECT_EQ(c.description->kind, ApplicationKind::Rtp);
    }
    const Jingle a = parseOne(folder, "bob.session-accept.xml");
    EXPECT_EQ(a.contents.at(0).transport->ice.fingerprints.at(0).setup, DtlsSetup::Active);
  }
}

// Every <jingle/> in every capture we keep parses and survives serialize -> parse.
class AllCaptures : public ::testing::TestWithParam<const char*> {};

TEST_P(AllCaptures, ParseAndReparse) {
  const std::string path = GetParam();
  const auto slash = path.find('/');
  for (const auto& iq : loadCapture(path.substr(0, slash), path.substr(slash + 1))) {
    const gloox::Tag* j = jingleOf(*iq);
    ASSERT_NE(j, nullptr);
    auto first = parseJingle(*j);
    ASSERT_TRUE(first.ok()) << first.error().text;
    const std::string xml = test::xmlAndDelete(serializeJingle(first.value()));
    auto tag = test::parseXml(xml);
    ASSERT_NE(tag, nullptr) << xml;
    auto second = parseJingle(*tag);
    ASSERT_TRUE(second.ok()) << second.error().text;
    EXPECT_EQ(test::xmlAndDelete(serializeJingle(second.value())), xml);  // serialization is a fixed point
  }
}

INSTANTIATE_TEST_SUITE_P(
    Captures, AllCaptures,
    ::testing::Values("dino-call-audio/alice.session-initiate.xml", "dino-call-audio/alice.session-terminate.xml",
                      "dino-call-audio/bob.session-accept.xml", "dino-call-video/alice.session-initiate.xml",
                      "dino-call-video/alice.session-terminate.xml", "dino-call-video/bob.session-accept.xml",
                      "dino-file-ibb/alice.session-initiate.xml", "dino-file-ibb/bob.session-accept.xml",
                      "dino-file-s5b/alice.session-initiate.xml", "dino-file-s5b/alice.transport-info.xml",
                      "dino-file-s5b/bob.session-accept.xml", "dino-file-s5b/bob.session-terminate.xml",
                      "dino-file-s5b/bob.transport-info.xml", "stanzajs-A-audio/alice.session-initiate.xml",
                      "stanzajs-A-audio/alice.session-terminate.xml", "stanzajs-A-audio/alice.transport-info.xml",
                      "stanzajs-A-audio/bob.session-accept.xml", "stanzajs-A-audio/bob.transport-info.xml",
                      "stanzajs-B-audio-relay/alice.session-initiate.xml",
                      "stanzajs-B-audio-relay/alice.session-terminate.xml",
                      "stanzajs-B-audio-relay/alice.transport-info.xml",
                      "stanzajs-B-audio-relay/bob.session-accept.xml",
                      "stanzajs-B-audio-relay/bob.transport-info.xml",
                      "stanzajs-C-video-vp8/alice.session-initiate.xml",
                      "stanzajs-C-video-vp8/alice.session-terminate.xml",
                      "stanzajs-C-video-vp8/alice.transport-info.xml", "stanzajs-C-video-vp8/bob.session-accept.xml",
                      "stanzajs-C-video-vp8/bob.transport-info.xml",
                      "stanzajs-D-file-transfer/alice.session-info.xml",
                      "stanzajs-D-file-transfer/alice.session-initiate.xml",
                      "stanzajs-D-file-transfer/alice.transport-info.xml",
                      "stanzajs-D-file-transfer/bob.session-accept.xml",
                      "stanzajs-D-file-transfer/bob.session-terminate.xml",
                      "stanzajs-D-file-transfer/bob.transport-info.xml"),
    [](const auto& info) {
      std::string name = info.param;
      for (char& ch : name) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return name;
    });

}  // namespace
}  // namespace tern::signaling
