// XEP-0215 external service discovery.
#include <gtest/gtest.h>

#include "tern/signaling/extdisco.hpp"
#include "xml_test_util.hpp"

namespace tern::signaling {
namespace {

using test::parseXml;
using test::xmlAndDelete;

TEST(ExtDisco, Queries) {
  EXPECT_EQ(xmlAndDelete(makeServicesQuery()), "<services xmlns='urn:xmpp:extdisco:2'/>");
  EXPECT_EQ(xmlAndDelete(makeServicesQuery(ExternalServiceType::Turn)),
            "<services xmlns='urn:xmpp:extdisco:2' type='turn'/>");
  EXPECT_EQ(xmlAndDelete(makeCredentialsQuery("turn.example.org", ExternalServiceType::Turn, 3478)),
            "<credentials xmlns='urn:xmpp:extdisco:2'><service host='turn.example.org' type='turn' port='3478'/>"
            "</credentials>");
}

// XEP-0215 example 2, plus a turns service with expiry, as Prosody's mod_turn_external sends.
TEST(ExtDisco, ParsesServicesResult) {
  auto iq = parseXml(R"(<iq type='result' id='ul2bc7y6' xmlns='jabber:client'>
  <services xmlns='urn:xmpp:extdisco:2'>
    <service host='stun.shakespeare.lit' port='9998' transport='udp' type='stun'/>
    <service host='relay.shakespeare.lit' password='jj929jkj5sadjfj93v3n' port='9999' transport='udp'
             type='turn' username='nb78932lkjlskjfdb7g8'/>
    <service host='192.0.2.1' port='8888' transport='udp' type='stun'/>
    <service host='ftp.shakespeare.lit' name='Shakespearean File Server' password='guest' port='20'
             transport='tcp' type='ftp' username='guest'/>
    <service host='turn.example.org' type='turns' restricted='1' username='1764025287:alice'
             password='c2VjcmV0' expires='2025-11-24T23:01:27Z'/>
    <service host='bad.example.org' type='turn' port='http'/>
    <service type='stun' port='3478'/>
  </services>
</iq>)");
  ASSERT_NE(iq, nullptr);
  const gloox::Tag* services = iq->findChild("services");
  ASSERT_NE(services, nullptr);
  auto parsed = parseExternalServices(*services);
  ASSERT_TRUE(parsed.ok());
  const auto& s = parsed.value();
  ASSERT_EQ(s.size(), 4u);  // ftp, the bad port and the host-less one are skipped
  EXPECT_EQ(s[0].type, ExternalServiceType::Stun);
  EXPECT_EQ(s[0].host, "stun.shakespeare.lit");
  EXPECT_EQ(s[0].port, 9998);
  EXPECT_EQ(s[0].transport, ExternalServiceTransport::Udp);
  EXPECT_FALSE(s[0].username.has_value());
  EXPECT_EQ(s[1].type, ExternalServiceType::Turn);
  EXPECT_EQ(s[1].username, "nb78932lkjlskjfdb7g8");
  EXPECT_EQ(s[1].password, "jj929jkj5sadjfj93v3n");
  EXPECT_FALSE(s[1].restricted);
  EXPECT_EQ(s[3].type, ExternalServiceType::Turns);
  EXPECT_FALSE(s[3].port.has_value());
  EXPECT_EQ(s[3].effectivePort(), 5349);
  EXPECT_EQ(s[3].effectiveTransport(), ExternalServiceTransport::Tcp);
  EXPECT_TRUE(s[3].restricted);
  EXPECT_EQ(s[3].expires, "2025-11-24T23:01:27Z");
  EXPECT_EQ(s[3].expires_unix, 1764025287);
}

TEST(ExtDisco, ParsesCredentialsAndRejectsOtherElements) {
  auto cred = parseXml(
      "<credentials xmlns='urn:xmpp:extdisco:2'><service host='turn.shakespeare.lit' type='turn' "
      "password='jj929jkj5sadjfj93v3n' username='nb78932lkjlskjfdb7g8'/></credentials>");
  ASSERT_NE(cred, nullptr);
  auto parsed = parseExternalServices(*cred);
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_EQ(parsed->front().effectivePort(), 3478);
  EXPECT_EQ(parsed->front().effectiveTransport(), ExternalServiceTransport::Udp);

  auto other = parseXml("<services xmlns='urn:xmpp:extdisco:1'/>");
  ASSERT_NE(other, nullptr);
  EXPECT_FALSE(parseExternalServices(*other).ok());
}

TEST(ExtDisco, BoundsTheNumberOfServices) {
  std::string xml = "<services xmlns='urn:xmpp:extdisco:2'>";
  for (int i = 0; i < 500; ++i) xml += "<service host='h" + std::to_string(i) + "' type='stun'/>";
  xml += "</services>";
  auto tag = parseXml(xml);
  ASSERT_NE(tag, nullptr);
  auto parsed = parseExternalServices(*tag);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->size(), 64u);
}

TEST(XmppDateTime, Profiles) {
  EXPECT_EQ(parseXmppDateTime("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parseXmppDateTime("2026-11-24T22:21:27.609Z"), 1795558887);
  EXPECT_EQ(parseXmppDateTime("1969-07-21T02:56:15Z"), -14159025);
  EXPECT_EQ(parseXmppDateTime("2015-07-26T21:46:00+01:00"), 1437943560);
  EXPECT_EQ(parseXmppDateTime("2000-02-29T12:00:00-05:30"), 951845400);
  for (const char* bad : {"", "2020-13-01T00:00:00Z", "2020-01-01 00:00:00Z", "2020-01-01T00:00:00",
                          "2020-01-01T00:00:00+0100", "2020-01-01T00:00:00.Z", "yesterday"}) {
    EXPECT_FALSE(parseXmppDateTime(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace tern::signaling
