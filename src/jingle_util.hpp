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
/// The DTLS fingerprint to check the peer's certificate against (XEP-0320): of those
/// whose hash function the DTLS layer computes, sha-256 first, then sha-384, sha-512,
/// sha-1 (the last of equals wins). nullptr if none is usable (none sent, or md5 or an
/// unknown hash only): the session must then be refused with <security-error/>.
const signaling::DtlsFingerprint* pickFingerprint(const std::vector<signaling::DtlsFingerprint>& fingerprints);
/// Why pickFingerprint() found nothing, for the refusal.
std::string noFingerprintReason(const std::vector<signaling::DtlsFingerprint>& fingerprints);

}  // namespace tern::impl
