// Internal helpers of tern_testbed: file descriptors and loopback ports.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tern::testbed::detail {

// Owns one file descriptor; closes it on destruction.
class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept;
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1);

private:
    int fd_ = -1;
};

// The message of errno, e.g. "Connection refused".
std::string errnoText(int err);

// A socket bound to 127.0.0.1:port (port 0: the kernel picks one); invalid if bind fails.
UniqueFd bindLoopback(int type, std::uint16_t port);
std::uint16_t localPort(int fd);

// `count` distinct loopback ports that are free for both TCP and UDP right now.
// They are found by binding 127.0.0.1:0, so they can still be taken by someone
// else before the server binds them; the window is short.
std::vector<std::uint16_t> freePorts(std::size_t count);

// A range [first, first + count) of ports free for TCP and UDP, below the
// kernel's ephemeral range so that bind(0) elsewhere does not land in it.
std::uint16_t freePortRange(std::size_t count, const std::vector<std::uint16_t>& avoid);

// True if a TCP connection to 127.0.0.1:port succeeds within `timeout`.
bool tcpConnects(std::uint16_t port, std::chrono::milliseconds timeout);

// `size` random bytes as lower-case hex (2 * size characters).
std::string randomHex(std::size_t size);

}  // namespace tern::testbed::detail
