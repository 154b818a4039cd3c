// SCTP over DTLS (RFC 8261) with usrsctp, and WebRTC data channels (RFC 8831,
// DCEP RFC 8832). usrsctp runs without threads of its own: its timers are
// driven from a network thread's loop, and callbacks that usrsctp makes on
// another thread are re-posted to the owning network thread.
#pragma once

#include "tern/transport/dtls_transport.hpp"
#include "tern/transport/network_thread.hpp"
#include "tern/transport/transport.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

struct socket;

namespace tern::transport {

struct SctpConfig {
    std::uint16_t localPort = 5000;
    std::uint16_t remotePort = 5000;
    /// Largest SCTP packet handed to DTLS (must fit the DTLS record in the path MTU).
    std::uint32_t mtu = 1200 - 40;
    std::size_t sendBuffer = 1 << 20;
    std::size_t receiveBuffer = 1 << 20;
};

class SctpTransport final : public Transport {
public:
    struct Callbacks {
        /// The peer opened a channel (DATA_CHANNEL_OPEN received and acknowledged).
        std::function<void(std::uint16_t stream, const std::string& label, const std::string& protocol)> channelOpen;
        /// Message data; `last` is false for the first pieces of a message delivered in parts.
        std::function<void(std::uint16_t stream, const std::uint8_t* data, std::size_t len, bool last)> message;
        /// The peer reset (closed) a stream.
        std::function<void(std::uint16_t stream)> channelClosed;
        /// Send buffer space is available again after sendMessage() returned WouldBlock.
        std::function<void()> writable;
    };
    enum class SendResult { Ok, WouldBlock, Error };

    /// Attaches to `lower`; the association starts once DTLS is connected.
    static std::shared_ptr<SctpTransport> create(NetworkThread& thread, DtlsTransport& lower, SctpConfig config,
                                                 Callbacks callbacks);
    ~SctpTransport() override;

    /// Opens a reliable ordered channel (DCEP) and returns its stream id, or -1.
    /// Data may be sent on it at once (RFC 8832 section 6).
    int openChannel(const std::string& label, const std::string& protocol);
    SendResult sendMessage(std::uint16_t stream, const std::uint8_t* data, std::size_t len, bool binary = true);
    /// Resets the outgoing stream (closes the channel).
    void closeChannel(std::uint16_t stream);
    /// The peer's SCTP port, from signaling; takes effect if the association has not started.
    void setRemotePort(std::uint16_t port) {
        if (!connectStarted_) config_.remotePort = port;
    }
    /// Sends on the first open channel.
    bool send(const std::uint8_t* data, std::size_t len) override;

    // usrsctp entry points (public for the C callbacks only).
    static int connOutput(void* addr, void* buf, std::size_t len, std::uint8_t tos, std::uint8_t setDf);
    static void upcall(struct socket* sock, void* arg, int flags);

private:
    SctpTransport(NetworkThread& thread, DtlsTransport& lower, SctpConfig config, Callbacks callbacks);
    void init();
    void connect();
    void incoming(const std::uint8_t* data, std::size_t len);
    void output(const std::uint8_t* data, std::size_t len);
    void process();
    void handleNotification(const std::uint8_t* data, std::size_t len);
    void handleControl(std::uint16_t stream, const std::uint8_t* data, std::size_t len);
    void fail(const std::string& reason);

    NetworkThread& thread_;
    DtlsTransport& lower_;
    SctpConfig config_;
    Callbacks callbacks_;
    struct socket* sock_ = nullptr;
    bool connectStarted_ = false;
    std::atomic<bool> processScheduled_{false};
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
    unsigned channelsOpened_ = 0;
    int defaultStream_ = -1;
    std::vector<std::uint8_t> recvBuffer_;
    std::map<std::uint16_t, std::vector<std::uint8_t>> partialControl_;
};

}  // namespace tern::transport
