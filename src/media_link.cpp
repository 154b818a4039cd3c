#include "media_link.hpp"

#include "tern/transport/log.hpp"

namespace tern::impl {

using transport::Transport;

std::unique_ptr<MediaLink> MediaLink::create(transport::NetworkThread& thread,
                                             std::shared_ptr<transport::Certificate> cert, MediaLinkConfig config,
                                             MediaLinkEvents events) {
    std::unique_ptr<MediaLink> link(new MediaLink(thread, std::move(config), std::move(events)));
    link->build(std::move(cert));
    return link;
}

MediaLink::MediaLink(transport::NetworkThread& thread, MediaLinkConfig config, MediaLinkEvents events)
    : thread_(thread), config_(std::move(config)), events_(std::move(events)), connectTimer_(thread),
      watchdogTimer_(thread) {}

void MediaLink::build(std::shared_ptr<transport::Certificate> cert) {
    ice_ = std::make_unique<transport::IceTransport>(thread_, config_.ice, forwardIceEvents(events_));
    ufrag_ = ice_->localUfrag();
    pwd_ = ice_->localPwd();
    dtls_ = std::make_unique<transport::DtlsTransport>(thread_, *ice_, std::move(cert), config_.dtlsRole,
                                                       transport::DtlsTransport::defaultSrtpProfiles());
    srtp_ = std::make_unique<transport::SrtpTransport>(thread_, *dtls_);
    srtp_->onState([this](Transport::State s, const std::string& reason) { onSrtpState(s, reason); });
    srtp_->onRtp([this](const std::uint8_t* data, std::size_t len) {
        if (events_.rtp) events_.rtp(data, len);
    });
    srtp_->onRtcp([this](const std::uint8_t* data, std::size_t len) {
        if (events_.rtcp) events_.rtcp(data, len);
    });
}

MediaLink::~MediaLink() {
    connectTimer_.cancel();
    watchdogTimer_.cancel();
    srtp_.reset();
    dtls_.reset();
    ice_.reset();
}

void MediaLink::start() {
    connectTimer_.start(config_.connectTimeout, [this] {
        if (!connected_) fail(ErrorCategory::NoIcePath, "no connection to the peer within the connect timeout");
        return false;
    });
    ice_->gather();
}

void MediaLink::setRemote(const std::string& ufrag, const std::string& pwd, const std::string& fpHash,
                          const std::string& fingerprint) {
    if (!fingerprint.empty()) dtls_->setRemoteFingerprint(fpHash, fingerprint);
    if (!ufrag.empty() && !pwd.empty()) ice_->setRemoteCredentials(ufrag, pwd);
}

void MediaLink::addRemoteCandidate(const transport::IceCandidate& candidate) { ice_->addRemoteCandidate(candidate); }
void MediaLink::remoteGatheringDone() { ice_->remoteGatheringDone(); }

void MediaLink::onSrtpState(Transport::State s, const std::string& reason) {
    if (s == Transport::State::Connected) {
        connected_ = true;
        connectTimer_.cancel();
        silence_.reset(ice_->packetsReceived());
        watchdogTimer_.start(std::chrono::milliseconds(1000), [this] {
            watchdog();
            return !failed_;
        });
        auto profile = srtp_->profile();
        if (events_.connected) events_.connected(profile ? transport::toString(*profile) : "");
        return;
    }
    if (s == Transport::State::Closed && connected_ && !dtls_->securityFailure()) {
        if (failed_) return;
        failed_ = true;
        connectTimer_.cancel();
        if (events_.closedByPeer) events_.closedByPeer();
        return;
    }
    if (s == Transport::State::Failed || s == Transport::State::Closed) {
        if (dtls_->securityFailure()) fail(ErrorCategory::Security, reason);
        else if (ice_->state() == Transport::State::Failed) fail(ErrorCategory::NoIcePath, reason);
        else fail(ErrorCategory::PeerGone, reason.empty() ? "connection closed" : reason);
    }
}

void MediaLink::watchdog() {
    if (silence_.silentFor(ice_->packetsReceived(), config_.silenceTimeout)) fail(ErrorCategory::PeerGone, "the peer stopped sending");
}

void MediaLink::fail(ErrorCategory category, const std::string& message) {
    if (failed_) return;
    failed_ = true;
    connectTimer_.cancel();  // the watchdog stops itself (it returns !failed_)
    if (events_.failed) events_.failed(category, message);
}

}  // namespace tern::impl
