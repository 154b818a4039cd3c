// Calls end to end through a real Prosody (JMI + Jingle signaling, XEP-0215)
// and a real coturn, between two tern-call processes: ICE (libnice), DTLS-SRTP
// (OpenSSL, libsrtp2), Opus. What each side hears is written to a WAV file and
// checked here: the other side's tone, at the right frequency and level.
#include "media_files.hpp"
#include "process.hpp"
#include "tern/media/tone.hpp"
#include "integration.hpp"
#include "tern/testbed/testbed.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;
using tern::testbed::Testbed;
using tern::testbed::detail::Process;
using tern::testbed::exitCode;
using tern::testbed::readFile;
using namespace std::chrono_literals;

namespace {

Testbed* bed() { return tern::testbed::Suite::bed(); }

class CallTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_NE(bed(), nullptr);
        dir_ = fs::temp_directory_path() / ("tern-call-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override {
        tern::testbed::finishTestDir(dir_, HasFailure());
    }

    std::vector<std::string> account(const std::string& name, const std::string& resource) {
        const auto& a = bed()->account(name);
        return {"--jid", a.jid + "/" + resource, "--password", a.password, "--server", bed()->host(), "--port",
                std::to_string(bed()->c2sPort()), "--local-address", "127.0.0.1", "--timeout", "60"};
    }

    Process callee(std::vector<std::string> extra = {}, const std::string& name = "bob") {
        std::vector<std::string> argv = {TERN_CALL};
        auto acc = account(name, "phone");
        argv.insert(argv.end(), acc.begin(), acc.end());
        argv.insert(argv.end(), extra.begin(), extra.end());
        auto p = Process::spawn(argv, dir_ / "callee.log");
        EXPECT_TRUE(waitForLog("callee.log", "waiting for a call", 20s)) << readFile(dir_ / "callee.log");
        return p;
    }

    Process caller(const std::string& peer, std::vector<std::string> extra = {}, const std::string& resource = "desk") {
        std::vector<std::string> argv = {TERN_CALL};
        auto acc = account("alice", resource);
        argv.insert(argv.end(), acc.begin(), acc.end());
        argv.insert(argv.end(), extra.begin(), extra.end());
        argv.push_back(peer);
        return Process::spawn(argv, dir_ / "caller.log");
    }

    bool waitForLog(const std::string& file, const std::string& text, std::chrono::seconds timeout) {
        return tern::testbed::waitForText(dir_ / file, text, timeout);
    }

    // The dominant tone of a WAV file after its first `skipMs` (set-up).
    tern::media::ToneAnalysis analyze(const fs::path& wav, int skipMs) {
        auto r = tern::samples::WavReader::open(wav.string());
        EXPECT_TRUE(r) << wav;
        if (!r) return {};
        auto pcm = r.value().readAll();
        EXPECT_TRUE(pcm);
        if (!pcm) return {};
        std::size_t skip = static_cast<std::size_t>(48 * skipMs);
        EXPECT_GT(pcm.value().size(), skip + 48000) << "less than a second of audio after set-up";
        if (pcm.value().size() <= skip) return {};
        return tern::media::analyzeTone(pcm.value().data() + skip, pcm.value().size() - skip, 1, 48000);
    }

    // The dominant tone of the last second of a WAV file, leaving out its final 200 ms
    // (the hang-up).
    tern::media::ToneAnalysis lastSecond(const fs::path& wav) {
        auto r = tern::samples::WavReader::open(wav.string());
        EXPECT_TRUE(r) << wav;
        if (!r) return {};
        auto pcm = r.value().readAll();
        EXPECT_TRUE(pcm);
        if (!pcm) return {};
        const auto& x = pcm.value();
        const std::size_t second = 48000, end = 9600;
        EXPECT_GT(x.size(), 3 * second) << wav;
        if (x.size() < second + end) return {};
        return tern::media::analyzeTone(x.data() + x.size() - second - end, second, 1, 48000);
    }

    // The counters of the pattern frames in a Y4M file, in file order; a frame that does not
    // read back as a pattern counts as nullopt.
    std::vector<std::optional<std::uint32_t>> patternCounters(const fs::path& y4m) {
        std::vector<std::optional<std::uint32_t>> out;
        auto r = tern::samples::Y4mReader::open(y4m.string());
        EXPECT_TRUE(r) << y4m;
        if (!r) return out;
        for (;;) {
            auto f = r.value().readFrame();
            EXPECT_TRUE(f) << y4m;
            if (!f || !f.value()) break;
            const auto& p = *f.value();
            tern::media::VideoFrame frame(p.width, p.height);
            if (frame.byteSize() != p.data.size()) {
                ADD_FAILURE() << "frame size";
                break;
            }
            std::memcpy(frame.dataY(), p.data.data(), p.data.size());
            out.push_back(tern::media::VideoPattern::read(frame));
        }
        return out;
    }

    fs::path dir_;
};

// The decimal number that follows the first `label` in `text`, or -1.
long numberAfter(const std::string& text, const std::string& label) {
    auto at = text.find(label);
    if (at == std::string::npos) return -1;
    const char* begin = text.c_str() + at + label.size();
    char* end = nullptr;
    long value = std::strtol(begin, &end, 10);
    return end == begin ? -1 : value;
}

// Drops a share of the UDP packets sent to a port range on this host (nftables,
// `numgen random`), below ICE, DTLS and SRTP. Removed again on destruction.
// The rule sits on the input hook, where a network loses packets: a drop on the output
// hook fails the sender's sendto() with EPERM, which no network does and which coturn
// takes for a dead socket (it closes the allocation that sent it).
class PacketLoss {
public:
    static std::optional<PacketLoss> create(int lo, int hi, int percent, std::string& why) {
        if (::geteuid() != 0) {
            why = "needs root for nftables";
            return std::nullopt;
        }
        PacketLoss l("tern_loss_" + std::to_string(::getpid()));
        std::string rule = "udp dport " + std::to_string(lo) + "-" + std::to_string(hi) +
                           (percent >= 100 ? std::string() : " numgen random mod 100 < " + std::to_string(percent)) +
                           " counter drop";
        if (!run("add table inet " + l.table_)) {
            why = "nft failed (no nftables in this kernel?)";
            return std::nullopt;
        }
        l.active_ = true;  // removed again, even if a step below fails
        if (!l.run("add chain inet " + l.table_ + " in '{ type filter hook input priority 0; }'") ||
            !l.run("add rule inet " + l.table_ + " in '" + rule + "'")) {
            why = "nft refused the loss rule";
            return std::nullopt;
        }
        return l;
    }
    PacketLoss(PacketLoss&& o) noexcept : table_(std::move(o.table_)), active_(std::exchange(o.active_, false)) {}
    PacketLoss& operator=(PacketLoss&&) = delete;
    ~PacketLoss() {
        if (active_) run("delete table inet " + table_);
    }
    // Packets the rule dropped so far.
    long dropped() const {
        std::string out;
        if (FILE* f = ::popen(("nft list table inet " + table_ + " 2>/dev/null").c_str(), "r")) {
            char buf[512];
            while (std::fgets(buf, sizeof buf, f)) out += buf;
            ::pclose(f);
        }
        return numberAfter(out, "counter packets ");
    }

private:
    explicit PacketLoss(std::string table) : table_(std::move(table)) {}
    static bool run(const std::string& args) { return std::system(("nft " + args + " 2>/dev/null").c_str()) == 0; }
    std::string table_;
    bool active_ = false;
};

// "audio frames played N, concealed M" from a tern-call log.
std::pair<long, long> playedAndConcealed(const std::string& log) {
    auto at = log.find("audio frames played ");
    if (at == std::string::npos) return {-1, -1};
    std::string line = log.substr(at, log.find('\n', at) - at);
    return {numberAfter(line, "audio frames played "), numberAfter(line, ", concealed ")};
}

}  // namespace

// alice calls bob's bare JID (JMI rings his device); each sends a tone; each
// must hear the other's, at the right frequency and level.
TEST_F(CallTest, AudioCallEachSideHearsTheOthersTone) {
    auto b = callee({"--no-audio-processing", "--tone", "880", "--audio-out", (dir_ / "bob.wav").string()});
    auto a = caller(bed()->account("bob").jid, {"--no-audio-processing", "--tone", "440", "--audio-out",
                                                (dir_ / "alice.wav").string(), "--duration", "3"});
    EXPECT_EQ(exitCode(a.wait(60s)), 0) << readFile(dir_ / "caller.log");
    EXPECT_EQ(exitCode(b.wait(30s)), 0) << readFile(dir_ / "callee.log");
    auto atAlice = analyze(dir_ / "alice.wav", 500);
    auto atBob = analyze(dir_ / "bob.wav", 500);
    EXPECT_NEAR(atAlice.frequency_hz, 880, 10) << readFile(dir_ / "caller.log");
    EXPECT_NEAR(atBob.frequency_hz, 440, 10) << readFile(dir_ / "callee.log");
    // Sent at 0.3 of full scale: about -13.5 dBFS RMS.
    EXPECT_NEAR(atAlice.rms_dbfs, -13.5, 3);
    EXPECT_NEAR(atBob.rms_dbfs, -13.5, 3);
    EXPECT_NE(readFile(dir_ / "caller.log").find("srtp "), std::string::npos);
}

TEST_F(CallTest, CalleeHangsUp) {
    auto b = callee({"--duration", "2"});
    auto a = caller(bed()->account("bob").jid);
    EXPECT_EQ(exitCode(b.wait(60s)), 0) << readFile(dir_ / "callee.log");
    EXPECT_EQ(exitCode(a.wait(30s)), 0) << readFile(dir_ / "caller.log");
    EXPECT_NE(readFile(dir_ / "caller.log").find("ended (remote-hung-up)"), std::string::npos) << readFile(dir_ / "caller.log");
}

TEST_F(CallTest, CallerHangsUp) {
    auto b = callee();
    auto a = caller(bed()->account("bob").jid, {"--duration", "2"});
    EXPECT_EQ(exitCode(a.wait(60s)), 0) << readFile(dir_ / "caller.log");
    EXPECT_EQ(exitCode(b.wait(30s)), 0) << readFile(dir_ / "callee.log");
    EXPECT_NE(readFile(dir_ / "callee.log").find("ended (remote-hung-up)"), std::string::npos)
        << readFile(dir_ / "callee.log");
}

// The caller gives up while the callee's device rings: JMI retract; the callee
// stops ringing and reports the call as cancelled by the caller.
TEST_F(CallTest, RetractedBeforeAnswer) {
    auto b = callee({"--answer-after", "60"});
    auto a = caller(bed()->account("bob").jid);
    ASSERT_TRUE(waitForLog("callee.log", "incoming call", 30s)) << readFile(dir_ / "callee.log");
    ::kill(a.pid(), SIGINT);  // Ctrl-C: hang up
    EXPECT_EQ(exitCode(a.wait(30s)), 9) << readFile(dir_ / "caller.log");
    EXPECT_EQ(exitCode(b.wait(30s)), 9) << readFile(dir_ / "callee.log");
    EXPECT_NE(readFile(dir_ / "callee.log").find("ended (retracted)"), std::string::npos)
        << readFile(dir_ / "callee.log");
    EXPECT_EQ(readFile(dir_ / "callee.log").find("connected"), std::string::npos) << readFile(dir_ / "callee.log");
}

// Video both ways: the test pattern carries a frame counter; every frame
// written at each side must decode to a pattern, and the counters must rise.
TEST_F(CallTest, VideoFramesArriveDecodableAndInOrder) {
    auto b = callee({"--video", "--size", "320", "--video-out", (dir_ / "bob.y4m").string()});
    auto a = caller(bed()->account("bob").jid,
                    {"--video", "--size", "320", "--video-out", (dir_ / "alice.y4m").string(), "--duration", "3"});
    EXPECT_EQ(exitCode(a.wait(60s)), 0) << readFile(dir_ / "caller.log");
    EXPECT_EQ(exitCode(b.wait(30s)), 0) << readFile(dir_ / "callee.log");
    for (const char* side : {"alice.y4m", "bob.y4m"}) {
        auto counters = patternCounters(dir_ / side);
        // 3 s at 30 fps; generous for a loaded machine, but well beyond a few keyframes.
        EXPECT_GE(counters.size(), 30u) << side;
        std::optional<std::uint32_t> last;
        std::size_t unreadable = 0;
        for (const auto& c : counters) {
            if (!c) {
                ++unreadable;
                continue;
            }
            if (last) {
                EXPECT_GT(*c, *last) << side << ": frame out of order";
            }
            last = c;
        }
        EXPECT_EQ(unreadable, 0u) << side << ": frames that do not decode to the pattern";
    }
    EXPECT_NE(readFile(dir_ / "caller.log").find("video frames shown"), std::string::npos);
}

// A video call answered with audio only: the callee takes the video content out
// (content-remove) before accepting, and the call goes on with audio both ways.
TEST_F(CallTest, VideoCallAnsweredWithAudioOnly) {
    auto b = callee({"--no-audio-processing", "--xml-log", "--audio-out", (dir_ / "bob.wav").string()});
    auto a = caller(bed()->account("bob").jid, {"--video", "--size", "320", "--no-audio-processing", "--audio-out",
                                                (dir_ / "alice.wav").string(), "--duration", "2"});
    EXPECT_EQ(exitCode(a.wait(60s)), 0) << readFile(dir_ / "caller.log");
    EXPECT_EQ(exitCode(b.wait(30s)), 0) << readFile(dir_ / "callee.log");
    std::string calleeLog = readFile(dir_ / "callee.log");
    EXPECT_NE(calleeLog.find("incoming call from alice@localhost/desk (audio+video)"), std::string::npos) << calleeLog;
    EXPECT_NE(calleeLog.find("action='content-remove'"), std::string::npos) << calleeLog;
    EXPECT_EQ(calleeLog.find("feature-not-implemented"), std::string::npos) << calleeLog;
    EXPECT_NE(readFile(dir_ / "caller.log").find("video frames shown 0"), std::string::npos)
        << readFile(dir_ / "caller.log");
    EXPECT_NEAR(analyze(dir_ / "alice.wav", 500).frequency_hz, 880, 10);
    EXPECT_NEAR(analyze(dir_ / "bob.wav", 500).frequency_hz, 440, 10);
}

// 10% of the media packets in each direction are dropped by the kernel (below
// ICE, DTLS and SRTP). The received audio must stay continuous: Opus in-band
// FEC and loss concealment fill the gaps, so no 20 ms stretch falls silent.
TEST_F(CallTest, AudioStaysContinuousUnderTenPercentLoss) {
    int lo = 20000 + static_cast<int>(::getpid() % 2000) * 10, hi = lo + 9;
    std::string why;
    auto loss = PacketLoss::create(lo, hi, 10, why);
    if (!loss) {
        GTEST_SKIP() << "packet loss cannot be injected: " << why;
    }
    std::string ports = std::to_string(lo) + "-" + std::to_string(hi);
    auto b = callee({"--no-audio-processing", "--ice-ports", ports, "--audio-out", (dir_ / "bob.wav").string()});
    auto a = caller(bed()->account("bob").jid, {"--no-audio-processing", "--ice-ports", ports, "--audio-out",
                                                (dir_ / "alice.wav").string(), "--duration", "6"});
    EXPECT_EQ(exitCode(a.wait(60s)), 0) << readFile(dir_ / "caller.log");
    EXPECT_EQ(exitCode(b.wait(30s)), 0) << readFile(dir_ / "callee.log");
    EXPECT_GT(loss->dropped(), 30) << "the loss rule did not drop media packets";
    for (const char* side : {"alice", "bob"}) {
        std::string log = readFile(dir_ / (std::string(side) == "alice" ? "caller.log" : "callee.log"));
        auto [played, concealed] = playedAndConcealed(log);
        ASSERT_GT(played, 200) << log;
        double ratio = static_cast<double>(concealed) / static_cast<double>(played);
        std::printf("[ loss     ] %s: %ld frames played, %ld concealed (%.1f%%)\n", side, played, concealed,
                    ratio * 100);
        RecordProperty(std::string(side) + "_concealed_percent", std::to_string(ratio * 100));
        EXPECT_NE(log.find("lost "), std::string::npos);
        auto r = tern::samples::WavReader::open((dir_ / (std::string(side) + ".wav")).string());
        ASSERT_TRUE(r);
        auto pcm = r.value().readAll();
        ASSERT_TRUE(pcm);
        // 20 ms windows from the first one that carries the tone (set-up: under loss a DTLS
        // retransmission can hold one side's media back by a second or two) to 0.2 s before
        // the end (hang-up). The tone is
        // sent at -13.5 dBFS. A lost packet is filled by FEC or by concealment, which fades
        // over a burst of losses (10% random loss makes bursts of three or four now and then),
        // and Opus takes a frame or two to come back to full level after it), so short quiet
        // stretches are allowed; a drop-out is digital silence the engine put in (10 ms of
        // exact zeros) or more than 100 ms in a row near silence (below -50 dBFS).
        const auto& x = pcm.value();
        const std::size_t win = 960, tail = 48 * 200;
        auto windowDbfs = [&](std::size_t i) {
            double e = 0;
            for (std::size_t k = i; k < i + win; ++k) e += static_cast<double>(x[k]) * x[k];
            return 10 * std::log10(e / win / (32768.0 * 32768.0) + 1e-12);
        };
        std::size_t skip = 0;
        while (skip + win + tail <= x.size() && windowDbfs(skip) < -33.5) skip += win;
        std::printf("[ loss     ] %s: the tone starts %.2f s into the recording\n", side,
                    static_cast<double>(skip) / 48000);
        std::size_t windows = 0, degraded = 0, quiet = 0, run = 0, longestRun = 0, quietRun = 0,
                    longestQuietRun = 0, zeros = 0, zeroRuns = 0;
        for (std::size_t i = skip; i + win + tail <= x.size(); i += win, ++windows) {
            for (std::size_t k = i; k < i + win; ++k) {
                zeros = x[k] == 0 ? zeros + 1 : 0;
                if (zeros == 480) ++zeroRuns;
            }
            double dbfs = windowDbfs(i);
            if (dbfs < -50) ++quiet;
            quietRun = dbfs < -50 ? quietRun + 1 : 0;
            longestQuietRun = std::max(longestQuietRun, quietRun);
            run = dbfs < -33.5 ? run + 1 : 0;
            if (dbfs < -33.5) ++degraded;
            longestRun = std::max(longestRun, run);
        }
        std::printf("[ loss     ] %s: %zu of %zu windows more than 20 dB below the tone (longest run %zu, "
                    "%zu below -50 dBFS), %zu stretches of digital silence\n",
                    side, degraded, windows, longestRun, quiet, zeroRuns);
        ASSERT_GT(windows, 150u) << side << ": less than 3 s of audio";
        EXPECT_EQ(zeroRuns, 0u) << side << ": the received audio dropped out";
        EXPECT_LE(longestQuietRun, 5u) << side << ": more than 100 ms in a row fell silent";
        EXPECT_LE(degraded, windows / 10) << side;
        double expect = std::string(side) == "alice" ? 880 : 440;
        EXPECT_NEAR(analyze(dir_ / (std::string(side) + ".wav"), 500).frequency_hz, expect, 10);
    }
}

// The callee's process dies mid-call (no terminate, no DTLS close): the caller
// notices the silence and reports the connection lost within 15 s.
TEST_F(CallTest, CalleeKilledCallerReportsWithin15Seconds) {
    auto b = callee();
    auto a = caller(bed()->account("bob").jid);
    ASSERT_TRUE(waitForLog("callee.log", "connected with", 30s)) << readFile(dir_ / "callee.log");
    ASSERT_TRUE(waitForLog("caller.log", "connected with", 30s)) << readFile(dir_ / "caller.log");
    ::kill(b.pid(), SIGKILL);
    auto killedAt = std::chrono::steady_clock::now();
    auto status = a.wait(30s);
    auto took = std::chrono::steady_clock::now() - killedAt;
    EXPECT_EQ(exitCode(status), 12) << readFile(dir_ / "caller.log");
    EXPECT_LT(took, 15s) << readFile(dir_ / "caller.log");
    EXPECT_NE(readFile(dir_ / "caller.log").find("ended (connection-lost)"), std::string::npos)
        << readFile(dir_ / "caller.log");
}

// Every media packet is dropped for 5 s on an established call: the call survives and
// the audio comes back.
TEST_F(CallTest, FiveSecondOutageIsSurvived) {
    int lo = 20000 + static_cast<int>(::getpid() % 2000) * 10, hi = lo + 9;
    std::string ports = std::to_string(lo) + "-" + std::to_string(hi);
    auto b = callee({"--no-audio-processing", "--ice-ports", ports, "--audio-out", (dir_ / "bob.wav").string()});
    auto a = caller(bed()->account("bob").jid,
                    {"--no-audio-processing", "--ice-ports", ports, "--duration", "9"});
    ASSERT_TRUE(waitForLog("caller.log", "connected with", 30s)) << readFile(dir_ / "caller.log");
    {
        std::string why;
        auto outage = PacketLoss::create(lo, hi, 100, why);
        if (!outage) {
            GTEST_SKIP() << "cannot drop packets: " << why;
        }
        std::this_thread::sleep_for(5s);  // the outage itself, not a wait for an event
        EXPECT_GT(outage->dropped(), 200) << "the outage did not drop the media";
    }
    EXPECT_EQ(exitCode(a.wait(60s)), 0) << readFile(dir_ / "caller.log");
    EXPECT_EQ(exitCode(b.wait(30s)), 0) << readFile(dir_ / "callee.log");
    // The last second before the hang-up carries the caller's tone again.
    auto tail = lastSecond(dir_ / "bob.wav");
    EXPECT_NEAR(tail.frequency_hz, 440, 10);
    EXPECT_NEAR(tail.rms_dbfs, -13.5, 3);
}

// The XMPP server stops answering mid-call (frozen with SIGSTOP; resumed at the
// end for the suite's other tests): media keeps flowing peer to peer, and when the
// caller hangs up, the callee learns it from the media path (DTLS close) although
// no session-terminate can reach it.
TEST_F(CallTest, ServerGoneMidCallMediaGoesOn) {
    auto b = callee({"--no-audio-processing", "--audio-out", (dir_ / "bob.wav").string()});
    auto a = caller(bed()->account("bob").jid, {"--no-audio-processing", "--duration", "5"});
    ASSERT_TRUE(waitForLog("caller.log", "connected with", 30s)) << readFile(dir_ / "caller.log");
    ASSERT_TRUE(waitForLog("callee.log", "connected with", 30s)) << readFile(dir_ / "callee.log");
    tern::testbed::Frozen frozen(bed()->prosodyPid());
    ASSERT_TRUE(frozen.ok());
    EXPECT_EQ(exitCode(a.wait(60s)), 0) << readFile(dir_ / "caller.log");
    EXPECT_EQ(exitCode(b.wait(30s)), 0) << readFile(dir_ / "callee.log");
    EXPECT_NE(readFile(dir_ / "callee.log").find("ended (remote-hung-up)"), std::string::npos)
        << readFile(dir_ / "callee.log");
    // The last second of the call, long after the server froze, carried the caller's tone.
    auto tail = lastSecond(dir_ / "bob.wav");
    EXPECT_NEAR(tail.frequency_hz, 440, 10);
    EXPECT_NEAR(tail.rms_dbfs, -13.5, 3);
}

TEST_F(CallTest, Rejected) {
    auto b = callee({"--reject"});
    auto a = caller(bed()->account("bob").jid);
    EXPECT_EQ(exitCode(a.wait(60s)), 6) << readFile(dir_ / "caller.log");
    EXPECT_EQ(exitCode(b.wait(30s)), 0) << readFile(dir_ / "callee.log");
}

TEST_F(CallTest, CalleeOffline) {
    auto a = caller(bed()->account("carol").jid);
    EXPECT_EQ(exitCode(a.wait(60s)), 4) << readFile(dir_ / "caller.log");
}

TEST_F(CallTest, RelayOnlyCallThroughCoturn) {
    auto b = callee({"--relay-only", "--audio-out", (dir_ / "bob.wav").string()});
    auto a = caller(bed()->account("bob").jid, {"--relay-only", "--duration", "2"});
    EXPECT_EQ(exitCode(a.wait(60s)), 0) << readFile(dir_ / "caller.log");
    EXPECT_EQ(exitCode(b.wait(30s)), 0) << readFile(dir_ / "callee.log");
    EXPECT_NE(readFile(dir_ / "caller.log").find("path relay -> relay"), std::string::npos) << readFile(dir_ / "caller.log");
    EXPECT_NEAR(analyze(dir_ / "bob.wav", 500).frequency_hz, 440, 10);
}

// The server replaces the caller's DTLS fingerprint: the callee refuses the
// DTLS session and both sides report a security failure.
TEST_F(CallTest, FingerprintMismatchRefused) {
    auto b = callee();
    auto a = caller(bed()->account("bob").jid, {}, "tamper-fingerprint");
    EXPECT_EQ(exitCode(a.wait(60s)), 10) << readFile(dir_ / "caller.log");
    EXPECT_EQ(exitCode(b.wait(30s)), 10) << readFile(dir_ / "callee.log");
}

// The XMPP server stops while the call is still ringing: the call cannot finish its
// signaling, so both sides end it at once (failed, with the reason) instead of ringing on
// until a timeout.
TEST_F(CallTest, ServerStoppedWhileRingingEndsTheCallOnBothSides) {
    auto b = callee({"--answer-after", "60"});
    auto a = caller(bed()->account("bob").jid);
    ASSERT_TRUE(waitForLog("callee.log", "incoming call", 30s)) << readFile(dir_ / "callee.log");
    tern::testbed::ProsodyOutage outage(*bed());
    auto stoppedAt = std::chrono::steady_clock::now();
    int sent = exitCode(a.wait(20s)), recv = exitCode(b.wait(20s));
    auto took = std::chrono::steady_clock::now() - stoppedAt;
    EXPECT_EQ(sent, 1) << readFile(dir_ / "caller.log");
    EXPECT_EQ(recv, 1) << readFile(dir_ / "callee.log");
    EXPECT_LT(took, 10s);
    const std::string ended = "ended (failed): the XMPP connection was lost before the call connected";
    EXPECT_NE(readFile(dir_ / "caller.log").find(ended), std::string::npos) << readFile(dir_ / "caller.log");
    EXPECT_NE(readFile(dir_ / "callee.log").find(ended), std::string::npos) << readFile(dir_ / "callee.log");
}

// The XMPP server is really stopped mid-call (a shutdown: both clients' TCP connections
// break) and started again on the same port with the same accounts while the call goes on.
// The media keeps flowing peer to peer through the outage (the callee's recording carries
// the caller's tone without a gap), neither tern-call exits because its XMPP connection
// dropped, and the caller's hang-up, made while neither side has signaling (the samples do
// not reconnect), reaches the callee over the media path (DTLS close): both exit 0.
TEST_F(CallTest, ServerRestartedMidCallMediaGoesOn) {
    auto b = callee({"--no-audio-processing", "--audio-out", (dir_ / "bob.wav").string()});
    auto a = caller(bed()->account("bob").jid, {"--no-audio-processing", "--duration", "10"});
    ASSERT_TRUE(waitForLog("caller.log", "connected with", 30s)) << readFile(dir_ / "caller.log");
    ASSERT_TRUE(waitForLog("callee.log", "connected with", 30s)) << readFile(dir_ / "callee.log");
    {
        tern::testbed::ProsodyOutage outage(*bed());
        EXPECT_FALSE(bed()->prosodyRunning());
        const std::string lost = "lost the XMPP connection";
        ASSERT_TRUE(waitForLog("caller.log", lost, 10s)) << readFile(dir_ / "caller.log");
        ASSERT_TRUE(waitForLog("callee.log", lost, 10s)) << readFile(dir_ / "callee.log");
        EXPECT_TRUE(a.running()) << readFile(dir_ / "caller.log");
        EXPECT_TRUE(b.running()) << readFile(dir_ / "callee.log");
        ASSERT_NO_THROW(outage.end());
    }
    // The server is back with the same accounts: a new client logs in.
    {
        auto acc = account("carol", "probe");
        std::vector<std::string> argv = {TERN_CALL};
        argv.insert(argv.end(), acc.begin(), acc.end());
        auto carol = Process::spawn(argv, dir_ / "carol.log");
        EXPECT_TRUE(waitForLog("carol.log", "logged in as", 20s)) << readFile(dir_ / "carol.log");
    }
    EXPECT_EQ(exitCode(a.wait(60s)), 0) << readFile(dir_ / "caller.log");
    EXPECT_EQ(exitCode(b.wait(30s)), 0) << readFile(dir_ / "callee.log");
    std::string callerLog = readFile(dir_ / "caller.log"), calleeLog = readFile(dir_ / "callee.log");
    auto lostAt = callerLog.find("lost the XMPP connection"), hungUpAt = callerLog.find("hung up after");
    ASSERT_NE(hungUpAt, std::string::npos) << callerLog;
    EXPECT_LT(lostAt, hungUpAt) << "the caller hung up before the outage: " << callerLog;
    EXPECT_NE(calleeLog.find("ended (remote-hung-up)"), std::string::npos) << calleeLog;
    EXPECT_NE(calleeLog.find("the call goes on peer to peer"), std::string::npos) << calleeLog;

    // What bob heard: from the first 20 ms window that carries the tone to 0.2 s before the end
    // (the hang-up), every window at the tone's level, over about the whole 10 s, most of which
    // fell into the outage (the server went down right after the call connected).
    auto r = tern::samples::WavReader::open((dir_ / "bob.wav").string());
    ASSERT_TRUE(r);
    auto pcm = r.value().readAll();
    ASSERT_TRUE(pcm);
    const auto& x = pcm.value();
    const std::size_t win = 960, tail = 48 * 200;
    auto windowDbfs = [&](std::size_t i) {
        double e = 0;
        for (std::size_t k = i; k < i + win; ++k) e += static_cast<double>(x[k]) * x[k];
        return 10 * std::log10(e / win / (32768.0 * 32768.0) + 1e-12);
    };
    std::size_t skip = 0;
    while (skip + win + tail <= x.size() && windowDbfs(skip) < -33.5) skip += win;
    std::size_t windows = 0, quiet = 0, quietRun = 0, longestQuietRun = 0;
    for (std::size_t i = skip; i + win + tail <= x.size(); i += win, ++windows) {
        bool low = windowDbfs(i) < -33.5;  // 20 dB below the tone
        quiet += low ? 1 : 0;
        quietRun = low ? quietRun + 1 : 0;
        longestQuietRun = std::max(longestQuietRun, quietRun);
    }
    EXPECT_GT(windows, 400u) << "less than 8 s of tone in bob.wav";
    EXPECT_LE(longestQuietRun, 5u) << "the tone dropped out for more than 100 ms";
    EXPECT_LE(quiet, windows / 50) << "more than 2% of the call below the tone's level";
    auto last = lastSecond(dir_ / "bob.wav");
    EXPECT_NEAR(last.frequency_hz, 440, 10);
    EXPECT_NEAR(last.rms_dbfs, -13.5, 3);
}

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    tern::testbed::Options options;
    options.accounts = {"alice", "bob", "carol"};
    options.proxy65 = false;
    options.tamper = true;  // only stanzas from "tamper-*" resources are altered
    ::testing::AddGlobalTestEnvironment(new tern::testbed::Suite(options));
    return RUN_ALL_TESTS();
}
