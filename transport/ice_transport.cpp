#include "tern/transport/ice_transport.hpp"

#include "tern/transport/log.hpp"

#include <agent.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace tern::transport {
namespace {

// Resolves a host name to a numeric address (libnice takes addresses only).
std::string resolve(const std::string& host) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* res = nullptr;
    if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || !res) return {};
    char buf[NI_MAXHOST] = {};
    getnameinfo(res->ai_addr, res->ai_addrlen, buf, sizeof buf, nullptr, 0, NI_NUMERICHOST);
    freeaddrinfo(res);
    return buf;
}

const char* typeName(NiceCandidateType type) {
    switch (type) {
    case NICE_CANDIDATE_TYPE_HOST: return "host";
    case NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE: return "srflx";
    case NICE_CANDIDATE_TYPE_PEER_REFLEXIVE: return "prflx";
    case NICE_CANDIDATE_TYPE_RELAYED: return "relay";
    }
    return "host";
}

NiceCandidateType typeFromName(const std::string& name) {
    if (name == "srflx") return NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE;
    if (name == "prflx") return NICE_CANDIDATE_TYPE_PEER_REFLEXIVE;
    if (name == "relay") return NICE_CANDIDATE_TYPE_RELAYED;
    return NICE_CANDIDATE_TYPE_HOST;
}

std::string addressString(const NiceAddress& addr) {
    char buf[NICE_ADDRESS_STRING_LEN] = {};
    nice_address_to_string(&addr, buf);
    return buf;
}

}  // namespace

IceCandidate parseNiceCandidate(const void* p) {
    const auto* c = static_cast<const NiceCandidate*>(p);
    IceCandidate out;
    out.foundation = c->foundation;
    out.component = c->component_id;
    out.protocol = c->transport == NICE_CANDIDATE_TRANSPORT_UDP ? "udp" : "tcp";
    out.priority = c->priority;
    out.ip = addressString(c->addr);
    out.port = static_cast<std::uint16_t>(nice_address_get_port(&c->addr));
    out.type = typeName(c->type);
    if (c->type != NICE_CANDIDATE_TYPE_HOST && nice_address_is_valid(&c->base_addr)) {
        out.relAddr = addressString(c->base_addr);
        out.relPort = static_cast<std::uint16_t>(nice_address_get_port(&c->base_addr));
    }
    return out;
}

IceTransport::IceTransport(NetworkThread& thread, IceConfig config, Callbacks callbacks)
    : thread_(thread), config_(std::move(config)), callbacks_(std::move(callbacks)), closeOld_(thread) {
    agent_ = nice_agent_new_full(thread_.context(), NICE_COMPATIBILITY_RFC5245,
                                 static_cast<NiceAgentOption>(NICE_AGENT_OPTION_ICE_TRICKLE |
                                                              NICE_AGENT_OPTION_CONSENT_FRESHNESS));
    g_object_set(agent_, "controlling-mode", config_.controlling ? TRUE : FALSE, "upnp", FALSE, "ice-tcp", FALSE,
                 "force-relay", config_.relayOnly ? TRUE : FALSE, nullptr);
    for (const auto& server : config_.servers) {
        if (server.kind != IceServerConfig::Kind::Stun) continue;
        auto ip = resolve(server.host);
        if (ip.empty()) {
            logWarning("ice: cannot resolve STUN server " + server.host);
            continue;
        }
        g_object_set(agent_, "stun-server", ip.c_str(), "stun-server-port", static_cast<guint>(server.port), nullptr);
        break;  // libnice takes one STUN server
    }
    // Ta (RFC 8445 14.2): a check every 5 ms instead of libnice's 20; connectivity checks of a
    // call or transfer then finish within a few milliseconds on a good path.
    g_object_set(agent_, "stun-pacing-timer", 5u, nullptr);
    g_signal_connect(agent_, "new-candidate-full", G_CALLBACK(&IceTransport::onCandidate), this);
    g_signal_connect(agent_, "candidate-gathering-done", G_CALLBACK(&IceTransport::onGatheringDone), this);
    g_signal_connect(agent_, "component-state-changed", G_CALLBACK(&IceTransport::onComponentState), this);
    g_signal_connect(agent_, "new-selected-pair-full", G_CALLBACK(&IceTransport::onSelectedPair), this);

    for (const auto& local : config_.localAddresses) {
        NiceAddress addr;
        nice_address_init(&addr);
        if (nice_address_set_from_string(&addr, local.c_str())) nice_agent_add_local_address(agent_, &addr);
        else logWarning("ice: ignoring invalid local address " + local);
    }
    // UDP relays first: libnice keeps the first relay candidate of a server and drops the
    // others as redundant, and a relay over UDP has no head-of-line blocking. TCP and TLS
    // are there for networks that block UDP, where the UDP allocation never completes.
    auto servers = config_.servers;
    std::stable_sort(servers.begin(), servers.end(), [](const IceServerConfig& a, const IceServerConfig& b) {
        return static_cast<int>(a.protocol) < static_cast<int>(b.protocol);
    });
    for (const auto& server : servers) {
        if (server.kind != IceServerConfig::Kind::Turn) continue;
        auto ip = resolve(server.host);
        if (ip.empty()) {
            logWarning("ice: cannot resolve TURN server " + server.host);
            continue;
        }
        turn_.push_back({ip, server.port, server.protocol, server.username, server.password});
    }
    if (!openStream()) changeState(State::Failed, "cannot create the ICE stream");
}

bool IceTransport::openStream() {
    stream_ = nice_agent_add_stream(agent_, 1);
    if (stream_ == 0) return false;
    nice_agent_set_stream_name(agent_, stream_, "application");
    if (config_.portMin || config_.portMax)
        nice_agent_set_port_range(agent_, stream_, 1, config_.portMin, config_.portMax);
    for (const auto& t : turn_) {
        NiceRelayType type = NICE_RELAY_TYPE_TURN_UDP;
        if (t.protocol == IceServerConfig::Protocol::Tcp) type = NICE_RELAY_TYPE_TURN_TCP;
        if (t.protocol == IceServerConfig::Protocol::Tls) type = NICE_RELAY_TYPE_TURN_TLS;
        nice_agent_set_relay_info(agent_, stream_, 1, t.ip.c_str(), t.port, t.username.c_str(), t.password.c_str(),
                                  type);
    }
    nice_agent_attach_recv(agent_, stream_, 1, thread_.context(), &IceTransport::onReceive, this);
    return true;
}

IceTransport::~IceTransport() {
    closeOld_.cancel();
    if (agent_) {
        g_signal_handlers_disconnect_by_data(agent_, this);
        closeStream(oldStream_);
        closeStream(stream_);
        if (!turn_.empty()) {
            // Releases the TURN allocations. The close completes on the context and holds the
            // agent (and its sockets) until then; without relays there is nothing to release.
            thread_.closeStarted();
            nice_agent_close_async(
                agent_,
                [](GObject*, GAsyncResult*, gpointer thread) { static_cast<NetworkThread*>(thread)->closeDone(); },
                &thread_);
        }
        g_object_unref(agent_);
    }
}

void IceTransport::closeStream(unsigned& stream) {
    if (stream == 0) return;
    nice_agent_attach_recv(agent_, stream, 1, thread_.context(), nullptr, nullptr);
    nice_agent_remove_stream(agent_, stream);  // also releases its TURN allocations (lifetime 0)
    stream = 0;
}

bool IceTransport::gather() {
    changeState(State::Connecting);
    if (stream_ == 0 || !nice_agent_gather_candidates(agent_, stream_)) {
        changeState(State::Failed, "no local address to gather candidates on");
        return false;
    }
    return true;
}

std::string IceTransport::localUfrag() const {
    gchar* ufrag = nullptr;
    gchar* pwd = nullptr;
    nice_agent_get_local_credentials(agent_, stream_, &ufrag, &pwd);
    std::string out = ufrag ? ufrag : "";
    g_free(ufrag);
    g_free(pwd);
    return out;
}

std::string IceTransport::localPwd() const {
    gchar* ufrag = nullptr;
    gchar* pwd = nullptr;
    nice_agent_get_local_credentials(agent_, stream_, &ufrag, &pwd);
    std::string out = pwd ? pwd : "";
    g_free(ufrag);
    g_free(pwd);
    return out;
}

bool IceTransport::restart() {
    if (state() == State::Failed || state() == State::Closed || stream_ == 0) return false;
    // A new stream rather than nice_agent_restart_stream(): libnice's restart keeps the
    // local candidates and does not gather again, so after a change of public address
    // (the case restarts are for) the old server-reflexive and relayed candidates would
    // be all there is to offer, and they are dead.
    if (restarting_) closeStream(stream_);  // a restart that never connected: replaced
    else {
        closeStream(oldStream_);
        oldStream_ = stream_;
    }
    stream_ = 0;
    ++generation_;
    restarting_ = true;
    haveRemoteCredentials_ = false;
    remoteDone_ = false;
    pendingRemote_.clear();
    remoteUfrag_.clear();
    if (state() == State::New) changeState(State::Connecting);
    if (!openStream() || !nice_agent_gather_candidates(agent_, stream_)) {
        changeState(State::Failed, "ICE restart: cannot gather candidates");
        return false;
    }
    logDebug("ice: restart, generation " + std::to_string(generation_) + ", ufrag " + localUfrag());
    return true;
}

void IceTransport::setRemoteCredentials(const std::string& ufrag, const std::string& pwd) {
    if (ufrag.empty() || pwd.empty() || stream_ == 0) return;
    if (haveRemoteCredentials_ && ufrag == remoteUfrag_) return;  // repeated in every transport-info
    nice_agent_set_remote_credentials(agent_, stream_, ufrag.c_str(), pwd.c_str());
    haveRemoteCredentials_ = true;
    remoteUfrag_ = ufrag;
    applyRemoteCandidates();
}

void IceTransport::addRemoteCandidate(const IceCandidate& candidate) {
    if (candidate.component != 1) return;  // rtcp-mux / data channel: one component
    if (candidate.protocol != "udp" && candidate.protocol != "UDP") return;
    pendingRemote_.push_back(candidate);
    applyRemoteCandidates();
}

void IceTransport::remoteGatheringDone() {
    remoteDone_ = true;
    applyRemoteCandidates();
}

void IceTransport::applyRemoteCandidates() {
    if (!haveRemoteCredentials_) return;
    GSList* list = nullptr;
    for (const auto& c : pendingRemote_) {
        NiceCandidate* nc = nice_candidate_new(typeFromName(c.type));
        nc->transport = NICE_CANDIDATE_TRANSPORT_UDP;
        nc->stream_id = stream_;
        nc->component_id = 1;
        nc->priority = c.priority;
        std::strncpy(nc->foundation, c.foundation.c_str(), NICE_CANDIDATE_MAX_FOUNDATION - 1);
        if (!nice_address_set_from_string(&nc->addr, c.ip.c_str())) {
            nice_candidate_free(nc);
            continue;
        }
        nice_address_set_port(&nc->addr, c.port);
        if (!c.relAddr.empty() && nice_address_set_from_string(&nc->base_addr, c.relAddr.c_str()))
            nice_address_set_port(&nc->base_addr, c.relPort);
        list = g_slist_append(list, nc);
    }
    pendingRemote_.clear();
    if (list) {
        int added = nice_agent_set_remote_candidates(agent_, stream_, 1, list);
        if (added < 0) logWarning("ice: remote candidates refused");
        g_slist_free_full(list, reinterpret_cast<GDestroyNotify>(&nice_candidate_free));
    }
    if (remoteDone_) nice_agent_peer_candidate_gathering_done(agent_, stream_);
}

bool IceTransport::send(const std::uint8_t* data, std::size_t len) {
    if (state() != State::Connected) return false;
    // During a restart the previous stream carries the data until the new one connects.
    unsigned stream = restarting_ && oldStream_ != 0 ? oldStream_ : stream_;
    int sent = nice_agent_send(agent_, stream, 1, static_cast<guint>(len), reinterpret_cast<const gchar*>(data));
    return sent == static_cast<int>(len);
}

void IceTransport::onCandidate(NiceAgent*, void* candidate, void* self) {
    auto* t = static_cast<IceTransport*>(self);
    if (static_cast<const NiceCandidate*>(candidate)->stream_id != t->stream_) return;  // a removed generation
    auto c = parseNiceCandidate(candidate);
    c.generation = t->generation_;
    if (t->config_.relayOnly && c.type != "relay") return;  // never reveal our own addresses
    if (t->callbacks_.candidate) t->callbacks_.candidate(c);
}

void IceTransport::onGatheringDone(NiceAgent*, unsigned stream, void* self) {
    auto* t = static_cast<IceTransport*>(self);
    if (stream != t->stream_) return;
    if (t->callbacks_.gatheringDone) t->callbacks_.gatheringDone();
}

void IceTransport::onComponentState(NiceAgent*, unsigned stream, unsigned, unsigned state, void* self) {
    auto* t = static_cast<IceTransport*>(self);
    if (stream != t->stream_) return;
    switch (state) {
    case NICE_COMPONENT_STATE_CONNECTED:
    case NICE_COMPONENT_STATE_READY:
        t->everConnected_ = true;
        t->changeState(State::Connected);
        if (t->restarting_) {
            t->restarting_ = false;
            t->closeOld_.start(std::chrono::milliseconds(0), [t] {
                if (!t->restarting_) t->closeStream(t->oldStream_);
                return false;
            });
            logDebug("ice: generation " + std::to_string(t->generation_) + " connected");
            if (t->callbacks_.pathRestored) t->callbacks_.pathRestored();
        }
        break;
    case NICE_COMPONENT_STATE_FAILED:
        if (t->everConnected_ && t->callbacks_.pathLost) {
            t->callbacks_.pathLost(t->restarting_ ? "ICE found no working candidate pair after the restart"
                                                  : "ICE lost the path (consent to send expired)");
            break;
        }
        t->changeState(State::Failed, "ICE found no working candidate pair");
        break;
    default: break;
    }
}

std::string IceTransport::relayProtocolFor(const void*) const {
    // libnice 0.1.21's nice_candidate_relay_address() crashes on the candidate
    // copies handed to new-selected-pair-full, so the protocol comes from our
    // own TURN configuration: exact when one protocol is configured.
    std::string protocol;
    for (const auto& t : turn_) {
        std::string p = t.protocol == IceServerConfig::Protocol::Tcp ? "tcp" : t.protocol == IceServerConfig::Protocol::Tls ? "tls" : "udp";
        if (!protocol.empty() && protocol != p) return "udp/tcp/tls";
        protocol = p;
    }
    return protocol;
}

void IceTransport::onSelectedPair(NiceAgent*, unsigned stream, unsigned, void* local, void* remote, void* self) {
    auto* t = static_cast<IceTransport*>(self);
    if (stream != t->stream_) return;
    t->selected_.local = parseNiceCandidate(local);
    t->selected_.remote = parseNiceCandidate(remote);
    t->selected_.relayProtocol = t->selected_.local.type == "relay" ? t->relayProtocolFor(local) : std::string();
    t->hasSelected_ = true;
    logDebug("ice: selected " + t->selected_.local.type + " " + t->selected_.local.ip + ":" + std::to_string(t->selected_.local.port) +
             " -> " + t->selected_.remote.type + " " + t->selected_.remote.ip + ":" + std::to_string(t->selected_.remote.port));
    if (t->callbacks_.selected) t->callbacks_.selected(t->selected_);
}

void IceTransport::onReceive(NiceAgent*, unsigned stream, unsigned, unsigned len, char* buf, void* self) {
    auto* t = static_cast<IceTransport*>(self);
    if (stream != t->stream_ && stream != t->oldStream_) return;
    ++t->packetsReceived_;
    t->deliver(reinterpret_cast<const std::uint8_t*>(buf), len);
}

}  // namespace tern::transport
