// File transfer end to end through a real Prosody (signaling, XEP-0215) and a
// real coturn, between the real sample programs tern-send and tern-receive:
// Jingle over XMPP, ICE (libnice), DTLS (OpenSSL), SCTP (usrsctp). Nothing is
// mocked. Every run checks exit codes and the SHA-256 of what arrived.
#include "process.hpp"
#include "tern/testbed/test_client.hpp"
#include "integration.hpp"
#include "tern/testbed/testbed.hpp"

#include <gloox/tag.h>

#include <gtest/gtest.h>

#include <openssl/evp.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <sys/wait.h>
#include <thread>

namespace fs = std::filesystem;
using tern::testbed::Testbed;
using tern::testbed::detail::Process;
using tern::testbed::exitCode;
using tern::testbed::readFile;
using tern::testbed::sha256File;
using namespace std::chrono_literals;

namespace {

Testbed* bed() { return tern::testbed::Suite::bed(); }

void writeRandom(const fs::path& path, std::uint64_t size) {
    std::ofstream out(path, std::ios::binary);
    std::mt19937_64 rng(size);
    std::vector<std::uint64_t> block(1 << 16);
    while (size > 0) {
        for (auto& w : block) w = rng();
        auto n = std::min<std::uint64_t>(size, block.size() * 8);
        out.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(n));
        size -= n;
    }
}

// What a transfer through a tampering server ended with (FileTransferTest::tampered).
struct TamperedRun {
    int sent = -1, recv = -1;
    std::string slog, rlog;
};

class FileTransferTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_NE(bed(), nullptr);
        dir_ = fs::temp_directory_path() / ("tern-ft-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_ / "in");
    }
    void TearDown() override {
        tern::testbed::finishTestDir(dir_, HasFailure());
    }

    std::vector<std::string> account(const std::string& name, const std::string& resource, bool bosh = false) {
        const auto& a = bed()->account(name);
        std::vector<std::string> args = {"--jid", a.jid + "/" + resource, "--password", a.password,
                                         "--local-address", "127.0.0.1", "--timeout", "120"};
        if (bosh) {
            args.push_back("--bosh");
            args.push_back(bed()->boshUrl());
        } else {
            args.insert(args.end(), {"--server", bed()->host(), "--port", std::to_string(bed()->c2sPort())});
        }
        return args;
    }

    Process receiver(std::vector<std::string> extra = {}) {
        std::vector<std::string> argv = {TERN_RECEIVE};
        auto acc = account("bob", "recv");
        argv.insert(argv.end(), acc.begin(), acc.end());
        argv.insert(argv.end(), extra.begin(), extra.end());
        argv.push_back((dir_ / "in").string());
        auto p = Process::spawn(argv, dir_ / "receiver.log");
        // Ready once it has logged in (its first line).
        auto deadline = std::chrono::steady_clock::now() + 20s;
        while (readFile(dir_ / "receiver.log").find("logged in") == std::string::npos) {
            if (!p.running() || std::chrono::steady_clock::now() > deadline) break;
            std::this_thread::sleep_for(20ms);  // polling a log file for an event
        }
        EXPECT_NE(readFile(dir_ / "receiver.log").find("logged in"), std::string::npos) << readFile(dir_ / "receiver.log");
        return p;
    }

    Process sender(const fs::path& file, std::vector<std::string> extra = {}, const std::string& peer = "",
                   bool bosh = false, const std::string& resource = "send") {
        std::vector<std::string> argv = {TERN_SEND};
        auto acc = account("alice", resource, bosh);
        argv.insert(argv.end(), acc.begin(), acc.end());
        argv.insert(argv.end(), extra.begin(), extra.end());
        argv.push_back(peer.empty() ? bed()->account("bob").jid + "/recv" : peer);
        argv.push_back(file.string());
        return Process::spawn(argv, dir_ / "sender.log");
    }

    bool waitForLog(const std::string& file, const std::string& text, std::chrono::seconds timeout) {
        return tern::testbed::waitForText(dir_ / file, text, timeout);
    }

    void roundTrip(std::uint64_t size, std::vector<std::string> extra = {}, bool bosh = false) {
        auto src = dir_ / "payload.bin";
        writeRandom(src, size);
        auto r = receiver(extra);
        auto s = sender(src, extra, "", bosh);
        int sent = exitCode(s.wait(180s));
        int recv = exitCode(r.wait(30s));
        ASSERT_EQ(sent, 0) << readFile(dir_ / "sender.log");
        ASSERT_EQ(recv, 0) << readFile(dir_ / "receiver.log");
        auto dst = dir_ / "in" / "payload.bin";
        ASSERT_TRUE(fs::exists(dst));
        EXPECT_EQ(fs::file_size(dst), size);
        EXPECT_EQ(sha256File(dst), sha256File(src));
        EXPECT_FALSE(fs::exists(dir_ / "in" / "payload.bin.part"));
        EXPECT_NE(readFile(dir_ / "receiver.log").find(sha256File(src) + " verified"), std::string::npos);
    }

    // The receiver kept neither the file nor its .part.
    void expectNothingKept() {
        EXPECT_FALSE(fs::exists(dir_ / "in" / "payload.bin"));
        EXPECT_FALSE(fs::exists(dir_ / "in" / "payload.bin.part"));
    }

    // A transfer of `size` random bytes from a sender whose Jingle IQs the server alters
    // (the mod_tern_tamper mode is the sender's resource); the sender gets `timeout`.
    TamperedRun tampered(const std::string& mode, std::uint64_t size, std::chrono::seconds timeout) {
        auto src = dir_ / "payload.bin";
        writeRandom(src, size);
        auto r = receiver();
        auto s = sender(src, {}, "", false, mode);
        TamperedRun run;
        run.sent = exitCode(s.wait(timeout));
        run.recv = exitCode(r.wait(30s));
        run.slog = readFile(dir_ / "sender.log");
        run.rlog = readFile(dir_ / "receiver.log");
        return run;
    }

    // 256 MiB over the relay path (slower, which leaves time to act mid-transfer);
    // returns once the receiver reports data flowing.
    std::pair<Process, Process> startRelayTransferAndWaitForData() {
        auto src = dir_ / "payload.bin";
        writeRandom(src, 256ull << 20);
        auto r = receiver({"--relay-only"});
        auto s = sender(src, {"--relay-only"});
        EXPECT_TRUE(waitForLog("receiver.log", "receiving progress", 60s)) << readFile(dir_ / "receiver.log");
        return {std::move(r), std::move(s)};
    }

    fs::path dir_;
};

}  // namespace

TEST_F(FileTransferTest, EmptyFile) { roundTrip(0); }
TEST_F(FileTransferTest, OneByte) { roundTrip(1); }
TEST_F(FileTransferTest, OneMebibyte) { roundTrip(1 << 20); }
TEST_F(FileTransferTest, TwoHundredFiftySixMebibytes) { roundTrip(256ull << 20); }
TEST_F(FileTransferTest, SctpmapDialect) { roundTrip(1 << 20, {"--sctpmap"}); }
TEST_F(FileTransferTest, SenderOverBosh) { roundTrip(1 << 20, {}, true); }

TEST_F(FileTransferTest, RelayOnlyThroughCoturn) {
    roundTrip(4 << 20, {"--relay-only"});
    auto log = readFile(dir_ / "sender.log");
    EXPECT_NE(log.find("path relay -> relay"), std::string::npos) << log;
}

TEST_F(FileTransferTest, BareJidFindsTheResource) {
    auto src = dir_ / "payload.bin";
    writeRandom(src, 65536);
    auto r = receiver();
    auto s = sender(src, {}, bed()->account("bob").jid);
    ASSERT_EQ(exitCode(s.wait(60s)), 0) << readFile(dir_ / "sender.log");
    ASSERT_EQ(exitCode(r.wait(30s)), 0) << readFile(dir_ / "receiver.log");
    EXPECT_EQ(sha256File(dir_ / "in" / "payload.bin"), sha256File(src));
}

TEST_F(FileTransferTest, DeclinedOffer) {
    auto src = dir_ / "payload.bin";
    writeRandom(src, 1000);
    auto r = receiver({"--from", bed()->account("carol").jid});  // alice is not allowed
    auto s = sender(src);
    EXPECT_EQ(exitCode(s.wait(60s)), 6) << readFile(dir_ / "sender.log");  // declined
    r.stop();
    EXPECT_FALSE(fs::exists(dir_ / "in" / "payload.bin"));
    EXPECT_FALSE(fs::exists(dir_ / "in" / "payload.bin.part"));
}

TEST_F(FileTransferTest, PeerOffline) {
    auto src = dir_ / "payload.bin";
    writeRandom(src, 1000);
    auto s = sender(src, {}, bed()->account("bob").jid + "/nobody");
    EXPECT_EQ(exitCode(s.wait(60s)), 4) << readFile(dir_ / "sender.log");
}

TEST_F(FileTransferTest, LoginFailure) {
    auto src = dir_ / "payload.bin";
    writeRandom(src, 10);
    auto p = Process::spawn({TERN_SEND, "--jid", "alice@localhost", "--password", "wrong", "--server", bed()->host(), "--port",
                             std::to_string(bed()->c2sPort()), "bob@localhost", src.string()},
                            dir_ / "sender.log");
    EXPECT_EQ(exitCode(p.wait(60s)), 3) << readFile(dir_ / "sender.log");
}

TEST_F(FileTransferTest, BadArguments) {
    auto p = Process::spawn({TERN_SEND, "--jid", "alice@localhost"}, dir_ / "sender.log");
    EXPECT_EQ(exitCode(p.wait(30s)), 2) << readFile(dir_ / "sender.log");
}

// The relay path is slower, which leaves time to interrupt mid-transfer.
TEST_F(FileTransferTest, SenderCancelsMidTransfer) {
    auto [r, s] = startRelayTransferAndWaitForData();
    ASSERT_FALSE(HasFailure());
    ::kill(s.pid(), SIGINT);
    EXPECT_EQ(exitCode(s.wait(30s)), 9) << readFile(dir_ / "sender.log");
    EXPECT_EQ(exitCode(r.wait(30s)), 9) << readFile(dir_ / "receiver.log");
    EXPECT_FALSE(fs::exists(dir_ / "in" / "payload.bin"));
    EXPECT_FALSE(fs::exists(dir_ / "in" / "payload.bin.part"));
}

TEST_F(FileTransferTest, ReceiverCancelsMidTransfer) {
    auto [r, s] = startRelayTransferAndWaitForData();
    ASSERT_FALSE(HasFailure());
    ::kill(r.pid(), SIGINT);
    EXPECT_EQ(exitCode(r.wait(30s)), 9) << readFile(dir_ / "receiver.log");
    EXPECT_EQ(exitCode(s.wait(30s)), 9) << readFile(dir_ / "sender.log");
    EXPECT_FALSE(fs::exists(dir_ / "in" / "payload.bin"));
    EXPECT_FALSE(fs::exists(dir_ / "in" / "payload.bin.part"));
}

TEST_F(FileTransferTest, ReceiverKilledSenderReportsWithin15Seconds) {
    auto [r, s] = startRelayTransferAndWaitForData();
    ASSERT_FALSE(HasFailure());
    ::kill(r.pid(), SIGKILL);
    auto killedAt = std::chrono::steady_clock::now();
    int code = exitCode(s.wait(20s));
    auto took = std::chrono::steady_clock::now() - killedAt;
    EXPECT_NE(code, 0) << readFile(dir_ / "sender.log");
    EXPECT_NE(code, -1) << "sender still running 20 s after the receiver died";
    EXPECT_LT(took, 15s);
    EXPECT_FALSE(fs::exists(dir_ / "in" / "payload.bin"));  // only a .part may remain
}

// The TURN server carrying a relay-only transfer goes away mid-transfer (frozen
// with SIGSTOP, so that the suite's later tests still have it: to both peers the
// relay simply stops forwarding and answering). Both sides report the failure
// within 15 s, and the receiver keeps no file that looks complete.
TEST_F(FileTransferTest, TurnServerGoneDuringRelayedTransfer) {
    ASSERT_GT(bed()->turnPid(), 0);
    auto [r, s] = startRelayTransferAndWaitForData();
    ASSERT_FALSE(HasFailure());
    tern::testbed::Frozen frozen(bed()->turnPid());
    ASSERT_TRUE(frozen.ok());
    auto stoppedAt = std::chrono::steady_clock::now();
    int sent = exitCode(s.wait(20s));
    int recv = exitCode(r.wait(20s));
    auto took = std::chrono::steady_clock::now() - stoppedAt;
    EXPECT_NE(sent, 0) << readFile(dir_ / "sender.log");
    EXPECT_NE(sent, -1) << "sender still running 20 s after the relay went away";
    EXPECT_NE(recv, 0) << readFile(dir_ / "receiver.log");
    EXPECT_NE(recv, -1) << "receiver still running 20 s after the relay went away";
    EXPECT_LT(took, 15s);
    EXPECT_FALSE(fs::exists(dir_ / "in" / "payload.bin"));
    EXPECT_FALSE(fs::exists(dir_ / "in" / "payload.bin.part"));  // a failed receive removes its part file
}

// The server (mod_tern_tamper) replaces the sender's DTLS fingerprint: the
// certificate the sender then presents does not match what was signalled, the
// receiver refuses the DTLS session and ends the Jingle session with
// <security-error/>. Nothing is written.
TEST_F(FileTransferTest, CertificateNotMatchingFingerprintIsRefused) {
    auto src = dir_ / "payload.bin";
    writeRandom(src, 1 << 20);
    auto r = receiver({"--xml-log"});
    auto s = sender(src, {}, "", false, "tamper-fingerprint");
    int sent = exitCode(s.wait(60s));
    int recv = exitCode(r.wait(30s));
    EXPECT_EQ(recv, 10) << readFile(dir_ / "receiver.log");
    EXPECT_EQ(sent, 10) << readFile(dir_ / "sender.log");
    EXPECT_NE(readFile(dir_ / "receiver.log").find("<security-error/>"), std::string::npos)
        << readFile(dir_ / "receiver.log");
    EXPECT_NE(bed()->logTail("prosody.log", 400).find("tamper-fingerprint: altered"), std::string::npos);
    EXPECT_FALSE(fs::exists(dir_ / "in" / "payload.bin"));
    EXPECT_FALSE(fs::exists(dir_ / "in" / "payload.bin.part"));
}

// An offer whose transport carries no fingerprint at all is refused before any
// DTLS: session-terminate with <security-error/>. The offer never reaches the
// app as a usable offer (the receiver says why and goes on waiting).
TEST_F(FileTransferTest, OfferWithoutFingerprintIsRefused) {
    auto src = dir_ / "payload.bin";
    writeRandom(src, 1 << 20);
    auto r = receiver({"--xml-log"});
    auto s = sender(src, {}, "", false, "strip-fingerprint");
    EXPECT_EQ(exitCode(s.wait(60s)), 10) << readFile(dir_ / "sender.log");
    EXPECT_TRUE(waitForLog("receiver.log", "refused a file offer from " + bed()->account("alice").jid +
                           "/strip-fingerprint: no DTLS fingerprint", 10s)) << readFile(dir_ / "receiver.log");
    EXPECT_TRUE(r.running());
    r.stop();
    EXPECT_NE(readFile(dir_ / "receiver.log").find("<security-error/>"), std::string::npos)
        << readFile(dir_ / "receiver.log");
    EXPECT_FALSE(fs::exists(dir_ / "in" / "payload.bin"));
    EXPECT_FALSE(fs::exists(dir_ / "in" / "payload.bin.part"));
}

// The announced SHA-256 is not the hash of the bytes that arrive: the receiver
// says so (exit 8), keeps no file that looks complete and no .part.
TEST_F(FileTransferTest, HashMismatchKeepsNoFile) {
    auto run = tampered("tamper-hash", 1 << 20, 60s);
    EXPECT_EQ(run.recv, 8) << run.rlog;
    EXPECT_EQ(run.sent, 8) << run.slog;
    expectNothingKept();
}

// The offer announces half the file's size (a server rewrites <size/>): the sender
// sends more bytes than the receiver was told. The receiver stops at the first byte
// past the announced size, says so, and keeps nothing; the sender learns of it.
TEST_F(FileTransferTest, MoreBytesThanAnnouncedKeepsNoFile) {
    // Half of it (524788) is not a multiple of the 64 KiB messages: one message
    // crosses the announced end.
    auto run = tampered("shrink-size", (1 << 20) + 1000, 60s);
    EXPECT_NE(run.rlog.find("payload.bin (512.5 KiB)"), std::string::npos) << "the offer was not altered: " << run.rlog;
    EXPECT_NE(run.rlog.find("failed (protocol): the peer sent more bytes than it announced"), std::string::npos)
        << run.rlog;
    EXPECT_EQ(run.recv, 1) << run.rlog;
    EXPECT_EQ(run.sent, 1) << run.slog;
    EXPECT_NE(run.slog.find("more bytes than it announced"), std::string::npos) << run.slog;
    expectNothingKept();
}

// The offer announces twice the file's size: the sender sends all it has and
// waits; the receiver never gets the rest. Neither side may wait forever: 30 s
// after the bytes stopped moving on a working path, both fail with a timeout
// (exit 13) that says so, and the receiver keeps nothing.
TEST_F(FileTransferTest, FewerBytesThanAnnouncedKeepsNoFile) {
    auto run = tampered("grow-size", 1 << 20, 90s);
    const auto& slog = run.slog;
    const auto& rlog = run.rlog;
    EXPECT_NE(rlog.find("payload.bin (2.0 MiB)"), std::string::npos) << "the offer was not altered: " << rlog;
    EXPECT_EQ(run.recv, 13) << rlog;
    EXPECT_EQ(run.sent, 13) << slog;
    // Whichever side's watchdog fired first says why; the other reports that its peer
    // stopped waiting.
    const bool senderGaveUp = slog.find("did not confirm the file within 30 s of the last byte") != std::string::npos;
    const bool receiverGaveUp = rlog.find("no data for 30 s (1048576 of the 2097152 bytes announced received)") !=
                                std::string::npos;
    EXPECT_TRUE(senderGaveUp || receiverGaveUp) << slog << rlog;
    EXPECT_NE((senderGaveUp ? rlog : slog).find("the peer stopped waiting"), std::string::npos) << slog << rlog;
    // The idle path is not taken for a lost one (SCTP heartbeats every second or so).
    EXPECT_EQ((rlog + slog).find("path lost"), std::string::npos) << slog << rlog;
    expectNothingKept();
}

// Hostile Jingle IQs from another account, through the real server, to a
// running receiver: each gets the right error, and the receiver still works.
TEST_F(FileTransferTest, HostileIqsGetErrorsAndReceiverKeepsWorking) {
    auto r = receiver();
    tern::testbed::TestClient carol(*bed(), "carol", tern::testbed::TestClient::Transport::Tcp, "probe");
    ASSERT_TRUE(carol.connect(10s)) << carol.logTail();
    gloox::JID bob(bed()->account("bob").jid + "/recv");

    gloox::Tag unknown("jingle");
    unknown.setXmlns("urn:xmpp:jingle:1");
    unknown.addAttribute("action", "session-terminate");
    unknown.addAttribute("sid", "no-such-session");
    new gloox::Tag(new gloox::Tag(&unknown, "reason"), "success");
    auto reply = carol.request(bob, gloox::IQ::Set, unknown, 10s);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->type, gloox::IQ::Error);
    EXPECT_NE(reply->error.find("item-not-found"), std::string::npos) << reply->error;
    EXPECT_NE(reply->error.find("unknown-session"), std::string::npos) << reply->error;

    gloox::Tag noSid("jingle");
    noSid.setXmlns("urn:xmpp:jingle:1");
    noSid.addAttribute("action", "session-initiate");
    reply = carol.request(bob, gloox::IQ::Set, noSid, 10s);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->type, gloox::IQ::Error);
    EXPECT_NE(reply->error.find("bad-request"), std::string::npos) << reply->error;

    // The receiver is unharmed: a real transfer still goes through.
    auto src = dir_ / "payload.bin";
    writeRandom(src, 1 << 20);
    auto s = sender(src);
    ASSERT_EQ(exitCode(s.wait(60s)), 0) << readFile(dir_ / "sender.log");
    ASSERT_EQ(exitCode(r.wait(30s)), 0) << readFile(dir_ / "receiver.log");
    EXPECT_EQ(sha256File(dir_ / "in" / "payload.bin"), sha256File(src));
}

// coturn, the relay of a relay-only transfer, is killed mid-transfer (SIGKILL: its
// allocations and the relayed flow vanish, nothing says goodbye). Both sides report the
// failure within 15 s (exit 12, the peer stopped responding), and the receiver keeps no
// file that looks complete: no payload.bin, and its .part is removed. coturn is started
// again on the same ports afterwards (TurnKilled), and a relayed transfer works again.
TEST_F(FileTransferTest, TurnServerKilledDuringRelayedTransfer) {
    ASSERT_GT(bed()->turnPid(), 0);
    auto [r, s] = startRelayTransferAndWaitForData();
    ASSERT_FALSE(HasFailure());
    {
        tern::testbed::TurnKilled killed(*bed());
        ASSERT_TRUE(killed.ok());
        auto killedAt = std::chrono::steady_clock::now();
        int sent = exitCode(s.wait(20s));
        auto sentTook = std::chrono::steady_clock::now() - killedAt;
        int recv = exitCode(r.wait(20s));
        auto recvTook = std::chrono::steady_clock::now() - killedAt;
        // The side that notices the silence first ends with 12 and tells the other in a
        // session-terminate with <connectivity-error/> (the server is up); for a transfer that
        // was running, that side reports a lost connection (12) too.
        std::printf("[ killed   ] sender exit %d after %.1f s, receiver exit %d after %.1f s\n", sent,
                    std::chrono::duration<double>(sentTook).count(), recv,
                    std::chrono::duration<double>(recvTook).count());
        EXPECT_EQ(sent, 12) << readFile(dir_ / "sender.log");
        EXPECT_EQ(recv, 12) << readFile(dir_ / "receiver.log");
        EXPECT_LT(sentTook, 15s) << readFile(dir_ / "sender.log");
        EXPECT_LT(recvTook, 15s) << readFile(dir_ / "receiver.log");
        EXPECT_FALSE(fs::exists(dir_ / "in" / "payload.bin"));
        EXPECT_FALSE(fs::exists(dir_ / "in" / "payload.bin.part"));
    }
    ASSERT_TRUE(bed()->turnRunning());
    // The new coturn relays again (same ports and secret, so the credentials Prosody hands out
    // still work).
    fs::rename(dir_ / "sender.log", dir_ / "sender-killed.log");
    fs::rename(dir_ / "receiver.log", dir_ / "receiver-killed.log");
    roundTrip(1 << 20, {"--relay-only"});
    EXPECT_NE(readFile(dir_ / "sender.log").find("path relay -> relay"), std::string::npos)
        << readFile(dir_ / "sender.log");
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
