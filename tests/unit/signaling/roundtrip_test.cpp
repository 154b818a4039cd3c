// serialize -> XML text -> gloox parser -> parse gives back the same model, in both data channel
// dialects; RTP descriptions go out from their model (the raw copy stays self-contained).
#include <gtest/gtest.h>

#include "tern/signaling/jingle.hpp"
#include "tern/signaling/namespaces.hpp"
#include "xml_test_util.hpp"

namespace tern::signaling {
namespace {

using test::parseXml;
using test::xmlAndDelete;

void expectSame(const Jingle& a, const Jingle& b) {
  EXPECT_EQ(a.action, b.action);
  EXPECT_EQ(a.sid, b.sid);
  EXPECT_EQ(a.initiator, b.initiator);
  EXPECT_EQ(a.responder, b.responder);
  ASSERT_EQ(a.contents.size(), b.contents.size());
  for (std::size_t i = 0; i < a.contents.size(); ++i) {
    const Content& x = a.contents[i];
    const Content& y = b.contents[i];
    EXPECT_EQ(x.creator, y.creator);
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.senders, y.senders);
    EXPECT_EQ(x.disposition, y.disposition);
    ASSERT_EQ(x.description.has_value(), y.description.has_value());
    if (x.description) {
      EXPECT_EQ(x.description->kind, y.description->kind);
      EXPECT_EQ(x.description->file_transfer, y.description->file_transfer);
    }
    ASSERT_EQ(x.transport.has_value(), y.transport.has_value());
    if (x.transport) {
      EXPECT_EQ(x.transport->kind, y.transport->kind);
      EXPECT_EQ(x.transport->ice, y.transport->ice);
      EXPECT_EQ(x.transport->sctp_port, y.transport->sctp_port);
      EXPECT_EQ(x.transport->max_message_size, y.transport->max_message_size);
    }
  }
  ASSERT_EQ(a.reason.has_value(), b.reason.has_value());
  if (a.reason) {
    EXPECT_EQ(a.reason->condition, b.reason->condition);
    EXPECT_EQ(a.reason->text, b.reason->text);
    EXPECT_EQ(a.reason->alternative_sid, b.reason->alternative_sid);
  }
  ASSERT_EQ(a.groups.size(), b.groups.size());
  for (std::size_t i = 0; i < a.groups.size(); ++i) {
    EXPECT_EQ(a.groups[i].semantics, b.groups[i].semantics);
    EXPECT_EQ(a.groups[i].contents, b.groups[i].contents);
  }
  ASSERT_EQ(a.session_info.size(), b.session_info.size());
}

Jingle roundTrip(const Jingle& in, std::string* xml_out = nullptr) {
  const std::string xml = xmlAndDelete(serializeJingle(in));
  if (xml_out) *xml_out = xml;
  auto tag = parseXml(xml);
  EXPECT_NE(tag, nullptr) << xml;
  if (!tag) return {};
  auto parsed = parseJingle(*tag);
  EXPECT_TRUE(parsed.ok()) << xml << "\n" << (parsed.ok() ? "" : parsed.error().text);
  return parsed.ok() ? parsed.value() : Jingle{};
}

IceUdpTransport sampleIce() {
  IceUdpTransport ice;
  ice.ufrag = "8hhy";
  ice.pwd = "asd88fgpdd777uzjYhagZg";
  ice.fingerprints.push_back(DtlsFingerprint{
      "sha-256", DtlsSetup::ActPass,
      "02:1A:CC:54:27:AB:EB:9C:53:3F:3E:4B:65:2E:7D:46:3F:54:42:CD:54:F1:7A:03:A2:7D:F9:B0:7F:46:19:B2"});
  IceCandidate host;
  host.component = 1;
  host.foundation = "1";
  host.id = "el0747fg11";
  host.ip = "10.0.1.1";
  host.network = 1;
  host.port = 8998;
  host.priority = 2130706431;
  host.type = CandidateType::Host;
  IceCandidate srflx = host;
  srflx.foundation = "2";
  srflx.id = "y3s2b30v3r";
  srflx.ip = "192.0.2.3";
  srflx.port = 45664;
  srflx.priority = 1694498815;
  srflx.type = CandidateType::ServerReflexive;
  srflx.rel_addr = "10.0.1.1";
  srflx.rel_port = 8998;
  IceCandidate tcp = host;
  tcp.foundation = "3";
  tcp.protocol = "tcp";
  tcp.tcptype = "passive";
  tcp.network.reset();
  tcp.id.clear();
  ice.candidates = {host, srflx, tcp};
  return ice;
}

Jingle sampleOffer(Transport transport) {
  FileInfo file;
  file.name = "test.txt";
  file.size = 6144;
  file.date = "2015-07-26T21:46:00+01:00";
  file.media_type = "text/plain";
  file.desc = "a <test> & \"more\"";
  file.hashes.push_back(Hash{"sha-256", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", HashNamespace::V2});
  file.range = FileRange{};
  FileTransferDescription ft;
  ft.file = file;

  Jingle j;
  j.action = Action::SessionInitiate;
  j.sid = "a73sjjvkla37jfea";
  j.initiator = "romeo@montague.example/dr4hcr0st3lup4c";
  Content c;
  c.creator = Creator::Initiator;
  c.name = "a-file-offer";
  c.senders = Senders::Initiator;
  c.description = Description::fileTransfer(ft);
  c.transport = std::move(transport);
  j.contents.push_back(std::move(c));
  j.groups.push_back(Group{"BUNDLE", {"a-file-offer"}, false});
  return j;
}

TEST(RoundTrip, FileOfferXep0343SctpmapDialect) {
  IceUdpTransport ice = sampleIce();
  ice.sctpmap = SctpMap{5000, "webrtc-datachannel", 1024};
  const Jingle offer = sampleOffer(Transport::iceUdp(ice));
  std::string xml;
  const Jingle back = roundTrip(offer, &xml);
  expectSame(offer, back);
  EXPECT_EQ(dataChannelDialect(*back.contents[0].transport), DataChannelDialect::Xep0343Sctpmap);
  EXPECT_NE(xml.find("<sctpmap xmlns='urn:xmpp:jingle:transports:dtls-sctp:1' number='5000' "
                     "protocol='webrtc-datachannel' streams='1024'/>"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='actpass'>"),
            std::string::npos);
  EXPECT_NE(xml.find("<description xmlns='urn:xmpp:jingle:apps:file-transfer:5'>"), std::string::npos);
  EXPECT_NE(xml.find("senders='initiator'"), std::string::npos);
}

TEST(RoundTrip, FileOfferXep0343SctpPortAttributes) {
  IceUdpTransport ice = sampleIce();
  ice.sctp_port = 5000;
  ice.max_message_size = 262144;
  const Jingle back = roundTrip(sampleOffer(Transport::iceUdp(ice)));
  expectSame(sampleOffer(Transport::iceUdp(ice)), back);
  EXPECT_EQ(dataChannelDialect(*back.contents[0].transport), DataChannelDialect::Xep0343SctpPort);
}

TEST(RoundTrip, FileOfferConversationsDialect) {
  const Jingle offer = sampleOffer(Transport::webRtcDataChannel(sampleIce(), 5000, 262144));
  std::string xml;
  const Jingle back = roundTrip(offer, &xml);
  expectSame(offer, back);
  EXPECT_EQ(back.contents[0].transport->kind, TransportKind::WebRtcDataChannel);
  EXPECT_EQ(dataChannelDialect(*back.contents[0].transport), DataChannelDialect::ConversationsWrapper);
  EXPECT_NE(xml.find("<transport xmlns='urn:xmpp:jingle:transports:webrtc-datachannel:1' sctp-port='5000' "
                     "max-message-size='262144'><transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' "
                     "ufrag='8hhy' pwd='asd88fgpdd777uzjYhagZg'><fingerprint"),
            std::string::npos)
      << xml;
}

// What Conversations (eu.siacs.conversations.xmpp.jingle) puts on the wire: the offer, and a
// trickled candidate in a transport-info that repeats the wrapper.
TEST(RoundTrip, ParsesConversationsStanzas) {
  auto offer = parseXml(R"(<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='Xv2H1QfUcWMSgOOKvUv2'>
  <content creator='initiator' name='0' senders='initiator'>
    <description xmlns='urn:xmpp:jingle:apps:file-transfer:5'>
      <file xmlns='urn:xmpp:jingle:apps:file-transfer:5'><name>IMG_2024.jpg</name><size>48213</size>
        <mediaType>image/jpeg</mediaType></file>
    </description>
    <transport xmlns='urn:xmpp:jingle:transports:webrtc-datachannel:1' sctp-port='5000' max-message-size='262144'>
      <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='Pq4z' pwd='8Nc0XXRjkkgCmMfs9ygi/+5D'>
        <fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='actpass'>
          AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99
        </fingerprint>
      </transport>
    </transport>
  </content>
  <group xmlns='urn:xmpp:jingle:apps:grouping:0' semantics='BUNDLE'><content name='0'/></group>
</jingle>)");
  ASSERT_NE(offer, nullptr);
  auto j = parseJingle(*offer);
  ASSERT_TRUE(j.ok()) << j.error().text;
  const Transport& t = *j->contents.at(0).transport;
  EXPECT_EQ(t.kind, TransportKind::WebRtcDataChannel);
  EXPECT_EQ(t.sctp_port, 5000);
  EXPECT_EQ(t.max_message_size, 262144u);
  EXPECT_EQ(t.ice.ufrag, "Pq4z");
  ASSERT_EQ(t.ice.fingerprints.size(), 1u);
  EXPECT_EQ(t.ice.fingerprints[0].value.substr(0, 5), "AA:BB");  // surrounding whitespace trimmed
  EXPECT_EQ(j->contents[0].description->file_transfer->file->media_type, "image/jpeg");

  auto info = parseXml(R"(<jingle xmlns='urn:xmpp:jingle:1' action='transport-info' sid='Xv2H1QfUcWMSgOOKvUv2'>
  <content creator='initiator' name='0' senders='initiator'>
    <transport xmlns='urn:xmpp:jingle:transports:webrtc-datachannel:1' sctp-port='5000' max-message-size='262144'>
      <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='Pq4z' pwd='8Nc0XXRjkkgCmMfs9ygi/+5D'>
        <candidate component='1' foundation='3517466452' generation='0' id='2' ip='192.168.1.20' network='0'
                   port='42577' priority='2122260223' protocol='udp' type='host'/>
      </transport>
    </transport>
  </content>
</jingle>)");
  auto ti = parseJingle(*info);
  ASSERT_TRUE(ti.ok());
  EXPECT_EQ(ti->contents.at(0).transport->kind, TransportKind::WebRtcDataChannel);
  ASSERT_EQ(ti->contents[0].transport->ice.candidates.size(), 1u);
  EXPECT_EQ(ti->contents[0].transport->ice.candidates[0].port, 42577);
}

TEST(RoundTrip, AnswerInTheDialectOfTheOffer) {
  // The engine answers by copying the offer's transport shape: wrapper in, wrapper out.
  const Jingle offer = roundTrip(sampleOffer(Transport::webRtcDataChannel(sampleIce(), 5000, 262144)));
  Jingle accept;
  accept.action = Action::SessionAccept;
  accept.sid = offer.sid;
  Content c = offer.contents[0];
  Transport answer = *c.transport;
  answer.ice = IceUdpTransport{};
  answer.ice.ufrag = "resp";
  answer.ice.pwd = "responderpassword123456";
  answer.ice.fingerprints.push_back(DtlsFingerprint{"sha-256", DtlsSetup::Active, "AB:CD"});
  c.transport = answer;
  accept.contents.push_back(c);
  std::string xml;
  const Jingle back = roundTrip(accept, &xml);
  EXPECT_EQ(dataChannelDialect(*back.contents[0].transport), DataChannelDialect::ConversationsWrapper);
  EXPECT_EQ(back.contents[0].transport->ice.fingerprints.at(0).setup, DtlsSetup::Active);
  EXPECT_NE(xml.find("file-transfer:5"), std::string::npos);
}

TEST(RoundTrip, Ft3AndFt4OffersKeepTheirVersion) {
  for (FtVersion v : {FtVersion::V3, FtVersion::V4}) {
    IceUdpTransport ice = sampleIce();
    ice.sctpmap = SctpMap{};
    Jingle offer = sampleOffer(Transport::iceUdp(ice));
    FileTransferDescription& ft = *offer.contents[0].description->file_transfer;
    ft.version = v;
    ft.file->media_type.reset();  // not in ft:3
    ft.file->hashes[0].ns = HashNamespace::V1;
    offer.contents[0].description->xmlns = fileTransferNamespace(v);
    std::string xml;
    const Jingle back = roundTrip(offer, &xml);
    expectSame(offer, back);
    EXPECT_NE(xml.find(std::string("<description xmlns='") + fileTransferNamespace(v) + "'>"), std::string::npos);
    EXPECT_EQ(xml.find("<offer>") != std::string::npos, v == FtVersion::V3) << xml;
  }
}

TEST(RoundTrip, RtpDescriptionIsParsedAndTheRawCopyKeepsItsPrefixes) {
  auto iqs = test::loadCapture("stanzajs-A-audio", "alice.session-initiate.xml");
  ASSERT_EQ(iqs.size(), 1u);
  auto j = parseJingle(*test::jingleOf(*iqs[0]));
  ASSERT_TRUE(j.ok());
  ASSERT_TRUE(j->contents[0].description->rtp.has_value());
  // Sent from the model: every XEP-0293/0294/0339 child in its own namespace, no prefixes.
  const std::string xml = xmlAndDelete(serializeJingle(j.value()));
  EXPECT_EQ(xml.find("rtcpf:"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='transport-cc'/>"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<payload-type id='111' name='opus' clockrate='48000' channels='2'>"),
            std::string::npos)
      << xml;
  // The raw copy is self-contained: its prefixed children still resolve after the <iq/> is gone.
  const gloox::Tag* raw = j->contents[0].description->raw.get();
  ASSERT_NE(raw, nullptr);
  iqs.clear();
  const gloox::Tag* pt = raw->findChild("payload-type");
  ASSERT_NE(pt, nullptr);
  const gloox::Tag* fb = pt->findChild("rtcp-fb");
  ASSERT_NE(fb, nullptr);
  EXPECT_EQ(fb->xmlns(), "urn:xmpp:jingle:apps:rtp:rtcp-fb:0");
}

TEST(RoundTrip, ReasonsAndSessionInfo) {
  Jingle t = makeSessionTerminate("s1", Reason::of(ReasonCondition::SecurityError, "DTLS fingerprint mismatch"));
  std::string xml;
  Jingle back = roundTrip(t, &xml);
  expectSame(t, back);
  EXPECT_EQ(xml,
            "<jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s1'><reason><security-error/>"
            "<text>DTLS fingerprint mismatch</text></reason></jingle>");

  Reason alt = Reason::of(ReasonCondition::AlternativeSession);
  alt.alternative_sid = "b84tkkwlmb48kgfb";
  back = roundTrip(makeSessionTerminate("s2", alt));
  EXPECT_EQ(back.reason->alternative_sid, "b84tkkwlmb48kgfb");

  for (ReasonCondition c : {ReasonCondition::Success, ReasonCondition::Decline, ReasonCondition::Cancel,
                            ReasonCondition::FailedTransport, ReasonCondition::ConnectivityError,
                            ReasonCondition::MediaError, ReasonCondition::GeneralError, ReasonCondition::Timeout,
                            ReasonCondition::Gone, ReasonCondition::Expired, ReasonCondition::IncompatibleParameters,
                            ReasonCondition::FailedApplication, ReasonCondition::Busy,
                            ReasonCondition::UnsupportedApplications, ReasonCondition::UnsupportedTransports}) {
    EXPECT_EQ(roundTrip(makeSessionTerminate("s", Reason::of(c))).reason->condition, c) << toString(c);
  }

  ChecksumInfo checksum;
  checksum.creator = "initiator";
  checksum.name = "0";
  checksum.file.hashes.push_back(Hash{"sha-1", "8Xp57/V2ti+n9lXAWf12gs6LYA4=", HashNamespace::V2});
  back = roundTrip(makeSessionInfo("s3", SessionInfoPayload::of(checksum)));
  ASSERT_EQ(back.session_info.size(), 1u);
  EXPECT_EQ(back.session_info[0].checksum->file, checksum.file);
}

TEST(RoundTrip, UnknownReasonAndAppCondition) {
  auto tag = parseXml(
      "<jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s'><reason><media-error/>"
      "<file-not-available xmlns='urn:xmpp:jingle:apps:file-transfer:errors:0'/></reason></jingle>");
  auto j = parseJingle(*tag);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->reason->condition, ReasonCondition::MediaError);
  EXPECT_EQ(j->reason->app_condition_name, "file-not-available");
  EXPECT_EQ(j->reason->app_condition_ns, ns::kFileTransferErrors);
  const std::string xml = xmlAndDelete(serializeJingle(j.value()));
  EXPECT_NE(xml.find("<file-not-available xmlns='urn:xmpp:jingle:apps:file-transfer:errors:0'/>"), std::string::npos);

  auto odd = parseJingle(*parseXml(
      "<jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s'><reason><brand-new/></reason></jingle>"));
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(odd->reason->condition, ReasonCondition::Unknown);
  EXPECT_EQ(odd->reason->condition_name, "brand-new");
}

TEST(RoundTrip, SerializedStringsAreXmlSafe) {
  Jingle offer = sampleOffer(Transport::iceUdp(sampleIce()));
  offer.contents[0].description->file_transfer->file->name = std::string("evil\x01\x02\0name", 11);
  const std::string xml = xmlAndDelete(serializeJingle(offer));
  for (char c : xml) {
    EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\r' && c != '\t');
  }
  EXPECT_NE(parseXml(xml), nullptr);
}

}  // namespace
}  // namespace tern::signaling
