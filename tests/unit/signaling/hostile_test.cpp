// Hostile and broken input: always a value (bad-request), never an exception or a crash; and
// whatever parses serializes to XML that parses again.
#include <random>

#include <gtest/gtest.h>

#include "tern/signaling/jingle.hpp"
#include "tern/signaling/limits.hpp"
#include "xml_test_util.hpp"

namespace tern::signaling {
namespace {

using test::parseXml;

Result<Jingle> parseText(const std::string& xml) {
  auto tag = parseXml(xml);
  EXPECT_NE(tag, nullptr) << "test XML not well-formed: " << xml.substr(0, 200);
  if (!tag) return Error::badRequest("test XML not well-formed");
  return parseJingle(*tag);
}

void expectBadRequest(const std::string& xml) {
  auto r = parseText(xml);
  ASSERT_FALSE(r.ok()) << xml.substr(0, 300);
  EXPECT_EQ(r.error().condition, StanzaCondition::BadRequest);
  EXPECT_EQ(r.error().type, StanzaErrorType::Modify);
  EXPECT_FALSE(r.error().text.empty());
}

std::string candidate(const std::string& port = "9998", const std::string& extra = "") {
  return "<candidate component='1' foundation='1' generation='0' id='c' ip='10.0.0.1' port='" + port +
         "' priority='2130706431' protocol='udp' type='host'" + extra + "/>";
}

std::string transportInfo(const std::string& transport_body) {
  return "<jingle xmlns='urn:xmpp:jingle:1' action='transport-info' sid='s1'><content creator='initiator' "
         "name='0'><transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='u' pwd='p'>" +
         transport_body + "</transport></content></jingle>";
}

TEST(Hostile, MissingSidOrAction) {
  expectBadRequest("<jingle xmlns='urn:xmpp:jingle:1' action='session-terminate'/>");
  expectBadRequest("<jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid=''/>");
  expectBadRequest("<jingle xmlns='urn:xmpp:jingle:1' sid='abc'/>");
}

TEST(Hostile, UnknownAction) {
  expectBadRequest("<jingle xmlns='urn:xmpp:jingle:1' action='session-explode' sid='abc'/>");
  expectBadRequest("<jingle xmlns='urn:xmpp:jingle:1' action='SESSION-INITIATE' sid='abc'/>");
  EXPECT_EQ(validateIncoming(Jingle{}).error().condition, StanzaCondition::BadRequest);
}

TEST(Hostile, NotAJingleElement) {
  expectBadRequest("<jingle xmlns='urn:xmpp:jingle:0' action='session-terminate' sid='abc'/>");
  expectBadRequest("<jingle action='session-terminate' sid='abc'/>");
  expectBadRequest("<session xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='abc'/>");
}

TEST(Hostile, HugeAttribute) {
  const std::string huge(limits::kMaxAttributeBytes + 1, 'x');
  const std::string fits(limits::kMaxAttributeBytes, 'x');
  expectBadRequest("<jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='" + huge + "'/>");
  EXPECT_TRUE(parseText("<jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='" + fits + "'/>").ok());
  expectBadRequest(transportInfo(candidate("9998", " foundation2='" + huge + "'")));
  expectBadRequest("<jingle xmlns='urn:xmpp:jingle:1' action='content-remove' sid='s'><content creator='initiator' "
                   "name='" + huge + "'/></jingle>");
  expectBadRequest("<jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s' initiator='" + huge + "'/>");
  // Huge text where we read text.
  expectBadRequest("<jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s'><reason><success/><text>" +
                   std::string(limits::kMaxTextBytes + 1, 't') + "</text></reason></jingle>");
}

TEST(Hostile, AbsurdFileSize) {
  for (const char* size : {"99999999999999999999999", "18446744073709551616", "-1", "1.5", "twelve", "0x10"}) {
    expectBadRequest(std::string("<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s'>"
                                 "<content creator='initiator' name='f'><description "
                                 "xmlns='urn:xmpp:jingle:apps:file-transfer:5'><file><size>") +
                     size + "</size></file></description></content></jingle>");
  }
}

TEST(Hostile, ThousandCandidates) {
  std::string body;
  for (int i = 0; i < 1000; ++i) body += candidate(std::to_string(1000 + i));
  expectBadRequest(transportInfo(body));

  std::string ok;
  for (std::size_t i = 0; i < limits::kMaxCandidates; ++i) ok += candidate(std::to_string(1000 + i));
  auto r = parseText(transportInfo(ok));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->contents[0].transport->ice.candidates.size(), limits::kMaxCandidates);
}

TEST(Hostile, TooManyContentsFingerprintsGroups) {
  std::string contents;
  for (std::size_t i = 0; i <= limits::kMaxContents; ++i) {
    contents += "<content creator='initiator' name='c" + std::to_string(i) + "'/>";
  }
  expectBadRequest("<jingle xmlns='urn:xmpp:jingle:1' action='content-remove' sid='s'>" + contents + "</jingle>");

  std::string fps;
  for (std::size_t i = 0; i <= limits::kMaxFingerprints; ++i) {
    fps += "<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='actpass'>AA:BB</fingerprint>";
  }
  expectBadRequest(transportInfo(fps));
}

TEST(Hostile, DeeplyNestedUnknownChildren) {
  const int depth = 3000;
  std::string open, close;
  for (int i = 0; i < depth; ++i) {
    open += "<x>";
    close += "</x>";
  }
  // Unknown elements are ignored, however deep.
  auto r = parseText("<jingle xmlns='urn:xmpp:jingle:1' action='session-info' sid='s'><content creator='initiator' "
                     "name='0'>" + open + close + "</content><deep xmlns='urn:example'>" + open + close +
                     "</deep></jingle>");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->session_info.size(), 1u);
  EXPECT_EQ(r->session_info[0].kind, SessionInfoPayload::Kind::Unknown);
  // Unknown children of a file are ignored too.
  EXPECT_TRUE(parseText("<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s'><content "
                        "creator='initiator' name='f'><description xmlns='urn:xmpp:jingle:apps:file-transfer:5'><file>" +
                        open + close + "<name>a</name></file></description></content></jingle>")
                  .ok());
  // What we keep verbatim (RTP descriptions, unknown transports) must be of sane size.
  expectBadRequest("<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s'><content creator='initiator' "
                   "name='a'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>" + open + close +
                   "</description></content></jingle>");
  std::string wide;
  for (std::size_t i = 0; i <= limits::kMaxOpaqueElements; ++i) wide += "<payload-type id='1'/>";
  expectBadRequest("<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s'><content creator='initiator' "
                   "name='a'><transport xmlns='urn:xmpp:jingle:transports:s5b:1'>" + wide +
                   "</transport></content></jingle>");
}

TEST(Hostile, NonNumericPortsAndNumbers) {
  expectBadRequest(transportInfo(candidate("http")));
  expectBadRequest(transportInfo(candidate("70000")));
  expectBadRequest(transportInfo(candidate("-1")));
  expectBadRequest(transportInfo(candidate("")));  // required
  expectBadRequest(transportInfo(
      "<candidate component='one' foundation='1' ip='10.0.0.1' port='1' priority='1' protocol='udp' type='host'/>"));
  expectBadRequest(transportInfo(
      "<candidate component='1' foundation='1' ip='10.0.0.1' port='1' priority='4294967296' type='host'/>"));
  expectBadRequest(transportInfo(candidate("1", " rel-port='x'")));
  expectBadRequest(transportInfo("<remote-candidate component='1' ip='1.2.3.4' port='abc'/>"));
  expectBadRequest(transportInfo("<sctpmap xmlns='urn:xmpp:jingle:transports:dtls-sctp:1' number='5000x'/>"));
  expectBadRequest("<jingle xmlns='urn:xmpp:jingle:1' action='transport-info' sid='s'><content creator='initiator' "
                   "name='0'><transport xmlns='urn:xmpp:jingle:transports:webrtc-datachannel:1' sctp-port='big'/>"
                   "</content></jingle>");
  expectBadRequest("<jingle xmlns='urn:xmpp:jingle:1' action='transport-info' sid='s'><content creator='initiator' "
                   "name='0'><transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' max-message-size='1e9'/>"
                   "</content></jingle>");
}

TEST(Hostile, MissingRequiredCandidateAttributes) {
  expectBadRequest(transportInfo("<candidate component='1' foundation='1' port='1' priority='1' type='host'/>"));
  expectBadRequest(transportInfo("<candidate component='1' ip='1.1.1.1' port='1' priority='1' type='host'/>"));
  expectBadRequest(transportInfo("<candidate foundation='1' ip='1.1.1.1' port='1' priority='1' type='host'/>"));
  expectBadRequest(transportInfo("<candidate component='1' foundation='1' ip='1.1.1.1' port='1' type='host'/>"));
  expectBadRequest(transportInfo("<candidate component='1' foundation='1' ip='1.1.1.1' port='1' priority='1'/>"));
  // Unknown candidate types are skipped, not fatal.
  auto r = parseText(transportInfo(
      "<candidate component='1' foundation='1' ip='1.1.1.1' port='1' priority='1' type='nat64'/>"));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->contents[0].transport->ice.candidates.empty());
}

TEST(Hostile, InvalidEnumerations) {
  expectBadRequest("<jingle xmlns='urn:xmpp:jingle:1' action='content-remove' sid='s'><content creator='everyone' "
                   "name='a'/></jingle>");
  expectBadRequest("<jingle xmlns='urn:xmpp:jingle:1' action='content-modify' sid='s'><content creator='initiator' "
                   "name='a' senders='all'/></jingle>");
  expectBadRequest("<jingle xmlns='urn:xmpp:jingle:1' action='content-remove' sid='s'><content creator='initiator'/>"
                   "</jingle>");
  expectBadRequest(transportInfo(
      "<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='sometimes'>AA:BB</fingerprint>"));
  expectBadRequest(transportInfo(
      "<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='active'>&lt;script&gt;</fingerprint>"));
  expectBadRequest(transportInfo("<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256'/>"));
}

TEST(Hostile, ControlCharactersInValues) {
  // gloox refuses character references to control characters and drops raw ones; whatever it
  // lets through, what we serialize back must be well-formed.
  auto refs = parseXml("<jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s&#1;'/>");
  EXPECT_EQ(refs, nullptr);
  auto tag = parseXml("<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s\x01'><content "
                      "creator='initiator' name='f\x02'><description xmlns='urn:xmpp:jingle:apps:file-transfer:5'><file>"
                      "<name>a\x01\x1b\x7f" "b</name></file></description><transport "
                      "xmlns='urn:xmpp:jingle:transports:ibb:1' sid='x\x03' block-size='4096'/></content></jingle>");
  ASSERT_NE(tag, nullptr);
  auto r = parseJingle(*tag);
  if (r.ok()) {
    const std::string xml = test::xmlAndDelete(serializeJingle(r.value()));
    EXPECT_NE(parseXml(xml), nullptr) << xml;
    for (char c : xml) EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\r' && c != '\t');
  }
}

// Deterministic mutation fuzzing over the real captures: byte flips, truncation, duplication of
// slices, random entity/markup insertion. Every input that gloox accepts must give a Result, and
// every successful parse must serialize to XML that parses to the same serialization.
TEST(Hostile, MutatedCapturesNeverCrash) {
  const char* files[] = {"stanzajs-D-file-transfer/alice.session-initiate.xml",
                         "stanzajs-D-file-transfer/alice.session-info.xml",
                         "stanzajs-C-video-vp8/alice.session-initiate.xml",
                         "stanzajs-A-audio/alice.transport-info.xml",
                         "dino-file-s5b/alice.session-initiate.xml",
                         "dino-call-video/bob.session-accept.xml"};
  const char* snippets[] = {"<x/>", "<candidate/>", "<content/>", "&#0;", "&amp;", "<file><size>9</size></file>",
                            "<transport xmlns='urn:xmpp:jingle:transports:webrtc-datachannel:1'/>",
                            "<hash xmlns='urn:xmpp:hashes:2'/>", "<reason/>", "<group/>", "'", "\"", "<", ">",
                            " port='-1'", " xmlns='urn:xmpp:jingle:1'", "<range offset='x'/>"};
  std::mt19937 rng(20261124);
  std::size_t parsed_ok = 0;
  std::size_t well_formed = 0;
  for (const char* file : files) {
    const std::string base = test::readDataFile(std::string("interop-captures/") + file);
    for (int iteration = 0; iteration < 400; ++iteration) {
      std::string s = base;
      const int mutations = 1 + static_cast<int>(rng() % 4);
      for (int m = 0; m < mutations && !s.empty(); ++m) {
        const std::size_t pos = rng() % s.size();
        switch (rng() % 5) {
          case 0: s[pos] = static_cast<char>(rng() % 256); break;
          case 1: s.erase(pos, 1 + rng() % 16); break;
          case 2: s.insert(pos, snippets[rng() % (sizeof(snippets) / sizeof(*snippets))]); break;
          case 3: s.insert(pos, s.substr(rng() % s.size(), rng() % 64)); break;
          default: s.resize(pos); break;
        }
      }
      for (const auto& top : test::parseXmlAll(s)) {
        ++well_formed;
        std::vector<const gloox::Tag*> candidates{top.get()};
        for (const gloox::Tag* child : top->children()) candidates.push_back(child);
        for (const gloox::Tag* tag : candidates) {
          auto r = parseJingle(*tag);
          if (!r.ok()) {
            EXPECT_FALSE(r.error().text.empty());
            continue;
          }
          ++parsed_ok;
          const std::string xml = test::xmlAndDelete(serializeJingle(r.value()));
          auto again = parseXml(xml);
          ASSERT_NE(again, nullptr) << xml;
          auto r2 = parseJingle(*again);
          ASSERT_TRUE(r2.ok()) << xml << "\n" << r2.error().text;
          EXPECT_EQ(test::xmlAndDelete(serializeJingle(r2.value())), xml);
          (void)validateIncoming(r2.value());
        }
      }
    }
  }
  RecordProperty("well_formed_inputs", static_cast<int>(well_formed));
  RecordProperty("parsed_inputs", static_cast<int>(parsed_ok));
  EXPECT_GT(well_formed, 100u);
  EXPECT_GT(parsed_ok, 50u);
}

}  // namespace
}  // namespace tern::signaling
