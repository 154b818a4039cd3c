// The network-thread half of a file transfer: one ICE -> DTLS -> SCTP chain and
// the file I/O that feeds it (sender) or drains it (receiver). Created, used and
// destroyed on the engine's network thread only. Events go out through
// LinkEvents (called on the network thread; the engine re-posts them).
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
};

struct LinkEvents {
    std::function<void(const transport::IceCandidate&)> candidate;
    std::function<void()> gatheringDone;
    std::function<void(const transport::SelectedPair&)> selected;
    std::function<void()> channelOpen;
    std::function<void(std::uint64_t bytes)> progress;  ///< at most every 100 ms, and at the end
    /// Sender: every byte is in SCTP's hands. Receiver: every byte is written and
    /// the file closed; `sha256` is the hex digest of what was received.
    std::function<void(const std::string& sha256)> dataDone;
    std::function<void(ErrorCategory, const std::string&)> failed;
};

class Link {
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
    SilenceWatch silence_;
    transport::Timer connectTimer_;
    transport::Timer watchdogTimer_;
};

}  // namespace tern::impl
