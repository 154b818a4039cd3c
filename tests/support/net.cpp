#include "net.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/rand.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>

namespace tern::testbed::detail {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
}

void UniqueFd::reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
}

std::string errnoText(int err) { return std::strerror(err); }

namespace {

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
}

bool portFree(std::uint16_t port) {
    return bindLoopback(SOCK_STREAM, port) && bindLoopback(SOCK_DGRAM, port);
}

}  // namespace

UniqueFd bindLoopback(int type, std::uint16_t port) {
    UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
    if (!fd) return {};
    sockaddr_in addr = loopback(port);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return {};
    return fd;
}

std::uint16_t localPort(int fd) {
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
    return ntohs(addr.sin_port);
}

std::vector<std::uint16_t> freePorts(std::size_t count) {
    // Keep every probe socket open until all ports are chosen so that the
    // kernel hands out distinct ports.
    std::vector<UniqueFd> held;
    std::vector<std::uint16_t> ports;
    for (int attempt = 0; ports.size() < count && attempt < 100; ++attempt) {
        UniqueFd tcp = bindLoopback(SOCK_STREAM, 0);
        if (!tcp) throw std::runtime_error("cannot bind a TCP socket on 127.0.0.1: " + errnoText(errno));
        std::uint16_t port = localPort(tcp.get());
        UniqueFd udp = bindLoopback(SOCK_DGRAM, port);
        held.push_back(std::move(tcp));
        if (!udp || port == 0) continue;  // UDP side taken: keep the TCP one held, try another
        held.push_back(std::move(udp));
        ports.push_back(port);
    }
    if (ports.size() < count) throw std::runtime_error("cannot find free loopback ports");
    return ports;
}

std::uint16_t freePortRange(std::size_t count, const std::vector<std::uint16_t>& avoid) {
    // Linux's default ephemeral range is 32768-60999; stay in 20000-32000.
    std::mt19937 rng(std::random_device{}());
    std::uniform_int_distribution<int> pick(20000, 32000 - static_cast<int>(count));
    for (int attempt = 0; attempt < 50; ++attempt) {
        auto first = static_cast<std::uint16_t>(pick(rng));
        bool ok = true;
        for (std::size_t i = 0; ok && i < count; ++i) {
            auto port = static_cast<std::uint16_t>(first + i);
            ok = std::find(avoid.begin(), avoid.end(), port) == avoid.end() && portFree(port);
        }
        if (ok) return first;
    }
    throw std::runtime_error("cannot find a free range of " + std::to_string(count) + " loopback ports");
}

bool tcpConnects(std::uint16_t port, std::chrono::milliseconds timeout) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) return false;
    sockaddr_in addr = loopback(port);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return true;
    if (errno != EINPROGRESS) return false;
    pollfd pfd{fd.get(), POLLOUT, 0};
    if (::poll(&pfd, 1, static_cast<int>(timeout.count())) != 1) return false;
    int err = 0;
    socklen_t len = sizeof err;
    return ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
}

std::string randomHex(std::size_t size) {
    std::vector<unsigned char> bytes(size);
    if (RAND_bytes(bytes.data(), static_cast<int>(size)) != 1) throw std::runtime_error("RAND_bytes failed");
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

}  // namespace tern::testbed::detail
