// What the file-transfer Link and the call MediaLink share: forwarding the ICE
// transport's events to the link's own, and noticing a peer that fell silent.
// Network thread only, like the links themselves.
#pragma once

#include "tern/transport/ice_transport.hpp"

#include <chrono>
#include <cstdint>

namespace tern::impl {

/// ICE callbacks that forward candidates, end of gathering and the selected pair to a
/// link's event struct, each only when set. `events` must outlive the ICE transport.
template <class Events>
transport::IceTransport::Callbacks forwardIceEvents(const Events& events) {
    transport::IceTransport::Callbacks cb;
    cb.candidate = [&events](const transport::IceCandidate& c) {
        if (events.candidate) events.candidate(c);
    };
    cb.gatheringDone = [&events] {
        if (events.gatheringDone) events.gatheringDone();
    };
    cb.selected = [&events](const transport::SelectedPair& p) {
        if (events.selected) events.selected(p);
    };
    return cb;
}

/// How long an ICE transport's count of received packets has stood still.
class SilenceWatch {
public:
    /// Counts from now, with the transport's current count.
    void reset(std::uint64_t packetsReceived) {
        seen_ = packetsReceived;
        last_ = std::chrono::steady_clock::now();
    }
    /// True once the count has not moved for `limit`.
    bool silentFor(std::uint64_t packetsReceived, std::chrono::milliseconds limit) {
        return silence(packetsReceived) >= limit;
    }
    /// How long the count has not moved (zero when it just did).
    std::chrono::steady_clock::duration silence(std::uint64_t packetsReceived) {
        auto now = std::chrono::steady_clock::now();
        if (packetsReceived != seen_) {
            seen_ = packetsReceived;
            last_ = now;
            return {};
        }
        return now - last_;
    }

private:
    std::uint64_t seen_ = 0;
    std::chrono::steady_clock::time_point last_;
};

}  // namespace tern::impl
