#include "tern/testbed/stun.hpp"

#include "net.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <cerrno>
#include <map>
#include <optional>
#include <vector>

namespace tern::testbed {

namespace {

using Bytes = std::vector<std::uint8_t>;
using Clock = std::chrono::steady_clock;
using detail::UniqueFd;

constexpr std::uint32_t kMagicCookie = 0x2112A442;
constexpr std::uint16_t kBindingRequest = 0x0001, kBindingSuccess = 0x0101;
constexpr std::uint16_t kAllocateRequest = 0x0003, kAllocateSuccess = 0x0103, kAllocateError = 0x0113;
constexpr std::uint16_t kRefreshRequest = 0x0004;
constexpr std::uint16_t kAttrUsername = 0x0006, kAttrMessageIntegrity = 0x0008, kAttrErrorCode = 0x0009;
constexpr std::uint16_t kAttrLifetime = 0x000D, kAttrRealm = 0x0014, kAttrNonce = 0x0015;
constexpr std::uint16_t kAttrXorRelayedAddress = 0x0016, kAttrRequestedTransport = 0x0019;
constexpr auto kRetransmit = std::chrono::milliseconds(250);

void put16(Bytes& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
}
void put32(Bytes& out, std::uint32_t v) {
    put16(out, static_cast<std::uint16_t>(v >> 16));
    put16(out, static_cast<std::uint16_t>(v));
}
std::uint16_t get16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
std::uint32_t get32(const std::uint8_t* p) { return std::uint32_t{get16(p)} << 16 | get16(p + 2); }

// A STUN request under construction.
class Request {
public:
    explicit Request(std::uint16_t type) : type_(type) { RAND_bytes(txid_.data(), static_cast<int>(txid_.size())); }

    void add(std::uint16_t type, const void* data, std::size_t size) {
        put16(attrs_, type);
        put16(attrs_, static_cast<std::uint16_t>(size));
        const auto* p = static_cast<const std::uint8_t*>(data);
        attrs_.insert(attrs_.end(), p, p + size);
        while (attrs_.size() % 4) attrs_.push_back(0);
    }
    void add(std::uint16_t type, const std::string& value) { add(type, value.data(), value.size()); }
    void add32(std::uint16_t type, std::uint32_t value) {
        Bytes v;
        put32(v, value);
        add(type, v.data(), v.size());
    }

    // The wire form; with a key, MESSAGE-INTEGRITY (HMAC-SHA1) is appended.
    Bytes encode(const Bytes* key) const {
        Bytes out;
        put16(out, type_);
        put16(out, static_cast<std::uint16_t>(attrs_.size() + (key ? 24 : 0)));
        put32(out, kMagicCookie);
        out.insert(out.end(), txid_.begin(), txid_.end());
        out.insert(out.end(), attrs_.begin(), attrs_.end());
        if (key) {
            unsigned char mac[20];
            unsigned int macLen = sizeof mac;
            HMAC(EVP_sha1(), key->data(), static_cast<int>(key->size()), out.data(), out.size(), mac, &macLen);
            put16(out, kAttrMessageIntegrity);
            put16(out, 20);
            out.insert(out.end(), mac, mac + 20);
        }
        return out;
    }
    const std::array<std::uint8_t, 12>& txid() const { return txid_; }

private:
    std::uint16_t type_;
    std::array<std::uint8_t, 12> txid_{};
    Bytes attrs_;
};

struct Response {
    std::uint16_t type = 0;
    std::map<std::uint16_t, Bytes> attrs;  // first occurrence of each

    std::string text(std::uint16_t attr) const {
        auto it = attrs.find(attr);
        return it == attrs.end() ? std::string() : std::string(it->second.begin(), it->second.end());
    }
    int errorCode() const {
        auto it = attrs.find(kAttrErrorCode);
        if (it == attrs.end() || it->second.size() < 4) return 0;
        return (it->second[2] & 7) * 100 + it->second[3];
    }
    std::string errorReason() const {
        auto it = attrs.find(kAttrErrorCode);
        if (it == attrs.end() || it->second.size() < 4) return {};
        return std::to_string(errorCode()) + " " + std::string(it->second.begin() + 4, it->second.end());
    }
};

std::optional<Response> parse(const std::uint8_t* data, std::size_t size, const std::array<std::uint8_t, 12>& txid) {
    if (size < 20 || get32(data + 4) != kMagicCookie || !std::equal(txid.begin(), txid.end(), data + 8)) return {};
    std::size_t length = get16(data + 2);
    if (20 + length > size) return {};
    Response r;
    r.type = get16(data);
    for (std::size_t off = 20; off + 4 <= 20 + length;) {
        std::uint16_t type = get16(data + off);
        std::size_t len = get16(data + off + 2);
        if (off + 4 + len > 20 + length) return {};
        r.attrs.emplace(type, Bytes(data + off + 4, data + off + 4 + len));
        off += 4 + ((len + 3) & ~std::size_t{3});
    }
    return r;
}

// A UDP socket connected to a loopback address; refuses anything else.
struct Endpoint {
    UniqueFd fd;
    std::string error;
};

Endpoint connectLoopback(const std::string& host, std::uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) return {{}, "not an IPv4 address: " + host};
    if ((ntohl(addr.sin_addr.s_addr) >> 24) != 127) return {{}, "refusing a non-loopback address: " + host};
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        return {{}, "UDP socket: " + detail::errnoText(errno)};
    return {std::move(fd), {}};
}

// Sends `wire` (retransmitting) until a response to `txid` arrives or `deadline`.
std::optional<Response> transact(int fd, const Bytes& wire, const std::array<std::uint8_t, 12>& txid,
                                 Clock::time_point deadline) {
    std::array<std::uint8_t, 2048> buf{};
    while (Clock::now() < deadline) {
        (void)::send(fd, wire.data(), wire.size(), 0);  // ECONNREFUSED from an earlier ICMP: just retry
        auto resend = std::min(deadline, Clock::now() + kRetransmit);
        for (auto now = Clock::now(); now < resend; now = Clock::now()) {
            pollfd pfd{fd, POLLIN, 0};
            auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(resend - now).count();
            if (::poll(&pfd, 1, static_cast<int>(ms) + 1) <= 0) break;
            ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
            if (n < 0) break;  // ICMP port unreachable: the server is not up yet
            if (auto r = parse(buf.data(), static_cast<std::size_t>(n), txid)) return r;
        }
    }
    return std::nullopt;
}

Bytes longTermKey(const std::string& username, const std::string& realm, const std::string& password) {
    std::string input = username + ":" + realm + ":" + password;
    Bytes key(EVP_MAX_MD_SIZE);
    unsigned int len = 0;
    EVP_Digest(input.data(), input.size(), key.data(), &len, EVP_md5(), nullptr);
    key.resize(len);
    return key;
}

std::string xorAddress(const Bytes& v) {
    if (v.size() < 8 || v[1] != 0x01) return "?";
    auto port = static_cast<std::uint16_t>(get16(v.data() + 2) ^ (kMagicCookie >> 16));
    in_addr addr{htonl(get32(v.data() + 4) ^ kMagicCookie)};
    char text[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(port);
}

}  // namespace

bool stunBindingProbe(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout) {
    Endpoint ep = connectLoopback(host, port);
    if (!ep.fd) return false;
    Request req(kBindingRequest);
    auto r = transact(ep.fd.get(), req.encode(nullptr), req.txid(), Clock::now() + timeout);
    return r && r->type == kBindingSuccess;
}

TurnAllocateResult turnAllocate(const std::string& host, std::uint16_t port, const std::string& username,
                                const std::string& password, std::chrono::milliseconds timeout) {
    TurnAllocateResult result;
    Endpoint ep = connectLoopback(host, port);
    if (!ep.fd) {
        result.error = ep.error;
        return result;
    }
    auto deadline = Clock::now() + timeout;
    const std::uint32_t udp = 17u << 24;

    Request first(kAllocateRequest);
    first.add32(kAttrRequestedTransport, udp);
    auto challenge = transact(ep.fd.get(), first.encode(nullptr), first.txid(), deadline);
    if (!challenge) {
        result.error = "no answer to the unauthenticated Allocate";
        return result;
    }
    for (int attempt = 0; attempt < 2; ++attempt) {  // a second try only after 438 Stale Nonce
        if (challenge->type != kAllocateError || (challenge->errorCode() != 401 && challenge->errorCode() != 438)) {
            result.errorCode = challenge->errorCode();
            result.error = "unexpected answer to the unauthenticated Allocate: " + challenge->errorReason();
            return result;
        }
        const std::string realm = challenge->text(kAttrRealm), nonce = challenge->text(kAttrNonce);
        if (realm.empty() || nonce.empty()) {
            result.error = "the 401 carries no REALM or NONCE";
            return result;
        }
        const Bytes key = longTermKey(username, realm, password);
        auto authenticated = [&](std::uint16_t type) {
            Request req(type);
            req.add(kAttrUsername, username);
            req.add(kAttrRealm, realm);
            req.add(kAttrNonce, nonce);
            return req;
        };
        Request alloc = authenticated(kAllocateRequest);
        alloc.add32(kAttrRequestedTransport, udp);
        auto answer = transact(ep.fd.get(), alloc.encode(&key), alloc.txid(), deadline);
        if (!answer) {
            result.error = "no answer to the authenticated Allocate";
            return result;
        }
        if (answer->type == kAllocateSuccess) {
            result.ok = true;
            auto relayed = answer->attrs.find(kAttrXorRelayedAddress);
            result.relayed = relayed == answer->attrs.end() ? std::string("?") : xorAddress(relayed->second);
            Request release = authenticated(kRefreshRequest);
            release.add32(kAttrLifetime, 0);
            (void)transact(ep.fd.get(), release.encode(&key), release.txid(),
                           std::min(deadline, Clock::now() + std::chrono::seconds(1)));
            return result;
        }
        result.errorCode = answer->errorCode();
        result.error = "Allocate refused: " + answer->errorReason();
        if (result.errorCode != 438) return result;
        challenge = answer;
    }
    return result;
}

}  // namespace tern::testbed
