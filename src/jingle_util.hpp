// Small conversions shared by the engine's sessions: candidates between the
// signaling and transport models, the selected pair as PathInfo, IQ errors as
// Errors, random ids and hex.
#pragma once

#include <tern/error.hpp>
#include <tern/file_transfer.hpp>

#include "tern/signaling/ice_udp.hpp"
#include "tern/transport/ice_transport.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace gloox {
class IQ;
}

namespace tern::impl {

std::string toHex(const std::vector<std::uint8_t>& bytes);
std::vector<std::uint8_t> fromHex(const std::string& hex);
transport::IceCandidate toTransport(const signaling::IceCandidate& c);
signaling::IceCandidate toSignaling(const transport::IceCandidate& c, unsigned generation, const std::string& id);
PathInfo toPath(const transport::SelectedPair& p);
/// What an IQ error reply to one of our requests means for the app.
Error iqError(const gloox::IQ& iq, const std::string& what);
/// 16 random hex digits.
std::string randomId();

}  // namespace tern::impl
