// ICE (RFC 8445, trickle per RFC 8838) through libnice: one stream, one
// component (rtcp-mux / data channel), on the network thread's GMainContext.
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
    };

    /// Creates the agent on `thread` (call on that thread).
    IceTransport(NetworkThread& thread, IceConfig config, Callbacks callbacks);
    ~IceTransport() override;

    /// Starts gathering; candidates arrive through Callbacks::candidate.
    bool gather();
    std::string localUfrag() const;
    std::string localPwd() const;

    void setRemoteCredentials(const std::string& ufrag, const std::string& pwd);
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
    std::string relayProtocolFor(const void* niceCandidate) const;

    NetworkThread& thread_;
    IceConfig config_;
    Callbacks callbacks_;
    NiceAgent* agent_ = nullptr;
    unsigned stream_ = 0;
    bool haveRemoteCredentials_ = false;
    bool remoteDone_ = false;
    std::vector<IceCandidate> pendingRemote_;
    struct ResolvedTurn { std::string ip; std::uint16_t port; IceServerConfig::Protocol protocol; };
    std::vector<ResolvedTurn> turn_;
    SelectedPair selected_;
    bool hasSelected_ = false;
    std::uint64_t packetsReceived_ = 0;
};

IceCandidate parseNiceCandidate(const void* niceCandidate);

}  // namespace tern::transport
