// ICE restart (RFC 8445 section 9) under a live DTLS/SCTP association: two real
// stacks (libnice on loopback, OpenSSL DTLS, usrsctp), each on its own network
// thread. Candidates and credentials are handed over by the test, generation by
// generation, the way transport-info carries them (XEP-0176 section 5.9).
#include "tern/transport/dtls_transport.hpp"
#include "tern/transport/ice_transport.hpp"
#include "tern/transport/network_thread.hpp"
#include "tern/transport/sctp_transport.hpp"

#include "event_box.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <random>

using namespace tern::transport;
using namespace std::chrono_literals;

namespace {

struct Events : tern::transport::test::EventBox {
    int sctpConnected = 0;  // times SCTP reported Connected
    bool failed = false;
    std::string reason;
    std::uint64_t received = 0;
    std::uint64_t checksum = 0;
    int restored = 0;
    std::map<unsigned, std::vector<IceCandidate>> candidates;  // per generation
    std::map<unsigned, bool> gathered;                          // per generation
    std::vector<SelectedPair> selected;
};

class Peer {
public:
    Peer(bool controlling, DtlsTransport::Role role) : controlling_(controlling), role_(role) {
        cert_ = Certificate::generate();
    }
    ~Peer() {
        thread_.invoke([this] {
            sctp_.reset();
            dtls_.reset();
            ice_.reset();
        });
    }

    void create() {
        thread_.invoke([&] {
            IceConfig config;
            config.controlling = controlling_;
            config.localAddresses = {"127.0.0.1"};
            IceTransport::Callbacks cb;
            cb.candidate = [this](const IceCandidate& c) {
                events.update([&] { events.candidates[c.generation].push_back(c); });
            };
            cb.gatheringDone = [this] {
                unsigned g = ice_->generation();
                events.update([&] { events.gathered[g] = true; });
            };
            cb.selected = [this](const SelectedPair& p) { events.update([&] { events.selected.push_back(p); }); };
            cb.pathLost = [this](const std::string& reason) {
                events.update([&] {
                    events.failed = true;
                    events.reason = "path lost: " + reason;
                });
            };
            cb.pathRestored = [this] { events.update([&] { ++events.restored; }); };
            ice_ = std::make_unique<IceTransport>(thread_, config, cb);
            dtls_ = std::make_unique<DtlsTransport>(thread_, *ice_, cert_, role_);
            SctpTransport::Callbacks scb;
            scb.message = [this](std::uint16_t, const std::uint8_t* d, std::size_t l, bool) {
                std::uint64_t sum = 0;
                for (std::size_t i = 0; i < l; ++i) sum += d[i];
                events.update([&] {
                    events.received += l;
                    events.checksum += sum;
                });
            };
            scb.writable = [this] { pump(); };
            sctp_ = SctpTransport::create(thread_, *dtls_, SctpConfig{}, scb);
            sctp_->onState([this](Transport::State s, const std::string& reason) {
                events.update([&] {
                    if (s == Transport::State::Connected) ++events.sctpConnected;
                    if (s == Transport::State::Failed || s == Transport::State::Closed) {
                        events.failed = true;
                        events.reason = reason;
                    }
                });
            });
        });
    }

    struct Credentials {
        std::string ufrag, pwd;
    };
    Credentials credentials() {
        Credentials c;
        thread_.invoke([&] {
            c.ufrag = ice_->localUfrag();
            c.pwd = ice_->localPwd();
        });
        return c;
    }
    std::string fingerprint() const { return cert_->fingerprint(); }

    void gather() {
        thread_.invoke([&] { ASSERT_TRUE(ice_->gather()); });
    }
    bool restart() {
        bool ok = false;
        thread_.invoke([&] { ok = ice_->restart(); });
        return ok;
    }
    unsigned generation() {
        unsigned g = 0;
        thread_.invoke([&] { g = ice_->generation(); });
        return g;
    }
    bool restarting() {
        bool r = false;
        thread_.invoke([&] { r = ice_->restarting(); });
        return r;
    }
    Transport::State iceState() {
        Transport::State s{};
        thread_.invoke([&] { s = ice_->state(); });
        return s;
    }
    bool waitGathered(unsigned generation) {
        return events.waitFor([&] { return events.gathered[generation] || events.failed; }, 10s) &&
               events.gathered[generation];
    }

    /// What a transport-info carries from `other` for its generation `generation`:
    /// credentials, then every candidate, then the end of candidates.
    void takeFrom(Peer& other, unsigned generation, bool withFingerprint) {
        auto creds = other.credentials();
        std::vector<IceCandidate> candidates;
        {
            std::lock_guard<std::mutex> lock(other.events.m);
            candidates = other.events.candidates[generation];
        }
        auto fp = other.fingerprint();
        thread_.invoke([&] {
            if (withFingerprint) dtls_->setRemoteFingerprint("sha-256", fp);
            ice_->setRemoteCredentials(creds.ufrag, creds.pwd);
            for (const auto& c : candidates) ice_->addRemoteCandidate(c);
            ice_->remoteGatheringDone();
        });
    }

    void openChannel() {
        thread_.invoke([&] {
            stream_ = sctp_->openChannel("filetransfer", "");
            ASSERT_GE(stream_, 0);
            std::mt19937 rng(7);
            chunk_.resize(16384);
            for (auto& b : chunk_) b = static_cast<std::uint8_t>(rng());
        });
    }
    /// Queues `more` bytes behind what is already being sent.
    void send(std::uint64_t more) {
        thread_.invoke([&] {
            total_ += more;
            pump();
        });
    }
    std::uint64_t sentChecksum(std::uint64_t total) const {
        std::uint64_t chunkSum = 0;
        for (auto b : chunk_) chunkSum += b;
        std::uint64_t sum = (total / chunk_.size()) * chunkSum;
        for (std::size_t i = 0; i < total % chunk_.size(); ++i) sum += chunk_[i];
        return sum;
    }

    Events events;
    NetworkThread thread_;

private:
    void pump() {
        while (stream_ >= 0 && sent_ < total_) {
            std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_.size(), total_ - sent_));
            std::size_t off = static_cast<std::size_t>(sent_ % chunk_.size());
            n = std::min(n, chunk_.size() - off);
            auto r = sctp_->sendMessage(static_cast<std::uint16_t>(stream_), chunk_.data() + off, n);
            if (r != SctpTransport::SendResult::Ok) return;
            sent_ += n;
        }
    }

    bool controlling_;
    DtlsTransport::Role role_;
    std::shared_ptr<Certificate> cert_;
    std::unique_ptr<IceTransport> ice_;
    std::unique_ptr<DtlsTransport> dtls_;
    std::shared_ptr<SctpTransport> sctp_;
    int stream_ = -1;
    std::uint64_t total_ = 0, sent_ = 0;
    std::vector<std::uint8_t> chunk_;
};

// Brings a and b up to an open data channel (generation 0).
void connect(Peer& a, Peer& b) {
    a.create();
    b.create();
    a.gather();
    b.gather();
    ASSERT_TRUE(a.waitGathered(0));
    ASSERT_TRUE(b.waitGathered(0));
    a.takeFrom(b, 0, true);
    b.takeFrom(a, 0, true);
    ASSERT_TRUE(a.events.waitFor([&] { return a.events.sctpConnected > 0 || a.events.failed; }, 20s));
    ASSERT_FALSE(a.events.failed) << a.events.reason;
    ASSERT_TRUE(b.events.waitFor([&] { return b.events.sctpConnected > 0 || b.events.failed; }, 20s));
    ASSERT_FALSE(b.events.failed) << b.events.reason;
    a.openChannel();
}

std::uint16_t lastLocalPort(Peer& p) {
    std::lock_guard<std::mutex> lock(p.events.m);
    return p.events.selected.empty() ? 0 : p.events.selected.back().local.port;
}

}  // namespace

// Both sides restart while bytes are in flight: new credentials, new sockets and a
// new selected pair, and every byte arrives once, on the same SCTP association (it
// reported Connected once, never failed; no new DTLS handshake, whose fingerprint
// check would need the fingerprint again, which the restart does not pass).
TEST(IceRestart, TransferContinuesOnTheSameAssociation) {
    Peer a(true, DtlsTransport::Role::Server), b(false, DtlsTransport::Role::Client);
    connect(a, b);
    ASSERT_FALSE(HasFailure());

    const std::uint64_t before = 4 * 1024 * 1024;
    a.send(before);
    ASSERT_TRUE(b.events.waitFor([&] { return b.events.received >= before / 2 || b.events.failed; }, 30s));
    ASSERT_FALSE(b.events.failed) << b.events.reason;

    auto oldA = a.credentials(), oldB = b.credentials();
    auto oldPortA = lastLocalPort(a), oldPortB = lastLocalPort(b);
    ASSERT_NE(oldPortA, 0);

    // The controlling side restarts and signals; the other follows and answers.
    ASSERT_TRUE(a.restart());
    EXPECT_EQ(a.generation(), 1u);
    EXPECT_TRUE(a.restarting());
    EXPECT_EQ(a.iceState(), Transport::State::Connected) << "a restart is not a failure for the layers above";
    ASSERT_TRUE(a.waitGathered(1));
    ASSERT_TRUE(b.restart());
    ASSERT_TRUE(b.waitGathered(1));
    b.takeFrom(a, 1, false);
    a.takeFrom(b, 1, false);

    auto newA = a.credentials(), newB = b.credentials();
    EXPECT_NE(newA.ufrag, oldA.ufrag);
    EXPECT_NE(newA.pwd, oldA.pwd);
    EXPECT_NE(newB.ufrag, oldB.ufrag);
    EXPECT_NE(newB.pwd, oldB.pwd);

    ASSERT_TRUE(a.events.waitFor([&] { return a.events.restored > 0 || a.events.failed; }, 20s)) << "a: no path back";
    ASSERT_TRUE(b.events.waitFor([&] { return b.events.restored > 0 || b.events.failed; }, 20s)) << "b: no path back";
    EXPECT_FALSE(a.restarting());
    EXPECT_FALSE(b.restarting());
    // The new pair runs on the new generation's sockets.
    EXPECT_NE(lastLocalPort(a), oldPortA);
    EXPECT_NE(lastLocalPort(b), oldPortB);
    {
        std::lock_guard<std::mutex> lock(a.events.m);
        for (const auto& c : a.events.candidates[1]) EXPECT_EQ(c.generation, 1u);
    }

    const std::uint64_t after = 4 * 1024 * 1024 + 321;
    a.send(after);
    const std::uint64_t total = before + after;
    ASSERT_TRUE(b.events.waitFor([&] { return b.events.received >= total || b.events.failed; }, 60s))
        << "received " << b.events.received << " of " << total;
    EXPECT_FALSE(a.events.failed) << a.events.reason;
    EXPECT_FALSE(b.events.failed) << b.events.reason;
    EXPECT_EQ(b.events.received, total);
    EXPECT_EQ(b.events.checksum, a.sentChecksum(total));
    EXPECT_EQ(a.events.sctpConnected, 1) << "SCTP came up again: not the same association";
    EXPECT_EQ(b.events.sctpConnected, 1);
}

// A restart whose peer never answers stays a restart in progress: the transport
// neither fails nor reports a path back, only candidates of the new generation are
// offered, and the previous stream keeps carrying the data both ways (RFC 8445
// section 9), also across a second restart that replaces the unanswered one.
TEST(IceRestart, DataFlowsOnThePreviousPathUntilTheNewOneConnects) {
    Peer a(true, DtlsTransport::Role::Server), b(false, DtlsTransport::Role::Client);
    connect(a, b);
    ASSERT_FALSE(HasFailure());
    ASSERT_TRUE(a.restart());
    ASSERT_TRUE(a.waitGathered(1));
    {
        std::lock_guard<std::mutex> lock(a.events.m);
        ASSERT_FALSE(a.events.candidates[1].empty());
        for (const auto& c : a.events.candidates[1]) EXPECT_EQ(c.generation, 1u);
    }
    const std::uint64_t first = 2 * 1024 * 1024;
    a.send(first);
    ASSERT_TRUE(b.events.waitFor([&] { return b.events.received >= first || b.events.failed; }, 30s))
        << "received " << b.events.received << " of " << first << " during the restart";
    EXPECT_TRUE(a.restarting());
    EXPECT_EQ(a.events.restored, 0);
    EXPECT_EQ(a.iceState(), Transport::State::Connected);

    // A second restart before the first was answered is a further generation; the path
    // that worked before both still works.
    ASSERT_TRUE(a.restart());
    EXPECT_EQ(a.generation(), 2u);
    ASSERT_TRUE(a.waitGathered(2));
    const std::uint64_t total = first + 1024 * 1024 + 7;
    a.send(total - first);
    ASSERT_TRUE(b.events.waitFor([&] { return b.events.received >= total || b.events.failed; }, 30s))
        << "received " << b.events.received << " of " << total;
    EXPECT_EQ(b.events.checksum, a.sentChecksum(total));
    EXPECT_FALSE(a.events.failed) << a.events.reason;
    EXPECT_FALSE(b.events.failed) << b.events.reason;
    EXPECT_EQ(a.events.sctpConnected, 1);
    EXPECT_TRUE(a.restarting());
}
