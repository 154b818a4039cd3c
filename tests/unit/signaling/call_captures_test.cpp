// Real call stanzas from StanzaJS and Dino (tests/data/interop-captures): the RTP descriptions
// parse with the values the clients sent, survive our serializer, and negotiate with our offers.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tern/signaling/jingle.hpp"
#include "tern/signaling/namespaces.hpp"
#include "tern/signaling/rtp.hpp"
#include "xml_test_util.hpp"

namespace tern::signaling {
namespace {

using test::jingleOf;
using test::loadCapture;

std::vector<Jingle> parseAll(const std::string& folder, const std::string& file) {
  std::vector<Jingle> out;
  for (const auto& iq : loadCapture(folder, file)) {
    const gloox::Tag* j = jingleOf(*iq);
    EXPECT_NE(j, nullptr);
    if (j == nullptr) continue;
    auto parsed = parseJingle(*j);
    EXPECT_TRUE(parsed.ok()) << folder << "/" << file << ": "
                             << (parsed.ok() ? "" : parsed.error().text);
    if (parsed.ok()) out.push_back(std::move(parsed.value()));
  }
  return out;
}

Jingle parseOne(const std::string& folder, const std::string& file) {
  auto all = parseAll(folder, file);
  EXPECT_EQ(all.size(), 1u);
  return all.empty() ? Jingle{} : all.front();
}

const RtpDescription& rtpOf(const Jingle& j, std::size_t content) {
  static const RtpDescription kEmpty;
  EXPECT_LT(content, j.contents.size());
  if (content >= j.contents.size()) return kEmpty;
  const Content& c = j.contents[content];
  EXPECT_TRUE(c.description.has_value());
  EXPECT_TRUE(c.description && c.description->rtp.has_value());
  if (!c.description || !c.description->rtp) return kEmpty;
  return *c.description->rtp;
}

std::vector<std::string> names(const std::vector<PayloadType>& pts) {
  std::vector<std::string> out;
  for (const PayloadType& pt : pts) out.push_back(std::to_string(pt.id) + ":" + pt.name);
  return out;
}

void expectWebRtcAudio(const RtpDescription& d, std::uint32_t ssrc, const std::string& cname) {
  EXPECT_EQ(d.media, "audio");
  EXPECT_EQ(d.ssrc, ssrc);
  EXPECT_TRUE(d.rtcp_mux);
  EXPECT_TRUE(d.rtcp_reduced_size);
  EXPECT_FALSE(d.sdes_offered);
  EXPECT_EQ(names(d.payload_types),
            (std::vector<std::string>{"111:opus", "63:red", "9:G722", "0:PCMU", "8:PCMA", "13:CN",
                                      "110:telephone-event", "126:telephone-event"}));
  const PayloadType& opus = d.payload_types[0];
  EXPECT_EQ(opus.clockrate, 48000u);
  EXPECT_EQ(opus.channels, 2);
  EXPECT_EQ(opus.parameters,
            (std::vector<RtpParameter>{{"minptime", "10"}, {"useinbandfec", "1"}}));
  ASSERT_EQ(opus.rtcp_fb.size(), 1u);
  EXPECT_EQ(opus.rtcp_fb[0], (RtcpFeedback{"transport-cc", "", {}}));
  EXPECT_EQ(d.payload_types[1].parameters,
            (std::vector<RtpParameter>{{"111/111", ""}}));  // RED, name only
  EXPECT_EQ(d.payload_types[2].clockrate, 8000u);
  EXPECT_EQ(d.payload_types[2].channels, 1);
  EXPECT_EQ(d.payload_types[6].clockrate, 48000u);
  ASSERT_EQ(d.header_extensions.size(), 4u);
  EXPECT_EQ(d.header_extensions[0].id, 1);
  EXPECT_EQ(d.header_extensions[0].uri, "urn:ietf:params:rtp-hdrext:ssrc-audio-level");
  EXPECT_EQ(d.header_extensions[2].id, 3);
  EXPECT_EQ(d.header_extensions[2].uri, kTransportWideCcUri);
  EXPECT_EQ(d.header_extensions[3].uri, "urn:ietf:params:rtp-hdrext:sdes:mid");
  ASSERT_EQ(d.sources.size(), 1u);
  EXPECT_EQ(d.sources[0].ssrc, ssrc);
  EXPECT_EQ(d.sources[0].parameter("cname"), cname);
  EXPECT_TRUE(d.ssrc_groups.empty());
  EXPECT_TRUE(d.stream.has_value());
}

TEST(CallCaptures, StanzaJsAudio) {
  const Jingle offer = parseOne("stanzajs-A-audio", "alice.session-initiate.xml");
  expectWebRtcAudio(rtpOf(offer, 0), 3815988996u, "x46LHN2NE/xrYVB1");
  EXPECT_EQ(rtpOf(offer, 0).sources[0].parameter("msid"),
            "8de20b94-e727-4f8e-8da9-12d5edc86a38 1be1ad03-c2fb-47cb-a26d-27572cbf850c");
  EXPECT_EQ(rtpOf(offer, 0).stream->id, "8de20b94-e727-4f8e-8da9-12d5edc86a38");
  EXPECT_EQ(rtpOf(offer, 0).stream->track, "1be1ad03-c2fb-47cb-a26d-27572cbf850c");
  ASSERT_EQ(offer.groups.size(), 1u);
  EXPECT_EQ(offer.groups[0].semantics, "BUNDLE");
  EXPECT_EQ(offer.groups[0].contents, (std::vector<std::string>{"0"}));
  EXPECT_EQ(offer.contents[0].transport->ice.fingerprints.at(0).setup, DtlsSetup::ActPass);

  const Jingle answer = parseOne("stanzajs-A-audio", "bob.session-accept.xml");
  expectWebRtcAudio(rtpOf(answer, 0), 410794406u, "gy9ZIe/bvQ6huXU0");
  EXPECT_FALSE(rtpOf(answer, 0).sources[0].parameter("msid").has_value());
  EXPECT_EQ(answer.contents[0].transport->ice.fingerprints.at(0).setup, DtlsSetup::Active);

  // Trickle: one candidate per transport-info, then gathering-complete.
  const auto alice = parseAll("stanzajs-A-audio", "alice.transport-info.xml");
  ASSERT_EQ(alice.size(), 5u);
  std::size_t candidates = 0;
  for (const Jingle& t : alice) candidates += t.contents.at(0).transport->ice.candidates.size();
  EXPECT_EQ(candidates, 4u);
  EXPECT_TRUE(alice.back().contents.at(0).transport->ice.gathering_complete);
  const auto bob = parseAll("stanzajs-A-audio", "bob.transport-info.xml");
  ASSERT_EQ(bob.size(), 2u);
  EXPECT_EQ(bob[0].contents.at(0).transport->ice.candidates.size(), 1u);

  const Jingle end = parseOne("stanzajs-A-audio", "alice.session-terminate.xml");
  EXPECT_EQ(end.reason->condition, ReasonCondition::Success);
}

TEST(CallCaptures, StanzaJsAudioRelay) {
  const Jingle offer = parseOne("stanzajs-B-audio-relay", "alice.session-initiate.xml");
  expectWebRtcAudio(rtpOf(offer, 0), 2096721615u, "xFSlxpTygbDKf1s5");
  const Jingle answer = parseOne("stanzajs-B-audio-relay", "bob.session-accept.xml");
  expectWebRtcAudio(rtpOf(answer, 0), 323403283u, "qNRo8sAqFK+s0KpE");
  std::size_t relay = 0;
  for (const char* file : {"alice.transport-info.xml", "bob.transport-info.xml"}) {
    for (const Jingle& t : parseAll("stanzajs-B-audio-relay", file)) {
      for (const IceCandidate& c : t.contents.at(0).transport->ice.candidates) {
        EXPECT_EQ(c.type, CandidateType::Relay);
        ++relay;
      }
    }
  }
  EXPECT_EQ(relay, 4u);
}

TEST(CallCaptures, StanzaJsVideo) {
  const Jingle offer = parseOne("stanzajs-C-video-vp8", "alice.session-initiate.xml");
  ASSERT_EQ(offer.contents.size(), 2u);
  expectWebRtcAudio(rtpOf(offer, 0), 1713524266u, "3qnn3/meelisG+Gw");
  const RtpDescription& v = rtpOf(offer, 1);
  EXPECT_EQ(v.media, "video");
  EXPECT_EQ(v.ssrc, 1764742336u);
  ASSERT_EQ(v.payload_types.size(), 23u);
  const PayloadType& vp8 = v.payload_types[0];
  EXPECT_EQ(vp8.id, 96);
  EXPECT_EQ(vp8.name, "VP8");
  EXPECT_EQ(vp8.clockrate, 90000u);
  EXPECT_EQ(vp8.rtcp_fb, (std::vector<RtcpFeedback>{{"goog-remb", "", {}},
                                                    {"transport-cc", "", {}},
                                                    {"ccm", "fir", {}},
                                                    {"nack", "", {}},
                                                    {"nack", "pli", {}}}));
  EXPECT_EQ(v.payload_types[1].name, "rtx");
  EXPECT_EQ(v.payload_types[1].parameter("apt"), "96");
  EXPECT_EQ(v.findPayloadType(102)->parameter("profile-level-id"), "42001f");
  EXPECT_EQ(v.findPayloadType(45)->name, "AV1");
  EXPECT_EQ(v.payload_types.back().name, "ulpfec");
  ASSERT_EQ(v.header_extensions.size(), 11u);
  EXPECT_EQ(v.header_extensions[0].id, 14);
  EXPECT_EQ(v.header_extensions[0].uri, "urn:ietf:params:rtp-hdrext:toffset");
  ASSERT_EQ(v.sources.size(), 2u);
  EXPECT_EQ(v.sources[1].ssrc, 640306895u);
  ASSERT_EQ(v.ssrc_groups.size(), 1u);
  EXPECT_EQ(v.ssrc_groups[0].semantics, "FID");
  EXPECT_EQ(v.ssrc_groups[0].ssrcs, (std::vector<std::uint32_t>{1764742336u, 640306895u}));
  ASSERT_EQ(offer.groups.size(), 1u);
  EXPECT_EQ(offer.groups[0].contents, (std::vector<std::string>{"0", "1"}));

  const Jingle answer = parseOne("stanzajs-C-video-vp8", "bob.session-accept.xml");
  const RtpDescription& va = rtpOf(answer, 1);
  EXPECT_EQ(va.ssrc, 3340638157u);
  ASSERT_EQ(va.sources.size(), 1u);
  ASSERT_EQ(va.ssrc_groups.size(), 1u);
  EXPECT_EQ(va.ssrc_groups[0].ssrcs, (std::vector<std::uint32_t>{3340638157u, 691319423u}));

  std::size_t candidates = 0;
  for (const Jingle& t : parseAll("stanzajs-C-video-vp8", "alice.transport-info.xml")) {
    for (const Content& c : t.contents) candidates += c.transport->ice.candidates.size();
  }
  EXPECT_EQ(candidates, 8u);
}

TEST(CallCaptures, DinoAudio) {
  const Jingle offer = parseOne("dino-call-audio", "alice.session-initiate.xml");
  EXPECT_EQ(offer.sid, "70e4ea2a-05ea-44b5-9229-2638397deab9");  // = the JMI id
  EXPECT_TRUE(offer.groups.empty());
  const RtpDescription& d = rtpOf(offer, 0);
  EXPECT_EQ(d.media, "audio");
  EXPECT_FALSE(d.ssrc.has_value());
  EXPECT_EQ(names(d.payload_types), (std::vector<std::string>{"111:opus", "112:speex", "113:speex",
                                                              "114:speex", "0:PCMU", "8:PCMA"}));
  EXPECT_EQ(d.payload_types[0].channels, 2);
  EXPECT_EQ(d.payload_types[0].parameters, (std::vector<RtpParameter>{{"useinbandfec", "1"}}));
  EXPECT_TRUE(d.payload_types[0].rtcp_fb.empty());  // no rtcp-fb for audio
  EXPECT_EQ(d.payload_types[1].clockrate, 32000u);
  EXPECT_EQ(d.payload_types[1].channels, 1);  // omitted: default
  EXPECT_TRUE(d.header_extensions.empty());
  EXPECT_TRUE(d.sources.empty());
  EXPECT_TRUE(d.rtcp_mux);
  EXPECT_TRUE(d.sdes_offered);  // SDES keys offered next to the fingerprint
  EXPECT_FALSE(d.encryption_required);
  EXPECT_EQ(offer.contents[0].transport->ice.candidates.size(), 2u);

  const Jingle answer = parseOne("dino-call-audio", "bob.session-accept.xml");
  EXPECT_EQ(names(rtpOf(answer, 0).payload_types), (std::vector<std::string>{"111:opus"}));
  EXPECT_TRUE(rtpOf(answer, 0).sdes_offered);
  EXPECT_EQ(answer.contents[0].transport->ice.fingerprints.at(0).setup, DtlsSetup::Active);
  EXPECT_EQ(answer.contents[0].transport->ice.candidates.size(), 2u);

  const Jingle end = parseOne("dino-call-audio", "alice.session-terminate.xml");
  EXPECT_EQ(end.action, Action::SessionTerminate);
  EXPECT_EQ(end.sid, offer.sid);
  EXPECT_EQ(end.reason->condition, ReasonCondition::Success);
}

TEST(CallCaptures, DinoVideo) {
  const Jingle offer = parseOne("dino-call-video", "alice.session-initiate.xml");
  ASSERT_EQ(offer.contents.size(), 2u);
  EXPECT_EQ(offer.contents[1].name, "video");
  const RtpDescription& v = rtpOf(offer, 1);
  EXPECT_EQ(v.media, "video");
  ASSERT_EQ(v.payload_types.size(), 1u);
  EXPECT_EQ(v.payload_types[0].id, 98);
  EXPECT_EQ(v.payload_types[0].name, "VP8");
  EXPECT_EQ(v.payload_types[0].rtcp_fb,
            (std::vector<RtcpFeedback>{
                {"goog-remb", "", {}}, {"ccm", "fir", {}}, {"nack", "", {}}, {"nack", "pli", {}}}));
  ASSERT_EQ(v.header_extensions.size(), 1u);
  EXPECT_EQ(v.header_extensions[0].id, 1);
  EXPECT_EQ(v.header_extensions[0].uri, "urn:3gpp:video-orientation");
  EXPECT_TRUE(v.rtcp_mux);
  EXPECT_TRUE(v.sdes_offered);
  for (const Content& c : offer.contents) EXPECT_EQ(c.transport->ice.candidates.size(), 2u);
  const Jingle answer = parseOne("dino-call-video", "bob.session-accept.xml");
  EXPECT_EQ(rtpOf(answer, 1).payload_types.at(0).id, 98);
}

// parse -> serialize -> parse gives the same model (SDES is never re-sent).
class CallCaptureRoundTrip : public ::testing::TestWithParam<const char*> {};

TEST_P(CallCaptureRoundTrip, ModelSurvives) {
  const std::string path = GetParam();
  const auto slash = path.find('/');
  for (const Jingle& first : parseAll(path.substr(0, slash), path.substr(slash + 1))) {
    const std::string xml = test::xmlAndDelete(serializeJingle(first));
    EXPECT_EQ(xml.find("crypto"), std::string::npos);
    auto tag = test::parseXml(xml);
    ASSERT_NE(tag, nullptr) << xml;
    auto second = parseJingle(*tag);
    ASSERT_TRUE(second.ok()) << second.error().text;
    ASSERT_EQ(second->contents.size(), first.contents.size());
    for (std::size_t i = 0; i < first.contents.size(); ++i) {
      if (!first.contents[i].description) continue;
      RtpDescription expected = *first.contents[i].description->rtp;
      expected.sdes_offered = false;
      expected.encryption_required = false;
      ASSERT_TRUE(second->contents[i].description && second->contents[i].description->rtp);
      EXPECT_EQ(*second->contents[i].description->rtp, expected) << path << " content " << i;
      EXPECT_EQ(second->contents[i].description->media, first.contents[i].description->media);
    }
    EXPECT_EQ(second->groups.size(), first.groups.size());
  }
}

INSTANTIATE_TEST_SUITE_P(Captures, CallCaptureRoundTrip,
                         ::testing::Values("stanzajs-A-audio/alice.session-initiate.xml",
                                           "stanzajs-A-audio/bob.session-accept.xml",
                                           "stanzajs-B-audio-relay/alice.session-initiate.xml",
                                           "stanzajs-B-audio-relay/bob.session-accept.xml",
                                           "stanzajs-C-video-vp8/alice.session-initiate.xml",
                                           "stanzajs-C-video-vp8/bob.session-accept.xml",
                                           "dino-call-audio/alice.session-initiate.xml",
                                           "dino-call-audio/bob.session-accept.xml",
                                           "dino-call-video/alice.session-initiate.xml",
                                           "dino-call-video/bob.session-accept.xml"));

// ---- negotiation against what real clients send
// --------------------------------------------------------

TEST(CallCaptureNegotiation, AnswerStanzaJsOffers) {
  for (const char* folder :
       {"stanzajs-A-audio", "stanzajs-B-audio-relay", "stanzajs-C-video-vp8"}) {
    const Jingle offer = parseOne(folder, "alice.session-initiate.xml");
    RtpOfferOptions o;
    o.transport_cc = true;
    auto n = negotiate(rtpOf(offer, 0), opusPreferences(99, "tern", o));
    ASSERT_TRUE(n.ok()) << folder << ": " << n.error().text;
    EXPECT_EQ(n->codec.id, 111) << folder;  // StanzaJS's Opus number kept
    EXPECT_TRUE(n->rtcp_mux);
    EXPECT_EQ(n->rtcp_fb, (std::vector<RtcpFeedback>{{"transport-cc", "", {}}}));
    ASSERT_EQ(n->header_extensions.size(), 1u);
    EXPECT_EQ(n->header_extensions[0].id, 3);  // the peer's id for transport-wide-cc
    EXPECT_EQ(n->remote_ssrcs, (std::vector<std::uint32_t>{*rtpOf(offer, 0).ssrc}));
    EXPECT_EQ(n->answer.payload_types.size(), 1u);
  }
  const Jingle video = parseOne("stanzajs-C-video-vp8", "alice.session-initiate.xml");
  auto n = negotiate(rtpOf(video, 1), vp8Preferences(77, "tern"));
  ASSERT_TRUE(n.ok()) << n.error().text;
  EXPECT_EQ(n->codec.id, 96);
  EXPECT_EQ(n->rtcp_fb,
            (std::vector<RtcpFeedback>{{"ccm", "fir", {}}, {"nack", "", {}}, {"nack", "pli", {}}}));
  EXPECT_EQ(n->remote_ssrcs, (std::vector<std::uint32_t>{1764742336u, 640306895u}));
  EXPECT_TRUE(n->header_extensions.empty());
}

TEST(CallCaptureNegotiation, AnswerDinoOffersKeepingVp8As98) {
  const Jingle offer = parseOne("dino-call-video", "alice.session-initiate.xml");
  auto audio = negotiate(rtpOf(offer, 0), opusPreferences(1, "tern"));
  ASSERT_TRUE(audio.ok());
  EXPECT_EQ(audio->codec.id, 111);
  EXPECT_TRUE(audio->remote_ssrcs.empty());  // Dino signals no SSRC
  EXPECT_FALSE(audio->answer.sdes_offered);
  RtpOfferOptions remb;
  remb.goog_remb = true;
  auto video = negotiate(rtpOf(offer, 1), vp8Preferences(2, "tern", remb));
  ASSERT_TRUE(video.ok());
  EXPECT_EQ(video->codec.id, 98);
  EXPECT_EQ(video->answer.payload_types.at(0).id, 98);
  EXPECT_EQ(video->rtcp_fb.size(), 4u);
  EXPECT_TRUE(video->rtcp_mux);

  // The answer goes out in a session-accept that re-parses to the same description.
  Jingle accept;
  accept.action = Action::SessionAccept;
  accept.sid = offer.sid;
  Content c;
  c.name = "video";
  c.description = Description::rtpDescription(video->answer);
  accept.contents.push_back(c);
  const std::string xml = test::xmlAndDelete(serializeJingle(accept));
  EXPECT_NE(xml.find("<payload-type id='98' name='VP8' clockrate='90000'>"), std::string::npos)
      << xml;
  EXPECT_EQ(xml.find("encryption"), std::string::npos);
  auto back = parseJingle(*test::parseXml(xml));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back->contents[0].description->rtp, video->answer);
}

TEST(CallCaptureNegotiation, AcceptCapturedAnswersToOurOffers) {
  // Our offer went out; the peers' answers are what a responder sends back.
  for (const char* folder : {"stanzajs-A-audio", "dino-call-audio"}) {
    const Jingle answer = parseOne(folder, "bob.session-accept.xml");
    auto n = negotiate(rtpOf(answer, 0), opusPreferences(1, "tern"));
    ASSERT_TRUE(n.ok()) << folder;
    EXPECT_EQ(n->codec.id, 111);
    EXPECT_TRUE(n->rtcp_mux);
  }
  const Jingle video = parseOne("stanzajs-C-video-vp8", "bob.session-accept.xml");
  auto n = negotiate(rtpOf(video, 1), vp8Preferences(1, "tern"));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->remote_ssrcs, (std::vector<std::uint32_t>{3340638157u}));
}

TEST(CallCaptureNegotiation, NoCommonCodecWithDino) {
  const Jingle offer = parseOne("dino-call-audio", "alice.session-initiate.xml");
  CodecPreferences g722;
  g722.media = "audio";
  g722.codecs.push_back({"G722", 8000, 1, 9, {}});
  auto n = negotiate(rtpOf(offer, 0), g722);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().condition, StanzaCondition::NotAcceptable);
  // The engine ends the session with this reason.
  const Jingle terminate = makeSessionTerminate(
      offer.sid, Reason::of(ReasonCondition::FailedApplication, n.error().text));
  EXPECT_NE(test::xmlAndDelete(serializeJingle(terminate)).find("<failed-application/>"),
            std::string::npos);
}

}  // namespace
}  // namespace tern::signaling
