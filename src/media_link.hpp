// The network-thread half of a call: one ICE -> DTLS -> SRTP chain (one per
// BUNDLE group, or one per content for peers that do not bundle). Clear-text
// RTP/RTCP goes in and out; created, used and destroyed on the engine's network
// thread only. Events go out through MediaLinkEvents, called on the network
// thread (the engine re-posts what the XMPP thread needs; RTP goes straight to
// the call's media pipeline, whose input is thread-safe).
#pragma once

#include <tern/error.hpp>

#include "link_common.hpp"

#include "tern/transport/dtls_transport.hpp"
#include "tern/transport/ice_transport.hpp"
#include "tern/transport/network_thread.hpp"
#include "tern/transport/srtp_transport.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace tern::impl {

struct MediaLinkConfig {
    transport::IceConfig ice;
    transport::DtlsTransport::Role dtlsRole = transport::DtlsTransport::Role::Client;
    std::chrono::milliseconds connectTimeout{30000};
    /// Nothing at all received (RTP, RTCP, STUN) for this long: the peer is gone.
    std::chrono::milliseconds silenceTimeout{10000};
};

struct MediaLinkEvents {
    std::function<void(const transport::IceCandidate&)> candidate;
    std::function<void()> gatheringDone;
    std::function<void(const transport::SelectedPair&)> selected;
    std::function<void(const std::string& srtpProfile)> connected;  ///< SRTP keys installed
    std::function<void(const std::uint8_t*, std::size_t)> rtp;     ///< decrypted
    std::function<void(const std::uint8_t*, std::size_t)> rtcp;    ///< decrypted
    std::function<void(ErrorCategory, const std::string&)> failed;
    /// The peer closed DTLS in an orderly way (close_notify): it is ending the
    /// call, and its session-terminate may still be on its way through the server.
    std::function<void()> closedByPeer;
};

class MediaLink {
public:
    static std::unique_ptr<MediaLink> create(transport::NetworkThread& thread,
                                             std::shared_ptr<transport::Certificate> cert, MediaLinkConfig config,
                                             MediaLinkEvents events);
    ~MediaLink();

    std::string localUfrag() const { return ufrag_; }
    std::string localPwd() const { return pwd_; }
    void start();  ///< begins gathering
    void setRemote(const std::string& ufrag, const std::string& pwd, const std::string& fpHash,
                   const std::string& fingerprint);
    void setDtlsRole(transport::DtlsTransport::Role role) { dtls_->setRole(role); }
    void addRemoteCandidate(const transport::IceCandidate& candidate);
    void remoteGatheringDone();
    bool sendRtp(const std::uint8_t* data, std::size_t len) { return srtp_->sendRtp(data, len); }
    bool sendRtcp(const std::uint8_t* data, std::size_t len) { return srtp_->sendRtcp(data, len); }
    bool isConnected() const { return connected_; }
    /// Test hook: drops this fraction of outgoing SRTP packets below SRTP.
    void setSendLossForTesting(double probability, std::uint32_t seed) {
        srtp_->setSendLossForTesting(probability, seed);
    }
    const transport::SrtpTransport::Stats& srtpStats() const { return srtp_->stats(); }

private:
    MediaLink(transport::NetworkThread& thread, MediaLinkConfig config, MediaLinkEvents events);
    void build(std::shared_ptr<transport::Certificate> cert);
    void onSrtpState(transport::Transport::State state, const std::string& reason);
    void fail(ErrorCategory category, const std::string& message);
    void watchdog();

    transport::NetworkThread& thread_;
    MediaLinkConfig config_;
    MediaLinkEvents events_;
    std::unique_ptr<transport::IceTransport> ice_;
    std::unique_ptr<transport::DtlsTransport> dtls_;
    std::unique_ptr<transport::SrtpTransport> srtp_;
    std::string ufrag_, pwd_;
    bool connected_ = false;
    bool failed_ = false;
    SilenceWatch silence_;
    transport::Timer connectTimer_;
    transport::Timer watchdogTimer_;
};

}  // namespace tern::impl
