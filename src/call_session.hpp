// One audio/video call (either direction): JMI (XEP-0353) ringing and the
// Jingle RTP negotiation (XEP-0167) on the XMPP thread, driving one MediaLink
// per transport (one when the peer bundles) on the network thread and the
// call's media pipeline (CallMedia) on a media worker thread.
#pragma once

#include <tern/call.hpp>

#include "media_link.hpp"
#include "session_host.hpp"

#include "tern/signaling/jmi.hpp"
#include "tern/signaling/rtp.hpp"

#include <gloox/jid.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace tern {
namespace impl {
class CallMedia;
struct LinkSet;
struct MediaSlot;
}  // namespace impl

class Call::Impl : public std::enable_shared_from_this<Call::Impl> {
public:
    Impl(impl::SessionHost& host, Direction direction, gloox::JID peer, std::string id, CallMedia media);
    ~Impl();

    // --- caller ---
    /// Rings the peer's devices (JMI propose). Returns false when it could not be sent.
    void startOutgoing();
    /// The propose bounced (message error): nobody to ring.
    void proposeBounced(const std::string& text);

    // --- callee ---
    /// A JMI propose arrived: the call rings here.
    void takePropose(signaling::JmiCall jmi);
    /// A session-initiate for this call (after our proceed), or a call that
    /// started with Jingle directly (no JMI). False: refused (terminated).
    bool takeInitiate(const signaling::Jingle& initiate, signaling::SessionHandle handle, std::string& refusal);

    // --- both ---
    void handleJmi(const signaling::JmiMessage& message, const gloox::JID& from, bool carbon);
    void handleJingle(const signaling::Jingle& jingle);
    void peerWentOffline(const gloox::JID& from);

    Result<bool> accept(CallMedia media);
    void reject();
    void hangUp();
    void detachApp();  ///< the last app handle is gone: hang up, no callbacks
    void shutdown();   ///< the engine goes away
    void setMuted(Call::Medium medium, Call::Flow flow, bool muted);
    bool muted(Call::Medium medium, Call::Flow flow) const;
    CallStats stats() const;
    void setAudioProcessing(bool echoCancellation, bool noiseSuppression);

    void setAudioSource(std::shared_ptr<AudioSource> s);
    void setAudioSink(std::shared_ptr<AudioSink> s);
    void setVideoSource(std::shared_ptr<VideoSource> s);
    void setVideoSink(std::shared_ptr<VideoSink> s);

    std::string key() const { return "call\n" + id_; }
    const std::string& id() const { return id_; }
    const gloox::JID& peer() const { return peer_; }
    /// The full JID the Jingle session runs with (empty until known).
    const gloox::JID& device() const { return device_; }
    Direction direction() const { return direction_; }
    CallState state() const { return state_; }
    CallMedia media() const { return media_; }
    bool isOver() const { return state_ == CallState::Ended; }
    /// The XMPP connection is gone: a call not yet connected cannot finish its signaling and
    /// ends now (Failed); a connected call goes on peer to peer.
    void signalingLost();
    bool usesJmi() const { return jmi_.has_value(); }

    std::function<void(CallState)> onStateChanged;
    std::function<void(const CallEnd&)> onEnded;
    std::function<void(Call::Medium, bool)> onRemoteMute;

private:
    struct ContentState {
        std::string name;
        std::string media;  // "audio" / "video"
        signaling::Creator creator = signaling::Creator::Initiator;
        std::size_t link = 0;  // index into links
        std::optional<signaling::NegotiatedRtp> negotiated;
        bool removed = false;  // the peer sent content-remove for it
    };

    void sendJmi(const signaling::JmiStep& step);
    void jmiProceeded();
    void sendInitiate();
    void createLinks(std::size_t count, bool controlling, transport::DtlsTransport::Role role);
    signaling::Transport localTransport(std::size_t link, bool offer) const;
    void applyRemoteTransport(std::size_t link, const signaling::Transport& transport, bool answer);
    void applyAccept(const signaling::Jingle& accept);
    void sendAccept();
    void sendCandidate(std::size_t link, const transport::IceCandidate& candidate);
    void sendGatheringDone(std::size_t link);
    void sendTransportInfo(std::size_t link, signaling::IceUdpTransport ice);
    void linkConnected(std::size_t link, const std::string& profile);
    void linkFailed(ErrorCategory category, const std::string& message);
    void linkClosedByPeer();
    void startMedia();
    void sendMuteInfo(Call::Medium medium, bool muted);
    void setState(CallState state);
    /// Ends the call: tells the peer (Jingle terminate with `condition`, and/or the
    /// JMI message in `jmiStep`) and reports `reason` to the app.
    void end(CallEndReason reason, const std::string& text, std::optional<signaling::ReasonCondition> condition);
    void stopMedia();
    void teardown();
    std::size_t linkForContent(const std::string& name) const;

    impl::SessionHost& host_;
    Direction direction_;
    gloox::JID peer_;    // bare (outgoing, ringing) or full
    gloox::JID device_;  // the Jingle peer
    std::string id_;
    CallMedia media_;
    CallState state_ = CallState::Ringing;
    bool appAttached_ = true;
    bool jingleStarted_ = false;  // a session-initiate was sent or received
    bool accepted_ = false;       // session-accept sent or received
    std::optional<signaling::JmiCall> jmi_;
    signaling::SessionHandle handle_{};
    std::vector<ContentState> contents_;
    bool bundled_ = false;
    std::optional<signaling::Jingle> pendingInitiate_;  // callee: initiate waiting for the app
    std::uint32_t audioSsrc_ = 0, videoSsrc_ = 0;
    std::string cname_;
    std::shared_ptr<impl::LinkSet> links_;          // network thread only (after creation)
    std::vector<bool> linkUp_;
    std::shared_ptr<impl::CallMedia> callMedia_;
    std::shared_ptr<impl::MediaSlot> mediaSlot_;
    std::chrono::steady_clock::time_point connectedAt_;
    bool aec_ = true, ns_ = true;
    bool mutedFlags_[2][2] = {{false, false}, {false, false}};
    std::shared_ptr<AudioSource> audioSource_;
    std::shared_ptr<AudioSink> audioSink_;
    std::shared_ptr<VideoSource> videoSource_;
    std::shared_ptr<VideoSink> videoSink_;

    mutable std::mutex statsMutex_;  // guards the three below (stats() runs on any thread)
    PathInfo route_;
    std::string srtpProfile_;
    CallState statsState_ = CallState::Ringing;
};

}  // namespace tern
