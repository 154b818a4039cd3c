#include "tern/transport/sctp_transport.hpp"

#include "tern/transport/dcep.hpp"
#include "tern/transport/log.hpp"

#include <glib.h>
#include <usrsctp.h>

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <unordered_set>

namespace tern::transport {
namespace {

// Process-wide usrsctp state: the live transports (so that callbacks can tell a
// live pointer from a stale one) and the timer that drives usrsctp, attached to
// one of the network threads that use SCTP (another takes over when it leaves).
class SctpGlobal {
public:
    static SctpGlobal& instance() {
        static SctpGlobal global;
        return global;
    }

    void add(SctpTransport* t, NetworkThread* thread) {
        std::lock_guard<std::mutex> lock(mutex_);
        live_.insert(t);
        threads_.push_back(thread);
        if (!driver_) startOn(thread);
    }

    void remove(SctpTransport* t, NetworkThread* thread) {
        std::lock_guard<std::mutex> lock(mutex_);
        live_.erase(t);
        for (auto it = threads_.begin(); it != threads_.end(); ++it) {
            if (*it == thread) {
                threads_.erase(it);
                break;
            }
        }
        bool stillUsed = false;
        for (auto* other : threads_) stillUsed = stillUsed || other == thread;
        if (driver_ == thread && !stillUsed) {
            stop();
            if (!threads_.empty()) startOn(threads_.front());
        }
    }

    /// Runs `fn(transport, onOwnerThread)` if `t` is live; under the registry lock.
    template <class Fn>
    bool withLive(void* t, Fn&& fn) {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = live_.find(static_cast<SctpTransport*>(t));
        if (it == live_.end()) return false;
        fn(*it);
        return true;
    }

private:
    SctpGlobal() {
        usrsctp_init_nothreads(0, &SctpTransport::connOutput, nullptr);
        usrsctp_sysctl_set_sctp_ecn_enable(0);
        usrsctp_sysctl_set_sctp_init_rto_max_default(10000);
        usrsctp_sysctl_set_sctp_rto_max_default(10000);
        usrsctp_sysctl_set_sctp_rto_min_default(100);
        // A lone packet is acknowledged on the next timer tick (the driver runs usrsctp's
        // timers every 10 ms) instead of after 20 ms: on a long lossy path the window is
        // small, and a delayed SACK stretches every round trip (docs/performance.md, WAN:
        // 2.6 -> 3.1 Mbit/s at 40 ms RTT and 1% loss). Full-sized runs are still
        // acknowledged every second packet (sack_freq 2), as before.
        usrsctp_sysctl_set_sctp_delayed_sack_time_default(1);
        // An idle association (a receiver verifying, a sender waiting to be confirmed) still
        // shows every second or so that the path works: the link counts 4 s without a packet
        // as a lost path (src/link.cpp).
        usrsctp_sysctl_set_sctp_heartbeat_interval_default(1000);
        // HighSpeed TCP congestion control (RFC 3649) instead of the RFC 2581 one: the same
        // response as standard TCP at loss rates above 1e-3 (small windows), and a faster
        // climb and smaller back-off once the window is large. Measured through the NAT lab
        // at 100 Mbit/s and +40 ms RTT (scripts/bench wan, docs/performance.md): 13 -> 52
        // Mbit/s at 0.1 % loss and 28 -> 57..73 Mbit/s without loss; equal at 1 % loss.
        usrsctp_sysctl_set_sctp_default_cc_module(SCTP_CC_HSTCP);
    }

    void startOn(NetworkThread* thread) {
        driver_ = thread;
        last_ = std::chrono::steady_clock::now();
        tick_ = g_timeout_source_new(10);
        g_source_set_callback(tick_, &SctpGlobal::onTick, this, nullptr);
        g_source_attach(tick_, thread->context());
    }

    void stop() {
        if (tick_) {
            g_source_destroy(tick_);
            g_source_unref(tick_);
            tick_ = nullptr;
        }
        driver_ = nullptr;
    }

    static gboolean onTick(gpointer self) {
        auto* g = static_cast<SctpGlobal*>(self);
        auto now = std::chrono::steady_clock::now();
        auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - g->last_).count();
        if (elapsed > 0) {
            g->last_ = now;
            usrsctp_handle_timers(static_cast<uint32_t>(elapsed));
        }
        return G_SOURCE_CONTINUE;
    }

    std::mutex mutex_;
    std::unordered_set<SctpTransport*> live_;
    std::vector<NetworkThread*> threads_;
    NetworkThread* driver_ = nullptr;
    GSource* tick_ = nullptr;
    std::chrono::steady_clock::time_point last_;  // touched by the driver thread only
};

template <class T>
bool setOption(struct socket* sock, int level, int name, const T& value) {
    return usrsctp_setsockopt(sock, level, name, &value, sizeof value) == 0;
}

}  // namespace

std::shared_ptr<SctpTransport> SctpTransport::create(NetworkThread& thread, DtlsTransport& lower, SctpConfig config,
                                                     Callbacks callbacks) {
    std::shared_ptr<SctpTransport> t(new SctpTransport(thread, lower, config, std::move(callbacks)));
    t->init();
    return t;
}

SctpTransport::SctpTransport(NetworkThread& thread, DtlsTransport& lower, SctpConfig config, Callbacks callbacks)
    : thread_(thread), lower_(lower), config_(config), callbacks_(std::move(callbacks)) {
    recvBuffer_.resize(1 << 16);
}

void SctpTransport::init() {
    SctpGlobal::instance().add(this, &thread_);
    usrsctp_register_address(this);
    sock_ = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, nullptr, nullptr, 0, nullptr);
    if (!sock_) {
        fail("usrsctp_socket failed");
        return;
    }
    usrsctp_set_upcall(sock_, &SctpTransport::upcall, this);
    usrsctp_set_non_blocking(sock_, 1);

    linger lin{1, 0};
    setOption(sock_, SOL_SOCKET, SO_LINGER, lin);
    int sndbuf = static_cast<int>(config_.sendBuffer);
    int rcvbuf = static_cast<int>(config_.receiveBuffer);
    setOption(sock_, SOL_SOCKET, SO_SNDBUF, sndbuf);
    setOption(sock_, SOL_SOCKET, SO_RCVBUF, rcvbuf);
    sctp_assoc_value reset{};
    reset.assoc_id = SCTP_ALL_ASSOC;
    reset.assoc_value = SCTP_ENABLE_RESET_STREAM_REQ;
    setOption(sock_, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, reset);
    int on = 1;
    setOption(sock_, IPPROTO_SCTP, SCTP_RECVRCVINFO, on);
    setOption(sock_, IPPROTO_SCTP, SCTP_NODELAY, on);
    for (uint16_t type : {SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT, SCTP_SENDER_DRY_EVENT}) {
        sctp_event ev{};
        ev.se_assoc_id = SCTP_ALL_ASSOC;
        ev.se_on = 1;
        ev.se_type = type;
        setOption(sock_, IPPROTO_SCTP, SCTP_EVENT, ev);
    }
    sctp_initmsg init{};
    init.sinit_num_ostreams = 1024;
    init.sinit_max_instreams = 1024;
    setOption(sock_, IPPROTO_SCTP, SCTP_INITMSG, init);
    sctp_paddrparams params{};
    params.spp_address.ss_family = AF_CONN;
    params.spp_flags = SPP_PMTUD_DISABLE;
    params.spp_pathmtu = config_.mtu;
    setOption(sock_, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, params);

    sockaddr_conn local{};
    local.sconn_family = AF_CONN;
    local.sconn_port = htons(config_.localPort);
    local.sconn_addr = this;
    if (usrsctp_bind(sock_, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) {
        fail(std::string("usrsctp_bind failed: ") + std::strerror(errno));
        return;
    }

    lower_.onState([this](State s, const std::string& reason) {
        if (s == State::Connected) connect();
        else if (s == State::Failed) fail(reason);
        else if (s == State::Closed) changeState(State::Closed, reason);
    });
    lower_.onRecv([this](const std::uint8_t* d, std::size_t l) { incoming(d, l); });
    if (lower_.state() == State::Connected) connect();
}

SctpTransport::~SctpTransport() {
    SctpGlobal::instance().remove(this, &thread_);  // no callback reaches us after this
    lower_.onRecv(nullptr);
    lower_.onState(nullptr);
    if (sock_) {
        usrsctp_set_upcall(sock_, nullptr, nullptr);
        usrsctp_close(sock_);
    }
    usrsctp_deregister_address(this);
}

void SctpTransport::connect() {
    if (connectStarted_ || !sock_) return;
    connectStarted_ = true;
    changeState(State::Connecting);
    sockaddr_conn remote{};
    remote.sconn_family = AF_CONN;
    remote.sconn_port = htons(config_.remotePort);
    remote.sconn_addr = this;
    if (usrsctp_connect(sock_, reinterpret_cast<sockaddr*>(&remote), sizeof remote) < 0 && errno != EINPROGRESS)
        fail(std::string("usrsctp_connect failed: ") + std::strerror(errno));
}

void SctpTransport::fail(const std::string& reason) {
    if (state() == State::Failed || state() == State::Closed) return;
    logWarning("sctp: " + reason);
    changeState(State::Failed, reason);
}

void SctpTransport::incoming(const std::uint8_t* data, std::size_t len) {
    usrsctp_conninput(this, data, len, 0);
}

void SctpTransport::output(const std::uint8_t* data, std::size_t len) { lower_.send(data, len); }

int SctpTransport::connOutput(void* addr, void* buf, std::size_t len, std::uint8_t, std::uint8_t) {
    SctpTransport* direct = nullptr;
    SctpGlobal::instance().withLive(addr, [&](SctpTransport* t) {
        if (t->thread_.isCurrent()) {
            direct = t;
        } else {
            std::vector<std::uint8_t> copy(static_cast<std::uint8_t*>(buf), static_cast<std::uint8_t*>(buf) + len);
            std::weak_ptr<int> alive = t->alive_;
            t->thread_.post([t, alive, copy = std::move(copy)] {
                if (alive.lock()) t->output(copy.data(), copy.size());
            });
        }
    });
    // Destruction happens on the owner thread only, so `direct` stays valid here.
    if (direct) direct->output(static_cast<std::uint8_t*>(buf), len);
    return 0;
}

void SctpTransport::upcall(struct socket*, void* arg, int) {
    // Never call back into usrsctp from inside its upcall: defer to the loop.
    SctpGlobal::instance().withLive(arg, [](SctpTransport* t) {
        if (t->processScheduled_.exchange(true)) return;
        std::weak_ptr<int> alive = t->alive_;
        t->thread_.post([t, alive] {
            if (!alive.lock()) return;
            t->processScheduled_ = false;
            t->process();
        });
    });
}

void SctpTransport::process() {
    if (!sock_) return;
    int events = usrsctp_get_events(sock_);
    if (events & SCTP_EVENT_READ) {
        for (;;) {
            sctp_rcvinfo info{};
            socklen_t infoLen = sizeof info;
            unsigned int infoType = 0;
            int flags = 0;
            sockaddr_conn from{};
            socklen_t fromLen = sizeof from;
            ssize_t n = usrsctp_recvv(sock_, recvBuffer_.data(), recvBuffer_.size(), reinterpret_cast<sockaddr*>(&from),
                                      &fromLen, &info, &infoLen, &infoType, &flags);
            if (n < 0) {
                if (errno != EWOULDBLOCK && errno != EAGAIN) fail(std::string("receive failed: ") + std::strerror(errno));
                break;
            }
            if (n == 0) {
                changeState(State::Closed, "association closed");
                return;
            }
            const auto* data = recvBuffer_.data();
            auto len = static_cast<std::size_t>(n);
            bool last = (flags & MSG_EOR) != 0;
            if (flags & MSG_NOTIFICATION) {
                handleNotification(data, len);
                if (state() == State::Failed || state() == State::Closed) return;
                continue;
            }
            std::uint32_t ppid = ntohl(info.rcv_ppid);
            std::uint16_t stream = info.rcv_sid;
            if (ppid == dcep::kPpidControl) {
                auto& partial = partialControl_[stream];
                if (partial.size() + len > 4096) partial.clear();  // a control message is small
                partial.insert(partial.end(), data, data + len);
                if (last) {
                    auto message = std::move(partial);
                    partialControl_.erase(stream);
                    handleControl(stream, message.data(), message.size());
                }
                continue;
            }
            if (ppid == dcep::kPpidBinaryEmpty || ppid == dcep::kPpidStringEmpty) len = 0;
            if (callbacks_.message) callbacks_.message(stream, data, len, last);
            if (!sock_ || state() == State::Failed || state() == State::Closed) return;
        }
    }
    if ((events & SCTP_EVENT_WRITE) && state() == State::Connected && callbacks_.writable) callbacks_.writable();
}

void SctpTransport::handleNotification(const std::uint8_t* data, std::size_t len) {
    if (len < sizeof(sctp_notification::sn_header)) return;
    const auto* n = reinterpret_cast<const sctp_notification*>(data);
    switch (n->sn_header.sn_type) {
    case SCTP_ASSOC_CHANGE:
        if (len < sizeof(sctp_assoc_change)) return;
        switch (n->sn_assoc_change.sac_state) {
        case SCTP_COMM_UP:
        case SCTP_RESTART: changeState(State::Connected); break;
        case SCTP_COMM_LOST: fail("association lost"); break;
        case SCTP_SHUTDOWN_COMP: changeState(State::Closed, "association shut down"); break;
        case SCTP_CANT_STR_ASSOC: fail("association could not start"); break;
        default: break;
        }
        break;
    case SCTP_STREAM_RESET_EVENT: {
        const auto& ev = n->sn_strreset_event;
        if (!(ev.strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN)) break;
        std::size_t count = (ev.strreset_length - sizeof(sctp_stream_reset_event)) / sizeof(uint16_t);
        for (std::size_t i = 0; i < count; ++i)
            if (callbacks_.channelClosed) callbacks_.channelClosed(ev.strreset_stream_list[i]);
        break;
    }
    default: break;
    }
}

void SctpTransport::handleControl(std::uint16_t stream, const std::uint8_t* data, std::size_t len) {
    if (dcep::isAck(data, len)) return;
    auto open = dcep::parseOpen(data, len);
    if (!open) {
        logWarning("sctp: malformed DCEP message ignored");
        return;
    }
    auto ack = dcep::encodeAck();
    sctp_sendv_spa spa{};
    spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
    spa.sendv_sndinfo.snd_sid = stream;
    spa.sendv_sndinfo.snd_ppid = htonl(dcep::kPpidControl);
    spa.sendv_sndinfo.snd_flags = SCTP_EOR;
    usrsctp_sendv(sock_, ack.data(), ack.size(), nullptr, 0, &spa, sizeof spa, SCTP_SENDV_SPA, 0);
    if (defaultStream_ < 0) defaultStream_ = stream;
    if (callbacks_.channelOpen) callbacks_.channelOpen(stream, open->label, open->protocol);
}

int SctpTransport::openChannel(const std::string& label, const std::string& protocol) {
    if (state() != State::Connected) return -1;
    // DCEP: the DTLS client uses even stream ids, the server odd ones (RFC 8832 section 6).
    std::uint16_t stream = static_cast<std::uint16_t>(2 * channelsOpened_ + (lower_.role() == DtlsTransport::Role::Client ? 0 : 1));
    ++channelsOpened_;
    dcep::Open open;
    open.label = label;
    open.protocol = protocol;
    auto msg = dcep::encodeOpen(open);
    sctp_sendv_spa spa{};
    spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
    spa.sendv_sndinfo.snd_sid = stream;
    spa.sendv_sndinfo.snd_ppid = htonl(dcep::kPpidControl);
    spa.sendv_sndinfo.snd_flags = SCTP_EOR;
    if (usrsctp_sendv(sock_, msg.data(), msg.size(), nullptr, 0, &spa, sizeof spa, SCTP_SENDV_SPA, 0) < 0) return -1;
    if (defaultStream_ < 0) defaultStream_ = stream;
    return stream;
}

SctpTransport::SendResult SctpTransport::sendMessage(std::uint16_t stream, const std::uint8_t* data, std::size_t len,
                                                     bool binary) {
    if (state() != State::Connected || !sock_) return SendResult::Error;
    static const std::uint8_t zero = 0;
    std::uint32_t ppid = binary ? dcep::kPpidBinary : dcep::kPpidString;
    if (len == 0) {
        ppid = binary ? dcep::kPpidBinaryEmpty : dcep::kPpidStringEmpty;
        data = &zero;
        len = 1;
    }
    sctp_sendv_spa spa{};
    spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
    spa.sendv_sndinfo.snd_sid = stream;
    spa.sendv_sndinfo.snd_ppid = htonl(ppid);
    spa.sendv_sndinfo.snd_flags = SCTP_EOR;
    ssize_t n = usrsctp_sendv(sock_, data, len, nullptr, 0, &spa, sizeof spa, SCTP_SENDV_SPA, 0);
    if (n >= 0) return SendResult::Ok;
    if (errno == EWOULDBLOCK || errno == EAGAIN) return SendResult::WouldBlock;
    fail(std::string("send failed: ") + std::strerror(errno));
    return SendResult::Error;
}

bool SctpTransport::send(const std::uint8_t* data, std::size_t len) {
    if (defaultStream_ < 0) return false;
    return sendMessage(static_cast<std::uint16_t>(defaultStream_), data, len) == SendResult::Ok;
}

void SctpTransport::closeChannel(std::uint16_t stream) {
    if (!sock_ || state() != State::Connected) return;
    std::vector<std::uint8_t> buf(sizeof(sctp_reset_streams) + sizeof(uint16_t));
    auto* srs = reinterpret_cast<sctp_reset_streams*>(buf.data());
    srs->srs_assoc_id = SCTP_ALL_ASSOC;
    srs->srs_flags = SCTP_STREAM_RESET_OUTGOING;
    srs->srs_number_streams = 1;
    srs->srs_stream_list[0] = stream;
    usrsctp_setsockopt(sock_, IPPROTO_SCTP, SCTP_RESET_STREAMS, srs, static_cast<socklen_t>(buf.size()));
}

}  // namespace tern::transport
