// Minimal STUN/TURN client over UDP (RFC 5389 / RFC 5766), enough to check
// that a TURN server answers and grants allocations. Not a general client.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace tern::testbed {

// Sends STUN Binding requests to host:port until a Binding success response
// arrives (true) or the timeout passes (false).
bool stunBindingProbe(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout);

struct TurnAllocateResult {
    bool ok = false;          // the server granted an allocation
    int errorCode = 0;        // STUN ERROR-CODE of the final answer (401 for bad credentials), 0 if none
    std::string error;        // what went wrong, for test messages
    std::string relayed;      // "ip:port" of the relayed transport address when ok
};

// A UDP TURN Allocate with long-term credentials: an unauthenticated request,
// the 401 with REALM and NONCE, then the authenticated request. A granted
// allocation is released again (Refresh with LIFETIME 0).
TurnAllocateResult turnAllocate(const std::string& host, std::uint16_t port, const std::string& username,
                                const std::string& password, std::chrono::milliseconds timeout);

}  // namespace tern::testbed
