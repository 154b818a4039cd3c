#include <tern/engine.hpp>

#include "call_session.hpp"
#include "file_session.hpp"
#include "media_engine.hpp"
#include "session_host.hpp"

#include "tern/signaling/extdisco.hpp"
#include "tern/signaling/namespaces.hpp"
#include "tern/transport/log.hpp"

#include <gloox/client.h>
#include <gloox/connectionlistener.h>
#include <gloox/connectiontcpbase.h>
#include <gloox/disco.h>
#include <gloox/discohandler.h>
#include <gloox/error.h>
#include <gloox/iq.h>
#include <gloox/iqhandler.h>
#include <gloox/message.h>
#include <gloox/messagehandler.h>
#include <gloox/presence.h>
#include <gloox/presencehandler.h>
#include <gloox/stanzaextension.h>
#include <gloox/tag.h>

#include <openssl/rand.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>

namespace tern {

namespace sig = signaling;

namespace {

constexpr int kExtJingle = gloox::ExtUser + 0x7e51;
constexpr int kExtServices = gloox::ExtUser + 0x7e52;
constexpr int kExtCarbonReceived = gloox::ExtUser + 0x7e53;
constexpr int kExtJmiBase = gloox::ExtUser + 0x7e60;  // one per JMI element, see kJmiElements
constexpr const char* kJmiElements[] = {"propose", "ringing", "proceed", "accept", "reject", "retract", "finish"};
constexpr int kContextServices = 1;
constexpr auto kIqTimeout = std::chrono::milliseconds(15000);
constexpr auto kPeerWait = std::chrono::milliseconds(10000);
constexpr auto kDiscoveryWait = std::chrono::milliseconds(5000);

// Carries one payload element as a gloox::Tag, so that Tern's own parsers and
// serializers (signaling/) see exactly what was on the wire.
class TagExtension : public gloox::StanzaExtension {
public:
    TagExtension(int type, std::string filter, gloox::Tag* tag = nullptr)
        : StanzaExtension(type), filter_(std::move(filter)), tag_(tag) {}
    const std::string& filterString() const override { return filter_; }
    gloox::StanzaExtension* newInstance(const gloox::Tag* tag) const override {
        return new TagExtension(extensionType(), filter_, tag ? tag->clone() : nullptr);
    }
    gloox::Tag* tag() const override { return tag_ ? tag_->clone() : nullptr; }
    gloox::StanzaExtension* clone() const override {
        return new TagExtension(extensionType(), filter_, tag_ ? tag_->clone() : nullptr);
    }
    const gloox::Tag* payload() const { return tag_.get(); }

private:
    std::string filter_;
    std::unique_ptr<gloox::Tag> tag_;
};

const std::string kJingleFilter = "/iq/jingle[@xmlns='" + std::string(sig::ns::kJingle) + "']";
const std::string kServicesFilter = "/iq/services[@xmlns='" + std::string(sig::ns::kExtDisco) + "']";
const std::string kCarbonReceivedFilter = "/message/received[@xmlns='" + std::string(sig::ns::kCarbons) + "']";
std::string jmiFilter(const char* element) {
    return "/message/" + std::string(element) + "[@xmlns='" + std::string(sig::ns::kJingleMessage) + "']";
}

std::string randomSid() {
    unsigned char b[16];
    RAND_bytes(b, sizeof b);
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
        out += digits[b[i] >> 4];
        out += digits[b[i] & 15];
    }
    return out;
}

std::string isoDate(time_t t) {
    char buf[32];
    tm utc{};
    gmtime_r(&t, &utc);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return buf;
}

// "xmpp:bob@example.com?jingle" -> "bob@example.com" (RFC 5122, without percent-decoding of ASCII).
std::string peerFromUri(std::string peer) {
    if (peer.rfind("xmpp:", 0) == 0) peer = peer.substr(5);
    if (peer.rfind("//", 0) == 0) {  // authority form: xmpp://me@host/peer
        auto slash = peer.find('/', 2);
        peer = slash == std::string::npos ? std::string() : peer.substr(slash + 1);
    }
    auto q = peer.find('?');
    if (q != std::string::npos) peer = peer.substr(0, q);
    auto h = peer.find('#');
    if (h != std::string::npos) peer = peer.substr(0, h);
    return peer;
}

transport::IceServerConfig toTransport(const IceServer& s) {
    transport::IceServerConfig out;
    out.kind = s.kind == IceServer::Kind::Turn ? transport::IceServerConfig::Kind::Turn : transport::IceServerConfig::Kind::Stun;
    out.host = s.host;
    out.port = s.port;
    out.protocol = s.protocol == IceServer::Protocol::Tcp   ? transport::IceServerConfig::Protocol::Tcp
                   : s.protocol == IceServer::Protocol::Tls ? transport::IceServerConfig::Protocol::Tls
                                                            : transport::IceServerConfig::Protocol::Udp;
    out.username = s.username;
    out.password = s.password;
    return out;
}

}  // namespace

const char* toString(ErrorCategory c) noexcept {
    switch (c) {
    case ErrorCategory::InvalidArgument: return "invalid-argument";
    case ErrorCategory::NotConnected: return "not-connected";
    case ErrorCategory::PeerUnavailable: return "peer-unavailable";
    case ErrorCategory::FeatureNotSupported: return "feature-not-supported";
    case ErrorCategory::Declined: return "declined";
    case ErrorCategory::Cancelled: return "cancelled";
    case ErrorCategory::NoIcePath: return "no-ice-path";
    case ErrorCategory::Security: return "security";
    case ErrorCategory::HashMismatch: return "hash-mismatch";
    case ErrorCategory::Io: return "io";
    case ErrorCategory::Timeout: return "timeout";
    case ErrorCategory::Protocol: return "protocol";
    case ErrorCategory::PeerGone: return "peer-gone";
    case ErrorCategory::Internal: return "internal";
    }
    return "unknown";
}

class Engine::Impl final : public impl::SessionHost,
                           public gloox::IqHandler,
                           public gloox::PresenceHandler,
                           public gloox::DiscoHandler,
                           public gloox::MessageHandler,
                           public gloox::ConnectionListener {
public:
    Impl(gloox::Client& client, Config config)
        : client_(client), config_(std::move(config)), table_(sig::SessionTableLimits{config_.maxPendingOffersPerPeer, 256, 256}) {
        if (config_.log) {
            auto sink = config_.log;
            transport::setLogSink([sink](transport::Level l, const std::string& m) { sink(static_cast<LogLevel>(l), m); });
        }
        wakeFd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        certificate_ = transport::Certificate::generate();
        network_ = std::make_unique<transport::NetworkThread>();
        client_.registerStanzaExtension(new TagExtension(kExtJingle, kJingleFilter));
        client_.registerStanzaExtension(new TagExtension(kExtServices, kServicesFilter));
        client_.registerStanzaExtension(new TagExtension(kExtCarbonReceived, kCarbonReceivedFilter));
        for (int i = 0; i < 7; ++i) client_.registerStanzaExtension(new TagExtension(kExtJmiBase + i, jmiFilter(kJmiElements[i])));
        client_.registerIqHandler(this, kExtJingle);
        client_.registerPresenceHandler(this);
        client_.registerMessageHandler(this);
        client_.registerConnectionListener(this);
        for (const char* f : features()) client_.disco()->addFeature(f);
        if (!config_.discoverIceServers) iceReady_ = true;
        if (client_.state() == gloox::StateConnected) onConnect();
    }

    ~Impl() override {
        auto sessions = sessions_;
        for (auto& s : sessions) s->shutdown();
        sessions_.clear();
        auto calls = calls_;
        for (auto& c : calls) c->shutdown();
        calls_.clear();
        pendingIqs_.clear();   // a terminated call may wait there for its IQ result
        mediaEngine_.reset();  // every call's media is gone: joins the media workers
        network_.reset();  // joins the network thread: no network callback after this
        client_.removeIqHandler(this, kExtJingle);
        client_.removeIDHandler(this);
        client_.removePresenceHandler(this);
        client_.removeMessageHandler(this);
        client_.removeConnectionListener(this);
        client_.disco()->removeDiscoHandler(this);
        for (const char* f : features()) client_.disco()->removeFeature(f);
        client_.removeStanzaExtension(kExtJingle);
        client_.removeStanzaExtension(kExtServices);
        client_.removeStanzaExtension(kExtCarbonReceived);
        for (int i = 0; i < 7; ++i) client_.removeStanzaExtension(kExtJmiBase + i);
        ::close(wakeFd_);
    }

    static std::vector<const char*> features() {
        return {sig::ns::kJingle, sig::ns::kFileTransfer5, sig::ns::kFileTransfer4, sig::ns::kFileTransfer3,
                sig::ns::kIceUdp, sig::ns::kDtls, sig::ns::kDtlsSctp, sig::ns::kWebRtcDataChannel,
                sig::ns::kRtp, sig::ns::kRtpAudio, sig::ns::kRtpVideo, sig::ns::kRtcpFb, sig::ns::kSsma,
                sig::ns::kGrouping, sig::ns::kJingleMessage};
    }

    // ------------------------------------------------------------ SessionHost
    void sendJingle(const gloox::JID& to, const sig::Jingle& jingle, std::function<void(const gloox::IQ*)> done) override {
        gloox::IQ iq(gloox::IQ::Set, to, client_.getID());
        iq.addExtension(new TagExtension(kExtJingle, kJingleFilter, sig::serializeJingle(jingle)));
        int ctx = nextContext_++;
        if (done) {
            pendingIqs_[ctx] = std::move(done);
            after(kIqTimeout, [this, ctx] { completeIq(ctx, nullptr); });
        }
        client_.send(iq, this, ctx);
    }

    void sendStanza(gloox::Tag* stanza) override { client_.send(stanza); }

    bool knownOnline(const std::string& bare) const override {
        auto it = online_.find(bare);
        return it != online_.end() && !it->second.empty();
    }

    impl::MediaEngine& mediaEngine() override {
        if (!mediaEngine_) mediaEngine_ = std::make_unique<impl::MediaEngine>(config_.mediaThreads);
        return *mediaEngine_;
    }

    void postToXmpp(std::function<void()> fn) override {
        {
            std::lock_guard<std::mutex> lock(queueMutex_);
            queue_.push_back(std::move(fn));
        }
        std::uint64_t one = 1;
        (void)!::write(wakeFd_, &one, sizeof one);
        if (config_.wakeup) config_.wakeup();
    }

    void after(std::chrono::milliseconds delay, std::function<void()> fn) override {
        timers_.emplace(std::chrono::steady_clock::now() + delay, std::move(fn));
    }

    transport::NetworkThread& network() override { return *network_; }
    std::shared_ptr<transport::Certificate> certificate() override { return certificate_; }
    const Config& config() const override { return config_; }
    sig::SessionTable& table() override { return table_; }
    const gloox::JID& self() const override { return client_.jid(); }

    transport::IceConfig iceConfig(bool controlling) override {
        transport::IceConfig c;
        c.controlling = controlling;
        c.relayOnly = config_.relayOnly;
        c.localAddresses = config_.localAddresses;
        c.portMin = config_.portMin;
        c.portMax = config_.portMax;
        for (const auto& s : iceServers()) c.servers.push_back(toTransport(s));
        return c;
    }

    void sessionEnded(const std::string& key) override {
        postToXmpp([this, key] {
            sessions_.erase(std::remove_if(sessions_.begin(), sessions_.end(),
                                           [&](const auto& s) { return s->key() == key && s->isOver(); }),
                            sessions_.end());
            calls_.erase(std::remove_if(calls_.begin(), calls_.end(),
                                        [&](const auto& c) { return c->key() == key && c->isOver(); }),
                         calls_.end());
        });
    }

    std::vector<IceServer> iceServers() const {
        auto all = config_.iceServers;
        all.insert(all.end(), discovered_.begin(), discovered_.end());
        return all;
    }

    // ------------------------------------------------------------ app API
    Result<std::shared_ptr<FileTransfer>> sendFile(const std::string& peer, const std::string& path, SendOptions options) {
        if (client_.state() != gloox::StateConnected) return Error{ErrorCategory::NotConnected, "the XMPP client is not connected"};
        gloox::JID jid(peerFromUri(peer));
        if (!jid || jid.username().empty()) return Error{ErrorCategory::InvalidArgument, "not a valid peer address: " + peer};
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return Error{ErrorCategory::InvalidArgument, "cannot open " + path + ": " + std::strerror(errno)};
        struct stat st {};
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            ::close(fd);
            return Error{ErrorCategory::InvalidArgument, "not a regular file: " + path};
        }
        FileInfo info;
        auto slash = path.find_last_of('/');
        info.name = options.name.empty() ? (slash == std::string::npos ? path : path.substr(slash + 1)) : options.name;
        info.size = static_cast<std::uint64_t>(st.st_size);
        info.mediaType = options.mediaType.empty() ? "application/octet-stream" : options.mediaType;
        info.description = options.description;
        info.date = isoDate(st.st_mtime);

        auto session = std::make_shared<FileTransfer::Impl>(*this, FileTransfer::Direction::Send, jid, randomSid());
        sessions_.push_back(session);
        session->prepareSend(path, info, fd);
        resolvePeer(session, jid, std::chrono::steady_clock::now() + kPeerWait);
        return std::shared_ptr<FileTransfer>(new FileTransfer(session));
    }

    void onFileOffer(std::function<void(std::shared_ptr<IncomingFileOffer>)> cb) { offerCb_ = std::move(cb); }

    Result<std::shared_ptr<Call>> call(const std::string& peer, CallMedia media) {
        if (client_.state() != gloox::StateConnected) return Error{ErrorCategory::NotConnected, "the XMPP client is not connected"};
        gloox::JID jid(peerFromUri(peer));
        if (!jid || jid.username().empty()) return Error{ErrorCategory::InvalidArgument, "not a valid peer address: " + peer};
        if (!media.audio && !media.video) return Error{ErrorCategory::InvalidArgument, "a call needs audio or video"};
        auto c = std::make_shared<Call::Impl>(*this, Call::Direction::Outgoing, jid, randomSid(), media);
        calls_.push_back(c);
        c->startOutgoing();
        return std::shared_ptr<Call>(new Call(c));
    }

    void onIncomingCall(std::function<void(std::shared_ptr<Call>)> cb) { callCb_ = std::move(cb); }

    // Signalling latency: a small stanza must not wait for the previous one's ACK (Nagle,
    // TCP_NODELAY), and our ACKs must not wait either (TCP_QUICKACK, which Linux clears after
    // a while, so it is armed again on every round). Without them a call's proceed,
    // session-initiate and session-accept each stall 40 ms (docs/performance.md).
    void tuneXmppSocket(bool connected) {
        if (!config_.tuneXmppSocket) return;
        auto* tcp = dynamic_cast<gloox::ConnectionTCPBase*>(client_.connectionImpl());
        if (!tcp || tcp->socket() < 0) return;
        int one = 1;
        if (connected) (void)::setsockopt(tcp->socket(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        (void)::setsockopt(tcp->socket(), IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
    }

    void processEvents() {
        tuneXmppSocket(false);
        std::uint64_t drained;
        (void)!::read(wakeFd_, &drained, sizeof drained);
        for (int round = 0; round < 64; ++round) {
            std::deque<std::function<void()>> batch;
            {
                std::lock_guard<std::mutex> lock(queueMutex_);
                batch.swap(queue_);
            }
            if (batch.empty()) break;
            for (auto& fn : batch) fn();
        }
        auto now = std::chrono::steady_clock::now();
        while (!timers_.empty() && timers_.begin()->first <= now) {
            auto fn = std::move(timers_.begin()->second);
            timers_.erase(timers_.begin());
            fn();
        }
    }

    bool pump(std::chrono::milliseconds maxWait) {
        processEvents();
        auto wait = maxWait;
        if (!timers_.empty()) {
            auto untilTimer = std::chrono::duration_cast<std::chrono::milliseconds>(timers_.begin()->first - std::chrono::steady_clock::now());
            wait = std::max(std::chrono::milliseconds(0), std::min(wait, untilTimer + std::chrono::milliseconds(1)));
        }
        {
            std::lock_guard<std::mutex> lock(queueMutex_);
            if (!queue_.empty()) wait = std::chrono::milliseconds(0);
        }
        if (client_.state() == gloox::StateDisconnected) {
            // No XMPP connection (lost, or not made yet): established sessions still run
            // on the network thread and post their work here, so wait for that alone.
            pollfd wake{wakeFd_, POLLIN, 0};
            ::poll(&wake, 1, static_cast<int>(wait.count()));
            processEvents();
            return false;
        }
        auto* tcp = dynamic_cast<gloox::ConnectionTCPBase*>(client_.connectionImpl());
        int fd = tcp ? tcp->socket() : -1;
        pollfd fds[2] = {{wakeFd_, POLLIN, 0}, {fd, POLLIN, 0}};
        // Without a socket to watch (BOSH), poll in short steps.
        int timeout = static_cast<int>(fd >= 0 ? wait.count() : std::min<long long>(wait.count(), 5));
        ::poll(fds, fd >= 0 ? 2 : 1, timeout);
        gloox::ConnectionError e = client_.recv(fd >= 0 ? 0 : 1000);
        processEvents();
        return e == gloox::ConnNoError;
    }

    // ------------------------------------------------------------ gloox handlers
    bool handleIq(const gloox::IQ& iq) override {
        if (iq.subtype() != gloox::IQ::Set) return false;
        const auto* ext = iq.findExtension<TagExtension>(kExtJingle);
        if (!ext || !ext->payload()) return false;
        auto parsed = sig::parseJingle(*ext->payload());
        if (!parsed) {
            replyError(iq, parsed.error());
            return true;
        }
        const sig::Jingle& j = parsed.value();
        switch (j.action) {
        case sig::Action::SessionInitiate:
        case sig::Action::SessionAccept:
        case sig::Action::SessionTerminate:
        case sig::Action::SessionInfo:
        case sig::Action::TransportInfo:
        case sig::Action::ContentRemove: break;
        default: replyError(iq, sig::Error::featureNotImplemented("unsupported Jingle action")); return true;
        }
        if (j.action == sig::Action::SessionInfo) {
            for (const auto& p : j.session_info) {
                if (p.kind == sig::SessionInfoPayload::Kind::Unknown) {
                    replyError(iq, sig::Error::unsupportedInfo());
                    return true;
                }
            }
        }
        auto dispatch = table_.onIncoming(iq.from(), iq.to(), j);
        if (!dispatch) {
            replyError(iq, dispatch.error());
            return true;
        }
        gloox::IQ ack(gloox::IQ::Result, iq.from(), iq.id());
        client_.send(ack);
        if (dispatch->created && dispatch->overruled) {
            // XEP-0166 7.2.16: the peer's session-initiate won the tie-break; ours is void.
            for (auto& s : std::vector<std::shared_ptr<FileTransfer::Impl>>(sessions_))
                if (s->handle() == *dispatch->overruled) s->overruledByPeer();
        }
        if (dispatch->created) {
            handleOffer(iq.from(), j, dispatch->session);
            return true;
        }
        for (auto& s : sessions_) {
            if (s->sid() == j.sid && s->peer() == iq.from() && !s->isOver()) {
                auto keep = s;
                keep->handleJingle(j);
                return true;
            }
        }
        for (auto& c : calls_) {
            if (c->id() == j.sid && c->device() == iq.from()) {
                auto keep = c;
                keep->handleJingle(j);
                return true;
            }
        }
        return true;
    }

    void handleMessage(const gloox::Message& msg, gloox::MessageSession*) override {
        if (msg.subtype() == gloox::Message::Error) {
            // A propose (its stanza id is the call id) bounced: nobody there to ring.
            for (auto& c : std::vector<std::shared_ptr<Call::Impl>>(calls_))
                if (c->id() == msg.id()) c->proposeBounced(msg.from().full() + " cannot be reached");
            return;
        }
        gloox::JID from = msg.from();
        bool carbon = false;
        const gloox::Tag* stanza = nullptr;
        for (int i = 0; i < 7 && !stanza; ++i)
            if (const auto* ext = msg.findExtension<TagExtension>(kExtJmiBase + i)) stanza = ext->payload();
        if (!stanza) {
            // XEP-0280: a message another of our devices received, copied to us.
            // Only our own server may send those (from our bare JID).
            const auto* ext = msg.findExtension<TagExtension>(kExtCarbonReceived);
            if (!ext || !ext->payload() || from.full() != client_.jid().bare()) return;
            const gloox::Tag* fwd = ext->payload()->findChild("forwarded", "xmlns", sig::ns::kForward);
            const gloox::Tag* inner = fwd ? fwd->findChild("message") : nullptr;
            if (!inner) return;
            for (const gloox::Tag* child : inner->children())
                if (child->xmlns() == sig::ns::kJingleMessage) stanza = child;
            if (!stanza) return;
            from = gloox::JID(inner->findAttribute("from"));
            carbon = true;
        }
        auto parsed = sig::parseJmi(*stanza);
        if (!parsed) return;
        const auto& m = parsed.value();
        for (auto& c : std::vector<std::shared_ptr<Call::Impl>>(calls_)) {
            if (c->id() == m.id) {
                c->handleJmi(m, from, carbon);
                return;
            }
        }
        if (m.type != sig::JmiType::Propose || carbon || from.bare() == client_.jid().bare()) return;
        auto jmi = sig::JmiCall::incoming(m, from, client_.jid());
        if (!jmi) return;
        bool audio = m.proposesMedia("audio"), video = m.proposesMedia("video");
        if (!audio && !video) return;  // not a call (e.g. a file offer through JMI)
        auto c = std::make_shared<Call::Impl>(*this, Call::Direction::Incoming, from, m.id, CallMedia{audio, video});
        calls_.push_back(c);
        c->takePropose(std::move(jmi.value()));
        announceCall(c);
    }

    void handleIqID(const gloox::IQ& iq, int context) override {
        if (context == kContextServices) {
            handleServices(iq);
            return;
        }
        completeIq(context, &iq);
    }

    void handlePresence(const gloox::Presence& presence) override {
        const gloox::JID& from = presence.from();
        if (from.resource().empty()) return;
        auto& resources = online_[from.bare()];
        if (presence.subtype() == gloox::Presence::Unavailable || presence.subtype() == gloox::Presence::Error) {
            resources.erase(from.resource());
            for (auto& s : std::vector<std::shared_ptr<FileTransfer::Impl>>(sessions_))
                if (s->peer() == from) s->peerWentOffline();
            for (auto& c : std::vector<std::shared_ptr<Call::Impl>>(calls_)) c->peerWentOffline(from);
            return;
        }
        if (presence.subtype() == gloox::Presence::Probe || presence.subtype() == gloox::Presence::Invalid) return;
        resources[from.resource()] = presence.priority();
        auto waiting = std::move(waitingPresence_);
        waitingPresence_.clear();
        for (auto& w : waiting) {
            auto s = w.session.lock();
            if (!s) continue;
            if (w.bare == from.bare()) resolvePeer(s, gloox::JID(from.bare()), w.deadline);
            else waitingPresence_.push_back(w);
        }
    }

    void handleDiscoInfo(const gloox::JID& from, const gloox::Disco::Info& info, int context) override {
        auto it = discoWaits_.find(context);
        if (it == discoWaits_.end()) return;
        auto session = it->second.lock();
        discoWaits_.erase(it);
        if (!session) return;
        bool ft = info.hasFeature(sig::ns::kFileTransfer5) || info.hasFeature(sig::ns::kFileTransfer4) ||
                  info.hasFeature(sig::ns::kFileTransfer3);
        bool wrapper = info.hasFeature(sig::ns::kWebRtcDataChannel);
        bool sctpmap = info.hasFeature(sig::ns::kDtlsSctp);
        if (!info.hasFeature(sig::ns::kJingle) || !ft || !info.hasFeature(sig::ns::kIceUdp) || !(wrapper || sctpmap)) {
            session->peerFailed(Error{ErrorCategory::FeatureNotSupported,
                                      from.full() + " does not support file transfer over a WebRTC data channel"});
            return;
        }
        bool preferSctpmap = config_.offerDialect == DataChannelDialect::Sctpmap;
        session->setDialect(sctpmap && (preferSctpmap || !wrapper) ? sig::DataChannelDialect::Xep0343Sctpmap
                                                                   : sig::DataChannelDialect::ConversationsWrapper);
        whenIceReady([session, from] { session->peerResolved(from); });
    }

    void handleDiscoItems(const gloox::JID&, const gloox::Disco::Items&, int) override {}

    void handleDiscoError(const gloox::JID& from, const gloox::Error* error, int context) override {
        auto it = discoWaits_.find(context);
        if (it == discoWaits_.end()) return;
        auto session = it->second.lock();
        discoWaits_.erase(it);
        if (!session) return;
        auto condition = error ? error->error() : gloox::StanzaErrorUndefined;
        if (condition == gloox::StanzaErrorFeatureNotImplemented)
            session->peerFailed(Error{ErrorCategory::FeatureNotSupported, from.full() + " does not answer service discovery"});
        else session->peerFailed(Error{ErrorCategory::PeerUnavailable, from.full() + " is not online"});
    }

    void onConnect() override {
        tuneXmppSocket(true);
        if (!config_.discoverIceServers) return;
        iceReady_ = false;
        gloox::IQ iq(gloox::IQ::Get, gloox::JID(client_.jid().server()), client_.getID());
        iq.addExtension(new TagExtension(kExtServices, kServicesFilter, sig::makeServicesQuery()));
        client_.send(iq, this, kContextServices);
        after(kDiscoveryWait, [this] { setIceReady(); });
    }
    // The XMPP connection is gone (server restart, network loss, stream error). Calls and
    // transfers already connected keep their ICE/DTLS path: media, data and a hang-up (DTLS
    // close) go peer to peer. File offers not yet answered, and calls not yet connected,
    // cannot finish their signaling any more: they fail now.
    void onDisconnect(gloox::ConnectionError error) override {
        if (config_.log && error != gloox::ConnUserDisconnected)
            config_.log(LogLevel::Warning, "the XMPP connection was lost (gloox error " +
                                               std::to_string(static_cast<int>(error)) +
                                               "); connected calls and transfers go on peer to peer");
        for (auto& s : std::vector<std::shared_ptr<FileTransfer::Impl>>(sessions_))
            s->peerFailed(Error{ErrorCategory::NotConnected, "the XMPP connection was lost before the offer was answered"});
        for (auto& c : std::vector<std::shared_ptr<Call::Impl>>(calls_)) c->signalingLost();
    }
    bool onTLSConnect(const gloox::CertInfo&) override { return true; }  // the app's own listener decides

private:
    struct PresenceWait {
        std::string bare;
        std::weak_ptr<FileTransfer::Impl> session;
        std::chrono::steady_clock::time_point deadline;
    };

    void replyError(const gloox::IQ& iq, const sig::Error& error) {
        gloox::IQ reply(gloox::IQ::Error, iq.from(), iq.id());
        reply.addExtension(sig::makeGlooxError(error));
        client_.send(reply);
    }

    void completeIq(int context, const gloox::IQ* iq) {
        auto it = pendingIqs_.find(context);
        if (it == pendingIqs_.end()) return;
        auto fn = std::move(it->second);
        pendingIqs_.erase(it);
        fn(iq);
    }

    void handleServices(const gloox::IQ& iq) {
        const auto* ext = iq.findExtension<TagExtension>(kExtServices);
        if (iq.subtype() == gloox::IQ::Result && ext && ext->payload()) {
            auto services = sig::parseExternalServices(*ext->payload());
            if (services) {
                discovered_.clear();
                for (const auto& s : services.value()) {
                    IceServer server;
                    server.host = s.host;
                    server.port = s.effectivePort();
                    if (s.type == sig::ExternalServiceType::Stun) {
                        server.kind = IceServer::Kind::Stun;
                        if (s.effectiveTransport() != sig::ExternalServiceTransport::Udp) continue;
                    } else {
                        server.kind = IceServer::Kind::Turn;
                        server.protocol = s.type == sig::ExternalServiceType::Turns ? IceServer::Protocol::Tls
                                          : s.effectiveTransport() == sig::ExternalServiceTransport::Tcp ? IceServer::Protocol::Tcp
                                                                                                          : IceServer::Protocol::Udp;
                        server.username = s.username.value_or("");
                        server.password = s.password.value_or("");
                    }
                    discovered_.push_back(server);
                }
            }
        }
        setIceReady();
    }

    void setIceReady() {
        if (iceReady_) return;
        iceReady_ = true;
        auto waiting = std::move(iceWaiters_);
        iceWaiters_.clear();
        for (auto& fn : waiting) fn();
    }

    void whenIceReady(std::function<void()> fn) {
        if (iceReady_) fn();
        else iceWaiters_.push_back(std::move(fn));
    }

    void resolvePeer(const std::shared_ptr<FileTransfer::Impl>& session, const gloox::JID& jid,
                     std::chrono::steady_clock::time_point deadline) {
        gloox::JID full = jid;
        if (jid.resource().empty()) {
            auto it = online_.find(jid.bare());
            if (it == online_.end() || it->second.empty()) {
                // Wait for the peer's presence (it may come with a subscription approval).
                waitingPresence_.push_back({jid.bare(), session, deadline});
                std::weak_ptr<FileTransfer::Impl> weak = session;
                auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
                after(std::max(left, std::chrono::milliseconds(0)), [weak, bare = jid.bare()] {
                    if (auto s = weak.lock())
                        s->peerFailed(Error{ErrorCategory::PeerUnavailable, bare + " is offline (no available resource seen)"});
                });
                return;
            }
            auto best = std::max_element(it->second.begin(), it->second.end(),
                                         [](const auto& a, const auto& b) { return a.second < b.second; });
            full = gloox::JID(jid.bare() + "/" + best->first);
        }
        int ctx = nextContext_++;
        discoWaits_[ctx] = session;
        client_.disco()->getDiscoInfo(full, gloox::EmptyString, this, ctx);
    }

    void announceCall(const std::shared_ptr<Call::Impl>& c) {
        std::weak_ptr<Call::Impl> weak = c;
        whenIceReady([this, weak] {
            auto s = weak.lock();
            if (!s || s->state() != CallState::Ringing) return;
            if (!callCb_) {
                s->reject();
                return;
            }
            auto cb = callCb_;
            std::shared_ptr<Call> handle(new Call(s));
            postToXmpp([cb, handle] { cb(handle); });
        });
    }

    void handleCallInitiate(const gloox::JID& from, const sig::Jingle& j, sig::SessionHandle handle) {
        std::shared_ptr<Call::Impl> c;
        for (auto& existing : calls_)
            if (existing->id() == j.sid && existing->direction() == Call::Direction::Incoming && existing->peer() == from &&
                !existing->isOver())
                c = existing;
        bool fresh = !c;
        if (fresh) {  // a call started with Jingle directly (no JMI)
            c = std::make_shared<Call::Impl>(*this, Call::Direction::Incoming, from, j.sid, CallMedia{});
            calls_.push_back(c);
        }
        std::string refusal;
        if (!c->takeInitiate(j, handle, refusal)) {
            if (config_.log) config_.log(LogLevel::Warning, "refused a call from " + from.full() + ": " + refusal);
            return;
        }
        if (fresh) announceCall(c);
    }

    void handleOffer(const gloox::JID& from, const sig::Jingle& j, sig::SessionHandle handle) {
        for (const auto& content : j.contents) {
            if (content.description && content.description->kind == sig::ApplicationKind::Rtp) {
                handleCallInitiate(from, j, handle);
                return;
            }
        }
        auto session = std::make_shared<FileTransfer::Impl>(*this, FileTransfer::Direction::Receive, from, j.sid);
        sessions_.push_back(session);
        std::string refusal;
        if (!session->takeOffer(j, handle, refusal)) {
            // Never reaches the app (it is not a usable offer), but whoever runs
            // the app should see that an offer came and why it was refused.
            if (config_.log) config_.log(LogLevel::Warning, "refused a file offer from " + from.full() + ": " + refusal);
            return;
        }
        std::weak_ptr<FileTransfer::Impl> weak = session;
        whenIceReady([this, weak] {
            auto s = weak.lock();
            if (!s || s->state() != TransferState::Offered) return;
            if (!offerCb_) {
                s->decline();
                return;
            }
            std::shared_ptr<IncomingFileOffer> offer(new IncomingFileOffer(std::make_shared<IncomingFileOffer::Impl>(s)));
            auto cb = offerCb_;
            postToXmpp([cb, offer] { cb(offer); });
        });
    }

    gloox::Client& client_;
    Config config_;
    sig::SessionTable table_;
    int wakeFd_ = -1;
    std::shared_ptr<transport::Certificate> certificate_;
    std::unique_ptr<transport::NetworkThread> network_;
    std::vector<std::shared_ptr<FileTransfer::Impl>> sessions_;
    std::function<void(std::shared_ptr<IncomingFileOffer>)> offerCb_;
    std::vector<std::shared_ptr<Call::Impl>> calls_;
    std::function<void(std::shared_ptr<Call>)> callCb_;
    std::unique_ptr<impl::MediaEngine> mediaEngine_;
    std::mutex queueMutex_;
    std::deque<std::function<void()>> queue_;  // guarded by queueMutex_
    std::multimap<std::chrono::steady_clock::time_point, std::function<void()>> timers_;
    std::map<int, std::function<void(const gloox::IQ*)>> pendingIqs_;
    std::map<int, std::weak_ptr<FileTransfer::Impl>> discoWaits_;
    int nextContext_ = 1000;
    std::map<std::string, std::map<std::string, int>> online_;
    std::vector<PresenceWait> waitingPresence_;
    std::vector<IceServer> discovered_;
    bool iceReady_ = false;
    std::vector<std::function<void()>> iceWaiters_;
};

// ---------------------------------------------------------------- Engine

Engine::Engine(gloox::Client& client, Config config) : impl_(std::make_unique<Impl>(client, std::move(config))) {}
Engine::~Engine() = default;

Result<std::shared_ptr<FileTransfer>> Engine::sendFile(const std::string& peer, const std::string& path, SendOptions options) {
    return impl_->sendFile(peer, path, std::move(options));
}
void Engine::onFileOffer(std::function<void(std::shared_ptr<IncomingFileOffer>)> cb) { impl_->onFileOffer(std::move(cb)); }
Result<std::shared_ptr<Call>> Engine::call(const std::string& peer, CallMedia media) { return impl_->call(peer, media); }
void Engine::onIncomingCall(std::function<void(std::shared_ptr<Call>)> cb) { impl_->onIncomingCall(std::move(cb)); }
void Engine::processEvents() { impl_->processEvents(); }
bool Engine::pump(std::chrono::milliseconds maxWait) { return impl_->pump(maxWait); }
std::vector<IceServer> Engine::iceServers() const { return impl_->iceServers(); }

// ---------------------------------------------------------------- handles

FileTransfer::FileTransfer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
FileTransfer::~FileTransfer() { impl_->detachApp(); }
FileTransfer::Direction FileTransfer::direction() const { return impl_->direction(); }
const FileInfo& FileTransfer::file() const { return impl_->file(); }
std::string FileTransfer::peer() const { return impl_->peer().full(); }
std::string FileTransfer::sid() const { return impl_->sid(); }
TransferState FileTransfer::state() const { return impl_->state(); }
PathInfo FileTransfer::route() const { return impl_->route(); }
void FileTransfer::onConnected(std::function<void(const PathInfo&)> cb) { impl_->onConnected = std::move(cb); }
void FileTransfer::onProgress(std::function<void(const TransferProgress&)> cb) { impl_->onProgress = std::move(cb); }
void FileTransfer::onComplete(std::function<void(const TransferResult&)> cb) { impl_->onComplete = std::move(cb); }
void FileTransfer::onError(std::function<void(const Error&)> cb) { impl_->onError = std::move(cb); }
void FileTransfer::cancel() { impl_->cancel(); }

IncomingFileOffer::IncomingFileOffer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
IncomingFileOffer::~IncomingFileOffer() {
    if (!impl_->answered) impl_->session->decline();
}
const FileInfo& IncomingFileOffer::file() const { return impl_->session->file(); }
std::string IncomingFileOffer::peer() const { return impl_->session->peer().full(); }
std::string IncomingFileOffer::sid() const { return impl_->session->sid(); }
std::string IncomingFileOffer::safeName() const { return impl_->session->safeName(); }

Result<std::shared_ptr<FileTransfer>> IncomingFileOffer::accept(const std::string& directory, AcceptOptions options) {
    if (impl_->answered) return Error{ErrorCategory::InvalidArgument, "the offer was answered already"};
    auto r = impl_->session->accept(directory, options.overwrite, nullptr);
    if (!r) return r.error();
    impl_->answered = true;
    return std::shared_ptr<FileTransfer>(new FileTransfer(impl_->session));
}

void IncomingFileOffer::decline() {
    if (impl_->answered) return;
    impl_->answered = true;
    impl_->session->decline();
}

}  // namespace tern
