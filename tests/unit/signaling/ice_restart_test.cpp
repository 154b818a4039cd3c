// XEP-0176 section 5.9 (ICE restarts): the transport-info that carries a restart
// parses with its new credentials and generation, and the restart announcement
// Tern sends (ufrag and pwd, no candidate yet) survives serialize -> parse.
#include <gtest/gtest.h>

#include "tern/signaling/ice_udp.hpp"
#include "xml_test_util.hpp"

namespace tern::signaling {
namespace {

using test::parseXml;
using test::xmlAndDelete;

// The <transport/> of XEP-0176 Example 7 ("Initiator restarts ICE negotiation").
const char* kExample7 =
    "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' pwd='bv71hdn38hgb39hf6xlk33' ufrag='g7qs'>"
    "<candidate component='1' foundation='1' generation='1' id='y3s2b30v3r' ip='192.0.2.3' network='1'"
    " port='45665' priority='1694498815' protocol='udp' type='srflx'/>"
    "</transport>";

TEST(IceRestart, Xep0176Example7Parses) {
    auto tag = parseXml(kExample7);
    ASSERT_TRUE(tag);
    auto t = parseIceUdpTransport(*tag);
    ASSERT_TRUE(t);
    EXPECT_EQ(t.value().ufrag, std::optional<std::string>("g7qs"));
    EXPECT_EQ(t.value().pwd, std::optional<std::string>("bv71hdn38hgb39hf6xlk33"));
    ASSERT_EQ(t.value().candidates.size(), 1u);
    EXPECT_EQ(t.value().candidates[0].generation, 1u);
    EXPECT_EQ(t.value().candidates[0].type, CandidateType::ServerReflexive);
    EXPECT_FALSE(t.value().gathering_complete);
}

TEST(IceRestart, CredentialsOnlyAnnouncementRoundTrips) {
    IceUdpTransport out;
    out.ufrag = "Xq9f";
    out.pwd = "s3cr3tpasswordof22chars";
    auto xml = xmlAndDelete(serializeIceUdpTransport(out));
    EXPECT_NE(xml.find("pwd='s3cr3tpasswordof22chars'"), std::string::npos) << xml;
    auto tag = parseXml(xml);
    ASSERT_TRUE(tag) << xml;
    auto back = parseIceUdpTransport(*tag);
    ASSERT_TRUE(back) << xml;
    EXPECT_EQ(back.value(), out);
    EXPECT_TRUE(back.value().candidates.empty());
}

TEST(IceRestart, CandidateGenerationIsSerialized) {
    IceUdpTransport out;
    out.ufrag = "Xq9f";
    out.pwd = "s3cr3tpasswordof22chars";
    IceCandidate c;
    c.component = 1;
    c.foundation = "2";
    c.generation = 2;
    c.id = "abc";
    c.ip = "203.0.113.42";
    c.port = 40000;
    c.priority = 1694498815;
    c.protocol = "udp";
    c.type = CandidateType::ServerReflexive;
    c.rel_addr = "10.0.2.2";
    c.rel_port = 40000;
    out.candidates.push_back(c);
    auto xml = xmlAndDelete(serializeIceUdpTransport(out));
    EXPECT_NE(xml.find("generation='2'"), std::string::npos) << xml;
    auto tag = parseXml(xml);
    ASSERT_TRUE(tag);
    auto back = parseIceUdpTransport(*tag);
    ASSERT_TRUE(back) << xml;
    EXPECT_EQ(back.value(), out);
}

}  // namespace
}  // namespace tern::signaling
