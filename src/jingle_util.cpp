#include "jingle_util.hpp"

#include <gloox/error.h>
#include <gloox/iq.h>

#include <openssl/rand.h>

#include "tern/signaling/hashes.hpp"

#include <iterator>

namespace tern::impl {

namespace sig = signaling;

std::string toHex(const std::vector<std::uint8_t>& bytes) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (auto b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

std::vector<std::uint8_t> fromHex(const std::string& hex) {
    std::vector<std::uint8_t> out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<std::uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
}

transport::IceCandidate toTransport(const sig::IceCandidate& c) {
    transport::IceCandidate out;
    out.foundation = c.foundation;
    out.component = c.component;
    out.protocol = c.protocol;
    out.priority = c.priority;
    out.ip = c.ip;
    out.port = c.port;
    out.type = sig::toString(c.type);
    if (c.rel_addr) out.relAddr = *c.rel_addr;
    if (c.rel_port) out.relPort = *c.rel_port;
    return out;
}

sig::IceCandidate toSignaling(const transport::IceCandidate& c, unsigned generation, const std::string& id) {
    sig::IceCandidate out;
    out.component = c.component;
    out.foundation = c.foundation;
    out.generation = generation;
    out.id = id;
    out.ip = c.ip;
    out.port = c.port;
    out.priority = c.priority;
    out.protocol = c.protocol;
    out.type = c.type == "srflx"   ? sig::CandidateType::ServerReflexive
               : c.type == "prflx" ? sig::CandidateType::PeerReflexive
               : c.type == "relay" ? sig::CandidateType::Relay
                                   : sig::CandidateType::Host;
    if (!c.relAddr.empty()) {
        out.rel_addr = c.relAddr;
        out.rel_port = c.relPort;
    }
    return out;
}

PathInfo toPath(const transport::SelectedPair& p) {
    PathInfo out;
    out.localType = p.local.type;
    out.remoteType = p.remote.type;
    out.localAddress = p.local.ip + ":" + std::to_string(p.local.port);
    out.remoteAddress = p.remote.ip + ":" + std::to_string(p.remote.port);
    out.relayProtocol = p.relayProtocol;
    return out;
}

Error iqError(const gloox::IQ& iq, const std::string& what) {
    const gloox::Error* e = iq.error();
    auto condition = e ? e->error() : gloox::StanzaErrorUndefined;
    switch (condition) {
    case gloox::StanzaErrorServiceUnavailable:
    case gloox::StanzaErrorRecipientUnavailable:
    case gloox::StanzaErrorRemoteServerNotFound:
    case gloox::StanzaErrorRemoteServerTimeout:
    case gloox::StanzaErrorItemNotFound:
        return {ErrorCategory::PeerUnavailable, what + ": the peer is not available"};
    case gloox::StanzaErrorFeatureNotImplemented:
        return {ErrorCategory::FeatureNotSupported, what + ": the peer does not support it"};
    case gloox::StanzaErrorResourceConstraint:
        return {ErrorCategory::PeerUnavailable, what + ": the peer is busy"};
    default: return {ErrorCategory::Protocol, what + ": the peer refused it"};
    }
}

const sig::DtlsFingerprint* pickFingerprint(const std::vector<sig::DtlsFingerprint>& fingerprints) {
    static const char* const order[] = {"sha-256", "sha-384", "sha-512", "sha-1"};
    const sig::DtlsFingerprint* best = nullptr;
    std::size_t bestRank = std::size(order);
    for (const auto& f : fingerprints) {
        if (f.value.empty()) continue;
        for (std::size_t rank = 0; rank <= bestRank && rank < std::size(order); ++rank) {
            if (sig::sameHashAlgo(f.hash, order[rank])) {
                best = &f;
                bestRank = rank;
                break;
            }
        }
    }
    return best;
}

std::string noFingerprintReason(const std::vector<sig::DtlsFingerprint>& fingerprints) {
    if (fingerprints.empty()) return "no DTLS fingerprint";
    std::string hashes;
    for (const auto& f : fingerprints) hashes += (hashes.empty() ? "" : ", ") + (f.hash.empty() ? "(none)" : f.hash);
    return "no DTLS fingerprint with a hash that can be checked (sha-256, sha-384, sha-512 or sha-1; offered: " +
           hashes + ")";
}

std::string randomId() {
    unsigned char b[8];
    RAND_bytes(b, sizeof b);
    return toHex(std::vector<std::uint8_t>(b, b + sizeof b));
}

}  // namespace tern::impl
