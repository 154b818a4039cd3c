// The shim's Jingle <-> SDP translation (jingle_sdp.hpp) on its own: an offer as aiortc 1.4 makes
// it becomes Jingle that Tern's parser accepts and can negotiate, Tern's offer becomes the SDP
// lines aiortc needs, and hostile SDP gives an error, never a crash.
#include "jingle_sdp.hpp"

#include "tern/signaling/jingle.hpp"
#include "tern/signaling/rtp.hpp"

#include <gloox/tag.h>
#include <gtest/gtest.h>

#include <memory>

namespace sig = tern::signaling;
using tern::interop::candidateFromSdp;
using tern::interop::candidateToSdp;
using tern::interop::jingleToSdp;
using tern::interop::SdpAuthor;
using tern::interop::sdpToJingle;
using tern::interop::SdpType;

namespace {

// What aiortc 1.4 offers for one audio and one video track (loopback host candidates), plus a
// candidate on another address and a TCP one, which the shim must drop.
const char* const kAiortcOffer =
    "v=0\r\n"
    "o=- 4004564981 4004564981 IN IP4 0.0.0.0\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0 1\r\n"
    "a=msid-semantic:WMS *\r\n"
    "m=audio 59814 UDP/TLS/RTP/SAVPF 96 0 8\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "a=sendrecv\r\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
    "a=extmap:2 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
    "a=mid:0\r\n"
    "a=msid:c675fbe8 886c9526\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=rtcp-mux\r\n"
    "a=ssrc:798235533 cname:53d2fdd3\r\n"
    "a=rtpmap:96 opus/48000/2\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=candidate:16572de6 1 udp 2130706431 127.0.0.1 59814 typ host\r\n"
    "a=candidate:26572de6 1 udp 2130706175 192.0.2.7 59815 typ host\r\n"
    "a=candidate:36572de6 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active\r\n"
    "a=end-of-candidates\r\n"
    "a=ice-ufrag:YOzd\r\n"
    "a=ice-pwd:3R2H3GjQ0y5D3qRYlou5LE\r\n"
    "a=fingerprint:sha-256 "
    "6F:78:4B:4B:31:DC:87:19:99:4B:EE:FD:5D:84:C5:99:F6:3A:64:41:88:97:06:E7:F9:9D:BA:D7:A5:A9:D2:"
    "BE\r\n"
    "a=setup:actpass\r\n"
    "m=video 33330 UDP/TLS/RTP/SAVPF 97 98\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "a=sendrecv\r\n"
    "a=mid:1\r\n"
    "a=rtcp-mux\r\n"
    "a=ssrc-group:FID 828147072 1103323431\r\n"
    "a=ssrc:828147072 cname:53d2fdd3\r\n"
    "a=ssrc:1103323431 cname:53d2fdd3\r\n"
    "a=rtpmap:97 VP8/90000\r\n"
    "a=rtcp-fb:97 nack\r\n"
    "a=rtcp-fb:97 nack pli\r\n"
    "a=rtcp-fb:97 goog-remb\r\n"
    "a=rtpmap:98 rtx/90000\r\n"
    "a=fmtp:98 apt=97\r\n"
    "a=candidate:16572de6 1 udp 2130706431 127.0.0.1 33330 typ host\r\n"
    "a=ice-ufrag:eeD7\r\n"
    "a=ice-pwd:2LoGHOYucDEdFTxypQviTW\r\n"
    "a=fingerprint:sha-256 "
    "6F:78:4B:4B:31:DC:87:19:99:4B:EE:FD:5D:84:C5:99:F6:3A:64:41:88:97:06:E7:F9:9D:BA:D7:A5:A9:D2:"
    "BE\r\n"
    "a=setup:actpass\r\n";

sig::Jingle parseOrFail(const std::string& sdp, SdpAuthor author) {
  auto parsed = sdpToJingle(sdp, author, sig::Creator::Initiator);
  if (auto* error = std::get_if<std::string>(&parsed)) {
    ADD_FAILURE() << *error;
    return {};
  }
  return std::get<sig::Jingle>(std::move(parsed));
}

}  // namespace

TEST(JingleSdp, AiortcOfferBecomesJingleThatTernParsesAndNegotiates) {
  sig::Jingle j = parseOrFail(kAiortcOffer, SdpAuthor::Initiator);
  j.action = sig::Action::SessionInitiate;
  j.sid = "s1";
  j.initiator = "aiortc@localhost/shim";
  // Through the wire format and Tern's own parser, as Tern will see it.
  std::unique_ptr<gloox::Tag> xml(sig::serializeJingle(j));
  auto back = sig::parseJingle(*xml);
  ASSERT_TRUE(back) << back.error().text;
  ASSERT_TRUE(sig::validateIncoming(back.value())) << xml->xml();
  const sig::Jingle& in = back.value();
  ASSERT_EQ(in.contents.size(), 2u);
  ASSERT_EQ(in.groups.size(), 1u);
  EXPECT_EQ(in.groups[0].contents, (std::vector<std::string>{"0", "1"}));

  const sig::Content& audio = in.contents[0];
  EXPECT_EQ(audio.name, "0");
  EXPECT_FALSE(audio.senders.has_value());  // sendrecv: the default, not written
  ASSERT_TRUE(audio.description && audio.description->rtp);
  const auto& rtp = *audio.description->rtp;
  EXPECT_EQ(rtp.media, "audio");
  EXPECT_TRUE(rtp.rtcp_mux);
  ASSERT_EQ(rtp.payload_types.size(), 3u);
  EXPECT_EQ(rtp.header_extensions.size(), 2u);
  ASSERT_EQ(rtp.sources.size(), 1u);
  EXPECT_EQ(rtp.sources[0].ssrc, 798235533u);
  EXPECT_EQ(rtp.sources[0].parameter("cname"), "53d2fdd3");
  EXPECT_EQ(rtp.sources[0].parameter("msid"), "c675fbe8 886c9526");
  auto opus = sig::negotiate(rtp, sig::opusPreferences(1, "me"));
  ASSERT_TRUE(opus);
  EXPECT_EQ(opus.value().codec.id, 96);  // the offerer's number
  EXPECT_EQ(opus.value().codec.channels, 2);

  ASSERT_TRUE(audio.transport && audio.transport->kind == sig::TransportKind::IceUdp);
  const auto& ice = audio.transport->ice;
  EXPECT_EQ(ice.ufrag, "YOzd");
  EXPECT_EQ(ice.pwd, "3R2H3GjQ0y5D3qRYlou5LE");
  ASSERT_EQ(ice.fingerprints.size(), 1u);
  EXPECT_EQ(ice.fingerprints[0].hash, "sha-256");
  EXPECT_EQ(ice.fingerprints[0].setup, sig::DtlsSetup::ActPass);
  ASSERT_EQ(ice.candidates.size(), 1u);  // 192.0.2.7 and the TCP candidate are dropped
  EXPECT_EQ(ice.candidates[0].ip, "127.0.0.1");
  EXPECT_EQ(ice.candidates[0].port, 59814);
  EXPECT_EQ(ice.candidates[0].priority, 2130706431u);
  EXPECT_FALSE(ice.candidates[0].id.empty());

  const auto& video = *in.contents[1].description->rtp;
  EXPECT_EQ(video.ssrc_groups.size(), 1u);
  auto vp8 = sig::negotiate(video, sig::vp8Preferences(2, "me"));
  ASSERT_TRUE(vp8);
  EXPECT_EQ(vp8.value().codec.id, 97);
  EXPECT_EQ(video.payload_types[0].rtcp_fb.size(), 3u);
  ASSERT_NE(video.findPayloadType(98), nullptr);
  EXPECT_EQ(video.findPayloadType(98)->parameter("apt"), "97");
}

TEST(JingleSdp, TernOfferBecomesTheSdpAiortcNeeds) {
  sig::Jingle j;
  j.action = sig::Action::SessionInitiate;
  j.sid = "s2";
  sig::Content c;
  c.name = "audio";
  c.description = sig::Description::rtpDescription(sig::makeOpusOffer(1234, "cn"));
  sig::IceUdpTransport ice;
  ice.ufrag = "uf";
  ice.pwd = "passwordpasswordpassword";
  ice.fingerprints.push_back({"sha-256", sig::DtlsSetup::ActPass, "AB:CD"});
  sig::IceCandidate host;
  host.foundation = "1";
  host.ip = "127.0.0.1";
  host.port = 5000;
  host.priority = 2015364095;
  ice.candidates.push_back(host);
  host.ip = "10.1.2.3";  // not loopback: never reaches aiortc
  ice.candidates.push_back(host);
  c.transport = sig::Transport::iceUdp(ice);
  j.contents.push_back(c);

  std::string sdp = jingleToSdp(j, SdpType::Offer, SdpAuthor::Initiator);
  for (const char* line :
       {"v=0\r\n", "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", "a=mid:audio\r\n", "a=ice-ufrag:uf\r\n",
        "a=ice-pwd:passwordpasswordpassword\r\n", "a=fingerprint:sha-256 AB:CD\r\n",
        "a=setup:actpass\r\n", "a=sendrecv\r\n", "a=rtcp-mux\r\n", "a=rtpmap:111 opus/48000/2\r\n",
        "a=fmtp:111 minptime=10;useinbandfec=1\r\n", "a=ssrc:1234 cname:cn\r\n",
        "a=candidate:1 1 udp 2015364095 127.0.0.1 5000 typ host generation 0\r\n"})
    EXPECT_NE(sdp.find(line), std::string::npos) << line << " missing in\n" << sdp;
  EXPECT_EQ(sdp.find("10.1.2.3"), std::string::npos) << sdp;

  // And back: the same codec, parameters and credentials.
  sig::Jingle back = parseOrFail(sdp, SdpAuthor::Initiator);
  ASSERT_EQ(back.contents.size(), 1u);
  EXPECT_EQ(back.contents[0].description->rtp->payload_types, c.description->rtp->payload_types);
  EXPECT_EQ(back.contents[0].transport->ice.ufrag, "uf");

  // A content only the initiator sends is sendonly in its SDP, recvonly in the responder's.
  j.contents[0].senders = sig::Senders::Initiator;
  EXPECT_NE(jingleToSdp(j, SdpType::Offer, SdpAuthor::Initiator).find("a=sendonly\r\n"),
            std::string::npos);
  EXPECT_NE(jingleToSdp(j, SdpType::Answer, SdpAuthor::Responder).find("a=recvonly\r\n"),
            std::string::npos);
}

TEST(JingleSdp, CandidateLines) {
  auto c = candidateFromSdp(
      "candidate:842163049 1 UDP 1677729535 127.0.0.1 46154 typ srflx "
      "raddr 127.0.0.1 rport 46155 generation 2");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->foundation, "842163049");
  EXPECT_EQ(c->protocol, "udp");
  EXPECT_EQ(c->type, sig::CandidateType::ServerReflexive);
  EXPECT_EQ(c->rel_addr, "127.0.0.1");
  EXPECT_EQ(c->rel_port, 46155);
  EXPECT_EQ(c->generation, 2u);
  EXPECT_TRUE(tern::interop::isLoopbackUdp(*c));
  EXPECT_EQ(candidateToSdp(*c),
            "842163049 1 udp 1677729535 127.0.0.1 46154 typ srflx raddr 127.0.0.1 rport 46155 "
            "generation 2");
  for (const char* bad :
       {"", "candidate:", "1 1 udp 1 127.0.0.1 5000 host", "1 1 udp 1 127.0.0.1 99999 typ host",
        "1 x udp 1 127.0.0.1 5 typ host", "1 1 udp 1 127.0.0.1 5 typ martian"})
    EXPECT_FALSE(candidateFromSdp(bad)) << bad;
}

TEST(JingleSdp, BadSdpIsAnErrorNotACrash) {
  const std::string ok = kAiortcOffer;
  std::vector<std::string> bad = {
      "",
      "v=0\r\n",
      "m=audio 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=rtcp-fb:96\tx \t\r\na=rtcp-fb:96 \r\n",
      "m=audio\r\n",
      "m=audio 9 UDP/TLS/RTP/SAVPF 300\r\na=mid:0\r\n",
      "m=audio 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96\r\n",
      "m=audio 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=fingerprint:sha-256\r\n",
      "m=audio 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=setup:sideways\r\n",
      "m=audio 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\n",  // no DTLS
      "m=audio 9 UDP/TLS/RTP/SAVPF 96\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\n",             // no mid
  };
  // Every prefix of a real offer, cut anywhere: an error or a usable result, never a crash.
  for (std::size_t n = 0; n < ok.size(); n += 7)
    (void)sdpToJingle(ok.substr(0, n), SdpAuthor::Initiator, sig::Creator::Initiator);
  for (const auto& sdp : bad)
    EXPECT_TRUE(std::holds_alternative<std::string>(
        sdpToJingle(sdp, SdpAuthor::Initiator, sig::Creator::Initiator)))
        << sdp;
}
