// XEP-0167 RTP descriptions (with XEP-0293 rtcp-fb, XEP-0294 header extensions, XEP-0339 sources):
// parser, serializer, round trips, our offers, negotiation, and hostile input.
#include <string>

#include <gtest/gtest.h>

#include "tern/signaling/jingle.hpp"
#include "tern/signaling/namespaces.hpp"
#include "tern/signaling/rtp.hpp"
#include "xml_test_util.hpp"

namespace tern::signaling {
namespace {

using test::parseXml;
using test::xmlAndDelete;

RtpDescription parseText(const std::string& xml) {
  auto tag = parseXml(xml);
  EXPECT_NE(tag, nullptr) << xml;
  if (!tag) return {};
  auto d = parseRtpDescription(*tag);
  EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().text);
  return d.ok() ? d.value() : RtpDescription{};
}

Error parseError(const std::string& xml) {
  auto tag = parseXml(xml);
  EXPECT_NE(tag, nullptr) << xml;
  if (!tag) return {};
  auto d = parseRtpDescription(*tag);
  EXPECT_FALSE(d.ok()) << xml;
  return d.ok() ? Error{} : d.error();
}

RtpDescription roundTrip(const RtpDescription& in, std::string* xml_out = nullptr) {
  const std::string xml = xmlAndDelete(serializeRtpDescription(in));
  if (xml_out) *xml_out = xml;
  return parseText(xml);
}

constexpr char kFull[] =
    "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video' ssrc='4294967295'>"
    " <payload-type id='98' name='VP8' clockrate='90000'>"
    "  <rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='nack'/>"
    "  <rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='nack' subtype='pli'/>"
    "  <rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='ccm' subtype='fir'>"
    "   <parameter name='x' value='y'/></rtcp-fb>"
    "  <rtcp-fb-trr-int xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' value='100'/>"
    " </payload-type>"
    " <payload-type id='0' name='PCMU' clockrate='8000' ptime='20' maxptime='40'/>"
    " <payload-type id='111' name='opus' clockrate='48000' channels='2'>"
    "  <parameter name='minptime' value='10'/><parameter name='useinbandfec' value='1'/>"
    " </payload-type>"
    " <rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='goog-remb'/>"
    " <rtcp-fb-trr-int xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' value='0'/>"
    " <rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' id='1' "
    "uri='urn:ietf:params:rtp-hdrext:toffset'/>"
    " <rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' id='4351' uri='urn:x' "
    "senders='initiator'>"
    "  <parameter name='p'/></rtp-hdrext>"
    " <extmap-allow-mixed xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0'/>"
    " <source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc='1'><parameter name='cname' value='c'/>"
    "  <parameter name='msid' value='s t'/></source>"
    " <source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc='2'/>"
    " <ssrc-group xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' semantics='FID'><source "
    "ssrc='1'/><source ssrc='2'/>"
    " </ssrc-group>"
    " <rtcp-mux/><rtcp-reduced-size/>"
    " <bandwidth type='AS'> 512 </bandwidth>"
    " <stream xmlns='urn:xmpp:jingle:apps:rtp:msid:0' id='s' track='t'/>"
    " <encryption required='true'><crypto crypto-suite='AES_CM_128_HMAC_SHA1_80' "
    "key-params='inline:k' tag='1'/>"
    " </encryption>"
    " <unknown xmlns='urn:example'><deep/></unknown>"
    "</description>";

TEST(RtpDescription, ParsesEveryElement) {
  const RtpDescription d = parseText(kFull);
  EXPECT_EQ(d.media, "video");
  EXPECT_EQ(d.ssrc, 4294967295u);
  ASSERT_EQ(d.payload_types.size(), 3u);
  const PayloadType& vp8 = d.payload_types[0];
  EXPECT_EQ(vp8.id, 98);
  EXPECT_EQ(vp8.name, "VP8");
  EXPECT_EQ(vp8.clockrate, 90000u);
  EXPECT_EQ(vp8.channels, 1);
  ASSERT_EQ(vp8.rtcp_fb.size(), 3u);
  EXPECT_EQ(vp8.rtcp_fb[0].type, "nack");
  EXPECT_EQ(vp8.rtcp_fb[0].subtype, "");
  EXPECT_EQ(vp8.rtcp_fb[1].subtype, "pli");
  EXPECT_EQ(vp8.rtcp_fb[2].type, "ccm");
  EXPECT_EQ(vp8.rtcp_fb[2].subtype, "fir");
  ASSERT_EQ(vp8.rtcp_fb[2].parameters.size(), 1u);
  EXPECT_EQ(vp8.rtcp_fb[2].parameters[0], (RtpParameter{"x", "y"}));
  EXPECT_EQ(vp8.rtcp_fb_trr_int, 100u);
  EXPECT_EQ(d.payload_types[1].ptime, 20u);
  EXPECT_EQ(d.payload_types[1].maxptime, 40u);
  EXPECT_FALSE(d.payload_types[0].ptime.has_value());
  const PayloadType& opus = d.payload_types[2];
  EXPECT_EQ(opus.channels, 2);
  EXPECT_EQ(opus.parameter("minptime"), "10");
  EXPECT_EQ(opus.parameter("useinbandfec"), "1");
  EXPECT_FALSE(opus.parameter("stereo").has_value());
  ASSERT_EQ(d.rtcp_fb.size(), 1u);
  EXPECT_EQ(d.rtcp_fb[0].type, "goog-remb");
  EXPECT_EQ(d.rtcp_fb_trr_int, 0u);
  ASSERT_EQ(d.header_extensions.size(), 2u);
  EXPECT_EQ(d.header_extensions[0].id, 1);
  EXPECT_EQ(d.header_extensions[0].uri, "urn:ietf:params:rtp-hdrext:toffset");
  EXPECT_FALSE(d.header_extensions[0].senders.has_value());
  EXPECT_EQ(d.header_extensions[1].id, 4351);
  EXPECT_EQ(d.header_extensions[1].senders, ExtensionSenders::Initiator);
  ASSERT_EQ(d.header_extensions[1].parameters.size(), 1u);
  EXPECT_EQ(d.header_extensions[1].parameters[0], (RtpParameter{"p", ""}));
  EXPECT_TRUE(d.extmap_allow_mixed);
  ASSERT_EQ(d.sources.size(), 2u);
  EXPECT_EQ(d.sources[0].ssrc, 1u);
  EXPECT_EQ(d.sources[0].parameter("cname"), "c");
  EXPECT_EQ(d.sources[0].parameter("msid"), "s t");
  EXPECT_TRUE(d.sources[1].parameters.empty());
  ASSERT_EQ(d.ssrc_groups.size(), 1u);
  EXPECT_EQ(d.ssrc_groups[0].semantics, "FID");
  EXPECT_EQ(d.ssrc_groups[0].ssrcs, (std::vector<std::uint32_t>{1, 2}));
  EXPECT_TRUE(d.rtcp_mux);
  EXPECT_TRUE(d.rtcp_reduced_size);
  ASSERT_TRUE(d.bandwidth.has_value());
  EXPECT_EQ(d.bandwidth->type, "AS");
  EXPECT_EQ(d.bandwidth->value, 512u);
  ASSERT_TRUE(d.stream.has_value());
  EXPECT_EQ(d.stream->id, "s");
  EXPECT_EQ(d.stream->track, "t");
  EXPECT_TRUE(d.sdes_offered);
  EXPECT_TRUE(d.encryption_required);
  EXPECT_EQ(d.findPayloadType(111), &d.payload_types[2]);
  EXPECT_EQ(d.findPayloadType(96), nullptr);
  EXPECT_EQ(d.findSource(2), &d.sources[1]);
}

TEST(RtpDescription, RoundTripKeepsEverythingButSdes) {
  RtpDescription d = parseText(kFull);
  std::string xml;
  const RtpDescription back = roundTrip(d, &xml);
  EXPECT_EQ(xml.find("encryption"), std::string::npos) << xml;  // never sent
  EXPECT_EQ(xml.find("crypto"), std::string::npos) << xml;
  EXPECT_EQ(xml.find("unknown"), std::string::npos) << xml;
  EXPECT_FALSE(back.sdes_offered);
  d.sdes_offered = false;
  d.encryption_required = false;
  EXPECT_EQ(back, d);
  EXPECT_EQ(xmlAndDelete(serializeRtpDescription(back)), xml);  // fixed point
}

TEST(RtpDescription, SerializesStrictly) {
  RtpDescription d;
  d.media = "audio";
  d.ssrc = 7;
  PayloadType pt;
  pt.id = 111;
  pt.name = "opus";
  pt.clockrate = 48000;
  pt.channels = 2;
  pt.parameters = {{"useinbandfec", "1"}};
  pt.rtcp_fb = {{"transport-cc", "", {}}};
  d.payload_types.push_back(pt);
  d.header_extensions.push_back({3, kTransportWideCcUri, ExtensionSenders::Both, {}});
  d.sources.push_back({7, {{"cname", "me"}}});
  d.ssrc_groups.push_back({"FID", {7, 8}});
  d.rtcp_mux = true;
  d.bandwidth = Bandwidth{"TIAS", 64000};
  EXPECT_EQ(
      xmlAndDelete(serializeRtpDescription(d)),
      "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio' ssrc='7'>"
      "<payload-type id='111' name='opus' clockrate='48000' channels='2'>"
      "<parameter name='useinbandfec' value='1'/>"
      "<rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='transport-cc'/></payload-type>"
      "<rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' id='3' "
      "uri='http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01' "
      "senders='both'/>"
      "<source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc='7'><parameter name='cname' "
      "value='me'/></source>"
      "<ssrc-group xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' semantics='FID'><source ssrc='7'/>"
      "<source ssrc='8'/></ssrc-group>"
      "<rtcp-mux/><bandwidth type='TIAS'>64000</bandwidth></description>");
  EXPECT_EQ(roundTrip(d), d);
}

TEST(RtpDescription, LiberalInput) {
  // No clockrate/channels/name, payload numbers outside the dynamic range, rtcp-fb and source that
  // inherited the RTP namespace, and unknown attributes.
  const RtpDescription d = parseText(
      "<description xmlns='urn:xmpp:jingle:apps:rtp:1' foo='bar'>"
      "<payload-type id='18'/><payload-type id='127' name='x' clockrate='1'>"
      "<rtcp-fb type='nack'/><parameter value='nameless'/></payload-type>"
      "<source ssrc='5'/><rtp-hdrext id='2' uri='u' senders='sideways'/></description>");
  EXPECT_EQ(d.media, "");
  ASSERT_EQ(d.payload_types.size(), 2u);
  EXPECT_EQ(d.payload_types[0].id, 18);
  EXPECT_FALSE(d.payload_types[0].clockrate.has_value());
  EXPECT_EQ(d.payload_types[0].channels, 1);
  ASSERT_EQ(d.payload_types[1].rtcp_fb.size(), 1u);
  EXPECT_TRUE(d.payload_types[1].parameters.empty());
  ASSERT_EQ(d.sources.size(), 1u);
  ASSERT_EQ(d.header_extensions.size(), 1u);
  EXPECT_FALSE(d.header_extensions[0].senders.has_value());
}

TEST(RtpDescription, UnusableEntriesAreSkipped) {
  const RtpDescription d = parseText(
      "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio' ssrc='4294967296'>"
      "<payload-type name='noid'/>"
      "<payload-type id='128' name='toobig'/>"
      "<payload-type id='-1' name='negative'/>"
      "<payload-type id='99999999999999999999999' name='overflow'/>"
      "<payload-type id='96' name='zero-rate' clockrate='0'/>"
      "<payload-type id='97' name='zero-channels' channels='0'/>"
      "<payload-type id='98' name='huge-channels' channels='256'/>"
      "<payload-type id='99' name='bad-ptime' ptime='x'/>"
      "<payload-type id='100' name='ok' channels='255'/>"
      "<rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' id='0' uri='u'/>"
      "<rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' id='257' uri='u'/>"
      "<rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' id='4352' uri='u'/>"
      "<rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' id='5'/>"
      "<source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc='4294967296'/>"
      "<source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0'/>"
      "<ssrc-group xmlns='urn:xmpp:jingle:apps:rtp:ssma:0'><source ssrc='1'/></ssrc-group>"
      "<rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' subtype='pli'/>"
      "<rtcp-fb-trr-int xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' value='x'/>"
      "<bandwidth type='AS'>lots</bandwidth>"
      "</description>");
  EXPECT_FALSE(d.ssrc.has_value());
  ASSERT_EQ(d.payload_types.size(), 1u);
  EXPECT_EQ(d.payload_types[0].name, "ok");
  EXPECT_EQ(d.payload_types[0].channels, 255);
  EXPECT_TRUE(d.header_extensions.empty());
  EXPECT_TRUE(d.sources.empty());
  EXPECT_TRUE(d.ssrc_groups.empty());
  EXPECT_TRUE(d.rtcp_fb.empty());
  EXPECT_FALSE(d.rtcp_fb_trr_int.has_value());
  EXPECT_FALSE(d.bandwidth.has_value());
}

std::string repeated(const std::string& element, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += element;
  return out;
}

TEST(RtpDescription, HugeCountsAreRejected) {
  const std::string open = "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>";
  const std::string close = "</description>";
  EXPECT_TRUE(
      parseRtpDescription(
          *parseXml(open + repeated("<payload-type id='1'/>", limits::kMaxPayloadTypes) + close))
          .ok());
  for (const std::string& body :
       {repeated("<payload-type id='1'/>", limits::kMaxPayloadTypes + 1),
        repeated("<payload-type id='200'/>",
                 limits::kMaxPayloadTypes + 1),  // skipped ones count too
        "<payload-type id='1'>" +
            repeated("<parameter name='a' value='b'/>", limits::kMaxRtpParameters + 1) +
            "</payload-type>",
        "<payload-type id='1'>" +
            repeated("<rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='nack'/>",
                     limits::kMaxRtcpFeedback + 1) +
            "</payload-type>",
        repeated("<rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='nack'/>",
                 limits::kMaxRtcpFeedback + 1),
        repeated("<rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' id='1' uri='u'/>",
                 limits::kMaxHeaderExtensions + 1),
        repeated("<source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc='1'/>",
                 limits::kMaxSources + 1),
        repeated("<ssrc-group xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' semantics='FID'/>",
                 limits::kMaxSsrcGroups + 1),
        "<ssrc-group xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' semantics='SIM'>" +
            repeated("<source ssrc='1'/>", limits::kMaxSsrcGroupSources + 1) + "</ssrc-group>",
        "<source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc='1'>" +
            repeated("<parameter name='a'/>", limits::kMaxRtpParameters + 1) + "</source>"}) {
    const Error e = parseError(open + body + close);
    EXPECT_EQ(e.condition, StanzaCondition::BadRequest);
    EXPECT_NE(e.text.find("too many"), std::string::npos) << e.text;
  }
}

TEST(RtpDescription, HostileShapes) {
  // Not an RTP description.
  EXPECT_FALSE(
      parseRtpDescription(*parseXml("<description xmlns='urn:xmpp:jingle:apps:file-transfer:5'/>"))
          .ok());
  EXPECT_FALSE(
      parseRtpDescription(*parseXml("<payload-type xmlns='urn:xmpp:jingle:apps:rtp:1' id='1'/>"))
          .ok());
  // An oversized attribute anywhere we look is a bad-request.
  const std::string big(5000, 'a');
  EXPECT_FALSE(parseRtpDescription(
                   *parseXml("<description xmlns='urn:xmpp:jingle:apps:rtp:1'><payload-type id='1' "
                             "name='" +
                             big + "'/></description>"))
                   .ok());
  EXPECT_FALSE(parseRtpDescription(
                   *parseXml("<description xmlns='urn:xmpp:jingle:apps:rtp:1'><payload-type id='1'>"
                             "<parameter name='a' value='" +
                             big + "'/></payload-type></description>"))
                   .ok());
  // Deeply nested junk under an unknown child and under a payload-type is never descended into.
  std::string deep =
      "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='1'>";
  for (int i = 0; i < 2000; ++i) deep += "<x>";
  for (int i = 0; i < 2000; ++i) deep += "</x>";
  deep += "</payload-type></description>";
  auto tag = parseXml(deep);
  ASSERT_NE(tag, nullptr);
  auto d = parseRtpDescription(*tag);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->payload_types.size(), 1u);
}

// ---- offers
// ------------------------------------------------------------------------------------------

TEST(RtpOffer, Opus) {
  const RtpDescription d =
      makeOpusOffer(0x01020304, "cname-1", RtpOfferOptions{"stream track", false, false});
  EXPECT_EQ(d.media, "audio");
  EXPECT_EQ(d.ssrc, 0x01020304u);
  ASSERT_EQ(d.payload_types.size(), 1u);
  const PayloadType& pt = d.payload_types[0];
  EXPECT_EQ(pt.id, 111);
  EXPECT_EQ(pt.name, "opus");
  EXPECT_EQ(pt.clockrate, 48000u);
  EXPECT_EQ(pt.channels, 2);
  EXPECT_EQ(pt.parameters, (std::vector<RtpParameter>{{"minptime", "10"}, {"useinbandfec", "1"}}));
  EXPECT_TRUE(pt.rtcp_fb.empty());
  EXPECT_TRUE(d.header_extensions.empty());
  EXPECT_TRUE(d.rtcp_mux);
  ASSERT_EQ(d.sources.size(), 1u);
  EXPECT_EQ(d.sources[0].ssrc, 0x01020304u);
  EXPECT_EQ(d.sources[0].parameter("cname"), "cname-1");
  EXPECT_EQ(d.sources[0].parameter("msid"), "stream track");
  EXPECT_EQ(roundTrip(d), d);

  RtpOfferOptions cc;
  cc.transport_cc = true;
  const RtpDescription with_cc = makeOpusOffer(1, "c", cc);
  ASSERT_EQ(with_cc.payload_types[0].rtcp_fb.size(), 1u);
  EXPECT_EQ(with_cc.payload_types[0].rtcp_fb[0].type, "transport-cc");
  ASSERT_EQ(with_cc.header_extensions.size(), 1u);
  EXPECT_EQ(with_cc.header_extensions[0].uri, kTransportWideCcUri);
  EXPECT_FALSE(with_cc.sources[0].parameter("msid").has_value());
}

TEST(RtpOffer, Vp8) {
  RtpOfferOptions o;
  o.goog_remb = true;
  const RtpDescription d = makeVp8Offer(42, "c", o);
  EXPECT_EQ(d.media, "video");
  ASSERT_EQ(d.payload_types.size(), 1u);
  const PayloadType& pt = d.payload_types[0];
  EXPECT_EQ(pt.id, 96);
  EXPECT_EQ(pt.name, "VP8");
  EXPECT_EQ(pt.clockrate, 90000u);
  EXPECT_EQ(pt.channels, 1);
  ASSERT_EQ(pt.rtcp_fb.size(), 4u);
  EXPECT_EQ(pt.rtcp_fb[0], (RtcpFeedback{"nack", "", {}}));
  EXPECT_EQ(pt.rtcp_fb[1], (RtcpFeedback{"nack", "pli", {}}));
  EXPECT_EQ(pt.rtcp_fb[2], (RtcpFeedback{"ccm", "fir", {}}));
  EXPECT_EQ(pt.rtcp_fb[3], (RtcpFeedback{"goog-remb", "", {}}));
  EXPECT_TRUE(d.rtcp_mux);
  EXPECT_EQ(d.sources.at(0).ssrc, 42u);
  EXPECT_EQ(roundTrip(d), d);
  EXPECT_EQ(makeVp8Offer(1, "c").payload_types[0].rtcp_fb.size(), 3u);
}

// ---- negotiation
// ---------------------------------------------------------------------------------------

TEST(RtpNegotiation, OfferAgainstOurOwnOffer) {
  RtpOfferOptions o;
  o.transport_cc = true;
  const RtpDescription offer = makeOpusOffer(1111, "them", o);
  auto n = negotiate(offer, opusPreferences(2222, "us", o));
  ASSERT_TRUE(n.ok()) << n.error().text;
  EXPECT_EQ(n->codec.id, 111);
  EXPECT_EQ(n->codec.name, "opus");
  EXPECT_TRUE(n->rtcp_mux);
  ASSERT_EQ(n->rtcp_fb.size(), 1u);
  EXPECT_EQ(n->rtcp_fb[0].type, "transport-cc");
  ASSERT_EQ(n->header_extensions.size(), 1u);
  EXPECT_EQ(n->remote_ssrcs, (std::vector<std::uint32_t>{1111}));
  const RtpDescription& a = n->answer;
  EXPECT_EQ(a.media, "audio");
  EXPECT_EQ(a.ssrc, 2222u);
  ASSERT_EQ(a.payload_types.size(), 1u);
  EXPECT_EQ(a.payload_types[0].parameter("useinbandfec"), "1");
  EXPECT_EQ(a.sources.at(0).parameter("cname"), "us");
  EXPECT_TRUE(a.rtcp_mux);
}

TEST(RtpNegotiation, KeepsThePeersPayloadNumberAndOnlyOfferedFeedback) {
  // Dino-like VP8 as 98 with goog-remb, which we do not implement unless asked; no rtcp-mux.
  const RtpDescription remote = parseText(
      "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'>"
      "<payload-type id='100' name='H264' clockrate='90000'/>"
      "<payload-type id='98' name='vp8' clockrate='90000'>"
      "<rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='goog-remb'/>"
      "<rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='NACK'/></payload-type>"
      "<rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='ccm' subtype='fir'/>"
      "<rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' id='1' "
      "uri='urn:3gpp:video-orientation'/>"
      "</description>");
  auto n = negotiate(remote, vp8Preferences(5, "c"));
  ASSERT_TRUE(n.ok()) << n.error().text;
  EXPECT_EQ(n->codec.id, 98);
  EXPECT_EQ(n->answer.payload_types.at(0).id, 98);
  EXPECT_EQ(n->answer.payload_types.at(0).name, "vp8");  // the peer's spelling
  EXPECT_EQ(n->answer.payload_types.at(0).clockrate, 90000u);
  // nack accepted as-is (case kept), goog-remb dropped, ccm fir stays at description level.
  ASSERT_EQ(n->answer.payload_types[0].rtcp_fb.size(), 1u);
  EXPECT_EQ(n->answer.payload_types[0].rtcp_fb[0].type, "NACK");
  ASSERT_EQ(n->answer.rtcp_fb.size(), 1u);
  EXPECT_EQ(n->answer.rtcp_fb[0], (RtcpFeedback{"ccm", "fir", {}}));
  EXPECT_EQ(n->rtcp_fb.size(), 2u);
  EXPECT_FALSE(n->rtcp_mux);
  EXPECT_FALSE(n->answer.rtcp_mux);
  EXPECT_TRUE(n->header_extensions.empty());  // not one we implement: never added
  EXPECT_TRUE(n->answer.header_extensions.empty());
  EXPECT_TRUE(n->remote_ssrcs.empty());
}

TEST(RtpNegotiation, MatchingRules) {
  auto offerWith = [](const std::string& pt) {
    return parseText("<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>" + pt +
                     "</description>");
  };
  const CodecPreferences opus = opusPreferences(1, "c");
  // Opus with channels omitted (default 1) still matches (RFC 7587: always 2); the answer says 2.
  auto n = negotiate(offerWith("<payload-type id='101' name='OPUS' clockrate='48000'/>"), opus);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->codec.id, 101);
  EXPECT_EQ(n->answer.payload_types[0].channels, 2);
  // No clockrate: matches by name.
  EXPECT_TRUE(negotiate(offerWith("<payload-type id='101' name='opus'/>"), opus).ok());
  // Wrong clockrate: no match.
  EXPECT_FALSE(
      negotiate(offerWith("<payload-type id='101' name='opus' clockrate='16000'/>"), opus).ok());
  // Channels matter for other codecs.
  CodecPreferences pcmu;
  pcmu.media = "audio";
  pcmu.codecs.push_back({"PCMU", 8000, 1, 0, {}});
  EXPECT_TRUE(
      negotiate(offerWith("<payload-type id='0' name='PCMU' clockrate='8000'/>"), pcmu).ok());
  EXPECT_FALSE(
      negotiate(offerWith("<payload-type id='0' name='PCMU' clockrate='8000' channels='2'/>"), pcmu)
          .ok());
  // The first of our preferences the peer has wins, whatever the peer's order.
  CodecPreferences both = opus;
  both.codecs.push_back({"PCMU", 8000, 1, 0, {}});
  n = negotiate(offerWith("<payload-type id='0' name='PCMU' clockrate='8000'/>"
                          "<payload-type id='111' name='opus' clockrate='48000' channels='2'/>"),
                both);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->codec.name, "opus");
}

TEST(RtpNegotiation, Failures) {
  const RtpDescription speex = parseText(
      "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>"
      "<payload-type id='112' name='speex' clockrate='32000'/><payload-type id='0' "
      "name='PCMU'/></description>");
  auto n = negotiate(speex, opusPreferences(1, "c"));
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().condition, StanzaCondition::NotAcceptable);
  EXPECT_EQ(n.error().type, StanzaErrorType::Cancel);
  EXPECT_NE(n.error().text.find("no common audio codec"), std::string::npos);
  // Media mismatch: an Opus offer is not a video description.
  auto m = negotiate(makeOpusOffer(1, "c"), vp8Preferences(1, "c"));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().text.find("media"), std::string::npos);
  // Nothing at all.
  RtpDescription empty;
  empty.media = "audio";
  EXPECT_FALSE(negotiate(empty, opusPreferences(1, "c")).ok());
}

// ---- Jingle integration
// --------------------------------------------------------------------------------

TEST(RtpInJingle, SessionInitiateFromTheModelWithBundle) {
  Jingle j;
  j.action = Action::SessionInitiate;
  j.sid = "call-1";
  j.initiator = "alice@example.org/tern";
  for (const auto& [name, description] :
       {std::pair<std::string, RtpDescription>{"0", makeOpusOffer(1, "c")},
        {"1", makeVp8Offer(2, "c")}}) {
    Content c;
    c.name = name;
    c.description = Description::rtpDescription(description);
    IceUdpTransport ice;
    ice.ufrag = "uf";
    ice.pwd = "pwpwpwpwpwpwpwpwpwpwpwpw";
    ice.fingerprints.push_back({"sha-256", DtlsSetup::ActPass, "AB:CD"});
    c.transport = Transport::iceUdp(ice);
    j.contents.push_back(std::move(c));
  }
  j.groups.push_back(Group{"BUNDLE", {"0", "1"}, false});
  const std::string xml = xmlAndDelete(serializeJingle(j));
  EXPECT_NE(
      xml.find(
          "<group xmlns='urn:xmpp:jingle:apps:grouping:0' semantics='BUNDLE'><content name='0'/>"
          "<content name='1'/></group>"),
      std::string::npos)
      << xml;
  auto tag = parseXml(xml);
  ASSERT_NE(tag, nullptr);
  auto back = parseJingle(*tag);
  ASSERT_TRUE(back.ok()) << back.error().text;
  ASSERT_TRUE(validateIncoming(back.value()).ok());
  ASSERT_EQ(back->contents.size(), 2u);
  EXPECT_EQ(back->contents[0].description->kind, ApplicationKind::Rtp);
  EXPECT_EQ(back->contents[0].description->media, "audio");
  EXPECT_EQ(back->contents[0].description->rtp, makeOpusOffer(1, "c"));
  EXPECT_EQ(back->contents[1].description->rtp, makeVp8Offer(2, "c"));
  ASSERT_EQ(back->groups.size(), 1u);
  EXPECT_EQ(back->groups[0].semantics, "BUNDLE");
  EXPECT_EQ(back->groups[0].contents, (std::vector<std::string>{"0", "1"}));
  EXPECT_FALSE(back->groups[0].legacy_namespace);
}

TEST(RtpInJingle, LegacyBundleNamespaceIsAnsweredInKind) {
  auto tag = parseXml(
      "<jingle xmlns='urn:xmpp:jingle:1' action='session-accept' sid='s'><content "
      "creator='initiator' name='a'>"
      "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></content>"
      "<group xmlns='urn:ietf:rfc:5888' type='BUNDLE'><content name='a'/></group></jingle>");
  ASSERT_NE(tag, nullptr);
  auto j = parseJingle(*tag);
  ASSERT_TRUE(j.ok());
  ASSERT_EQ(j->groups.size(), 1u);
  EXPECT_TRUE(j->groups[0].legacy_namespace);
  EXPECT_EQ(j->groups[0].semantics, "BUNDLE");
  EXPECT_NE(xmlAndDelete(serializeJingle(j.value()))
                .find("<group xmlns='urn:ietf:rfc:5888' semantics='BUNDLE'>"),
            std::string::npos);
}

TEST(RtpInJingle, LimitsInsideJingleAreBadRequest) {
  std::string xml =
      "<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s'><content "
      "creator='initiator' name='a'>"
      "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>" +
      repeated("<payload-type id='1'/>", limits::kMaxPayloadTypes + 1) +
      "</description><transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'/></content></jingle>";
  auto tag = parseXml(xml);
  ASSERT_NE(tag, nullptr);
  auto j = parseJingle(*tag);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.error().condition, StanzaCondition::BadRequest);
}

// XEP-0167 section 7: every informational message parses and serializes.
TEST(RtpInJingle, SessionInfoMessages) {
  struct Case {
    SessionInfoPayload::Kind kind;
    const char* name;
    bool named;
  };
  for (const Case& c : {Case{SessionInfoPayload::Kind::Active, "active", false},
                        Case{SessionInfoPayload::Kind::Hold, "hold", false},
                        Case{SessionInfoPayload::Kind::Unhold, "unhold", false},
                        Case{SessionInfoPayload::Kind::Mute, "mute", true},
                        Case{SessionInfoPayload::Kind::Unmute, "unmute", true},
                        Case{SessionInfoPayload::Kind::Ringing, "ringing", false}}) {
    const std::string element = std::string("<") + c.name +
                                " xmlns='urn:xmpp:jingle:apps:rtp:info:1'" +
                                (c.named ? " creator='responder' name='voice'" : "") + "/>";
    auto tag = parseXml("<jingle xmlns='urn:xmpp:jingle:1' action='session-info' sid='s'>" +
                        element + "</jingle>");
    ASSERT_NE(tag, nullptr);
    auto j = parseJingle(*tag);
    ASSERT_TRUE(j.ok()) << c.name;
    ASSERT_EQ(j->session_info.size(), 1u);
    const SessionInfoPayload& p = j->session_info[0];
    EXPECT_EQ(p.kind, c.kind) << c.name;
    EXPECT_EQ(p.xmlns, ns::kRtpInfo);
    if (c.named) {
      EXPECT_EQ(p.creator, "responder");
      EXPECT_EQ(p.content_name, "voice");
    } else {
      EXPECT_FALSE(p.content_name.has_value());
    }
    // Built from scratch, as the engine does.
    SessionInfoPayload out;
    out.kind = c.kind;
    if (c.named) {
      out.creator = "responder";
      out.content_name = "voice";
    }
    const std::string xml = xmlAndDelete(serializeJingle(makeSessionInfo("s", out)));
    const std::string expected_child = std::string("<") + c.name +
                                       " xmlns='urn:xmpp:jingle:apps:rtp:info:1'" +
                                       (c.named ? " creator='responder' name='voice'" : "") + "/>";
    EXPECT_EQ(xml, "<jingle xmlns='urn:xmpp:jingle:1' action='session-info' sid='s'>" +
                       expected_child + "</jingle>");
    EXPECT_EQ(xmlAndDelete(serializeJingle(j.value())), xml);
  }
}

}  // namespace
}  // namespace tern::signaling
