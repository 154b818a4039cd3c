// Interoperability of Tern calls with python3-aiortc, an independent WebRTC stack (its own ICE,
// DTLS, SRTP, Opus and VP8), through the real Prosody of the testbed.
//
// aiortc speaks no XMPP, so the test runs a shim: an XMPP client (gloox, logged in as
// aiortc@localhost) that uses Tern's signaling library for the Jingle XML and translates to and
// from the SDP of an aiortc RTCPeerConnection living in a python process (aiortc_peer.py, JSON
// lines over a Unix socket). What the shim translates:
//   - JMI (XEP-0353): as callee it answers a <propose/> with <ringing/> then <proceed/> (and the
//     <accept/> to its own bare JID that Dino and Conversations send); as caller it sends
//     <propose/> with one <description/> per medium and starts Jingle on <proceed/>, as
//     Conversations does. Optionally no JMI at all: a plain session-initiate.
//   - session-initiate -> SDP offer, aiortc's SDP answer -> session-accept; aiortc's SDP offer ->
//     session-initiate, session-accept -> SDP answer (jingle_sdp.hpp: XEP-0167 section 8 RTP
//     mapping, XEP-0176 ICE-UDP, XEP-0320 fingerprint and setup, XEP-0293 rtcp-fb, XEP-0294
//     extmap, XEP-0339 sources, XEP-0338 BUNDLE). Content names are SDP mids.
//   - transport-info candidates (Tern trickles) -> addIceCandidate(); aiortc gathers everything
//     before its description is ready, so the shim never sends transport-info.
//   - session-terminate -> close the RTCPeerConnection.
// Every IQ gets its result (or a XEP-0166 error); the shim records anything unexpected, and the
// tests require that list to be empty.
//
// Network: everything on 127.0.0.1 (tern-call --local-address, aiortc's host candidates patched to
// loopback, no STUN/TURN servers, only loopback candidates cross the shim).
//
// Each test checks audio both ways: tern-call sends 440 Hz and writes what it hears to a WAV, the
// aiortc side sends 880 Hz and writes what it hears to a WAV; each file must hold the other side's
// tone (+-10 Hz) at about the level it was sent. SRTP is checked on Tern's side (the profile it
// printed; aiortc can do nothing but DTLS-SRTP, so media at all also proves it on that side).
#include "aiortc_peer.hpp"
#include "integration.hpp"
#include "jingle_sdp.hpp"
#include "media_files.hpp"
#include "process.hpp"
#include "tern/media/tone.hpp"
#include "tern/signaling/jmi.hpp"
#include "tern/signaling/namespaces.hpp"
#include "tern/testbed/test_client.hpp"
#include "tern/testbed/testbed.hpp"

#include <gloox/error.h>
#include <gloox/iq.h>
#include <gloox/iqhandler.h>
#include <gloox/message.h>
#include <gloox/messagehandler.h>
#include <gloox/stanzaextension.h>
#include <gloox/tag.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <random>

namespace fs = std::filesystem;
namespace sig = tern::signaling;
using tern::interop::AiortcPeer;
using tern::interop::Message;
using tern::testbed::exitCode;
using tern::testbed::readFile;
using tern::testbed::TestClient;
using tern::testbed::detail::Process;
using namespace std::chrono_literals;

namespace {

constexpr const char* kPython = "/usr/bin/python3";

tern::testbed::Testbed* bed() { return tern::testbed::Suite::bed(); }

// One payload element of a stanza as a gloox::Tag, so that Tern's parsers see the wire XML.
using TagExtension = tern::testbed::RawPayload;

constexpr int kExtJingle = gloox::ExtUser + 0x1a10;
constexpr int kExtJmiBase = gloox::ExtUser + 0x1a20;
constexpr const char* kJmiElements[] = {"propose", "ringing", "proceed", "accept",
                                        "reject",  "retract", "finish"};
const std::string kJingleFilter = "/iq/jingle[@xmlns='" + std::string(sig::ns::kJingle) + "']";

std::string randomSid() {
  std::random_device rd;
  std::string out;
  for (int i = 0; i < 16; ++i) out += "0123456789abcdef"[rd() % 16];
  return out;
}

// The XMPP side of the aiortc peer; see the comment at the top of the file. Driven by the test
// thread through run().
class JingleShim : public gloox::IqHandler, public gloox::MessageHandler {
 public:
  JingleShim(AiortcPeer& peer, const fs::path& log)
      : peer_(peer), client_(*bed(), "aiortc", TestClient::Transport::Tcp, "shim"), log_(log) {
    auto& c = client_.client();
    c.registerStanzaExtension(new TagExtension(kExtJingle, kJingleFilter, nullptr));
    c.registerIqHandler(this, kExtJingle);
    for (int i = 0; i < 7; ++i) {
      c.registerStanzaExtension(
          new TagExtension(kExtJmiBase + i, "/message/" + std::string(kJmiElements[i]) +
                                                "[@xmlns='" + sig::ns::kJingleMessage + "']",
                           nullptr));
    }
    c.registerMessageHandler(this);
  }
  ~JingleShim() override {
    client_.client().removeIqHandler(this, kExtJingle);
    client_.client().removeMessageHandler(this);
  }

  tern::testbed::ConnectResult connect() { return client_.connect(10s); }
  gloox::JID self() { return client_.jid(); }

  /// Caller: aiortc makes an offer; the shim sends it to `peer` (a bare JID with JMI first, or a
  /// full JID for a plain session-initiate).
  void call(const gloox::JID& peer, bool jmi) {
    caller_ = true;
    useJmi_ = jmi;
    remote_ = peer;
    sid_ = randomSid();
    peer_.send({{"op", "make-offer"}});
  }

  /// Pumps XMPP and the aiortc peer until `done()` holds (true) or `timeout` passes (false).
  bool run(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      client_.pump(10ms);
      while (auto m = peer_.receive(10ms)) onPeer(*m);
      if (peer_.closed() && !closed_) {
        fail("the aiortc peer went away");
        closed_ = Message{};
      }
    }
    return true;
  }

  bool closed() const { return closed_.has_value(); }
  const Message& closedMessage() const { return *closed_; }
  bool peerConnected() const { return peerConnected_; }
  bool terminated() const { return terminated_; }
  const std::vector<std::string>& failures() const { return failures_; }
  std::size_t candidatesForwarded() const { return candidatesForwarded_; }

  // gloox
  bool handleIq(const gloox::IQ& iq) override {
    if (iq.subtype() != gloox::IQ::Set) return false;
    const auto* ext = iq.findExtension<TagExtension>(kExtJingle);
    if (!ext || !ext->raw()) return false;
    log("<- " + ext->raw()->xml());
    auto parsed = sig::parseJingle(*ext->raw());
    if (!parsed) {
      fail("Tern sent Jingle we cannot parse: " + parsed.error().text);
      return reply(iq, parsed.error());
    }
    const sig::Jingle& j = parsed.value();
    if (auto valid = sig::validateIncoming(j); !valid) {
      fail("Tern sent invalid Jingle: " + valid.error().text);
      return reply(iq, valid.error());
    }
    if (j.action == sig::Action::SessionInitiate) return onInitiate(iq, j);
    if (j.sid != sid_ || !(iq.from() == remote_)) return reply(iq, sig::Error::unknownSession());
    switch (j.action) {
      case sig::Action::SessionAccept: return onAccept(iq, j);
      case sig::Action::TransportInfo:
        ack(iq);
        for (const auto& c : j.contents) {
          if (!c.transport || !c.transport->hasIce()) continue;
          for (const auto& cand : c.transport->ice.candidates) {
            if (!tern::interop::isLoopbackUdp(cand) || cand.component != 1) continue;
            peer_.send({{"op", "candidate"},
                        {"mid", c.name},
                        {"candidate", tern::interop::candidateToSdp(cand)}});
            ++candidatesForwarded_;
          }
        }
        return true;
      case sig::Action::SessionInfo: return ack(iq);
      case sig::Action::SessionTerminate:
        ack(iq);
        terminated_ = true;
        if (j.reason && j.reason->condition != sig::ReasonCondition::Success)
          fail("Tern ended the session with <" + j.reason->condition_name + "/> " +
               j.reason->text.value_or(""));
        peer_.send({{"op", "close"}});
        return true;
      default:
        fail("unexpected Jingle action " + std::string(sig::toString(j.action)));
        return reply(iq, sig::Error::featureNotImplemented("not supported by the test"));
    }
  }

  void handleIqID(const gloox::IQ& iq, int) override {
    if (iq.subtype() != gloox::IQ::Error) return;
    std::unique_ptr<gloox::Tag> tag(iq.tag());
    fail("Tern answered our Jingle request with an error: " + (tag ? tag->xml() : std::string()));
  }

  void handleMessage(const gloox::Message& msg, gloox::MessageSession*) override {
    if (msg.from().bare() != ternBare()) return;  // e.g. our own <accept/> copy
    for (int i = 0; i < 7; ++i) {
      const auto* ext = msg.findExtension<TagExtension>(kExtJmiBase + i);
      if (!ext || !ext->raw()) continue;
      log("<- " + ext->raw()->xml());
      auto m = sig::parseJmi(*ext->raw());
      if (!m) {
        fail("Tern sent a JMI message we cannot parse: " + m.error().text);
        return;
      }
      onJmi(m.value(), msg.from());
      return;
    }
  }

 private:
  static std::string ternBare() { return bed()->account("tern").jid; }

  void onJmi(const sig::JmiMessage& m, const gloox::JID& from) {
    if (!jmi_) {
      if (caller_ || m.type != sig::JmiType::Propose) return;
      auto call = sig::JmiCall::incoming(m, from, self());
      if (!call) {
        fail("cannot take the propose: " + call.error().text);
        return;
      }
      jmi_ = std::move(call.value());
      auto ring = jmi_->ring();
      if (ring) sendJmi(ring.value());
      auto proceed = jmi_->proceed();
      if (proceed) sendJmi(proceed.value());
      return;
    }
    auto step = jmi_->onMessage(m, from, false);
    sendJmi(step);
    if (step.event == sig::JmiEvent::Proceeded && caller_) {
      remote_ = jmi_->remoteDevice();
      sendInitiate();
    } else if (step.event == sig::JmiEvent::Rejected) {
      fail("Tern rejected the call");
    }
  }

  void sendJmi(const sig::JmiStep& step) {
    for (const auto& out : step.send) {
      gloox::Tag* stanza = sig::makeJmiMessageStanza(out.to, out.message, randomSid());
      log("-> " + stanza->xml());
      client_.client().send(stanza);
    }
  }

  bool onInitiate(const gloox::IQ& iq, const sig::Jingle& j) {
    if (caller_ || !sid_.empty()) {
      fail("an unexpected session-initiate");
      return reply(iq, sig::Error::serviceUnavailable());
    }
    if (jmi_ && (j.sid != jmi_->id() || !(iq.from() == jmi_->peer())))
      fail(
          "the session-initiate does not continue the proposed call (XEP-0353 3.1: sid = propose "
          "id)");
    ack(iq);
    sid_ = j.sid;
    remote_ = iq.from();
    initiate_ = j;
    peer_.send({{"op", "offer"},
                {"sdp", tern::interop::jingleToSdp(j, tern::interop::SdpType::Offer,
                                                   tern::interop::SdpAuthor::Initiator)}});
    return true;
  }

  bool onAccept(const gloox::IQ& iq, const sig::Jingle& j) {
    ack(iq);
    if (!caller_ || !offer_) {
      fail("an unexpected session-accept");
      return true;
    }
    // SDP wants every offered section back, in order: Tern accepts all we offer here.
    sig::Jingle ordered = j;
    ordered.contents.clear();
    for (const auto& offered : offer_->contents) {
      const sig::Content* c = j.findContent(offered.name);
      if (!c) {
        fail("Tern did not accept content " + offered.name);
        return true;
      }
      ordered.contents.push_back(*c);
    }
    peer_.send({{"op", "answer"},
                {"sdp", tern::interop::jingleToSdp(ordered, tern::interop::SdpType::Answer,
                                                   tern::interop::SdpAuthor::Responder)}});
    return true;
  }

  void onPeer(const Message& m) {
    auto op = m.count("op") ? m.at("op") : "";
    auto sdp = m.count("sdp") ? m.at("sdp") : "";
    log("aiortc: " + tern::interop::toJson(m));
    if (op == "answer") {
      sendAccept(sdp);
    } else if (op == "offer") {
      auto parsed = tern::interop::sdpToJingle(sdp, tern::interop::SdpAuthor::Initiator,
                                               sig::Creator::Initiator);
      if (auto* error = std::get_if<std::string>(&parsed)) {
        fail("cannot translate aiortc's offer: " + *error + "\n" + sdp);
        return;
      }
      offer_ = std::get<sig::Jingle>(std::move(parsed));
      if (!useJmi_) {
        sendInitiate();
        return;
      }
      std::vector<sig::JmiDescription> media;
      for (const auto& c : offer_->contents) media.push_back({sig::ns::kRtp, c.description->media});
      auto [call, step] = sig::JmiCall::propose(sid_, self(), remote_.bareJID(), media);
      jmi_ = std::move(call);
      sendJmi(step);
    } else if (op == "state") {
      if (m.count("state") && m.at("state") == "connected") peerConnected_ = true;
      if (m.count("state") && m.at("state") == "failed") fail("aiortc's connection failed");
    } else if (op == "error") {
      fail("aiortc: " + (m.count("text") ? m.at("text") : std::string()));
    } else if (op == "closed") {
      closed_ = m;
    }
  }

  void sendInitiate() {
    sig::Jingle j = *offer_;
    j.action = sig::Action::SessionInitiate;
    j.sid = sid_;
    j.initiator = self().full();
    sendJingle(j);
  }

  void sendAccept(const std::string& sdp) {
    auto parsed = tern::interop::sdpToJingle(sdp, tern::interop::SdpAuthor::Responder,
                                             sig::Creator::Initiator);
    if (auto* error = std::get_if<std::string>(&parsed)) {
      fail("cannot translate aiortc's answer: " + *error + "\n" + sdp);
      return;
    }
    sig::Jingle j = std::get<sig::Jingle>(std::move(parsed));
    j.action = sig::Action::SessionAccept;
    j.sid = sid_;
    j.initiator = remote_.full();
    j.responder = self().full();
    // Contents keep the creator the initiator gave them (XEP-0166 7.3).
    for (auto& c : j.contents)
      if (const sig::Content* offered = initiate_ ? initiate_->findContent(c.name) : nullptr)
        c.creator = offered->creator;
    sendJingle(j);
  }

  void sendJingle(const sig::Jingle& j) {
    gloox::IQ iq(gloox::IQ::Set, remote_, client_.client().getID());
    gloox::Tag* payload = sig::serializeJingle(j);
    log("-> " + payload->xml());
    iq.addExtension(new TagExtension(kExtJingle, kJingleFilter, payload));
    client_.client().send(iq, this, 1);
  }

  bool ack(const gloox::IQ& iq) {
    gloox::IQ result(gloox::IQ::Result, iq.from(), iq.id());
    client_.client().send(result);
    return true;
  }

  bool reply(const gloox::IQ& iq, const sig::Error& error) {
    gloox::IQ reply(gloox::IQ::Error, iq.from(), iq.id());
    reply.addExtension(sig::makeGlooxError(error));
    client_.client().send(reply);
    return true;
  }

  void fail(const std::string& what) {
    failures_.push_back(what);
    log("FAILURE: " + what);
  }

  void log(const std::string& line) { std::ofstream(log_, std::ios::app) << line << "\n"; }

  AiortcPeer& peer_;
  TestClient client_;
  fs::path log_;
  bool caller_ = false;
  bool useJmi_ = false;
  std::string sid_;
  gloox::JID remote_;
  std::optional<sig::JmiCall> jmi_;
  std::optional<sig::Jingle> initiate_;  // callee: Tern's offer
  std::optional<sig::Jingle> offer_;     // caller: aiortc's offer as Jingle contents
  bool peerConnected_ = false;
  bool terminated_ = false;
  std::optional<Message> closed_;
  std::size_t candidatesForwarded_ = 0;
  std::vector<std::string> failures_;
};

class InteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(bed(), nullptr);
    if (!aiortcAvailable(reason_)) GTEST_SKIP() << reason_;
    dir_ = fs::temp_directory_path() /
           ("tern-interop-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    // Kept after a failure, or always with TERN_KEEP_INTEROP=1: logs, WAV files.
    if (!HasFailure() && !dir_.empty() && !std::getenv("TERN_KEEP_INTEROP")) fs::remove_all(dir_);
  }

  // python3-aiortc importable by /usr/bin/python3 (checked once per process).
  static bool aiortcAvailable(std::string& reason) {
    static std::optional<std::string> missing;
    if (!missing) {
      fs::path out = fs::temp_directory_path() /
                     ("tern-interop-import-" + std::to_string(::getpid()) + ".log");
      int code = -1;
      try {
        auto p = Process::spawn({kPython, "-c", "import aiortc, av, numpy"}, out);
        code = exitCode(p.wait(60s));
      } catch (const std::exception& e) {
        missing = std::string(e.what());
      }
      if (!missing)
        missing = code == 0 ? ""
                            : "python3-aiortc cannot be imported by " + std::string(kPython) +
                                  ": " + readFile(out);
      fs::remove(out);
    }
    reason = *missing;
    return missing->empty();
  }

  std::unique_ptr<AiortcPeer> startPeer(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--tone", "880", "--wav", (dir_ / "aiortc.wav").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    std::string error;
    auto peer = AiortcPeer::start(kPython, AIORTC_PEER_SCRIPT, args, dir_, 60s, error);
    EXPECT_TRUE(peer) << error << "\n" << readFile(dir_ / "aiortc.log");
    return peer;
  }

  Process ternCall(const std::string& resource, std::vector<std::string> extra) {
    const auto& a = bed()->account("tern");
    std::vector<std::string> argv = {TERN_CALL, "--jid", a.jid + "/" + resource, "--password",
                                     a.password};
    // clang-format off
    std::vector<std::string> options = {
        "--server", bed()->host(), "--port", std::to_string(bed()->c2sPort()),
        "--local-address", "127.0.0.1", "--timeout", "60", "--no-audio-processing",
        "--tone", "440", "--audio-out", (dir_ / "tern.wav").string(), "--duration", "3"};
    // clang-format on
    argv.insert(argv.end(), options.begin(), options.end());
    argv.insert(argv.end(), extra.begin(), extra.end());
    return Process::spawn(argv, dir_ / "tern-call.log");
  }

  // Runs the call to its end: tern-call hangs up after 3 s connected, the shim closes aiortc.
  void runCall(JingleShim& shim, AiortcPeer& peer, Process& tern) {
    bool closed = shim.run([&] { return shim.closed() || !tern.running(); }, 90s);
    if (closed && !shim.closed())
      shim.run([&] { return shim.closed(); }, 10s);  // the terminate is on its way
    EXPECT_TRUE(shim.closed()) << logs();
    EXPECT_EQ(exitCode(tern.wait(30s)), 0) << logs();
    EXPECT_EQ(exitCode(peer.process().wait(30s)), 0) << logs();
    EXPECT_TRUE(shim.terminated()) << logs();
    EXPECT_TRUE(shim.peerConnected()) << logs();
    EXPECT_GT(shim.candidatesForwarded(), 0u) << "Tern trickled no loopback candidate\n" << logs();
    EXPECT_TRUE(shim.failures().empty()) << ::testing::PrintToString(shim.failures()) << "\n"
                                         << logs();
  }

  // Both sides heard the other's tone, at the right frequency and about the level it was sent at
  // (0.3 of full scale: -13.5 dBFS RMS).
  void checkAudio() {
    auto atTern = analyze(dir_ / "tern.wav");
    auto atAiortc = analyze(dir_ / "aiortc.wav");
    EXPECT_NEAR(atTern.frequency_hz, 880, 10) << logs();
    EXPECT_NEAR(atAiortc.frequency_hz, 440, 10) << logs();
    EXPECT_NEAR(atTern.rms_dbfs, -13.5, 3);
    EXPECT_NEAR(atAiortc.rms_dbfs, -13.5, 3);
    // aiortc 1.4 offers only this profile (RFC 5764 4.1.2): Tern must have agreed to it.
    EXPECT_NE(readFile(dir_ / "tern-call.log").find("srtp SRTP_AES128_CM_SHA1_80"),
              std::string::npos)
        << logs();
  }

  // Each side decoded video pictures from the other (tern-call counts what it shows, aiortc
  // counts what its VP8 decoder gives).
  void checkVideo(const JingleShim& shim) {
    auto log = readFile(dir_ / "tern-call.log");
    auto at = log.find("video frames shown ");
    ASSERT_NE(at, std::string::npos) << logs();
    EXPECT_GT(std::atoi(log.c_str() + at + 19), 0) << logs();
    ASSERT_TRUE(shim.closed());
    const Message& closed = shim.closedMessage();
    EXPECT_GT(closed.count("video_frames") ? std::atoi(closed.at("video_frames").c_str()) : 0, 0)
        << logs();
  }

  // The dominant tone of a 48 kHz mono WAV file after its first half second (set-up).
  tern::media::ToneAnalysis analyze(const fs::path& wav) {
    auto r = tern::samples::WavReader::open(wav.string());
    EXPECT_TRUE(r) << wav;
    if (!r) return {};
    EXPECT_EQ(r.value().info().sample_rate, 48000u) << wav;
    EXPECT_EQ(r.value().info().channels, 1) << wav;
    auto pcm = r.value().readAll();
    EXPECT_TRUE(pcm);
    if (!pcm) return {};
    constexpr std::size_t skip = 24000;
    EXPECT_GT(pcm.value().size(), skip + 48000)
        << "less than a second of audio after set-up in " << wav;
    if (pcm.value().size() <= skip) return {};
    return tern::media::analyzeTone(pcm.value().data() + skip, pcm.value().size() - skip, 1, 48000);
  }

  std::string logs() {
    std::string out;
    for (const char* f : {"tern-call.log", "shim.log", "aiortc.log"})
      out += std::string("---- ") + f + "\n" + readFile(dir_ / f);
    return out;
  }

  fs::path dir_;
  std::string reason_;
};

}  // namespace

// tern-call calls aiortc@localhost (JMI propose to the bare JID, then session-initiate to the
// device that proceeded); aiortc answers.
TEST_F(InteropTest, TernCallsAiortc) {
  auto peer = startPeer();
  ASSERT_TRUE(peer);
  JingleShim shim(*peer, dir_ / "shim.log");
  auto login = shim.connect();
  ASSERT_TRUE(login) << login.error;
  auto tern = ternCall("desk", {bed()->account("aiortc").jid});
  runCall(shim, *peer, tern);
  checkAudio();
}

// aiortc makes the offer; the shim rings tern-call with JMI first (as Conversations does), then
// sends the session-initiate to the device that proceeded.
TEST_F(InteropTest, AiortcCallsTern) {
  auto peer = startPeer();
  ASSERT_TRUE(peer);
  JingleShim shim(*peer, dir_ / "shim.log");
  auto login = shim.connect();
  ASSERT_TRUE(login) << login.error;
  auto tern = ternCall("phone", {});
  ASSERT_TRUE(tern::testbed::waitForText(dir_ / "tern-call.log", "waiting for a call", 20s))
      << logs();
  shim.call(gloox::JID(bed()->account("tern").jid), true);
  runCall(shim, *peer, tern);
  checkAudio();
}

// The same without JMI: a plain session-initiate to tern-call's full JID.
TEST_F(InteropTest, AiortcCallsTernWithoutJmi) {
  auto peer = startPeer();
  ASSERT_TRUE(peer);
  JingleShim shim(*peer, dir_ / "shim.log");
  auto login = shim.connect();
  ASSERT_TRUE(login) << login.error;
  auto tern = ternCall("phone", {});
  ASSERT_TRUE(tern::testbed::waitForText(dir_ / "tern-call.log", "waiting for a call", 20s))
      << logs();
  shim.call(gloox::JID(bed()->account("tern").jid + "/phone"), false);
  runCall(shim, *peer, tern);
  checkAudio();
}

// Audio and VP8 video in one BUNDLE, Tern offering: each side decodes the other's pictures.
TEST_F(InteropTest, TernCallsAiortcWithVideo) {
  auto peer = startPeer({"--video"});
  ASSERT_TRUE(peer);
  JingleShim shim(*peer, dir_ / "shim.log");
  auto login = shim.connect();
  ASSERT_TRUE(login) << login.error;
  auto tern =
      ternCall("desk", {"--video", "--size", "320", "--fps", "15", bed()->account("aiortc").jid});
  runCall(shim, *peer, tern);
  checkAudio();
  checkVideo(shim);
}

// Audio and VP8 video in one BUNDLE, aiortc offering (JMI first).
TEST_F(InteropTest, AiortcCallsTernWithVideo) {
  auto peer = startPeer({"--video"});
  ASSERT_TRUE(peer);
  JingleShim shim(*peer, dir_ / "shim.log");
  auto login = shim.connect();
  ASSERT_TRUE(login) << login.error;
  auto tern = ternCall("phone", {"--video", "--size", "320", "--fps", "15"});
  ASSERT_TRUE(tern::testbed::waitForText(dir_ / "tern-call.log", "waiting for a call", 20s))
      << logs();
  shim.call(gloox::JID(bed()->account("tern").jid), true);
  runCall(shim, *peer, tern);
  checkAudio();
  checkVideo(shim);
}

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  tern::testbed::Options options;
  options.accounts = {"tern", "aiortc"};
  options.turn = false;  // host candidates on 127.0.0.1 only
  options.proxy65 = false;
  ::testing::AddGlobalTestEnvironment(new tern::testbed::Suite(options));
  return RUN_ALL_TESTS();
}
