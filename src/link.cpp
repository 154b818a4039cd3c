#include "link.hpp"

#include "jingle_util.hpp"

#include "tern/transport/log.hpp"

#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tern::impl {

using transport::Transport;

std::shared_ptr<Link> Link::create(transport::NetworkThread& thread, std::shared_ptr<transport::Certificate> cert,
                                   LinkConfig config, LinkEvents events) {
    std::shared_ptr<Link> link(new Link(thread, std::move(config), std::move(events)));
    link->build(std::move(cert));
    return link;
}

Link::Link(transport::NetworkThread& thread, LinkConfig config, LinkEvents events)
    : thread_(thread), config_(std::move(config)), events_(std::move(events)), connectTimer_(thread),
      watchdogTimer_(thread) {}

void Link::build(std::shared_ptr<transport::Certificate> cert) {
    transport::IceTransport::Callbacks icb;
    icb.candidate = [this](const transport::IceCandidate& c) {
        if (events_.candidate) events_.candidate(c);
    };
    icb.gatheringDone = [this] {
        if (events_.gatheringDone) events_.gatheringDone(ice_->generation());
    };
    icb.selected = [this](const transport::SelectedPair& p) {
        if (events_.selected) events_.selected(p);
    };
    // libnice emits these from inside its own signal: act on them from a task of our own.
    std::weak_ptr<Link> weak = weak_from_this();
    icb.pathLost = [this, weak](const std::string& reason) {
        thread_.post([weak, reason] {
            if (auto self = weak.lock()) self->noticeLoss(reason);
        });
    };
    icb.pathRestored = [this, weak] {
        thread_.post([weak] {
            if (auto self = weak.lock()) self->pathBack();
        });
    };
    ice_ = std::make_unique<transport::IceTransport>(thread_, config_.ice, std::move(icb));
    ufrag_ = ice_->localUfrag();
    pwd_ = ice_->localPwd();
    dtls_ = std::make_unique<transport::DtlsTransport>(thread_, *ice_, std::move(cert), config_.dtlsRole);
    transport::SctpTransport::Callbacks scb;
    scb.channelOpen = [this](std::uint16_t stream, const std::string&, const std::string&) {
        if (config_.sender || stream_ >= 0) return;  // the receiver takes the sender's first channel
        stream_ = stream;
        onChannel();
    };
    scb.message = [this](std::uint16_t stream, const std::uint8_t* data, std::size_t len, bool) {
        if (!config_.sender && static_cast<int>(stream) == stream_) onData(data, len);
    };
    scb.channelClosed = [this](std::uint16_t stream) {
        if (static_cast<int>(stream) == stream_ && !done_) fail(ErrorCategory::PeerGone, "the peer closed the data channel early");
    };
    scb.writable = [this] { pumpSend(); };
    sctp_ = transport::SctpTransport::create(thread_, *dtls_, config_.sctp, scb);
    sctp_->onState([this](Transport::State s, const std::string& reason) { onSctpState(s, reason); });
    buffer_.resize(config_.sender ? config_.messageSize : 0);
    if (!config_.sender) {
        hash_ = EVP_MD_CTX_new();
        EVP_DigestInit_ex(hash_, EVP_sha256(), nullptr);
    }
}

Link::~Link() {
    connectTimer_.cancel();
    watchdogTimer_.cancel();
    sctp_.reset();
    dtls_.reset();
    ice_.reset();
    if (config_.fd >= 0) ::close(config_.fd);
    EVP_MD_CTX_free(hash_);
}

void Link::start() {
    connectTimer_.start(config_.connectTimeout, [this] {
        if (!channelOpen_) fail(ErrorCategory::NoIcePath, "no connection to the peer within the connect timeout");
        return false;
    });
    ice_->gather();
}

void Link::setRemote(const std::string& ufrag, const std::string& pwd, const std::string& fpHash,
                     const std::string& fingerprint) {
    // Trickled transport-info carries credentials at most: never clear a known fingerprint.
    if (!fingerprint.empty()) dtls_->setRemoteFingerprint(fpHash, fingerprint);
    if (!ufrag.empty() && !pwd.empty()) ice_->setRemoteCredentials(ufrag, pwd);
}

void Link::setRemoteSctp(std::uint16_t port, std::uint64_t maxMessageSize) {
    sctp_->setRemotePort(port);
    if (config_.sender && !channelOpen_ && maxMessageSize > 0) {
        config_.messageSize = static_cast<std::size_t>(std::min<std::uint64_t>(maxMessageSize, 65536));
        buffer_.resize(config_.messageSize);
    }
}

void Link::addRemoteCandidate(const transport::IceCandidate& candidate) { ice_->addRemoteCandidate(candidate); }
void Link::remoteGatheringDone() { ice_->remoteGatheringDone(); }

void Link::onSctpState(Transport::State s, const std::string& reason) {
    if (s == Transport::State::Connected) {
        silence_.reset(ice_->packetsReceived());
        watchdogTimer_.start(std::chrono::milliseconds(250), [this] {
            watchdog();
            return !failed_;
        });
        if (config_.sender) {
            stream_ = sctp_->openChannel(config_.channelLabel, config_.channelProtocol);
            if (stream_ < 0) {
                fail(ErrorCategory::Internal, "could not open the data channel");
                return;
            }
            onChannel();
        }
        return;
    }
    if (s == Transport::State::Failed || s == Transport::State::Closed) {
        if (done_ && s == Transport::State::Closed) return;
        if (dtls_->securityFailure()) fail(ErrorCategory::Security, reason);
        else if (ice_->state() == Transport::State::Failed) fail(ErrorCategory::NoIcePath, reason);
        else fail(ErrorCategory::PeerGone, reason.empty() ? "connection closed" : reason);
    }
}

void Link::onChannel() {
    channelOpen_ = true;
    connectTimer_.cancel();
    lastProgress_ = std::chrono::steady_clock::now();
    if (events_.channelOpen) events_.channelOpen();
    if (config_.sender) pumpSend();
    else if (config_.size == 0) finishReceive();
}

void Link::pumpSend() {
    if (!config_.sender || !channelOpen_ || done_ || failed_) return;
    while (bytes_ < config_.size) {
        if (pendingLen_ == 0) {
            std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer_.size(), config_.size - bytes_));
            ssize_t n = ::read(config_.fd, buffer_.data(), want);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                fail(ErrorCategory::Io, n < 0 ? std::string("cannot read the file: ") + std::strerror(errno)
                                              : "the file became shorter while it was being sent");
                return;
            }
            pendingLen_ = static_cast<std::size_t>(n);
        }
        auto r = sctp_->sendMessage(static_cast<std::uint16_t>(stream_), buffer_.data(), pendingLen_);
        if (r == transport::SctpTransport::SendResult::WouldBlock) break;
        if (r == transport::SctpTransport::SendResult::Error) return;  // the state callback reports it
        bytes_ += pendingLen_;
        pendingLen_ = 0;
    }
    reportProgress(bytes_ >= config_.size);
    if (bytes_ >= config_.size && !done_) {
        done_ = true;
        if (events_.dataDone) events_.dataDone({});
    }
}

void Link::onData(const std::uint8_t* data, std::size_t len) {
    if (done_ || failed_) return;
    if (bytes_ + len > config_.size) {
        fail(ErrorCategory::Protocol, "the peer sent more bytes than it announced");
        return;
    }
    EVP_DigestUpdate(hash_, data, len);
    std::size_t off = 0;
    while (off < len) {
        ssize_t n = ::write(config_.fd, data + off, len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            fail(ErrorCategory::Io, std::string("cannot write the file: ") + std::strerror(errno));
            return;
        }
        off += static_cast<std::size_t>(n);
    }
    bytes_ += len;
    reportProgress(false);
    if (bytes_ == config_.size) finishReceive();
}

void Link::finishReceive() {
    done_ = true;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(hash_, digest, &len);
    if (::close(config_.fd) != 0) {
        config_.fd = -1;
        fail(ErrorCategory::Io, std::string("cannot close the file: ") + std::strerror(errno));
        return;
    }
    config_.fd = -1;
    reportProgress(true);
    if (events_.dataDone) events_.dataDone(toHex(std::vector<std::uint8_t>(digest, digest + len)));
}

void Link::reportProgress(bool force) {
    auto now = std::chrono::steady_clock::now();
    if (!force && now - lastProgress_ < std::chrono::milliseconds(100)) return;
    lastProgress_ = now;
    reportedBytes_ = bytes_;
    if (events_.progress) events_.progress(bytes_);
}

namespace {
std::string seconds(std::chrono::milliseconds ms) {
    if (ms < std::chrono::seconds(1)) return std::to_string(ms.count()) + " ms";
    auto tenths = ms.count() / 100;
    return std::to_string(tenths / 10) + (tenths % 10 ? "." + std::to_string(tenths % 10) : "") + " s";
}
}  // namespace

void Link::watchdog() {
    // Progress is reported at most every 100 ms: bytes that came after the last report
    // (a burst that stopped) are reported here, so the app (and the transfer's stall
    // watchdog) see where it stands.
    if (bytes_ != reportedBytes_ && !failed_) reportProgress(true);
    auto packets = ice_->packetsReceived();
    auto quiet = silence_.silence(packets);
    if (lost_) {
        if (packets != lostPackets_) {
            // The old path carries packets again (a short outage; during a restart the
            // previous stream still receives): the link is not lost any more.
            lost_ = false;
            transport::logWarning("link: the path carries packets again");
            if (events_.pathRestored) events_.pathRestored();
            return;
        }
        if (std::chrono::steady_clock::now() - lostAt_ >= config_.restartTimeout)
            fail(ErrorCategory::PeerGone, "the peer stopped responding (no path back within " +
                                              seconds(config_.restartTimeout) + " of losing it)");
        return;
    }
    if (quiet >= config_.silenceTimeout) {
        fail(ErrorCategory::PeerGone, "the peer stopped responding");
        return;
    }
    // After a restart SCTP resumes at its next retransmission, whose timer has backed off
    // during the outage: until it does, only the silence timeout applies.
    if (awaitingResume_) {
        if (quiet == std::chrono::steady_clock::duration{}) awaitingResume_ = false;
        return;
    }
    if (quiet >= config_.pathLossTimeout)
        noticeLoss("nothing received for " + seconds(std::chrono::duration_cast<std::chrono::milliseconds>(quiet)));
}

void Link::noticeLoss(const std::string& reason) {
    if (failed_ || lost_) return;
    if (!channelOpen_) {  // not yet connected end to end: nothing to keep
        fail(ErrorCategory::NoIcePath, reason);
        return;
    }
    if (done_ && !config_.sender) return;  // every byte is here already
    lost_ = true;
    lostAt_ = std::chrono::steady_clock::now();
    lostPackets_ = ice_->packetsReceived();
    transport::logWarning("link: path lost: " + reason);
    if (events_.pathLost) events_.pathLost(reason);
}

bool Link::restartIce() {
    if (failed_) return false;
    if (ice_->restarting() && ice_->remoteUfrag().empty()) return true;  // ours, still waiting for the peer
    if (restarts_ >= config_.maxRestarts) {
        transport::logWarning("link: no ICE restart left (" + std::to_string(restarts_) + " made)");
        return false;
    }
    ++restarts_;
    if (!lost_) {  // asked by the peer: the same bound applies from now
        lost_ = true;
        lostAt_ = std::chrono::steady_clock::now();
        lostPackets_ = ice_->packetsReceived();
    }
    if (!ice_->restart()) {
        // The transfer had a path (a restart comes only after one): it broke, and no new one
        // can be looked for.
        fail(ErrorCategory::PeerGone, "the path broke and the ICE restart could not gather candidates");
        return false;
    }
    ufrag_ = ice_->localUfrag();
    pwd_ = ice_->localPwd();
    transport::logWarning("link: ICE restart " + std::to_string(restarts_) + " (generation " +
                          std::to_string(ice_->generation()) + ", ufrag " + ufrag_ + ")");
    return true;
}

void Link::pathBack() {
    if (failed_) return;
    bool wasLost = lost_;
    lost_ = false;
    awaitingResume_ = true;
    silence_.reset(ice_->packetsReceived());
    auto since = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - lostAt_);
    transport::logWarning("link: path back after ICE restart (generation " + std::to_string(ice_->generation()) + ")" +
                          (wasLost ? ", " + seconds(since) + " after the loss" : ""));
    if (events_.pathRestored) events_.pathRestored();
}

void Link::fail(ErrorCategory category, const std::string& message) {
    if (failed_) return;
    failed_ = true;
    connectTimer_.cancel();
    if (events_.failed) events_.failed(category, message);
}

}  // namespace tern::impl
