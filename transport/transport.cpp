#include "tern/transport/transport.hpp"

#include "tern/transport/log.hpp"

#include <typeinfo>

namespace tern::transport {

void Transport::onRecv(RecvCallback cb) {
    recvCb_ = std::move(cb);
    while (recvCb_ && !early_.empty()) {
        auto packet = std::move(early_.front());
        early_.pop_front();
        recvCb_(packet.data(), packet.size());
    }
}

void Transport::deliver(const std::uint8_t* data, std::size_t len) {
    if (recvCb_) {
        recvCb_(data, len);
        return;
    }
    if (early_.size() < kMaxBuffered) early_.emplace_back(data, data + len);
}

void Transport::changeState(State state, const std::string& reason) {
    if (state_ == state) return;
    // Terminal states stay terminal.
    if (state_ == State::Failed || state_ == State::Closed) return;
    state_ = state;
    logDebug(std::string(typeid(*this).name()) + " -> " + toString(state) + (reason.empty() ? "" : ": " + reason));
    if (stateCb_) stateCb_(state, reason);
}

const char* toString(Transport::State state) {
    switch (state) {
    case Transport::State::New: return "new";
    case Transport::State::Connecting: return "connecting";
    case Transport::State::Connected: return "connected";
    case Transport::State::Failed: return "failed";
    case Transport::State::Closed: return "closed";
    }
    return "?";
}

}  // namespace tern::transport
