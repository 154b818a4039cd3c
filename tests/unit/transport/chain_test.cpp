// The transport chain end to end without XMPP: two real stacks (libnice ICE on
// loopback, OpenSSL DTLS, usrsctp SCTP + DCEP), each on its own network thread,
// with candidates and fingerprints handed over directly instead of through Jingle.
#include "tern/transport/dcep.hpp"
#include "tern/transport/dtls_transport.hpp"
#include "tern/transport/ice_transport.hpp"
#include "tern/transport/network_thread.hpp"
#include "tern/transport/sctp_transport.hpp"

#include "event_box.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <random>

using namespace tern::transport;
using namespace std::chrono_literals;

namespace {

struct Events : tern::transport::test::EventBox {
    bool sctpUp = false;
    bool failed = false;
    bool security = false;
    std::string reason;
    std::string label;
    std::uint64_t received = 0;
    std::uint64_t checksum = 0;
    std::string selectedType;
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

    void create(Peer& other) {
        thread_.invoke([&] {
            IceConfig config;
            config.controlling = controlling_;
            config.localAddresses = {"127.0.0.1"};
            IceTransport::Callbacks cb;
            cb.candidate = [this, &other](const IceCandidate& c) {
                other.thread_.post([&other, c] { other.ice_->addRemoteCandidate(c); });
            };
            cb.gatheringDone = [&other] { other.thread_.post([&other] { other.ice_->remoteGatheringDone(); }); };
            cb.selected = [this](const SelectedPair& p) { events.update([&] { events.selectedType = p.local.type; }); };
            ice_ = std::make_unique<IceTransport>(thread_, config, cb);
            dtls_ = std::make_unique<DtlsTransport>(thread_, *ice_, cert_, role_);
            SctpTransport::Callbacks scb;
            scb.channelOpen = [this](std::uint16_t, const std::string& label, const std::string&) {
                events.update([&] { events.label = label; });
            };
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
                    if (s == Transport::State::Connected) events.sctpUp = true;
                    if (s == Transport::State::Failed) {
                        events.failed = true;
                        events.reason = reason;
                        events.security = dtls_->securityFailure();
                    }
                });
            });
        });
    }

    void exchange(Peer& other, const std::string& fingerprintOverride = {}) {
        std::string ufrag, pwd, fp;
        other.thread_.invoke([&] {
            ufrag = other.ice_->localUfrag();
            pwd = other.ice_->localPwd();
            fp = other.cert_->fingerprint();
        });
        thread_.invoke([&] {
            ice_->setRemoteCredentials(ufrag, pwd);
            dtls_->setRemoteFingerprint("sha-256", fingerprintOverride.empty() ? fp : fingerprintOverride);
        });
    }

    void gather() {
        thread_.invoke([&] { ice_->gather(); });
    }

    // Sender: pushes `total` bytes of a pseudo-random pattern through a channel.
    void startSending(std::uint64_t total) {
        thread_.invoke([&] {
            stream_ = sctp_->openChannel("filetransfer", "");
            ASSERT_GE(stream_, 0);
            total_ = total;
            std::mt19937 rng(42);
            chunk_.resize(16384);
            for (auto& b : chunk_) b = static_cast<std::uint8_t>(rng());
            pump();
        });
    }
    std::uint64_t sentChecksum(std::uint64_t total) const {
        std::uint64_t sum = 0, chunkSum = 0;
        for (auto b : chunk_) chunkSum += b;
        std::uint64_t full = total / chunk_.size();
        sum = full * chunkSum;
        for (std::size_t i = 0; i < total % chunk_.size(); ++i) sum += chunk_[i];
        return sum;
    }

    Events events;
    NetworkThread thread_;

private:
    void pump() {
        while (stream_ >= 0 && sent_ < total_) {
            std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_.size(), total_ - sent_));
            auto r = sctp_->sendMessage(static_cast<std::uint16_t>(stream_), chunk_.data(), n);
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

}  // namespace

TEST(TransportChain, DataChannelCarriesBytesIntact) {
    Peer a(true, DtlsTransport::Role::Server), b(false, DtlsTransport::Role::Client);
    a.create(b);
    b.create(a);
    a.exchange(b);
    b.exchange(a);
    a.gather();
    b.gather();
    ASSERT_TRUE(a.events.waitFor([&] { return a.events.sctpUp || a.events.failed; }, 20s)) << "SCTP not up";
    ASSERT_FALSE(a.events.failed) << a.events.reason;
    ASSERT_TRUE(b.events.waitFor([&] { return b.events.sctpUp || b.events.failed; }, 20s));
    EXPECT_EQ(a.events.selectedType, "host");

    const std::uint64_t total = 8 * 1024 * 1024 + 123;
    a.startSending(total);
    ASSERT_TRUE(b.events.waitFor([&] { return b.events.received >= total || b.events.failed; }, 60s))
        << "received " << b.events.received;
    EXPECT_EQ(b.events.label, "filetransfer");
    EXPECT_EQ(b.events.received, total);
    EXPECT_EQ(b.events.checksum, a.sentChecksum(total));
}

TEST(TransportChain, FingerprintMismatchFailsAsSecurityError) {
    Peer a(true, DtlsTransport::Role::Server), b(false, DtlsTransport::Role::Client);
    a.create(b);
    b.create(a);
    a.exchange(b);
    // b is told a fingerprint that is not a's certificate.
    auto other = Certificate::generate();
    b.exchange(a, other->fingerprint());
    a.gather();
    b.gather();
    ASSERT_TRUE(b.events.waitFor([&] { return b.events.failed || b.events.sctpUp; }, 20s));
    EXPECT_TRUE(b.events.failed);
    EXPECT_TRUE(b.events.security) << b.events.reason;
    EXPECT_FALSE(b.events.sctpUp);
}

TEST(Dcep, OpenRoundTripAndMalformed) {
    dcep::Open open;
    open.label = "filetransfer";
    open.protocol = "xmpp-jingle";
    auto bytes = dcep::encodeOpen(open);
    auto parsed = dcep::parseOpen(bytes.data(), bytes.size());
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->label, "filetransfer");
    EXPECT_EQ(parsed->protocol, "xmpp-jingle");
    // Truncated: label length runs past the end.
    EXPECT_FALSE(dcep::parseOpen(bytes.data(), bytes.size() - 1));
    EXPECT_FALSE(dcep::parseOpen(bytes.data(), 5));
    EXPECT_TRUE(dcep::isAck(dcep::encodeAck().data(), 1));
}
