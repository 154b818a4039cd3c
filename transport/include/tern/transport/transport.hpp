// The one interface every layer of the transport chain has:
// ICE component -> DTLS -> SCTP. send() goes down, incoming data goes up.
// Packets that arrive before the upper layer has attached are buffered (bounded),
// not dropped. All methods: network thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

namespace tern::transport {

class Transport {
public:
    enum class State { New, Connecting, Connected, Failed, Closed };
    using RecvCallback = std::function<void(const std::uint8_t* data, std::size_t len)>;
    using StateCallback = std::function<void(State state, const std::string& reason)>;

    virtual ~Transport() = default;

    /// Sends one datagram/record/message. False when it could not be sent.
    virtual bool send(const std::uint8_t* data, std::size_t len) = 0;

    /// Attaches the upper layer; packets buffered so far are delivered at once.
    void onRecv(RecvCallback cb);
    void onState(StateCallback cb) { stateCb_ = std::move(cb); }
    State state() const { return state_; }

protected:
    void deliver(const std::uint8_t* data, std::size_t len);
    void changeState(State state, const std::string& reason = {});

private:
    static constexpr std::size_t kMaxBuffered = 512;
    RecvCallback recvCb_;
    StateCallback stateCb_;
    State state_ = State::New;
    std::deque<std::vector<std::uint8_t>> early_;
};

const char* toString(Transport::State state);

}  // namespace tern::transport
