// Tern public API: audio and video calls (Jingle RTP, XEP-0167, rung through
// Jingle Message Initiation, XEP-0353; media over DTLS-SRTP and ICE).
//
// Threading: every method must be called on the app's XMPP thread, except
// stats(), which any thread may call. State callbacks run on the XMPP thread
// from inside Engine::processEvents(), never under an internal lock. Media
// (sources and sinks, see media.hpp) run on the call's media thread. Once
// hangUp() or reject() has returned, or the last handle is gone, no callback
// of that call runs again and its sources and sinks are no longer touched.
#pragma once

#include <tern/error.hpp>
#include <tern/export.hpp>
#include <tern/file_transfer.hpp>
#include <tern/media.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace tern {

/// What a call carries.
struct CallMedia {
    bool audio = true;
    bool video = false;
};

enum class CallState {
    Ringing,     ///< outgoing: proposed to the callee's devices; incoming: waiting for accept()/reject()
    Connecting,  ///< answered; ICE, DTLS and SRTP are being set up
    Connected,   ///< media flows
    Ended,       ///< see CallEnd
};

enum class CallEndReason {
    HungUp,             ///< this side hung up
    RemoteHungUp,       ///< the peer hung up
    Rejected,           ///< the callee rejected (or declined as busy)
    RejectedHere,       ///< this side rejected an incoming call
    Retracted,          ///< the caller gave up before an answer
    AnsweredElsewhere,  ///< another device of this account took the call
    RejectedElsewhere,  ///< another device of this account rejected it
    Unavailable,        ///< no device of the callee answered the proposal
    NoAnswer,           ///< nobody answered within Config::ringTimeout
    NoIcePath,          ///< no working network path (or it broke and did not come back)
    Security,           ///< DTLS failed, fingerprint missing or mismatching
    MediaFailed,        ///< no common codec, or SRTP could not be set up
    ConnectionLost,     ///< the peer stopped sending media and signaling
    Failed,             ///< anything else; see text
};
/// Stable lower-case name ("hung-up", "remote-hung-up", ...).
TERN_EXPORT const char* toString(CallEndReason reason) noexcept;
TERN_EXPORT const char* toString(CallState state) noexcept;

struct CallEnd {
    CallEndReason reason = CallEndReason::Failed;
    std::string text;  ///< detail for people, e.g. the peer's reason text
};

/// One direction of one medium.
struct StreamStats {
    bool active = false;             ///< negotiated and not removed
    std::string codec;               ///< "opus/48000/2", "VP8/90000"
    int payloadType = -1;
    std::uint32_t ssrc = 0;
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;         ///< RTP payload bytes
    double bitrateKbps = 0;          ///< over the last second or so
    // Receive side (and, on the send side, what the peer's RTCP reports about us):
    std::uint64_t packetsLost = 0;   ///< cumulative (RFC 3550)
    double fractionLost = 0;         ///< 0..1, over the last report interval
    double jitterMs = 0;             ///< RFC 3550 interarrival jitter
    // Audio, receive side:
    std::uint64_t framesDecoded = 0;
    std::uint64_t framesConcealed = 0;  ///< loss concealment
    std::uint64_t framesRecovered = 0;  ///< rebuilt from in-band FEC
    double jitterBufferMs = 0;          ///< current playout delay
    // Video:
    std::uint64_t framesEncoded = 0;
    std::uint64_t keyframes = 0;
    std::uint64_t nacks = 0;            ///< NACKed packets (sent when receiving, served when sending)
    std::uint64_t pictureLossIndications = 0;  ///< PLI/FIR sent (receive) or received (send)
    int width = 0;
    int height = 0;
};

struct CallStats {
    CallState state = CallState::Ringing;
    double rttMs = -1;     ///< from RTCP SR/RR; -1 until known
    PathInfo route;        ///< the selected ICE candidate pair and its type
    std::string srtpProfile;  ///< "AEAD_AES_128_GCM" or "AES_CM_128_HMAC_SHA1_80"
    double secondsConnected = 0;
    StreamStats audioSend, audioReceive, videoSend, videoReceive;
};

class TERN_EXPORT Call {
public:
    enum class Direction { Outgoing, Incoming };
    enum class Medium { Audio, Video };
    enum class Flow { Send, Receive };
    class Impl;

    /// Destroying the last handle of a live call hangs it up.
    ~Call();
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;

    Direction direction() const;
    std::string peer() const;    ///< full JID once known; the bare JID while an outgoing call rings
    std::string id() const;      ///< JMI id, also the Jingle sid
    CallState state() const;
    /// Incoming: what the caller offers. Outgoing: what was asked. After the
    /// answer: what was agreed.
    CallMedia media() const;

    /// Media endpoints. Set them before the call connects (they may be replaced
    /// later). Without a source the call sends silence / no video; without a
    /// sink what arrives is decoded and dropped.
    void setAudioSource(std::shared_ptr<AudioSource> source);
    void setAudioSink(std::shared_ptr<AudioSink> sink);
    void setVideoSource(std::shared_ptr<VideoSource> source);
    void setVideoSink(std::shared_ptr<VideoSink> sink);

    /// Every state change (Connecting, Connected, Ended) after the call was created.
    void onStateChanged(std::function<void(CallState)> cb);
    /// Once, when the call ends, with the reason.
    void onEnded(std::function<void(const CallEnd&)> cb);
    /// The peer muted or unmuted its sending of a medium (XEP-0167 session-info).
    void onRemoteMute(std::function<void(Medium, bool muted)> cb);

    /// Incoming call in Ringing: answer with `media` (video only if offered).
    Result<bool> accept(CallMedia media);
    /// Incoming call in Ringing: reject (JMI reject / session-terminate decline).
    void reject();
    /// Ends the call in any state (retract while ringing, terminate after).
    void hangUp();

    /// Mutes one direction of one medium. Muting Send sends silence / no video
    /// and tells the peer (session-info mute); muting Receive plays silence /
    /// drops pictures locally.
    void setMuted(Medium medium, Flow flow, bool muted);
    bool muted(Medium medium, Flow flow) const;

    /// Switches echo cancellation and noise suppression of the sent audio
    /// (defaults from Config).
    void setAudioProcessing(bool echoCancellation, bool noiseSuppression);

    /// A snapshot of the call's statistics. Any thread.
    CallStats stats() const;

private:
    friend class Engine;
    explicit Call(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace tern
