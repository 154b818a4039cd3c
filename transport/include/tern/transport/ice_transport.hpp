// ICE (RFC 8445, trickle per RFC 8838) through libnice: one stream, one
// component (rtcp-mux / data channel), on the network thread's GMainContext.
// ICE restart (RFC 8445 section 9, signalled per XEP-0176 section 5.9): restart()
// opens a fresh libnice stream (new ufrag/pwd, new sockets, new server-reflexive
// and relayed candidates) while this object, and so the DTLS and SCTP layers above
// it, stays the same. Until the new stream connects, the previous one keeps
// carrying data both ways (section 9: "data can continue to be sent using existing
// data sessions"); it is closed once the new one has connected.
// Threading: create, use and destroy on the NetworkThread passed to the
// constructor; every callback runs on that thread.
#pragma once

#include "tern/transport/network_thread.hpp"
#include "tern/transport/transport.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

typedef struct _NiceAgent NiceAgent;

namespace tern::transport {

struct IceServerConfig {
    enum class Kind { Stun, Turn };
    enum class Protocol { Udp, Tcp, Tls };
    Kind kind = Kind::Stun;
    std::string host;  ///< name or address (resolved before use)
    std::uint16_t port = 3478;
    Protocol protocol = Protocol::Udp;
    std::string username;
    std::string password;
};

struct IceConfig {
    std::vector<IceServerConfig> servers;
    bool controlling = false;
    bool relayOnly = false;
    std::vector<std::string> localAddresses;  ///< empty: all interfaces
    std::uint16_t portMin = 0;
    std::uint16_t portMax = 0;
};

/// A candidate as signalled (XEP-0176 attribute names).
struct IceCandidate {
    std::string foundation;
    unsigned component = 1;
    std::string protocol = "udp";
    std::uint32_t priority = 0;
    std::string ip;
    std::uint16_t port = 0;
    std::string type;  ///< host, srflx, prflx, relay
    std::string relAddr;
    std::uint16_t relPort = 0;
    /// Local candidates: the ICE generation (restart count) they were gathered in.
    unsigned generation = 0;
};

struct SelectedPair {
    IceCandidate local;
    IceCandidate remote;
    std::string relayProtocol;  ///< udp/tcp/tls for a local relay candidate
};

class IceTransport final : public Transport {
public:
    struct Callbacks {
        std::function<void(const IceCandidate&)> candidate;  ///< a local candidate to trickle
        std::function<void()> gatheringDone;
        std::function<void(const SelectedPair&)> selected;
        /// The path worked and then failed (libnice reports the component failed: RFC 7675
        /// consent lost, or every check of a restarted generation failed). When set, the
        /// transport stays Connected and waits for restart(); when unset it goes Failed.
        std::function<void(const std::string& reason)> pathLost;
        /// A restarted generation has connected (after selected for its new pair).
        std::function<void()> pathRestored;
    };

    /// Creates the agent on `thread` (call on that thread).
    IceTransport(NetworkThread& thread, IceConfig config, Callbacks callbacks);
    ~IceTransport() override;

    /// Starts gathering; candidates arrive through Callbacks::candidate.
    bool gather();
    std::string localUfrag() const;
    std::string localPwd() const;

    /// ICE restart (RFC 8445 section 9): opens a new stream with new local ufrag/pwd and
    /// gathers again; candidates arrive through Callbacks::candidate with the new
    /// generation(). The peer's new credentials and candidates are then given with
    /// setRemoteCredentials() and addRemoteCandidate(). Meanwhile the previous stream
    /// still sends and receives (a restart before the previous one connected drops the
    /// older of the two). The state stays Connected; when the new stream connects,
    /// Callbacks::pathRestored fires and the previous stream (its pair, candidates and
    /// TURN allocations) is closed. False when no stream could be opened or gathering
    /// could not start (the state is then Failed).
    bool restart();
    /// Number of restarts so far (0 before the first).
    unsigned generation() const { return generation_; }
    /// True between restart() and the new generation connecting.
    bool restarting() const { return restarting_; }

    void setRemoteCredentials(const std::string& ufrag, const std::string& pwd);
    /// The peer's ufrag of the current generation (empty until setRemoteCredentials()).
    const std::string& remoteUfrag() const { return remoteUfrag_; }
    /// Adds a trickled remote candidate (buffered until credentials are known).
    void addRemoteCandidate(const IceCandidate& candidate);
    /// The peer has signalled end of candidates.
    void remoteGatheringDone();

    bool send(const std::uint8_t* data, std::size_t len) override;
    const SelectedPair* selectedPair() const { return hasSelected_ ? &selected_ : nullptr; }
    /// Datagrams received so far (liveness checks).
    std::uint64_t packetsReceived() const { return packetsReceived_; }

private:
    static void onCandidate(NiceAgent*, void* candidate, void* self);
    static void onGatheringDone(NiceAgent*, unsigned stream, void* self);
    static void onComponentState(NiceAgent*, unsigned stream, unsigned component, unsigned state, void* self);
    static void onSelectedPair(NiceAgent*, unsigned stream, unsigned component, void* local, void* remote, void* self);
    static void onReceive(NiceAgent*, unsigned stream, unsigned component, unsigned len, char* buf, void* self);
    void applyRemoteCandidates();
    bool openStream();
    void closeStream(unsigned& stream);
    std::string relayProtocolFor(const void* niceCandidate) const;

    NetworkThread& thread_;
    IceConfig config_;
    Callbacks callbacks_;
    NiceAgent* agent_ = nullptr;
    unsigned stream_ = 0;     // the current generation
    unsigned oldStream_ = 0;  // the previous one, during a restart
    Timer closeOld_;          // closes oldStream_ outside libnice's signal emission
    bool haveRemoteCredentials_ = false;
    bool remoteDone_ = false;
    std::vector<IceCandidate> pendingRemote_;
    struct ResolvedTurn {
        std::string ip;
        std::uint16_t port;
        IceServerConfig::Protocol protocol;
        std::string username;
        std::string password;
    };
    std::vector<ResolvedTurn> turn_;
    std::string remoteUfrag_;
    SelectedPair selected_;
    bool hasSelected_ = false;
    bool everConnected_ = false;
    bool restarting_ = false;
    unsigned generation_ = 0;
    std::uint64_t packetsReceived_ = 0;
};

IceCandidate parseNiceCandidate(const void* niceCandidate);

}  // namespace tern::transport
