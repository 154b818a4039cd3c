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

#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <thread>

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
        if (!HasFailure()) fs::remove_all(dir_);
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

    fs::path dir_;
};

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

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    tern::testbed::Options options;
    options.accounts = {"alice", "bob", "carol"};
    options.proxy65 = false;
    options.tamper = true;  // only stanzas from "tamper-*" resources are altered
    ::testing::AddGlobalTestEnvironment(new tern::testbed::Suite(options));
    return RUN_ALL_TESTS();
}
