// Tern public API: engine configuration.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace tern {

/// A STUN or TURN server. Servers found through XEP-0215 on the user's own XMPP
/// server are added to these automatically (see Config::discoverIceServers).
struct IceServer {
    enum class Kind { Stun, Turn };
    enum class Protocol { Udp, Tcp, Tls };
    Kind kind = Kind::Stun;
    std::string host;  ///< name or address
    std::uint16_t port = 3478;
    Protocol protocol = Protocol::Udp;  ///< for TURN: how to reach the server
    std::string username;               ///< TURN only
    std::string password;               ///< TURN only
};

/// How a file-transfer offer signals its SCTP data channel. Both are accepted
/// from peers; this chooses what Tern offers itself.
enum class DataChannelDialect {
    /// Conversations' `urn:xmpp:jingle:transports:webrtc-datachannel:1`
    /// wrapping an ICE-UDP transport (the default, see docs/protocol.md).
    WebrtcDatachannel,
    /// XEP-0343 `<sctpmap/>` inside the ICE-UDP transport (StanzaJS, browsers).
    Sctpmap,
};

enum class LogLevel { Debug, Info, Warning, Error };

struct Config {
    /// STUN/TURN servers the app knows about, in addition to discovered ones.
    std::vector<IceServer> iceServers;
    /// Ask the user's XMPP server for STUN/TURN servers (XEP-0215) at start-up.
    bool discoverIceServers = true;
    /// Use TURN relays only: never signal host or server-reflexive candidates, so
    /// the peer never learns this host's addresses. Needs a TURN server.
    bool relayOnly = false;
    /// Local addresses ICE may use (e.g. {"127.0.0.1"}). Empty: all interfaces.
    std::vector<std::string> localAddresses;
    /// UDP port range for ICE sockets; 0/0 lets the system choose.
    std::uint16_t portMin = 0;
    std::uint16_t portMax = 0;
    /// Data-channel dialect used when Tern sends a file offer.
    DataChannelDialect offerDialect = DataChannelDialect::WebrtcDatachannel;
    /// Incoming offers from one peer that may wait for an answer at once;
    /// further session-initiates from that peer are refused.
    unsigned maxPendingOffersPerPeer = 4;
    /// ICE + DTLS + SCTP must be up within this time: for the sender counted from
    /// sending the offer (so it includes the time the peer takes to accept), for
    /// the receiver from accepting.
    std::chrono::milliseconds connectTimeout{30000};
    /// A peer that sends nothing for this long during a session is considered gone.
    std::chrono::milliseconds peerSilenceTimeout{12000};
    /// A connected file transfer whose bytes have not moved for this long on a
    /// working path fails with ErrorCategory::Timeout (the peer is told with
    /// <timeout/>): a receiver still waiting for bytes its peer does not have, a
    /// sender whose receiver never confirms, a peer that stopped reading. While the
    /// path is lost, peerSilenceTimeout and the ICE restart bounds apply instead.
    std::chrono::milliseconds transferStallTimeout{30000};
    /// An outgoing call that nobody answers, or an incoming one the app leaves
    /// ringing, ends after this (CallEndReason::NoAnswer).
    std::chrono::milliseconds ringTimeout{45000};
    /// Echo cancellation and noise suppression of the audio the app's source
    /// captures (webrtc-audio-processing). Switch off for music or test tones:
    /// noise suppression treats a steady tone as noise. Per call at run time:
    /// Call::setAudioProcessing().
    bool echoCancellation = true;
    bool noiseSuppression = true;
    /// Set TCP_NODELAY and TCP_QUICKACK on the gloox client's TCP socket, so that Jingle
    /// stanzas are not held back by Nagle's algorithm and delayed ACKs (40 ms each on Linux,
    /// several times per call set-up). Off: the socket is left as the app configured it.
    bool tuneXmppSocket = true;
    /// Media worker threads shared by all calls (Opus/VP8 encode and decode);
    /// 0: one per core.
    int mediaThreads = 0;
    /// Log sink; called from any thread, must be thread-safe. Empty: warnings
    /// and errors go to stderr.
    std::function<void(LogLevel, const std::string&)> log;
    /// Called from any thread when Engine::processEvents() has work to do, so an
    /// app with its own event loop can schedule it. Optional if the app calls
    /// Engine::pump() or processEvents() regularly.
    std::function<void()> wakeup;
};

}  // namespace tern
