// One XEP-0234 file-transfer session (either direction): the Jingle
// negotiation on the XMPP thread, driving a Link on the network thread.
#pragma once

#include <tern/file_transfer.hpp>

#include "link.hpp"
#include "session_host.hpp"

#include <gloox/jid.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace tern {

class FileTransfer::Impl : public std::enable_shared_from_this<FileTransfer::Impl> {
public:
    using Direction = FileTransfer::Direction;

    Impl(impl::SessionHost& host, Direction direction, gloox::JID peer, std::string sid);
    ~Impl();

    // --- sender ---
    /// Starts hashing the file; startOffer() runs when both the hash and the peer are known.
    void prepareSend(const std::string& path, FileInfo info, int fd);
    void peerResolved(const gloox::JID& fullJid);
    void peerFailed(const Error& error);

    // --- receiver ---
    /// Builds from a session-initiate. Returns false (and terminates) when the offer is unusable.
    /// False when the offer is refused (terminated at once); `refusal` then says why.
    bool takeOffer(const signaling::Jingle& initiate, signaling::SessionHandle handle, std::string& refusal);
    signaling::SessionHandle handle() const { return handle_; }
    /// Our session-initiate lost a tie-break against the peer's (XEP-0166 7.2.16): the
    /// session is void; nothing is sent, the app hears Cancelled.
    void overruledByPeer();
    Result<bool> accept(const std::string& directory, bool overwrite, std::string* finalPath);
    void decline();
    std::string safeName() const;

    // --- both ---
    void handleJingle(const signaling::Jingle& jingle);
    void cancel();      ///< local cancel: tells the peer; no callback afterwards
    void detachApp();   ///< the app dropped its handle
    void shutdown();    ///< engine going away: terminate, tear down, no callbacks
    void peerWentOffline();  ///< the peer's resource sent unavailable presence
    void setDialect(signaling::DataChannelDialect dialect) { dialect_ = dialect; }
    bool isOver() const { return over_; }  ///< finished: terminated, failed or completed

    std::string key() const { return peer_.full() + "\n" + sid_; }
    const std::string& sid() const { return sid_; }
    const gloox::JID& peer() const { return peer_; }
    Direction direction() const { return direction_; }
    const FileInfo& file() const { return info_; }
    TransferState state() const { return state_; }
    PathInfo route() const { return route_; }

    std::function<void(const PathInfo&)> onConnected;
    std::function<void(const TransferProgress&)> onProgress;
    std::function<void(const TransferResult&)> onComplete;
    std::function<void(const Error&)> onError;

private:
    void hashDone(const std::string& sha256, const std::string& error);
    void maybeStartOffer();
    void startOffer();
    void createLink(bool controlling, int fd);
    signaling::Transport localTransport(bool offer) const;
    void applyRemoteTransport(const signaling::Transport& transport, bool requireFingerprint);
    void sendCandidate(const transport::IceCandidate& candidate);
    void sendGatheringDone(unsigned generation);
    /// `done` (optional) gets the peer's answer, as SessionHost::sendJingle.
    void sendTransportInfo(signaling::IceUdpTransport ice, std::function<void(const gloox::IQ*)> done = nullptr);
    /// The answer to a transport-info that carried our restart credentials.
    /// Sends our new ICE credentials (a transport-info without candidates) after a restart.
    void sendRestartCredentials();
    void restartAnswered(const gloox::IQ* iq);
    // ICE restart (XEP-0176 section 5.9, RFC 8445 section 9): the initiator (controlling)
    // restarts when its link reports the path lost; the responder follows when a
    // transport-info brings new credentials, and answers with its own.
    void linkPathLost(const std::string& reason);
    void startIceRestart(const std::string& reason);
    void peerRestarted(const std::string& ufrag, const std::string& pwd,
                       const std::vector<transport::IceCandidate>& candidates, bool done);
    void sendChecksum();
    void linkProgress(std::uint64_t bytes);
    void watchStall();
    void checkStall();
    void linkDataDone(const std::string& sha256);
    void verifyAndFinish();
    void linkFailed(ErrorCategory category, const std::string& message);
    void peerTerminated(const signaling::Reason& reason);
    /// Ends the session: sends terminate with `reason` (unless empty), tears
    /// down, reports `error` (or completion when none).
    void finish(TransferState state, std::optional<signaling::ReasonCondition> reason, std::optional<Error> error,
                const std::string& reasonText = {});
    void teardownLink();
    void removePart();

    impl::SessionHost& host_;
    Direction direction_;
    gloox::JID peer_;
    std::string sid_;
    signaling::SessionHandle handle_ = 0;
    TransferState state_ = TransferState::Offered;
    FileInfo info_;
    bool appAttached_ = true;
    bool over_ = false;
    bool verified_ = true;

    // negotiation
    signaling::FtVersion ftVersion_ = signaling::FtVersion::V5;
    std::string contentName_ = "a-file-offer";
    signaling::Creator contentCreator_ = signaling::Creator::Initiator;
    signaling::DataChannelDialect dialect_ = signaling::DataChannelDialect::ConversationsWrapper;
    std::uint16_t remoteSctpPort_ = 5000;
    std::uint64_t remoteMaxMessage_ = 0;
    bool signalledStart_ = false;  ///< initiate/accept sent: candidates may be trickled
    std::vector<transport::IceCandidate> localQueue_;
    bool localGatheringDone_ = false;
    std::optional<signaling::Jingle> offer_;  ///< receiver: the initiate, until accepted
    std::vector<transport::IceCandidate> remoteQueue_;
    bool remoteGatheringDone_ = false;
    std::string pendingUfrag_, pendingPwd_, pendingFpHash_, pendingFp_;  ///< receiver, until accept
    std::string remoteUfrag_;        ///< the peer's ICE ufrag of the current generation
    unsigned localGeneration_ = 0;   ///< our ICE generation (restarts made)
    bool restartPending_ = false;    ///< we restarted ICE and wait for the peer's new credentials
    bool pathLost_ = false;          ///< the link reported its path lost and not yet back

    // transfer
    std::shared_ptr<impl::Link> link_;  ///< touched on the network thread only (posted)
    PathInfo route_;
    std::string path_;       ///< sender: source; receiver: final destination
    std::string partPath_;   ///< receiver
    bool overwrite_ = false;
    int fd_ = -1;            ///< until handed to the Link
    std::string localSha256_;     ///< sender: hash of the file; receiver: hash of what arrived
    std::string expectedSha256_;  ///< receiver: announced by the sender
    bool dataDone_ = false;
    bool verifyScheduled_ = false;
    std::uint64_t bytes_ = 0;
    double rate_ = 0;
    std::chrono::steady_clock::time_point startedAt_, lastRateAt_;
    std::chrono::steady_clock::time_point lastMovedAt_;  ///< bytes moved, or the data was done
    bool stallWatched_ = false;
    std::uint64_t lastRateBytes_ = 0;

    // sender preparation
    std::thread hasher_;
    std::shared_ptr<std::atomic<bool>> hashCancel_ = std::make_shared<std::atomic<bool>>(false);
    bool hashReady_ = false;
    bool peerReady_ = false;
};

class IncomingFileOffer::Impl {
public:
    explicit Impl(std::shared_ptr<FileTransfer::Impl> session) : session(std::move(session)) {}
    std::shared_ptr<FileTransfer::Impl> session;
    bool answered = false;
};

}  // namespace tern
