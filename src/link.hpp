// The network-thread half of a file transfer: one ICE -> DTLS -> SCTP chain and
// the file I/O that feeds it (sender) or drains it (receiver). Created, used and
// destroyed on the engine's network thread only. Events go out through
// LinkEvents (called on the network thread; the engine re-posts them).
//
// Path loss and ICE restart (RFC 8445 section 9): once the channel is up, a path
// that carries nothing for LinkConfig::pathLossTimeout (or that libnice declares
// failed) is reported as lost (LinkEvents::pathLost). The session then restarts ICE
// (restartIce(), the controlling side first, the other when the peer's new
// credentials arrive); DTLS and SCTP stay as they are, so the transfer continues
// where it stopped. A lost path that is not back within LinkConfig::restartTimeout
// of the loss fails the link with PeerGone.
#pragma once

#include <tern/error.hpp>

#include "link_common.hpp"

#include "tern/transport/dtls_transport.hpp"
#include "tern/transport/ice_transport.hpp"
#include "tern/transport/network_thread.hpp"
#include "tern/transport/sctp_transport.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace tern::impl {

struct LinkConfig {
    transport::IceConfig ice;
    transport::DtlsTransport::Role dtlsRole = transport::DtlsTransport::Role::Client;
    transport::SctpConfig sctp;
    bool sender = false;
    int fd = -1;                    ///< sender: file to read; receiver: .part to write. The Link owns it.
    std::uint64_t size = 0;         ///< bytes to send / expected
    std::string channelLabel = "filetransfer";
    std::string channelProtocol;
    std::size_t messageSize = 65536;  ///< sender: bytes per SCTP message
    std::chrono::milliseconds connectTimeout{30000};
    std::chrono::milliseconds silenceTimeout{12000};
    /// Silence after which the path counts as lost and an ICE restart is due.
    std::chrono::milliseconds pathLossTimeout{4000};
    /// A lost path must be back (the restarted ICE connected) within this of the loss.
    std::chrono::milliseconds restartTimeout{8000};
    /// ICE restarts this link may make in its life (restart-storm guard).
    unsigned maxRestarts = 3;
};

struct LinkEvents {
    /// A local candidate to trickle; IceCandidate::generation says which ICE generation.
    std::function<void(const transport::IceCandidate&)> candidate;
    /// Gathering of ICE generation `generation` is complete.
    std::function<void(unsigned generation)> gatheringDone;
    std::function<void(const transport::SelectedPair&)> selected;
    std::function<void()> channelOpen;
    std::function<void(std::uint64_t bytes)> progress;  ///< at most every 100 ms, and at the end
    /// Sender: every byte is in SCTP's hands. Receiver: every byte is written and
    /// the file closed; `sha256` is the hex digest of what was received.
    std::function<void(const std::string& sha256)> dataDone;
    std::function<void(ErrorCategory, const std::string&)> failed;
    /// The path was lost (`reason` says how); the link fails unless it is back in time.
    std::function<void(const std::string& reason)> pathLost;
    /// A restarted ICE generation connected: the path is back.
    std::function<void()> pathRestored;
};

class Link : public std::enable_shared_from_this<Link> {
public:
    static std::shared_ptr<Link> create(transport::NetworkThread& thread, std::shared_ptr<transport::Certificate> cert,
                                        LinkConfig config, LinkEvents events);
    ~Link();

    std::string localUfrag() const { return ufrag_; }
    std::string localPwd() const { return pwd_; }
    void start();  ///< begins gathering
    void setRemote(const std::string& ufrag, const std::string& pwd, const std::string& fpHash,
                   const std::string& fingerprint);
    void setDtlsRole(transport::DtlsTransport::Role role) { dtls_->setRole(role); }
    /// The peer's SCTP port and largest message, from its answer (before the channel opens).
    void setRemoteSctp(std::uint16_t port, std::uint64_t maxMessageSize);
    void addRemoteCandidate(const transport::IceCandidate& candidate);
    void remoteGatheringDone();

    /// ICE restart: new local credentials (localUfrag()/localPwd() change) and candidates
    /// of a new generation, trickled through LinkEvents. The peer's new credentials and
    /// candidates then go to setRemote()/addRemoteCandidate() as at the start. A restart
    /// still waiting for the peer's credentials is not repeated (returns true, nothing
    /// changes); false when the link's restarts are used up or the restart failed.
    bool restartIce();
    /// ICE generation of the local credentials (0 before any restart).
    unsigned iceGeneration() const { return ice_->generation(); }
    unsigned restarts() const { return restarts_; }

private:
    Link(transport::NetworkThread& thread, LinkConfig config, LinkEvents events);
    void build(std::shared_ptr<transport::Certificate> cert);
    void onSctpState(transport::Transport::State state, const std::string& reason);
    void onChannel();
    void pumpSend();
    void onData(const std::uint8_t* data, std::size_t len);
    void finishReceive();
    void reportProgress(bool force);
    void fail(ErrorCategory category, const std::string& message);
    void watchdog();
    void noticeLoss(const std::string& reason);
    void pathBack();

    transport::NetworkThread& thread_;
    LinkConfig config_;
    LinkEvents events_;
    std::unique_ptr<transport::IceTransport> ice_;
    std::unique_ptr<transport::DtlsTransport> dtls_;
    std::shared_ptr<transport::SctpTransport> sctp_;
    std::string ufrag_, pwd_;
    int stream_ = -1;
    bool channelOpen_ = false;
    bool done_ = false;
    bool failed_ = false;
    std::uint64_t bytes_ = 0;
    std::vector<std::uint8_t> buffer_;
    std::size_t pendingLen_ = 0;  // sender: bytes of buffer_ read but not yet accepted by SCTP
    EVP_MD_CTX* hash_ = nullptr;  // receiver
    std::chrono::steady_clock::time_point lastProgress_;
    std::uint64_t reportedBytes_ = 0;  ///< bytes_ as last reported (progress is throttled)
    SilenceWatch silence_;
    bool lost_ = false;        // the path is lost and not yet back
    std::chrono::steady_clock::time_point lostAt_;
    std::uint64_t lostPackets_ = 0;  // packets received when the loss was noticed
    unsigned restarts_ = 0;
    bool awaitingResume_ = false;  // path back after a restart, SCTP not yet heard from
    transport::Timer connectTimer_;
    transport::Timer watchdogTimer_;
};

}  // namespace tern::impl
